"""What runs inside a data-loader worker process, and ``get_worker_info``."""

from __future__ import annotations

import itertools
import os
import queue
import random
import traceback
from dataclasses import dataclass

from ember._backend import seed_numpy_global
from ember.random import manual_seed

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


# How often an idle worker looks at its parent and at the shutdown flag: a worker whose
# parent was killed (SIGKILL runs no cleanup) must notice on its own, as PyTorch's
# ``ManagerWatchdog`` does, and the final ``None`` may never be sent (see worker_loop).
WATCHDOG_INTERVAL = 0.2


class _ResumeIteration:
    """Sent to a persistent worker at a new epoch: an iterable dataset starts over."""


class _IterableDatasetStopIteration:
    """Sent by a worker whose iterable dataset has no more samples this epoch."""

    def __init__(self, worker_id: int):
        self.worker_id = worker_id


class ManagerWatchdog:
    """Tells a worker whether the process that started it is still there."""

    def __init__(self):
        self.manager_pid = os.getppid()
        self.manager_dead = False

    def is_alive(self) -> bool:
        # A child whose parent dies is adopted by another process, so its parent id changes.
        if not self.manager_dead:
            self.manager_dead = os.getppid() != self.manager_pid
        return not self.manager_dead


def seed_worker(seed: int) -> None:
    random.seed(seed)
    manual_seed(seed)
    seed_numpy_global(seed)


def make_fetcher(dataset, kind: str, auto_collation: bool, collate_fn, drop_last: bool,
                  batch_size):
    """A function from a task's indices to its batch; raises StopIteration at the end of an
    iterable dataset."""
    if kind == "iterable":
        iterator = iter(dataset)

        def fetch_iterable(indices):
            if not auto_collation:
                return collate_fn(next(iterator))
            samples = list(itertools.islice(iterator, batch_size))
            if not samples or (drop_last and len(samples) < batch_size):
                raise StopIteration
            return collate_fn(samples)

        return fetch_iterable

    def fetch_map(indices):
        if not auto_collation:
            return collate_fn(dataset[indices])
        getitems = getattr(dataset, "__getitems__", None)
        return collate_fn(getitems(indices) if getitems else [dataset[i] for i in indices])

    return fetch_map


def worker_loop(dataset, kind: str, index_queue, result_queue, done_flag, collate_fn,
                auto_collation, drop_last, batch_size, seed, init_fn, worker_id,
                num_workers) -> None:
    """Answer the main process's tasks until it sends ``None`` or goes away.

    A task is ``(task_id, indices)``; the answer ``(task_id, batch)``, where the batch may
    be an ``ExceptionWrapper`` or, for an exhausted iterable dataset, an
    ``_IterableDatasetStopIteration`` (after which the worker skips tasks until the next
    ``_ResumeIteration``). Once ``done_flag`` is set, tasks still queued are skipped.
    """
    global _worker_info
    watchdog = ManagerWatchdog()
    try:
        seed_worker(seed)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        where = f"DataLoader worker process {worker_id}"
        init_error, fetch = None, None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception as error:  # noqa: BLE001  (the user's code may raise anything)
            # Reported as the answer to every task: this worker cannot be trusted to fetch.
            init_error = ExceptionWrapper(error, where)
        iteration_end = False
        # The flag ends the loop even if the final ``None`` never comes: when the garbage
        # collector breaks a cycle holding the iterator, it closes the queues before
        # the iterator's shutdown can send anything.
        while watchdog.is_alive() and not done_flag.value:
            try:
                task = index_queue.get(timeout=WATCHDOG_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(task, _ResumeIteration):
                iteration_end, fetch = False, None
                continue
            if task is None:
                break
            if done_flag.value or iteration_end:
                continue
            task_id, indices = task
            if init_error is not None:
                data = init_error
            else:
                try:
                    if fetch is None:
                        fetch = make_fetcher(dataset, kind, auto_collation, collate_fn,
                                              drop_last, batch_size)
                    data = fetch(indices)
                except Exception as error:  # noqa: BLE001  (reported to the main process)
                    if isinstance(error, StopIteration) and kind == "iterable":
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(error, where)
            result_queue.put((task_id, data))
            del data, task
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process reports it
    if done_flag.value or not watchdog.is_alive():
        # Nobody will read what is still buffered: exit without waiting to flush it.
        result_queue.cancel_join_thread()
        result_queue.close()
