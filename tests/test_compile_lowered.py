"""Lowered ops in ``ember.compile``: an op's arithmetic alone (``Op.lower``), bit for bit.

A lowered op replays without its checks and promotions, and its backward without a ctx or
the engine's shape conforming, so each family is held to eager ember here: every row of the
unary table, the binary arithmetic with tensors (broadcasting or not) and Python numbers on
either side, sums, the MSE loss, the linear layer's product, views, permutations and
slices, in float32 and float64. Each case runs with the backward inside the compiled call
and outside it (the region's own node), and checks that the op really was lowered. Last,
the gradient of a split's pieces, gathered in one array, against eager's sum of paddings,
to the sign of each zero.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops.elementwise import unary
from ember.ops.elementwise.arithmetic import Add

DTYPES = [ember.float32, ember.float64]


def _same(a, b, what):
    a, b = a.detach().numpy(), b.detach().numpy()
    assert a.dtype == b.dtype and a.shape == b.shape, what
    np.testing.assert_array_equal(a, b, err_msg=what)


def _tensors(rng, shapes, dtype, low=0.2, high=1.4):
    """One tensor that requires grad per shape, values in [low, high)."""
    return [ember.tensor(rng.uniform(low, high, shape), dtype=dtype, requires_grad=True)
            for shape in shapes]


def _check(function, arrays, lowered_ops, seed=0):
    """``function`` compiled against eager: outputs and input gradients under a random
    cotangent, with ``backward()`` inside the compiled call and outside it; ``lowered_ops``
    (op class names) must all have been lowered in both programs."""
    rng = np.random.default_rng(seed)

    def fresh():
        return [a.detach().clone().requires_grad_(a.requires_grad) for a in arrays]

    expected_inputs = fresh()
    out = function(*expected_inputs)
    cotangent = ember.tensor(rng.standard_normal(tuple(out.shape)), dtype=out.dtype)
    (out * cotangent).sum().backward()

    def step(*inputs):
        result = function(*inputs)
        (result * cotangent).sum().backward()
        return result

    def forward(*inputs):
        return function(*inputs)

    for name, compiled, outside in (("inside", ember.compile(step), False),
                                    ("outside", ember.compile(forward), True)):
        for call in range(3):  # the first call records, the later ones replay
            inputs = fresh()
            result = compiled(*inputs)
            if outside:
                (result * cotangent).sum().backward()
            _same(out, result, f"{name} call {call}: output")
            for index, (want, have) in enumerate(zip(expected_inputs, inputs)):
                if want.grad is None:
                    assert have.grad is None
                else:
                    _same(want.grad, have.grad, f"{name} call {call}: grad of input {index}")
        assert compiled.breaks == [] and compiled.replays == 2
        program = compiled.latest.program
        names = {program.steps[number].op.__name__ for number in program.lowered}
        assert set(lowered_ops) <= names, (set(lowered_ops) - names, program.code)


def _unary_rows():
    rows = []
    for name in dir(unary):
        op = getattr(unary, name)
        if isinstance(op, type) and issubclass(op, unary._Unary) and op is not unary._Unary \
                and op.lower((True,), _Like((3, 4), np.float32), _Like((3, 4), np.float32)):
            rows.append(op)
    return rows


class _Like:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, np.dtype(dtype)


UNARY = _unary_rows()


def test_the_unary_table_is_lowered_row_by_row():
    # the table's common rows are lowered; those with their own forward are not
    names = {op.__name__ for op in UNARY}
    assert {"Exp", "Log", "Tanh", "Sigmoid", "Relu", "Sqrt", "Sin", "Erf"} <= names
    assert unary.RoundDecimals not in UNARY


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("op", UNARY, ids=lambda op: op.__name__)
def test_unary_rows_equal_eager(op, dtype):
    rng = np.random.default_rng(1)
    (x,) = _tensors(rng, [(3, 4)], dtype)
    # a second op after it, so that the row's gradient flows on through a lowered step
    _check(lambda x: op.apply(x) * x, [x], [op.__name__, "Mul"])


# 0.1 has no float32 literal of its own, infinity a written one, NaN none (it is called)
NUMBERS = [2.0, 3, -0.75, 1e-3, 0.1, float("inf"), float("nan")]


WRITTEN = [op for op in UNARY if op.written]


@pytest.mark.parametrize("op", WRITTEN, ids=lambda op: op.__name__)
def test_written_unary_rows_equal_eager_without_fused_kernels(op, monkeypatch):
    """With numba's kernels for ReLU, sigmoid and tanh in float32 turned off, the program
    writes every row that has a written form in its own lines, forward and backward, and
    they equal eager ember bit for bit, special values included."""
    from ember._compile import fusion

    monkeypatch.setattr(fusion, "enabled", False)
    values = np.array([0.0, -0.0, 1e-42, -3.5, 7.25, 88.5, -104.0, 0.5, 2.0, 1e30, 30.0,
                       np.inf], dtype=np.float32).reshape(3, 4)
    if op.__name__ in ("Log", "Sqrt"):
        values = np.abs(values)  # their domain, so that eager has no NaN to compare
    x = ember.tensor(values, requires_grad=True)
    _check(lambda x: op.apply(x) * 1.5, [x], [op.__name__, "Mul"])
    compiled = ember.compile(lambda x: op.apply(x) * 1.5)
    compiled(x.detach().requires_grad_())
    program = compiled.latest.program
    assert f"# {op.__name__}: " in program.forward_source, program.code
    assert (op.written_derivative != "") is ("B0(" not in program.backward_source), program.code


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_binary_arithmetic_of_two_tensors_equals_eager(dtype):
    rng = np.random.default_rng(2)
    a, b = _tensors(rng, [(2, 3), (2, 3)], dtype)
    _check(lambda a, b: ((a + b) * (a - b) / (b * a)).sub(b, alpha=0.5).add(a, alpha=2),
           [a, b], ["Add", "Sub", "Mul", "Div"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("number", NUMBERS, ids=repr)
def test_binary_arithmetic_with_a_python_number_on_either_side_equals_eager(number, dtype):
    rng = np.random.default_rng(3)
    (a,) = _tensors(rng, [(4, 2)], dtype)

    def function(a):
        y = (a * number + number) / number - number
        return number / (number - (number * y + a))

    _check(function, [a], ["Add", "Sub", "Mul", "Div"])


@pytest.mark.parametrize("other", [True, False, np.float32(2.5), np.float64(-1.5)],
                         ids=repr)
def test_a_bool_or_a_numpy_scalar_operand_stays_with_the_forward(other):
    rng = np.random.default_rng(12)
    (a,) = _tensors(rng, [(3, 2)], ember.float32)
    _check(lambda a: ((a * other) + other - (a / 2.0)).exp(), [a], ["Exp"])


def test_an_operand_that_needs_no_gradient_gets_none_and_the_other_its_own():
    rng = np.random.default_rng(4)
    a, b = _tensors(rng, [(3, 3), (3, 3)], ember.float32)
    b.requires_grad_(False)
    _check(lambda a, b: (a * b) / b - b, [a, b], ["Mul", "Div", "Sub"])


def test_mixed_dtypes_stay_with_the_forward_and_still_equal_eager():
    """A float32 product plus a float64 tensor promotes: that Add stays whole, while the
    broadcasting product of two float32 tensors is lowered."""
    rng = np.random.default_rng(5)
    a, b = _tensors(rng, [(3, 4), (4,)], ember.float32)
    c = ember.tensor(rng.uniform(0.5, 1.5, (3, 4)), dtype=ember.float64, requires_grad=True)

    def function(a, b, c):
        return ((a * b) + c).exp()

    _check(function, [a, b, c], ["Exp", "Mul"])
    program = ember.compile(function)
    program(a, b, c)
    lowered = {program.latest.program.steps[n].op for n in program.latest.program.lowered}
    assert Add not in lowered  # it promotes


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 4), (3, 1)),
                                    ((4,), (2, 3, 4))], ids=str)
def test_broadcasting_arithmetic_is_lowered_and_sums_gradients_back_as_eager(shapes, dtype):
    """A bias added to a batch, a position embedding added to tokens: the forward
    broadcasts, and each broadcast operand's gradient is summed back to its shape by the
    engine's rule, bit for bit, whichever side broadcasts."""
    rng = np.random.default_rng(13)
    a, b = _tensors(rng, shapes, dtype)
    _check(lambda a, b: ((a + b) * b - a) / (b + 1.0), [a, b], ["Add", "Mul", "Sub", "Div"])
    _check(lambda a, b: (a - b) * 0.5 + b, [a, b], ["Sub", "Mul", "Add"], seed=1)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("dims,keepdim", [(None, False), ((0,), False), ((1, 2), True),
                                          ((-1,), True), ((0, 2), False)])
def test_sums_over_dims_equal_eager(dims, keepdim, dtype):
    rng = np.random.default_rng(6)
    (x,) = _tensors(rng, [(2, 3, 4)], dtype)
    if dims is None:
        function = lambda x: (x * x).sum()  # noqa: E731
    else:
        function = lambda x: (x * x).sum(dims, keepdim=keepdim).tanh()  # noqa: E731
    _check(function, [x], ["Sum", "Mul"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_equals_eager(reduction, dtype):
    rng = np.random.default_rng(7)
    x, t = _tensors(rng, [(5, 2), (5, 2)], dtype)
    _check(lambda x, t: F.mse_loss(x.sigmoid(), t, reduction=reduction), [x, t],
           ["MseLoss", "Sigmoid"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_equals_eager(shape, dtype):
    rng = np.random.default_rng(8)
    x, weight, bias = _tensors(rng, [shape, (2, 3), (2,)], dtype, low=-1.0, high=1.0)
    _check(lambda x, w, b: F.linear(x, w, b).sigmoid(), [x, weight, bias],
           ["Addmm", "Sigmoid"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_linear_of_a_large_batch_sums_its_bias_gradient_as_eager(dtype):
    """A gradient of 512 values or more: its column sums as BLAS's product by ones."""
    rng = np.random.default_rng(14)
    x, weight, bias = _tensors(rng, [(64, 8), (16, 8), (16,)], dtype, low=-1.0, high=1.0)
    _check(lambda x, w, b: F.linear(x, w, b).tanh(), [x, weight, bias], ["Addmm", "Tanh"])


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_mse_loss_whose_input_needs_no_gradient_equals_eager(reduction):
    rng = np.random.default_rng(15)
    x, t = _tensors(rng, [(5, 2), (5, 2)], ember.float64)
    x.requires_grad_(False)
    _check(lambda x, t: F.mse_loss(x, t.exp(), reduction=reduction), [x, t], ["MseLoss", "Exp"])


def test_linear_whose_input_needs_no_gradient_equals_eager():
    rng = np.random.default_rng(9)
    x, weight, bias = _tensors(rng, [(4, 3), (2, 3), (2,)], ember.float32, low=-1.0)
    x.requires_grad_(False)
    _check(lambda x, w, b: F.linear(x, w, b).relu(), [x, weight, bias], ["Addmm", "Relu"])


def test_a_gradient_that_meets_another_is_summed_in_the_engines_order():
    rng = np.random.default_rng(10)
    (a,) = _tensors(rng, [(3, 2)], ember.float32)

    def function(a):
        b = a.exp()
        return (b * a + b.sin() - a.tanh() * b) / a

    _check(function, [a], ["Exp", "Mul", "Sin", "Tanh", "Add", "Sub", "Div"])


def test_a_lowered_program_reads_as_straight_line_code():
    rng = np.random.default_rng(11)
    (a,) = _tensors(rng, [(3, 2)], ember.float32)

    @ember.compile
    def step(a):
        loss = (a.exp() * 2.0).sum()
        loss.backward()
        return loss

    step(a)
    code = step.code
    # no context objects, no tests of which gradients arrived, no engine rule
    assert "C0()" not in code and "is not None" not in code and "arrive(" not in code, code
    # NumPy's kernels in the program's own lines, where no fused kernel binds a name
    assert "= xp.exp(v0)  # Exp: (3, 2) float32" in code and "Exp_0" not in code, code
    assert "= v1 * 2.0  # Mul" in code and "B1(" not in code, code


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (7,)])
def test_exact_gelu_keeps_its_erf_for_the_backward_and_equals_eager(shape, dtype, monkeypatch):
    from ember._compile import fusion

    monkeypatch.setattr(fusion, "enabled", False)  # NumPy's kernels: tests/test_compile_fusion
    rng = np.random.default_rng(13)
    arrays = [ember.tensor(rng.standard_normal(shape) * 3, dtype=dtype, requires_grad=True)]
    _check(lambda x: F.gelu(x * 1.5), arrays, ["Gelu", "Mul"])


def test_the_tanh_gelu_is_replayed_whole_and_equals_eager():
    rng = np.random.default_rng(14)
    arrays = [ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)]
    _check(lambda x: F.gelu(x * 1.5, approximate="tanh"), arrays, ["Mul"])


# ---------------------------------------------------------------- the pieces of a split


def _bits(tensor):
    array = tensor.detach().numpy()
    return array.view(f"u{array.itemsize}")


SPLITS = {  # name -> (the function of x, whether its pieces' gradients are gathered in one)
    "three pieces": (lambda x, w: sum(p * v for p, v in zip(x.split(2, dim=1), w)), True),
    "two of three": (lambda x, w: (lambda a, b, c: a * w[0] + c)(*x.split(2, dim=1)), True),
    "one of three": (lambda x, w: x.split(2, dim=1)[1] * w[1], False),
    "chunks of dim 0": (lambda x, w: sum(p[:, :2] * v for p, v in zip(x.chunk(2), w)), True),
    "uneven sizes": (lambda x, w: (lambda a, b: a[:, :2] * w[0] + b[:, 1:3])(
        *x.split([3, 3], dim=1)), True),
    "overlapping narrows": (lambda x, w: x.narrow(1, 0, 2) * w[0] + x.narrow(1, 1, 2) * w[1],
                            False),
}


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_a_splits_gradient_equals_eager_bit_for_bit(name):
    """Weights and cotangents with ±0 in them, so that the sign of a zero gradient shows."""
    function, gathered = SPLITS[name]
    rng = np.random.default_rng(5)
    signed = np.array([-0.0, 0.0, -1.5, 2.0], np.float32)
    weights = [ember.tensor(rng.choice(signed, (2, 2, 3))) for _ in range(3)]
    cotangent = ember.tensor(rng.choice(signed, (2, 2, 3)))
    array = rng.standard_normal((2, 6, 3)).astype(np.float32)

    def step(x, cotangent, *weights):
        out = function(x, weights)
        (out * cotangent).sum().backward()
        return out

    x = ember.tensor(array, requires_grad=True)
    expected = step(x, cotangent, *weights)
    compiled = ember.compile(step)
    for _ in range(3):
        replayed = ember.tensor(array, requires_grad=True)
        out = compiled(replayed, cotangent, *weights)
        np.testing.assert_array_equal(_bits(out), _bits(expected))
        np.testing.assert_array_equal(_bits(replayed.grad), _bits(x.grad))
    assert compiled.replays == 2
    assert ("pieces(" in compiled.code) == gathered, compiled.code


@pytest.mark.parametrize("arrived", [(0,), (1,), (0, 1), (1, 0, 2), (2, 1), ()])
def test_the_gathered_gradient_is_the_engines_sum_of_paddings(arrived):
    """Pieces whose gradients arrive in ``arrived`` order (the others None at run time)."""
    from ember._compile.program import _pieces_gradient
    from ember.ops._array_math import ArrayMath

    rng = np.random.default_rng(6)
    grads = [rng.choice(np.array([-0.0, 0.0, 1.0, -2.0], np.float32), (3, 2)) for _ in range(3)]
    total = None
    for i in arrived:  # the engine: each piece's padded gradient, summed as they arrive
        padded = ArrayMath.pad(grads[i], ((0, 0), (2 * i, 4 - 2 * i)))
        total = padded if total is None else total + padded
    pieces = [(2 * i, 2 * i + 2, grads[i] if i in arrived else None) for i in arrived] + \
        [(2 * i, 2 * i + 2, None) for i in range(3) if i not in arrived]
    found = _pieces_gradient((3, 6), np.dtype(np.float32), 1, *pieces)
    if total is None:
        assert found is None
    else:
        np.testing.assert_array_equal(found.view(np.uint32), total.view(np.uint32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_comparisons_with_numbers_and_arrays_are_lowered_and_equal_eager(dtype):
    rng = np.random.default_rng(8)
    x = ember.tensor(rng.integers(-2, 3, (3, 4)) / 2, dtype=dtype)
    y = ember.tensor(rng.integers(-2, 3, (3, 4)) / 2, dtype=dtype)
    x[0, 0], y[0, 1] = float("nan"), float("inf")

    def compare(x, y):
        return (x == 0, x != y, x < 0.5, x <= y, x > -1, x >= 0.1, x == 2**60, x < y[0])

    compiled = ember.compile(compare)
    for _ in range(2):
        for want, have in zip(compare(x, y), compiled(x, y)):
            assert have.dtype == ember.bool
            np.testing.assert_array_equal(have.numpy(), want.numpy())
    program = compiled.latest.program
    lowered = sorted(program.steps[number].op.__name__ for number in program.lowered)
    assert lowered == ["Eq", "Ge", "Gt", "Le", "Lt", "Ne"], lowered  # not 2**60, nor a row


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_views_and_permutations_are_lowered_and_equal_eager(dtype):
    """Attention's reshapes and transposes (``view``, ``transpose``, ``permute``, ``t``):
    the same views forward, and backward the gradient reshaped back or permuted by the
    inverse (a non-contiguous gradient copied by the reshape, as eagerly)."""
    rng = np.random.default_rng(9)

    def attention_shapes(x, w):
        heads = x.view(2, 3, 2, 4).transpose(1, 2)  # (2, 2, 3, 4)
        mixed = heads.permute(0, 3, 1, 2) * 1.5  # (2, 4, 2, 3)
        back = mixed.transpose(1, 3).reshape(2, 3, 8)  # a copy: not viewable
        return back.sum(-1) @ w.t()

    x, w = _tensors(rng, [(2, 3, 8), (5, 3)], dtype)
    _check(attention_shapes, [x, w], ["View", "Transpose", "Permute", "T"])


def test_a_squeeze_or_flatten_whose_forward_is_views_own_is_lowered_too():
    rng = np.random.default_rng(10)
    (x,) = _tensors(rng, [(3, 1, 4)], ember.float32)
    _check(lambda x: (x.squeeze(1) * 2.0).unsqueeze(0).flatten(), [x],
           ["SqueezeDim", "Unsqueeze", "View"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_slices_are_lowered_and_their_gradients_padded_as_eager(dtype):
    """A slice alone (``narrow``, ``x[:, 1:3]``), and the pieces of a split whose source
    already holds a gradient (no split path there): each piece's gradient padded with
    zeros and summed, to the sign of each zero."""
    rng = np.random.default_rng(14)
    (x,) = _tensors(rng, [(3, 5, 4)], dtype, low=-1.0, high=1.0)

    def pieces(x):
        y = x * -1.0
        a, b = y.split([2, 3], dim=1)  # (3, 2, 4) and (3, 3, 4)
        alone = (x.narrow(2, 1, 2) * 2.0).sum(-1)  # (3, 5)
        split = a.sum((1, 2)) * b[:, 1:2].sum((1, 2))  # (3,)
        later = y.sum((1, 2)) + x[:, 1:3].sum((1, 2))  # y's gradient arrives first
        return alone * (split + later)[:, None]

    _check(pieces, [x], ["Slice"])
