"""Redraw the pictures of docs/guide.md and the README with ember itself.

    python docs/images/make_images.py

The loss curve, the predictions and the gradient-coloured graph come from the demo
(``python -m ember.demo nand --out docs/images``); the two graphs of the guide's first
sections are drawn here with ``ember.viz.draw_graph``.
"""

import pathlib

import ember
import ember.nn as nn
from ember.demo.__main__ import main as demo
from ember.demo.nand import INPUTS, TARGETS, SimpleNet

HERE = pathlib.Path(__file__).resolve().parent


def perceptron_graph():
    """One sigmoid neuron, y = σ(w·x + b), as section 1 of the guide computes it."""
    ember.manual_seed(0)
    x = ember.tensor([1.0, 1.0])
    w = ember.randn(2, requires_grad=True)
    b = ember.zeros((), requires_grad=True)
    y = ember.sigmoid(w @ x + b)
    return ember.viz.draw_graph(y, params={"w": w, "b": b})


def nand_loss_graph():
    """The graph of the blog's loss, MSE(SimpleNet(inputs), targets), before any training."""
    ember.manual_seed(0)
    model = SimpleNet()
    loss = nn.MSELoss()(model(ember.tensor(INPUTS)), ember.tensor(TARGETS))
    return ember.viz.draw_graph(loss, params=dict(model.named_parameters()))


if __name__ == "__main__":
    perceptron_graph().render(HERE / "perceptron-graph.svg", "svg")
    nand_loss_graph().render(HERE / "nand-loss-graph.svg", "svg")
    demo(["nand", "--out", str(HERE), "--quiet", "--log-scale"])
    (HERE / "nand-graph.dot").unlink()  # the SVG is what the docs show
