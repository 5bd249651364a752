"""``DataLoader``: batches from a dataset, in the main process or in worker processes."""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import time
import warnings

from ember.utils.data._utils import worker as _worker
from ember.utils.data._utils.collate import default_collate, default_convert
from ember.utils.data._utils.worker import get_worker_info
from ember.utils.data.dataset import IterableDataset
from ember.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style ``Dataset`` or an ``IterableDataset``.
        batch_size: samples per batch (``None`` turns batching off).
        shuffle: visit the samples in a new random order each epoch (use ``generator``
            for a reproducible order).
        sampler, batch_sampler: custom index orders (exclusive with shuffle/batch_size).
        num_workers: worker processes (0 loads in the main process). Each worker seeds
            Python's, NumPy's and ember's random state with ``base_seed + worker_id``.
        collate_fn: merges a list of samples into a batch (``default_collate``).
        drop_last: drop a last, incomplete batch.
        timeout: seconds to wait for a worker's batch before raising (0: wait forever,
            though a worker that dies is always reported).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker.
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the workers between epochs.
        pin_memory: accepted; on the CPU there is nothing to pin (PyTorch warns the same).
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                "to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if pin_memory:
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                stacklevel=2,
            )
        self.dataset = dataset
        self.num_workers, self.timeout, self.pin_memory = num_workers, timeout, pin_memory
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.prefetch_factor = 2 if num_workers and prefetch_factor is None else prefetch_factor
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but got batch_sampler={batch_sampler}")
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None and not self._is_iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._is_iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._pool = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._is_iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self) -> int:
        if self._is_iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                return length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return self._single_process()
        if self.persistent_workers:
            if self._pool is None:
                self._pool = _WorkerPool(self)
            return self._pool.epoch()
        return _WorkerPool(self).epoch(close_after=True)

    def _single_process(self):
        if self._is_iterable:
            iterator = iter(self.dataset)
            if not self._auto_collation:
                for sample in iterator:
                    yield self.collate_fn(sample)
                return
            while True:
                samples = list(itertools.islice(iterator, self.batch_size))
                if not samples or (self.drop_last and len(samples) < self.batch_size):
                    return
                yield self.collate_fn(samples)
        for indices in self._index_sampler:
            if self._auto_collation:
                getitems = getattr(self.dataset, "__getitems__", None)
                samples = getitems(indices) if getitems else [self.dataset[i] for i in indices]
                yield self.collate_fn(samples)
            else:
                yield self.collate_fn(self.dataset[indices])

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._pool.close()


class _WorkerPool:
    """Worker processes, each with its own index queue, sharing one result queue."""

    def __init__(self, loader: DataLoader):
        from ember.ops.random import randint

        self.loader = loader
        context = loader.multiprocessing_context or multiprocessing.get_context()
        if isinstance(context, str):
            context = multiprocessing.get_context(context)
        generator = loader.generator
        self.base_seed = int(randint(0, 2**62, (), generator=generator).item())
        self.result_queue = context.Queue()
        self.index_queues, self.processes = [], []
        kind = "iterable" if loader._is_iterable else "map"
        for worker_id in range(loader.num_workers):
            index_queue = context.Queue()
            process = context.Process(
                target=_worker.worker_loop,
                args=(loader.dataset, kind, index_queue, self.result_queue, loader.collate_fn,
                      loader._auto_collation, loader.drop_last, loader.batch_size,
                      self.base_seed + worker_id, loader.worker_init_fn, worker_id,
                      loader.num_workers),
                daemon=True,
            )
            process.start()
            self.index_queues.append(index_queue)
            self.processes.append(process)
        self.task_ids = itertools.count()

    def epoch(self, close_after: bool = False):
        try:
            yield from self._epoch()
        finally:
            if close_after:
                self.close()

    def _epoch(self):
        loader = self.loader
        workers = len(self.processes)
        if loader._is_iterable:
            tasks = (None for _ in itertools.count())
        else:
            tasks = iter(loader._index_sampler)
        pending, results = {}, {}
        active = list(range(workers))
        next_worker = itertools.cycle(range(workers))
        order = []

        def send() -> bool:
            if not active:
                return False
            try:
                indices = next(tasks)
            except StopIteration:
                return False
            worker = next(next_worker)
            while worker not in active:
                worker = next(next_worker)
            task_id = next(self.task_ids)
            pending[task_id] = worker
            order.append(task_id)
            self.index_queues[worker].put((task_id, indices))
            return True

        for _ in range(workers * loader.prefetch_factor):
            if not send():
                break
        while order:
            task_id = order.pop(0)
            while task_id not in results:
                got_id, data = self._get()
                results[got_id] = data
            data = results.pop(task_id)
            worker = pending.pop(task_id)
            if isinstance(data, _worker._IterableExhausted):
                if worker in active:
                    active.remove(worker)
                continue
            if isinstance(data, _worker.ExceptionWrapper):
                self.close()
                data.reraise()
            send()
            yield data

    def _get(self):
        deadline = None if not self.loader.timeout else time.monotonic() + self.loader.timeout
        while True:
            try:
                task_id, data = self.result_queue.get(timeout=1.0)
            except queue.Empty:
                for process in self.processes:
                    if not process.is_alive():
                        self.close()
                        raise RuntimeError(
                            f"DataLoader worker (pid {process.pid}) exited unexpectedly with exit "
                            f"code {process.exitcode}."
                        ) from None
                if deadline is not None and time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"DataLoader timed out after {self.loader.timeout} seconds") from None
                continue
            if task_id == -1:
                self.close()
                data.reraise()
            return task_id, data

    def close(self) -> None:
        for index_queue, process in zip(self.index_queues, self.processes):
            if process.is_alive():
                try:
                    index_queue.put(None)
                except (OSError, ValueError):
                    pass
        for process in self.processes:
            process.join(timeout=2.0)
            if process.is_alive():
                process.terminate()
        self.processes = []
        self.index_queues = []
