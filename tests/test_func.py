"""``ember.func`` (PyTorch's ``torch.func``) and ``nn.utils.stateless``, against PyTorch.

Each scenario is a function of the library (``torch`` or ``ember``) and input tensors made
from the same float64 arrays; ``_check_both`` runs it on both and compares the results
leaf by leaf — pytree structure, values, dtypes, shapes and whether each result carries a
graph — then pulls a random cotangent back through the results to the inputs that
require grad, which checks what the transforms hand to the caller's own autograd
(second derivatives for ``grad``, gradients through ``vmap`` …).
"""

from __future__ import annotations

import copy
import functools
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import copy_state
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)


# ---------------------------------------------------------------- helpers


def _structure(value) -> tuple:
    """(a description of the containers of ``value``, its leaves in order)."""
    if isinstance(value, (tuple, list)):
        parts = [_structure(item) for item in value]
        kind = (type(value).__name__, tuple(part[0] for part in parts))
        return kind, [leaf for part in parts for leaf in part[1]]
    if isinstance(value, dict):
        parts = [_structure(item) for item in value.values()]
        kind = ("dict", tuple(value), tuple(part[0] for part in parts))
        return kind, [leaf for part in parts for leaf in part[1]]
    return "*", [value]


def _is_tensor(value) -> bool:
    return isinstance(value, (torch.Tensor, ember.Tensor))


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _compare(actual, expected, atol: float, rtol: float) -> list:
    """Assert ``actual`` (ember's) matches ``expected`` (torch's); return the leaf pairs."""
    actual_kind, actual_leaves = _structure(actual)
    expected_kind, expected_leaves = _structure(expected)
    assert actual_kind == expected_kind, f"structure {actual_kind} != torch's {expected_kind}"
    for index, (a, e) in enumerate(zip(actual_leaves, expected_leaves)):
        if not _is_tensor(e):
            assert a == e, f"leaf {index}: {a!r} != torch's {e!r}"
            continue
        assert _is_tensor(a), f"leaf {index}: {type(a)} is not a tensor"
        assert tuple(a.shape) == tuple(e.shape), f"leaf {index}: {a.shape} != {e.shape}"
        assert str(a.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], f"leaf {index}"
        assert a.requires_grad == e.requires_grad, (
            f"leaf {index}: requires_grad {a.requires_grad} != torch's {e.requires_grad}"
        )
        np.testing.assert_allclose(
            _numpy(a), _numpy(e), atol=atol, rtol=rtol, err_msg=f"leaf {index}"
        )
    return list(zip(actual_leaves, expected_leaves))


def _make(lib, arrays, requires_grad):
    return [
        lib.tensor(array.copy(), requires_grad=bool(flag))
        for array, flag in zip(arrays, requires_grad)
    ]


def _check_both(
    scenario, arrays, requires_grad=None, seed: int = 0, atol=1e-10, rtol=1e-7, graph=None
):
    """Run ``scenario(lib, *tensors)`` on both libraries and compare, then compare the
    gradients of a random cotangent pulled back to the inputs that require grad.

    ``graph`` (default: whether any input requires grad) says whether some result must
    carry a graph, so that the pullback cannot pass by comparing nothing.
    """
    requires_grad = requires_grad or [False] * len(arrays)
    torch_inputs = _make(torch, arrays, requires_grad)
    ember_inputs = _make(ember, arrays, requires_grad)
    expected = scenario(torch, *torch_inputs)
    actual = scenario(ember, *ember_inputs)
    pairs = _compare(actual, expected, atol, rtol)
    wanted = [i for i, flag in enumerate(requires_grad) if flag]
    differentiable = [(a, e) for a, e in pairs if _is_tensor(e) and e.requires_grad]
    if graph is None:
        graph = bool(wanted)
    assert bool(differentiable) == graph, "no result carries a graph" if graph else "graph"
    if not differentiable or not wanted:
        return actual, expected
    rng = np.random.default_rng(seed)
    cotangents = [rng.standard_normal(tuple(e.shape)) for _, e in differentiable]
    expected_grads = torch.autograd.grad(
        [e for _, e in differentiable],
        [torch_inputs[i] for i in wanted],
        [torch.tensor(c) for c in cotangents],
        allow_unused=True,
    )
    actual_grads = ember.autograd.grad(
        [a for a, _ in differentiable],
        [ember_inputs[i] for i in wanted],
        [ember.tensor(c) for c in cotangents],
        allow_unused=True,
    )
    for index, a, e in zip(wanted, actual_grads, expected_grads):
        e = np.zeros(arrays[index].shape) if e is None else _numpy(e)
        a = np.zeros(arrays[index].shape) if a is None else _numpy(a)
        np.testing.assert_allclose(a, e, atol=atol * 100, rtol=rtol * 100, err_msg=f"grad {index}")
    return actual, expected


def _arrays(seed: int, *shapes, low=-1.5, high=1.5) -> list:
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=shape) for shape in shapes]


def _twin(lib, make, seed: int = 0):
    """``make(lib)``, a float64 model; ember's copy gets the weights PyTorch drew."""
    torch.manual_seed(seed)
    torch_model = make(torch).double()
    if lib is torch:
        return torch_model
    model = make(ember).double()
    copy_state(torch_model, model)
    return model


def _mlp(lib, seed: int = 0):
    return _twin(
        lib,
        lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3)),
        seed,
    )


# ---------------------------------------------------------------- grad


GRAD_FUNCTIONS = {
    "elementwise": lambda lib, x, y: (lib.sin(x) * lib.exp(y) + x**3).sum(),
    "matmul": lambda lib, x, y: (x @ y).tanh().sum(),
    "softmax": lambda lib, x, y: (lib.softmax(x, dim=-1) * y).sum(),
}


@pytest.mark.parametrize("name", sorted(GRAD_FUNCTIONS))
@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1,)])
@pytest.mark.parametrize("outer", [False, True])
def test_grad_matches_torch(name, argnums, outer):
    function = GRAD_FUNCTIONS[name]
    shapes = ((3, 4), (4, 2)) if name == "matmul" else ((3, 4), (3, 4))

    def scenario(lib, x, y):
        return lib.func.grad(functools.partial(function, lib), argnums=argnums)(x, y)

    _check_both(scenario, _arrays(1, *shapes), [outer, outer], seed=2)


def test_grad_of_grad_and_third_order():
    def scenario(lib, x):
        def f(t):
            return (t.sin() * t**2).sum()

        first = lib.func.grad(f)
        second = lib.func.grad(lambda t: first(t).sum())
        third = lib.func.grad(lambda t: lib.func.grad(lambda s: first(s).cos().sum())(t).sum())
        scalar = lib.func.grad(lib.func.grad(lambda t: t**4 * t.exp()))
        return first(x), second(x), third(x), scalar(x[0])

    _check_both(scenario, _arrays(3, (5,)), [True], seed=4)
    _check_both(scenario, _arrays(3, (5,)), [False])


def test_grad_pytrees_kwargs_and_aux():
    def scenario(lib, a, b, c):
        def f(tree, scale, offset=None):
            loss = (tree["w"] ** 2 * scale).sum() + (tree["pair"][0] * tree["pair"][1]).sum()
            return loss + offset.sum(), {"w2": tree["w"] * 2, "list": [loss]}

        tree = {"w": a, "pair": [b, c]}
        gradient, aux = lib.func.grad(f, has_aux=True)(tree, c, offset=b)
        both, (value, aux2) = lib.func.grad_and_value(f, argnums=(0, 1), has_aux=True)(
            tree, c, offset=b
        )
        return gradient, aux, both, value, aux2

    _check_both(scenario, _arrays(5, (3,), (3,), (3,)), [True, False, True], seed=6)
    _check_both(scenario, _arrays(5, (3,), (3,), (3,)))


def test_grad_results_carry_a_graph_only_through_the_callers_tensors():
    def scenario(lib, x, w):
        closed = lib.func.grad(lambda t: (t * w).sum() + (t**2).sum())(x)
        untouched = lib.func.grad(lambda t: (t**3).sum() + (w**2).sum())(x)
        unused = lib.func.grad(lambda t, s: (s**2).sum(), argnums=(0, 1))(x, x)
        with lib.no_grad():
            quiet = lib.func.grad(lambda t: (t * w).sum())(x)
        inner_no_grad = lib.func.grad(lambda t: (t * lib.sin(t).detach()).sum())(x)
        return closed, untouched, unused, quiet, inner_no_grad

    # x plain, w requires grad: only what depends on w carries a graph, back to w.
    _check_both(scenario, _arrays(7, (4,), (4,)), [False, True], seed=8)


def test_grad_is_checked_by_finite_differences():
    rng = np.random.default_rng(9)
    x = ember.tensor(rng.standard_normal((3,)), requires_grad=True)
    y = ember.tensor(rng.standard_normal((3,)), requires_grad=True)

    def gradient(a, b):
        return ember.func.grad(lambda s, t: (s.sin() * t.exp() * s).sum(), argnums=(0, 1))(a, b)

    assert ember.autograd.gradcheck(gradient, (x, y))
    assert ember.autograd.gradgradcheck(gradient, (x, y))


# ---------------------------------------------------------------- vjp, jvp, linearize


def test_vjp_matches_torch():
    def scenario(lib, x, y, cotangent, other):
        def f(a, pair):
            return {"prod": a @ pair[0], "list": [a.sin() * pair[1]]}, a.sum()

        output, vjp_fn, aux = lib.func.vjp(f, x, (y, x), has_aux=True)
        first = vjp_fn({"prod": cotangent, "list": [other]})
        again = vjp_fn({"prod": other[:, :2] * 0 + cotangent, "list": [other * 2]})
        plain_output, plain_fn = lib.func.vjp(lambda a: a.exp(), x)
        return output, aux, first, again, plain_output, plain_fn(other)

    arrays = _arrays(10, (3, 3), (3, 2), (3, 2), (3, 3))
    _check_both(scenario, arrays, [True, True, False, False], seed=11)
    _check_both(scenario, arrays, [False, False, True, True], seed=12)
    _check_both(scenario, arrays)


def test_jvp_matches_torch():
    def scenario(lib, x, y, dx, dy):
        def f(a, b):
            return {"mm": a @ b, "pair": (a.sin(), (a * a).sum())}

        output, tangent_out = lib.func.jvp(f, (x, y), (dx, dy))
        aux_out = lib.func.jvp(lambda a: (a.exp(), a.cos()), (x,), (dx,), has_aux=True)
        tree_out = lib.func.jvp(
            lambda d: (d["a"] ** 2).sum() * d["b"], ({"a": x, "b": y},), ({"a": dx, "b": dy},)
        )
        constant = lib.func.jvp(lambda a: lib.ones(2, dtype=lib.float64), (x,), (dx,))
        return output, tangent_out, aux_out, tree_out, constant

    arrays = _arrays(13, (2, 3), (3, 3), (2, 3), (3, 3))
    _check_both(scenario, arrays, [True, False, False, True], seed=14)
    _check_both(scenario, arrays)


def test_jvp_and_vjp_by_finite_differences():
    rng = np.random.default_rng(15)
    x = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    v = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    u = ember.tensor(rng.standard_normal((2,)), requires_grad=True)

    def f(a):
        return (a.sin() * a).sum(dim=1)

    assert ember.autograd.gradcheck(lambda a, t: ember.func.jvp(f, (a,), (t,))[1], (x, v))
    assert ember.autograd.gradcheck(lambda a, c: ember.func.vjp(f, a)[1](c)[0], (x, u))
    assert ember.autograd.gradgradcheck(lambda a, t: ember.func.jvp(f, (a,), (t,))[1], (x, v))


def test_linearize_matches_torch():
    def scenario(lib, x, dx, dy):
        output, jvp_fn = lib.func.linearize(lambda a, b: (a.sin() * b, a.exp().sum()), x, x)
        return output, jvp_fn(dx, dy), jvp_fn(dy, dx)

    _check_both(scenario, _arrays(16, (4,), (4,), (4,)))
    _check_both(scenario, _arrays(16, (4,), (4,), (4,)), [False, True, False], seed=17)


# ---------------------------------------------------------------- Jacobians and Hessians


JACOBIAN_FUNCTIONS = {
    "elementwise": lambda lib, x, y: x.sin() * y.exp(),
    "matmul": lambda lib, x, y: x @ y,
    "tuple": lambda lib, x, y: (x.sum() * y, {"cube": x**3, "list": [y.tanh()]}),
}


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("name", sorted(JACOBIAN_FUNCTIONS))
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacobians_match_torch(transform, name, argnums):
    function = JACOBIAN_FUNCTIONS[name]
    shapes = ((2, 3), (3, 2)) if name == "matmul" else ((2, 3), (2, 3))

    def scenario(lib, x, y):
        make = getattr(lib.func, transform)
        return make(functools.partial(function, lib), argnums=argnums)(x, y)

    _check_both(scenario, _arrays(18, *shapes), [True, True], seed=19)


def test_jacobians_of_pytree_inputs_aux_and_nesting():
    def scenario(lib, x, y):
        def f(tree):
            return tree["a"].sum() * tree["b"], tree["a"] * 3

        rev, rev_aux = lib.func.jacrev(f, has_aux=True)({"a": x, "b": y})
        fwd, fwd_aux = lib.func.jacfwd(f, has_aux=True)({"a": x, "b": y})
        nested = lib.func.jacrev(lib.func.jacrev(lambda t: (t**3).sin()))(y)
        mixed = lib.func.jacfwd(lib.func.jacrev(lambda t: (t.exp() * t).sum()))(y)
        scalar = lib.func.jacrev(lambda t: (t**2).sum())(x)
        zero_d = lib.func.jacrev(lambda t: t.sin())(y[0])
        constant = lib.func.jacrev(lambda t: lib.ones(2, dtype=lib.float64))(y)
        return rev, rev_aux, fwd, fwd_aux, nested, mixed, scalar, zero_d, constant

    _check_both(scenario, _arrays(20, (2,), (3,)), [True, True], seed=21)
    _check_both(scenario, _arrays(20, (2,), (3,)))


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_hessian_matches_torch(argnums):
    def scenario(lib, x, y):
        def f(a, b):
            return (a.sin() * (a @ b)).sum() + (b**3).sum()

        return lib.func.hessian(f, argnums=argnums)(x, y)

    _check_both(scenario, _arrays(22, (3,), (3,)), [True, True], seed=23)


def test_jacobian_is_checked_by_finite_differences():
    rng = np.random.default_rng(24)
    x = ember.tensor(rng.standard_normal((3,)), requires_grad=True)
    assert ember.autograd.gradcheck(ember.func.jacrev(lambda t: t.sin() * t.sum()), (x,))
    assert ember.autograd.gradcheck(ember.func.jacfwd(lambda t: t.exp() * t[0]), (x,))
    assert ember.autograd.gradcheck(ember.func.hessian(lambda t: (t**3 * t.cos()).sum()), (x,))


# ---------------------------------------------------------------- vmap


VMAP_CASES = {
    "elementwise": (lambda lib, x, y: lib.vmap(lambda a, b: a.sin() * b)(x, y), (5, 3), (5, 3)),
    "dot": (lambda lib, x, y: lib.vmap(lib.dot)(x, y), (4, 3), (4, 3)),
    "mv, in_dims=(None, 0)": (
        lambda lib, x, y: lib.func.vmap(lib.mv, in_dims=(None, 0))(x, y),
        (2, 3),
        (4, 3),
    ),
    "in_dims=1, out_dims=1": (
        lambda lib, x, y: lib.vmap(lambda a, b: a * b.sum(), in_dims=1, out_dims=1)(x, y),
        (2, 4),
        (3, 4),
    ),
    "in_dims=-1, out_dims=-1": (
        lambda lib, x, y: lib.vmap(lambda a, b: a.outer(b), in_dims=-1, out_dims=-1)(x, y),
        (2, 4),
        (3, 4),
    ),
    "nested": (
        lambda lib, x, y: lib.vmap(lib.vmap(lambda a, b: a * b, in_dims=(0, None)))(x, y),
        (3, 4, 2),
        (3, 2),
    ),
    "pytree in and out": (
        lambda lib, x, y: lib.vmap(
            lambda d, s: {"sum": d["a"] + d["b"], "list": [d["a"] * s, (d["b"].sum(),)]},
            in_dims=({"a": 0, "b": 1}, None),
        )({"a": x, "b": y}, x[0]),
        (3, 4),
        (4, 3),
    ),
    "out_dims tuple and None": (
        lambda lib, x, y: lib.vmap(
            lambda a: (a * 2, lib.ones(2, dtype=lib.float64), 3), out_dims=(1, None, None)
        )(x),
        (3, 2),
        (1,),
    ),
    "kwargs are not mapped": (
        lambda lib, x, y: lib.vmap(lambda a, scale=None: a * scale)(x, scale=y),
        (3, 2),
        (2,),
    ),
    "matmul of a batch of matrices": (
        lambda lib, x, y: lib.vmap(lambda a: a @ a.T, in_dims=2)(x),
        (2, 3, 4),
        (1,),
    ),
}


@pytest.mark.parametrize("name", sorted(VMAP_CASES))
def test_vmap_matches_torch(name):
    scenario, *shapes = VMAP_CASES[name]
    _check_both(scenario, _arrays(25, *shapes), [True] * len(shapes), seed=26)
    _check_both(scenario, _arrays(25, *shapes))


def test_vmap_of_grad_jacrev_and_vjp():
    def scenario(lib, x, y):
        per_row = lib.vmap(lib.func.grad(lambda a, b: (a.sin() * b).sum()))(x, y)
        both = lib.vmap(lib.func.grad(lambda a, b: (a * b**2).sum(), argnums=(0, 1)))(x, y)
        jacobians = lib.vmap(lib.func.jacrev(lambda a: a.exp() * a.sum()))(x)
        _, vjp_fn = lib.func.vjp(lambda a: a.tanh() * 2, x[0])
        rows = lib.vmap(vjp_fn)(y)
        grad_of_vmap = lib.func.grad(lambda a: lib.vmap(lambda r: (r**2).sum())(a).sum())(x)
        return per_row, both, jacobians, rows, grad_of_vmap

    _check_both(scenario, _arrays(27, (4, 3), (4, 3)), [True, True], seed=28)
    _check_both(scenario, _arrays(27, (4, 3), (4, 3)))


def test_vmap_by_finite_differences_and_empty_batch():
    rng = np.random.default_rng(29)
    x = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert ember.autograd.gradcheck(ember.vmap(lambda a: a.sin() * a.sum(), in_dims=1), (x,))

    def scenario(lib, x, y):
        return lib.vmap(lambda a, b: (a * b, a.sum()), in_dims=(0, None))(x, y)

    _check_both(scenario, [np.zeros((0, 3)), np.ones(3)])

    def last_dim(lib, x, y):
        return lib.vmap(lambda a, b: (a * b).sum(0), in_dims=(-1, None), out_dims=-1)(x, y)

    _check_both(last_dim, [np.zeros((2, 3, 0)), np.ones(3)])


def test_vmap_randomness():
    x = ember.zeros(4, 3)
    for lib, data in ((torch, torch.zeros(4, 3)), (ember, x)):
        with pytest.raises(RuntimeError, match="randomness error mode"):
            lib.vmap(lambda a: a + lib.rand(3))(data)
        with pytest.raises(RuntimeError, match="randomness error mode"):
            lib.func.jacfwd(lambda a: a * lib.rand(3))(lib.ones(3))
    ember.manual_seed(0)
    same = ember.vmap(lambda a: a + ember.rand(3), randomness="same")(x)
    after_same = ember.rand(1)
    ember.manual_seed(0)
    different = ember.vmap(lambda a: a + ember.rand(3), randomness="different")(x)
    ember.manual_seed(0)
    first_draw = ember.rand(3)
    # "same": every row is the one draw, and the generator moved on by one draw only.
    np.testing.assert_array_equal(same.numpy(), np.tile(first_draw.numpy(), (4, 1)))
    ember.manual_seed(0)
    ember.rand(3)
    np.testing.assert_array_equal(after_same.numpy(), ember.rand(1).numpy())
    # "different": distinct rows, uniform in [0, 1), reproducible under a seed.
    assert len({tuple(row) for row in different.numpy().tolist()}) == 4
    assert different.min() >= 0 and different.max() < 1
    ember.manual_seed(0)
    again = ember.vmap(lambda a: a + ember.rand(3), randomness="different")(x)
    np.testing.assert_array_equal(again.numpy(), different.numpy())
    dropped = ember.vmap(lambda a: ember.nn.functional.dropout(a, 0.5), randomness="different")(
        ember.ones(200, 50)
    )
    assert abs(float((dropped == 0).double().mean()) - 0.5) < 0.03
    assert set(np.unique(dropped.numpy()).tolist()) <= {0.0, 2.0}


# ---------------------------------------------------------------- functional_call


def test_per_sample_gradients_recipe_matches_torch():
    """PyTorch's per-sample-gradients tutorial, with a ``functional_call`` of an MLP."""
    rng = np.random.default_rng(30)
    data, targets = rng.standard_normal((6, 4)), rng.integers(0, 3, size=6)
    results = {}
    for lib in (torch, ember):
        model = _mlp(lib)
        params = {name: p.detach() for name, p in model.named_parameters()}

        def loss(params, sample, target, lib=lib, model=model):
            prediction = lib.func.functional_call(model, params, (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(prediction, target.unsqueeze(0))

        per_sample = lib.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(
            params, lib.tensor(data), lib.tensor(targets)
        )
        assert all(not p.requires_grad for p in per_sample.values())
        assert all(p.grad is None for p in model.parameters())
        results[lib] = per_sample
    _compare(results[ember], results[torch], atol=1e-10, rtol=1e-7)
    # The per-sample gradients average to the batch gradient.
    model = _mlp(ember)
    ember.nn.functional.cross_entropy(model(ember.tensor(data)), ember.tensor(targets)).backward()
    for name, parameter in model.named_parameters():
        np.testing.assert_allclose(
            results[ember][name].mean(0).numpy(), parameter.grad.numpy(), atol=1e-12
        )


def test_model_ensembling_with_stack_module_state():
    rng = np.random.default_rng(31)
    batch = rng.standard_normal((5, 4))
    cotangent = rng.standard_normal((3, 5, 3))
    results = {}
    for lib in (torch, ember):
        models = [_mlp(lib, seed) for seed in range(3)]
        params, buffers = lib.func.stack_module_state(models)
        base = copy.deepcopy(models[0])

        def run(params, buffers, x, lib=lib, base=base):
            return lib.func.functional_call(base, (params, buffers), (x,))

        predictions = lib.vmap(run, in_dims=(0, 0, None))(params, buffers, lib.tensor(batch))
        grads = lib.autograd.grad(predictions, list(params.values()), lib.tensor(cotangent))
        separate = lib.stack([model(lib.tensor(batch)) for model in models])
        results[lib] = (params, buffers, predictions, grads, separate)
    _compare(results[ember], results[torch], atol=1e-10, rtol=1e-7)
    params, _, predictions, _, separate = results[ember]
    assert all(p.is_leaf and p.requires_grad for p in params.values())
    np.testing.assert_allclose(predictions.detach().numpy(), separate.detach().numpy())


def test_stack_module_state_of_buffers():
    def scenario(lib):
        torch.manual_seed(32)
        models = [lib.nn.BatchNorm1d(3).double() for _ in range(2)]
        models[1].running_mean.fill_(2.0)
        frozen = [lib.nn.Linear(2, 2) for _ in range(2)]
        for model in frozen:
            model.weight.requires_grad_(False)
        params, _ = lib.func.stack_module_state(frozen)
        return lib.func.stack_module_state(models), params["weight"].requires_grad

    _check_both(lambda lib: scenario(lib)[0], [], graph=True)
    assert scenario(ember)[1] is scenario(torch)[1] is False


def test_functional_call_forms_and_gradients():
    def scenario(lib, weight, bias, x):
        model = _mlp(lib)
        originals = {name: p for name, p in model.named_parameters()}
        full = lib.func.functional_call(model, {"0.weight": weight, "0.bias": bias}, (x,))
        split = lib.func.functional_call(model, ({"0.weight": weight}, {"0.bias": bias}), x)
        keyword = lib.func.functional_call(model[0], [{"weight": weight}], kwargs={"input": x})
        strict = lib.func.functional_call(
            model,
            {**{k: v.detach() for k, v in originals.items()}, "0.weight": weight},
            (x,),
            strict=True,
        )
        assert all(p is originals[name] for name, p in model.named_parameters())
        assert all(p.grad is None for p in model.parameters())
        return full, split, keyword, strict

    arrays = _arrays(33, (8, 4), (8,), (2, 4))
    _check_both(scenario, arrays, [True, True, True], seed=34)


def _tied(lib):
    class Tied(lib.nn.Module):
        """Two layers sharing one weight, and a buffer the forward reassigns."""

        def __init__(self):
            super().__init__()
            self.a = lib.nn.Linear(2, 2, bias=False)
            self.b = lib.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight
            self.register_buffer("count", lib.zeros(()))

        def forward(self, x):
            self.count = self.count + 1
            return self.b(self.a(x)) * self.count

    return Tied()


def test_functional_call_tied_weights_buffers_and_writes():
    def scenario(lib, weight, x):
        model = _twin(lib, _tied, seed=35)
        values = {"a.weight": weight, "count": lib.zeros((), dtype=lib.float64)}
        tied = lib.func.functional_call(model, values, (x,))
        untied = lib.func.functional_call(model, {"a.weight": weight}, (x,), tie_weights=False)
        both = lib.func.functional_call(model, {"a.weight": weight, "b.weight": weight}, x)
        untied_strict = lib.func.functional_call(
            model,
            {"a.weight": weight, "b.weight": weight * 2, "count": values["count"]},
            x,
            tie_weights=False,
            strict=True,
        )
        norm = lib.nn.BatchNorm1d(2).double()
        running = lib.zeros(2, dtype=lib.float64)
        normed = lib.func.functional_call(norm, {"running_mean": running}, (x,))
        assert float(norm.running_mean.abs().sum()) == 0
        outputs = (tied, untied, both, untied_strict, normed)
        return outputs, values["count"], model.count, running, model.a.weight is model.b.weight

    _check_both(scenario, _arrays(36, (2, 2), (4, 2)), [True, True], seed=37)


def test_functional_call_restores_after_an_exception_and_stateless_warns():
    for lib in (torch, ember):

        class Boom(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = lib.nn.Linear(2, 2)

            def forward(self, x):
                raise ValueError("boom")

        model = Boom()
        weight = model.layer.weight
        with pytest.raises(ValueError, match="boom"):
            lib.func.functional_call(
                model, {"layer.weight": lib.zeros(2, 2), "extra": lib.ones(1)}, lib.ones(2)
            )
        assert model.layer.weight is weight and not hasattr(model, "extra")
        layer = lib.nn.Linear(2, 1)
        with pytest.warns(FutureWarning, match="deprecated"):
            out = lib.nn.utils.stateless.functional_call(
                layer, {"weight": lib.ones(1, 2), "bias": lib.zeros(1)}, (lib.ones(2),)
            )
        assert float(out) == 2.0


# ---------------------------------------------------------------- the other names


def test_replace_batch_norm_functionalize_debug_unwrap():
    def scenario(lib, x):
        model = _twin(
            lib, lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.BatchNorm1d(3))
        )
        assert lib.func.replace_all_batch_norm_modules_(model) is model
        norm = model[1]
        flags = (norm.running_mean, norm.running_var, norm.num_batches_tracked)
        functionalized = lib.func.functionalize(lambda a: a.clone().mul_(2) + 1)(x)
        unwrapped = lib.func.debug_unwrap(x)
        return flags, norm.track_running_stats, model(x), functionalized, unwrapped is x

    _check_both(scenario, _arrays(38, (4, 3)), [True], seed=39)


# ---------------------------------------------------------------- errors


def _x(lib):
    return lib.ones(2, 3, dtype=lib.float64)


def _linear(lib):
    return lib.nn.Linear(3, 2).double()


ERRORS = [
    ErrorCase("grad of a vector", lambda lib: lib.func.grad(lambda a: a * 2)(_x(lib))),
    ErrorCase("grad of a float", lambda lib: lib.func.grad(lambda a: 1.0)(_x(lib))),
    ErrorCase(
        "grad aux not a pair", lambda lib: lib.func.grad(lambda a: a.sum(), has_aux=True)(_x(lib))
    ),
    ErrorCase(
        "grad aux not tensors",
        lambda lib: lib.func.grad(lambda a: (a.sum(), 1), has_aux=True)(_x(lib)),
    ),
    ErrorCase(
        "argnums out of range", lambda lib: lib.func.grad(lambda a: a.sum(), argnums=1)(_x(lib))
    ),
    ErrorCase(
        "argnums a float", lambda lib: lib.func.grad(lambda a: a.sum(), argnums=1.0)(_x(lib))
    ),
    ErrorCase(
        "argnums a list",
        lambda lib: lib.func.grad(lambda a, b: a.sum(), argnums=[0, 1])(_x(lib), _x(lib)),
    ),
    ErrorCase("argnums empty", lambda lib: lib.func.grad(lambda a: a.sum(), argnums=())(_x(lib))),
    ErrorCase(
        "argnums repeated",
        lambda lib: lib.func.grad(lambda a, b: a.sum(), argnums=(1, -1))(_x(lib), _x(lib)),
    ),
    ErrorCase("grad of a number", lambda lib: lib.func.grad(lambda a: a * 2)(3.0)),
    ErrorCase(
        "grad of an integer tensor",
        lambda lib: lib.func.grad(lambda a: a.sum())(lib.ones(3, dtype=lib.int64)),
    ),
    ErrorCase("vjp of a number", lambda lib: lib.func.vjp(lambda a: a, 1.0)),
    ErrorCase("vjp output not tensors", lambda lib: lib.func.vjp(lambda a: 1.0, _x(lib))),
    ErrorCase(
        "vjp cotangent structure", lambda lib: lib.func.vjp(lambda a: a * 2, _x(lib))[1]((_x(lib),))
    ),
    ErrorCase(
        "vjp cotangent shape", lambda lib: lib.func.vjp(lambda a: a * 2, _x(lib))[1](lib.ones(3))
    ),
    ErrorCase("vjp cotangent a number", lambda lib: lib.func.vjp(lambda a: a * 2, _x(lib))[1](1.0)),
    ErrorCase("jvp primals a list", lambda lib: lib.func.jvp(lambda a: a, [_x(lib)], [_x(lib)])),
    ErrorCase("jvp structures", lambda lib: lib.func.jvp(lambda a: a, (_x(lib),), _x(lib))),
    ErrorCase("jvp no primals", lambda lib: lib.func.jvp(lambda: lib.ones(2), (), ())),
    ErrorCase(
        "jvp tangent shape", lambda lib: lib.func.jvp(lambda a: a, (_x(lib),), (lib.ones(3),))
    ),
    ErrorCase("jvp tangent a number", lambda lib: lib.func.jvp(lambda a: a, (_x(lib),), (1.0,))),
    ErrorCase(
        "jvp integer primal",
        lambda lib: lib.func.jvp(
            lambda a: a, (lib.ones(2, dtype=lib.int64),), (lib.ones(2, dtype=lib.int64),)
        ),
    ),
    ErrorCase(
        "jvp aux not a pair",
        lambda lib: lib.func.jvp(lambda a: a, (_x(lib),), (_x(lib),), has_aux=True),
    ),
    ErrorCase(
        "jacrev integer output", lambda lib: lib.func.jacrev(lambda a: (a > 0).long())(_x(lib))
    ),
    ErrorCase("jacrev chunk_size 0", lambda lib: lib.func.jacrev(lambda a: a, chunk_size=0)),
    ErrorCase(
        "jacfwd randomness", lambda lib: lib.func.jacfwd(lambda a: a, randomness="x")(_x(lib))
    ),
    ErrorCase(
        "jacrev aux not a pair", lambda lib: lib.func.jacrev(lambda a: a, has_aux=True)(_x(lib))
    ),
    ErrorCase("vmap sizes differ", lambda lib: lib.vmap(lambda a, b: a)(_x(lib), lib.ones(3))),
    ErrorCase("vmap in_dims None", lambda lib: lib.vmap(lambda a: a, in_dims=None)(_x(lib))),
    ErrorCase("vmap nothing mapped", lambda lib: lib.vmap(lambda a: a, in_dims=(None,))(_x(lib))),
    ErrorCase("vmap no inputs", lambda lib: lib.vmap(lambda: lib.ones(2))()),
    ErrorCase(
        "vmap in_dims length", lambda lib: lib.vmap(lambda a, b: a, in_dims=(0,))(_x(lib), _x(lib))
    ),
    ErrorCase(
        "vmap in_dims a list",
        lambda lib: lib.vmap(lambda a, b: a, in_dims=[0, 0])(_x(lib), _x(lib)),
    ),
    ErrorCase("vmap in_dim out of range", lambda lib: lib.vmap(lambda a: a, in_dims=2)(_x(lib))),
    ErrorCase("vmap in_dim a float", lambda lib: lib.vmap(lambda a: a, in_dims=(0.5,))(_x(lib))),
    ErrorCase("vmap a 0-d input", lambda lib: lib.vmap(lambda a: a)(lib.tensor(1.0))),
    ErrorCase("vmap over a number", lambda lib: lib.vmap(lambda a, b: a * b)(_x(lib), 2.0)),
    ErrorCase(
        "vmap dict in_dims keys",
        lambda lib: lib.vmap(lambda d: d["a"], in_dims=({"a": 0},))({"a": _x(lib), "b": _x(lib)}),
    ),
    ErrorCase("vmap returns a number", lambda lib: lib.vmap(lambda a: 1.0)(_x(lib))),
    ErrorCase(
        "vmap batched output with out_dims None",
        lambda lib: lib.vmap(lambda a: a, out_dims=None)(_x(lib)),
    ),
    ErrorCase(
        "vmap varying output with out_dims None",
        lambda lib: lib.vmap(lambda a: a * 2, out_dims=None)(lib.arange(6.0).reshape(3, 2)),
    ),
    ErrorCase("vmap out_dims out of range", lambda lib: lib.vmap(lambda a: a, out_dims=3)(_x(lib))),
    ErrorCase("vmap out_dims a float", lambda lib: lib.vmap(lambda a: a, out_dims=1.0)(_x(lib))),
    ErrorCase(
        "vmap out_dims structure",
        lambda lib: lib.vmap(lambda a: (a, a), out_dims=(0, 1, 0))(_x(lib)),
    ),
    ErrorCase("vmap randomness", lambda lib: lib.vmap(lambda a: a, randomness="foo")),
    ErrorCase("vmap chunk_size", lambda lib: lib.vmap(lambda a: a, chunk_size=0)),
    ErrorCase(
        "functional_call not a dict", lambda lib: lib.func.functional_call(_linear(lib), 3, _x(lib))
    ),
    ErrorCase(
        "functional_call not dicts",
        lambda lib: lib.func.functional_call(_linear(lib), ({}, 3), _x(lib)),
    ),
    ErrorCase(
        "functional_call repeated keys",
        lambda lib: lib.func.functional_call(
            _linear(lib), ({"bias": lib.zeros(2)}, {"bias": lib.zeros(2)}), _x(lib)
        ),
    ),
    ErrorCase(
        "functional_call strict missing",
        lambda lib: lib.func.functional_call(
            _linear(lib), {"bias": lib.zeros(2, dtype=lib.float64)}, _x(lib), strict=True
        ),
    ),
    ErrorCase(
        "functional_call strict unexpected",
        lambda lib: lib.func.functional_call(
            _linear(lib),
            {**dict(_linear(lib).named_parameters()), "foo": lib.ones(1)},
            _x(lib),
            strict=True,
        ),
    ),
    ErrorCase(
        "functional_call unknown submodule",
        lambda lib: lib.func.functional_call(_linear(lib), {"foo.bar": lib.ones(1)}, _x(lib)),
    ),
    ErrorCase(
        "functional_call a number",
        lambda lib: lib.func.functional_call(_linear(lib), {"bias": 3.0}, _x(lib)),
    ),
    ErrorCase(
        "functional_call a module's name",
        lambda lib: lib.func.functional_call(
            lib.nn.Sequential(_linear(lib)), {"0": lib.ones(1)}, _x(lib)
        ),
    ),
    ErrorCase(
        "functional_call tied values differ",
        lambda lib: lib.func.functional_call(
            _shared(lib), {"0.weight": lib.eye(3), "1.weight": lib.eye(3)}, _x(lib)
        ),
    ),
    ErrorCase("stack_module_state of nothing", lambda lib: lib.func.stack_module_state([])),
    ErrorCase(
        "stack_module_state of two classes",
        lambda lib: lib.func.stack_module_state([lib.nn.Linear(3, 2), lib.nn.Conv1d(3, 2, 1)]),
    ),
    ErrorCase(
        "stack_module_state train and eval",
        lambda lib: lib.func.stack_module_state([lib.nn.Linear(3, 2), lib.nn.Linear(3, 2).eval()]),
    ),
    ErrorCase(
        "stack_module_state requires_grad",
        lambda lib: lib.func.stack_module_state(
            [lib.nn.Linear(3, 2), lib.nn.Linear(3, 2).requires_grad_(False)]
        ),
    ),
    ErrorCase("functionalize remove", lambda lib: lib.func.functionalize(lambda a: a, remove="x")),
]


def _shared(lib):
    first = lib.nn.Linear(3, 3, bias=False).double()
    second = lib.nn.Linear(3, 3, bias=False).double()
    second.weight = first.weight
    return lib.nn.Sequential(first, second)


@pytest.mark.parametrize("case", ERRORS, ids=[case.name for case in ERRORS])
def test_errors_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_error(case)


def test_error_messages_are_pytorchs():
    def message(fn):
        for lib in (torch, ember):
            with pytest.raises(Exception) as error:
                fn(lib)
            yield str(error.value)

    cases = [
        lambda lib: lib.func.grad(lambda a: a * 2)(_x(lib)),
        lambda lib: lib.func.grad(lambda a: a.sum(), argnums=1)(_x(lib)),
        lambda lib: lib.vmap(lambda a, b: a)(_x(lib), lib.ones(3)),
        lambda lib: lib.vmap(lambda a: a, in_dims=2)(_x(lib)),
        lambda lib: lib.vmap(lambda a: 1.0)(_x(lib)),
        lambda lib: lib.vmap(lambda a: a, out_dims=None)(_x(lib)),
        lambda lib: lib.func.vjp(lambda a: a * 2, _x(lib))[1]((_x(lib),)),
        lambda lib: lib.func.functional_call(
            _linear(lib), {"bias": lib.zeros(2), "foo": lib.ones(1)}, _x(lib), strict=True
        ),
        lambda lib: lib.func.stack_module_state([]),
    ]
    for fn in cases:
        torch_message, ember_message = message(fn)
        assert ember_message == torch_message
