"""``ember.testing``: ``assert_close`` and ``make_tensor``, as in ``torch.testing``.

``assert_close`` uses PyTorch's default tolerances per dtype and words its failures the
way PyTorch does (mismatch count, greatest absolute and relative differences and where
they are), so a test that compares against known outputs reads the same on either side.
"""

import collections.abc
import math

import ember
from ember._backend import xp
from ember._tensor import Tensor

__all__ = ["assert_close", "make_tensor"]

# (rtol, atol) by dtype, PyTorch's defaults; every other dtype compares exactly.
_DEFAULT_TOLERANCES = {
    ember.float16: (1e-3, 1e-5),
    ember.bfloat16: (1.6e-2, 1e-5),
    ember.float32: (1.3e-6, 1e-5),
    ember.float64: (1e-7, 1e-7),
}


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close.

    Tensors (and Python numbers) are close when ``|actual - expected| <= atol + rtol *
    |expected|`` elementwise, after their shapes (and, with ``check_dtype``, dtypes) are
    checked. Sequences and mappings are compared item by item. Without ``rtol`` and
    ``atol`` the defaults for the dtype apply: float16 (1e-3, 1e-5), bfloat16 (1.6e-2,
    1e-5), float32 (1.3e-6, 1e-5), float64 (1e-7, 1e-7), exact for integers and bool.
    """
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but "
                         f"got no {missing}.")
    options = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan, "check_dtype": check_dtype}
    failure = _compare(actual, expected, options)
    if failure is None:
        return
    if callable(msg):
        failure = msg(failure)
    elif msg is not None:
        failure = msg
    raise AssertionError(failure)


def _is_number(value) -> bool:
    return isinstance(value, (bool, int, float)) and not isinstance(value, Tensor)


def _is_sequence(value) -> bool:
    return (isinstance(value, collections.abc.Sequence)
            and not isinstance(value, (str, bytes)))


def _compare(actual, expected, options):
    """The failure message for one pair (recursing into containers), or None."""
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        return _compare_tensors(actual, expected, options, "Tensor-likes")
    if _is_number(actual) and _is_number(expected):
        return _compare_tensors(_number_tensor(actual), _number_tensor(expected),
                                {**options, "check_dtype": False}, "Scalars")
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            return f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
        pairs = [(index, a, e) for index, (a, e) in enumerate(zip(actual, expected))]
        return _compare_items(pairs, options)
    if isinstance(actual, collections.abc.Mapping) and isinstance(
            expected, collections.abc.Mapping):
        missing = [key for key in expected if key not in actual]
        extra = [key for key in actual if key not in expected]
        if missing or extra:
            return ("The keys of the mappings do not match:\n"
                    f"Missing keys in the actual mapping: {sorted(missing, key=repr)}\n"
                    f"Additional keys in the actual mapping: {sorted(extra, key=repr)}")
        return _compare_items([(key, actual[key], expected[key]) for key in expected],
                              options)
    raise TypeError("No comparison pair was able to handle inputs of type "
                    f"{type(actual)} and {type(expected)}.")


def _compare_items(pairs, options):
    for key, actual_item, expected_item in pairs:
        failure = _compare(actual_item, expected_item, options)
        if failure is not None:
            return f"{failure}\n\nThe failure occurred for item [{key!r}]"
    return None


def _number_tensor(value) -> Tensor:
    if isinstance(value, bool):
        return ember.tensor(value)
    dtype = ember.int64 if isinstance(value, int) else ember.float64
    return ember.tensor(value, dtype=dtype)


def _compare_tensors(actual, expected, options, kind):
    if tuple(actual.shape) != tuple(expected.shape):
        return (f"The values for attribute 'shape' do not match: {actual.shape!r} != "
                f"{expected.shape!r}.")
    if options["check_dtype"] and actual.dtype != expected.dtype:
        return (f"The values for attribute 'dtype' do not match: {actual.dtype!r} != "
                f"{expected.dtype!r}.")
    dtype = ember.promote_types(actual.dtype, expected.dtype)
    rtol, atol = options["rtol"], options["atol"]
    if rtol is None:
        rtol, atol = _default_tolerances(actual.dtype, expected.dtype)
    actual_array = actual.detach().to(dtype).numpy()
    expected_array = expected.detach().to(dtype).numpy()
    matches = _elementwise_close(actual_array, expected_array, rtol, atol,
                                 options["equal_nan"])
    if bool(matches.all()):
        return None
    # PyTorch words a 0-d mismatch as scalars, any dimensioned one as tensor-likes.
    scalar = actual_array.ndim == 0 or kind == "Scalars"
    return _mismatch_message(actual_array, expected_array, matches, rtol, atol,
                             "Scalars" if scalar else kind)


def _default_tolerances(*dtypes):
    pairs = [_DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0)) for dtype in dtypes]
    return max(pair[0] for pair in pairs), max(pair[1] for pair in pairs)


def _elementwise_close(actual, expected, rtol, atol, equal_nan):
    if actual.dtype.kind not in "fc":
        return actual == expected
    with xp.errstate(invalid="ignore"):
        close = xp.abs(actual - expected) <= atol + rtol * xp.abs(expected)
    close = close | (actual == expected)  # infinities of the same sign
    if equal_nan:
        close = close | (xp.isnan(actual) & xp.isnan(expected))
    return close


def _differences(actual, expected, matches):
    """Absolute and relative differences, zero where the elements match (as PyTorch)."""
    if actual.dtype.kind not in "fc":
        actual, expected = actual.astype("int64"), expected.astype("int64")
        relative_type = ember.get_default_dtype()
    else:
        relative_type = None
    with xp.errstate(all="ignore"):
        absolute = xp.abs(actual - expected).reshape(-1)
        absolute[matches.reshape(-1)] = 0
        denominator = xp.abs(expected).reshape(-1)
        if relative_type is not None:
            numpy_type = ember.empty(0, dtype=relative_type).numpy().dtype
            absolute_float = absolute.astype(numpy_type)
            relative = absolute_float / denominator.astype(numpy_type)
        else:
            relative = absolute / denominator
        relative[matches.reshape(-1)] = 0
    return absolute, relative


def _greatest(values):
    # torch.max propagates NaN: the first NaN wins.
    nans = xp.flatnonzero(xp.isnan(values)) if values.dtype.kind == "f" else []
    position = int(nans[0]) if len(nans) else int(xp.argmax(values))
    return values[position].item(), position


def _mismatch_message(actual, expected, matches, rtol, atol, kind):
    exact = rtol == 0 and atol == 0
    verdict = "equal" if exact else "close"
    absolute, relative = _differences(actual, expected, matches)
    max_absolute, absolute_at = _greatest(absolute)
    max_relative, relative_at = _greatest(relative)
    absolute_bound = "" if exact else f" (up to {atol} allowed)"
    relative_bound = "" if exact else f" (up to {rtol} allowed)"
    if kind == "Scalars":
        return (f"Scalars are not {verdict}!\n\n"
                f"Expected {expected.reshape(-1)[0].item()} but got "
                f"{actual.reshape(-1)[0].item()}.\n"
                f"Absolute difference: {max_absolute}{absolute_bound}\n"
                f"Relative difference: {max_relative}{relative_bound}")
    total = matches.size
    mismatched = total - int(matches.sum())
    return (f"Tensor-likes are not {verdict}!\n\n"
            f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})\n"
            f"Greatest absolute difference: {max_absolute} at index "
            f"{_index(absolute_at, actual.shape)}{absolute_bound}\n"
            f"Greatest relative difference: {max_relative} at index "
            f"{_index(relative_at, actual.shape)}{relative_bound}")


def _index(flat_position, shape):
    return tuple(int(i) for i in xp.unravel_index(flat_position, shape))


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None) -> Tensor:
    """A tensor of ``shape`` filled with values drawn uniformly from ``[low, high)``.

    The defaults are PyTorch's: ``[-9, 9]`` for floating point, ``[-9, 10)`` for signed
    integers, ``[0, 10)`` for uint8, both values for bool. ``exclude_zero`` replaces
    zeros by the dtype's smallest positive step (``tiny`` for floats, 1 for integers).
    ember draws from its own generator, so the values differ from PyTorch's.
    """
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    if ember.device(device).type != "cpu":
        ember.zeros(0, device=device)  # raises ember's error for a device it lacks
    if low is not None and high is not None and low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    if dtype == ember.bool:
        result = ember.randint(0, 2, shape).to(ember.bool)
    elif dtype.is_floating_point:
        low = -9.0 if low is None else low
        high = 9.0 if high is None else high
        result = (ember.rand(*shape, dtype=ember.float64) * (high - low) + low).to(dtype)
    else:
        floor = 0 if dtype == ember.uint8 else -9
        low = floor if low is None else math.ceil(low)
        high = 10 if high is None else math.ceil(high) if high != int(high) else int(high)
        result = ember.randint(int(low), int(high), shape, dtype=dtype)
    if exclude_zero:
        step = ember.finfo(dtype).tiny if dtype.is_floating_point else 1
        result = ember.where(result == 0, ember.full_like(result, step), result)
    if requires_grad:
        result.requires_grad_(True)
    return result
