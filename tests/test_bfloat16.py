"""``ember.bfloat16`` against PyTorch: every op case in bfloat16, promotion, casts, I/O.

The op cases of ``tests/cases`` run with their float inputs rounded to bfloat16 on both
libraries. Both compute each op in float32 and round once, so a primitive agrees to the
last bit or so; a composite (softmax, layer norm, attention) rounds after each of its
pieces, and where it cancels (``x - mean``) an error of one bfloat16 step of its
*inputs* shows up in small outputs. Hence the tolerance: ``rtol = 1.6e-2`` (two steps
of bfloat16's 8-bit significand, PyTorch's own default for bfloat16 in
``torch.testing.assert_close``) plus ``1.6e-2`` times the output's largest magnitude.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import safetensors.torch
import torch

import ember
from tests.oracle import ErrorCase, make_arrays
from tests.test_ops import CASES

torch.set_num_threads(1)

_RTOL = 1.6e-2

# PyTorch's own bfloat16 matrix_exp overflows to nan/inf on these cases' inputs: they are
# compared with PyTorch's float32 result rounded to bfloat16 instead (see the test below).
_FLOAT32_REFERENCE = {"matrix_exp", "matrix_exp_scaled"}
# Ties made by rounding to bfloat16, where PyTorch's order among equals is unspecified.
_VALUES_ONLY = {"topk_negative_dim"}


def _bfloat16_inputs(lib, arrays, requires_grad: bool) -> list:
    tensors = []
    for array in arrays:
        if array.dtype.kind == "f":
            tensor = lib.tensor(array.astype(np.float32)).to(lib.bfloat16)
            tensors.append(tensor.requires_grad_(requires_grad))
        else:
            tensors.append(lib.tensor(array.copy()))
    return tensors


def _flatten(result) -> list:
    if isinstance(result, (tuple, list)):
        return [item for part in result for item in _flatten(part)]
    return [result]


def _as_float_array(value) -> np.ndarray:
    """Values as NumPy (float32 for bfloat16, which NumPy cannot hold without ml_dtypes)."""
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        value = value.detach()
        if value.dtype in (torch.bfloat16, ember.bfloat16):
            value = value.float()
        return np.asarray(value.numpy())
    return np.asarray(value)


def _assert_bfloat16_close(actual, expected, what: str) -> None:
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, ember.Tensor), f"{what}: got {type(actual).__name__}"
        assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], (
            f"{what}: dtype {actual.dtype}, torch's {expected.dtype}"
        )
    actual, expected = _as_float_array(actual), _as_float_array(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    np.testing.assert_allclose(
        actual, expected, rtol=_RTOL, atol=_RTOL * scale, equal_nan=True, err_msg=what
    )


def _run(lib, case, arrays):
    inputs = _bfloat16_inputs(lib, arrays, case.grad)
    return inputs, _flatten(case.fn(lib, *inputs))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_in_bfloat16_matches_torch(case):
    if case.name in _FLOAT32_REFERENCE:
        _compare_with_rounded_float32(case)
        return
    arrays = make_arrays(case)
    try:
        torch_inputs, expected = _run(torch, case, arrays)
    except Exception as error:  # noqa: BLE001 -- no bfloat16 kernel in PyTorch: ember refuses alike
        with pytest.raises(type(error)) as caught:
            _run(ember, case, arrays)
        assert str(caught.value) == str(error)
        return
    ember_inputs, actual = _run(ember, case, arrays)
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected)):
        if case.name in _VALUES_ONLY and index % 2:
            continue
        _assert_bfloat16_close(a, e, f"{case.name} output {index}")
    if case.grad and case.name not in _VALUES_ONLY:
        _compare_gradients(case, torch_inputs, expected, ember_inputs, actual)


def _compare_with_rounded_float32(case) -> None:
    """PyTorch in float32 on the bfloat16-rounded inputs, its result rounded to bfloat16:
    what computing in float32 and rounding once gives, value and gradient."""
    arrays = make_arrays(case)
    ember_inputs, actual = _run(ember, case, arrays)
    torch_inputs = [t.float().detach().requires_grad_(t.requires_grad)
                    for t in _bfloat16_inputs(torch, arrays, case.grad)]
    expected = _flatten(case.fn(torch, *torch_inputs))
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype is ember.bfloat16
        _assert_bfloat16_close(a, e.to(torch.bfloat16), f"{case.name} output {index}")
    cotangent = np.random.default_rng(7).standard_normal(tuple(expected[0].shape))
    expected[0].backward(torch.tensor(cotangent, dtype=torch.float32))
    actual[0].backward(ember.tensor(cotangent, dtype=ember.float32).to(ember.bfloat16))
    for e, a in zip(torch_inputs, ember_inputs):
        if e.requires_grad:
            _assert_bfloat16_close(a.grad, e.grad.to(torch.bfloat16), f"{case.name} gradient")


def _compare_gradients(case, torch_inputs, expected, ember_inputs, actual) -> None:
    """Pull back the same bfloat16 cotangent through both graphs, where PyTorch can.

    A gradient that cancels (a normalization over two values, whose output is ±1
    whatever the input) is rounding noise in both libraries; there each element must be
    close to PyTorch's bfloat16 gradient or to the exact one (PyTorch in float64 on the
    same rounded inputs and cotangent).
    """
    wrt = [i for i, t in enumerate(torch_inputs) if t.requires_grad]
    outputs = [
        i for i, e in enumerate(expected)
        if isinstance(e, torch.Tensor) and e.requires_grad and e.dtype.is_floating_point
    ]
    if not wrt or not outputs:
        return
    rng = np.random.default_rng(len(case.name))
    cotangents = [rng.standard_normal(expected[i].shape).astype(np.float32) for i in outputs]
    try:
        torch_grads = _pull_back(torch_inputs, expected, wrt, outputs, cotangents)
    except (RuntimeError, NotImplementedError):
        return  # no bfloat16 backward in PyTorch: nothing to compare with
    ember_grads = _pull_back(ember_inputs, actual, wrt, outputs, cotangents)
    exact = None
    for position, (a, e) in enumerate(zip(ember_grads, torch_grads)):
        what = f"{case.name} grad of input {wrt[position]}"
        if e is None or a is None:
            assert a is None or not _as_float_array(a).any(), what
            continue
        try:
            _assert_bfloat16_close(a, e, what)
        except AssertionError:
            if exact is None:
                exact = _exact_gradients(case, torch_inputs, wrt, outputs, cotangents)
            near_torch = _within(a, e)
            assert (near_torch | _within(a, exact[position])).all(), what


def _pull_back(inputs, results, wrt, outputs, cotangents):
    lib = torch if isinstance(inputs[0], torch.Tensor) else ember
    return lib.autograd.grad(
        [results[i] for i in outputs], [inputs[i] for i in wrt],
        [lib.tensor(c).to(results[i].dtype) for c, i in zip(cotangents, outputs)],
        allow_unused=True,
    )


def _exact_gradients(case, torch_inputs, wrt, outputs, cotangents):
    inputs = [t.detach().double().requires_grad_() if t.requires_grad else t
              for t in torch_inputs]
    results = _flatten(case.fn(torch, *inputs))
    return _pull_back(inputs, results, wrt, outputs, cotangents)


def _within(actual, expected) -> np.ndarray:
    actual, expected = _as_float_array(actual), _as_float_array(expected)
    scale = max(1.0, float(np.abs(expected).max()))
    return np.abs(actual - expected) <= _RTOL * (np.abs(expected) + scale)


# ---------------------------------------------------------------- dtype rules

_DTYPE_NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64",
                "float16", "bfloat16", "float32", "float64"]


@pytest.mark.parametrize("first", _DTYPE_NAMES)
def test_promote_types_and_result_type_match_torch_for_every_pair(first):
    for second in _DTYPE_NAMES:
        pair = f"{first}, {second}"
        expected = torch.promote_types(getattr(torch, first), getattr(torch, second))
        found = ember.promote_types(getattr(ember, first), getattr(ember, second))
        assert found.name == str(expected).split(".")[-1], pair
        for shapes in [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())]:
            torch_operands = [torch.zeros(s, dtype=getattr(torch, n)) for s, n in
                              zip(shapes, (first, second))]
            ember_operands = [ember.zeros(s, dtype=getattr(ember, n)) for s, n in
                              zip(shapes, (first, second))]
            expected = torch.result_type(*torch_operands)
            assert ember.result_type(*ember_operands).name == str(expected).split(".")[-1], (
                pair, shapes
            )
            if first != "bool" or second != "bool":
                assert (ember_operands[0] + ember_operands[1]).dtype.name == str(
                    (torch_operands[0] + torch_operands[1]).dtype).split(".")[-1], (pair, shapes)
        for scalar in (True, 2, 2.5):
            expected = torch.result_type(torch.zeros(2, dtype=getattr(torch, first)), scalar)
            found = ember.result_type(ember.zeros(2, dtype=getattr(ember, first)), scalar)
            assert found.name == str(expected).split(".")[-1], (first, scalar)


def test_mixed_bfloat16_arithmetic_matches_torch_values_and_dtypes():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((3, 4)).astype(np.float32)
    pairs = [
        lambda lib, x: x + lib.tensor(1.3),  # 0-d float32 beside bfloat16: bfloat16
        lambda lib, x: x * lib.ones(4),  # dimensioned float32 wins
        lambda lib, x: x / lib.ones(4, dtype=lib.float16),  # float32
        lambda lib, x: lib.arange(4) + x,  # int tensor + bfloat16: bfloat16
        lambda lib, x: x * 0.3,
        lambda lib, x: x.double() - x,
        lambda lib, x: lib.where(x > 0, x, lib.zeros(4)),
    ]
    for index, make in enumerate(pairs):
        expected = make(torch, torch.tensor(values).bfloat16())
        actual = make(ember, ember.tensor(values).bfloat16())
        assert actual.dtype.name == str(expected.dtype).split(".")[-1], index
        np.testing.assert_array_equal(_as_float_array(actual), _as_float_array(expected))


def test_finfo_matches_torch():
    for name in ("bfloat16", "float16", "float32", "float64"):
        expected, found = torch.finfo(getattr(torch, name)), ember.finfo(getattr(ember, name))
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(found, field) == getattr(expected, field), (name, field)
        assert repr(found) == repr(expected)


# ---------------------------------------------------------------- casts


def _bits(tensor) -> np.ndarray:
    if isinstance(tensor, torch.Tensor):
        return tensor.view(torch.int16).numpy()
    return tensor._data.view(np.int16)


def _assert_same_bits(actual, expected, what: str) -> None:
    """Equal bit patterns, except that any NaN matches any NaN.

    PyTorch writes a NaN converted from float32 as 0xFFFF, but one converted from another
    type as 0xFFFF or 0x7FC0 depending on whether its vectorized loop or the scalar tail
    converted it; ember writes 0xFFFF from float32 and 0x7FC0 otherwise.
    """
    actual_bits, expected_bits = _bits(actual), _bits(expected)
    expected_nan = np.isnan(_as_float_array(expected))
    np.testing.assert_array_equal(np.isnan(_as_float_array(actual)), expected_nan, err_msg=what)
    np.testing.assert_array_equal(actual_bits[~expected_nan], expected_bits[~expected_nan],
                                  err_msg=what)


def test_casts_to_bfloat16_round_to_nearest_even_as_torch():
    rng = np.random.default_rng(5)
    # Random float32 bit patterns, the values halfway between two bfloat16 numbers and
    # next to them, subnormals, overflow to infinity, NaN and signed zeros.
    random_bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    halfway = (random_bits & 0xFFFF0000) | 0x8000
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-40, 1e-39, 3.39e38,
                         3.4e38, -3.4e38, 1.0, 1.00390625, 1.01171875], np.float32)
    floats = np.concatenate([random_bits.view(np.float32), halfway.view(np.float32),
                             (halfway + 1).view(np.float32), (halfway - 1).view(np.float32),
                             specials])
    doubles = np.nextafter(halfway.view(np.float32).astype(np.float64), np.inf)
    integers = rng.integers(-(2**40), 2**40, 2000)
    for source in (floats, doubles, integers, floats.astype(np.float16)):
        torch_source, ember_source = torch.from_numpy(source.copy()), ember.tensor(source)
        conversions = [
            (torch_source.bfloat16(), ember_source.bfloat16()),
            (torch_source.to(torch.bfloat16), ember_source.to(ember.bfloat16)),
            (torch.tensor(source, dtype=torch.bfloat16),
             ember.tensor(source, dtype=ember.bfloat16)),
        ]
        for expected, actual in conversions:
            assert actual.dtype is ember.bfloat16
            _assert_same_bits(actual, expected, str(source.dtype))
    wide = torch.tensor(floats).bfloat16()
    back = ember.tensor(floats).bfloat16()
    for name in ("float", "double", "half"):
        np.testing.assert_array_equal(
            getattr(back, name)().numpy(), getattr(wide, name)().numpy(), err_msg=name
        )
    for name in ("int", "long", "bool"):
        finite = np.isfinite(floats) & (np.abs(floats) < 1e9)
        np.testing.assert_array_equal(
            getattr(ember.tensor(floats[finite]).bfloat16(), name)().numpy(),
            getattr(torch.tensor(floats[finite]).bfloat16(), name)().numpy(), err_msg=name,
        )


def test_numpy_of_bfloat16_raises_as_torch():
    for lib in (torch, ember):
        tensor = lib.ones(2, dtype=lib.bfloat16)
        with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
            tensor.numpy()
        with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
            np.asarray(tensor)
        assert tensor.tolist() == [1.0, 1.0] and tensor[0].item() == 1.0
        assert tensor.is_floating_point() and tensor.requires_grad_().requires_grad


# ---------------------------------------------------------------- arithmetic


def test_reductions_and_matmul_accumulate_in_float32_and_round_once():
    rng = np.random.default_rng(7)
    ones = np.ones(4096, np.float32)  # a bfloat16 running sum would stop at 256
    matrices = rng.standard_normal((2, 64, 300)).astype(np.float32)
    cases = [
        (lambda lib, x: x.sum(), ones),
        (lambda lib, x: x.mean(), rng.standard_normal(5000).astype(np.float32)),
        (lambda lib, x: x.sum(1), matrices[0]),
        (lambda lib, x: x.cumsum(0), ones[:600]),
        (lambda lib, x: x[0] @ x[1].T, matrices),
        (lambda lib, x: lib.nn.functional.linear(x[0], x[1]), matrices),
        (lambda lib, x: x.exp().sin(), matrices[0]),
    ]
    for index, (make, values) in enumerate(cases):
        expected = make(torch, torch.tensor(values).bfloat16())
        actual = make(ember, ember.tensor(values).bfloat16())
        assert actual.dtype is ember.bfloat16, index
        difference = np.abs(_as_float_array(actual) - _as_float_array(expected))
        # Float32 sums in another order may round to the neighbouring bfloat16 value.
        step = np.abs(_as_float_array(expected)) * 2.0**-7
        assert (difference <= step).all(), (index, difference.max())
    assert ember.ones(4096, dtype=ember.bfloat16).sum().item() == 4096.0


def test_training_step_in_bfloat16_matches_torch_including_second_order():
    rng = np.random.default_rng(11)
    weights = rng.standard_normal((5, 3)).astype(np.float32)
    inputs = rng.standard_normal((4, 5)).astype(np.float32)
    results = {}
    for lib in (torch, ember):
        w = lib.tensor(weights).bfloat16().requires_grad_()
        x = lib.tensor(inputs).bfloat16()
        loss = (x @ w).tanh().square().mean()
        (grad,) = lib.autograd.grad(loss, w, create_graph=True)
        (grad_of_norm,) = lib.autograd.grad(grad.square().sum(), w, retain_graph=True)
        loss.backward()
        results[lib] = [loss, grad, grad_of_norm, w.grad]
    for index, (a, e) in enumerate(zip(results[ember], results[torch])):
        _assert_bfloat16_close(a, e, f"value {index}")


def test_in_place_ops_and_views_keep_bfloat16():
    for lib in (torch, ember):
        x = lib.arange(6.0).bfloat16()
        view = x.view(2, 3)[1]
        view.mul_(1.1)
        x.add_(lib.ones(6))
        assert x.dtype == lib.bfloat16 and view.dtype == lib.bfloat16
    expected = torch.arange(6.0).bfloat16()
    expected.view(2, 3)[1].mul_(1.1)
    actual = ember.arange(6.0).bfloat16()
    actual.view(2, 3)[1].mul_(1.1)
    np.testing.assert_array_equal(_bits(actual), _bits(expected))


# ---------------------------------------------------------------- printing


def test_repr_matches_torch():
    values = [
        [1.0, 2.0],
        [1.01, 2.03, 1e-5],
        [math.nan, math.inf, -math.inf, 0.0, -0.0, 3.0],
        2.5,
        [1e10, 1.0],
        [1e-40, 3e38],
        [[1.5, -2.25], [100.0, 0.125]],
    ]
    for value in values:
        expected = repr(torch.tensor(value, dtype=torch.bfloat16))
        found = repr(ember.tensor(value, dtype=ember.bfloat16))
        assert found == expected.replace("torch.", "ember.")
    grad = ember.ones(2, dtype=ember.bfloat16, requires_grad=True) * 2
    assert repr(grad) == "tensor([2., 2.], dtype=ember.bfloat16, grad_fn=<MulBackward0>)"
    assert repr(ember.zeros(0, 3, dtype=ember.bfloat16)) == (
        "tensor([], size=(0, 3), dtype=ember.bfloat16)"
    )


# ---------------------------------------------------------------- files


def _sample(lib):
    rng = np.random.default_rng(13)
    base = lib.tensor(rng.standard_normal((3, 4)).astype(np.float32)).bfloat16()
    special = lib.tensor([math.inf, -0.0, 1e-40]).bfloat16()
    return {"weight": base, "row": base[1], "special": special}


def test_safetensors_bf16_round_trips_both_ways(tmp_path):
    expected = _sample(torch)
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file({k: v.clone() for k, v in expected.items()}, str(path))
    loaded = ember.load(str(path))
    for name, tensor in expected.items():
        assert loaded[name].dtype is ember.bfloat16
        np.testing.assert_array_equal(_bits(loaded[name]), _bits(tensor))
    ember.save(loaded, str(tmp_path / "ember.safetensors"))
    again = ember.load(str(tmp_path / "ember.safetensors"))
    for name, tensor in expected.items():
        np.testing.assert_array_equal(_bits(again[name]), _bits(tensor))
    ember.save(_sample(ember)["weight"], str(tmp_path / "one.safetensors"))
    read = safetensors.torch.load_file(str(tmp_path / "one.safetensors"))
    assert next(iter(read.values())).equal(expected["weight"])


def test_torch_checkpoints_with_bfloat16_storages_round_trip_both_ways(tmp_path):
    expected = _sample(torch)
    buffer = io.BytesIO()
    torch.save(expected, buffer)
    buffer.seek(0)
    loaded = ember.load(buffer)
    for name, tensor in expected.items():
        assert loaded[name].dtype is ember.bfloat16
        np.testing.assert_array_equal(_bits(loaded[name]), _bits(tensor))
    path = tmp_path / "ember.pt"
    ember.save(loaded, str(path), format="torch")
    back = torch.load(str(path))
    for name, tensor in expected.items():
        assert back[name].dtype is torch.bfloat16 and back[name].equal(tensor)
    assert back["row"].untyped_storage().data_ptr() == back["weight"].untyped_storage().data_ptr()
    assert ember.load(str(path))["row"].dtype is ember.bfloat16


# ---------------------------------------------------------------- errors

BFLOAT16_ERRORS = [
    ErrorCase("bf16_inv", lambda lib: lib.linalg.inv(lib.eye(3, dtype=lib.bfloat16))),
    ErrorCase("bf16_det", lambda lib: lib.linalg.det(lib.eye(3, dtype=lib.bfloat16))),
    ErrorCase("bf16_svd", lambda lib: lib.linalg.svd(lib.eye(3, dtype=lib.bfloat16))),
    ErrorCase("bf16_qr", lambda lib: lib.linalg.qr(lib.eye(3, dtype=lib.bfloat16))),
    ErrorCase("bf16_eigh", lambda lib: lib.linalg.eigh(lib.eye(3, dtype=lib.bfloat16))),
    ErrorCase("bf16_cholesky", lambda lib: lib.linalg.cholesky(lib.eye(3, dtype=lib.bfloat16))),
    ErrorCase("bf16_pinv", lambda lib: lib.linalg.pinv(lib.eye(3, dtype=lib.bfloat16))),
    ErrorCase("bf16_lstsq", lambda lib: lib.linalg.lstsq(
        lib.eye(3, dtype=lib.bfloat16), lib.ones(3, 1, dtype=lib.bfloat16))),
    ErrorCase("bf16_cdist", lambda lib: lib.cdist(
        lib.ones(2, 3, dtype=lib.bfloat16), lib.ones(2, 3, dtype=lib.bfloat16))),
    ErrorCase("bf16_bitwise", lambda lib: lib.ones(2, dtype=lib.bfloat16) & 1),
]


@pytest.mark.parametrize("case", BFLOAT16_ERRORS, ids=lambda c: c.name)
def test_bfloat16_errors_match_torch(case):
    with pytest.raises(Exception) as expected:
        case.fn(torch)
    with pytest.raises(type(expected.value)) as found:
        case.fn(ember)
    assert str(found.value) == str(expected.value)


def test_mixed_dtype_matmul_refuses_naming_bfloat16():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=r"same dtype, but got: c10::BFloat16 != float"):
            lib.ones(2, 3, dtype=lib.bfloat16) @ lib.ones(3, 2)


def test_module_bfloat16_and_optimizer_steps_match_torch():
    rng = np.random.default_rng(17)
    weight = rng.standard_normal((2, 3)).astype(np.float32)
    inputs = rng.standard_normal((4, 3)).astype(np.float32)
    results = {}
    for lib in (torch, ember):
        model = lib.nn.Linear(3, 2)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(weight))
            model.bias.zero_()
        model = model.bfloat16()
        assert model.weight.dtype == lib.bfloat16
        optimizers = [lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      lib.optim.Adam(model.parameters(), lr=0.01)]
        for optimizer in optimizers:
            for _ in range(3):
                optimizer.zero_grad()
                model(lib.tensor(inputs).bfloat16()).square().mean().backward()
                optimizer.step()
        results[lib] = [model.weight, model.bias]
        assert lib.randint(0, 5, (3,), dtype=lib.bfloat16).dtype == lib.bfloat16
    for index, (a, e) in enumerate(zip(results[ember], results[torch])):
        _assert_bfloat16_close(a, e, f"parameter {index}")
