"""What runs inside a data-loader worker process, and ``get_worker_info``."""

from __future__ import annotations

import queue
import random
import traceback
from dataclasses import dataclass

_worker_info = None


@dataclass(frozen=True)
class WorkerInfo:
    """Inside a worker: its ``id``, ``num_workers``, ``seed`` and its copy of ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a data-loader worker process; ``None`` elsewhere."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, error: BaseException, where: str):
        self.type_name = type(error).__name__
        self.error_type = type(error)
        self.message = f"Caught {self.type_name} in {where}.\nOriginal {traceback.format_exc()}"

    def reraise(self):
        try:
            error = self.error_type(self.message)
        except Exception:
            error = RuntimeError(self.message)
        raise error


class _IterableExhausted:
    """Sent by a worker whose iterable dataset has no more samples."""


def seed_worker(seed: int) -> None:
    import ember
    from ember._backend import seed_numpy_global

    random.seed(seed)
    ember.manual_seed(seed)
    seed_numpy_global(seed)


def worker_loop(dataset, kind: str, index_queue, result_queue, collate_fn, auto_collation,
                drop_last, batch_size, seed, init_fn, worker_id, num_workers) -> None:
    """Fetch what the main process asks for until it sends ``None``."""
    global _worker_info
    seed_worker(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as error:  # reported with the first request
        result_queue.put((-1, ExceptionWrapper(error, f"DataLoader worker process {worker_id}")))
        return
    iterator = iter(dataset) if kind == "iterable" else None
    while True:
        try:
            task = index_queue.get(timeout=5.0)
        except queue.Empty:
            continue
        if task is None:
            break
        task_id, indices = task
        try:
            if kind == "iterable":
                samples = []
                for _ in range(batch_size if auto_collation else 1):
                    try:
                        samples.append(next(iterator))
                    except StopIteration:
                        break
                if not samples or (auto_collation and drop_last and len(samples) < batch_size):
                    result_queue.put((task_id, _IterableExhausted()))
                    continue
                data = collate_fn(samples) if auto_collation else collate_fn(samples[0])
            elif auto_collation:
                getitems = getattr(dataset, "__getitems__", None)
                samples = getitems(indices) if getitems else [dataset[i] for i in indices]
                data = collate_fn(samples)
            else:
                data = collate_fn(dataset[indices])
        except Exception as error:
            data = ExceptionWrapper(error, f"DataLoader worker process {worker_id}")
        result_queue.put((task_id, data))
