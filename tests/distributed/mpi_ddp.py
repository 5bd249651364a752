"""Run under mpirun: DDP on N ranks equals one process on the joint batch (SGD and Adam)."""

from __future__ import annotations

import copy

import numpy as np

import ember
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel
from ember.utils.data.distributed import DistributedSampler
from tests.distributed import run_rank


def make_model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                         nn.Linear(8, 1)).double()


def train(optimizer_name: str, steps: int, rank: int, world: int) -> None:
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((8 * world, 4)))
    y = ember.tensor(rng.standard_normal((8 * world, 1)))
    reference = make_model()
    local = copy.deepcopy(reference)
    # Perturb the copy on ranks > 0: the broadcast at construction must undo it.
    with ember.no_grad():
        for p in local.parameters():
            p.add_(rank)
    model = DistributedDataParallel(local, bucket_cap_mb=0.0005)
    make = {"sgd": lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9),
            "adam": lambda ps: ember.optim.Adam(ps, lr=0.01)}[optimizer_name]
    reference_opt, opt = make(reference.parameters()), make(model.parameters())
    mine = slice(8 * rank, 8 * rank + 8)
    for _ in range(steps):
        loss = ((reference(x) - y) ** 2).mean()
        reference_opt.zero_grad()
        loss.backward()
        reference_opt.step()
        local_loss = ((model(x[mine]) - y[mine]) ** 2).mean()
        opt.zero_grad()
        local_loss.backward()
        opt.step()
    for (name, a), (_, b) in zip(reference.named_parameters(), model.module.named_parameters()):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"{optimizer_name} {name}")
    assert list(model.state_dict())[0].startswith("module.")


def no_sync_accumulates(rank: int, world: int) -> None:
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((4 * world, 4)))
    reference = make_model()
    model = DistributedDataParallel(copy.deepcopy(reference))
    reference(x).sum().backward()
    halves = [x[2 * world * i : 2 * world * (i + 1)] for i in range(2)]
    with model.no_sync():
        model(halves[0][2 * rank : 2 * rank + 2]).sum().backward()
    model(halves[1][2 * rank : 2 * rank + 2]).sum().backward()
    for a, b in zip(reference.parameters(), model.module.parameters()):
        np.testing.assert_allclose(b.grad.numpy() * world, a.grad.numpy(), rtol=1e-10, atol=1e-12)


def sampler_shares(rank: int, world: int) -> None:
    sampler = DistributedSampler(range(11), shuffle=True, seed=3)
    sampler.set_epoch(1)
    shares = [None] * world
    dist.all_gather_object(shares, list(sampler))
    everything = sorted(i for share in shares for i in share)
    assert len(everything) == sampler.total_size and set(everything) == set(range(11))
    assert all(len(share) == len(sampler) for share in shares)


def main() -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    train("sgd", 5, rank, world)
    train("adam", 5, rank, world)
    no_sync_accumulates(rank, world)
    sampler_shares(rank, world)
    print(f"rank {rank}: ddp OK", flush=True)
    dist.barrier()


if __name__ == "__main__":
    run_rank(main)
