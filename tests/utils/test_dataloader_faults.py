"""The DataLoader under faults: epochs that lose nothing, dead workers, dead parents, timeouts.

Workers are processes, so these tests use tiny datasets and short sleeps, and every worker
they start is joined (or, if a test fails, killed) before the test ends.
"""

from __future__ import annotations

import faulthandler
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata

torch.set_num_threads(1)

# A worker's message, as PyTorch 2.13 words it (checked by running it).
DIED = r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"


class _Stream(edata.IterableDataset):
    """0 .. n-1, split between the workers."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = edata.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


class _FailsOnce(edata.Dataset):
    """Sample 3 raises the first time any process asks for it (a marker file remembers)."""

    def __init__(self, marker):
        self.marker = marker

    def __len__(self):
        return 8

    def __getitem__(self, index):
        if index == 3 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise ValueError("transient failure reading sample 3")
        return index


class _DiesOnce(edata.Dataset):
    """The worker that first asks for sample 1 kills itself with ``signal_number``."""

    def __init__(self, marker, signal_number):
        self.marker, self.signal_number = marker, signal_number

    def __len__(self):
        return 6

    def __getitem__(self, index):
        if index == 1 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            faulthandler.disable()  # pytest's crash report would only add noise here
            os.kill(os.getpid(), self.signal_number)
        return index


class _Sleepy(edata.Dataset):
    def __init__(self, seconds):
        self.seconds = seconds

    def __len__(self):
        return 4

    def __getitem__(self, index):
        time.sleep(self.seconds)
        return index


class _Pids(edata.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, index):
        return os.getpid()


def _batches(loader):
    return [batch.tolist() for batch in loader]


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for a foreign parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _kill_leftovers(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_persistent_workers_yield_every_sample_every_epoch():
    loader = edata.DataLoader(_Stream(10), batch_size=3, num_workers=2, persistent_workers=True)
    for _ in range(3):
        assert sorted(v for batch in _batches(loader) for v in batch) == list(range(10))
    unbatched = edata.DataLoader(_Stream(5), batch_size=None, num_workers=2,
                                 persistent_workers=True)
    for _ in range(2):
        assert sorted(int(v) for v in unbatched) == list(range(5))


def test_epochs_after_a_worker_error_yield_every_batch(tmp_path):
    loader = edata.DataLoader(_FailsOnce(str(tmp_path / "failed")), batch_size=2, num_workers=2,
                              persistent_workers=True)
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process 1"):
        _batches(loader)
    for _ in range(2):
        assert _batches(loader) == [[0, 1], [2, 3], [4, 5], [6, 7]]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_the_iterator_goes_on_after_an_error_as_torch_does(tmp_path, num_workers):
    def remaining(library, dataset, **options):
        iterator = iter(library.DataLoader(dataset, batch_size=2, **options))
        out = [next(iterator).tolist()]
        with pytest.raises(ValueError, match="transient failure"):
            next(iterator)
        return out + [batch.tolist() for batch in iterator]

    expected = remaining(tdata, _FailsOnce(str(tmp_path / "torch")))
    got = remaining(edata, _FailsOnce(str(tmp_path / "ember")), num_workers=num_workers)
    assert got == expected == [[0, 1], [4, 5], [6, 7]]


def test_persistent_iterator_is_reset_by_iter_as_in_torch():
    loader = edata.DataLoader(range(10), batch_size=2, num_workers=2, persistent_workers=True)
    first = iter(loader)
    assert next(first).tolist() == [0, 1]
    second = iter(loader)
    assert second is first  # one iterator, reset: its workers live on
    assert _batches(second) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    with pytest.raises(StopIteration):
        next(first)
    for batch in loader:  # broken off after one batch
        break
    assert _batches(loader) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]


def test_deleting_an_iterator_joins_its_workers():
    loader = edata.DataLoader(_Pids(), batch_size=1, num_workers=2)
    iterator = iter(loader)
    workers = list(iterator._workers)
    del iterator  # never advanced
    assert all(process.exitcode is not None for process in workers)
    iterator = iter(loader)
    next(iterator)
    workers = list(iterator._workers)
    del iterator
    assert all(process.exitcode is not None for process in workers)
    persistent = edata.DataLoader(_Pids(), batch_size=1, num_workers=2, persistent_workers=True)
    _batches(persistent)
    workers = list(persistent._iterator._workers)
    del persistent
    assert all(process.exitcode is not None for process in workers)


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGSEGV])
@pytest.mark.parametrize("timeout", [0, 30])
def test_a_dead_worker_is_reported_with_its_signal(tmp_path, signal_number, timeout):
    marker = str(tmp_path / "died")
    loader = edata.DataLoader(_DiesOnce(marker, signal_number), batch_size=1, num_workers=2,
                              timeout=timeout, persistent_workers=True)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=DIED) as caught:
        _batches(loader)
    assert time.monotonic() - start < 10, "a dead worker must be noticed, not waited for"
    name = signal.strsignal(signal_number)
    assert str(caught.value.__cause__).startswith("DataLoader worker (pid ")
    assert str(caught.value.__cause__).endswith(f"is killed by signal: {name}. ")
    # The other worker was stopped, and the next epoch starts fresh workers.
    assert _batches(loader) == [[0], [1], [2], [3], [4], [5]]


class _SlowFirst(edata.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        time.sleep(1.0 if index == 0 else 0.0)
        return index


def test_out_of_order_yields_what_is_ready_first():
    loader = edata.DataLoader(_SlowFirst(), batch_size=1, num_workers=2, in_order=False)
    got = [batch.item() for batch in loader]
    assert sorted(got) == list(range(6))
    assert got[0] != 0, "the slow sample held back the others"


def test_timeout_is_honoured():
    iterator = iter(edata.DataLoader(_Sleepy(3.0), batch_size=1, num_workers=2, timeout=1))
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 1 seconds$"):
        next(iterator)
    assert 0.9 <= time.monotonic() - start < 2.5


def test_data_order_after_a_seed_does_not_depend_on_num_workers():
    def epochs(num_workers):
        ember.manual_seed(0)
        loader = edata.DataLoader(range(9), batch_size=2, shuffle=True, num_workers=num_workers)
        return [_batches(loader) for _ in range(2)]

    assert epochs(0) == epochs(2)


def test_iterators_draw_from_the_global_generator_as_torch_does():
    def state_after(library, data, num_workers, batches):
        library.manual_seed(0)
        loader = data.DataLoader(range(8), batch_size=2, shuffle=True, num_workers=num_workers)
        iterator = iter(loader)
        for _ in range(batches):
            next(iterator)
        return library.rand(1).item()

    for library, data in ((torch, tdata), (ember, edata)):
        # A new iterator draws the workers' base seed; the sampler draws its own seed at the
        # first batch, which workers prefetch at once.
        assert state_after(library, data, 0, 0) != state_after(library, data, 2, 0)
        assert state_after(library, data, 0, 1) == state_after(library, data, 2, 1)
        assert state_after(library, data, 0, 0) == state_after(library, data, 0, 0)


_ORPHAN_SCRIPT = textwrap.dedent(
    """
    import os, time
    import ember.utils.data as data

    class Slow(data.Dataset):
        def __len__(self):
            return 1000

        def __getitem__(self, index):
            time.sleep(0.05)
            return os.getpid()

    iterator = iter(data.DataLoader(Slow(), batch_size=1, num_workers=2))
    pids = set()
    while len(pids) < 2:
        pids.add(int(next(iterator)))
    print(*sorted(pids), flush=True)
    time.sleep(120)
    """
)


def test_workers_exit_when_the_main_process_is_killed():
    main = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE,
                            text=True)
    pids = []
    try:
        ready, _, _ = select.select([main.stdout], [], [], 60)
        assert ready, "the script did not start its workers within 60 s"
        pids = [int(pid) for pid in main.stdout.readline().split()]
        assert len(pids) == 2, "the script did not report its workers"
        main.kill()
        main.wait(timeout=30)
        deadline = time.monotonic() + 20
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in pids), "workers outlived their main process"
    finally:
        main.kill()
        main.wait(timeout=30)
        main.stdout.close()
        _kill_leftovers(pids)
