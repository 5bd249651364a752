"""``Op``: the base of ember's own differentiable primitives, and the helpers they share.

An ``Op`` is an ``autograd.Function`` whose ``forward`` receives arrays (tensor
arguments are unwrapped) and returns arrays; ``backward`` receives and returns
tensors, so that it is written with ember's operations and can be differentiated
again. ``ctx.save_for_backward`` takes arrays: those that are an input's or an
output's array come back from ``ctx.saved_tensors`` as that input or output, so the
saved values stay connected to the graph.
"""

from __future__ import annotations

import traceback
from functools import partial

from ember import _autocast, _tape
from ember._backend import (
    address,
    array_types,
    asarray,
    bfloat16 as _BFLOAT16,
    cast,
    cuda as _cuda,
    device_index,
    float_errors_off,
    float_errors_restore,
    generic,
    is_writable,
    ndarray,
    to_device,
    xp,
)
from ember._device import mixed_devices
from ember._dtype import (
    check_python_int,
    checked_int,
    dtype as _dtype_cls,
    float32 as _float32_dtype,
    from_numpy_dtype,
    get_default_dtype,
    result_type,
    wrap_int,
)
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.anomaly_mode import anomaly_state
from ember.autograd.function import Function, _sequence, check_leak, grad_accumulator, keep_saved
from ember.ops._array_math import ArrayMath

OUTPUT = "output"  # in ``Lowered.saves``: the op's result


class Lowered:
    """An op's arithmetic alone, for one recording's shapes and dtypes (``Op.lower``).

    ``forward(*args)`` takes the op's arguments as ``forward`` does, without ``ctx``, and
    returns the result array. ``backward(grad, *saved)`` takes the result's gradient and
    the values named in ``saves`` (an argument's position, ``OUTPUT``, or None for none)
    and returns one gradient per argument: None where none is needed, else an array of
    exactly that argument's shape and dtype (the result's shape for one in ``broadcast``).
    Both compute what the op's own ``forward`` and ``gradients`` compute, kernel for
    kernel, so a replay is bit for bit the eager result.

    With ``kept`` > 0 the forward returns ``(result, *kept_arrays)``: values its backward
    reuses (GELU's erf), passed to ``backward`` after those named in ``saves``.

    ``broadcast`` names the arguments that broadcast against the result (a bias added to
    a batch): their gradient comes back in the result's shape, and the program sums it to
    the argument's shape as the engine does.

    ``written_forward`` and ``written_backward``, where given, write the same kernels as
    lines of the program's own source, so that a replay calls NumPy directly (``xp`` is the
    array module there). ``written_forward(out, *args)`` gets the names or literals of the
    arguments and returns statements that leave the result in ``out``;
    ``written_backward(results, grad, *saved)`` gets a name per argument (None where its
    gradient is not wanted) and returns statements that assign them. Either may return
    None for arguments it does not write (a number with no exact literal): the program
    then calls ``forward`` or ``backward``.
    """

    __slots__ = ("forward", "saves", "backward", "kept", "broadcast", "written_forward",
                 "written_backward")

    def __init__(self, forward, saves, backward, kept=0, broadcast=(), written_forward=None,
                 written_backward=None):
        self.forward, self.saves, self.backward, self.kept = forward, saves, backward, kept
        self.broadcast = broadcast
        self.written_forward, self.written_backward = written_forward, written_backward


def lowerable(*described) -> bool:
    """Whether these are descriptions of arrays that suit a lowered op: float32 or float64
    (no rounding to a narrower dtype to reproduce) and at least one dim (NumPy turns a 0-d
    result into a scalar, which the op's own forward wraps). Anything else (a bool, a
    NumPy scalar) is not."""
    return all(isinstance(getattr(d, "dtype", None), _NUMPY_DTYPE) and d.dtype in _LOWERED_DTYPES
               and len(d.shape) > 0 for d in described)


_LOWERED_DTYPES = (xp.dtype(xp.float32), xp.dtype(xp.float64))
_NUMPY_DTYPE = xp.dtype  # a described array's dtype (NumPy's ``dtype == None`` is float64's)


class _Scratch:
    """A throwaway ctx for a forward that records nothing."""

    def save_for_backward(self, *arrays) -> None:
        pass


class Op(Function):
    """A primitive whose forward works on raw arrays; its node is named ``<Name>Backward0``."""

    _node_suffix = "0"
    view_of: int | None = None  # output 0 shares memory with this argument
    # whether that sharing depends on the argument's layout (a reshape views or copies)
    views_by_layout = False
    # bfloat16 inputs reach the forward as float32 (see ``_apply_lowered``), unless the
    # result depends on bfloat16's own spacing (``nextafter``): then this is False.
    lowers_bfloat16 = True
    # The arguments that PyTorch casts to a bfloat16 result dtype before computing when
    # they are scalars (numbers, 0-d tensors): add, sub, pow ... do; mul and div round only
    # a scalar in first place.
    rounds_scalars_to_bfloat16 = ()
    # The namespace ``gradients`` runs on when the backward pass is recorded: ember's own
    # differentiable ops (``_tensor_math.py``), handed over by ``ember.ops`` once they exist.
    tensor_math = None

    # An op writes its derivative once, as ``gradients(xp, ctx, *grads)`` over an array
    # namespace ``xp``: ``ArrayMath`` for a plain backward, ``tensor_math`` for a recorded one.
    gradients = None
    # Whether ``ember.compile`` may replay the forward on new arrays: not when it returns
    # values computed before the call (random draws), nor when its output's shape depends
    # on the values (a boolean mask).
    replayable = True
    replayable_reason = ""
    # Positions of array arguments that depend on shapes alone (an average pool's divisors):
    # a compiled replay may pass them as they are. Any other array argument is a graph break.
    shape_constants = ()
    # True for the ops of PyTorch's CUDA autocast float32 list that sit outside the CPU's
    # (exp, log, pow, sum, softmax, the norms ...): under autocast("cuda") their narrow
    # floating CUDA inputs are cast to float32 (a recorded cast) before they run.
    cuda_autocast_float32 = False

    @classmethod
    def lower(cls, needs, out, *args):
        """``ember.compile``'s form of this op for arguments like ``args``, or None.

        A tensor argument comes as a description (its ``shape`` and ``dtype``), any other
        argument as it is; ``out`` describes the result and ``needs`` says which arguments
        get a gradient. The recording's guards keep those shapes and dtypes, so the
        ``Lowered`` form skips the checks and promotions that they settle. None, the
        default, replays ``forward`` and the backward whole.
        """
        return None

    @classmethod
    def backward(cls, ctx, *grads):
        return cls.gradients(Op.tensor_math, ctx, *grads)

    @classmethod
    def _backward_on_arrays(cls):
        for klass in cls.__mro__:
            names = vars(klass)
            if "backward_arrays" in names:
                return cls.backward_arrays
            if names.get("gradients") is not None:
                return partial(cls.gradients, ArrayMath)
            if "backward" in names:
                return None
        return None

    @classmethod
    def apply(cls, *args):
        if _cuda.in_use and cls.cuda_autocast_float32 and _autocast.state.cuda_target:
            args = _float32_on_cuda(args)
        # One pass over the arguments unwraps the arrays and gathers, for each tensor, what
        # its node will need: ``autograd.function.connect``, written out for ops (``_record``)
        # because every op call runs it.
        arrays, needs, inputs = [], [], []
        record = lowered = False
        for position, arg in enumerate(args):
            if not isinstance(arg, Tensor):
                arrays.append(arg)
                needs.append(False)
                continue
            if arg._requires_grad:
                record = True
                if arg._base is not None and arg._base.__dict__:
                    _refresh_view(arg)
                data = arg._data
                dtype = data.dtype
                inputs.append((position, data.shape, dtype, arg, 0))  # arg: resolved later
                needs.append(True)
            else:
                data = arg._data
                dtype = data.dtype
                inputs.append((position, data.shape, dtype, None, 0))
                needs.append(False)
            if dtype is _BFLOAT16:
                lowered = True
            arrays.append(data)
        record = record and (_recording.everywhere or _grad_state.enabled)
        if _cuda.in_use and len(inputs) > 1:  # a CUDA array exists: the inputs must agree
            _on_one_device(cls, args, arrays)
        if lowered and cls.view_of is None and cls.lowers_bfloat16:
            return _apply_lowered(cls, args, arrays, needs, inputs, record and len(args))
        ctx = cls._backward_cls() if record else _Scratch()
        token = float_errors_off()  # as in ``_forward``, written out: every op call runs it
        try:
            result = cls.forward(ctx, *arrays)
        finally:
            float_errors_restore(token)
        if type(result) is tuple:
            outputs = tuple([_make(_as_array(r)) for r in result])
        else:
            outputs = (_make(result if type(result) is ndarray else asarray(result)),)
        if cls.view_of is not None:
            source = args[cls.view_of]
            if xp.shares_memory(outputs[0]._data, source._data):
                outputs[0]._version_counter = source._version_counter
                outputs[0]._base = source if source._base is None else source._base
        if record:
            ctx.needs_input_grad, ctx._num_args = tuple(needs), len(args)
            _record(ctx, args, inputs, outputs)
        if _tape_anywhere.count:  # a compiled call is being recorded
            _on_tape(cls, args, arrays, outputs, ctx if record else None, result)
        return outputs if type(result) is tuple else outputs[0]


def _float32_on_cuda(args) -> tuple:
    """``args`` with their float16 and bfloat16 CUDA tensors cast to float32, as PyTorch's
    CUDA autocast casts the inputs of its float32 list (the cast is recorded: gradients
    flow back in the narrow type)."""
    from ember.ops.copy import to_dtype  # copy.py defines its ops on this module's Op

    return tuple([to_dtype(arg, _float32_dtype) if _narrow_on_cuda(arg) else arg
                  for arg in args])


def _narrow_on_cuda(arg) -> bool:
    return isinstance(arg, Tensor) and device_index(arg._data) is not None and (
        arg._data.dtype == xp.float16 or arg._data.dtype is _BFLOAT16)


def _on_one_device(cls, args, arrays) -> None:
    """Check that an op's tensors are on one device. A 0-d CPU tensor may join CUDA ones,
    as in PyTorch (it is a scalar): its array is copied to their GPU in ``arrays``."""
    found = {}
    for position, arg in enumerate(args):
        if isinstance(arg, Tensor):
            found.setdefault(device_index(arg._data), []).append(position)
    if len(found) < 2:
        return
    scalars = [p for p in found.get(None, ()) if arrays[p].ndim == 0]
    gpus = sorted(index for index in found if index is not None)
    if len(gpus) == 1 and len(scalars) == len(found[None]):
        for position in scalars:
            arrays[position] = to_device(arrays[position], gpus[0])
        return
    raise mixed_devices(found, cls.__name__)


def _on_tape(cls, args, arrays, outputs, node, result) -> None:
    tape = _tape.current()
    if tape is not None:
        tape.op(cls, args, arrays, outputs, node, result)


class NonDifferentiable(Op):
    """``function(*arrays)`` for a result that carries no gradient (``all``, ``any``): an op,
    so that a compiled call records it like any other kernel."""

    @staticmethod
    def forward(ctx, function, *arrays):
        return function(*arrays)

    @staticmethod
    def gradients(xp, ctx, *grads):
        return (None,) * ctx._num_args

    @classmethod
    def found(cls, function, *inputs, **options):
        """``function(inputs' arrays, **options)`` as a tensor: what an op finds in the
        values (a selection's indices, a one-hot code). Eagerly a plain call; while a
        compiled call records, this op, which a replay runs again on each call's values."""
        if _tape.current() is None:
            return _make(function(*[input._data for input in inputs], **options))
        return cls.apply(partial(function, **options), *inputs)


class Check(NonDifferentiable):
    """``function(*arrays)``, which raises for values it refuses and whose result nothing
    reads: a compiled program keeps it all the same (``effect``), so that each replay checks
    that call's values (a distribution's arguments against their constraints)."""

    effect = True

    @classmethod
    def values(cls, function, *inputs, **options) -> None:
        if _tape.current() is None:
            function(*[input._data for input in inputs], **options)
        else:
            cls.apply(partial(function, **options), *inputs)


def _apply_lowered(cls, args, arrays, needs, inputs, num_args):
    """``Op.apply`` with a bfloat16 input: the forward runs on float32, as PyTorch's CPU kernels.

    bfloat16 arrays are widened to float32 (exactly), the forward runs once, and each
    float32 output is rounded back to bfloat16 once, when bfloat16 is the result dtype of
    the tensor inputs and no dtype argument asked for another one. What the forward saved
    stays float32 for ``backward_arrays``; ``saved_tensors`` gives the bfloat16 tensors
    themselves, so a graph built by ``create_graph=True`` stays connected.
    """
    wide = [a.astype(_FLOAT32) if type(a) is ndarray and a.dtype is _BFLOAT16 else a
            for a in arrays]
    requested = [a for a in arrays if isinstance(a, _NUMPY_DTYPE)]
    narrow = (not requested or requested == [_BFLOAT16]) and result_type(
        *[arrays[position] for position, *_ in inputs]).numpy is _BFLOAT16
    if requested == [_BFLOAT16]:
        wide = [_FLOAT32 if a is _BFLOAT16 else a for a in wide]
    if narrow and cls.rounds_scalars_to_bfloat16:
        for position in cls.rounds_scalars_to_bfloat16:
            if wide[position] is arrays[position]:
                wide[position] = _through_bfloat16(wide[position])
    ctx = cls._backward_cls() if num_args else _Scratch()
    result = _forward(cls, ctx, wide)
    results = result if type(result) is tuple else (result,)
    raw = [_as_array(r) for r in results]
    rounded = [r.astype(_BFLOAT16) if narrow and r.dtype == _FLOAT32 else r for r in raw]
    outputs = tuple([_make(r) for r in rounded])
    if num_args:
        ctx.needs_input_grad, ctx._num_args = tuple(needs), num_args
        saved = ctx.__dict__.get("to_save")
        if saved:
            ctx.to_save = [_narrow_saved(item, wide, arrays, raw, rounded) for item in saved]
        _record(ctx, args, inputs, outputs)
        if saved and ctx._saved_data:
            ctx._saved_data = tuple([_wide_saved(item, raw, rounded) for item in saved])
        elif saved:  # saved-tensor hooks packed them: they are widened when unpacked
            ctx._widened = True
        if ctx._backward_arrays is not None:
            ctx._backward_arrays = partial(_backward_widened, type(ctx)._backward_arrays)
    if _tape_anywhere.count:  # a compiled call is being recorded: this path is not
        tape = _tape.current()
        if tape is not None:
            tape.graph_break(f"{cls.__name__}: bfloat16 tensors are not recorded")
    return outputs if type(result) is tuple else outputs[0]


def _through_bfloat16(value):
    """A number or non-bfloat16 float array rounded to bfloat16, as float32 again."""
    if type(value) in (int, float):
        return float(cast(asarray(value, xp.float64), _BFLOAT16).astype(_FLOAT32))
    if type(value) is ndarray and value.dtype.kind == "f":
        return cast(value, _BFLOAT16).astype(_FLOAT32)
    return value


def _narrow_saved(item, wide, arrays, raw, rounded):
    """A saved float32 copy of an input or output, as that bfloat16 input or output."""
    for copy, original in zip(wide, arrays):
        if item is copy:
            return original
    for copy, original in zip(raw, rounded):
        if item is copy:
            return original
    return item


def _wide_saved(item, raw, rounded):
    """What ``backward_arrays`` reads: a saved output as the rounded value, in float32."""
    for copy, original in zip(raw, rounded):
        if item is copy and original is not copy:
            return original.astype(_FLOAT32)
    return item


def _backward_widened(backward_arrays, ctx, *grads):
    """A ``backward_arrays`` of a bfloat16 node, on float32 gradients (the engine rounds)."""
    return backward_arrays(ctx, *[
        g.astype(_FLOAT32) if g is not None and g.dtype is _BFLOAT16 else g for g in grads])


_FLOAT32 = xp.dtype(xp.float32)
_NUMPY_DTYPE = xp.dtype
_make = Tensor._make
_tape_anywhere = _tape.anywhere
_grad_state = grad_mode.state  # a threading.local: each thread reads its own mode
_recording = grad_mode.recording  # True while no thread has grad mode off
def _forward(cls, ctx, arrays):
    """``cls.forward`` on arrays, without NumPy's floating-point warnings (PyTorch has none)."""
    token = float_errors_off()
    try:
        return cls.forward(ctx, *arrays)
    finally:
        float_errors_restore(token)


def _as_array(value):
    return value if type(value) is ndarray else asarray(value)


def _record(node, args, inputs, outputs) -> None:
    """``autograd.function.connect`` and ``keep_saved`` for an op, whose forward saved arrays.

    ``inputs`` holds, per tensor argument, its entry of ``node._input_meta`` with the
    tensor itself in place of the node its gradient goes to (or None when it needs none).
    """
    meta = []
    for position, shape, dtype, tensor, _ in inputs:
        if tensor is None:
            meta.append((position, shape, dtype, None, 0))
            continue
        # ``edge_of``, written out: this runs for every tensor input of every op
        next_node = tensor.grad_fn
        if next_node is None:
            meta.append((position, shape, dtype, grad_accumulator(tensor), 0))
            continue
        if next_node._executed_at >= 0:  # it ran backward already: from an earlier step?
            check_leak(next_node)
        meta.append((position, shape, dtype, next_node, tensor._output_nr))
    node._input_meta = tuple(meta)
    node._sequence_nr = next(_sequence)
    if len(outputs) == 1:
        data = outputs[0]._data
        node._output_meta = ((data.shape, data.dtype),)
        if data.dtype.kind == "f" or data.dtype is _BFLOAT16:
            out = outputs[0]
            out._requires_grad, out.grad_fn = True, node
    else:
        node._output_meta = tuple([(out._data.shape, out._data.dtype) for out in outputs])
        for output_nr, out in enumerate(outputs):
            if out._data.dtype.kind == "f" or out._data.dtype is _BFLOAT16:
                out._requires_grad, out.grad_fn, out._output_nr = True, node, output_nr
    if anomaly_state.enabled:
        node._trace = traceback.format_stack()[:-3]
    saved = node.__dict__.pop("to_save", None)
    if not saved:
        return
    # The forward saved arrays. An output's or a tensor argument's array is kept as that
    # tensor, so ``saved_tensors`` stays connected to the graph; any other, as a constant.
    tensors = []
    for item in saved:
        if item is not None:
            for tensor in outputs:
                if tensor._data is item:
                    item = tensor
                    break
            else:
                for tensor in args:
                    if isinstance(tensor, Tensor) and tensor._data is item:
                        item = tensor
                        break
                else:
                    item = Tensor._make(_saved_constant(item, outputs))
        tensors.append(item)
    keep_saved(node, tensors, saved)


def _saved_constant(value, outputs):
    """A saved value that is neither an argument's nor an output's array, as an array; a
    NumPy scalar (a promoted Python number) is made on the outputs' device."""
    if isinstance(value, generic):
        return xp.asarray(value, like=outputs[0]._data)
    return _as_array(value)


# ---------------------------------------------------------------- shared helpers


def open_grid(shape: tuple, like) -> list:
    """NumPy's ``ogrid`` over ``shape``, made on ``like``'s device: per dim, its indices
    shaped to broadcast against the others'."""
    ndim = len(shape)
    return [xp.arange(size, like=like).reshape((size,) + (1,) * (ndim - 1 - axis))
            for axis, size in enumerate(shape)]


def wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    """A dimension index in ``[0, ndim)``, or PyTorch's IndexError for an out-of-range one."""
    bound = max(ndim, 1)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{op}(): dim must be an int, got {type(dim).__name__}")
    if not -bound <= dim < bound:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], "
            f"but got {dim})"
        )
    return dim % bound


def wrap_dims(dims, ndim: int, op: str = "") -> tuple:
    """Normalize ``None``, an int, or a sequence of dims; repeated dims are an error."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    wrapped = tuple(wrap_dim(d, ndim, op) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"{op}(): dim {list(dims)} appears multiple times in the list of dims")
    return wrapped


def as_tensor_operand(value, op: str):
    """A tensor argument stays; a Python or NumPy scalar is returned as a Python number."""
    if type(value) is Tensor or type(value) is float or isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        if type(value) is int:
            check_python_int(value)
        return value
    if hasattr(value, "dtype") and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, (list, tuple, ndarray)):
        from ember.ops.creation import tensor  # the op families import this module

        return tensor(value)
    raise TypeError(
        f"{op}(): expected Tensor or Number as argument, but got {type(value).__name__}"
    )


def promote(*values) -> list:
    """Inside a forward: cast arrays and scalars to their PyTorch result dtype.

    Dimensioned arrays outrank 0-d arrays outrank Python scalars (``result_type``);
    every value comes back as an array of the result dtype.
    """
    common = _common_dtype(values)
    if common is not None:  # the others are Python numbers: NumPy scalars join any device
        return [value if type(value) in array_types else common.type(value) for value in values]
    target = result_type(*values).numpy
    return [
        value if type(value) in array_types and value.dtype == target
        else _scalar_array(value, target)
        for value in values
    ]


def _scalar_array(value, target):
    """``value`` as an array of ``target``: a Python int wraps to an integer dtype, as in C.
    A Python number becomes a NumPy scalar, which CuPy's kernels also take as an argument."""
    if type(value) is int and target.kind in "iu":
        value = wrap_int(value, target)
    if type(value) in (int, float, bool):
        return target.type(value)
    return asarray(value, target)


def checked_scalar(value, *operands):
    """A Python int that must fit the integer result dtype of ``operands`` (a bound, an alpha).

    PyTorch converts such a value with ``checked_convert``: it raises its RuntimeError
    where the value overflows the dtype, where arithmetic operands wrap instead.
    """
    if type(value) is not int:
        return value
    check_python_int(value)
    target = result_type(*operands).numpy
    return checked_int(value, target) if target.kind in "iu" else value


def _common_dtype(values):
    """The NumPy dtype shared by every array when that decides promotion alone, else None.

    Arrays of one dtype keep it; Python numbers beside them keep it too when it is
    floating (a float tensor outranks any Python scalar), the common case of ``x * 2.0``.
    """
    common = None
    scalars = False
    for value in values:
        if type(value) in array_types:
            if common is None:
                common = value.dtype
            elif value.dtype is not common:
                return None
        elif type(value) in _PYTHON_SCALARS:
            scalars = True
        else:
            return None
    if common is None or (scalars and common.kind != "f"):
        return None
    return common


_PYTHON_SCALARS = (float, int, bool)


def float_input(array):
    """Integer and bool inputs of floating-point math become the default float dtype."""
    if array.dtype.kind == "f":
        return array
    return array.astype(get_default_dtype().numpy)


def broadcast_shape(op: str, *shapes) -> tuple:
    """The broadcast of ``shapes``, or PyTorch's RuntimeError naming the sizes that clash.

    As PyTorch, the shapes are taken in turn, each against the broadcast of those before
    it, from the last dim to the first: the error names the first clash met that way.
    """
    first = shapes[0] if shapes else ()
    for shape in shapes:
        if shape != first:
            break
    else:
        return tuple(first)
    width = max(len(shape) for shape in shapes)
    result = [1] * width
    for shape in shapes:
        offset = width - len(shape)
        for index in range(len(shape) - 1, -1, -1):
            size = shape[index]
            if size != 1:
                current = result[offset + index]
                if current == 1:
                    result[offset + index] = size
                elif current != size:
                    raise RuntimeError(
                        f"{op}: The size of tensor a ({current}) must match the size of tensor "
                        f"b ({size}) at non-singleton dimension {offset + index}"
                    )
    return tuple(result)


def check_float(op: str, tensor: Tensor) -> None:
    if not tensor.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating point tensor, got {tensor.dtype}")


def dtype_of(array) -> _dtype_cls:
    return from_numpy_dtype(array.dtype)


def inplace(target: Tensor, result: Tensor, op: str) -> Tensor:
    """Write ``result`` into ``target``'s storage and make ``target`` its graph position.

    ``result`` must have been computed from ``snapshot(target)`` so that nothing in its
    graph refers to the storage being overwritten.
    """
    check_leaf_inplace(target)
    data = result._data
    if data.dtype != target._data.dtype:
        target_dtype, result_dtype = target.dtype, result.dtype
        if result_dtype._category > target_dtype._category:
            raise RuntimeError(
                f"{op}: result type {_legacy(result_dtype)} can't be cast to the desired output "
                f"type {_legacy(target_dtype)}"
            )
    if data.shape != target._data.shape:
        if broadcast_shape(op, data.shape, target._data.shape) != target._data.shape:
            raise RuntimeError(
                f"{op}: output with shape {list(target.shape)} doesn't match the broadcast "
                f"shape {list(data.shape)}"
            )
    if not is_writable(target._data):
        raise RuntimeError(
            f"{op}: unsupported operation: the tensor is a broadcast (expanded) view whose "
            "elements share memory; call .clone() before writing to it."
        )
    base = target._base
    if (
        base is not None
        and grad_mode.state.enabled
        and (result.grad_fn is not None or base._requires_grad)
    ):
        return _inplace_on_view(target, base, result)
    tape = _tape.current()
    if tape is not None:
        tape.write(target, result)
    xp.copyto(target._data, data, casting="unsafe")
    target._version_counter[0] += 1
    if grad_mode.state.enabled and (result.grad_fn is not None or target.grad_fn is not None):
        _mark_rebased(target)
    if result.grad_fn is not None:
        target.grad_fn = result.grad_fn
        target._output_nr = result._output_nr
        target._requires_grad = True
    elif target.grad_fn is not None and grad_mode.state.enabled:
        target.grad_fn, target._requires_grad = None, False  # overwritten by a constant
    if tape is not None:
        tape.wrote(target)
    return target


def _inplace_on_view(target: Tensor, base: Tensor, result: Tensor) -> Tensor:
    """An in-place change of a view rewrites its base's place in the graph (PyTorch's CopySlices).

    The view's elements are located in the base (as flat positions); the base becomes
    ``index_put(old base, positions, result)`` and the view a gather from that, so gradients
    reach both the overwritten values' source and the untouched part of the base.
    """
    from ember.ops.indexing import index_put  # the op families import this module

    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    tape = _tape.current()  # a compiled call's recording follows the ops below
    if tape is not None:
        tape.view_write(target, base)
    positions = _positions_tensor(base, target)
    old_base = snapshot(base)
    values = result if result.dtype is base.dtype else result.to(base.dtype)
    values = values.expand(target.shape).reshape(-1)
    xp.copyto(target._data, result._data, casting="unsafe")
    target._version_counter[0] += 1
    new_base = index_put(old_base.reshape(-1), (positions,), values).reshape(base.shape)
    base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, new_base._output_nr, True
    if tape is not None:
        tape.rebind(base, new_base, written=target._data)
    _mark_rebased(base)
    _view_of(target, base, positions)
    return target


def _positions_tensor(base: Tensor, view: Tensor) -> Tensor:
    """``_positions_in`` as a flat tensor: a constant of a compiled call's recording, since
    it follows from the shapes and strides of the two alone."""
    return _tape.made(Tensor._make(_positions_in(base._data, view._data).reshape(-1)))


def _mark_rebased(tensor: Tensor) -> None:
    """``tensor`` has a new place in the graph: its views must re-derive theirs when used."""
    tensor.__dict__["_rebased"] = tensor.__dict__.get("_rebased", 0) + 1


def _view_of(view: Tensor, base: Tensor, positions: Tensor) -> None:
    from ember.ops.indexing import getitem  # the op families import this module

    flat = base.reshape(-1)
    flat.__dict__["_seen_rebased"] = base.__dict__.get("_rebased", 0)  # already current
    derived = getitem(flat, positions).reshape(view.shape)
    view.grad_fn, view._output_nr, view._requires_grad = derived.grad_fn, derived._output_nr, True
    tape = _tape.current()
    if tape is not None:
        tape.rebind(view, derived)
    view.__dict__["_seen_rebased"] = base.__dict__.get("_rebased", 0)


def _refresh_view(view: Tensor) -> None:
    """A view whose base changed place in the graph (an in-place op) takes its new place."""
    base = view._base
    if not grad_mode.state.enabled or not base.__dict__:
        return
    if view.__dict__.get("_seen_rebased", 0) != base.__dict__.get("_rebased", 0):
        _view_of(view, base, _positions_tensor(base, view))


def _positions_in(base, view):
    """For each element of ``view`` (an array sharing ``base``'s memory), its flat index in
    ``base``."""
    def addresses(array, start):
        offsets = xp.full(array.shape, start, dtype=xp.int64, like=array)
        for axis, (size, stride) in enumerate(zip(array.shape, array.strides)):
            shape = [1] * array.ndim
            shape[axis] = size
            offsets += (xp.arange(size, dtype=xp.int64, like=array) * stride).reshape(shape)
        return offsets

    base_start, view_start = address(base), address(view)
    base_addresses = addresses(base, 0).reshape(-1)
    order = xp.argsort(base_addresses, kind="stable")
    found = xp.searchsorted(base_addresses[order], addresses(view, view_start - base_start))
    return order[found]


def snapshot(target: Tensor) -> Tensor:
    """The value of ``target`` before an in-place change, at the same place in the graph."""
    if not grad_mode.state.enabled:
        return target
    check_leaf_inplace(target)
    if target._base is not None and target._base.__dict__:  # as an op's argument: a view
        _refresh_view(target)  # whose base changed since takes its new place first
    copy = Tensor._make(target._data.copy(), target._requires_grad)
    copy.grad_fn, copy._output_nr = target.grad_fn, target._output_nr
    tape = _tape.current()
    if tape is not None:
        tape.snapshot(copy, target)
    return copy


def check_leaf_inplace(target: Tensor) -> None:
    if grad_mode.state.enabled and target._requires_grad and target.grad_fn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )


def _legacy(d: _dtype_cls) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool", "bfloat16": "BFloat16"}[d.name]
