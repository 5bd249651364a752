"""The gpt workload trains as on PyTorch, and a compiled workload as its eager twin.

Compiled, a workload hands its whole training step to ``torch.compile``; on ember that
step must record once per batch shape and replay after, with no graph break.
"""

import inspect

import numpy as np
import torch

import ember
from benchmarks import worker, workloads


def _parameters(run):
    return inspect.getclosurevars(run).nonlocals["optimizer"].param_groups[0]["params"]


def test_gpt_trains_as_on_pytorch_from_the_same_weights():
    torch_run, _, steps = workloads.make_gpt(torch)
    ember_run, _, _ = workloads.make_gpt(ember)
    with ember.no_grad():
        for theirs, ours in zip(_parameters(torch_run), _parameters(ember_run), strict=True):
            ours.copy_(ember.tensor(theirs.detach().numpy()))
    expected = [torch_run(), torch_run()]
    np.testing.assert_allclose([ember_run(), ember_run()], expected, rtol=1e-5)
    assert steps == 10


def test_compiled_gpt_trains_as_eager_gpt_on_ember():
    eager, _, steps = workloads.make_gpt(ember)
    compiled, _, _ = workloads.make_gpt(ember, compiled=True)
    np.testing.assert_allclose([compiled(), compiled()], [eager(), eager()], rtol=1e-5)
    step = workloads.compiled_step(compiled)
    assert step.breaks == [] and step.replays == 2 * steps - 1
    assert "# backward() of" in step.code and "replayed whole" in step.code


def test_compiled_nand_restarts_from_its_first_weights():
    eager, _, steps = workloads.make_nand(ember)
    compiled, _, _ = workloads.make_nand(ember, compiled=True)
    assert compiled() == compiled()
    np.testing.assert_allclose(compiled(), eager(), rtol=1e-5)
    step = workloads.compiled_step(compiled)
    assert step.breaks == [] and step.replays == 3 * steps - 1


def test_compiled_worker_times_the_first_run_apart(monkeypatch):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")
    sample = worker.measure("ember", "op_overhead", 1, 1, "compiled")
    assert sample["steps"] == 1000
    assert sample["first"] > 0 and len(sample["times"]) == 1
