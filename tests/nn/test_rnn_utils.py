"""``ember.nn.utils.rnn`` (packing and padding) against ``torch.nn.utils.rnn``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as torch_rnn

import ember
from ember.nn.utils import rnn as ember_rnn

LIBRARIES = {torch: torch_rnn, ember: ember_rnn}


def _value(item):
    if item is None:
        return None
    return np.asarray(item.detach().numpy()) if hasattr(item, "detach") else item


def _assert_same(actual, expected):
    """Compare tensors, tuples of tensors, PackedSequences and lists, values and dtypes."""
    if isinstance(expected, (tuple, list)):
        assert type(actual).__name__ == type(expected).__name__ or (
            isinstance(actual, (tuple, list)) and isinstance(expected, (tuple, list)))
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _assert_same(a, e)
        return
    if expected is None:
        assert actual is None
        return
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    assert tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(_value(actual), _value(expected))


def _both(fn, inputs, grad=False):
    """Run ``fn(lib, utils, *tensors)`` on both libraries; returns (ember, torch) results."""
    results = {}
    for lib, utils in LIBRARIES.items():
        tensors = [lib.tensor(np.array(array)) for array in inputs]
        if grad:
            for tensor in tensors:
                tensor.requires_grad_(True)
        results[lib] = (fn(lib, utils, *tensors), tensors)
    return results[ember], results[torch]


def test_public_surface():
    assert ember.nn.utils.rnn.pack_padded_sequence is ember_rnn.pack_padded_sequence
    assert set(ember_rnn.__all__) == set(torch_rnn.__all__)
    packed = ember_rnn.PackedSequence(ember.zeros(2, 1), ember.tensor([1, 1]))
    assert packed._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert sorted_indices is None and unsorted_indices is None
    assert ember_rnn.PackedSequence((data, batch_sizes)).batch_sizes is batch_sizes
    assert packed.double().data.dtype is ember.float64


PACK_CASES = {
    "sorted": ([4, 3, 1], False, True),
    "sorted_batch_first": ([4, 3, 1], True, True),
    "unsorted": ([1, 4, 3], False, False),
    "unsorted_ties": ([2, 3, 2], True, False),
    "shorter_than_padding": ([3, 2, 2], False, True),
    "tensor_lengths": ("tensor", False, False),
}


@pytest.mark.parametrize("case", PACK_CASES)
def test_pack_padded_sequence_matches_torch(case):
    lengths, batch_first, enforce_sorted = PACK_CASES[case]
    rng = np.random.default_rng(0)
    padded = rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2))

    def pack(lib, utils, x):
        chosen = lib.tensor([2, 4, 1]) if lengths == "tensor" else lengths
        return utils.pack_padded_sequence(x, chosen, batch_first=batch_first,
                                          enforce_sorted=enforce_sorted)

    (actual, ember_inputs), (expected, torch_inputs) = _both(pack, [padded], grad=True)
    assert isinstance(actual, ember_rnn.PackedSequence)
    _assert_same(tuple(actual), tuple(expected))
    cotangent = rng.standard_normal(tuple(expected.data.shape))
    (ember_grad,) = ember.autograd.grad(actual.data, ember_inputs, ember.tensor(cotangent))
    (torch_grad,) = torch.autograd.grad(expected.data, torch_inputs, torch.tensor(cotangent))
    np.testing.assert_array_equal(ember_grad.numpy(), torch_grad.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_value", [0.0, -1.5])
@pytest.mark.parametrize("total_length", [None, 6])
def test_pad_packed_sequence_round_trip_matches_torch(batch_first, padding_value, total_length):
    rng = np.random.default_rng(1)
    padded = rng.standard_normal((4, 3, 2))

    def round_trip(lib, utils, x):
        packed = utils.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        return utils.pad_packed_sequence(packed, batch_first=batch_first,
                                         padding_value=padding_value, total_length=total_length)

    (actual, ember_inputs), (expected, torch_inputs) = _both(round_trip, [padded], grad=True)
    _assert_same(actual, expected)
    cotangent = rng.standard_normal(tuple(expected[0].shape))
    (ember_grad,) = ember.autograd.grad(actual[0], ember_inputs, ember.tensor(cotangent))
    (torch_grad,) = torch.autograd.grad(expected[0], torch_inputs, torch.tensor(cotangent))
    np.testing.assert_array_equal(ember_grad.numpy(), torch_grad.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2,)], ids=["vectors", "matrices"])
def test_pad_sequence_matches_torch(batch_first, padding_side, trailing):
    rng = np.random.default_rng(2)
    sequences = [rng.standard_normal((length, *trailing)) for length in (2, 4, 1)]

    def pad(lib, utils, *xs):
        return utils.pad_sequence(list(xs), batch_first=batch_first, padding_value=7.0,
                                  padding_side=padding_side)

    (actual, ember_inputs), (expected, torch_inputs) = _both(pad, sequences, grad=True)
    _assert_same(actual, expected)
    cotangent = rng.standard_normal(tuple(expected.shape))
    ember_grads = ember.autograd.grad(actual, ember_inputs, ember.tensor(cotangent))
    torch_grads = torch.autograd.grad(expected, torch_inputs, torch.tensor(cotangent))
    for ember_grad, torch_grad in zip(ember_grads, torch_grads):
        np.testing.assert_array_equal(ember_grad.numpy(), torch_grad.numpy())


def test_pad_sequence_of_integers_and_of_a_tensor_matches_torch():
    for lib, utils in LIBRARIES.items():
        integers = utils.pad_sequence([lib.tensor([1, 2, 3]), lib.tensor([4])], padding_value=-1)
        assert integers.tolist() == [[1, 4], [2, -1], [3, -1]]
        assert str(integers.dtype).endswith("int64")
        rows = utils.pad_sequence(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        assert rows.tolist() == [[1.0, 3.0], [2.0, 4.0]]


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_sequence_match_torch(enforce_sorted):
    rng = np.random.default_rng(3)
    lengths = (4, 2, 1) if enforce_sorted else (2, 4, 1)
    sequences = [rng.standard_normal((length, 3)) for length in lengths]

    def pack(lib, utils, *xs):
        packed = utils.pack_sequence(list(xs), enforce_sorted=enforce_sorted)
        return tuple(packed), utils.unpack_sequence(packed)

    (actual, _), (expected, _) = _both(pack, sequences)
    _assert_same(actual[0], expected[0])
    _assert_same(actual[1], expected[1])
    for unpacked, original in zip(actual[1], sequences):
        np.testing.assert_array_equal(unpacked.numpy(), original)


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_matches_torch(batch_first):
    rng = np.random.default_rng(4)
    padded = rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2))

    def unpad(lib, utils, x):
        return utils.unpad_sequence(x, lib.tensor([4, 1, 3]), batch_first=batch_first)

    (actual, ember_inputs), (expected, _) = _both(unpad, [padded])
    _assert_same(actual, expected)
    assert tuple(ember_inputs[0].shape) == padded.shape  # the input is left as it was


def test_invert_permutation_matches_torch():
    for permutation in ([2, 0, 3, 1], [0]):
        actual = ember_rnn.invert_permutation(ember.tensor(permutation))
        expected = torch_rnn.invert_permutation(torch.tensor(permutation))
        assert actual.tolist() == expected.tolist()
    assert ember_rnn.invert_permutation(None) is None


ERRORS = {
    "unsorted": lambda lib, u: u.pack_padded_sequence(lib.zeros(4, 3, 2), [2, 3, 1]),
    "zero_length": lambda lib, u: u.pack_padded_sequence(lib.zeros(4, 3, 2), [4, 3, 0]),
    "too_few_lengths": lambda lib, u: u.pack_padded_sequence(lib.zeros(4, 3, 2), [4, 3]),
    "too_many_lengths": lambda lib, u: u.pack_padded_sequence(lib.zeros(4, 3, 2), [4, 3, 1, 1]),
    "one_dimension": lambda lib, u: u.pack_padded_sequence(lib.zeros(4), [4]),
    "total_length": lambda lib, u: u.pad_packed_sequence(
        u.pack_padded_sequence(lib.zeros(4, 3, 2), [4, 3, 1]), total_length=3),
    "empty_list": lambda lib, u: u.pad_sequence([]),
    "not_iterable": lambda lib, u: u.pad_sequence(5),
    "padding_side": lambda lib, u: u.pad_sequence([lib.zeros(2)], padding_side="middle"),
    "trailing_mismatch": lambda lib, u: u.pad_sequence([lib.zeros(2, 3), lib.zeros(3, 4)]),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    with pytest.raises(Exception) as expected:
        ERRORS[name](torch, torch_rnn)
    with pytest.raises(Exception) as actual:
        ERRORS[name](ember, ember_rnn)
    assert type(actual.value) is type(expected.value)
    assert str(actual.value) == str(expected.value)


def test_length_longer_than_padding_raises():
    # PyTorch reads past the padded tensor here; ember refuses.
    with pytest.raises(RuntimeError, match="exceeds the padded sequence length"):
        ember_rnn.pack_padded_sequence(ember.zeros(4, 3, 2), [5, 3, 1])
