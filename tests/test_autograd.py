"""Autograd semantics against PyTorch: accumulation, graphs, hooks, Functions, versions."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch

import ember


def _pair(array, requires_grad=True):
    array = np.asarray(array, dtype=np.float64)
    return (
        torch.tensor(array, requires_grad=requires_grad),
        ember.tensor(array, requires_grad=requires_grad),
    )


def _close(actual, expected, tol=1e-12):
    np.testing.assert_allclose(
        actual.detach().numpy(), expected.detach().numpy(), rtol=tol, atol=tol
    )


def test_gradients_accumulate_across_backward_calls():
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        (3 * x).sum().backward()
        assert x.grad.tolist() == [5.0, 7.0]


def test_blog_snippet_gradients_match_torch():
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = (rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(1, 3)),
                      rng.normal(size=1))
    results = []
    for lib in (torch, ember):
        x = lib.tensor([[0.0, 0.0]], dtype=lib.float64, requires_grad=True)
        params = [lib.tensor(p, requires_grad=True) for p in (w1, b1, w2, b2)]
        hidden = lib.sigmoid(x @ params[0].T + params[1])
        output = lib.sigmoid(hidden @ params[2].T + params[3])
        loss = ((output - 1.0) ** 2).mean()
        loss.backward()
        results.append([x.grad] + [p.grad for p in params])
    for actual, expected in zip(results[1], results[0]):
        _close(actual, expected)


def test_hand_written_net_learns_nand():
    ember.manual_seed(0)
    inputs = ember.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    targets = ember.tensor([[1.0], [1.0], [1.0], [0.0]])
    w1 = (ember.randn(2, 3) * 0.5).requires_grad_()
    b1 = ember.zeros(3, requires_grad=True)
    w2 = (ember.randn(3, 1) * 0.5).requires_grad_()
    b2 = ember.zeros(1, requires_grad=True)
    for _ in range(4000):
        output = ember.sigmoid(ember.sigmoid(inputs @ w1 + b1) @ w2 + b2)
        loss = ((output - targets) ** 2).mean()
        for p in (w1, b1, w2, b2):
            p.grad = None
        loss.backward()
        with ember.no_grad():
            for p in (w1, b1, w2, b2):
                p -= 0.5 * p.grad
    assert loss.item() < 0.02
    assert (output.detach() > 0.5).flatten().tolist() == [True, True, True, False]


def test_second_backward_through_freed_graph_raises_with_hint():
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            y.backward()


def test_retain_graph_allows_second_backward():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    expected = 2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_non_scalar_backward_needs_gradient():
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
            (x * 2).backward()


def test_backward_on_tensor_without_grad_raises():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="does not require grad"):
            lib.tensor([1.0]).sum().backward()


def test_hessian_vector_product_of_mlp_matches_torch():
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2)),
              rng.normal(size=(5, 4))]
    vectors = [rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2))]
    results = []
    for lib in (torch, ember):
        w1, b1, w2 = (lib.tensor(a, requires_grad=True) for a in arrays[:3])
        x = lib.tensor(arrays[3])
        loss = (lib.tanh(x @ w1 + b1) @ w2).pow(2).mean()
        grads = lib.autograd.grad(loss, (w1, b1, w2), create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(grads, vectors))
        results.append(lib.autograd.grad(dot, (w1, b1, w2)))
    for actual, expected in zip(results[1], results[0]):
        _close(actual, expected, 1e-10)


def test_third_derivative():
    for lib in (torch, ember):
        x = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        (d1,) = lib.autograd.grad(x**4, x, create_graph=True)
        (d2,) = lib.autograd.grad(d1, x, create_graph=True)
        (d3,) = lib.autograd.grad(d2, x)
        assert abs(d3.item() - 24 * 1.5) < 1e-10


def test_tensor_hooks_modify_gradients_in_order():
    calls = []
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.register_hook(lambda g: g * 10)
        y.register_hook(lambda g: calls.append(g.tolist()))
        handle = x.register_hook(lambda g: g + 1)
        y.sum().backward()
        handle.remove()
        assert x.grad.tolist() == [31.0, 31.0]
    assert calls == [[10.0, 10.0], [10.0, 10.0]]


def test_retain_grad_on_non_leaf():
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.retain_grad()
        (y * 3).sum().backward()
        assert y.grad.tolist() == [3.0, 3.0]
        assert y.retains_grad and not x.retains_grad


def test_backward_inputs_restricts_accumulation():
    for lib in (torch, ember):
        a = lib.tensor([1.0], requires_grad=True)
        b = lib.tensor([2.0], requires_grad=True)
        (a * b).sum().backward(inputs=[a])
        assert a.grad.tolist() == [2.0] and b.grad is None


def test_grad_allow_unused():
    for lib in (torch, ember):
        a = lib.tensor([1.0], requires_grad=True)
        b = lib.tensor([2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="allow_unused"):
            lib.autograd.grad((a * 2).sum(), (a, b))
        ga, gb = lib.autograd.grad((a * 2).sum(), (a, b), allow_unused=True)
        assert ga.tolist() == [2.0] and gb is None


def _custom_functions(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x**3 * scale

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return grad * 3 * x**2 * ctx.scale, None

    return Cube


def test_custom_function_matches_torch_including_double_backward():
    values = []
    for lib in (torch, ember):
        Cube = _custom_functions(lib)
        x = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
        y = Cube.apply(x, 2.0)
        assert type(y.grad_fn).__name__ == "CubeBackward"
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        values.append((y.tolist(), g.tolist(), gg.tolist()))
    assert values[0] == values[1]


@pytest.mark.parametrize("materialize", [True, False])
def test_set_materialize_grads_decides_zeros_or_none_for_an_unused_output(materialize):
    seen = []
    for lib in (torch, ember):

        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, first, second):
                seen.append((lib.__name__, None if second is None else second.tolist()))
                return first * 2 if second is None else first * 2 + second * 3

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        used, _ = Split.apply(x)
        used.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0]
    assert seen == [("torch", [0.0, 0.0] if materialize else None),
                    ("ember", [0.0, 0.0] if materialize else None)]


def test_custom_function_mark_non_differentiable():
    class SortWithIndex(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            index = ember.tensor(np.argsort(x.detach().numpy()))
            ctx.mark_non_differentiable(index)
            return x * 2, index

        @staticmethod
        def backward(ctx, grad, grad_index):
            return grad * 2

    x = ember.tensor([3.0, 1.0], requires_grad=True)
    y, index = SortWithIndex.apply(x)
    assert y.requires_grad and not index.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_wrong_number_of_gradients_is_an_error():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return (grad,)

    x = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()


def test_grad_fn_names_and_next_functions():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2 + 1).sum()
    assert y.grad_fn.name() == "SumBackward0"
    (add, _), = y.grad_fn.next_functions
    assert add.name() == "AddBackward0"
    mul = add.next_functions[0][0]
    assert mul.name() == "MulBackward0"
    accumulate = mul.next_functions[0][0]
    assert accumulate.variable is x
    assert "grad_fn=<SumBackward0>" in repr(y)


def test_modified_saved_tensor_raises_version_error():
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        z = y.exp()
        z.add_(1)  # exp saved its output
        with pytest.raises(RuntimeError,
                           match="modified by an inplace operation.*version 1; expected version 0"):
            z.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    for lib in (torch, ember):
        x = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x.add_(1)


def test_inplace_ops_on_non_leaves_give_correct_gradients():
    results = []
    for lib in (torch, ember):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.5, 2.0, -0.5], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y.mul_(w)
        y.add_(w, alpha=2)
        y.clamp_(max=3.0)
        y.relu_()
        (y * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        results.append((x.grad.tolist(), w.grad.tolist(), y.tolist(), y._version))
    assert results[0] == results[1]


def test_no_grad_and_set_grad_enabled():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.no_grad():
        assert not (x * 2).requires_grad
        with ember.enable_grad():
            assert (x * 2).requires_grad
    with ember.set_grad_enabled(False):
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()

    @ember.no_grad()
    def f(t):
        return t * 2

    @ember.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    with ember.inference_mode():
        assert not (x * 2).requires_grad


def test_detach_shares_storage_and_leaves_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    d[0] = 10.0
    assert y[0].item() == 10.0


def test_long_chain_backpropagates_without_recursion():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_training_loop_keeps_no_tensors_alive():
    w = ember.tensor(np.ones((4, 1)), requires_grad=True)
    data = ember.tensor(np.ones((8, 4)))

    def live_tensors():
        gc.collect()
        # by type: ``isinstance`` asks a weak proxy (numba keeps some) for its referent's
        # class, which raises ReferenceError once that is gone
        return sum(issubclass(type(o), ember.Tensor) for o in gc.get_objects())

    def step():
        loss = ((data @ w - 1) ** 2).mean()
        w.grad = None
        loss.backward()
        with ember.no_grad():
            w.sub_(0.01 * w.grad)

    for _ in range(10):
        step()
    before = live_tensors()
    for _ in range(1000):
        step()
    assert live_tensors() <= before


def test_graph_is_freed_when_output_dropped():
    x = ember.tensor([1.0], requires_grad=True)
    y = (x * 2).exp()
    node = weakref.ref(y.grad_fn)
    del y
    assert node() is None


def test_detect_anomaly_leaves_forward_values_alone():
    # PyTorch's anomaly mode checks backward only: NaN and inf are legal forward values
    # (an attention mask of -inf); both libraries give the same gradient here.
    scores = np.random.default_rng(0).standard_normal((2, 3))
    mask = np.array([[True, False, False], [False, False, True]])
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(scores, requires_grad=True)
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            anomaly = lib.autograd.detect_anomaly()
        with anomaly:
            lib.log(lib.tensor([-1.0, 0.0]))
            weights = x.masked_fill(lib.tensor(mask), float("-inf")).softmax(-1)
            (weights * lib.tensor([[1.0, 2.0, 3.0]])).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


def test_detect_anomaly_in_backward_matches_pytorch():
    # sqrt at 0: an inf gradient is legal; 0 * inf is NaN and raises, after a warning
    # that shows the forward call that made the node.
    outcomes = []
    for lib in (torch, ember):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        with warnings.catch_warnings(record=True) as caught, lib.autograd.detect_anomaly():
            warnings.simplefilter("always")
            lib.sqrt(x).sum().backward()
            assert x.grad[0].item() == float("inf")
            y = lib.sqrt(x)  # the forward line the warning shows
            with pytest.raises(RuntimeError) as error:
                (y * 0).sum().backward()
        messages = [str(w.message) for w in caught if "Error detected" in str(w.message)]
        outcomes.append((str(error.value), messages))
    assert outcomes[1][0] == outcomes[0][0] == (
        "Function 'SqrtBackward0' returned nan values in its 0th output."
    )
    for messages in (outcomes[0][1], outcomes[1][1]):
        assert len(messages) == 1
        assert messages[0].startswith(
            "Error detected in SqrtBackward0. Traceback of forward call that caused the error:"
        )
        assert "test_autograd.py" in messages[0] and "y = lib.sqrt(x)" in messages[0]


def test_detect_anomaly_without_forward_information_matches_pytorch():
    for lib in (torch, ember):
        x = lib.tensor([0.0], requires_grad=True)
        y = lib.sqrt(x)  # made before anomaly mode: no forward stack kept
        with (pytest.warns(UserWarning, match="No forward pass information available"),
              lib.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="0th output")):
            (y * 0).sum().backward()


def test_requires_grad_propagation_and_is_leaf():
    for lib in (torch, ember):
        a = lib.tensor([1.0], requires_grad=True)
        b = lib.tensor([2.0])
        c = a * b
        assert c.requires_grad and not c.is_leaf and b.is_leaf and a.is_leaf
        assert not (b * 2).requires_grad
        with pytest.raises(RuntimeError):
            c.requires_grad = False


def test_numpy_refuses_tensor_requiring_grad():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="requires grad"):
            lib.tensor([1.0], requires_grad=True).numpy()


def test_grad_dtype_follows_input_under_promotion():
    for lib in (torch, ember):
        a = lib.tensor([1.0, 2.0], dtype=lib.float32, requires_grad=True)
        b = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        (a * b).sum().backward()
        assert str(a.grad.dtype).endswith("float32") and str(b.grad.dtype).endswith("float64")


def _view_scenarios(lib):
    results = []
    x = lib.arange(3.0, dtype=lib.float64, requires_grad=True)
    out = lib.zeros(2, 3, dtype=lib.float64)
    out[0].copy_(x * 2)  # a view of a tensor that needs no grad takes one in place
    (out.sum() + x.sum()).backward()
    results.append((out.requires_grad, x.grad.tolist(), out.tolist()))
    w = lib.arange(6.0, dtype=lib.float64, requires_grad=True)
    y = (w * 1).reshape(2, 3)
    y[:, 1].mul_(3)  # through one view ...
    y.T[0].zero_()  # ... and another; y itself must see both
    (y * lib.arange(6.0, dtype=lib.float64).reshape(2, 3)).sum().backward()
    results.append((w.grad.tolist(), y.tolist()))
    w = lib.arange(6.0, dtype=lib.float64, requires_grad=True)
    root = w * 1
    part = root[1:4]
    root.mul_(2)  # the base changes: the older view must follow
    (part * lib.tensor([1.0, 10.0, 100.0], dtype=lib.float64)).sum().backward()
    results.append((w.grad.tolist(), part.tolist()))
    return results


def test_inplace_on_views_rewrites_the_base_like_torch():
    assert _view_scenarios(ember) == _view_scenarios(torch)


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    for lib in (torch, ember):
        leaf = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            leaf[0].add_(1)


# ---------------------------------------------------------------- the array walk


def _tangled(lib, x, w):
    """A graph whose nodes fan out and meet again, with leaves reused at several depths."""
    a = x * w
    b = a.exp() + x
    c = (a * b).sin() + w * b
    d = lib.stack([c, a, b]).sum(0)
    return (d * c + x.tanh() * a).sum() + w.sum()


def test_array_walk_matches_pytorch_on_a_tangled_graph():
    rng = np.random.default_rng(3)
    tx, ex = _pair(rng.uniform(-1, 1, (3, 4)))
    tw, ew = _pair(rng.uniform(-1, 1, (4,)))
    _tangled(torch, tx, tw).backward()
    _tangled(ember, ex, ew).backward()
    _close(ex.grad, tx.grad)
    _close(ew.grad, tw.grad)


def test_hooked_graphs_take_the_tensor_walk_until_the_hook_is_gone():
    from ember._hooks import hooks_registered

    gc.collect()
    assert not hooks_registered()
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda grad: seen.append(grad.clone()))
    assert hooks_registered()
    (x * x).sum().backward()
    assert len(seen) == 1 and seen[0].tolist() == [2.0, 4.0]
    handle.remove()
    assert not hooks_registered()
    (x * x).sum().backward()
    assert len(seen) == 1 and x.grad.tolist() == [4.0, 8.0]
    y = (x * 3).sum()
    y.retain_grad()
    assert hooks_registered()
    y.backward()
    assert y.grad.item() == 1.0
    del y
    gc.collect()
    assert not hooks_registered()


def test_leaf_gradients_never_share_memory_with_each_other_or_the_caller():
    a = ember.ones(3, requires_grad=True)
    b = ember.ones(3, requires_grad=True)
    (a + b).sum().backward()  # Add hands the same array to both inputs
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    seed = ember.full((3,), 2.0)
    c = ember.ones(3, requires_grad=True)
    (c + 0).backward(seed)
    assert not np.shares_memory(c.grad.numpy(), seed.numpy())
    a.grad += 1
    assert b.grad.tolist() == [1.0, 1.0, 1.0] and seed.tolist() == [2.0, 2.0, 2.0]
