"""``ember.distributed`` with CUDA tensors, one rank in this process (MPI's singleton).

With ``--device fake-cuda`` the NCCL communicator is the fake's, which records its calls:
these tests check what ember asks of NCCL and that nothing crosses to the host. What NCCL
does across several GPUs is not run here (one rank; see docs/cuda.md).
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributed as dist
from tests import devices

pytest.importorskip("mpi4py")


def test_nccl_without_cuda_says_what_is_missing():
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA")
    with pytest.raises(RuntimeError, match="no CUDA backend here"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


@pytest.fixture(params=["nccl", "mpi"])
def group(request):
    dist.init_process_group(request.param)
    try:
        yield request.param
    finally:
        dist.destroy_process_group()


def _fake_transfers():
    from tests.devices.fake_cupy import NcclCommunicator, Transfers

    NcclCommunicator.calls.clear()
    Transfers.reset()
    return NcclCommunicator.calls, Transfers


@pytest.mark.cuda
def test_collectives_on_cuda_tensors(group):
    assert dist.get_backend() == group and dist.get_world_size() == 1
    tensor = ember.arange(6.0, device="cuda")
    dist.all_reduce(tensor)
    dist.all_reduce(tensor, op=dist.ReduceOp.AVG)
    dist.broadcast(tensor, 0)
    assert tensor.is_cuda and tensor.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.raises(NotImplementedError, match="all_gather: CUDA tensors are taken by"):
        dist.all_gather([ember.zeros(6, device="cuda")], tensor)


@pytest.mark.cuda
@pytest.mark.skipif(not devices.FAKE, reason="the calls are recorded by CuPy's stand-in")
def test_nccl_reduces_in_place_on_the_device_with_no_host_copy():
    dist.init_process_group("nccl")
    try:
        calls, transfers = _fake_transfers()
        tensor = ember.ones(5, device="cuda", dtype=ember.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        dist.broadcast(tensor, 0)
        assert (transfers.to_host, transfers.to_device) == (0, 0)
        codes = ember._backend.nccl()
        assert calls == [("allReduce", True, 5, codes.NCCL_FLOAT64, codes.NCCL_MAX),
                         ("bcast", 5, codes.NCCL_FLOAT64, 0)]
    finally:
        dist.destroy_process_group()


@pytest.mark.cuda
def test_ddp_on_cuda_gives_the_single_process_gradients(group):
    rng = np.random.default_rng(0)
    inputs = ember.tensor(rng.standard_normal((8, 4)), device="cuda")
    ember.manual_seed(0)
    reference = ember.nn.Sequential(ember.nn.Linear(4, 6), ember.nn.Tanh(),
                                    ember.nn.Linear(6, 1)).double().cuda()
    model = ember.nn.Sequential(ember.nn.Linear(4, 6), ember.nn.Tanh(),
                                ember.nn.Linear(6, 1)).double().cuda()
    model.load_state_dict(reference.state_dict())
    ddp = ember.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=1e-4)
    reference(inputs).square().mean().backward()
    ddp(inputs).square().mean().backward()
    for mine, theirs in zip(model.parameters(), reference.parameters()):
        assert mine.grad.is_cuda
        np.testing.assert_allclose(mine.grad.cpu().numpy(), theirs.grad.cpu().numpy(),
                                   rtol=1e-12)
