"""The GPU benchmark's workloads run on ember's CUDA tensors (small sizes; no timings)."""

from __future__ import annotations

import pytest

import ember
from benchmarks import gpu


@pytest.mark.cuda
@pytest.mark.parametrize("make", [
    lambda lib: gpu.make_cnn32(lib, batch=4, steps=1),
    lambda lib: gpu.make_gpt_gpu(lib, layers=1, width=16, heads=2, context=8, batch=2, steps=1),
    lambda lib: gpu.make_matmul(lib, size=8, repeats=1),
])
def test_gpu_workloads_run_on_the_device(make):
    ember.set_default_device("cuda")
    try:
        run, units, steps = make(ember)
        result = gpu._synchronized(ember, run)()
    finally:
        ember.set_default_device("cpu")
    assert units and steps
    assert isinstance(result, float) or result.is_cuda


def test_the_table_reads_ratios_and_memory():
    row = {"workload": "gpt", "torch": {"times": [2.0], "peak": 2**20, "units": "u", "steps": 1},
           "ember": {"times": [3.0], "peak": 2**21, "units": "u", "steps": 1}}
    text = gpu.table([row], "Some GPU")
    assert "GPU: Some GPU" in text and "| 1.50 |" in text and "2 / 1 MiB (2.00)" in text
