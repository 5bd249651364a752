"""Run the workloads on PyTorch and on ember, side by side, and print the ratios.

    python -m benchmarks.run [WORKLOAD ...] [--rounds 3] [--repeats 3] [--compiled]
                             [--write docs/benchmarks.md]

Each measurement is a fresh process (``benchmarks.worker``), so import state and memory
are per framework. Rounds alternate between the frameworks; PyTorch is timed at 1 and at
2 threads and the faster is the anchor, and so is ember. The table reports medians with
the min–max over every repetition, the ratio ember / PyTorch, import time and peak RSS.

With ``--compiled`` the same rounds also time ``torch.compile`` and ``ember.compile`` of the
whole training step at one thread, and a second table sets them beside eager PyTorch at one
thread, with ember's compile time (the time of its recordings) and the reasons of
any graph break ember.compile met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

from benchmarks.workloads import REDUCE_OVERHEAD, WORKLOADS

THREADS = (1, 2)
# Baselines measured beside one workload each, at one thread (see benchmarks.worker).
BASELINE_OF = {"numpy": "nand", "numpy_ops": "op_overhead", "bare": "op_overhead"}
# The baselines that are a workload written by hand in NumPy: a compiled replay's floor.
HAND_WRITTEN = ("numpy", "numpy_ops")
# What a compiled sample may add: the first run, ember.compile's recordings and fused kernels.
EXTRAS = ("first", "recording", "fusion")
# With --compiled, each framework's compiler is measured too, at one thread.
COMPILED_NAMES = {"torch": "torch.compile", "ember": "ember.compile"}
# ... and, for the workloads of REDUCE_OVERHEAD, with mode="reduce-overhead"
REDUCED_NAMES = {library: f"{name} reduce-overhead" for library, name in COMPILED_NAMES.items()}

# Both frameworks import from compiled bytecode, as an installed package does (pip compiles
# it): a shell that sets PYTHONDONTWRITEBYTECODE would otherwise make every ember import
# compile its sources while torch's come precompiled. The cache lives outside the tree.
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
ENVIRONMENT["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "ember-benchmarks-pycache")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_once() -> None:
    """Import both frameworks once so that the timed imports read cached bytecode."""
    command = [sys.executable, "-c", "import torch, torch.nn, ember, ember.nn"]
    subprocess.run(command, capture_output=True, cwd=ROOT, env=ENVIRONMENT)


def measure(library: str, workload: str, threads: int, repeats: int, mode: str = "eager") -> dict:
    command = [sys.executable, "-m", "benchmarks.worker", library, workload, str(threads),
               str(repeats), mode]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=ENVIRONMENT)
    # The worker's last line is its JSON, an error included; a crash before it leaves stderr.
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        lines = result.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {result.returncode}"}


def _best(samples: dict) -> tuple:
    """The thread count with the lowest median, and its samples."""
    usable = {t: s for t, s in samples.items() if s["times"]}
    threads = min(usable, key=lambda t: statistics.median(usable[t]["times"]))
    return threads, usable[threads]


def _plan(workload: str, compiled: bool) -> list:
    """One round's measurements as ``(name, library, threads, mode)``, frameworks alternating."""
    plan = []
    for library in ("torch", "ember"):
        plan += [(library, library, threads, "eager") for threads in THREADS]
        if compiled:
            plan.append((COMPILED_NAMES[library], library, 1, "compiled"))
        if compiled and workload in REDUCE_OVERHEAD:
            plan.append((REDUCED_NAMES[library], library, 1, "reduce-overhead"))
    plan += [(name, name, 1, "eager") for name, of in BASELINE_OF.items() if of == workload]
    return plan


def _stats(threads: int, samples: dict) -> dict:
    stats = {
        "threads": threads,
        "median": statistics.median(samples["times"]),
        "min": min(samples["times"]),
        "max": max(samples["times"]),
        "import": statistics.median(samples["import"]),
        "peak_mib": max(samples["peak_mib"]),
    }
    for name in EXTRAS:
        if samples[name]:
            stats[name] = statistics.median(samples[name])
    return stats


def run_workload(workload: str, rounds: int, repeats: int, compiled: bool = False) -> dict:
    plan = _plan(workload, compiled)
    names = list(dict.fromkeys(name for name, *_ in plan))
    collected = {name: {} for name in names}
    errors, breaks = {}, {}
    units, steps = "", None
    for _ in range(rounds):
        for name, library, threads, mode in plan:
            sample = measure(library, workload, threads, repeats, mode)
            if "error" in sample:
                errors[name] = sample["error"]
                continue
            units, steps = sample["units"], sample["steps"] or steps
            breaks.setdefault(name, set()).update(sample.get("breaks", ()))
            slot = collected[name].setdefault(
                threads, {key: [] for key in ("times", "import", "peak_mib") + EXTRAS})
            slot["times"] += sample["times"]
            slot["import"].append(sample["import"])
            slot["peak_mib"].append(sample["peak_mib"])
            for key in EXTRAS:
                if key in sample:
                    slot[key].append(sample[key])
    row = {"workload": workload, "units": units, "steps": steps, "errors": errors,
           "breaks": {name: sorted(reasons) for name, reasons in breaks.items() if reasons}}
    for name in names:
        if any(samples["times"] for samples in collected[name].values()):
            row[name] = _stats(*_best(collected[name]))
    for library in ("torch", "ember"):
        if collected[library].get(1, {}).get("times"):
            row[f"{library}_1t"] = _stats(1, collected[library][1])
    if "torch" in row and "ember" in row:
        row["ratio"] = row["ember"]["median"] / row["torch"]["median"]
        row["memory_ratio"] = row["ember"]["peak_mib"] / row["torch"]["peak_mib"]
    for baseline in BASELINE_OF:
        if baseline in row and "ember" in row:
            row[f"{baseline}_ratio"] = row["ember"]["median"] / row[baseline]["median"]
    return row


def _cell(stats: dict | None, threads: bool = True) -> str:
    if not stats:
        return "failed"
    cell = f"{stats['median']:.3f} s ({stats['min']:.3f}–{stats['max']:.3f})"
    return f"{cell}, {stats['threads']}t" if threads else cell


def _ratio(row: dict, numerator: str, denominator: str) -> str:
    if numerator not in row or denominator not in row:
        return "—"
    return f"{row[numerator]['median'] / row[denominator]['median']:.2f}"


def _compile_time(row: dict, library: str) -> tuple:
    """The compiler's time for its recordings where it measures them (ember.compile), else
    its first run less its median run; in seconds and in eager steps."""
    compiled, eager = row.get(COMPILED_NAMES[library]), row.get(f"{library}_1t")
    if not compiled or ("first" not in compiled and "recording" not in compiled):
        return "—", "—"
    seconds = compiled.get("recording", compiled.get("first", 0.0) - compiled["median"])
    if not eager or not row["steps"]:
        return f"{seconds:.3f} s", "—"
    return f"{seconds:.3f} s", f"{seconds / (eager['median'] / row['steps']):.1f}"


def compiled_table(rows: list) -> str:
    lines = [
        ("| workload | eager PyTorch | torch.compile | ember.compile "
         "| torch.compile / eager PyTorch | ember.compile / eager PyTorch "
         "| ember.compile / torch.compile "
         "| torch.compile compile time (first run − median run) "
         "| ember.compile compile time (its recordings) | that, in eager ember steps "
         "| hand-written NumPy / eager PyTorch |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for row in rows:
        torch_seconds, _ = _compile_time(row, "torch")
        seconds, steps = _compile_time(row, "ember")
        cells = [_cell(row.get(name), threads=False)
                 for name in ("torch_1t", "torch.compile", "ember.compile")]
        ratios = [_ratio(row, "torch.compile", "torch_1t"),
                  _ratio(row, "ember.compile", "torch_1t"),
                  _ratio(row, "ember.compile", "torch.compile")]
        times = [torch_seconds, seconds, steps]
        floor = next((_ratio(row, name, "torch_1t") for name in HAND_WRITTEN if name in row), "—")
        row_cells = cells + ratios + times + [floor]
        lines.append(f"| {row['workload']} | " + " | ".join(row_cells) + " |")
        fusion = row.get("ember.compile", {}).get("fusion")
        if fusion is not None:
            notes.append(f"- {row['workload']}: ember.compile compiled its fused kernels in a "
                         f"background thread in {fusion:.2f} s, started once the step turned "
                         "hot or by the wait for it before the timed runs (the steps "
                         "meanwhile run NumPy's kernels).")
        notes += _failure_notes(row, COMPILED_NAMES.values())
    return "\n".join(lines + [""] + notes + _reduced_lines(rows))


def _reduced_lines(rows: list) -> list:
    """The rows timed with ``mode="reduce-overhead"`` too, as a table of their own."""
    rows = [row for row in rows
            if any(name in row or name in row["errors"] for name in REDUCED_NAMES.values())]
    if not rows:
        return []
    torch_name, ember_name = REDUCED_NAMES["torch"], REDUCED_NAMES["ember"]
    lines = ["", "With `mode=\"reduce-overhead\"` (ember: a small program's array lines as one "
             "numba function, close to eager rather than bit for bit; `docs/compile.md`):", "",
             f"| workload | eager PyTorch | {torch_name} | {ember_name} "
             f"| {torch_name} / eager PyTorch | {ember_name} / eager PyTorch "
             f"| {ember_name} / {torch_name} | hand-written NumPy / eager PyTorch |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        cells = [_cell(row.get(name), threads=False) for name in ("torch_1t", torch_name,
                                                                    ember_name)]
        ratios = [_ratio(row, torch_name, "torch_1t"), _ratio(row, ember_name, "torch_1t"),
                  _ratio(row, ember_name, torch_name)]
        floor = next((_ratio(row, name, "torch_1t") for name in HAND_WRITTEN if name in row), "—")
        lines.append(f"| {row['workload']} | " + " | ".join(cells + ratios + [floor]) + " |")
    return lines + [""] + [note for row in rows
                           for note in _failure_notes(row, REDUCED_NAMES.values())]


def _failure_notes(row: dict, names) -> list:
    """What went wrong under each of the compilers ``names``: a failure, a graph break."""
    notes = []
    for name in names:
        if name in row["errors"]:
            notes.append(f"- {row['workload']} under {name} failed: {row['errors'][name]}")
        if name in row["breaks"]:
            notes.append(f"- {row['workload']} under {name} broke the graph, so the call ran "
                         f"eagerly: {'; '.join(row['breaks'][name])}.")
    return notes


def table(rows: list) -> str:
    lines = [
        ("| workload | what one run is | PyTorch | ember | ember / PyTorch "
         "| peak RSS ember / PyTorch |"),
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ratio = f"{row['ratio']:.2f}" if "ratio" in row else "—"
        memory = "—"
        if "memory_ratio" in row:
            memory = (f"{row['ember']['peak_mib']:.0f} / {row['torch']['peak_mib']:.0f} MiB "
                      f"({row['memory_ratio']:.2f})")
        lines.append(f"| {row['workload']} | {row['units']} | {_cell(row.get('torch'))} | "
                     f"{_cell(row.get('ember'))} | {ratio} | {memory} |")
    notes = []
    for row in rows:
        if "numpy_ratio" in row:
            notes.append(f"- nand: hand-written NumPy takes {row['numpy']['median']:.3f} s; "
                         f"ember is {row['numpy_ratio']:.2f}× that.")
        if "numpy_ops_ratio" in row:
            notes.append(f"- op_overhead: its step written by hand in NumPy takes "
                         f"{row['numpy_ops']['median']:.3f} s; ember is "
                         f"{row['numpy_ops_ratio']:.2f}× that.")
        if "bare_ratio" in row:
            notes.append("- op_overhead: a bare pure-Python autograd "
                         "(`benchmarks/bare_autograd.py`) "
                         f"takes {row['bare']['median']:.3f} s; ember is {row['bare_ratio']:.2f}× "
                         f"that, PyTorch {row['torch']['median'] / row['bare']['median']:.2f}×.")
        for library, error in row["errors"].items():
            if library not in (*COMPILED_NAMES.values(), *REDUCED_NAMES.values()):
                notes.append(f"- {row['workload']} on {library} failed: {error}")
    imports = [row for row in rows if "torch" in row and "ember" in row]
    if imports:
        ember_import = statistics.median(r["ember"]["import"] for r in imports)
        torch_import = statistics.median(r["torch"]["import"] for r in imports)
        notes.append(f"- `import ember` (with ember.nn): {ember_import:.3f} s; `import torch`: "
                     f"{torch_import:.3f} s; ratio {ember_import / torch_import:.2f}.")
    return "\n".join(lines + [""] + notes)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", help="also write the tables into this markdown file")
    parser.add_argument("--compiled", action="store_true",
                        help="also time torch.compile and ember.compile, at 1 thread each")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: the GPU workloads of benchmarks/gpu.py instead")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        from benchmarks import gpu

        names = [name for name in args.workloads if name in gpu.GPU_WORKLOADS]
        given = argv if argv is not None else sys.argv[1:]
        chosen = names if any(name in given for name in names) else list(gpu.GPU_WORKLOADS)
        return gpu.main(chosen + ["--rounds", str(args.rounds), "--repeats", str(args.repeats)])
    compile_once()
    rows = []
    for workload in args.workloads:
        rows.append(run_workload(workload, args.rounds, args.repeats, args.compiled))
        print(f"done: {workload}", file=sys.stderr)
    text = table(rows)
    if args.compiled:
        text += "\n\n" + COMPILED_INTRODUCTION + "\n\n" + compiled_table(rows)
    print(text)
    if args.write:
        machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}")
        command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        kept = _analysis(args.write)
        with open(args.write, "w") as handle:
            handle.write(f"# Benchmarks\n\nMachine: {machine}; load average at the end "
                         f"{load}.\n\nCommand: `{command}`\n\n"
                         "Medians over every repetition of every round (min–max in parentheses); "
                         "each framework at its faster thread count (1 or 2). Both import from "
                         "compiled bytecode, as installed packages do.\n\n" + text + "\n" + kept)
    return 0


ANALYSIS_HEADING = "## Where the time goes"
COMPILED_INTRODUCTION = (
    "## Compiled\n\n"
    "Every column at 1 thread, measured in the same rounds as the table above. The compiler "
    "wraps the whole training step: zero_grad, forward and loss, backward, clipping (gpt) and "
    "the optimizer step, one call per batch (op_overhead: its ops, the sum and its backward). "
    "The first run, which compiles, is timed apart from the median: torch.compile's compile "
    "time is that first run less the median run, ember.compile's the time of its recordings, "
    "which it measures itself; eager ember steps are ember's eager median at 1 thread over "
    "the steps one run covers. The last column is the "
    "step written by hand in NumPy (nand, op_overhead), the floor of a replay that calls "
    "NumPy once per kernel."
)


def _analysis(path: str) -> str:
    """The hand-written analysis section of an earlier table file, kept across rewrites."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return ""
    start = text.find(ANALYSIS_HEADING)
    return "" if start < 0 else "\n" + text[start:]


if __name__ == "__main__":
    sys.exit(main())
