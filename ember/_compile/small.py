"""``mode="reduce-overhead"``: the first lines of a small program run as one numba function.

A step of a small model (the README's NAND network: arrays of a few elements) spends most
of its time calling kernels, not in them: each NumPy call costs about a microsecond
whatever its size. PyTorch's ``reduce-overhead`` mode removes that cost on GPUs with CUDA
graphs; here, for a program whose arrays are all small, the lines that only compute on
arrays (the forward and, in a training step, the backward up to the accumulation into
``.grad``) become ONE function that numba compiles, whose arithmetic runs as loops with
no call between kernels. What follows them (the accumulations, an optimizer's step, the
return) stays Python.

This gives up the bit-for-bit promise of the default mode, as PyTorch's own compiled
kernels do: numba's ``exp``, ``log`` and ``tanh`` are not NumPy's, its matrix products are loops
where NumPy calls BLAS, its sums add in another order. Results agree with eager to the
last bits of float32 (``tests/test_compile_small.py`` holds them to ``rtol=1e-5``).

How: ``Program`` writes its forward as it always does. ``offer`` reads that source line by
line and takes the longest first run of lines it can hand to numba, each one a lowered op
(``Op.lower``) with an equivalent here, written over arrays of at most ``SMALL``
elements. It writes those lines, unchanged, as the body of ``small<N>``, with each
kernel's name bound to its equivalent, and a new Python forward that calls it. numba
compiles the function in the background thread of ``fusion``; until then the program runs
as written.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap

from ember._backend import xp
from ember._compile import fusion
from ember.nn._functional.linear import Addmm
from ember.nn._functional.loss import MseLoss
from ember.ops.elementwise.arithmetic import Add, Div, Mul, Sub
from ember.ops.elementwise.unary import Exp, Log, Relu, Sigmoid, Tanh
from ember.ops.reduction.sums import Sum

SMALL = 1024  # elements: above this an array's arithmetic outweighs a call, and BLAS wins
_PRODUCT = 8192  # multiply-adds of a matrix product: above this, NumPy's BLAS call is faster
_MINIMUM = 3  # kernels: fewer are not worth a function of their own

# ---------------------------------------------------------------- the equivalents
# Each is the source of a function that takes the arguments the program's line passes
# (the lowered form's) and returns what that form returns, but always new arrays (never
# an argument, never one array twice). (``.grad`` gets a copy of a numba array in any
# case: its memory is numba's, ``base`` is not None.)

_MATRICES = '''
def times(a, b):  # a @ b, for any layouts (a transposed view is one)
    out = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for i in range(a.shape[0]):
        for k in range(a.shape[1]):
            for j in range(b.shape[1]):
                out[i, j] += a[i, k] * b[k, j]
    return out

def column_sums(a):  # a.sum(axis=0)
    out = np.zeros(a.shape[1], a.dtype)
    for k in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j] += a[k, j]
    return out
'''

# unary ops: (forward of x, derivative from x and y), as numba array expressions
_UNARY = {
    Sigmoid: ("ONE / (ONE + np.exp(-x))", "y * (ONE - y)"),
    Tanh: ("np.tanh(x)", "ONE - y * y"),
    Relu: ("np.maximum(x, ZERO)", "np.where(y > ZERO, ONE, ZERO)"),
    Exp: ("np.exp(x)", "y"),
    Log: ("np.log(x)", "ONE / x"),
}


def _number(value) -> str:
    return f"T({float(value)!r})"


def _operand(step, position, name) -> str:
    """An operand of a binary op in its equivalent: the array argument ``name``, or the
    Python number the step was recorded with, in the result's dtype (as ``_promoted``)."""
    value = step.args[position]
    return _number(value) if isinstance(value, (int, float)) else name


def _pick(needs, *expressions) -> str:
    """A tuple of the gradients that are needed (None for the others)."""
    return "(" + "".join(f"{e if need else 'None'}, " for need, e in zip(needs, expressions)) + ")"


def _unary(step, role, needs) -> str:
    forward, derivative = _UNARY[step.op]
    if role == "forward":
        return f"def f(x):\n    return {forward}\n"
    return f"def f(grad, x, y):\n    return (grad * ({derivative}),)\n"


def _addmm(step, role, needs) -> str | None:
    x, weight, bias = step.args
    if len(x.shape) != 2 or math.prod(x.shape) * weight.shape[0] > _PRODUCT:
        return None  # more rows than one matrix, or a product BLAS does faster
    if role == "forward":
        return "def f(x, weight, bias):\n    return times(x, weight.T) + bias\n"
    return "def f(grad, x, weight):\n    return " + _pick(
        needs, "times(grad, weight)", "times(grad.T, x)", "column_sums(grad)") + "\n"


def _mse_loss(step, role, needs) -> str:
    reduction, count = step.args[2], math.prod(step.args[0].shape)
    if role == "forward":
        result = {"mean": f"np.asarray(T((d * d).sum() / T({count})))",
                  "sum": "np.asarray(T((d * d).sum()))"}.get(reduction, "d * d")
        return f"def f(input, target, reduction):\n    d = input - target\n    return {result}\n"
    scale = 2.0 / count if reduction == "mean" else 2.0
    seed = "grad[()]" if reduction in ("mean", "sum") else "grad"
    return (f"def f(grad, input, target):\n    d = (input - target) * ({seed} * "
            f"{_number(scale)})\n    return " + _pick(needs, "d", "-d", "None") + "\n")


def _add_or_sub(step, role, needs) -> str | None:
    alpha = step.args[2]
    if not isinstance(alpha, (int, float)):
        return None
    add = step.op is Add
    if role == "forward":
        a, b = _operand(step, 0, "a"), _operand(step, 1, "b")
        second = b if alpha == 1 else f"{b} * {_number(alpha)}"
        return f"def f(a, b, alpha):\n    return {a} {'+' if add else '-'} {second}\n"
    factor = alpha if add else -alpha
    return "def f(grad):\n    return " + _pick(
        (True, needs[1], False), "grad.copy()", f"grad * {_number(factor)}", "None") + "\n"


def _mul_or_div(step, role, needs) -> str:
    a, b = _operand(step, 0, "a"), _operand(step, 1, "b")
    mul = step.op is Mul
    if role == "forward":
        return f"def f(a, b):\n    return {a} {'*' if mul else '/'} {b}\n"
    gradients = (f"grad * {b}", f"grad * {a}") if mul else (
        f"grad / {b}", f"-grad * {a} / ({b} * {b})")
    return "def f(grad, a, b):\n    return " + _pick(needs, *gradients) + "\n"


def _sum(step, role, needs) -> str | None:
    x, dims, keepdim, _ = step.args
    if keepdim or (dims is not None and sorted(dims) != list(range(len(x.shape)))):
        return None  # a full reduction only
    if role == "forward":
        return "def f(x, dims, keepdim, dtype):\n    return np.asarray(x.sum())\n"
    return f"def f(grad):\n    return (np.full({tuple(x.shape)!r}, grad[()]), None, None, None)\n"


# op -> (step, role, needs) -> the source of ``f``, its equivalent, or None
_EQUIVALENTS = dict.fromkeys(_UNARY, _unary) | {
    Addmm: _addmm, MseLoss: _mse_loss, Add: _add_or_sub, Sub: _add_or_sub, Mul: _mul_or_div,
    Div: _mul_or_div, Sum: _sum,
}


def _equivalent(step, role) -> str | None:
    """The source of ``f``, the equivalent of the lowered ``role`` ("forward" or
    "backward") of ``step``; None where it has none."""
    write = _EQUIVALENTS.get(step.op)
    needs = step.needs or (False,) * len(step.args)
    return None if write is None else write(step, role, needs)


# ---------------------------------------------------------------- reading the program
_KERNEL = re.compile(r"(?:B(\d+)|([A-Za-z]\w*)_(\d+))")


def _kernel_step(program, name):
    """(step, role) of a kernel name of the program's source (``Addmm_1``, ``B3``) that
    stands for a lowered op's forward or backward; None for any other name."""
    match = _KERNEL.fullmatch(name)
    if match is None:
        return None
    backward, op, number = match.groups()
    number = int(backward or number)
    if number >= len(program.steps) or number not in program.lowered:
        return None
    step = program.steps[number]
    if op is not None and step.op.__name__ != op:
        return None
    return step, "backward" if backward else "forward"


def _small(step) -> bool:
    slots = [s for s in (*step.args, *step.outputs) if hasattr(s, "shape")]
    return all(math.prod(s.shape) <= SMALL and 0 not in s.shape for s in slots)


class _Reader:
    """Which names the first lines of a forward read and write, line by line."""

    def __init__(self, program):
        self.program = program
        # the source's and the namespace arrays' (dtype, ndim) by name
        self.readable = {s.name: (s.dtype, len(s.shape)) for s in program.sources} | {
            name: (value.dtype, value.ndim) for name, value in program.namespace.items()
            if type(value) is xp.ndarray}
        self.local = {}  # names assigned in the lines taken, in order (the values unused)
        self.arguments = {}  # name -> (dtype, ndim): what the lines read from outside
        self.kernels = {}  # kernel name -> (the source of its equivalent, its result's dtype)

    def takes(self, statement) -> bool:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            return False
        (target,) = statement.targets
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        kernels, arguments = dict(self.kernels), dict(self.arguments)
        if not all(isinstance(n, ast.Name) for n in names) or not self._value(statement.value):
            self.kernels, self.arguments = kernels, arguments  # a line not taken adds nothing
            return False
        self.local.update(dict.fromkeys(n.id for n in names))
        return True

    def _value(self, node) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Tuple):
            return all(isinstance(e, ast.Constant) for e in node.elts)
        if isinstance(node, ast.Name):
            return self._read(node.id)
        if isinstance(node, ast.Subscript):
            return isinstance(node.slice, ast.Constant) and self._value(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._value(node.left) and self._value(node.right)
        if isinstance(node, ast.Call) and not node.keywords:
            function = node.func
            if isinstance(function, ast.Attribute):  # ``ones<N>.copy()``, the backward's seed
                return function.attr == "copy" and not node.args and self._value(function.value)
            return isinstance(function, ast.Name) and self._call(function.id) and \
                all(self._value(a) for a in node.args)
        return False

    def _read(self, name) -> bool:
        if name in self.local:
            return True
        if name in self.readable:
            self.arguments[name] = self.readable[name]
            return True
        return False

    def _call(self, name) -> bool:
        if name == "asarray" or name in self.kernels:
            return True
        found = _kernel_step(self.program, name)
        if found is None or not _small(found[0]):
            return False
        source = _equivalent(*found)
        if source is None:
            return False
        self.kernels[name] = source, found[0].outputs[0].dtype
        return True


def _split(program) -> tuple | None:
    """(the lines numba takes, the lines after them, the reader, the names the written
    forward sets to None first) of the program's forward; None where too few lines can be
    taken."""
    if not all(s.on_host for s in program.sources + program.constants):
        return None  # CuPy's arrays: numba's loops take NumPy's
    body = program.forward_source.splitlines()[1:]
    reader, taken, position = _Reader(program), [], 0
    unset = set()  # ``g… = None``: the gradients the written code starts from
    for position, line in enumerate(body):
        text = line.strip()
        if text.startswith("#"):
            continue
        try:
            statement = ast.parse(text).body[0]
        except SyntaxError:  # the first line of a block (``if g… is not None:``)
            break
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) \
                and statement.value.value is None:
            unset.update(t.id for t in statement.targets if isinstance(t, ast.Name))
            continue
        if not reader.takes(statement):
            break
        taken.append(text)
    else:
        position = len(body)
    if len(reader.kernels) < _MINIMUM:
        return None
    rest = body[position:]
    return taken, rest, reader, sorted(unset)


def offer(program) -> None:
    """Write ``program.small_source`` where the first lines of its forward can run as one
    numba function, and have ``fusion`` compile it; once compiled, the program's forward
    becomes the one that calls it."""
    split = _split(program)
    if split is None:
        return
    taken, rest, reader, unset = split
    read_after = {n.id for n in ast.walk(ast.parse(textwrap.dedent("\n".join(rest))))
                  if isinstance(n, ast.Name)}
    results = [name for name in reader.local if name in read_after]
    arguments = list(reader.arguments)
    name = f"small{program.number}"
    inner = [f"def {name}({', '.join(arguments)}):"] + [f"    {line}" for line in taken]
    inner.append(f"    return ({''.join(r + ', ' for r in results)})")
    inner_source = "\n".join(inner) + "\n"
    parameters = ", ".join(s.name for s in program.sources)
    outer = [f"def forward(inputs, {parameters}):"]
    if unset:
        outer.append(f"    {' = '.join(unset)} = None")
    outer.append(f"    {''.join(r + ', ' for r in results)}= {name}({', '.join(arguments)})"
                 f"  # {len(reader.kernels)} kernels as one numba function")
    outer_source = "\n".join(outer + rest) + "\n"
    program.small_source = f"# run by numba ({name}):\n{inner_source}\n{outer_source}"

    def build(numba):
        namespace = {"np": xp}
        exec(_MATRICES, namespace)  # noqa: S102 - the source above
        for helper in ("times", "column_sums"):
            namespace[helper] = numba.njit(nogil=True, error_model="numpy")(namespace[helper])
        namespace["asarray"] = xp.asarray
        for kernel, (source, dtype) in reader.kernels.items():
            scope = dict(namespace, T=dtype.type, ONE=dtype.type(1), ZERO=dtype.type(0))
            exec(source, scope)  # noqa: S102 - written above
            namespace[kernel] = numba.njit(nogil=True, error_model="numpy")(scope["f"])
        exec(inner_source, namespace)  # noqa: S102
        function = numba.njit(nogil=True, error_model="numpy")(namespace[name])
        function.compile(tuple(numba.types.Array(numba.from_dtype(dtype), ndim, "A",
                                                 readonly=True)
                               for dtype, ndim in reader.arguments.values()))
        function.disable_compile()  # any other arguments: a TypeError, never a compilation
        return function

    def ready(function):  # in the program's namespace, whose fused kernels may bind later
        program.namespace[name] = function
        exec(outer_source, program.namespace)  # noqa: S102
        program.forward, program.small = program.namespace["forward"], function

    fusion.request(name, build, ready)
