"""Printing tensors the way PyTorch does: ``tensor([[1., 2.]], requires_grad=True)``."""

from __future__ import annotations

from ember._backend import bfloat16, device_index, to_host, xp

_options = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Change how tensors print (as ``torch.set_printoptions``)."""
    if profile == "default":
        _options.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        _options.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        _options.update(precision=4, threshold=2**63 - 1, edgeitems=3, linewidth=80)
    for key, value in dict(precision=precision, threshold=threshold, edgeitems=edgeitems,
                           linewidth=linewidth).items():
        if value is not None:
            _options[key] = value
    _options["sci_mode"] = sci_mode


def _float_formatter(array):
    precision = _options["precision"]
    finite = array[xp.isfinite(array)]
    nonzero = xp.abs(finite[finite != 0]).astype(xp.float64)
    int_mode = bool(nonzero.size == 0 or (nonzero == xp.ceil(nonzero)).all())
    sci = False
    if nonzero.size:
        high, low = nonzero.max(), nonzero.min()
        sci = high > 1e8 if int_mode else (high / low > 1000.0 or high > 1e8 or low < 1e-4)
    if _options["sci_mode"] is not None:
        sci = _options["sci_mode"]

    def render(value) -> str:
        if xp.isnan(value):
            return "nan"
        if xp.isinf(value):
            return "inf" if value > 0 else "-inf"
        if sci:
            return f"{value:.{precision}e}"
        if int_mode:
            return f"{value:.0f}."
        return f"{value:.{precision}f}"

    # PyTorch sizes columns by the nonzero finite values only: nan/inf/0 may stick out.
    sample = finite[finite != 0][: _options["threshold"] + 1]
    width = max((len(render(v)) for v in sample), default=1)
    return lambda value: render(value).rjust(width)


def _body(array) -> str:
    if array.dtype is bfloat16:  # NumPy cannot format it; float32 holds every value exactly
        array = array.astype(xp.float32)
    kind = array.dtype.kind
    if kind == "f":
        formatter = {"float_kind": _float_formatter(array)}
    elif kind == "b":
        width = 5 if (~array).any() else 4
        formatter = {"bool": lambda v: str(bool(v)).rjust(width)}
    else:
        formatter = None
    return xp.array2string(
        array,
        separator=", ",
        prefix="tensor(",
        formatter=formatter,
        threshold=_options["threshold"],
        edgeitems=_options["edgeitems"],
        max_line_width=_options["linewidth"],
    )


def tensor_repr(tensor, prefix: str = "tensor") -> str:
    from ember._dtype import get_default_dtype

    array = to_host(tensor._data)
    suffixes = []
    if array.size == 0:
        body = "[]"
        if array.shape != (0,):
            suffixes.append(f"size={tuple(array.shape)}")
    else:
        body = _body(array)
    index = device_index(tensor._data)
    if index is not None:
        suffixes.append(f"device='cuda:{index}'")
    name = tensor.dtype.name
    if name not in ("int64", "bool") and tensor.dtype is not get_default_dtype():
        suffixes.append(f"dtype=ember.{name}")
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    text = ", ".join([body] + suffixes)
    return f"{prefix}({text})"
