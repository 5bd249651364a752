"""The iterators behind ``DataLoader``: one loads in the main process, one in workers.

They follow PyTorch's ``_SingleProcessDataLoaderIter`` and ``_MultiProcessingDataLoaderIter``:
the same random draws in the same order, a persistent iterator that is reset (not rebuilt)
for each epoch, and an error in the main process when a worker dies.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time

from ember._backend import cuda_library
from ember.utils.data._utils import worker as _worker
from ember.utils.data._utils.pin_memory import pin_memory
from ember.utils.data._utils.worker import ExceptionWrapper

# While waiting for a batch the main process checks this often that its workers are alive
# (PyTorch checks every 5 s, and relies on a SIGCHLD handler to hear sooner).
STATUS_CHECK_INTERVAL = 0.1
# How long shutdown lets a worker finish the sample in hand before terminating it.
SHUTDOWN_JOIN_TIMEOUT = 5.0


class _BaseLoaderIter:
    """What both iterators share: the loader's settings, the index order and the base seed."""

    def __init__(self, loader):
        from ember.ops.random import randint

        self._dataset = loader.dataset
        self._kind = "iterable" if loader._is_iterable else "map"
        self._auto_collation = loader._auto_collation
        self._collate_fn = loader.collate_fn
        self._drop_last = loader.drop_last
        self._batch_size = loader.batch_size
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        self._pin_memory = loader.pin_memory and cuda_library() is not None
        self._sampler_iter = self._new_sampler_iter()
        # Drawn for every new iterator, with workers or without, as PyTorch does: the data
        # order that follows a manual_seed must not depend on num_workers.
        self._base_seed = int(randint(0, 2**62, (), generator=loader.generator,
                                      device="cpu").item())

    def _new_sampler_iter(self):
        if self._kind == "iterable":
            return itertools.repeat(None)  # each task is "the next batch"
        return iter(self._index_sampler)

    def _reset(self, loader) -> None:
        self._sampler_iter = self._new_sampler_iter()

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)


class _SingleProcessLoaderIter(_BaseLoaderIter):
    """Loads each batch in the main process when it is asked for."""

    def __init__(self, loader):
        super().__init__(loader)
        self._fetch = _worker.make_fetcher(self._dataset, self._kind, self._auto_collation,
                                           self._collate_fn, self._drop_last, self._batch_size)

    def __next__(self):
        batch = self._fetch(next(self._sampler_iter))
        return pin_memory(batch) if self._pin_memory else batch


class _MultiProcessLoaderIter(_BaseLoaderIter):
    """Hands batches of indices to worker processes and yields their answers in order.

    Task ids grow across epochs, so an answer to a task of an earlier epoch (one that was
    broken off, or that ended in an error) is recognised and dropped.
    """

    def __init__(self, loader):
        super().__init__(loader)
        self._owner_pid, self._owner_thread = os.getpid(), threading.get_ident()
        self._shutdown = False
        self._workers, self._index_queues = [], []
        self._prefetch_factor = loader.prefetch_factor
        self._persistent = loader.persistent_workers
        self._in_order = loader.in_order
        context = _context(loader.multiprocessing_context)
        self._result_queue = context.Queue()
        # A lock-free flag: a worker killed while holding a lock would hang the shutdown.
        self._done_flag = context.RawValue("b", 0)
        try:
            for worker_id in range(self._num_workers):
                self._start_worker(context, worker_id, loader.worker_init_fn)
        except BaseException:
            self._shutdown_workers()
            raise
        self._send_index = 0
        self._first_epoch = True
        self._reset(loader)

    def _start_worker(self, context, worker_id: int, init_fn) -> None:
        index_queue = context.Queue()
        # Tasks left unread by a dead worker must not hold up this process's exit.
        index_queue.cancel_join_thread()
        process = context.Process(
            target=_worker.worker_loop,
            args=(self._dataset, self._kind, index_queue, self._result_queue, self._done_flag,
                  self._collate_fn, self._auto_collation, self._drop_last, self._batch_size,
                  self._base_seed + worker_id, init_fn, worker_id, self._num_workers),
            daemon=True,
        )
        process.start()
        self._index_queues.append(index_queue)
        self._workers.append(process)

    def _reset(self, loader) -> None:
        """Start an epoch: a new index order, all workers active, the prefetch queue filled."""
        super()._reset(loader)
        self._epoch_start = self._receive_index = self._send_index
        self._task_info = {}  # task id -> (worker,) while pending, (worker, data) once here
        self._active = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        self._worker_tasks = [0] * self._num_workers  # sent and not yet yielded
        if not self._first_epoch:
            for index_queue in self._index_queues:
                index_queue.put(_worker._ResumeIteration())
        self._first_epoch = False
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        # Out of order, a busy worker is passed over, as PyTorch does. The worker is chosen
        # before the indices are drawn, so that none are drawn and then dropped.
        capacity = self._prefetch_factor * self._num_workers // max(1, sum(self._active))
        for _ in range(self._num_workers):
            worker = next(self._worker_cycle)
            if self._active[worker] and (self._in_order or self._worker_tasks[worker] < capacity):
                break
        else:
            return
        try:
            indices = next(self._sampler_iter)
        except StopIteration:
            return
        self._index_queues[worker].put((self._send_index, indices))
        self._task_info[self._send_index] = (worker,)
        self._worker_tasks[worker] += 1
        self._send_index += 1

    def __next__(self):
        if self._shutdown:
            raise StopIteration
        while True:
            if not self._advance_to_pending_task():
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._receive_index]
            if len(info) == 2:
                del self._task_info[self._receive_index]
                self._receive_index += 1
                return self._process(*info)
            task_id, data = self._get_data()
            if task_id < self._epoch_start:
                continue  # the answer to a task of an epoch that was broken off
            if isinstance(data, _worker._IterableDatasetStopIteration):
                self._deactivate(data.worker_id)
                self._try_put_index()
                continue
            if task_id == self._receive_index:
                self._receive_index += 1
            elif self._in_order:
                self._task_info[task_id] += (data,)  # kept until its turn comes
                continue
            return self._process(self._task_info.pop(task_id)[0], data)

    def _advance_to_pending_task(self) -> bool:
        """Skip the tasks that an exhausted worker will never answer; False at epoch end."""
        while self._receive_index < self._send_index:
            info = self._task_info.get(self._receive_index)
            if info is not None:
                if len(info) == 2 or self._active[info[0]]:
                    return True
                del self._task_info[self._receive_index]
            self._receive_index += 1
        return False

    def _deactivate(self, worker_id: int) -> None:
        self._active[worker_id] = False
        if not self._persistent:
            self._index_queues[worker_id].put(None)  # its part of the dataset is done

    def _process(self, worker: int, data):
        self._worker_tasks[worker] -= 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        # Pinned here, in the main process: page-locked memory does not cross processes.
        return pin_memory(data) if self._pin_memory else data

    def _get_data(self):
        """The next answer from any worker, checking on the workers while waiting."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            try:
                return self._result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            self._raise_if_a_worker_died()
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _raise_if_a_worker_died(self) -> None:
        failed = [
            process for process, active in zip(self._workers, self._active)
            if active and not process.is_alive()
        ]
        if not failed:
            return
        self._shutdown_workers()
        pids = ", ".join(str(process.pid) for process in failed)
        raise RuntimeError(
            f"DataLoader worker (pid(s) {pids}) exited unexpectedly"
        ) from _exit_error(failed[0])

    def _shutdown_workers(self) -> None:
        """Stop and join every worker; a worker that does not stop is terminated."""
        if self._shutdown or os.getpid() != self._owner_pid:
            return  # done already, or a copy of this iterator inherited by a forked child
        self._shutdown = True
        self._done_flag.value = 1
        try:
            for index_queue in self._index_queues:
                _put_quietly(index_queue, None)
            for process in self._workers:
                process.join(timeout=SHUTDOWN_JOIN_TIMEOUT)
        finally:
            for process in self._workers:
                _stop(process)
            for index_queue in self._index_queues:
                index_queue.close()
            self._result_queue.cancel_join_thread()
            self._result_queue.close()

    def __del__(self):
        if sys.is_finalizing() or not hasattr(self, "_done_flag"):
            return
        if threading.get_ident() == self._owner_thread:
            self._shutdown_workers()
        else:
            # The garbage collector may run this on one of this iterator's own queue feeder
            # threads, inside a lock that shutting down needs: finish on a thread of its own.
            threading.Thread(target=self._shutdown_workers, daemon=True).start()


def _context(multiprocessing_context):
    if multiprocessing_context is None:
        return multiprocessing.get_context()
    if isinstance(multiprocessing_context, str):
        return multiprocessing.get_context(multiprocessing_context)
    return multiprocessing_context


def _put_quietly(index_queue, item) -> None:
    try:
        index_queue.put(item)
    except (OSError, ValueError):
        pass  # the queue is closed already


def _stop(process) -> None:
    """Terminate a worker still running after the join, then kill it if it ignored that."""
    for end in (process.terminate, process.kill):
        if not process.is_alive():
            return
        end()
        process.join(timeout=SHUTDOWN_JOIN_TIMEOUT)


def _exit_error(process) -> RuntimeError | None:
    """PyTorch's account of how a worker ended: a signal or an exit code."""
    code = process.exitcode
    if not code:
        return None
    if code < 0:
        try:
            name = signal.strsignal(-code) or f"signal {-code}"
        except ValueError:
            name = f"signal {-code}"
        return RuntimeError(f"DataLoader worker (pid {process.pid}) is killed by signal: {name}. ")
    return RuntimeError(
        f"DataLoader worker (pid {process.pid}) exited unexpectedly with exit code {code}. "
        "Details are lost due to multiprocessing. Rerunning with num_workers=0 may give better "
        "error trace."
    )
