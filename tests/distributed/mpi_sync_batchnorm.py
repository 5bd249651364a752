"""Run under mpirun: SyncBatchNorm on N ranks, each with its share of a batch, equals
BatchNorm on the whole batch in one process (outputs, gradients, running statistics),
also for uneven shares, twice differentiated, and trained under DistributedDataParallel."""

from __future__ import annotations

import copy

import numpy as np

import ember
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel
from tests.distributed import run_rank


def shares(total: int, world: int, uneven: bool) -> list:
    """Each rank's slice of a batch of ``total`` samples: about equal, or rank r given about
    r + 1 parts; together, the whole batch."""
    weights = np.arange(1, world + 1) if uneven else np.ones(world)
    bounds = np.round(np.concatenate([[0], np.cumsum(weights)]) * total / weights.sum())
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def close(actual, expected, what: str) -> None:
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), rtol=1e-10,
                               atol=1e-12, err_msg=what)


def summed(tensor):
    """The sum over ranks of this rank's ``tensor``."""
    total = tensor.detach().clone()
    dist.all_reduce(total)
    return total


def matches_whole_batch(shape: tuple, momentum, uneven: bool, rank: int, world: int) -> None:
    rng = np.random.default_rng(10 + len(shape))
    channels = shape[1]
    reference = nn.BatchNorm1d(channels, momentum=momentum).double()
    with ember.no_grad():
        reference.weight.copy_(ember.tensor(rng.uniform(0.5, 1.5, channels)))
        reference.bias.copy_(ember.tensor(rng.standard_normal(channels)))
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(reference))
    mine = shares(shape[0], world, uneven)[rank]
    for step in range(3):
        what = f"{shape} momentum={momentum} uneven={uneven} step {step}"
        x = ember.tensor(rng.standard_normal(shape) * 3 + 2, requires_grad=True)
        cotangent = ember.tensor(rng.standard_normal(shape))
        expected = reference(x.reshape(shape[0], channels, -1)).reshape(shape)
        expected.backward(cotangent)
        local = x.detach()[mine].clone().requires_grad_(True)
        output = synced(local)
        output.backward(cotangent[mine])
        close(output, expected[mine], f"output, {what}")
        close(local.grad, x.grad[mine], f"input grad, {what}")
        close(summed(synced.weight.grad), reference.weight.grad, f"weight grad, {what}")
        close(summed(synced.bias.grad), reference.bias.grad, f"bias grad, {what}")
        close(synced.running_mean, reference.running_mean, f"running_mean, {what}")
        close(synced.running_var, reference.running_var, f"running_var, {what}")
        assert int(synced.num_batches_tracked) == step + 1
        reference.zero_grad()
        synced.zero_grad()
    reference.eval()
    synced.eval()
    x = ember.tensor(rng.standard_normal(shape))
    close(synced(x), reference(x.reshape(shape[0], channels, -1)).reshape(shape), "eval")


def twice_differentiable(rank: int, world: int) -> None:
    """The gradient of a function of the input's gradient: the all-reduce is recorded."""
    rng = np.random.default_rng(3)
    shape = (4 * world, 3, 2)
    x = ember.tensor(rng.standard_normal(shape), requires_grad=True)
    cotangent = ember.tensor(rng.standard_normal(shape))
    probe = ember.tensor(rng.standard_normal(shape))
    reference = nn.BatchNorm1d(3).double()
    synced = nn.SyncBatchNorm(3).double()
    (grad_x,) = ember.autograd.grad(reference(x), x, cotangent, create_graph=True)
    (grad_x * probe).sum().backward()
    mine = slice(4 * rank, 4 * rank + 4)
    local = x.detach()[mine].clone().requires_grad_(True)
    (local_grad,) = ember.autograd.grad(synced(local), local, cotangent[mine], create_graph=True)
    close(local_grad, grad_x[mine], "first gradient")
    (local_grad * probe[mine]).sum().backward()
    close(local.grad, x.grad[mine], "second gradient, input")
    close(summed(synced.weight.grad), reference.weight.grad, "second gradient, weight")


def make_model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 1)).double()


def ddp_training(rank: int, world: int) -> None:
    rng = np.random.default_rng(4)
    x = ember.tensor(rng.standard_normal((6 * world, 4)))
    y = ember.tensor(rng.standard_normal((6 * world, 1)))
    reference = make_model()
    model = DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(make_model()))
    assert type(model.module[1]) is nn.SyncBatchNorm
    reference_opt = ember.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    mine = slice(6 * rank, 6 * rank + 6)
    for _ in range(4):
        loss = ((reference(x) - y) ** 2).mean()
        reference_opt.zero_grad()
        loss.backward()
        reference_opt.step()
        local_loss = ((model(x[mine]) - y[mine]) ** 2).mean()
        opt.zero_grad()
        local_loss.backward()
        opt.step()
    for (name, a), (_, b) in zip(reference.state_dict().items(),
                                 model.module.state_dict().items()):
        close(b, a, f"ddp {name}")
    reference.eval()
    model.eval()
    close(model(x[mine]), reference(x)[mine], "ddp eval")


def main() -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    for shape in [(8, 3), (8, 3, 5), (8, 2, 3, 4)]:
        for uneven in (False, True):
            matches_whole_batch(shape, 0.1, uneven, rank, world)
    matches_whole_batch((6, 2, 3), None, True, rank, world)
    twice_differentiable(rank, world)
    ddp_training(rank, world)
    print(f"rank {rank}: sync batchnorm OK", flush=True)
    dist.barrier()


if __name__ == "__main__":
    run_rank(main)
