"""``ember.autograd.graph``: saved-tensor hooks, ``save_on_cpu``, ``disable_saved_tensors_hooks``
and ``register_multi_grad_hook``, each run the same way on PyTorch and on ember.

The hooks must see what PyTorch's see: one tensor per saved input or output (``x * y``
saves both operands, ``x.exp()`` its result), with the same shapes, ``grad_fn`` and
``requires_grad``, under the same grad modes, and the backward pass must use whatever the
unpack hook hands back.
"""

from __future__ import annotations

import threading
import zlib

import numpy as np
import pytest
import torch
import torch.autograd.graph

import ember
import ember.autograd.graph

torch.set_num_threads(1)

LIBRARIES = (torch, ember)


def _name(tensor) -> str:
    return "" if tensor.grad_fn is None else tensor.grad_fn.name()


def _hooked(lib, fn, arrays, requires, seed, pack_copy=False):
    """``fn(lib, *inputs)`` under hooks that log what they see: (sorted pack log, unpack
    count, the output, the gradients of a random cotangent with respect to the inputs that
    require grad)."""
    packed, unpacked = [], []

    def pack(tensor):
        packed.append((tuple(tensor.shape), _name(tensor), tensor.requires_grad,
                       lib.is_grad_enabled()))
        return tensor.clone() if pack_copy else tensor

    def unpack(tensor):
        unpacked.append((tuple(tensor.shape), lib.is_grad_enabled()))
        return tensor

    inputs = [lib.tensor(a, requires_grad=r) for a, r in zip(arrays, requires)]
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        output = fn(lib, *inputs)
    cotangent = np.random.default_rng(seed).standard_normal(tuple(output.shape))
    grads = lib.autograd.grad(output, [x for x in inputs if x.requires_grad],
                              lib.tensor(cotangent))
    return sorted(packed), sorted(unpacked), output.detach().numpy(), [g.numpy() for g in grads]


# name, fn, input shapes, domain: each op saves what PyTorch's saves
OPS = [
    ("mul", lambda lib, x, y: x * y, [(3, 4), (3, 4)], (-2, 2)),
    ("mul_broadcast", lambda lib, x, y: x * y, [(3, 4), (4,)], (-2, 2)),
    ("div", lambda lib, x, y: x / y, [(3, 4), (3, 4)], (1, 3)),
    ("mul_by_number", lambda lib, x: x * 2.5, [(3, 4)], (-2, 2)),
    ("add", lambda lib, x, y: x + y, [(3, 4), (3, 4)], (-2, 2)),
    ("exp", lambda lib, x: x.exp(), [(5,)], (-2, 2)),
    ("sin", lambda lib, x: x.sin(), [(5,)], (-2, 2)),
    ("cos", lambda lib, x: x.cos(), [(5,)], (-2, 2)),
    ("log", lambda lib, x: x.log(), [(5,)], (0.5, 2)),
    ("tanh", lambda lib, x: x.tanh(), [(2, 3)], (-2, 2)),
    ("sigmoid", lambda lib, x: x.sigmoid(), [(2, 3)], (-2, 2)),
    ("relu", lambda lib, x: x.relu(), [(2, 3)], (-2, 2)),
    ("sqrt", lambda lib, x: x.sqrt(), [(2, 3)], (0.5, 2)),
    ("abs", lambda lib, x: x.abs(), [(2, 3)], (0.5, 2)),
    ("square", lambda lib, x: x.square(), [(2, 3)], (-2, 2)),
    ("pow", lambda lib, x: x.pow(3), [(2, 3)], (-2, 2)),
    ("softmax", lambda lib, x: x.softmax(-1), [(2, 3)], (-2, 2)),
    ("log_softmax", lambda lib, x: x.log_softmax(-1), [(2, 3)], (-2, 2)),
    ("layer_norm", lambda lib, x: lib.nn.functional.layer_norm(x, (4,)), [(3, 4)], (-2, 2)),
    ("mm", lambda lib, x, y: x @ y, [(2, 3), (3, 4)], (-2, 2)),
    ("sum", lambda lib, x: x.sum(), [(2, 3)], (-2, 2)),
    ("reshape", lambda lib, x: x.reshape(6), [(2, 3)], (-2, 2)),
    ("chain", lambda lib, x, y: ((x * y).exp().tanh() @ y.t()).sigmoid(), [(2, 3), (2, 3)],
     (-1, 1)),
]


@pytest.mark.parametrize("name, fn, shapes, domain", OPS, ids=[op[0] for op in OPS])
def test_hooks_see_what_torch_saves(name, fn, shapes, domain):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = [rng.uniform(*domain, size=shape) for shape in shapes]
    requires = [True] * len(arrays)
    expected = _hooked(torch, fn, arrays, requires, seed=1)
    actual = _hooked(ember, fn, arrays, requires, seed=1)
    assert actual[0] == expected[0], name  # shapes, grad_fn, requires_grad, no_grad in pack
    assert actual[1] == expected[1], name  # an unpack per saved tensor, with grad mode off
    np.testing.assert_allclose(actual[2], expected[2], rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(actual[3], expected[3]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


def test_hooks_see_nothing_without_a_graph():
    for lib in LIBRARIES:
        seen = []
        leaf = lib.ones(3, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(seen.append, lambda packed: packed):
            with lib.no_grad():
                leaf.exp()
            lib.ones(3).exp()  # nothing requires grad
        assert seen == []


def _copy_hooks(lib, store):
    """Hooks that keep a float32 copy in ``store`` and hand out an index: the graph keeps
    neither the tensor nor its array, and the backward pass sees the rounded copy."""

    def pack(tensor):
        store.append(tensor.detach().to(lib.float32).clone())
        return len(store) - 1

    def unpack(index):
        return store[index].to(lib.float64)

    return pack, unpack


def test_backward_uses_what_unpack_returns():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    cotangent = rng.standard_normal((4, 3))
    results = []
    for lib in LIBRARIES:
        x, w = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        store = []
        with lib.autograd.graph.saved_tensors_hooks(*_copy_hooks(lib, store)):
            y = (x @ w).tanh()
        y.backward(lib.tensor(cotangent))
        results.append((len(store), x.grad.numpy(), w.grad.numpy()))
    assert results[1][0] == results[0][0] == 3
    for mine, theirs in zip(results[1][1:], results[0][1:]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    # the float32 copies really were used: exact gradients differ from them
    x, w = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    (x @ w).tanh().backward(ember.tensor(cotangent))
    assert np.abs(x.grad.numpy() - results[1][1]).max() > 1e-9


def test_hooked_ops_pass_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(4)
    x = ember.tensor(rng.uniform(0.5, 1.5, (2, 3)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 3)), requires_grad=True)

    def hooked(x, w):
        with ember.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
            return ((x @ w).sigmoid() * x.log()).softmax(-1)

    assert ember.autograd.gradcheck(hooked, (x, w), eps=1e-6, atol=1e-6)
    assert ember.autograd.gradgradcheck(hooked, (x, w), eps=1e-6, atol=1e-5)


def test_second_order_gradients_through_packed_values_equal_torch():
    # Packed copies lose the saved tensors' places in the graph; the unpacked tensors must
    # regain them (a leaf input, an intermediate, the node's own output) for create_graph.
    rng = np.random.default_rng(5)
    data = rng.standard_normal(4)
    cotangent = rng.standard_normal(4)
    results = []
    for lib in LIBRARIES:
        x = lib.tensor(data, requires_grad=True)
        modes = []

        def unpack(tensor, modes=modes, lib=lib):
            modes.append(lib.is_grad_enabled())
            return tensor

        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), unpack):
            y = (x.sin() * x).exp() * x
        (grad,) = lib.autograd.grad(y, x, lib.tensor(cotangent), create_graph=True)
        (second,) = lib.autograd.grad(grad, x, lib.tensor(cotangent))
        results.append((grad.detach().numpy(), second.numpy(), modes))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10)
    # unpacked with grad on for create_graph, off for the second pass
    assert results[1][2] == results[0][2] and set(results[1][2]) == {True, False}


def _custom_function(lib, log):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            out = a * b.exp()
            ctx.save_for_backward(a, b, out, None)
            return out

        @staticmethod
        def backward(ctx, grad):
            ctx.saved_tensors  # read twice: each read unpacks again
            a, b, out, nothing = ctx.saved_tensors
            log.append(("unpacked", _name(out), out.requires_grad, _name(a), a.requires_grad,
                        nothing))
            return grad * b.exp(), grad * out

    return Scale


def test_custom_function_saves_through_the_hooks_as_in_torch():
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal(3), rng.standard_normal(3)]
    cotangent = rng.standard_normal(3)
    results = []
    for lib in LIBRARIES:
        log = []
        a, b = (lib.tensor(array, requires_grad=True) for array in arrays)

        def pack(tensor, log=log, a=a):
            log.append(("pack", tuple(tensor.shape), _name(tensor), tensor is a))
            return tensor

        def unpack(tensor, log=log):
            log.append("unpack")
            return tensor

        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = _custom_function(lib, log).apply(a, b)
        log.append("backward")
        y.backward(lib.tensor(cotangent))
        results.append((log, a.grad.numpy(), b.grad.numpy()))
    assert results[1][0] == results[0][0]
    assert results[1][0].count("unpack") == 6
    for mine, theirs in zip(results[1][1:], results[0][1:]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)


def test_only_the_innermost_hooks_apply_and_outlive_their_block():
    logs = []
    for lib in LIBRARIES:
        log = []
        x = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)

        def hooks(tag, log=log):
            return (lambda t: log.append(tag) or t), (lambda t: log.append(tag + " unpack") or t)

        with lib.autograd.graph.saved_tensors_hooks(*hooks("outer")):
            with lib.autograd.graph.saved_tensors_hooks(*hooks("inner")):
                y = x.exp()
            z = y.sin()
        lib.ones(3, requires_grad=True).exp()  # after both blocks: not hooked
        z.sum().backward()
        logs.append(log)
    assert logs[1] == logs[0] == ["inner", "outer", "outer unpack", "inner unpack"]


def test_hooks_are_undone_when_the_block_raises():
    for lib in LIBRARIES:
        seen = []
        with pytest.raises(KeyError):
            with lib.autograd.graph.saved_tensors_hooks(seen.append, lambda p: p):
                raise KeyError("inside")
        lib.ones(2, requires_grad=True).exp()
        assert seen == []


def test_hooks_belong_to_the_thread():
    for lib in LIBRARIES:
        seen, done = [], []

        def other_thread(lib=lib, done=done):
            lib.ones(2, requires_grad=True).exp()
            done.append(True)

        with lib.autograd.graph.saved_tensors_hooks(lambda t: seen.append("pack") or t,
                                                     lambda t: t):
            worker = threading.Thread(target=other_thread)
            worker.start()
            worker.join(30)
        assert done == [True] and seen == []


def test_retained_graph_unpacks_per_backward_then_frees():
    counts = []
    for lib in LIBRARIES:
        unpacked = []
        x = lib.tensor([0.1, 0.2], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t,
                                                     lambda t: unpacked.append(1) or t):
            y = x.exp().sum()
        y.backward(retain_graph=True)
        y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()
        counts.append(len(unpacked))
    assert counts == [2, 2]


def _modified_after_saving(lib, hooks):
    """A saved tensor changed in place after it was saved: with hooks, PyTorch checks no
    versions, so the backward pass uses whatever the hook kept."""
    a = lib.tensor([0.3, -0.7, 1.1], requires_grad=True)
    b = a * 1
    with hooks:
        y = b.sin()
    b.add_(1.0)
    y.backward(lib.tensor([1.0, -2.0, 0.5]))
    return a.grad.numpy()


@pytest.mark.parametrize("kind", ["identity", "copy", "save_on_cpu", "save_on_cpu_pinned"])
def test_no_version_check_for_hooked_values(kind):
    results = []
    for lib in LIBRARIES:
        graph = lib.autograd.graph
        hooks = {
            "identity": lambda: graph.saved_tensors_hooks(lambda t: t, lambda t: t),
            "copy": lambda: graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t),
            "save_on_cpu": lambda: graph.save_on_cpu(),
            "save_on_cpu_pinned": lambda: graph.save_on_cpu(pin_memory=True),
        }[kind]()
        results.append(_modified_after_saving(lib, hooks))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
    kept_a_copy = kind in ("copy", "save_on_cpu_pinned")
    original = np.cos(np.array([0.3, -0.7, 1.1], dtype=np.float32)) * [1.0, -2.0, 0.5]
    assert np.allclose(results[1], original, rtol=1e-6) == kept_a_copy


def test_save_on_cpu_gradients_equal_torch():
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    cotangent = rng.standard_normal((3, 2))
    for pin_memory in (False, True):
        results = []
        for lib in LIBRARIES:
            x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
            with lib.autograd.graph.save_on_cpu(pin_memory=pin_memory):
                y = (x @ w).relu() * x.sum()
            y.backward(lib.tensor(cotangent))
            results.append((x.grad.numpy(), w.grad.numpy()))
        for mine, theirs in zip(*results[::-1]):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12)


def test_bfloat16_ops_unpack_to_the_same_gradients():
    rng = np.random.default_rng(8)
    data = rng.standard_normal((3, 4)).astype(np.float32)
    grads = []
    for hooked in (False, True):
        x = ember.tensor(data).to(ember.bfloat16).requires_grad_()
        hooks = ember.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t)
        with hooks if hooked else ember.autograd.graph.disable_saved_tensors_hooks("off"):
            y = (x.sigmoid() * x).tanh()
        y.backward(ember.ones(3, 4, dtype=ember.bfloat16))
        grads.append(x.grad.float().numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


# ---------------------------------------------------------------- errors, as PyTorch's


def _raised(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - compared between the libraries
        return type(error), str(error)
    return None


def _both_raise(make, same_message=True):
    """``make(lib)`` returns a function that must raise the same class in both libraries."""
    expected, actual = _raised(make(torch)), _raised(make(ember))
    assert expected is not None and actual is not None, (expected, actual)
    assert issubclass(actual[0], expected[0]), (actual, expected)
    if same_message:
        assert actual[1] == expected[1]
    return actual


def test_unpack_hook_must_return_a_tensor_of_the_saved_shape():
    def returning(value_of):
        def make(lib):
            def run():
                x = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
                with lib.autograd.graph.saved_tensors_hooks(lambda t: t, value_of):
                    y = x.exp()
                y.backward(lib.ones(3))
            return run
        return make

    _both_raise(returning(lambda packed: 3))
    _both_raise(returning(lambda packed: None))
    _both_raise(returning(lambda packed: packed[:2]), same_message=False)


def test_pack_hook_may_not_modify_its_input():
    def make(lib):
        def run():
            a = lib.tensor([0.1, 0.2], requires_grad=True)
            with lib.autograd.graph.saved_tensors_hooks(lambda t: t.mul_(2), lambda t: t):
                (a * 1).sin()
        return run

    _both_raise(make)


def test_hooks_must_be_callable():
    def make(lib):
        def run():
            with lib.autograd.graph.saved_tensors_hooks(1, 2):
                lib.ones(2, requires_grad=True).exp()
        return run

    _both_raise(make, same_message=False)


def test_disable_saved_tensors_hooks_as_in_torch():
    def hooks(lib):
        return lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t)

    def hooks_inside_disable(lib):
        def run():
            with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
                with hooks(lib):
                    pass
        return run

    def disable_inside_hooks(lib):
        def run():
            with hooks(lib):
                with lib.autograd.graph.disable_saved_tensors_hooks("not while hooked"):
                    pass
        return run

    def nested_disables(lib):
        def run():
            with lib.autograd.graph.disable_saved_tensors_hooks("outer message"):
                with lib.autograd.graph.disable_saved_tensors_hooks("inner message"):
                    pass
                with hooks(lib):
                    pass
        return run

    assert _both_raise(hooks_inside_disable) == (RuntimeError, "no hooks here")
    assert _both_raise(disable_inside_hooks) == (RuntimeError, "not while hooked")
    assert _both_raise(nested_disables) == (RuntimeError, "outer message")
    for lib in LIBRARIES:  # outside every block, hooks are allowed again; no-hook code runs
        with lib.autograd.graph.disable_saved_tensors_hooks("off"):
            lib.ones(2, requires_grad=True).exp().sum().backward()
        with hooks(lib):
            pass


# ---------------------------------------------------------------- the rest of the module


def test_multi_grad_hooks_as_in_torch():
    logs = []
    for lib in LIBRARIES:
        every, first = [], []
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, -1.0], requires_grad=True)

        def values(grads):
            return [None if g is None else g.tolist() for g in grads]

        graph = lib.autograd.graph
        handle = graph.register_multi_grad_hook((a, b),
                                                lambda grads: every.append(values(grads)))
        (a * 2).sum().backward()  # b is not reached: None
        (a * b).sum().backward()
        middle = a * 3
        graph.register_multi_grad_hook((middle, b), lambda grads: every.append(values(grads)))
        # "any": the first gradient to arrive, once per pass (middle's comes before a's)
        graph.register_multi_grad_hook((a, middle), lambda grad: first.append(grad.tolist()),
                                       mode="any")
        (middle * b).sum().backward(retain_graph=True)
        handle.remove()
        (a * b).sum().backward()
        (middle.square() * b).sum().backward()
        logs.append((every, first))
    assert logs[1] == logs[0]
    assert len(logs[1][0]) == 6 and len(logs[1][1]) == 3


def test_multi_grad_hook_arguments_as_in_torch():
    def bad_mode(lib):
        return lambda: lib.autograd.graph.register_multi_grad_hook(
            (lib.ones(1, requires_grad=True),), print, mode="every")

    def without_grad(lib):
        return lambda: lib.autograd.graph.register_multi_grad_hook(
            (lib.ones(1, requires_grad=True), lib.ones(1)), print)

    _both_raise(bad_mode)
    _both_raise(without_grad)


def test_node_and_increment_version():
    def make(lib):
        def run():
            a = lib.tensor([0.5, 1.5], requires_grad=True)
            b = a * 1
            y = b.sin()
            assert isinstance(y.grad_fn, lib.autograd.graph.Node)
            assert isinstance(y.grad_fn.next_functions[0][0], lib.autograd.graph.Node)
            lib.autograd.graph.increment_version(b)
            y.sum().backward()
        return run

    _both_raise(make, same_message=False)
