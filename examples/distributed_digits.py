"""Data-parallel training on several processes: DistributedDataParallel over MPI.

Every process (a "rank") holds the same model. Each step, each rank runs forward and
backward on its own share of the batch; ``DistributedDataParallel`` averages the
gradients across ranks during backward (an all-reduce), so every rank takes the same
optimizer step and the copies stay identical. ``DistributedSampler`` hands each rank
a different slice of the data. Launch one process per rank with MPI:

    mpirun -np 2 python examples/distributed_digits.py   # EMBER_EXAMPLE_QUICK=1: fewer epochs

Written against PyTorch's API; ember runs it after ``import ember as torch``. (PyTorch
needs a build with MPI for ``backend="mpi"``; under ``torchrun`` use ``"gloo"``.)
"""

import os

from sklearn.datasets import load_digits

import ember as torch
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel
from ember.utils.data import DataLoader, TensorDataset
from ember.utils.data.distributed import DistributedSampler

# The launcher tells each process its rank and how many there are.
dist.init_process_group(backend="mpi")
rank, world_size = dist.get_rank(), dist.get_world_size()
epochs = 2 if os.environ.get("EMBER_EXAMPLE_QUICK") else 20
batch_size = 32  # the global batch: each rank takes batch_size / world_size of it

torch.manual_seed(0)  # the same split on every rank
digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=torch.float32)
labels = torch.tensor(digits.target)
order = torch.randperm(len(labels))
split = int(0.8 * len(labels))
train_set = TensorDataset(images[order[:split]], labels[order[:split]])
test_images, test_labels = images[order[split:]], labels[order[split:]]

# Different seeds on purpose: DDP broadcasts rank 0's parameters when it wraps the model.
torch.manual_seed(rank)
model = DistributedDataParallel(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()

sampler = DistributedSampler(train_set, shuffle=True, seed=0)
loader = DataLoader(train_set, batch_size=batch_size // world_size, sampler=sampler)
print(f"rank {rank} of {world_size}: {len(sampler)} of {len(train_set)} training images")

for epoch in range(epochs):
    sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
    total, count = torch.zeros(()), torch.zeros(())
    for x, y in loader:
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()  # the gradients are averaged across ranks in here
        optimizer.step()
        total += loss.detach() * len(y)
        count += len(y)
    # Sum the per-rank totals so every rank knows the mean loss over all the data.
    statistics = torch.stack([total, count])
    dist.all_reduce(statistics, op=dist.ReduceOp.SUM)
    if rank == 0:
        print(f"epoch {epoch + 1:2d}: loss {(statistics[0] / statistics[1]).item():.4f}")

# The copies never diverged: the largest parameter minus the smallest, across ranks, is zero.
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
highest, lowest = flat.clone(), flat.clone()
dist.all_reduce(highest, op=dist.ReduceOp.MAX)
dist.all_reduce(lowest, op=dist.ReduceOp.MIN)
assert torch.equal(highest, lowest), "the ranks' models differ"

model.eval()
with torch.no_grad():
    accuracy = (model(test_images).argmax(dim=1) == test_labels).float().mean().item()
if rank == 0:
    print(f"distributed-digits test accuracy {accuracy:.4f} on {world_size} ranks, "
          "models identical on every rank")
dist.destroy_process_group()
