"""Devices: ``ember.device``, ``ember.cuda``'s answers, tensors moving between devices.

Tests marked ``cuda`` need a CUDA device: they are skipped on the default run and run with
``python -m pytest --device cuda`` on a GPU or ``--device fake-cuda`` (CuPy's stand-in).
The others check the answers of a run without CUDA, as PyTorch gives them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests import devices

cuda = pytest.mark.cuda
no_cuda = pytest.mark.skipif(devices.CUDA, reason="this run has CUDA")


# ---------------------------------------------------------------- device objects


@pytest.mark.parametrize("spec", ["cpu", "cuda", "cuda:0", "cuda:1", "meta", "mps"])
def test_device_objects_match_torch(spec):
    ours, theirs = ember.device(spec), torch.device(spec)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours == ember.device(str(theirs))
    assert hash(ours) == hash(ember.device(spec))


def test_device_from_type_and_index_like_torch():
    assert ember.device("cuda", 1) == ember.device("cuda:1")
    assert str(torch.device("cuda", 1)) == str(ember.device("cuda", 1))


@no_cuda
def test_a_device_number_needs_an_accelerator_like_torch():
    with pytest.raises(RuntimeError, match="Cannot access accelerator device") as theirs:
        torch.device(0)
    with pytest.raises(RuntimeError, match=str(theirs.value)):
        ember.device(0)


@cuda
def test_a_device_number_is_a_gpu():
    assert ember.device(0) == ember.device("cuda:0")


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cuda:"])
def test_bad_device_strings_raise_like_torch(spec):
    with pytest.raises(RuntimeError):
        torch.device(spec)
    with pytest.raises(RuntimeError):
        ember.device(spec)


# ---------------------------------------------------------------- without CUDA


@no_cuda
def test_cuda_answers_without_a_gpu():
    assert ember.cuda.is_available() is False
    assert ember.cuda.device_count() == 0
    assert ember.cuda.is_initialized() is False
    ember.cuda.manual_seed(0)
    ember.cuda.manual_seed_all(0)
    ember.cuda.synchronize()
    ember.cuda.empty_cache()
    assert ember.cuda.memory_allocated() == 0
    assert ember.cuda.max_memory_allocated() == 0
    for call in (ember.cuda.current_device, ember.cuda.get_device_name, ember.cuda.Stream,
                 ember.cuda.Event, lambda: ember.cuda.set_device(0)):
        with pytest.raises(RuntimeError, match="no CUDA backend here"):
            call()


@no_cuda
@pytest.mark.parametrize("make", [
    lambda: ember.zeros(2, device="cuda"),
    lambda: ember.ones(2).cuda(),
    lambda: ember.ones(2).to("cuda:0"),
    lambda: ember.tensor([1.0], device=ember.device("cuda")),
    lambda: ember.set_default_device("cuda"),
])
def test_asking_for_cuda_without_a_gpu_says_what_is_missing(make):
    with pytest.raises(RuntimeError, match="needs CuPy"):
        make()


def test_cpu_moves_are_no_ops():
    x = ember.ones(2, requires_grad=True)
    assert x.cpu() is x and x.to("cpu") is x and x.to(ember.device("cpu")) is x
    assert x.device == ember.device("cpu") and x.is_cuda is False and x.get_device() == -1


def test_other_backends_are_refused():
    with pytest.raises(RuntimeError, match="no MPS backend"):
        ember.zeros(1, device="mps")


# ---------------------------------------------------------------- with CUDA


def _host(tensor):
    return tensor.detach().cpu().numpy()


@cuda
def test_cuda_answers():
    assert ember.cuda.is_available()
    assert ember.cuda.device_count() >= 1
    assert ember.cuda.current_device() == 0
    assert isinstance(ember.cuda.get_device_name(), str)
    ember.cuda.set_device(0)
    ember.cuda.synchronize()


@cuda
def test_factories_put_tensors_on_the_device():
    made = [
        ember.zeros(2, 3, device="cuda"),
        ember.ones(2, device="cuda:0", dtype=ember.float64),
        ember.full((2,), 7, device=ember.device("cuda")),
        ember.tensor([[1.0, 2.0]], device="cuda"),
        ember.arange(5, device="cuda"),
        ember.eye(3, device="cuda"),
    ]
    for tensor in made:
        assert tensor.device == ember.device("cuda:0") and tensor.is_cuda
        assert tensor.get_device() == 0
    np.testing.assert_array_equal(_host(made[2]), [7, 7])
    assert made[2].dtype is ember.int64
    like = ember.zeros_like(made[0])
    assert like.device == made[0].device


@cuda
def test_default_device_and_device_blocks():
    with ember.device("cuda"):
        assert ember.get_default_device() == ember.device("cuda")
        assert ember.zeros(1).is_cuda
        assert ember.tensor([1.0]).is_cuda
        assert not ember.zeros(1, device="cpu").is_cuda
    assert not ember.zeros(1).is_cuda
    ember.set_default_device("cuda")
    try:
        assert ember.get_default_device() == ember.device("cuda:0")
        assert ember.ones(2).is_cuda
    finally:
        ember.set_default_device("cpu")
    assert not ember.ones(2).is_cuda


@cuda
def test_moves_copy_values_and_keep_dtypes():
    host = ember.tensor([[1.5, -2.0], [3.0, 4.25]], dtype=ember.float64)
    device = host.to("cuda")
    assert device.is_cuda and device.dtype is ember.float64
    np.testing.assert_array_equal(_host(device), host.numpy())
    assert device.cuda() is device and device.to("cuda:0") is device
    back = device.cpu()
    assert not back.is_cuda
    np.testing.assert_array_equal(back.numpy(), host.numpy())
    assert host.cuda().device == ember.device("cuda:0")
    assert host.to(device).is_cuda  # to(other_tensor) takes its device
    both = host.to("cuda", ember.float32)
    assert both.is_cuda and both.dtype is ember.float32
    assert host.to("cuda", non_blocking=True).is_cuda


@cuda
def test_reading_values_copies_to_the_host():
    x = ember.tensor([1.0, 2.0], device="cuda")
    assert x.tolist() == [1.0, 2.0]
    assert x[1].item() == 2.0
    assert float(x.sum()) == 3.0
    assert bool(x[0] > 0)
    assert repr(x) == "tensor([1., 2.], device='cuda:0')"
    assert repr(x.double()) == "tensor([1., 2.], device='cuda:0', dtype=ember.float64)"
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy"):
        x.numpy()
    with pytest.raises(TypeError, match=r"Use Tensor.cpu\(\)"):
        np.asarray(x)
    np.testing.assert_array_equal(x.numpy(force=True), [1.0, 2.0])


@cuda
def test_mixing_devices_raises_torchs_error():
    gpu, cpu = ember.ones(2, device="cuda"), ember.ones(2)
    message = ("Expected all tensors to be on the same device, but found at least two "
               "devices, cuda:0 and cpu!")
    for call in (lambda: gpu + cpu, lambda: cpu * gpu, lambda: ember.matmul(gpu, cpu),
                 lambda: ember.cat([gpu, cpu])):
        with pytest.raises(RuntimeError, match=message):
            call()


@cuda
def test_a_0d_cpu_tensor_joins_cuda_tensors_as_a_scalar():
    gpu = ember.tensor([1.0, 2.0], device="cuda")
    result = gpu * ember.tensor(3.0)
    assert result.is_cuda
    np.testing.assert_array_equal(_host(result), [3.0, 6.0])


@cuda
def test_gradients_flow_back_across_devices():
    rng = np.random.default_rng(0)
    values, cotangent = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x = ember.tensor(values, requires_grad=True)
    y = x.to("cuda")
    assert y.grad_fn.name() == "ToCopyBackward0"
    (y.exp() * ember.tensor(cotangent, device="cuda")).sum().backward()
    assert x.grad is not None and not x.grad.is_cuda
    np.testing.assert_allclose(x.grad.numpy(), np.exp(values) * cotangent)

    leaf = ember.tensor(values, device="cuda", requires_grad=True)
    (leaf * leaf).sum().backward()
    assert leaf.grad.is_cuda
    np.testing.assert_allclose(_host(leaf.grad), 2 * values)


@cuda
def test_double_backward_on_the_device():
    x = ember.tensor([0.5, -1.0, 2.0], dtype=ember.float64, device="cuda", requires_grad=True)
    (first,) = ember.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (second,) = ember.autograd.grad(first.sum(), x)
    assert second.is_cuda
    np.testing.assert_allclose(_host(second), 6 * np.array([0.5, -1.0, 2.0]))


@cuda
def test_the_nand_program_trains_on_the_device():
    ember.manual_seed(0)
    ember.cuda.manual_seed(0)
    inputs = ember.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device="cuda")
    targets = ember.tensor([[1.0], [1.0], [1.0], [0.0]], device="cuda")
    model = ember.nn.Sequential(ember.nn.Linear(2, 3), ember.nn.Sigmoid(),
                                ember.nn.Linear(3, 1), ember.nn.Sigmoid()).cuda()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(2000):
        optimizer.zero_grad()
        loss = ember.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
    assert all(p.is_cuda for p in model.parameters())
    assert loss.item() < 0.02


@cuda
@pytest.mark.skipif(not devices.FAKE, reason="the copies are counted by CuPy's CPU stand-in")
@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "AdamW"])
def test_a_training_step_copies_nothing_to_the_host_but_the_loss(optimizer):
    from tests.devices.fake_cupy import counting_transfers

    nn = ember.nn
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16), nn.Dropout(0.1),
                          nn.Linear(16, 4)).cuda()
    step = getattr(ember.optim, optimizer)(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    inputs = ember.tensor(rng.standard_normal((32, 8)), dtype=ember.float32, device="cuda")
    labels = ember.tensor(rng.integers(0, 4, 32), device="cuda")
    for _ in range(2):  # the second step runs with the optimizer's state in place
        with counting_transfers() as transfers:
            step.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs), labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            step.step()
            assert (transfers.to_host, transfers.to_device) == (0, 0)
            loss.item()  # the value, and the flag of the target check deferred to this read
            assert (transfers.to_host, transfers.to_device) == (2, 0)


@cuda
def test_an_out_of_range_target_raises_at_the_next_read():
    logits = ember.zeros(2, 3, device="cuda")
    loss = ember.nn.functional.cross_entropy(logits, ember.tensor([0, 5], device="cuda"))
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        loss.item()
    assert ember.nn.functional.cross_entropy(logits, ember.tensor([0, 2], device="cuda")).item() \
        == pytest.approx(np.log(3))


@no_cuda
def test_pinning_needs_an_accelerator_like_torch():
    assert ember.ones(2).is_pinned() is torch.ones(2).is_pinned() is False
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(2).pin_memory()
    with pytest.raises(RuntimeError, match=str(theirs.value)):
        ember.ones(2).pin_memory()


@cuda
def test_pinned_tensors_copy_to_the_device():
    host = ember.arange(6.0).reshape(2, 3)
    pinned = host.pin_memory()
    assert pinned.is_pinned() and not host.is_pinned() and pinned.pin_memory() is pinned
    np.testing.assert_array_equal(pinned.numpy(), host.numpy())
    moved = pinned.to("cuda", non_blocking=True)
    assert moved.is_cuda
    np.testing.assert_array_equal(_host(moved), host.numpy())
    with pytest.raises(RuntimeError, match="cannot pin 'cuda:0' memory"):
        moved.pin_memory()


@cuda
def test_the_accelerator_is_cuda():
    accelerator = ember.accelerator
    assert accelerator.is_available() and accelerator.device_count() >= 1
    assert accelerator.current_accelerator() == ember.device("cuda")
    assert accelerator.current_device_index() == 0
    with accelerator.device_index(0):
        assert accelerator.current_device_index() == 0
    accelerator.synchronize()
    assert accelerator.memory_allocated() >= 0
    assert set(accelerator.memory_stats()) >= {"allocated_bytes.all.peak"}


@cuda
def test_manual_seed_seeds_every_device_like_torch():
    ember.manual_seed(3)
    first = ember.rand(4, device="cuda").tolist(), ember.rand(2).tolist()
    ember.manual_seed(3)
    assert (ember.rand(4, device="cuda").tolist(), ember.rand(2).tolist()) == first
    ember.cuda.manual_seed(5)
    again = ember.randn(3, device="cuda").tolist()
    ember.cuda.manual_seed(5)
    assert ember.randn(3, device="cuda").tolist() == again


@cuda
def test_streams_and_events():
    stream = ember.cuda.Stream()
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    with ember.cuda.stream(stream):
        start.record()
        ember.ones(3, device="cuda").sum()
        end.record()
    end.synchronize()
    stream.synchronize()
    assert start.query() and end.query()
    assert start.elapsed_time(end) >= 0.0
    assert isinstance(ember.cuda.current_stream(), ember.cuda.Stream)
    stream.wait_stream(ember.cuda.default_stream())
    with ember.cuda.stream(None):
        pass


@cuda
def test_memory_counts_answer():
    ember.cuda.reset_peak_memory_stats()
    held = ember.zeros(1024, device="cuda")
    assert ember.cuda.max_memory_allocated() >= ember.cuda.memory_allocated() >= 0
    assert ember.cuda.memory_reserved() >= 0
    del held
    ember.cuda.empty_cache()


@cuda
def test_indices_on_another_device_follow_torchs_rule():
    gpu, cpu = ember.arange(6.0, device="cuda"), ember.arange(6.0)
    assert gpu[ember.tensor([1, 4])].tolist() == [1.0, 4.0]  # CPU indices into a CUDA tensor
    assert gpu[[0, 5]].is_cuda
    with pytest.raises(RuntimeError, match="indices should be either on cpu or on the same"):
        cpu[ember.tensor([1, 4], device="cuda")]


@cuda
def test_a_cpu_batch_norm_on_a_cuda_input_raises_torchs_error():
    layer = ember.nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match="found at least two devices, cuda:0 and cpu!"):
        layer(ember.randn(4, 3, device="cuda"))
    layer.cuda()
    assert layer(ember.randn(4, 3, device="cuda")).is_cuda and layer.running_mean.is_cuda


def test_to_takes_positional_flags_like_torch():
    for lib in (torch, ember):
        x = lib.ones(2)
        moved = x.to("cpu", lib.float64, True)  # non_blocking
        assert moved.dtype == lib.float64
        copied = x.to(lib.float32, False, True)  # non_blocking, copy
        assert copied is not x and copied.dtype == lib.float32
        assert x.to(x, True) is x
    with pytest.raises(TypeError):
        ember.ones(2).to(ember.float32, False, True, True)
