"""The GPU benchmark: ``python -m benchmarks.gpu``, or ``benchmarks.run --device cuda``.

Each workload runs on ember (CuPy) and on PyTorch (CUDA) in one process, frameworks
alternating round by round, each with its default device set to the GPU so that the
workloads' own code (PyTorch's API only) needs no device arguments. A repetition ends
with a ``.item()`` or a synchronize, so the times cover the GPU's work. The table gives
median times, the ratio ember / PyTorch and the peak GPU memory of each
(``max_memory_allocated`` after ``reset_peak_memory_stats``).

The workloads are the issue's GPU sizes: mlp_large (batch 512, 1024-4096-4096-1024,
SGD), gpt (6 layers, 384 wide, 6 heads, 256 context, batch 64, AdamW), a CNN on 32x32
images (batch 256), nand and op_overhead (launch-bound), and a 4096² float32 matrix
product in TFLOP/s.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import statistics
import sys
import time

import numpy as np

from benchmarks import workloads


def _synchronized(torch, run):
    def timed():
        result = run()
        torch.cuda.synchronize()
        return result

    return timed


def make_cnn32(torch, batch: int = 256, steps: int = 3):
    nn = torch.nn
    torch.manual_seed(0)
    model = workloads.small_cnn(nn, 3, 32, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    images = torch.tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32))
    labels = torch.tensor(rng.integers(0, 10, batch))
    loss_of = workloads._loss_function(model, nn.CrossEntropyLoss())

    def run():
        return workloads._train(loss_of, optimizer, itertools.repeat((images, labels), steps))

    return run, f"{steps} steps of batch {batch}, 3x32x32", steps


def make_gpt_gpu(torch, layers=6, width=384, heads=6, context=256, batch=64, steps=2):
    """nanoGPT's shape at GPU size: the ``gpt`` workload's model with PyTorch's modules."""
    nn = torch.nn
    vocab = len(workloads.VOCAB)
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                     nn.Linear(4 * width, width))

        def forward(self, x, mask):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(context, width)
            self.h = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(width)
            self.lm_head = nn.Linear(width, vocab, bias=False)

        def forward(self, idx):
            t = idx.size(1)
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
            x = self.wte(idx) + self.wpe(torch.arange(t))
            for block in self.h:
                x = block(x, mask)
            return self.lm_head(self.ln_f(x))

    model = GPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    rng = np.random.default_rng(0)
    tokens = torch.tensor(rng.integers(0, vocab, (batch, context + 1)))
    idx, target = tokens[:, :-1], tokens[:, 1:]
    criterion = workloads._next_character_loss(torch)
    loss_of = workloads._loss_function(model, criterion)

    def clip():
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)

    def run():
        return workloads._train(loss_of, optimizer, itertools.repeat((idx, target), steps), clip)

    return run, f"{steps} steps of batch {batch} x {context}", steps


def make_matmul(torch, size: int = 4096, repeats: int = 10):
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.standard_normal((size, size)).astype(np.float32))
    b = torch.tensor(rng.standard_normal((size, size)).astype(np.float32))

    def run():
        for _ in range(repeats):
            c = a @ b
        return c  # measure() synchronizes after each run

    return run, f"{repeats} products {size}x{size} float32", 2 * size**3 * repeats


GPU_WORKLOADS = {
    "mlp_large": workloads.make_mlp_large,
    "gpt": make_gpt_gpu,
    "cnn32": make_cnn32,
    "nand": workloads.make_nand,
    "op_overhead": workloads.make_op_overhead,
    "matmul": make_matmul,
}


def measure(library, workload: str, repeats: int) -> dict:
    """Time one workload on one library, its default device the GPU."""
    library.set_default_device("cuda")
    try:
        run, units, steps = GPU_WORKLOADS[workload](library)
        run = _synchronized(library, run)
        run()  # warm-up: kernels compiled, memory pools filled
        library.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        peak = library.cuda.max_memory_allocated()
    finally:
        library.set_default_device("cpu")
    return {"times": times, "units": units, "steps": steps, "peak": peak}


def run(names, rounds: int, repeats: int, libraries=("torch", "ember")) -> list:
    modules = {name: importlib.import_module(name) for name in libraries}
    rows = []
    for workload in names:
        samples = {name: {"times": [], "peak": 0} for name in libraries}
        for _ in range(rounds):
            for name in libraries:
                result = measure(modules[name], workload, repeats)
                samples[name]["times"] += result["times"]
                samples[name]["peak"] = max(samples[name]["peak"], result["peak"])
                samples[name]["units"], samples[name]["steps"] = result["units"], result["steps"]
        rows.append({"workload": workload, **samples})
        print(f"done: {workload}", file=sys.stderr)
    return rows


def table(rows: list, device_name: str) -> str:
    lines = [f"GPU: {device_name}", "",
             "| workload | what one run is | PyTorch | ember | ember / PyTorch "
             "| peak GPU memory ember / PyTorch |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        torch_time = statistics.median(row["torch"]["times"])
        ember_time = statistics.median(row["ember"]["times"])
        if row["workload"] == "matmul":
            flops = row["torch"]["steps"]
            cells = (f"{flops / torch_time / 1e12:.1f} TFLOP/s",
                     f"{flops / ember_time / 1e12:.1f} TFLOP/s",
                     f"{torch_time / ember_time:.2f} of PyTorch's TFLOP/s")
        else:
            cells = (f"{torch_time * 1e3:.2f} ms", f"{ember_time * 1e3:.2f} ms",
                     f"{ember_time / torch_time:.2f}")
        peaks = (row["ember"]["peak"], row["torch"]["peak"])
        memory = (f"{peaks[0] / 2**20:.0f} / {peaks[1] / 2**20:.0f} MiB "
                  f"({peaks[0] / max(peaks[1], 1):.2f})")
        lines.append(f"| {row['workload']} | {row['torch']['units']} | {cells[0]} | "
                     f"{cells[1]} | {cells[2]} | {memory} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(GPU_WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("benchmarks.gpu: PyTorch sees no CUDA device", file=sys.stderr)
        return 1
    rows = run(args.workloads, args.rounds, args.repeats)
    print(table(rows, torch.cuda.get_device_name()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
