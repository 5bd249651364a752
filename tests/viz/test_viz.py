"""The pictures: graph drawing, model summaries, plots, TensorBoard files, the leak warning."""

from __future__ import annotations

import warnings

import pytest

import ember
import ember.nn as nn
from ember.demo.nand import INPUTS, TARGETS, SimpleNet, step_graph

PNG = b"\x89PNG\r\n\x1a\n"


def test_graph_of_nand_loss_names_backward_nodes_and_parameters():
    ember.manual_seed(0)
    model = SimpleNet()
    loss = nn.MSELoss()(model(ember.tensor(INPUTS)), ember.tensor(TARGETS))
    graph = ember.viz.draw_graph(loss, params=dict(model.named_parameters()))
    for name in ("MseLossBackward0", "SigmoidBackward0", "AddmmBackward0", "layer1.weight",
                 "layer1.bias", "layer2.weight", "layer2.bias", "[4, 3] float32"):
        assert name in graph.source, name
    assert graph.source.startswith("digraph") and graph.source.rstrip().endswith("}")
    assert graph.source.count("->") >= 9


def test_show_grads_colours_by_recorded_norms(tmp_path):
    ember.manual_seed(0)
    graph = step_graph(SimpleNet())
    assert "|grad|" in graph.source and "n/a" not in graph.source
    svg = tmp_path / "graph.svg"
    graph.render(svg, "svg")
    text = svg.read_text()
    assert "<svg" in text and "layer1.weight" in text
    png = tmp_path / "graph.png"
    graph.render(png, "png")
    assert png.read_bytes().startswith(PNG)
    assert "image/svg+xml" in graph._repr_mimebundle_()


def test_graph_without_dot_program_explains(monkeypatch, tmp_path):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    graph = ember.viz.draw_graph((ember.ones(2, requires_grad=True) * 2).sum())
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        graph.render(tmp_path / "g.svg")
    assert graph.save(tmp_path / "g.dot").endswith("g.dot")


def test_summary_lists_layers_shapes_and_counts(capsys):
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    table = ember.viz.summary(model, (4, 2))
    printed = capsys.readouterr().out
    assert str(table) in printed
    assert table.total_params == 13 and table.trainable_params == 13
    assert "Linear: 1-1" in printed and "[4, 3]" in printed and "[4, 1]" in printed


def test_plot_history_writes_png(tmp_path):
    path = ember.viz.plot_history({"train": [1.0, 0.5, 0.25], "test": [1.2, 0.7, 0.4]},
                                  tmp_path / "curves.png", log_scale=True)
    assert open(path, "rb").read(8) == PNG


def test_tensorboard_writer_events_read_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ember.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path)) as writer:
        for step in range(3):
            writer.add_scalar("loss", ember.tensor(1.0 / (step + 1)), step)
        writer.add_scalars("pair", {"a": 1.0, "b": ember.tensor(2.0)}, 0)
        writer.add_histogram("weights", ember.randn(50), 0)
        writer.add_text("note", "hello", 0)
        writer.add_hparams({"lr": 0.5, "optimizer": "sgd"}, {"hparam/loss": 0.1})
        writer.flush()
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert [round(e.value, 4) for e in accumulator.Scalars("loss")] == [1.0, 0.5, 0.3333]
    assert "weights" in accumulator.Tags()["histograms"]
    assert any("note" in tag for tag in accumulator.Tags()["tensors"])


def _train(leak: bool):
    model = nn.Linear(2, 1)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    total = 0.0
    x, y = ember.ones(4, 2), ember.zeros(4, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total = total + (loss if leak else loss.item())
    return [w for w in caught if "autograd graph" in str(w.message)]


def test_leak_warning_fires_for_accumulated_loss_only():
    leaking = _train(leak=True)
    assert len(leaking) == 1 and "loss.item()" in str(leaking[0].message)
    assert leaking[0].filename.endswith("test_viz.py")
    assert _train(leak=False) == []


def test_a_compiled_region_is_one_node_that_expands_into_its_kernels():
    model = ember.compile(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)))
    x = ember.randn(4, 2)
    model(x)
    loss = ((model(x) - 1) ** 2).mean()
    names = dict(model.named_parameters())
    folded = ember.viz.draw_graph(loss, names).source
    assert "CompiledFunctionBackward (3 kernels)" in folded and "cluster" not in folded
    assert "n7 -> n3;" in folded  # a parameter feeds the region's node
    expanded = ember.viz.draw_graph(loss, names, expand_compiled=True).source
    assert "subgraph cluster_n3" in expanded and "CompiledFunctionBackward" not in expanded
    assert 'n3_k1 [label="Sigmoid\\n[4, 3] float32"' in expanded
    assert "n3_k0 -> n3_k1;" in expanded and "n3_k2 -> n2;" in expanded
    assert "n7 -> n3_k0;" in expanded and "n4 -> n3_k2;" in expanded
