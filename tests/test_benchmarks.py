"""The benchmarks: their floors compute what the workloads they stand beside compute, and the
tables say what the runs measured."""

import numpy as np

import ember
from benchmarks import bare_autograd, run, worker, workloads


def test_bare_autograd_op_overhead_matches_ember():
    rng = np.random.default_rng(0)
    a_values = rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32)
    b_values = rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32)

    a = bare_autograd.Value(a_values, requires_grad=True)
    b = bare_autograd.Value(b_values)
    y = bare_autograd.mul(a, b)
    y = bare_autograd.add(y, a)
    y = bare_autograd.exp(y)
    y = bare_autograd.sub(y, b)
    y = bare_autograd.tanh(y)
    y = bare_autograd.mul(y, 2.0)
    y = bare_autograd.sigmoid(y)
    y = bare_autograd.div(y, b)
    y = bare_autograd.relu(y)
    y = bare_autograd.add(y, 1.0)
    loss = bare_autograd.total(y)
    bare_autograd.backward(loss)

    x = ember.tensor(a_values, requires_grad=True)
    z = ember.tensor(b_values)
    w = ((((((x * z + x).exp() - z).tanh() * 2.0).sigmoid()) / z).relu() + 1.0).sum()
    w.backward()
    np.testing.assert_allclose(a.grad, x.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(w), float(loss.data), rtol=1e-6)


def test_every_baseline_the_runner_names_is_one_the_worker_runs():
    assert set(run.BASELINE_OF) == set(worker.BASELINES)
    assert set(run.BASELINE_OF.values()) <= set(workloads.WORKLOADS)
    # each baseline's run covers what its workload's run covers
    assert worker.BASELINES["bare"]()[1] == workloads.make_op_overhead(ember)[1]
    assert worker.BASELINES["numpy"]()[1] == workloads.make_nand(ember)[1]
    assert worker.BASELINES["numpy_ops"]()[1] == workloads.make_op_overhead(ember)[1]


def test_hand_written_op_overhead_matches_ember():
    run, _ = workloads.make_numpy_op_overhead()
    rng = np.random.default_rng(0)
    a_values = rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32)
    b_values = rng.uniform(-1.5, 1.5, (4, 3)).astype(np.float32)  # some ReLUs cut
    loss, grad = run.step(a_values, b_values)

    x = ember.tensor(a_values, requires_grad=True)
    z = ember.tensor(b_values)
    w = ((((((x * z + x).exp() - z).tanh() * 2.0).sigmoid()) / z).relu() + 1.0).sum()
    w.backward()
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, float(w), rtol=1e-6)


def test_the_compiled_table_says_how_long_the_fused_kernels_took():
    def stats(median, **extra):
        return {"threads": 1, "median": median, "min": median, "max": median, **extra}

    row = {"workload": "gpt", "steps": 10, "errors": {}, "breaks": {},
           "torch_1t": stats(0.08), "torch.compile": stats(0.06, first=5.0),
           "ember.compile": stats(0.1, recording=0.03, fusion=0.95), "ember_1t": stats(0.13)}
    table = run.compiled_table([row])
    assert "| gpt | " in table and "| 1.25 |" in table  # ember.compile / eager PyTorch
    assert "gpt: ember.compile compiled its fused kernels in a background thread in 0.95 s" \
        in table
    del row["ember.compile"]["fusion"]
    assert "fused kernels" not in run.compiled_table([row])


def test_the_workloads_of_reduce_overhead_get_a_table_of_their_own():
    assert ("ember.compile reduce-overhead", "ember", 1, "reduce-overhead") in run._plan(
        "nand", compiled=True)
    assert not any(mode == "reduce-overhead" for *_, mode in run._plan("gpt", compiled=True))
    assert not any(mode == "reduce-overhead" for *_, mode in run._plan("nand", compiled=False))

    def stats(median):
        return {"threads": 1, "median": median, "min": median, "max": median}

    row = {"workload": "nand", "steps": 4000, "errors": {}, "breaks": {},
           "torch_1t": stats(0.5), "torch.compile reduce-overhead": stats(0.8),
           "ember.compile reduce-overhead": stats(0.1), "numpy": stats(0.08)}
    table = run.compiled_table([row])
    assert "With `mode=\"reduce-overhead\"`" in table
    assert "| nand | 0.500 s (0.500–0.500) | 0.800 s (0.800–0.800) | 0.100 s (0.100–0.100) " \
           "| 1.60 | 0.20 | 0.12 | 0.16 |" in table
    del row["ember.compile reduce-overhead"], row["torch.compile reduce-overhead"]
    assert "reduce-overhead" not in run.compiled_table([row])
