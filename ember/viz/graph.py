"""``draw_graph``: the computation graph behind a tensor, as DOT, SVG or PNG.

Nodes are the ``<Op>Backward`` functions, labelled with their output shapes and
dtypes; leaves are labelled with their parameter names; edges follow
``next_functions`` in the direction data flowed, from the leaves to the output.
With ``show_grads``, parameters (from ``.grad``) and nodes (from the norms recorded
while ``recording_gradients()`` was active during backward) are coloured by
gradient norm, from pale (vanishing) to deep red (exploding), so both show at a glance.
"""

from __future__ import annotations

import contextlib
import math
import shutil

from ember._compile.tape import Slot
from ember._tensor import Tensor
from ember.autograd import engine

__all__ = ["draw_graph", "Graph", "recording_gradients"]


@contextlib.contextmanager
def recording_gradients():
    """Record each node's gradient norm during the backward passes inside this block."""
    state = engine.thread_state  # recording is this thread's, like grad mode
    previous = state.record_gradient_norms
    state.record_gradient_norms = True
    try:
        yield
    finally:
        state.record_gradient_norms = previous


class Graph:
    """A drawn graph: ``.source`` is DOT; ``save``, ``render`` and Jupyter display."""

    def __init__(self, source: str):
        self.source = source

    def __str__(self) -> str:
        return self.source

    def save(self, path) -> str:
        """Write the DOT text to ``path``."""
        with open(path, "w") as handle:
            handle.write(self.source)
        return str(path)

    def render(self, path, format: str = "svg") -> str:
        """Render with Graphviz's ``dot`` to ``path`` (``format`` 'svg' or 'png').

        Without the ``dot`` program, raises a RuntimeError saying how to install it;
        ``save`` still writes the DOT text.
        """
        if shutil.which("dot") is None:
            raise RuntimeError(
                "Graphviz's `dot` program is not installed, so the graph cannot be rendered to "
                f"{format.upper()}. Install it (Debian/Ubuntu: `apt-get install graphviz`, macOS: "
                "`brew install graphviz`) or open the .dot file in any Graphviz viewer."
            )
        import graphviz

        data = graphviz.Source(self.source).pipe(format=format)
        with open(path, "wb") as handle:
            handle.write(data)
        return str(path)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.source}
        if shutil.which("dot") is not None:
            import graphviz

            bundle["image/svg+xml"] = graphviz.Source(self.source).pipe(format="svg").decode()
        return bundle


def _shape_text(shape, dtype) -> str:
    return str(list(shape)) + ("" if dtype is None else f" {dtype.name}")


def _colour(norm: float | None, largest: float) -> str:
    if norm is None or not math.isfinite(norm) or largest <= 0:
        return "#dddddd" if norm is None else "#ff0000"
    # log scale over six decades below the largest norm: pale yellow .. deep red
    level = max(0.0, min(1.0, 1 + math.log10(max(norm, 1e-300) / largest) / 6))
    green = int(230 - 200 * level)
    blue = int(170 - 170 * level)
    return f"#ff{green:02x}{blue:02x}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def draw_graph(tensor: Tensor, params: dict | None = None, show_shapes: bool = True,
               show_grads: bool = False, expand_compiled: bool = False) -> Graph:
    """Draw the graph that produced ``tensor``.

    Args:
        tensor: an output with a ``grad_fn`` (for example a loss).
        params: names for leaves, e.g. ``dict(model.named_parameters())``.
        show_shapes: label nodes with their output shapes and dtypes.
        show_grads: colour parameters and nodes by gradient norm (after a backward).
        expand_compiled: draw each ``ember.compile`` region as its recorded kernels (a
            boxed cluster) instead of one ``CompiledFunctionBackward`` node.

    Returns:
        a ``Graph``: ``.source`` (DOT), ``.save(path)``, ``.render(path, format)``.

    Example::

        >>> loss = criterion(model(x), y); loss.backward()
        >>> ember.viz.draw_graph(loss, dict(model.named_parameters())).render("graph.svg")
    """
    names = {id(p): name for name, p in (params or {}).items()}
    start = tensor.grad_fn
    lines = [
        "digraph ember {",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.3, ranksep=0.35];',
        ('  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, '
         'fillcolor="#e8eef7"];'),
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    shape_line = "\n" + _shape_text(tensor.shape, tensor.dtype) if show_shapes else ""
    if start is None:
        label = names.get(id(tensor), "tensor") + shape_line
        lines.append(f"  leaf [label={_quote(label)}];")
        lines.append("}")
        return Graph("\n".join(lines) + "\n")

    order = _nodes_from(start)
    norms = _grad_norms(order) if show_grads else {}
    largest = max((n for n in norms.values() if n is not None and math.isfinite(n)), default=0.0)

    ids = {id(node): f"n{i}" for i, node in enumerate(order)}
    regions = {}  # id(node) -> (step ids of its inputs, of its outputs), when expanded
    output_id = "output"
    output_label = "output" + shape_line
    lines.append(f'  {output_id} [label={_quote(output_label)}, fillcolor="#c8e6c9"];')
    for node in order:
        if expand_compiled and getattr(node, "program", None) is not None:
            regions[id(node)] = _draw_region(node.program, ids[id(node)], show_shapes, lines)
            continue
        label, fill = _label(node, names, show_shapes)
        if show_grads:
            norm = norms.get(id(node))
            label += "\n|grad| " + ("n/a" if norm is None else f"{norm:.2e}")
            fill = _colour(norm, largest)
        lines.append(f"  {ids[id(node)]} [label={_quote(label)}, fillcolor=\"{fill}\"];")

    def source(next_node, output_nr) -> str:
        found = regions.get(id(next_node))
        return ids[id(next_node)] if found is None else found[1][output_nr]

    def targets(node, position) -> list:
        found = regions.get(id(node))
        return [ids[id(node)]] if found is None else found[0][position]

    lines.append(f"  {source(start, tensor._output_nr)} -> {output_id};")
    for node in order:
        for position, (next_node, output_nr) in enumerate(node.next_functions):
            if next_node is not None:
                for target in targets(node, position):
                    lines.append(f"  {source(next_node, output_nr)} -> {target};")
    lines.append("}")
    return Graph("\n".join(lines) + "\n")


def _nodes_from(start) -> list:
    """The nodes that ``start`` reaches, each once, without recursion."""
    order, seen, stack = [], {id(start)}, [start]
    while stack:
        node = stack.pop()
        order.append(node)
        for next_node, _ in node.next_functions:
            if next_node is not None and id(next_node) not in seen:
                seen.add(id(next_node))
                stack.append(next_node)
    return order


def _grad_norms(order) -> dict:
    norms = {}
    for node in order:
        if node._is_accumulator:
            grad = node.variable.grad
            norms[id(node)] = (None if grad is None
                               else float((grad.detach().double() ** 2).sum().item()) ** 0.5)
        else:
            norms[id(node)] = node.metadata.get("grad_norm")
    return norms


def _label(node, names, show_shapes) -> tuple:
    """A node's label and fill colour: a leaf by its name, others by their node name."""
    if node._is_accumulator:
        variable = node.variable
        label = names.get(id(variable), "leaf")
        if show_shapes:
            label += "\n" + _shape_text(variable.shape, variable.dtype)
        return label, "#fff3c4"
    label = node.name()
    if getattr(node, "program", None) is not None:
        label += f" ({len(node.program.steps)} kernels)"
    if show_shapes:
        shapes = [_shape_text(m[0], m[1]) for m in node._output_meta if m is not None]
        label += "\n" + "\n".join(shapes)
    return label, "#e8eef7"


def _draw_region(program, prefix, show_shapes, lines) -> tuple:
    """A compiled region as a cluster of its forward kernels; returns, per input of its
    node, the kernels that read it, and per output the kernel that made it."""
    lines.append(f"  subgraph cluster_{prefix} {{")
    lines.append(f'    label="ember.compile region ({len(program.steps)} kernels)"; '
                 'style="rounded,dashed"; color="#888888"; fontname="Helvetica";')
    made = {}
    readers = {}
    for number, step in enumerate(program.steps):
        name = f"{prefix}_k{number}"
        label = step.name
        if show_shapes:
            label += "".join("\n" + _shape_text(s.shape, s.dtype) for s in step.outputs)
        lines.append(f'    {name} [label={_quote(label)}, fillcolor="#f3e5f5"];')
        for arg in _slots_of(step):
            if arg.index in made:
                lines.append(f"    {made[arg.index]} -> {name};")
            readers.setdefault(arg.index, []).append(name)
        for slot in step.outputs:
            made[slot.index] = name
    lines.append("  }")
    inputs = [readers.get(slot.index, []) for slot in program.grad_sources]
    outputs = [made[slot.index] for slot in program.grad_outputs]
    return inputs, outputs


def _slots_of(step) -> list:
    if step.kind == "backward":
        return [slot for pair in step.args for slot in pair if slot is not None]
    return [arg for arg in step.args if isinstance(arg, Slot)]
