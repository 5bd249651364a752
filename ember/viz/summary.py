"""``summary``: a table of a model's layers, output shapes and parameter counts."""

from __future__ import annotations

from dataclasses import dataclass

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.ops.creation import zeros

__all__ = ["summary", "ModelSummary"]

_WIDTH = 90


@dataclass
class _Row:
    name: str
    depth: int
    index: str
    shape: str
    params: int
    own_params: bool


class ModelSummary:
    """The table ``summary`` prints; ``str()`` gives it again, the counts are attributes."""

    def __init__(self, rows: list, total: int, trainable: int):
        self.rows, self.total_params, self.trainable_params = rows, total, trainable

    def __str__(self) -> str:
        rule = "=" * _WIDTH
        lines = [rule, f"{'Layer (type:depth-idx)':<42}{'Output Shape':<28}{'Param #':>20}", rule]
        for row in self.rows:
            prefix = "" if row.depth == 0 else "│    " * (row.depth - 1) + "├─"
            label = f"{prefix}{row.name}" + (f": {row.index}" if row.depth else "")
            params = f"{row.params:,}" if row.own_params else "--"
            lines.append(f"{label:<42}{row.shape:<28}{params:>20}")
        lines += [
            rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.total_params - self.trainable_params:,}",
            rule,
        ]
        return "\n".join(lines)

    __repr__ = __str__


def _shape_of(output) -> str:
    if isinstance(output, Tensor):
        return str(list(output.shape))
    if isinstance(output, (tuple, list)) and output:
        return _shape_of(output[0])
    return "--"


def summary(model, input_shape=None, input_data=None, dtypes=None,
            verbose: int = 1) -> ModelSummary:
    """Run ``model`` once on zeros of ``input_shape`` (or on ``input_data``) and tabulate it.

    Args:
        model: an ``nn.Module``.
        input_shape: the input's shape including the batch dim, e.g. ``(1, 2)``; a list
            of shapes for several inputs.
        input_data: tensors to use instead of zeros.
        verbose: 0 returns the table quietly, 1 also prints it.

    Returns:
        a ``ModelSummary`` (its ``str()`` is the table).
    """
    if input_data is None:
        several = input_shape and isinstance(input_shape[0], (tuple, list))
        shapes = input_shape if several else [input_shape]
        dtypes = dtypes or [None] * len(shapes)
        inputs = [zeros(tuple(s), dtype=d) for s, d in zip(shapes, dtypes)]
    else:
        inputs = list(input_data) if isinstance(input_data, (tuple, list)) else [input_data]

    depth_of, counters = {id(model): 0}, {}
    for _, module in model.named_modules():
        for child in module.children():
            depth_of.setdefault(id(child), depth_of[id(module)] + 1)
    rows, open_rows, handles = [], [], []

    def enter(module, args):
        # A row is made when a module starts, so rows come in the order the model runs
        # them (parents before their children), numbered per depth as torchinfo does.
        depth = depth_of.get(id(module), 0)
        counters[depth] = counters.get(depth, 0) + 1
        own = sum(p.numel() for p in module.parameters(recurse=False))
        row = _Row(type(module).__name__, depth, f"{depth}-{counters[depth]}", "--", own, own > 0)
        rows.append(row)
        open_rows.append(row)

    def leave(module, args, output):
        open_rows.pop().shape = _shape_of(output)

    for module in model.modules():
        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    try:
        with no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    result = ModelSummary(rows, total, trainable)
    if verbose:
        print(result)
    return result
