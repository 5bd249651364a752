"""``out=``: an op's result written into a tensor the caller gave, with PyTorch's checks.

Every public function of ``ember`` / ``ember.ops`` / ``ember.linalg`` whose signature has an
``out`` parameter, and those whose PyTorch form has one (``GAINS_OUT``: ``sum``, ``cat`` ...),
is bound there to a wrapper made here (``with_out``, applied by ``ember/ops/__init__.py``).
With ``out`` left out the wrapper only checks one keyword and calls the op. With ``out``
given it does what PyTorch's ``out=`` variants do:

1. the op runs, without recording a graph (except the composites PyTorch writes with
   ``out.copy_(result)``, ``_COPIES_INTO_OUT``, whose ``out`` joins the graph);
2. grad mode on and a differentiable result (floating point) while an argument or ``out``
   requires grad: ``RuntimeError`` "functions with out=... arguments don't support
   automatic differentiation" (a factory checks only ``out``, and names itself
   ``aten::<name>()``);
3. per output: most ops need ``out`` of the result's dtype exactly (an index output is
   int64); elementwise ops take any dtype the result can be cast to ("result type Float
   can't be cast to the desired output type Long"); each refuses in PyTorch's words;
4. an ``out`` of another shape is resized, with PyTorch's deprecation warning when it
   had elements; a view cannot be resized (ember's views are NumPy views of their base);
5. the values are written by ``inplace``, the in-place machinery of every ``name_`` op, so
   ``out``'s version counter moves and a view writes through to its base;
6. ``out`` itself is returned (a named tuple of the ``out`` tensors for several results).

Factories (``zeros``, ``arange``, ``rand`` ...), ``bernoulli``, ``sum``, ``prod``,
``cumsum`` and ``cumprod`` take ``out``'s dtype as theirs. Tensor methods and operators are
bound to the unwrapped op (``without_out``): PyTorch's methods take no ``out``, and they
stay one call frame shorter. The family modules keep the plain functions for ember's own use.
"""

from __future__ import annotations

import functools
import inspect
import warnings

from ember._backend import xp
from ember._dtype import can_cast
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.grad_mode import no_grad
from ember.ops._function import _legacy as _legacy_of_known, check_leaf_inplace, inplace

# Factories: the result takes ``out``'s dtype, and only ``out`` can require grad.
FACTORIES = frozenset({
    "arange", "empty", "eye", "full", "linspace", "logspace", "ones", "rand", "randint",
    "randn", "randperm", "range", "zeros",
})
# Results written into ``out`` in its own dtype, whatever the op would have made.
_TAKES_OUT_DTYPE = FACTORIES | {"bernoulli", "cumprod", "cumsum", "normal", "prod", "sum"}
# The factories' kernels that refuse some dtypes: (kernel name, dtypes kinds accepted).
_FACTORY_KERNELS = {
    "rand": ("check_uniform_bounds", "float"), "randn": ("normal_kernel_cpu", "float"),
    "normal": ("normal_kernel_cpu", "float"), "randperm": ("randperm", "number"),
    "arange": ("arange_cpu", "number"), "range": ("range_cpu", "number"),
    "linspace": ("linspace_cpu", "number"), "logspace": ("logspace_cpu", "number"),
}
# Ops that resize ``out`` without PyTorch's deprecation warning (or with their own).
_RESIZE_QUIETLY = FACTORIES | {"addbmm", "bernoulli", "multinomial", "narrow_copy", "normal"}
_RANGE_WARNING = (
    "The number of elements in the out tensor of shape {old} is {count} which does not match "
    "the computed number of elements {new_count}. Note that this may occur as a result of "
    "rounding error. The out tensor will be resized to a tensor of shape {new}."
)

# Out of another dtype than the result's: TensorIterator ops cast the result when its kind
# allows ("result type Float can't be cast..."); the ops below take the result's dtype
# only, each refusing with its own text ({want}/{got}: Double/Long; {want_c}/{got_c}:
# double/long int). Ops with an index output list (values text, indices text).
_EXPECTED = "Expected out tensor to have dtype {want_c}, but got {got_c} instead"
_FOUND = "Found dtype {got} but expected {want}"
_SEARCH = (
    "torch.searchsorted(): output tensor's dtype is wrong, it can only be Int(int32) or "
    "Long(int64) depending on whether out_int32 flag is True, but we got output tensor's "
    "dtype {got} and out_int32 flag is {int32}"
)
_MEDIAN = (
    (
        "Expected tensor for 'values' to have the same type as tensor for argument #2 'self'; "
        "but type torch.{got}Tensor does not equal torch.{want}Tensor (while checking "
        "arguments for median)"
    ),
    (
        "Expected tensor for argument #1 'indices' to have scalar type Long; but got "
        "{got_type} instead (while checking arguments for median)"
    ),
)
_SAME_DTYPE = {
    **dict.fromkeys(
        ["addmm", "addmv", "baddbmm", "bmm", "cross", "diag", "gather", "index_add",
         "index_copy", "inverse", "matmul", "mm", "norm", "qr", "scatter", "scatter_reduce",
         "svd", "take_along_dim", "tril", "triu", "linalg.cholesky", "linalg.det",
         "linalg.eigh", "linalg.eigvalsh", "linalg.inv", "linalg.matmul", "linalg.qr",
         "linalg.slogdet", "linalg.solve", "linalg.svd", "linalg.svdvals",
         "linalg.vector_norm", "aminmax", "argmax", "argmin", "isin", "linalg.cross",
         "log_softmax", "renorm", "scatter_add", "slogdet", "softmax",
         "linalg.cholesky_ex", "linalg.inv_ex", "linalg.ldl_factor", "linalg.ldl_factor_ex",
         "linalg.ldl_solve", "linalg.lu", "linalg.lu_factor", "linalg.lu_factor_ex",
         "linalg.lu_solve", "linalg.solve_ex", "lu_solve", "lu_unpack"],
        _EXPECTED,
    ),
    **dict.fromkeys(["max", "min", "sort", "topk"], (_EXPECTED, _EXPECTED)),
    **dict.fromkeys(
        ["abs", "absolute", "bitwise_not", "ceil", "clamp", "clamp_max", "clamp_min", "clip",
         "fix", "floor", "frac", "neg", "negative", "round", "sgn", "sign", "trunc"],
        _FOUND,
    ),
    **dict.fromkeys(["bucketize", "searchsorted"], _SEARCH),
    **dict.fromkeys(["median", "nanmedian"], _MEDIAN),
    **dict.fromkeys(["index_select", "masked_select"],
                    "{name}(): self and result must have the same scalar type"),
    **dict.fromkeys(["chain_matmul", "linalg.multi_dot"],
                    "multi_dot(): expected out tensor to have dtype {want_c} but got {got_c}"),
    **dict.fromkeys(["dot", "vdot"], "result dtype {got} does not match input dtype {want}"),
    **dict.fromkeys(
        ["inner", "tensordot"],
        "tensordot: Expected the output tensor to have dtype {want}, but got an output tensor "
        "with dtype {got}",
    ),
    **dict.fromkeys(["isneginf", "isposinf", "signbit"],
                    "{name} does not support non-boolean outputs."),
    **dict.fromkeys(["all", "any"], "{name} only supports bool tensor for result, got: {got}"),
    **dict.fromkeys(
        ["amax", "amin"],
        "Expected the dtype for input and out to match, but got {want} for input's dtype and "
        "{got} for out's dtype.",
    ),
    **dict.fromkeys(["nanquantile", "quantile"],
                    "quantile() out tensor must be same dtype as the input tensor"),
    "logcumsumexp": "expected scalar_type {want} but found {got}",
    "narrow_copy": "Expected self.dtype() == output.dtype() to be true, but got false.  (Could "
    "this error message be improved?  If so, please report an enhancement request to PyTorch.)",
    "take": "take(): self and out expected to have the same dtype, but got self.dtype = {want} "
    "and out.dtype = {got}",
    "where": "Expected out type to be {want} but got {got}",
    "addbmm": "self and mat2 must have the same dtype, but got {got} and {want}",
    "mv": "addmv input tensors must have the same dtype, but got {got}, {want}, and {want}",
    "cummax": ("expected scalar_type {want} but found {got}",) * 2,
    "cummin": ("expected scalar_type {want} but found {got}",) * 2,
    "float_power": "the output given to float_power has dtype {got} but the operation's "
    "result requires dtype {want}",
    "heaviside": "heaviside is not yet implemented for tensors with different dtypes.",
    "histc": "torch.histogram: input tensor and hist tensor should have the same dtype, but "
    "got input {want_c} and hist {got_c}",
    "kthvalue": ("output values must be of same type as input",
                 "output indices must be of scalar type Long"),
    "mode": ("expected scalar type '{want}' but got '{got}' for values output",
             "expected scalar type '{want}' but got '{got}' for indices output"),
    "multinomial": "multinomial expects Long tensor out, got: {got}",
    "nan_to_num": "nan_to_num: dtype of out: {got} should be same as input: {want}",
    "nonzero": "nonzero: Expected out tensor to have scalar type Long but got scalar type{got}",
    "linalg.matrix_norm": "linalg.matrix_norm expected out tensor dtype {want} but got: {got}",
    "linalg.norm": "linalg.norm expected out tensor dtype {want} but got: {got}",
    "linalg.solve_triangular": "expected scalar type {want} but found {got}",
    "linalg.vecdot": "linalg.vecdot: Expected out of dtype{want} but found {got}",
    "ormqr": "torch.ormqr: Expected input and result to have the same dtype, but input has "
    "dtype{want} and result has dtype {got}",
}
# median checks its indices output first; the others their values first.
_INDICES_FIRST = frozenset({"median", "nanmedian"})
# Ops that cast like TensorIterator ops but word the refusal their own way (a RuntimeError
# unless the entry is a pair with the exception class).
_CAT = (TypeError, "torch.cat(): input types can't be cast to the desired output type {got}")
_CAST_REFUSALS = {
    **dict.fromkeys(["cat", "column_stack", "concat", "concatenate", "dstack", "hstack",
                     "row_stack", "stack", "vstack"], _CAT),
    **dict.fromkeys(["matrix_power", "linalg.matrix_power"],
                    "matrix_power: Expected result to be safely castable from {want} dtype, but "
                    "got result with dtype {got}"),
    **dict.fromkeys(["nanmean", "nansum"],
                    (NotImplementedError, "\"nansum_cpu\" not implemented for '{got}'")),
    "linalg.lstsq": "torch.linalg.lstsq: Expected solution to be safely castable from {want} "
    "dtype, but got solution with dtype {got}",
    "logsumexp": "logsumexp(): Expected floating point type for result tensor, but got: {got}",
    "mean": "result type Float can't be cast to the desired output type {got}",
    **dict.fromkeys(
        ["cholesky", "linalg.pinv"],
        "{short}: Expected result to be safely castable from {want} dtype, but got result "
        "with dtype {got}",
    ),
    "linalg.matrix_rank": "torch.linalg.matrix_rank: Expected result to be safely castable "
    "from {want} dtype, but got result with dtype {got}",
    "ldexp": "ldexp can't be cast to the desired output type {got}",
    "geqrf": "torch.geqrf: Expected a to be safely castable from {want} dtype, but got a with "
    "dtype {got}",
    **dict.fromkeys(
        ["linalg.householder_product", "orgqr"],
        "torch.linalg.householder_product: Expected result to be safely castable from {want} "
        "dtype, but got result with dtype {got}",
    ),
    **{name: f"{short}: Expected result to be safely castable from {{want}} dtype, but got "
       "result with dtype {got}" for name, short in (
           ("linalg.cond", "linalg.cond"), ("linalg.tensorinv", "tensorinv"),
           ("linalg.tensorsolve", "tensorsolve"))},
    "mvlgamma": "mvlgamma: result type {want} can't be cast to the desired output type {want}",
}
_CAST = "result type {want} can't be cast to the desired output type {got}"
# The ATen name PyTorch's autograd error uses where it differs from the Python name.
_ATEN_NAMES = {
    "absolute": "abs", "arccos": "acos", "arccosh": "acosh", "arcsin": "asin",
    "arcsinh": "asinh", "arctan": "atan", "arctan2": "atan2", "arctanh": "atanh",
    "chain_matmul": "mm", "clip": "clamp", "cross": "linalg_cross",
    "diag": "aten::diagonal_copy", "diff": "sub", "divide": "div", "fix": "trunc",
    "float_power": "pow", "floor_divide": "aten::floor_divide", "ger": "mul",
    "heaviside": "aten::heaviside", "inverse": "linalg_inv_ex", "kron": "mul",
    "log_softmax": "aten::log_softmax", "matrix_power": "matmul", "multiply": "mul",
    "nanmean": "nansum", "negative": "neg", "norm": "linalg_vector_norm", "outer": "mul",
    "qr": "linalg_qr", "slogdet": "_linalg_slogdet", "softmax": "aten::softmax",
    "square": "pow", "subtract": "sub", "svd": "_linalg_svd", "take_along_dim": "gather",
    "true_divide": "div",
    **dict.fromkeys(["column_stack", "concat", "concatenate", "dstack", "hstack", "row_stack",
                     "vstack"], "cat"),
    "linalg.cholesky": "linalg_cholesky_ex", "linalg.det": "_linalg_det",
    "linalg.eigh": "_linalg_eigh", "linalg.eigvalsh": "_linalg_eigh",
    "linalg.inv": "linalg_inv_ex", "linalg.matmul": "matmul",
    "linalg.matrix_power": "matmul", "linalg.multi_dot": "mm",
    "linalg.slogdet": "_linalg_slogdet", "linalg.solve": "_linalg_solve_ex",
    "linalg.solve_ex": "_linalg_solve_ex", "linalg.lu_factor": "linalg_lu_factor_ex",
    "linalg.ldl_factor": "aten::linalg_ldl_factor_ex",
    "linalg.ldl_factor_ex": "aten::linalg_ldl_factor_ex",
    "linalg.ldl_solve": "aten::linalg_ldl_solve", "lu_solve": "linalg_lu_solve",
    "orgqr": "linalg_householder_product",
    "linalg.svd": "_linalg_svd", "linalg.svdvals": "_linalg_svd", "linalg.vecdot": "sum",
}
# Floating-point results that PyTorch does not differentiate, so out= never refuses them.
_NOT_DIFFERENTIABLE = frozenset({"histc"})
# Composites that PyTorch computes and then copies into ``out`` (``out.copy_(result)``):
# they record a graph through ``out``, and refuse only a leaf ``out`` requiring grad.
_COPIES_INTO_OUT = frozenset({
    "inner", "nanquantile", "quantile", "tensordot", "linalg.matrix_norm", "linalg.norm",
    "linalg.cond", "linalg.tensorinv", "linalg.tensorsolve",
})
# Ops that refuse a leaf ``out`` requiring grad before anything else, as a copy would.
_LEAF_FIRST = frozenset({"svd"})
# Factories whose ``out`` requiring grad fails at PyTorch's resize rather than at autograd.
_RESIZE_REFUSES_GRAD = frozenset({"empty", "randn"})
# Functions whose PyTorch form takes out= though ember's signature has none: they gain it.
GAINS_OUT = frozenset({
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "cat", "clamp_max",
    "clamp_min", "column_stack", "concat", "concatenate", "cumprod", "cumsum", "deg2rad",
    "diff", "dstack", "hstack", "isin", "log_softmax", "logcumsumexp",
    "logsumexp", "matrix_power", "mean", "nanmean", "nanquantile", "nansum", "narrow_copy",
    "neg", "negative", "prod", "quantile", "rad2deg", "renorm", "row_stack", "scatter_add",
    "slogdet", "softmax", "square", "stack", "std", "sum", "take", "var", "vstack", "where",
    "linalg.cross", "linalg.lstsq", "linalg.matrix_power",
})
_RAW = "_ember_without_out"


def has_out(function) -> bool:
    """Whether ``function``'s signature has an ``out`` parameter."""
    try:
        return "out" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def without_out(function):
    """The op behind a ``with_out`` wrapper (``function`` itself when it is not one)."""
    return getattr(function, _RAW, function)


def with_out(function, name: str | None = None, aten_name: str | None = None):
    """``function`` with PyTorch's ``out=`` semantics (see the module docstring).

    ``name`` is the public name (for messages); ``aten_name`` the name PyTorch's autograd
    error uses, where it differs.
    """
    if hasattr(function, _RAW):
        return function
    name = name or function.__name__
    spec = _Spec(name, aten_name or _ATEN_NAMES.get(name, name.replace(".", "_")), function)
    position = _positional_index(function)

    if position is None:
        @functools.wraps(function)
        def wrapper(*args, out=None, **kwargs):
            if out is None:
                return function(*args, **kwargs)
            return _call_into(spec, args, kwargs, out)
    else:
        # ``norm`` and ``tensordot`` take ``out`` by position too, as PyTorch's do.
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            out = kwargs.pop("out", None)
            if out is None and len(args) > position:
                out, args = args[position], args[:position] + (None,) + args[position + 1:]
            if out is None:
                return function(*args, **kwargs)
            return _call_into(spec, args, kwargs, out)

    setattr(wrapper, _RAW, function)
    return wrapper


def install(namespace: dict, names, prefix: str = "") -> list:
    """Rebind each of ``names`` in ``namespace`` that takes ``out`` to its ``with_out`` form.

    ``prefix`` qualifies the names in the tables above (``"linalg."``). Returns the names
    rebound.
    """
    rebound = []
    for name in names:
        function = namespace.get(name)
        if not callable(function) or isinstance(function, type):
            continue
        if has_out(function):
            namespace[name] = with_out(function, prefix + name)
        elif prefix + name in GAINS_OUT:
            namespace[name] = _gaining_out(function, prefix + name)
        else:
            continue
        rebound.append(name)
    return rebound


def _gaining_out(function, name: str):
    """``with_out(function)`` whose signature shows the keyword-only ``out`` it now takes."""
    wrapper = with_out(function, name)
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = len(parameters)
    if parameters and parameters[-1].kind is inspect.Parameter.VAR_KEYWORD:
        at -= 1
    wrapper.__signature__ = signature.replace(parameters=[*parameters[:at], out, *parameters[at:]])
    return wrapper


class _Spec:
    """What the wrapper of one op needs to know about it."""

    __slots__ = ("aten_name", "display_name", "function", "name", "takes_dtype")

    def __init__(self, name: str, aten_name: str, function) -> None:
        self.name, self.aten_name, self.function = name, aten_name, function
        self.display_name = name.replace(".", "_")  # linalg.inv is PyTorch's linalg_inv
        try:
            self.takes_dtype = "dtype" in inspect.signature(function).parameters
        except (TypeError, ValueError):
            self.takes_dtype = False


def _positional_index(function):
    parameters = list(inspect.signature(function).parameters.values())
    for index, parameter in enumerate(parameters):
        if parameter.name == "out":
            return index if parameter.kind is parameter.POSITIONAL_OR_KEYWORD else None
    return None


def _call_into(spec: _Spec, args: tuple, kwargs: dict, out):
    outs = _out_tensors(spec.display_name, out)
    if spec.name in _TAKES_OUT_DTYPE and spec.takes_dtype:
        kwargs = _with_out_dtype(kwargs, outs[0])
        _check_factory_dtype(spec.name, kwargs["dtype"])
    recorded = spec.name in _COPIES_INTO_OUT
    if recorded:
        result = spec.function(*args, **kwargs)
    else:
        with no_grad():
            result = spec.function(*args, **kwargs)
    results = result if isinstance(result, tuple) else (result,)
    if not recorded:
        _check_grad(spec, args, kwargs, outs, results)
    if isinstance(out, Tensor) == isinstance(result, tuple):
        _wrong_out_kind(spec.display_name, out)
    if len(outs) != len(results):
        raise TypeError(f"expected tuple of {len(results)} elements but got {len(outs)}")
    _check_dtypes(spec.name, results, outs)
    for value, target in zip(results, outs):
        _write(spec.name, value, target, recorded)
    if isinstance(result, tuple):
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    return out


def _out_tensors(name: str, out) -> tuple:
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)) and all(isinstance(item, Tensor) for item in out):
        return tuple(out)
    raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")


def _wrong_out_kind(name: str, out) -> None:
    if isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not Tensor")
    raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")


def _check_grad(spec: _Spec, args: tuple, kwargs: dict, outs: tuple, results: tuple) -> None:
    if not grad_mode.state.enabled:
        return
    out_requires_grad = any(target.requires_grad for target in outs)
    if spec.name in _LEAF_FIRST and any(target.grad_fn is None for target in outs
                                        if target.requires_grad):
        check_leaf_inplace(next(target for target in outs if target.requires_grad))
    if not _has_tensor(args, kwargs):  # a factory: only ``out`` can require grad
        if out_requires_grad and spec.name in _RESIZE_REFUSES_GRAD:
            raise RuntimeError("cannot resize variables that require grad")
        if out_requires_grad:
            _raise_grad_error(f"aten::{spec.aten_name}")
        return
    # Only a differentiable (floating-point) result refuses: PyTorch lets eq(x, y, out=o) be.
    if spec.name in _NOT_DIFFERENTIABLE:
        return
    if not any(value.dtype.is_floating_point for value in results):
        return
    if out_requires_grad or _any_requires_grad(args, kwargs):
        _raise_grad_error(spec.aten_name)


def _raise_grad_error(aten_name: str) -> None:
    raise RuntimeError(
        f"{aten_name}(): functions with out=... arguments don't support automatic "
        "differentiation, but one of the arguments requires grad."
    )


def _has_tensor(args: tuple, kwargs: dict) -> bool:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor) or (
            isinstance(value, (tuple, list)) and any(isinstance(item, Tensor) for item in value)
        ):
            return True
    return False


def _any_requires_grad(args: tuple, kwargs: dict) -> bool:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor) and value.requires_grad:
            return True
        if isinstance(value, (tuple, list)) and any(
            isinstance(item, Tensor) and item.requires_grad for item in value
        ):
            return True
    return False


def _with_out_dtype(kwargs: dict, out: Tensor) -> dict:
    requested = kwargs.get("dtype")
    if requested is None:
        return {**kwargs, "dtype": out.dtype}
    if requested != out.dtype:
        raise RuntimeError(
            f"dtype {_legacy(requested)} does not match dtype of out parameter "
            f"({_legacy(out.dtype)})"
        )
    return kwargs


def _check_dtypes(name: str, results: tuple, outs: tuple) -> None:
    pairs = list(enumerate(zip(results, outs)))
    for index, (value, target) in reversed(pairs) if name in _INDICES_FIRST else pairs:
        if value.dtype == target.dtype or (name in _TAKES_OUT_DTYPE and name not in _SAME_DTYPE):
            continue
        template = _SAME_DTYPE.get(name)
        if template is None:
            if can_cast(value.dtype, target.dtype):
                continue
            template = _CAST_REFUSALS.get(name, _CAST)
        elif isinstance(template, tuple):
            template = template[index]
        error = RuntimeError
        if isinstance(template, tuple):
            error, template = template
        raise error(_dtype_message(template, name, value.dtype, target.dtype))


def _dtype_message(template: str, name: str, want, got) -> str:
    return template.format(
        name=name, short=name, want=_legacy(want), got=_legacy(got), want_c=_c_name(want),
        got_c=_c_name(got), int32=want.name == "int32",
        got_type="CPUBoolType" if got.name == "bool" else f"torch.{_legacy(got)}Tensor",
    )


def _c_name(dtype) -> str:
    return {"float64": "double", "float32": "float", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool", "bfloat16": "c10::BFloat16"}[dtype.name]


def _legacy(dtype) -> str:
    """PyTorch's legacy name of ``dtype`` (``Double``, ``Long`` ...)."""
    return "BFloat16" if dtype.name == "bfloat16" else _legacy_of_known(dtype)


def _write(name: str, value: Tensor, target: Tensor, recorded: bool) -> None:
    if target.shape != value.shape:
        _resize(name, target, value.shape)
    if value.dtype != target.dtype:
        value = value.to(target.dtype)  # already checked: the kind allows it
    if recorded:
        inplace(target, value, name)  # out= joins the graph, as PyTorch's copy_ does
        return
    was_leaf_requiring_grad = target.requires_grad and target.grad_fn is None
    with no_grad():
        inplace(target, value, name)
    if value.requires_grad and not was_leaf_requiring_grad:
        target.requires_grad_(True)  # ``zeros(..., requires_grad=True, out=o)``, as in PyTorch


def _resize(name: str, target: Tensor, shape) -> None:
    if target._base is not None:
        raise RuntimeError(
            f"{name}(): out= is a view of shape {list(target.shape)}, but the result has shape "
            f"{list(shape)}; ember cannot resize a view. Pass an out of the result's shape "
            "or a tensor that owns its storage."
        )
    if name == "arange" and target.numel() > 0:
        warnings.warn(_range_warning(target.shape, shape), UserWarning, stacklevel=5)
    elif target.numel() > 0 and name not in _RESIZE_QUIETLY:
        warnings.warn(
            f"An output with one or more elements was resized since it had shape "
            f"{list(target.shape)}, which does not match the required output shape "
            f"{list(shape)}. This behavior is deprecated, and in a future PyTorch release "
            "outputs will not be resized unless they have zero elements. You can explicitly "
            "reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
            UserWarning,
            stacklevel=5,
        )
    target._data = xp.zeros(tuple(shape), dtype=target._data.dtype, like=target._data)


def _range_warning(old, new) -> str:
    return _RANGE_WARNING.format(old=list(old), count=_numel(old), new_count=_numel(new),
                                 new=tuple(new))


def _numel(shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _check_factory_dtype(name: str, dtype) -> None:
    kernel = _FACTORY_KERNELS.get(name)
    if kernel is None:
        return
    kernel_name, accepted = kernel
    refused = not dtype.is_floating_point if accepted == "float" else dtype.name == "bool"
    if refused:
        raise NotImplementedError(f'"{kernel_name}" not implemented for \'{_legacy(dtype)}\'')
