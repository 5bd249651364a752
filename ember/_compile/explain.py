"""``explain``: what a compiled call recorded, under which guards, and why it broke."""

from __future__ import annotations

from dataclasses import dataclass, field

from ember._compile.compiled import CompiledFunction
from ember._compile.reach import modules_of


@dataclass
class ExplainOutput:
    """PyTorch's ``torch._dynamo.explain`` result, for ember's recordings."""

    graphs: list = field(default_factory=list)  # the recorded programs' source
    graph_count: int = 0
    graph_break_count: int = 0
    break_reasons: list = field(default_factory=list)  # "reason (at file:line)"
    op_count: int = 0
    ops_per_graph: list = field(default_factory=list)  # per graph, the names of its kernels
    out_guards: list = field(default_factory=list)  # what each guard checks
    compile_times: str = ""

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}",
                 f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        lines += [f"  Break Reason {i + 1}: {r}" for i, r in enumerate(self.break_reasons)]
        lines.append("Ops per Graph:")
        for number, ops in enumerate(self.ops_per_graph):
            lines.append(f"  Ops {number + 1}:")
            lines += [f"    {op}" for op in ops]
        lines.append("Out Guards:")
        lines += [f"  {guard}" for guard in self.out_guards]
        lines.append(f"Compile Times: {self.compile_times}")
        return "\n".join(lines)


def explain(fn, *args, **kwargs):
    """Record ``fn`` on these arguments (running it once, eagerly) and report.

    ``explain(fn, *args)`` reports at once; ``explain(fn)(*args)`` is PyTorch's newer form.
    """
    if not args and not kwargs:
        return lambda *a, **k: explain(fn, *a, **k)
    target = fn.__dict__["_compiled"]._function if "_compiled" in getattr(
        fn, "__dict__", {}) else getattr(fn, "__wrapped__", fn)
    compiled = CompiledFunction(target, False, modules_of(target))
    compiled(*args, **kwargs)
    output = ExplainOutput()
    output.break_reasons = [f"{reason} (at {where})" for reason, where in compiled.breaks]
    output.graph_break_count = len(compiled.breaks)
    recording = compiled.latest
    if recording is not None:
        program = recording.program
        output.graphs = [program.code]
        output.graph_count = 1
        output.ops_per_graph = [[step.name for step in program.steps]]
        output.op_count = len(program.steps)
        output.out_guards = [meaning for _, _, meaning in recording.guards]
        output.compile_times = f"recording: {recording.seconds:.4f} s"
    return output
