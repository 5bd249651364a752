"""The library around the ops on CUDA: random numbers, optimizers, checkpoints, data loading
and amp. The tests marked ``cuda`` run with ``--device cuda`` or ``--device fake-cuda``;
the others check what a run without CUDA answers, and skip where CUDA is present.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import ember
import ember.optim
from ember.utils.data import DataLoader, TensorDataset

cuda = pytest.mark.cuda


def _without_cuda():
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA (--device cuda or fake-cuda)")


# ---------------------------------------------------------------- random numbers


@cuda
def test_seeded_draws_repeat_and_land_on_cuda():
    draws = {
        "rand": lambda: ember.rand(2, 3, device="cuda"),
        "randn": lambda: ember.randn(4, device="cuda", dtype=ember.float64),
        "randint": lambda: ember.randint(0, 7, (5,), device="cuda"),
        "randperm": lambda: ember.randperm(6, device="cuda"),
        "normal": lambda: ember.normal(1.0, 2.0, (3,), device="cuda"),
    }
    for name, draw in draws.items():
        ember.cuda.manual_seed(5)
        first = draw()
        ember.cuda.manual_seed(5)
        second = draw()
        assert first.device == ember.device("cuda", 0), name
        assert np.array_equal(first.cpu().numpy(), second.cpu().numpy()), name
    permutation = ember.randperm(50, device="cuda").cpu().numpy()
    assert sorted(permutation.tolist()) == list(range(50))


@cuda
def test_new_tensors_follow_their_tensors_device():
    x = ember.arange(3.0, device="cuda")
    made = [x.new_zeros((1,)), x.new_ones(2), x.new_empty(2), x.new_full((2,), 3.0),
            x.new_tensor([1.0]), x.new_empty_strided((2,), (1,)), x.new(2), x.new([1.0])]
    assert all(t.device == x.device for t in made)
    assert x.new_zeros(1, device="cpu").device == ember.device("cpu")


@cuda
def test_draws_follow_their_inputs_device():
    x = ember.rand(3, 4, device="cuda")
    results = [
        ember.rand_like(x), ember.randn_like(x), ember.randint_like(x, 5),
        ember.bernoulli(x), ember.normal(x, 1.0), ember.multinomial(x, 2),
        ember.multinomial(x, 6, replacement=True),
        ember.empty(3, device="cuda").uniform_(), ember.empty(3, device="cuda").normal_(),
        ember.empty(3, device="cuda").random_(4), ember.empty(3, device="cuda").bernoulli_(0.5),
        ember.empty(3, device="cuda").exponential_(), ember.empty(3, device="cuda").cauchy_(),
        ember.empty(3, device="cuda").log_normal_(), ember.empty(3, device="cuda").fill_(2.0),
        ember.empty(3, device="cuda").zero_(),
    ]
    assert all(result.is_cuda for result in results)
    with ember.device("cuda"):
        assert ember.rand(2).is_cuda
    assert not ember.rand_like(x, device="cpu").is_cuda


@cuda
def test_a_cuda_generator_draws_on_cuda_and_a_mismatch_raises_torchs_error():
    generator = ember.Generator(device="cuda")
    assert generator.device == ember.device("cuda", 0)
    first = ember.rand(4, device="cuda", generator=generator.manual_seed(3))
    second = ember.rand(4, device="cuda", generator=generator.manual_seed(3))
    assert np.array_equal(first.cpu().numpy(), second.cpu().numpy())
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but "
                                           "found 'cpu'"):
        ember.rand(2, device="cuda", generator=ember.Generator())
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but "
                                           "found 'cuda'"):
        ember.rand(2, generator=generator)


def test_a_cuda_generator_without_cuda_raises():
    _without_cuda()
    with pytest.raises(RuntimeError, match="no CUDA backend"):
        ember.Generator(device="cuda")


# ---------------------------------------------------------------- optimizers


def _run(name, kwargs, device, steps=4):
    """``steps`` of ``name`` on float64 parameters on ``device``; the gradients come from a
    fixed function of the parameters computed on the host, so only the optimizer runs on
    the device."""
    rng = np.random.default_rng(0)
    params = [ember.tensor(rng.standard_normal(shape), device=device, requires_grad=True)
              for shape in [(3, 4), (4,), ()]]
    optimizer = getattr(ember.optim, name)(params, **kwargs)
    for _ in range(steps):
        optimizer.zero_grad()
        for param in params:
            host = param.detach().cpu().numpy()
            param.grad = ember.tensor(2 * host - 0.5 + np.tanh(3 * host), device=device)
        optimizer.step()
    return [param.detach().cpu().numpy() for param in params], optimizer


@cuda
@pytest.mark.parametrize("name, kwargs", [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"lr": 0.1}),
    ("Rprop", {}),
    ("Adafactor", {}),
])
def test_a_step_on_cuda_equals_the_step_on_the_cpu(name, kwargs):
    expected, _ = _run(name, kwargs, "cpu")
    actual, optimizer = _run(name, kwargs, "cuda")
    for ours, theirs in zip(actual, expected):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    buffers = [value for state in optimizer.state.values() for key, value in state.items()
               if key != "step" and isinstance(value, ember.Tensor)]
    assert buffers and all(buffer.is_cuda for buffer in buffers)


def test_sgd_momentum_on_a_0d_parameter_matches_torch():
    results = []
    for lib in (ember, torch):
        param = lib.tensor(1.0, requires_grad=True)
        optimizer = lib.optim.SGD([param], lr=0.1, momentum=0.9)
        for _ in range(3):
            param.grad = lib.tensor(2.0) * param.detach()
            optimizer.step()
        results.append(param.item())
    assert results[0] == pytest.approx(results[1], abs=1e-7)


# ---------------------------------------------------------------- checkpoints


def _checkpoint(device):
    weight = ember.arange(6.0, dtype=ember.float64).reshape(2, 3)
    return {"weight": weight.to(device), "bias": ember.nn.Parameter(ember.ones(2).to(device)),
            "step": 3}


@cuda
@pytest.mark.parametrize("format", ["safetensors", "torch"])
def test_a_checkpoint_saved_from_cuda_loads_anywhere(format):
    saved, from_cpu = io.BytesIO(), io.BytesIO()
    ember.save(_checkpoint("cuda"), saved, format=format)
    ember.save(_checkpoint("cpu"), from_cpu, format=format)
    if format == "safetensors":
        assert saved.getvalue() == from_cpu.getvalue()
    expected = _checkpoint("cpu")
    for target, on_cuda in [("cpu", False), ("cuda", True), ("cuda:0", True),
                            (ember.device("cuda"), True), ({"cuda:0": "cpu"}, False),
                            (lambda tensor, location: tensor.cuda(), True)]:
        saved.seek(0)
        loaded = ember.load(saved, map_location=target)
        assert loaded["step"] == 3 and isinstance(loaded["bias"], ember.nn.Parameter)
        for name in ("weight", "bias"):
            assert loaded[name].is_cuda == on_cuda, (target, name)
            assert np.array_equal(loaded[name].detach().cpu().numpy(),
                                  expected[name].detach().numpy())
    saved.seek(0)
    restored = ember.load(saved)  # where the file says: only a torch archive records CUDA
    assert restored["weight"].is_cuda == (format == "torch")


@cuda
def test_a_torch_archive_from_cuda_records_cuda_for_torch():
    saved = io.BytesIO()
    ember.save(_checkpoint("cuda"), saved, format="torch")
    saved.seek(0)
    loaded = torch.load(saved, map_location="cpu", weights_only=True)
    assert torch.equal(loaded["weight"], torch.arange(6.0, dtype=torch.float64).reshape(2, 3))
    saved.seek(0)
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
        torch.load(saved, weights_only=True)  # a CPU build of torch: the storage says cuda:0


def test_map_location_cuda_without_cuda_raises_torchs_error():
    _without_cuda()
    saved = io.BytesIO()
    ember.save({"w": ember.ones(2)}, saved)
    saved.seek(0)
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device "
                                           "but torch.cuda.is_available"):
        ember.load(saved, map_location="cuda")


# ---------------------------------------------------------------- data loading


@cuda
def test_pinned_batches_move_to_cuda():
    dataset = TensorDataset(ember.arange(12.0).reshape(6, 2), ember.arange(6))
    for workers in (0, 1):
        for features, labels in DataLoader(dataset, batch_size=4, pin_memory=True,
                                           num_workers=workers):
            assert features.is_pinned() and labels.is_pinned()
            moved = features.to("cuda", non_blocking=True)
            assert moved.is_cuda and ember.equal(moved.cpu(), features)
    batch = next(iter(DataLoader(dataset, batch_size=4)))
    assert not batch[0].is_pinned()


def test_pin_memory_without_cuda_warns_and_pins_nothing():
    _without_cuda()
    dataset = TensorDataset(ember.arange(4.0))
    with pytest.warns(UserWarning, match="pin_memory"):
        loader = DataLoader(dataset, batch_size=2, pin_memory=True)
    assert not any(batch[0].is_pinned() for batch in loader)


# ---------------------------------------------------------------- amp


@cuda
def test_autocast_cuda_runs_matmul_in_float16_and_losses_in_float32():
    a, b = ember.rand(3, 4, device="cuda"), ember.rand(4, 2, device="cuda")
    with ember.autocast("cuda"):
        assert ember.is_autocast_enabled("cuda")
        product = a @ b
        assert product.dtype is ember.float16 and product.is_cuda
        assert ember.mm(a, b).dtype is ember.float16
        assert ember.nn.functional.linear(a, b.T).dtype is ember.float16
        target = ember.zeros(3, 2, device="cuda")
        assert ember.nn.functional.mse_loss(product, target).dtype is ember.float32
        assert (ember.rand(2, 3) @ ember.rand(3, 2)).dtype is ember.float32  # CPU: not on
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            ember.nn.functional.binary_cross_entropy(ember.rand(3, device="cuda"),
                                                     ember.rand(3, device="cuda"))
    assert (a @ b).dtype is ember.float32


@cuda
@pytest.mark.parametrize("call", [
    lambda x: x.exp(), lambda x: x.log(), lambda x: x.reciprocal(), lambda x: x.rsqrt(),
    lambda x: x ** 2, lambda x: x.pow(3), lambda x: x.sum(), lambda x: x.sum(dim=0),
    lambda x: x.cumsum(0), lambda x: x.softmax(-1), lambda x: x.log_softmax(-1),
    lambda x: ember.linalg.vector_norm(x), lambda x: x.norm(),
    lambda x: ember.nn.functional.layer_norm(x, (4,)),
    lambda x: ember.nn.functional.group_norm(x.reshape(1, 4, 3), 2),
    lambda x: ember.nn.functional.softplus(x),
], ids=["exp", "log", "reciprocal", "rsqrt", "square", "pow", "sum", "sum_dim", "cumsum",
        "softmax", "log_softmax", "vector_norm", "norm", "layer_norm", "group_norm",
        "softplus"])
def test_autocast_cuda_runs_its_float32_list_in_float32(call):
    # PyTorch's CUDA autocast list of ops that autocast to float32 (its amp docs)
    x = ember.rand(3, 4, device="cuda").half().requires_grad_(True)
    assert call(x).dtype is ember.float16
    with ember.autocast("cuda"):
        result = call(x)
    assert result.dtype is ember.float32 and result.is_cuda
    result.float().sum().backward()
    assert x.grad.dtype is ember.float16 and x.grad.is_cuda


@cuda
def test_grad_scaler_on_cuda_skips_a_step_with_inf_and_backs_off():
    scaler = ember.amp.GradScaler("cuda", init_scale=8.0, growth_interval=2)
    assert scaler.is_enabled()
    param = ember.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    optimizer = ember.optim.SGD([param], lr=0.1)
    for grad, moved, scale in [([1.0, 1.0], True, 8.0), ([float("inf"), 1.0], False, 4.0),
                               ([2.0, 2.0], True, 4.0), ([2.0, 2.0], True, 8.0)]:
        before = param.detach().cpu().numpy()
        loss = scaler.scale((param * ember.tensor(grad, device="cuda")).sum())
        assert loss.is_cuda
        loss.backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
        assert (not np.array_equal(param.detach().cpu().numpy(), before)) == moved
        assert scaler.get_scale() == scale
