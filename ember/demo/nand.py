"""The blog's first program: a 2-3-1 sigmoid network learns the NAND gate.

Trained exactly as the blog does it: MSE loss, SGD at learning rate 0.5, 4000
full-batch epochs over the four rows of the truth table. Then it draws the loss
curve, the predictions against the targets, and the computation graph of one
training step's loss.
"""

from __future__ import annotations

import ember
import ember.nn as nn
from ember.demo._common import output_path, progress_bar, say

INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TARGETS = [[1.0], [1.0], [1.0], [0.0]]


class SimpleNet(nn.Module):
    """2 inputs → 3 sigmoid hidden units → 1 sigmoid output."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(2, 3)  # 2 inputs -> 3 hidden
        self.layer2 = nn.Linear(3, 1)  # 3 hidden -> 1 output
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        x = self.sigmoid(self.layer1(x))
        return self.sigmoid(self.layer2(x))


def make_optimizer(name: str, parameters, lr: float):
    if name == "sgd":
        return ember.optim.SGD(parameters, lr=lr)
    if name == "adam":
        return ember.optim.Adam(parameters, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; expected 'sgd' or 'adam'")


def train(epochs: int = 4000, lr: float = 0.5, seed: int = 0, optimizer: str = "sgd",
          quiet: bool = True):
    """Train the network as the blog does; returns ``(model, losses)``."""
    ember.manual_seed(seed)
    inputs, targets = ember.tensor(INPUTS), ember.tensor(TARGETS)
    model = SimpleNet()
    opt = make_optimizer(optimizer, model.parameters(), lr)
    criterion = nn.MSELoss()
    losses = []
    with progress_bar(epochs, "nand", quiet) as bar:
        for epoch in range(epochs):
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if epoch % 50 == 0 or epoch == epochs - 1:
                bar.set_postfix(loss=f"{losses[-1]:.5f}")
                bar.update(epoch + 1 - bar.n)
    return model, losses


def predictions(model) -> list:
    with ember.no_grad():
        return model(ember.tensor(INPUTS)).flatten().tolist()


def truth_table(model) -> str:
    """The four rows with the network's output beside the target."""
    lines = ["  a  b | target | output"]
    for (a, b), (target,), output in zip(INPUTS, TARGETS, predictions(model)):
        lines.append(f"  {a:.0f}  {b:.0f} |   {target:.0f}    | {output:.4f}")
    return "\n".join(lines)


def step_graph(model):
    """The computation graph of one training step's loss, coloured by gradient norm."""
    criterion = nn.MSELoss()
    with ember.viz.recording_gradients():
        loss = criterion(model(ember.tensor(INPUTS)), ember.tensor(TARGETS))
        model.zero_grad()
        loss.backward(retain_graph=True)
    return ember.viz.draw_graph(loss, params=dict(model.named_parameters()), show_grads=True)


def run(args) -> int:
    model, losses = train(args.epochs, args.lr, args.seed, args.optimizer, args.quiet)
    say(f"NAND after {args.epochs} epochs of {args.optimizer.upper()} (lr {args.lr}): "
        f"final MSE {losses[-1]:.6f}")
    say(truth_table(model))
    written = [
        ember.viz.plot_history({"MSE loss": losses}, output_path(args.out, "nand-loss.png"),
                               title="NAND: training loss", log_scale=args.log_scale),
        ember.viz.plot_predictions(["0 0", "0 1", "1 0", "1 1"], predictions(model),
                                   [t[0] for t in TARGETS],
                                   output_path(args.out, "nand-predictions.png"),
                                   title="NAND: outputs against targets"),
    ]
    graph = step_graph(model)
    written.append(graph.save(output_path(args.out, "nand-graph.dot")))
    try:
        written.append(graph.render(output_path(args.out, "nand-graph.svg"), "svg"))
    except RuntimeError as error:
        say(f"note: {error}")
    say("wrote " + ", ".join(written))
    return 0
