"""Handwritten digits (scikit-learn's 8×8 set, shipped inside the package): an MLP and a CNN.

The 1,797 images are split 80/20 into train and test with a fixed seed. Each epoch
reports the training loss and the test accuracy; at the end the curves are plotted.
With ``--distributed`` (launched by ``mpirun -np N``), the global batch is split across
the processes, gradients are averaged by ``DistributedDataParallel``, and rank 0 reports.
"""

from __future__ import annotations

import ember
import ember.nn as nn
from ember.demo._common import output_path, progress_bar, say
from ember.utils.data import DataLoader, TensorDataset


def load(seed: int = 0, image: bool = False):
    """``(train_set, test_set)`` as TensorDatasets of float32 images in [0, 1] and int64 labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the digits demos need scikit-learn: pip install 'ember[demo]'") from None
    digits = load_digits()
    x = ember.tensor(digits.data / 16.0, dtype=ember.float32)
    y = ember.tensor(digits.target)
    if image:
        x = x.reshape(-1, 1, 8, 8)
    order = ember.randperm(len(y), generator=ember.Generator().manual_seed(seed), device="cpu")
    split = int(0.8 * len(y))
    train, test = order[:split], order[split:]
    return TensorDataset(x[train], y[train]), TensorDataset(x[test], y[test])


def mlp() -> nn.Module:
    """64 → 128 → 10 with ReLU."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn() -> nn.Module:
    """Two conv-ReLU-maxpool blocks (1→16→32 channels) and a linear head."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )


def accuracy(model, dataset) -> float:
    x, y = dataset.tensors
    model.eval()
    with ember.no_grad():
        predicted = model(x).argmax(dim=1)
    model.train()
    return (predicted == y).float().mean().item()


def train(kind: str = "mlp", epochs: int = 30, lr: float = 1e-3, batch_size: int = 32,
          seed: int = 0, quiet: bool = True, distributed: bool = False):
    """Train; returns ``(model, history)``, history holding per-epoch 'loss', 'train accuracy'
    and 'test accuracy'."""
    ember.manual_seed(seed)
    train_set, test_set = load(seed, image=kind == "cnn")
    model = cnn() if kind == "cnn" else mlp()
    sampler, world = None, 1
    if distributed:
        import ember.distributed as dist
        from ember.nn.parallel import DistributedDataParallel
        from ember.utils.data.distributed import DistributedSampler

        if not dist.is_initialized():
            dist.init_process_group("mpi")
        world = dist.get_world_size()
        if batch_size % world:
            raise ValueError(f"the global batch {batch_size} must divide among {world} processes")
        model = DistributedDataParallel(model)
        sampler = DistributedSampler(train_set, shuffle=True, seed=seed)
    loader = DataLoader(train_set, batch_size=batch_size // world, shuffle=sampler is None,
                        sampler=sampler, generator=ember.Generator().manual_seed(seed))
    optimizer = ember.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    history = {"loss": [], "train accuracy": [], "test accuracy": []}
    with progress_bar(epochs, f"digits-{kind}", quiet) as bar:
        for epoch in range(epochs):
            if sampler is not None:
                sampler.set_epoch(epoch)
            total, count = 0.0, 0
            for x, y in loader:
                loss = criterion(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(y)
                count += len(y)
            history["loss"].append(total / count)
            history["train accuracy"].append(accuracy(model, train_set))
            history["test accuracy"].append(accuracy(model, test_set))
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}",
                            test=f"{history['test accuracy'][-1]:.3f}")
            bar.update(1)
    return model, history


def run(args, kind: str) -> int:
    rank = 0
    if args.distributed:
        import ember.distributed as dist

        dist.init_process_group("mpi")
        rank = dist.get_rank()
    quiet = args.quiet or rank != 0
    model, history = train(kind, args.epochs, args.lr, args.batch_size, args.seed, quiet,
                           args.distributed)
    if rank != 0:
        return 0
    say(f"digits-{kind}: test accuracy {history['test accuracy'][-1]:.4f} "
        f"after {args.epochs} epochs "
        f"(train {history['train accuracy'][-1]:.4f}, final loss {history['loss'][-1]:.4f})")
    path = ember.viz.plot_history(
        {"train accuracy": history["train accuracy"], "test accuracy": history["test accuracy"]},
        output_path(args.out, f"digits-{kind}-accuracy.png"), title=f"digits-{kind}: accuracy")
    loss_path = ember.viz.plot_history({"loss": history["loss"]},
                                       output_path(args.out, f"digits-{kind}-loss.png"),
                                       title=f"digits-{kind}: training loss", log_scale=True)
    say(f"wrote {path}, {loss_path}")
    return 0


def run_mlp(args) -> int:
    return run(args, "mlp")


def run_cnn(args) -> int:
    return run(args, "cnn")
