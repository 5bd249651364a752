"""utils.data against PyTorch's semantics: datasets, samplers, collation, the loader, workers."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata


def _array(value):
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def _same(a, b):
    """Structures equal leaf by leaf, with tensors compared by value and dtype name."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, ember.Tensor), type(a)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(_array(a), _array(b))
    elif isinstance(b, dict):
        assert type(a) is type(b) and a.keys() == b.keys()
        for key in b:
            _same(a[key], b[key])
    elif isinstance(b, (list, tuple)):
        assert type(a).__name__ == type(b).__name__ and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize(
    "batch",
    [
        [1.5, 2.5],
        [1, 2, 3],
        [True, False],
        ["a", "b"],
        [np.float32(1.0), np.float32(2.0)],
        [np.ones((2, 3)), np.zeros((2, 3))],
        [{"x": 1.0, "y": [1, 2]}, {"x": 2.0, "y": [3, 4]}],
        [(1, 2.0), (3, 4.0)],
        [[1, 2], [3, 4]],
        [Point(1, 2.0), Point(3, 4.0)],
    ],
)
def test_default_collate_matches_torch(batch):
    _same(edata.default_collate(batch), tdata.default_collate(batch))


def test_default_collate_stacks_tensors_and_rejects_ragged_lists():
    batch = edata.default_collate([ember.ones(2), ember.zeros(2)])
    assert batch.shape == (2, 2)
    with pytest.raises(RuntimeError, match="equal size"):
        edata.default_collate([[1, 2], [3]])


def test_tensor_dataset_subset_concat():
    x, y = ember.arange(10).float(), ember.arange(10) * 2
    dataset = edata.TensorDataset(x, y)
    assert len(dataset) == 10 and dataset[3][1].item() == 6
    subset = edata.Subset(dataset, [7, 1])
    assert subset[0][0].item() == 7.0 and len(subset) == 2
    both = dataset + subset
    assert len(both) == 12 and both[11][0].item() == 1.0 and both[-1][0].item() == 1.0
    with pytest.raises(AssertionError):
        edata.TensorDataset(ember.ones(3), ember.ones(4))


def test_random_split_counts_and_fractions():
    dataset = edata.TensorDataset(ember.arange(10))
    generator = ember.Generator().manual_seed(0)
    parts = edata.random_split(dataset, [0.5, 0.3, 0.2], generator=generator)
    assert [len(p) for p in parts] == [5, 3, 2]
    indices = sorted(i for p in parts for i in p.indices)
    assert indices == list(range(10))
    assert [len(p) for p in edata.random_split(range(10), [0.34, 0.33, 0.33])] == [
        len(p) for p in tdata.random_split(range(10), [0.34, 0.33, 0.33])
    ]
    with pytest.raises(ValueError):
        edata.random_split(dataset, [3, 3])


def test_samplers():
    data = range(7)
    assert list(edata.SequentialSampler(data)) == list(range(7))
    order = list(edata.RandomSampler(data, generator=ember.Generator().manual_seed(3)))
    assert sorted(order) == list(range(7))
    again = list(edata.RandomSampler(data, generator=ember.Generator().manual_seed(3)))
    assert order == again
    drawn = list(edata.RandomSampler(data, replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) <= set(range(7))
    assert len(list(edata.RandomSampler(data, num_samples=10))) == 10
    assert sorted(edata.SubsetRandomSampler([4, 5, 6])) == [4, 5, 6]
    weighted = list(edata.WeightedRandomSampler([0.0, 0.0, 1.0], 20))
    assert weighted == [2] * 20
    batches = list(edata.BatchSampler(edata.SequentialSampler(data), 3, drop_last=False))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(edata.BatchSampler(edata.SequentialSampler(data), 3, drop_last=True)) == 2
    with pytest.raises(ValueError):
        edata.BatchSampler(data, 0, False)
    with pytest.raises(ValueError):
        edata.RandomSampler(data, num_samples=0)


def test_loader_batches_like_torch():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    ember_loader = edata.DataLoader(edata.TensorDataset(ember.tensor(x), ember.tensor(y)),
                                    batch_size=4)
    torch_loader = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                    batch_size=4)
    assert len(ember_loader) == len(torch_loader) == 3
    for a, b in zip(ember_loader, torch_loader):
        _same(a, b)
    dropping = edata.DataLoader(range(10), batch_size=4, drop_last=True)
    assert len(dropping) == 2 and [b.tolist() for b in dropping] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    unbatched = list(edata.DataLoader(range(3), batch_size=None))
    assert [int(v) for v in unbatched] == [0, 1, 2]


def test_shuffle_with_seeded_generator_is_reproducible_and_complete():
    def epoch(seed):
        loader = edata.DataLoader(range(12), batch_size=5, shuffle=True,
                                  generator=ember.Generator().manual_seed(seed))
        return [b.tolist() for b in loader]

    first, again, other = epoch(1), epoch(1), epoch(2)
    assert first == again and first != other
    assert sorted(v for b in first for v in b) == list(range(12))


def test_loader_argument_errors_match_torch():
    for lib in (tdata, edata):
        with pytest.raises(ValueError):
            lib.DataLoader(range(4), sampler=lib.SequentialSampler(range(4)), shuffle=True)
        with pytest.raises(ValueError):
            lib.DataLoader(range(4), batch_sampler=[[0]], batch_size=2)
        with pytest.raises(ValueError):
            lib.DataLoader(range(4), num_workers=-1)
        with pytest.raises(ValueError):
            lib.DataLoader(range(4), prefetch_factor=2)


class _SeedReport(edata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        info = edata.get_worker_info()
        return np.array([info.id, np.random.randint(0, 2**30),
                         int(ember.randint(0, 2**30, ()).item()), os.getpid()])


def test_workers_get_distinct_seeds_and_info():
    assert edata.get_worker_info() is None
    loader = edata.DataLoader(_SeedReport(), batch_size=1, num_workers=2,
                              generator=ember.Generator().manual_seed(0))
    rows = [b[0].tolist() for b in loader]
    by_worker = {row[0]: row for row in rows}
    assert set(by_worker) == {0, 1}
    first, second = by_worker[0], by_worker[1]
    assert first[1] != second[1] and first[2] != second[2] and first[3] != second[3]
    assert first[3] != os.getpid()


def _init(worker_id):
    os.environ["EMBER_TEST_WORKER"] = str(worker_id)


class _EnvReport(edata.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        return index * 10 + int(os.environ.get("EMBER_TEST_WORKER", "-1"))


def test_workers_keep_order_and_run_init_fn():
    loader = edata.DataLoader(_EnvReport(), batch_size=2, num_workers=2, worker_init_fn=_init,
                              persistent_workers=True)
    for _ in range(2):
        batches = [b.tolist() for b in loader]
        assert [[v // 10 for v in b] for b in batches] == [[0, 1], [2, 3], [4, 5]]
        assert all(v % 10 in (0, 1) for b in batches for v in b)


class _Broken(edata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index == 2:
            raise KeyError("sample 2 is missing")
        return index


def test_worker_exception_is_reraised_in_main_process():
    with pytest.raises(KeyError, match="sample 2 is missing"):
        list(edata.DataLoader(_Broken(), batch_size=1, num_workers=2))


class _Stream(edata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = edata.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def test_iterable_dataset_single_and_multi_process():
    assert [b.tolist() for b in edata.DataLoader(_Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    loader = edata.DataLoader(_Stream(9), batch_size=2, num_workers=2)
    values = sorted(v for b in loader for v in b.tolist())
    assert values == list(range(9))
    with pytest.raises(ValueError):
        edata.DataLoader(_Stream(3), shuffle=True)


def test_timeout_and_pin_memory_are_accepted():
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA")
    with pytest.warns(UserWarning, match="pin_memory"):
        loader = edata.DataLoader(range(4), batch_size=2, num_workers=1, timeout=30,
                                  pin_memory=True, prefetch_factor=3)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3]]
