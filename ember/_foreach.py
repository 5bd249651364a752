"""``torch._foreach_*``: one op applied to every tensor of a list.

PyTorch fuses these into a few kernel launches on a GPU; on the CPU it loops over the
tensors with the ordinary op, and so does ember, everywhere. Most functions are built from
tables: a row names the ember op applied to each tensor and the forms that PyTorch's
overloads allow for the argument after the tensor lists:

- ``number``: one Python number for every tensor (a 0-d tensor that does not require grad
  counts as one, as in PyTorch's argument parser);
- ``numbers``: a list of numbers, one per tensor;
- ``tensors``: a list of tensors, one per tensor;
- ``tensor``: one 0-d tensor for every tensor (``add``, ``mul``, ``div``); it receives a
  gradient;
- ``packed``: a 1-d tensor holding one number per tensor (``addcmul``, ``addcdiv``).

An out-of-place form returns a tuple of new tensors, differentiable through the ops it
applies (so also where PyTorch has no derivative: ``_foreach_powsum``, ``addcmul`` and
``addcdiv`` with packed scalars, ``pow`` of a number). An in-place form ``_foreach_X_``
writes each result into its tensor under PyTorch's casting rule and returns its first
argument, as PyTorch's binding does.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from ember import linalg, ops
from ember._dtype import promote_types
from ember._memory_format import preserve_format
from ember._tensor import Tensor
from ember.ops._function import _legacy, inplace, snapshot

_ABSENT = object()

_FORM_TEXT = {"number": "Number", "numbers": "tuple of Scalars", "tensors": "tuple of Tensors",
              "tensor": "Tensor", "packed": "Tensor"}


@dataclass(frozen=True)
class _Signature:
    """A foreach function's parameters: its tensor lists, then one last parameter whose
    overloads are ``(keyword, form)`` pairs, with an optional default, and the forms that
    also take ``alpha=``."""

    lists: tuple
    last: tuple = ()
    default: object = _ABSENT
    alpha: tuple = ()


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, Tensor)


def _as_number(value):
    """A number, or a 0-d tensor PyTorch's parser would read as one; else ``_ABSENT``."""
    if _is_number(value):
        return value
    if isinstance(value, Tensor) and value.dim() == 0 and not value.requires_grad:
        return value.item()
    return _ABSENT


def _type_name(value) -> str:
    return type(value).__name__


def _invalid(name: str, signature: _Signature, args, kwargs) -> TypeError:
    got = [_type_name(value) for value in args]
    got += [f"{key}={_type_name(value)}" for key, value in kwargs.items()]
    lists = ", ".join(f"tuple of Tensors {parameter}" for parameter in signature.lists)
    overloads = []
    for keyword, form in signature.last or ((None, None),):
        text = lists if keyword is None else f"{lists}, {_FORM_TEXT[form]} {keyword}"
        if form in signature.alpha:
            text += ", *, Number alpha = 1"
        overloads.append(f" * ({text})")
    return TypeError(
        f"{name}() received an invalid combination of arguments - got ({', '.join(got)}), but "
        "expected one of:\n" + "\n".join(overloads)
    )


def _tensor_list(name: str, value, position: int, parameter: str = "self") -> list:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name}(): argument '{parameter}' (position {position + 1}) must be "
                        f"tuple of Tensors, not {_type_name(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, Tensor):
            raise TypeError(f"expected Tensor as element {index} in argument {position}, but "
                            f"got {_type_name(item)}")
    return list(value)


def _nonempty(tensors: list) -> list:
    if not tensors:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return tensors


def _same_length(first: list, other: list) -> None:
    if len(first) != len(other):
        raise RuntimeError("Tensor lists must have the same number of tensors, got "
                           f"{len(first)} and {len(other)}")


def _form(value, forms: set, position: int):
    """Which overload ``value`` selects among ``forms`` (None if none), and its value."""
    if isinstance(value, Tensor):
        for form in ("tensor", "packed"):
            if form in forms:
                return form, value
        number = _as_number(value)
        return ("number", number) if "number" in forms and number is not _ABSENT else (None, None)
    if _is_number(value):
        return ("number", value) if "number" in forms else (None, None)
    if isinstance(value, (list, tuple)):
        if all(_is_number(item) for item in value) and "numbers" in forms:
            return "numbers", list(value)
        if "tensors" in forms:
            return "tensors", _tensor_list("", value, position)
    return None, None


def _per_tensor(form: str, value, count: int) -> list:
    """The last argument, one value per tensor, with PyTorch's checks of its length."""
    if form == "number":
        return [value] * count
    if form == "numbers":
        if len(value) != count:
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return value
    if form == "tensors":
        if len(value) != count:
            raise RuntimeError("Tensor lists must have the same number of tensors, got "
                               f"{count} and {len(value)}")
        return value
    if form == "tensor":
        if value.dim() != 0:
            raise RuntimeError(f"scalar tensor expected to be 0 dim but it has {value.dim()} "
                               f"dimensions and {value.numel()} elements.")
        return [value] * count
    if value.dim() != 1:  # packed
        raise RuntimeError(f"Expected packed scalar Tensor to be of dimension 1. Got {value.dim()} "
                           "instead.")
    if value.numel() != count:
        raise RuntimeError(f"Expected length of scalars to match input of length {count} but got "
                           f"{value.numel()} instead.")
    return value.tolist()


def _parse(name: str, signature: _Signature, args: tuple, kwargs: dict):
    """Match a call to one of PyTorch's overloads.

    Returns the tensor lists, the last argument as one tuple per tensor (empty for a
    function without one), and the keyword options (``alpha``).
    """
    remaining, positional = dict(kwargs), list(args)
    lists = []
    for index, parameter in enumerate(signature.lists):
        if index < len(positional):
            value = positional[index]
        elif parameter in remaining:
            value = remaining.pop(parameter)
        else:
            raise _invalid(name, signature, args, kwargs)
        lists.append(_tensor_list(name, value, index, parameter))
    first = _nonempty(lists[0])
    for other in lists[1:]:
        _same_length(first, other)
    rest = positional[len(signature.lists):]
    keywords = dict.fromkeys(keyword for keyword, _ in signature.last)
    given = [(keyword, remaining.pop(keyword)) for keyword in keywords if keyword in remaining]
    alpha = remaining.pop("alpha", _ABSENT)
    if (remaining or len(rest) + len(given) > 1 or (rest and not signature.last)
            or (alpha is not _ABSENT and not signature.alpha)):
        raise _invalid(name, signature, args, kwargs)
    if not signature.last:
        return lists, [()] * len(first), {}
    if rest:
        keyword, value = None, rest[0]
    elif given:
        keyword, value = given[0]
    elif signature.default is not _ABSENT:
        keyword, value = None, signature.default
    else:
        raise _invalid(name, signature, args, kwargs)
    forms = {form for word, form in signature.last if keyword in (None, word)}
    form, value = _form(value, forms, len(signature.lists))
    if form is None or (alpha is not _ABSENT and form not in signature.alpha):
        raise _invalid(name, signature, args, kwargs)
    options = {}
    if alpha is not _ABSENT:
        options["alpha"] = _as_number(alpha)
        if options["alpha"] is _ABSENT:
            raise _invalid(name, signature, args, kwargs)
    values = _per_tensor(form, value, len(first))
    return lists, [(item,) for item in values], options


def _out_of_place(name: str, signature: _Signature, apply):
    def function(*args, **kwargs) -> tuple:
        lists, values, options = _parse(name, signature, args, kwargs)
        return tuple(apply(*tensors, *value, **options)
                     for tensors, value in zip(zip(*lists), values))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"``torch.{name}``: ``{apply.__name__}`` of each tensor of the list(s); "
                        "a tuple of new tensors.")
    return function


def _in_place(name: str, signature: _Signature, apply):
    def function(*args, **kwargs):
        lists, values, options = _parse(name, signature, args, kwargs)
        for tensors, value in zip(zip(*lists), values):
            target = tensors[0]
            inplace(target, apply(snapshot(target), *tensors[1:], *value, **options), name)
        return args[0] if args else kwargs["self"]

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"``torch.{name}``: ``{apply.__name__}`` of each tensor of the list(s), "
                        "written into it; returns the list.")
    return function


def _maximum(input: Tensor, other) -> Tensor:
    return ops.maximum(input, other) if isinstance(other, Tensor) else ops.clamp_min(input, other)


def _minimum(input: Tensor, other) -> Tensor:
    return ops.minimum(input, other) if isinstance(other, Tensor) else ops.clamp_max(input, other)


def _addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, value) -> Tensor:
    return ops.addcmul(input, tensor1, tensor2, value=value)


def _addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, value) -> Tensor:
    return ops.addcdiv(input, tensor1, tensor2, value=value)


_UNARY = (
    "abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor",
    "frac", "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt",
    "sigmoid", "sign", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
)
_SCALARS = (("scalar", "number"), ("scalars", "numbers"), ("other", "tensors"))
_SCALARS_OR_TENSOR = _SCALARS + (("other", "tensor"),)
_CONSTANT = (("value", "number"), ("scalars", "numbers"), ("scalars", "packed"))

# name: (the op applied to each tensor, its signature); each has an in-place form too
_TABLE = {name: (getattr(ops, name), _Signature(("self",))) for name in _UNARY}
_TABLE.update({
    "add": (ops.add, _Signature(("self",), _SCALARS_OR_TENSOR, alpha=("tensors", "tensor"))),
    "sub": (ops.sub, _Signature(("self",), _SCALARS, alpha=("tensors",))),
    "mul": (ops.mul, _Signature(("self",), _SCALARS_OR_TENSOR)),
    "div": (ops.div, _Signature(("self",), _SCALARS_OR_TENSOR)),
    "maximum": (_maximum, _Signature(("self",), _SCALARS)),
    "minimum": (_minimum, _Signature(("self",), _SCALARS)),
    "clamp_min": (ops.clamp_min, _Signature(("self",), _SCALARS)),
    "clamp_max": (ops.clamp_max, _Signature(("self",), _SCALARS)),
    "pow": (ops.pow, _Signature(("self",), (("exponent", "number"), ("exponent", "numbers"),
                                            ("exponent", "tensors")))),
    "lerp": (ops.lerp, _Signature(("self", "tensors1"), (("weight", "number"),
                                                         ("weight", "numbers"),
                                                         ("weights", "tensors")))),
    "addcmul": (_addcmul, _Signature(("self", "tensor1", "tensor2"), _CONSTANT, default=1)),
    "addcdiv": (_addcdiv, _Signature(("self", "tensor1", "tensor2"), _CONSTANT, default=1)),
})

_FUNCTIONS = {}
for _name, (_apply, _signature) in _TABLE.items():
    _FUNCTIONS[f"_foreach_{_name}"] = _out_of_place(f"_foreach_{_name}", _signature, _apply)
    _FUNCTIONS[f"_foreach_{_name}_"] = _in_place(f"_foreach_{_name}_", _signature, _apply)
globals().update(_FUNCTIONS)
_pow_of_lists = _FUNCTIONS["_foreach_pow"]


def _foreach_pow(*args, **kwargs) -> tuple:
    """``torch._foreach_pow``: ``pow`` of each tensor by a number, a list of numbers or a list
    of tensors; or, with a number first, that number raised to each tensor of ``exponent``."""
    base = args[0] if args else kwargs.get("self", _ABSENT)
    if not _is_number(base):
        return _pow_of_lists(*args, **kwargs)
    exponents = args[1] if len(args) > 1 else kwargs.get("exponent", _ABSENT)
    if len(args) > 2 or exponents is _ABSENT or set(kwargs) - {"self", "exponent"}:
        raise _invalid("_foreach_pow", _Signature(("exponent",)), args, kwargs)
    exponents = _nonempty(_tensor_list("_foreach_pow", exponents, 1, "exponent"))
    return tuple(ops.pow(base, exponent) for exponent in exponents)


def _foreach_max(self) -> tuple:
    """``torch._foreach_max``: the largest element of each tensor, as 0-d tensors (ties
    share the gradient evenly)."""
    tensors = _nonempty(_tensor_list("_foreach_max", self, 0))
    for tensor in tensors:
        if tensor.numel() == 0:
            raise RuntimeError("_foreach_max cannot compute the maximum of an empty tensor; max "
                               "over zero elements is undefined.")
    return tuple(ops.max(tensor) for tensor in tensors)


def _order(name: str, ord) -> float:
    number = _as_number(ord)
    if number is _ABSENT:
        raise TypeError(f"{name}(): argument 'ord' (position 2) must be Number, not "
                        f"{_type_name(ord)}")
    return number


def _foreach_norm(self, ord=2, dtype=None) -> tuple:
    r"""``torch._foreach_norm``: the vector norm :math:`(\sum_i |x_i|^{ord})^{1/ord}` of each
    tensor (``inf``: the largest :math:`|x_i|`; 0: the count of non-zeros), as 0-d tensors.

    Args:
        self: a list of floating-point tensors.
        ord: the order of the norm (default: 2).
        dtype: computes in this dtype, which must not narrow the input's.

    Returns:
        A tuple of 0-d tensors.
    """
    tensors = _nonempty(_tensor_list("_foreach_norm", self, 0))
    ord = _order("_foreach_norm", ord)
    if isinstance(ord, bool):
        raise RuntimeError("foreach_tensor_norm_slow expects ord to be integer or float")
    for tensor in tensors:
        if not tensor.dtype.is_floating_point:
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                               f"as input. Got {_legacy(tensor.dtype)}")
        if dtype is not None and promote_types(tensor.dtype, dtype) != dtype:
            raise RuntimeError(
                f"linalg.vector_norm: the dtype of the input ({_legacy(tensor.dtype)}) should be "
                f"convertible without narrowing to the specified dtype ({_legacy(dtype)})"
            )
        if ord == math.inf and tensor.numel() == 0:
            raise RuntimeError("_foreach_norm cannot compute the infinity norm on an empty tensor "
                               "because the operation does not have an identity")
    return tuple(linalg.vector_norm(tensor, ord, dtype=dtype) for tensor in tensors)


def _foreach_powsum(self, ord=2, dtype=None) -> tuple:
    r"""``torch._foreach_powsum``: :math:`\sum_i |x_i|^{ord}` of each tensor (its norm before
    the root; ``ord=0`` counts every element), computed in ``dtype`` when given."""
    tensors = _nonempty(_tensor_list("_foreach_powsum", self, 0))
    ord = _order("_foreach_powsum", ord)
    results = []
    for tensor in tensors:
        value = tensor if dtype is None else tensor.to(dtype)
        if not value.dtype.is_floating_point:
            name = _legacy(value.dtype)
            raise NotImplementedError(f"\"powsum_cpu\" not implemented for '{name}'")
        results.append(ops.sum(ops.pow(ops.abs(value), ord)))
    return tuple(results)


def _foreach_mm(self, mat2) -> tuple:
    """``torch._foreach_mm``: the matrix product of each pair ``self[i] @ mat2[i]``."""
    tensors = _tensor_list("_foreach_mm", self, 0)
    others = _tensor_list("_foreach_mm", mat2, 1, "mat2")
    if not tensors:
        raise RuntimeError("_foreach_mm requires non-empty tensor lists")
    if len(tensors) != len(others):
        raise RuntimeError("_foreach_mm: self and mat2 must have the same number of tensors")
    return tuple(ops.mm(tensor, other) for tensor, other in zip(tensors, others))


def _foreach_clone(self, *, memory_format=None) -> tuple:
    """``torch._foreach_clone``: a copy of each tensor (differentiable)."""
    tensors = _nonempty(_tensor_list("_foreach_clone", self, 0))
    return tuple(tensor.clone(memory_format=memory_format or preserve_format)
                 for tensor in tensors)


def _foreach_copy_(self, src, non_blocking: bool = False):
    """``torch._foreach_copy_``: copies ``src[i]`` into ``self[i]`` (broadcast and cast to it);
    returns ``self``."""
    tensors = _nonempty(_tensor_list("_foreach_copy_", self, 0))
    sources = _tensor_list("_foreach_copy_", src, 1, "src")
    _same_length(tensors, sources)
    if not isinstance(non_blocking, bool):
        raise TypeError("_foreach_copy_(): argument 'non_blocking' (position 3) must be bool, "
                        f"not {_type_name(non_blocking)}")
    for tensor, source in zip(tensors, sources):
        tensor.copy_(source, non_blocking)
    return self


def _foreach_zero_(self):
    """``torch._foreach_zero_``: fills each tensor with zeros; returns ``self``."""
    for tensor in _nonempty(_tensor_list("_foreach_zero_", self, 0)):
        tensor.zero_()
    return self


__all__ = sorted([*_FUNCTIONS, "_foreach_clone", "_foreach_copy_", "_foreach_max",
                  "_foreach_mm", "_foreach_norm", "_foreach_powsum", "_foreach_zero_"])
