"""``ember.compile(mode="reduce-overhead")`` (``ember/_compile/small.py``): the first lines
of a small program run as one numba function; its results agree with eager ember and with
PyTorch to rounding, not bit for bit. The default mode stays bit for bit (the other
``test_compile*`` files)."""

from __future__ import annotations

import copy
import importlib.util

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
from ember._compile import fusion, small

if importlib.util.find_spec("numba") is None:  # the test extra installs it (ember[compile])
    pytest.skip("numba is not installed", allow_module_level=True)
fusion._import_numba()  # as ember imports it (see test_compile_fusion.py)


def _program(compiled):
    return compiled.latest.program


def _fused(compiled, *args):
    """Call ``compiled`` once (it records), wait for numba, and return the program, which
    now runs its numba function."""
    compiled(*args)
    assert fusion.wait(timeout=120)
    program = _program(compiled)
    assert program.small is not None, program.code
    return program


class Net(nn.Module):
    """The README's NAND network."""

    def __init__(self):
        super().__init__()
        self.layer1, self.layer2 = nn.Linear(2, 3), nn.Linear(3, 1)

    def forward(self, x):
        return self.layer2(self.layer1(x).sigmoid()).sigmoid()


def _nand(seed):
    ember.manual_seed(seed)
    model = Net()
    inputs = ember.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    targets = ember.tensor([[1.0], [1.0], [1.0], [0.0]])
    return model, inputs, targets


def _step(model, optimizer):
    criterion = nn.MSELoss()

    def step(x, y):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def test_the_nand_training_step_runs_as_one_function_and_trains_as_eagerly():
    model, inputs, targets = _nand(0)
    eager_model = copy.deepcopy(model)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.5)
    eager_optimizer = ember.optim.SGD(eager_model.parameters(), lr=0.5)
    step = ember.compile(_step(model, optimizer), mode="reduce-overhead")
    eager_step = _step(eager_model, eager_optimizer)
    program = _fused(step, inputs, targets)
    eager_step(inputs, targets)
    assert "as one numba function" in step.code and "def small" in step.code
    for _ in range(300):
        loss, eager_loss = step(inputs, targets), eager_step(inputs, targets)
        assert loss.dtype == ember.float32
        np.testing.assert_allclose(loss.item(), eager_loss.item(), rtol=1e-5)
    assert program.forward is _program(step).forward  # no recording since
    for (name, p), q in zip(model.named_parameters(), eager_model.parameters()):
        assert p.grad.dtype == ember.float32 and p.grad.shape == p.shape, name
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_the_default_mode_keeps_the_program_as_written():
    model, inputs, targets = _nand(1)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.5)
    step = ember.compile(_step(model, optimizer))
    step(inputs, targets)
    fusion.wait(timeout=120)
    assert _program(step).small_source == "" and _program(step).small is None


def _chain(lib, a, b, w, c, t, root):
    """Every op with an equivalent in small.py, each input reaching several of them, and a
    root whose backward starts the written backward: all of it numba's."""
    y = lib.nn.functional.linear(a, w, c)  # (4, 3)
    y = (y * b + b).exp() * 0.1 - b  # mul, add, exp, sub: about -0.3 to 0.1
    y = y.tanh() * 2.0 + 1.5  # tanh, mul and add of a number
    y = y.sigmoid() / b + y / 3.0  # sigmoid, division by a tensor and by a number
    y = (y - 1.6).relu() + y.log() - y.sub(b, alpha=0.5)  # relu of both signs, log, alpha
    y = y.add(b, alpha=2.0) * y
    if root == "sum":  # a random cotangent pulled back
        return (y * t).sum()
    reduction = "mean" if root == "mse" else "sum"
    return lib.nn.functional.mse_loss(y, t, reduction=reduction)


@pytest.mark.parametrize("root", ["sum", "mse", "mse_sum"])
def test_each_equivalent_agrees_with_pytorch_values_and_gradients(root):
    rng = np.random.default_rng(2)
    a, b, c = (rng.uniform(0.5, 1.5, shape) for shape in [(4, 5), (4, 3), (3,)])
    arrays = [a, b, rng.uniform(-0.05, 0.15, (3, 5)), c]
    target = rng.standard_normal((4, 3))

    def step(a, b, w, c, t):
        loss = _chain(ember, a, b, w, c, t, root)
        loss.backward()
        return loss

    compiled = ember.compile(step, mode="reduce-overhead")
    tensors = [ember.tensor(x, requires_grad=True) for x in arrays]
    t = ember.tensor(target)
    program = _fused(compiled, *tensors, t)
    for x in tensors:
        x.grad = None
    loss = compiled(*tensors, t)
    assert loss.dtype == ember.float64
    expected = [torch.tensor(x, requires_grad=True) for x in arrays]
    torch_loss = _chain(torch, *expected, torch.tensor(target), root)
    torch_loss.backward()
    np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-12)
    for x, e in zip(tensors, expected):
        assert x.grad.dtype == ember.float64
        np.testing.assert_allclose(x.grad.numpy(), e.grad.numpy(), rtol=1e-10, atol=1e-12)
    # and a finite difference of the fused step along a random direction of each input
    for position, x in enumerate(tensors):
        direction = rng.standard_normal(arrays[position].shape)
        sides = []
        for sign in (1, -1):
            moved = [ember.tensor(a + sign * 1e-6 * direction if i == position else a,
                                  requires_grad=True) for i, a in enumerate(arrays)]
            sides.append(compiled(*moved, t).item())
        np.testing.assert_allclose((sides[0] - sides[1]) / 2e-6,
                                   (x.grad.numpy() * direction).sum(), rtol=1e-6)
    assert program.forward is _program(compiled).forward  # those calls replayed it too
    fused = program.small_source.split("def forward")[0]
    for kernel in ("Addmm", "Mul", "Add", "Exp", "Sub", "Tanh", "Sigmoid", "Div", "Relu",
                   "Log", "Sum" if root == "sum" else "MseLoss"):
        assert f"= {kernel}_" in fused or f"asarray({kernel}_" in fused, kernel
    assert "accumulate" not in fused and fused.count("= B") >= 17  # every backward too


def test_gradients_that_two_leaves_get_from_one_sum_are_two_arrays():
    def step(a, b):
        (a + b).sum().backward()

    compiled = ember.compile(step, mode="reduce-overhead")
    a = ember.ones(3, 4, requires_grad=True)
    b = ember.ones(3, 4, requires_grad=True)
    compiled(a, b)
    fusion.wait(timeout=120)
    a.grad = b.grad = None
    compiled(a, b)
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.add_(1.0)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones((3, 4), np.float32))


def test_a_compiled_module_runs_its_forward_as_one_function_and_backward_as_written():
    ember.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2), nn.Sigmoid())
    eager = copy.deepcopy(model)
    compiled = ember.compile(model, mode="reduce-overhead")
    x = ember.randn(5, 4)
    program = _fused(compiled._compiled, x)
    assert program.backward is not None  # the backward is the program's own function
    out, expected = compiled(x), eager(x)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    out.pow(2).sum().backward()
    expected.pow(2).sum().backward()
    for p, q in zip(model.parameters(), eager.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_a_step_past_an_op_without_an_equivalent_stays_python():
    def step(x, w):
        y = (x * 2.0).exp().tanh()
        return (y.softmax(-1) @ w).sum()  # softmax and matmul: no equivalents

    compiled = ember.compile(step, mode="reduce-overhead")
    rng = np.random.default_rng(4)
    x, w = ember.tensor(rng.standard_normal((3, 4))), ember.tensor(rng.standard_normal((4, 2)))
    program = _fused(compiled, x, w)
    assert "Softmax" not in program.small_source.split("def forward")[0]
    np.testing.assert_allclose(compiled(x, w).item(), step(x, w).item(), rtol=1e-12)


def test_large_arrays_and_large_products_keep_numpy():
    def step(x, w, c):
        return ember.nn.functional.linear(x, w, c).sigmoid().exp().sum()

    compiled = ember.compile(step, mode="reduce-overhead")
    x = ember.randn(2, small.SMALL + 1)
    compiled(x, ember.randn(3, small.SMALL + 1), ember.randn(3))
    assert _program(compiled).small_source == ""
    compiled = ember.compile(step, mode="reduce-overhead")
    compiled(ember.randn(32, 32), ember.randn(32, 32), ember.randn(32))  # 32768 products
    assert "Addmm" not in _program(compiled).small_source


def test_modes_are_checked_as_pytorch_checks_them():
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast, should be one of: "
                                           "default, lite, reduce-overhead"):
        ember.compile(lambda x: x, mode="fast")
    with pytest.raises(RuntimeError, match="Either mode or options can be specified"):
        ember.compile(lambda x: x, mode="default", options={})
    for mode in ("default", "max-autotune", "max-autotune-no-cudagraphs", "lite"):
        assert ember.compile(lambda x: x * 2, mode=mode)(ember.ones(2)).tolist() == [2, 2]


@pytest.mark.cuda
def test_a_program_on_the_gpu_keeps_its_kernels():
    """numba's loops take NumPy's arrays: a CUDA program runs as written."""
    with ember.device("cuda"):
        model, inputs, targets = _nand(5)
        eager_model = copy.deepcopy(model)
        optimizer = ember.optim.SGD(model.parameters(), lr=0.5)
        step = ember.compile(_step(model, optimizer), mode="reduce-overhead")
        eager_step = _step(eager_model, ember.optim.SGD(eager_model.parameters(), lr=0.5))
        losses = [step(inputs, targets).item() for _ in range(5)]
        assert losses == [eager_step(inputs, targets).item() for _ in range(5)]
    fusion.wait(timeout=120)
    assert _program(step).small_source == "" and _program(step).small is None


def test_a_program_whose_function_numba_cannot_build_runs_as_written(monkeypatch):
    """A failure of one program's function leaves that program as written, and the other
    fused kernels working (``fusion.failure`` stays None)."""
    monkeypatch.setattr(small, "_MATRICES", "raise RuntimeError('no loops today')")
    failures = len(fusion.program_failures)

    def step(x, y):
        return ((x * y).exp() - y).tanh().sum()

    compiled = ember.compile(step, mode="reduce-overhead")
    x, y = ember.randn(3, 4, dtype=ember.float64), ember.randn(3, 4, dtype=ember.float64)
    compiled(x, y)
    assert fusion.wait(timeout=120)
    assert _program(compiled).small is None and fusion.failure is None
    assert "no loops today" in fusion.program_failures[failures]
    np.testing.assert_array_equal(compiled(x, y).numpy(), step(x, y).numpy())
