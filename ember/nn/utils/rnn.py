"""Variable-length sequences for recurrent layers: padding and packing, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` stores a batch of sequences time step by time step: ``data`` holds the
rows of step 0 for every sequence, then the rows of step 1 for every sequence still running,
and so on; ``batch_sizes[t]`` says how many sequences are still running at step ``t``. The
sequences are sorted longest first; ``sorted_indices`` maps that order back to the caller's.

Packing and padding are one ``index_select`` each, so gradients flow through both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ember._backend import asarray, device_index, to_device, to_host, xp
from ember._dtype import float16, float32, float64, int64
from ember._tensor import Tensor
from ember.ops._function import _legacy
from ember.ops.creation import full, tensor as _tensor
from ember.ops.shape import cat, stack

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A batch of variable-length sequences packed time step by time step.

    Build it with ``pack_padded_sequence`` or ``pack_sequence``, not by hand.

    Attributes:
        data: (sum of lengths, *) the packed rows.
        batch_sizes: int64 (longest length,), how many sequences run at each step.
        sorted_indices: the permutation that sorted the batch by length, or ``None``.
        unsorted_indices: its inverse, or ``None``.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            # PackedSequence((data, batch_sizes), ...), as PyTorch also accepts
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """A copy with ``data`` converted by ``Tensor.to``; the indices follow it to its
        device and stay int64, ``batch_sizes`` stays on the CPU (as PyTorch)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        non_blocking = kwargs.get("non_blocking", False)
        sorted_indices, unsorted_indices = (
            None if indices is None else indices.to(data.device, non_blocking=non_blocking)
            for indices in (self.sorted_indices, self.unsorted_indices)
        )
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device=None) -> PackedSequence:
        return self.to(self.data.cuda(device).device)

    def double(self) -> PackedSequence:
        return self.to(dtype=float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=int64)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return self.data.is_pinned()


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation: ``inverse[permutation[i]] = i`` (``None`` stays ``None``)."""
    if permutation is None:
        return None
    inverse = xp.empty_like(permutation._data)
    inverse[permutation._data] = xp.arange(permutation._data.size, like=permutation._data)
    return Tensor._make(inverse)


def _lengths_array(lengths):
    """The lengths as an int64 host array: they decide shapes, so they are read here."""
    if isinstance(lengths, Tensor):
        return to_host(lengths._data).astype(xp.int64)
    return asarray([int(length) for length in lengths], dtype=xp.int64).reshape(-1)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) of sequences with the given ``lengths``.

    Args:
        input: (T, B, *), or (B, T, *) with ``batch_first``; padding past each length is dropped.
        lengths: the length of each sequence (list or int64 tensor).
        batch_first: the batch is the first dimension of ``input``.
        enforce_sorted: require ``lengths`` sorted in decreasing order; with ``False`` the
            batch is sorted here and the permutation kept in the result.

    Example::

        >>> padded = ember.zeros(3, 2, 4)
        >>> pack_padded_sequence(padded, [3, 1]).batch_sizes
        tensor([2, 1, 1])
    """
    if isinstance(lengths, Tensor) and lengths.is_cuda:
        raise RuntimeError(
            "'lengths' argument should be a 1D CPU int64 tensor, but got "
            f"{lengths.ndim}D {lengths.device} {_legacy(lengths.dtype)} tensor"
        )
    lengths = _lengths_array(lengths)
    device = device_index(input._data)
    sorted_indices = None
    if not enforce_sorted:
        order = xp.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = Tensor._make(to_device(order.astype(xp.int64), device))
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if input.dim() < 2:
        raise IndexError(
            "Dimension out of range (expected to be in range of [-1, 0], but got 1)"
        )
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    if lengths.size != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} "
            f"(batch_size={batch})"
        )
    if batch and lengths.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if xp.any(lengths[1:] > lengths[:-1]):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
            "to sidestep this requirement if you do not need ONNX exportability."
        )
    if batch and lengths[0] > steps:
        raise RuntimeError(
            f"pack_padded_sequence: a length ({int(lengths[0])}) exceeds the padded sequence "
            f"length {steps} of the input"
        )
    longest = int(lengths[0]) if batch else 0
    running = xp.arange(longest)[:, None] < lengths[None, :]  # (T, B), time-major order
    rows = to_device(xp.flatnonzero(running).astype(xp.int64), device)
    data = input.reshape(steps * batch, *input.shape[2:]).index_select(0, Tensor._make(rows))
    batch_sizes = Tensor._make(running.sum(axis=1).astype(xp.int64))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: (T, B, *) padded with ``padding_value``, and the lengths.

    Args:
        sequence: the packed batch.
        batch_first: return (B, T, *) instead of (T, B, *).
        padding_value: the value of the positions past each sequence's end.
        total_length: pad to this many steps (at least the longest length).

    Returns:
        ``(padded, lengths)``, both in the caller's original batch order; lengths is int64.
    """
    batch_sizes = to_host(sequence.batch_sizes._data).astype(xp.int64)
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = total_length
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    running = xp.zeros((steps, batch), dtype=bool)
    running[: batch_sizes.size] = xp.arange(batch)[None, :] < batch_sizes[:, None]
    data = sequence.data
    # Padded positions read one extra row that holds padding_value.
    rows = xp.full(running.shape, data.shape[0], dtype=xp.int64)
    rows[running] = xp.arange(data.shape[0])
    if batch_first:
        rows = rows.T
    padding = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    rows = to_device(rows.reshape(-1), device_index(data._data))
    padded = cat([data, padding]).index_select(0, Tensor._make(rows))
    padded = padded.reshape(*running.shape[:: -1 if batch_first else 1], *data.shape[1:])
    lengths = running.sum(axis=0).astype(xp.int64)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        padded = padded.index_select(0 if batch_first else 1, unsorted)
        lengths = lengths[to_host(unsorted._data)]
    return padded, Tensor._make(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (Lᵢ, *) into (max Lᵢ, B, *), padding with ``padding_value``.

    Args:
        sequences: a list (or other iterable) of tensors sharing their trailing shape.
        batch_first: return (B, max Lᵢ, *) instead.
        padding_value: the value of the padded positions.
        padding_side: ``"right"`` pads after each sequence, ``"left"`` before it.

    Example::

        >>> pad_sequence([ember.ones(2), ember.ones(1)], batch_first=True)
        tensor([[1., 1.],
                [1., 0.]])
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError(  # noqa: TRY004 (PyTorch's class)
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences)}"
        )
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    first = sequences[0]
    if any(sequence.dim() == 0 for sequence in sequences):
        raise RuntimeError(
            "pad_sequence: expected sequences of at least 1 dimension, got a 0-d one"
        )
    trailing = tuple(first.shape[1:])
    for sequence in sequences:
        for dim, (expected, actual) in enumerate(zip(trailing, sequence.shape[1:]), start=1):
            if expected != actual:
                raise RuntimeError(
                    f"The size of tensor a ({expected}) must match the size of tensor b "
                    f"({actual}) at non-singleton dimension {dim}"
                )
        if len(sequence.shape[1:]) != len(trailing):
            raise RuntimeError(
                f"pad_sequence: sequences must share their trailing shape, got {list(trailing)} "
                f"and {list(sequence.shape[1:])}"
            )
    longest = max(sequence.shape[0] for sequence in sequences)
    padded = []
    for sequence in sequences:
        sequence = sequence.to(first.dtype)
        missing = longest - sequence.shape[0]
        if missing:
            padding = full((missing, *trailing), padding_value, dtype=first.dtype,
                           device=first.device)
            pieces = [sequence, padding] if padding_side == "right" else [padding, sequence]
            sequence = cat(pieces)
        padded.append(sequence)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences: a list of (Lᵢ, *) tensors.

    Unlike PyTorch, the input is not transposed in place when ``batch_first`` is False.
    """
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = _lengths_array(lengths)
    return [padded_sequences[index, : int(length)] for index, length in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (Lᵢ, *) tensors: ``pack_padded_sequence(pad_sequence(sequences), Lᵢ)``."""
    lengths = _tensor([sequence.shape[0] for sequence in sequences], dtype=int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The inverse of ``pack_sequence``: the list of (Lᵢ, *) tensors, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
