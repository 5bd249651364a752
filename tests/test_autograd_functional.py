"""``ember.autograd.functional`` against ``torch.autograd.functional``, in float64.

Each case is a function ``fn(lib, *inputs)`` run unchanged on torch and ember; results are
compared value by value and in structure (tensor, tuple, tuple of tuples).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

# Draws the case tables' data once, at import and in file order; each test seeds its own.
RNG = np.random.default_rng(1234)


def _data(rng, *shape):
    return rng.uniform(-1.0, 1.0, size=shape)


def _tensors(lib, arrays, requires_grad=False):
    made = tuple(lib.tensor(array.copy(), dtype=lib.float64) for array in arrays)
    if requires_grad:
        for tensor in made:
            tensor.requires_grad_(True)
    return made


def _structure(result):
    """Numbers and nesting of a (nested) tuple of tensors, as NumPy arrays."""
    if isinstance(result, tuple):
        return tuple(_structure(item) for item in result)
    assert not isinstance(result, list)
    return result.detach().numpy()


def _assert_same(ember_result, torch_result, path="result"):
    if isinstance(torch_result, tuple):
        assert isinstance(ember_result, tuple), f"{path}: expected a tuple"
        assert len(ember_result) == len(torch_result), path
        for index, (a, b) in enumerate(zip(ember_result, torch_result)):
            _assert_same(a, b, f"{path}[{index}]")
        return
    assert isinstance(ember_result, ember.Tensor), f"{path}: expected a Tensor"
    assert tuple(ember_result.shape) == tuple(torch_result.shape), path
    assert ember_result.dtype.name == str(torch_result.dtype).removeprefix("torch.")
    np.testing.assert_allclose(
        ember_result.detach().numpy(),
        torch_result.detach().numpy(),
        rtol=1e-9,
        atol=1e-12,
        err_msg=path,
    )


def _mlp_loss(lib, x, target):
    """A two-layer tanh MLP's mean squared error, written without matmul (broadcast and sum)."""

    def linear(inputs, weight, bias):
        rows, width = inputs.shape
        return (inputs.reshape(rows, width, 1) * weight.reshape(1, *weight.shape)).sum(1) + bias

    def loss(w1, b1, w2, b2):
        hidden = lib.tanh(linear(x, w1, b1))
        return ((linear(hidden, w2, b2) - target) ** 2).mean()

    return loss


MLP_ARRAYS = [_data(RNG, 3, 2), _data(RNG, 2, 4), _data(RNG, 4), _data(RNG, 4, 1), _data(RNG, 1)]
MLP_DATA = (_data(RNG, 3, 2), _data(RNG, 3, 1))


def _mlp(lib):
    x, target = _tensors(lib, MLP_DATA)
    return _mlp_loss(lib, x, target), _tensors(lib, MLP_ARRAYS[1:])


def _pair_function(lib):
    return lambda x, y: (x * y.exp(), (x**2).sum() * y)


# ---------------------------------------------------------------- jacobian

JACOBIAN_CASES = {
    "single_in_single_out": (lambda lib, x: lib.tanh(x) * x.sum(), [_data(RNG, 3)]),
    "matrix_input": (lambda lib, x: (x**3).sum(1), [_data(RNG, 2, 3)]),
    "scalar_output": (lambda lib, x: (x * x).sum(), [_data(RNG, 2, 2)]),
    "scalar_input": (
        lambda lib, x: x * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64), [_data(RNG)]
    ),
    "tuple_in_single_out": (lambda lib, x, y: x * y + x.exp(), [_data(RNG, 3), _data(RNG, 3)]),
    "single_in_tuple_out": (lambda lib, x: (x.exp(), (x**2).sum()), [_data(RNG, 2)]),
    "tuple_in_tuple_out": (
        lambda lib, x, y: _pair_function(lib)(x, y), [_data(RNG, 2), _data(RNG, 2)]
    ),
    "unused_input": (lambda lib, x, y: x.sigmoid(), [_data(RNG, 2), _data(RNG, 3)]),
}


@pytest.mark.parametrize("name", sorted(JACOBIAN_CASES))
@pytest.mark.parametrize("create_graph", [False, True])
def test_jacobian_matches_torch(name, create_graph):
    fn, arrays = JACOBIAN_CASES[name]
    tuple_input = len(arrays) > 1 or name == "tuple_in_single_out"
    results = {}
    for lib in (torch, ember):
        inputs = _tensors(lib, arrays, requires_grad=create_graph)
        argument = inputs if tuple_input else inputs[0]
        results[lib] = lib.autograd.functional.jacobian(
            lambda *args, lib=lib: fn(lib, *args), argument, create_graph=create_graph
        )
    _assert_same(results[ember], results[torch])


def test_jacobian_create_graph_is_differentiable():
    rng = np.random.default_rng(1234)
    grads = []
    arrays = [_data(rng, 3)]
    for lib in (torch, ember):
        (x,) = _tensors(lib, arrays, requires_grad=True)
        jac = lib.autograd.functional.jacobian(lambda x: x.sin() * x.sum(), x, create_graph=True)
        assert jac.requires_grad
        weights = lib.tensor(np.arange(9.0).reshape(3, 3), dtype=lib.float64)
        (jac * weights).sum().backward()
        grads.append(x.grad)
    _assert_same(grads[1], grads[0])


def test_jacobian_without_create_graph_is_detached():
    rng = np.random.default_rng(1234)
    (x,) = _tensors(ember, [_data(rng, 3)], requires_grad=True)
    jac = ember.autograd.functional.jacobian(lambda x: x.exp(), x)
    assert not jac.requires_grad and jac.grad_fn is None


@pytest.mark.parametrize("vectorize, strategy", [(True, "reverse-mode"), (True, "forward-mode")])
def test_jacobian_vectorize_and_strategy_give_the_same_values(vectorize, strategy):
    fn, arrays = JACOBIAN_CASES["tuple_in_tuple_out"]
    results = {}
    for lib in (torch, ember):
        inputs = _tensors(lib, arrays)
        results[lib] = lib.autograd.functional.jacobian(
            lambda *args, lib=lib: fn(lib, *args), inputs, vectorize=vectorize, strategy=strategy
        )
    # torch's forward-mode path returns lists of lists here; ember always returns tuples.
    expected = results[torch]
    if isinstance(expected, list):
        expected = tuple(tuple(row) for row in expected)
    _assert_same(results[ember], expected)


# ---------------------------------------------------------------- hessian


@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian_of_an_mlp_loss_matches_torch(create_graph):
    results = {}
    for lib in (torch, ember):
        loss, parameters = _mlp(lib)
        results[lib] = lib.autograd.functional.hessian(loss, parameters, create_graph=create_graph)
    _assert_same(results[ember], results[torch])
    first = results[ember]
    assert len(first) == 4 and all(len(row) == 4 for row in first)
    assert tuple(first[0][2].shape) == (2, 4, 4, 1)


def test_hessian_single_input():
    rng = np.random.default_rng(1234)
    results = {}
    arrays = [_data(rng, 2, 2)]
    for lib in (torch, ember):
        (x,) = _tensors(lib, arrays)
        results[lib] = lib.autograd.functional.hessian(lambda x: (x.exp() * x.sum()).sum(), x)
    _assert_same(results[ember], results[torch])
    assert tuple(results[ember].shape) == (2, 2, 2, 2)


def test_hessian_create_graph_is_differentiable():
    rng = np.random.default_rng(1234)
    grads = []
    arrays = [_data(rng, 3)]
    for lib in (torch, ember):
        (x,) = _tensors(lib, arrays, requires_grad=True)
        hess = lib.autograd.functional.hessian(lambda x: (x**4).sum(), x, create_graph=True)
        assert hess.requires_grad
        hess.sum().backward()
        grads.append(x.grad)
    _assert_same(grads[1], grads[0])


# ---------------------------------------------------------------- products

PRODUCT_CASES = {
    "single": (
        lambda lib, x: (x**2).exp() * x.sum(), [_data(RNG, 3)], [_data(RNG, 3)], [_data(RNG, 3)]
    ),
    "tuple": (
        lambda lib, x, y: _pair_function(lib)(x, y),
        [_data(RNG, 2), _data(RNG, 2)],
        [_data(RNG, 2), _data(RNG, 2)],
        [_data(RNG, 2), _data(RNG, 2)],
    ),
    "scalar_in_out": (lambda lib, x: x.exp() * 2, [_data(RNG)], None, None),
}


@pytest.mark.parametrize("name", sorted(PRODUCT_CASES))
@pytest.mark.parametrize("create_graph", [False, True])
def test_vjp_and_jvp_match_torch(name, create_graph):
    fn, arrays, tangent, cotangent = PRODUCT_CASES[name]
    tuple_input = len(arrays) > 1
    for function, vector in (("jvp", tangent), ("vjp", cotangent)):
        results = {}
        for lib in (torch, ember):
            inputs = _tensors(lib, arrays, requires_grad=create_graph)
            v = None if vector is None else _tensors(lib, vector)
            if v is not None and not tuple_input:
                v = v[0]
            results[lib] = getattr(lib.autograd.functional, function)(
                lambda *args, lib=lib: fn(lib, *args),
                inputs if tuple_input else inputs[0],
                v,
                create_graph=create_graph,
            )
        _assert_same(results[ember], results[torch], function)
        if create_graph:
            assert results[ember][1] is not None
            flat = (
                results[ember][1] if isinstance(results[ember][1], tuple) else (results[ember][1],)
            )
            assert all(item.requires_grad for item in flat)


HESSIAN_PRODUCT_CASES = {
    "single": (lambda lib, x: (x.sin() * x.sum()).sum(), [_data(RNG, 3)]),
    "tuple": (lambda lib, x, y: (x * y.exp() + x**3).sum(), [_data(RNG, 2), _data(RNG, 2)]),
    "scalar": (lambda lib, x: (x**4).sum(), [_data(RNG)]),
}


@pytest.mark.parametrize("name", sorted(HESSIAN_PRODUCT_CASES))
@pytest.mark.parametrize("function", ["hvp", "vhp"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian_vector_products_match_torch(name, function, create_graph):
    rng = np.random.default_rng(1234)
    fn, arrays = HESSIAN_PRODUCT_CASES[name]
    tuple_input = len(arrays) > 1
    vectors = [_data(rng, *array.shape) for array in arrays]
    results = {}
    for lib in (torch, ember):
        inputs = _tensors(lib, arrays, requires_grad=create_graph)
        v = _tensors(lib, vectors)
        results[lib] = getattr(lib.autograd.functional, function)(
            lambda *args, lib=lib: fn(lib, *args),
            inputs if tuple_input else inputs[0],
            v if tuple_input else (None if name == "scalar" else v[0]),
            create_graph=create_graph,
        )
    _assert_same(results[ember], results[torch], function)


@pytest.mark.parametrize("function", ["hvp", "vhp"])
def test_hessian_vector_products_of_an_mlp_loss(function):
    rng = np.random.default_rng(1234)
    vectors = [_data(rng, *array.shape) for array in MLP_ARRAYS[1:]]
    results = {}
    for lib in (torch, ember):
        loss, parameters = _mlp(lib)
        results[lib] = getattr(lib.autograd.functional, function)(
            loss, parameters, _tensors(lib, vectors)
        )
    _assert_same(results[ember], results[torch], function)


def test_products_with_create_graph_are_differentiable():
    rng = np.random.default_rng(1234)
    grads = []
    arrays = [_data(rng, 3)]
    for lib in (torch, ember):
        (x,) = _tensors(lib, arrays, requires_grad=True)
        v = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64)
        _, product = lib.autograd.functional.jvp(lambda x: x.exp() * x, x, v, create_graph=True)
        _, hessian_product = lib.autograd.functional.hvp(
            lambda x: (x**3).sum(), x, v, create_graph=True
        )
        (product.sum() + hessian_product.sum()).backward()
        grads.append(x.grad)
    _assert_same(grads[1], grads[0])


def test_strict_false_gives_zeros_for_unused_inputs():
    rng = np.random.default_rng(1234)
    results = {}
    arrays = [_data(rng, 2), _data(rng, 2)]
    for lib in (torch, ember):
        x, y = _tensors(lib, arrays)

        def f(a, b):
            return a.exp()

        results[lib] = (
            lib.autograd.functional.vjp(f, (x, y), lib.ones(2, dtype=lib.float64))[1],
            lib.autograd.functional.vhp(lambda a, b: a.exp().sum(), (x, y), (x, y))[1],
            lib.autograd.functional.hvp(lambda a, b: a.exp().sum(), (x, y), (x, y))[1],
            lib.autograd.functional.jvp(
                lambda a, lib=lib: lib.ones(2, dtype=lib.float64) + 0 * a.sum(), x, y
            )[1],
        )
    _assert_same(results[ember], results[torch])


def test_results_do_not_touch_the_callers_grad():
    rng = np.random.default_rng(1234)
    (x,) = _tensors(ember, [_data(rng, 3)], requires_grad=True)
    ember.autograd.functional.hessian(lambda x: (x**3).sum(), x)
    ember.autograd.functional.vjp(lambda x: (x**3).sum(), x)
    assert x.grad is None


# ---------------------------------------------------------------- errors

ERROR_CASES = {
    "vjp_v_required": lambda F, lib: F.vjp(lambda x: x * 2, _tensors(lib, [np.ones(2)])[0]),
    "vjp_v_shape": lambda F, lib: F.vjp(
        lambda x: x * 2, _tensors(lib, [np.ones(2)])[0], lib.ones(3, dtype=lib.float64)
    ),
    "vjp_v_length": lambda F, lib: F.vjp(
        lambda x: (x, x), _tensors(lib, [np.ones(2)])[0], (lib.ones(2, dtype=lib.float64),)
    ),
    "vjp_input_type": lambda F, lib: F.vjp(lambda x: x, 3.0),
    "vjp_tuple_input_type": lambda F, lib: F.vjp(lambda x, y: x, (lib.ones(1), 2)),
    "vjp_output_type": lambda F, lib: F.vjp(lambda x: 3.0, lib.ones(1)),
    "vjp_strict_unused": lambda F, lib: F.vjp(
        lambda x, y: x * 2, (lib.ones(2), lib.ones(2)), lib.ones(2), strict=True
    ),
    "vjp_strict_constant": lambda F, lib: F.vjp(
        lambda x: lib.ones(2), lib.ones(2), lib.ones(2), strict=True
    ),
    "jvp_v_required": lambda F, lib: F.jvp(lambda x: x * 2, lib.ones(2)),
    "jvp_v_shape": lambda F, lib: F.jvp(lambda x: x * 2, lib.ones(2), lib.ones(3)),
    "jvp_v_tuple_shape": lambda F, lib: F.jvp(
        lambda x, y: x * y, (lib.ones(2), lib.ones(2)), (lib.ones(2), lib.ones(1))
    ),
    "jvp_strict_unused": lambda F, lib: F.jvp(
        lambda x, y: x * 2, (lib.ones(2), lib.ones(2)), (lib.ones(2), lib.ones(2)), strict=True
    ),
    "jacobian_strict_unused": lambda F, lib: F.jacobian(
        lambda x, y: x.exp(), (lib.ones(2), lib.ones(2)), strict=True
    ),
    "jacobian_strict_vectorize": lambda F, lib: F.jacobian(
        lambda x: x.exp(), lib.ones(2), strict=True, vectorize=True
    ),
    "jacobian_forward_not_vectorized": lambda F, lib: F.jacobian(
        lambda x: x.exp(), lib.ones(2), strategy="forward-mode"
    ),
    "jacobian_forward_create_graph": lambda F, lib: F.jacobian(
        lambda x: x.exp(), lib.ones(2), create_graph=True, vectorize=True, strategy="forward-mode"
    ),
    "jacobian_bad_strategy": lambda F, lib: F.jacobian(lambda x: x, lib.ones(2), strategy="x"),
    "hessian_vector_output": lambda F, lib: F.hessian(lambda x: x * 2, lib.ones(2)),
    "hessian_tuple_output": lambda F, lib: F.hessian(lambda x: (x.sum(), x.sum()), lib.ones(2)),
    "hessian_strict_linear": lambda F, lib: F.hessian(
        lambda x: (x * 2).sum(), lib.ones(2), strict=True
    ),
    "hessian_bad_strategy": lambda F, lib: F.hessian(
        lambda x: x.sum(), lib.ones(2), outer_jacobian_strategy="x"
    ),
    "hvp_vector_output": lambda F, lib: F.hvp(lambda x: x * 2, lib.ones(2), lib.ones(2)),
    "hvp_v_required": lambda F, lib: F.hvp(lambda x: x.sum(), lib.ones(2)),
    "hvp_strict_linear": lambda F, lib: F.hvp(
        lambda x: (x * 2).sum(), lib.ones(2), lib.ones(2), strict=True
    ),
    "vhp_tuple_output": lambda F, lib: F.vhp(lambda x: (x.sum(),), lib.ones(2), lib.ones(2)),
    "vhp_v_shape": lambda F, lib: F.vhp(lambda x: x.sum(), lib.ones(2), lib.ones(3)),
    "vhp_strict_linear": lambda F, lib: F.vhp(
        lambda x: (x * 2).sum(), lib.ones(2), lib.ones(2), strict=True
    ),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_errors_match_torch(name):
    with pytest.raises(Exception) as torch_error:
        ERROR_CASES[name](torch.autograd.functional, torch)
    with pytest.raises(Exception) as ember_error:
        ERROR_CASES[name](ember.autograd.functional, ember)
    expected = type(torch_error.value)
    assert isinstance(ember_error.value, expected), (
        f"ember raised {type(ember_error.value).__name__}({ember_error.value}); "
        f"torch raised {expected.__name__}({torch_error.value})"
    )
