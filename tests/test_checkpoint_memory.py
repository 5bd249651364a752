"""``ember.utils.checkpoint`` recomputes rather than keeps: both variants, compared with
PyTorch's (gradients, errors, warnings, what runs when), and measured (the arrays a
checkpointed graph keeps alive, the memory a backward pass peaks at)."""

from __future__ import annotations

import contextlib
import gc
import tracemalloc
import types
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint

import ember
import ember.utils.checkpoint

torch.set_num_threads(1)

LIBRARIES = (torch, ember)
VARIANTS = pytest.mark.parametrize("reentrant", [True, False], ids=["reentrant", "non_reentrant"])


def _mlp(lib, widths, dropout=0.0):
    layers = []
    for width_in, width_out in zip(widths[:-1], widths[1:]):
        layers += [lib.nn.Linear(width_in, width_out), lib.nn.Tanh()]
        if dropout:
            layers.append(lib.nn.Dropout(dropout))
    return lib.nn.Sequential(*layers).double()


def _same_weights(torch_module, ember_module):
    ember_module.load_state_dict({key: ember.tensor(value.detach().numpy())
                                  for key, value in torch_module.state_dict().items()})


def _gradients(lib, module, run, data, cotangent):
    """``run(module, x)`` backpropagated from a random cotangent: x's and the parameters'
    gradients."""
    module.zero_grad()
    x = lib.tensor(data, requires_grad=True)
    output = run(module, x)
    output.backward(lib.tensor(cotangent))
    return [x.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]


def _assert_all_close(actual, expected, rtol=1e-10, atol=1e-12):
    assert len(actual) == len(expected)
    for mine, theirs in zip(actual, expected):
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol)


def _compare(torch_module, ember_module, run, data, cotangent):
    """The checkpointed run's gradients equal torch's and ember's plain run's."""
    expected = _gradients(torch, torch_module, lambda m, x: run(torch, m, x), data, cotangent)
    actual = _gradients(ember, ember_module, lambda m, x: run(ember, m, x), data, cotangent)
    plain = _gradients(ember, ember_module, lambda m, x: m(x), data, cotangent)
    _assert_all_close(actual, expected)
    _assert_all_close(actual, plain, rtol=1e-13, atol=1e-14)


@VARIANTS
def test_mlp_gradients_equal_torch_and_the_plain_run(reentrant):
    rng = np.random.default_rng(11)
    torch_module = _mlp(torch, [6, 8, 8, 5])
    ember_module = _mlp(ember, [6, 8, 8, 5])
    _same_weights(torch_module, ember_module)

    def run(lib, module, x):
        return lib.utils.checkpoint.checkpoint(module, x, use_reentrant=reentrant)

    _compare(torch_module, ember_module, run, rng.standard_normal((4, 6)),
             rng.standard_normal((4, 5)))


@VARIANTS
def test_transformer_block_gradients_equal_torch(reentrant):
    rng = np.random.default_rng(12)
    torch_block = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    ember_block = ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    torch_block, ember_block = torch_block.double(), ember_block.double()
    _same_weights(torch_block, ember_block)

    def run(lib, block, x):
        # two checkpointed applications of the block share its parameters
        hidden = lib.utils.checkpoint.checkpoint(block, x, use_reentrant=reentrant)
        return lib.utils.checkpoint.checkpoint(block, hidden.tanh(), use_reentrant=reentrant)

    def plain_twice(module, x):
        return module(module(x).tanh())

    data, cotangent = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 5, 8))
    expected = _gradients(torch, torch_block, lambda m, x: run(torch, m, x), data, cotangent)
    actual = _gradients(ember, ember_block, lambda m, x: run(ember, m, x), data, cotangent)
    plain = _gradients(ember, ember_block, plain_twice, data, cotangent)
    _assert_all_close(actual, expected, rtol=1e-9, atol=1e-11)
    _assert_all_close(actual, plain, rtol=1e-12, atol=1e-13)


@VARIANTS
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_equals_torch(reentrant, segments):
    rng = np.random.default_rng(13 + segments)
    torch_module = _mlp(torch, [5, 7, 7, 6, 4])
    ember_module = _mlp(ember, [5, 7, 7, 6, 4])
    _same_weights(torch_module, ember_module)

    def run(lib, module, x):
        return lib.utils.checkpoint.checkpoint_sequential(module, segments, x,
                                                          use_reentrant=reentrant)

    _compare(torch_module, ember_module, run, rng.standard_normal((3, 5)),
             rng.standard_normal((3, 4)))


def test_checkpoint_sequential_takes_a_list_and_refuses_too_many_segments():
    rng = np.random.default_rng(14)
    data = rng.standard_normal(5)
    results = []
    for lib in LIBRARIES:
        x = lib.tensor(data, requires_grad=True)
        functions = [lib.sin, lib.exp, lambda t, lib=lib: t * 3, lib.tanh]
        y = lib.utils.checkpoint.checkpoint_sequential(functions, 2, x, use_reentrant=False)
        y.backward(lib.tensor(data[::-1].copy()))
        results.append((y.detach().numpy(), x.grad.numpy()))
        with pytest.raises(ValueError):  # a segment of no function: a range step of 0
            lib.utils.checkpoint.checkpoint_sequential(functions, 5, x, use_reentrant=False)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
            lib.utils.checkpoint.checkpoint_sequential(functions, 2, x, use_reentrant=False,
                                                       scale=2)
    _assert_all_close(results[1], results[0])


# ---------------------------------------------------------------- random state


@VARIANTS
def test_dropout_draws_the_same_mask_in_the_recomputation(reentrant):
    rng = np.random.default_rng(15)
    module = _mlp(ember, [6, 16, 16, 3], dropout=0.5)
    data, cotangent = rng.standard_normal((8, 6)), rng.standard_normal((8, 3))

    def run(checkpointed, preserve=True):
        ember.manual_seed(2024)
        module.zero_grad()
        x = ember.tensor(data, requires_grad=True)
        if checkpointed:
            y = ember.utils.checkpoint.checkpoint(module, x, use_reentrant=reentrant,
                                                  preserve_rng_state=preserve)
        else:
            y = module(x)
        between = ember.rand(4).numpy()
        y.backward(ember.tensor(cotangent))
        after = ember.rand(4).numpy()  # the recomputation leaves the stream where it was
        assert not np.array_equal(after, between)
        return [y.detach().numpy(), after, x.grad.numpy()] + [
            p.grad.numpy() for p in module.parameters()]

    plain, checkpointed = run(False), run(True)
    _assert_all_close(checkpointed, plain, rtol=0, atol=0)
    # Without the state, the recomputation draws other masks: other gradients.
    unpreserved = run(True, preserve=False)
    np.testing.assert_array_equal(unpreserved[0], plain[0])
    assert not np.allclose(unpreserved[2], plain[2])


@VARIANTS
def test_torch_replays_dropout_too(reentrant):
    # The property above, on PyTorch: the same test would catch a library that does not.
    rng = np.random.default_rng(16)
    module = _mlp(torch, [6, 16, 3], dropout=0.5)
    data = rng.standard_normal((8, 6))
    grads = []
    for checkpointed in (False, True):
        torch.manual_seed(2024)
        x = torch.tensor(data, requires_grad=True)
        y = (torch.utils.checkpoint.checkpoint(module, x, use_reentrant=reentrant)
             if checkpointed else module(x))
        y.square().sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


# ---------------------------------------------------------------- what each variant supports


def test_autograd_grad_through_the_non_reentrant_variant_equals_torch():
    rng = np.random.default_rng(17)
    data, weights, cotangent = (rng.standard_normal((3, 4)), rng.standard_normal((4, 4)),
                                rng.standard_normal((3, 4)))
    results = []
    for lib in LIBRARIES:
        x, w = lib.tensor(data, requires_grad=True), lib.tensor(weights, requires_grad=True)
        y = lib.utils.checkpoint.checkpoint(lambda a, b: (a @ b).sin() @ b, x, w,
                                            use_reentrant=False)
        grads = lib.autograd.grad(y, (x, w), lib.tensor(cotangent))
        results.append([g.numpy() for g in grads] + [x.grad, w.grad])
    _assert_all_close(results[1][:2], results[0][:2])
    assert results[1][2:] == results[0][2:] == [None, None]  # nothing accumulated


def test_the_reentrant_variant_refuses_grad_and_backward_inputs_as_torch():
    messages = []
    for lib in LIBRARIES:
        x = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
        with pytest.raises(RuntimeError) as by_grad:
            y = lib.utils.checkpoint.checkpoint(lib.exp, x, use_reentrant=True)
            lib.autograd.grad(y.sum(), x)
        with pytest.raises(RuntimeError) as by_inputs:
            y = lib.utils.checkpoint.checkpoint(lib.exp, x, use_reentrant=True)
            y.sum().backward(inputs=[x])
        messages.append((str(by_grad.value), str(by_inputs.value)))
    assert messages[1] == messages[0]
    assert messages[1][0].startswith("When use_reentrant=True, torch.utils.checkpoint is "
                                     "incompatible with .grad()")


def test_inputs_that_require_no_grad():
    rng = np.random.default_rng(18)
    data, cotangent = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    torch_module, ember_module = _mlp(torch, [4, 5, 2]), _mlp(ember, [4, 5, 2])
    _same_weights(torch_module, ember_module)
    results = []
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        x = lib.tensor(data)
        # non-reentrant: the parameters still get their gradients
        y = lib.utils.checkpoint.checkpoint(module, x, use_reentrant=False)
        y.backward(lib.tensor(cotangent))
        grads = [p.grad.numpy() for p in module.parameters()]
        # reentrant: a warning, and an output cut off from the parameters
        with pytest.warns(UserWarning) as caught:
            cut = lib.utils.checkpoint.checkpoint(module, x, use_reentrant=True)
        results.append((grads, cut.requires_grad, [str(w.message) for w in caught]))
    _assert_all_close(results[1][0], results[0][0])
    assert results[1][1:] == results[0][1:] == (
        False, ["None of the inputs have requires_grad=True. Gradients will be None"])


def test_keyword_and_non_tensor_arguments():
    rng = np.random.default_rng(19)
    data, cotangent = rng.standard_normal(5), rng.standard_normal(5)

    def function(t, power, *, scale, shift=None):
        return (t.abs() + 1) ** power * scale + (0 if shift is None else shift), "tag"

    results = []
    for lib in LIBRARIES:
        x = lib.tensor(data, requires_grad=True)
        shift = lib.tensor(data[::-1].copy(), requires_grad=True)
        y, tag = lib.utils.checkpoint.checkpoint(function, x, 1.5, scale=2.0, shift=shift,
                                                 use_reentrant=False)
        z, _ = lib.utils.checkpoint.checkpoint(lambda t, p: function(t, p, scale=3.0), x, 2.0,
                                               use_reentrant=True)
        (y + z).backward(lib.tensor(cotangent))
        results.append((tag, x.grad.numpy(), shift.grad.numpy()))
    assert results[1][0] == results[0][0] == "tag"
    _assert_all_close(results[1][1:], results[0][1:])


@pytest.mark.parametrize("outer, inner", [(False, False), (False, True), (True, False)])
def test_nested_checkpoints_equal_torch(outer, inner):
    rng = np.random.default_rng(20)
    data, weights = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    cotangent = rng.standard_normal((3, 4))
    results = []
    for lib in LIBRARIES:
        x, w = lib.tensor(data, requires_grad=True), lib.tensor(weights, requires_grad=True)

        def block(a, lib=lib, w=w):
            hidden = lib.utils.checkpoint.checkpoint(lambda b: (b @ w).tanh(), a,
                                                     use_reentrant=inner)
            return (hidden @ w).sigmoid() * a

        y = lib.utils.checkpoint.checkpoint(block, x, use_reentrant=outer)
        y.backward(lib.tensor(cotangent))
        results.append((x.grad.numpy(), w.grad.numpy()))
    _assert_all_close(results[1], results[0])


def test_double_backward_and_retained_graph_through_the_non_reentrant_variant():
    rng = np.random.default_rng(21)
    data, cotangent = rng.standard_normal(4), rng.standard_normal(4)
    results = []
    for lib in LIBRARIES:
        x = lib.tensor(data, requires_grad=True)
        y = lib.utils.checkpoint.checkpoint(lambda t: (t.sin() * t).exp(), x,
                                            use_reentrant=False)
        (grad,) = lib.autograd.grad(y, x, lib.tensor(cotangent), create_graph=True)
        (second,) = lib.autograd.grad(grad, x, lib.tensor(cotangent))
        z = lib.utils.checkpoint.checkpoint(lambda t: t.exp().sin(), x, use_reentrant=False)
        z.sum().backward(retain_graph=True)
        z.sum().backward()
        results.append((grad.detach().numpy(), second.numpy(), x.grad.numpy()))
    _assert_all_close(results[1], results[0])


def test_gradcheck_through_the_non_reentrant_variant():
    rng = np.random.default_rng(22)
    x = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 3)), requires_grad=True)

    def checkpointed(x, w):
        return ember.utils.checkpoint.checkpoint(lambda a, b: (a @ b).tanh() * a, x, w,
                                                 use_reentrant=False)

    assert ember.autograd.gradcheck(checkpointed, (x, w), eps=1e-6, atol=1e-6)
    assert ember.autograd.gradgradcheck(checkpointed, (x, w), eps=1e-6, atol=1e-5)


@VARIANTS
def test_a_custom_function_inside_a_checkpoint(reentrant):
    rng = np.random.default_rng(23)
    data, cotangent = rng.standard_normal(4), rng.standard_normal(4)
    results = []
    for lib in LIBRARIES:
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a ** 3

            @staticmethod
            def backward(ctx, grad):
                (a,) = ctx.saved_tensors
                return 3 * a ** 2 * grad

        x = lib.tensor(data, requires_grad=True)
        y = lib.utils.checkpoint.checkpoint(lambda t: Cube.apply(t.sin()).exp(), x,
                                            use_reentrant=reentrant)
        y.backward(lib.tensor(cotangent))
        results.append(x.grad.numpy())
    _assert_all_close(results[1:], results[:1])


@VARIANTS
def test_under_no_grad_nothing_is_recorded(reentrant):
    for lib in LIBRARIES:
        x = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            y = lib.utils.checkpoint.checkpoint(lib.exp, x, use_reentrant=reentrant)
        assert not y.requires_grad


def test_a_reentrant_output_cut_from_the_graph_raises_in_backward():
    messages = []
    for lib in LIBRARIES:
        x = lib.ones(3, requires_grad=True)
        y = lib.utils.checkpoint.checkpoint(lambda t: t.detach() * 2, x, use_reentrant=True)
        with pytest.raises(RuntimeError) as error:
            y.sum().backward()
        messages.append(str(error.value))
    assert messages[1] == messages[0]


# ---------------------------------------------------------------- determinism, early stop


def _changing(lib, change):
    """A function whose recomputation differs from its first run as ``change`` says."""
    calls = []

    def function(t):
        calls.append(1)
        if len(calls) == 1:
            return (t * t).exp().sin()
        if change == "fewer":
            return (t * t).exp()
        return (t[:2] * t[:2]).exp().sin()  # other shapes

    return function


@pytest.mark.parametrize("change", ["fewer", "shapes"])
def test_the_determinism_check_as_torch(change):
    first_lines = []
    for lib in LIBRARIES:
        x = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
        y = lib.utils.checkpoint.checkpoint(_changing(lib, change), x, use_reentrant=False)
        with pytest.raises(lib.utils.checkpoint.CheckpointError) as error:
            y.sum().backward()
        assert isinstance(error.value, RuntimeError)
        first_lines.append(str(error.value).split("\n")[:3])
        # "none" checks nothing: the wrong shapes meet an error of the arithmetic instead
        y = lib.utils.checkpoint.checkpoint(_changing(lib, "shapes"), x, use_reentrant=False,
                                            determinism_check="none")
        with pytest.raises(RuntimeError) as error:
            y.sum().backward()
        assert not isinstance(error.value, lib.utils.checkpoint.CheckpointError)
        with pytest.raises(ValueError, match=r"determinism_check should be one of \['default', "
                                             r"'none'\], but got bogus"):
            lib.utils.checkpoint.checkpoint(lib.exp, x, use_reentrant=False,
                                            determinism_check="bogus")
    spelled = [[line.replace("torch.", "").replace("ember.", "") for line in lines]
               for lines in first_lines]
    assert spelled[1] == spelled[0]


def test_early_stop_and_context_fn_run_what_torch_runs():
    logs = []
    for lib in LIBRARIES:
        log = []
        x = lib.tensor([0.5, 1.5], requires_grad=True)

        def function(t, log=log):
            log.append("start")
            middle = t.exp().sin()  # the last saved tensor is saved here
            log.append("end")
            return middle * 2

        @contextlib.contextmanager
        def context(name, log=log):
            log.append(name + " in")
            yield
            log.append(name + " out")

        checkpoint = lib.utils.checkpoint.checkpoint
        for options in ({}, {"early_stop": False},
                        {"context_fn": lambda: (context("forward"), context("recompute"))}):
            log.append(sorted(options))
            checkpoint(function, x, use_reentrant=False, **options).sum().backward()
        with lib.utils.checkpoint.set_checkpoint_early_stop(False):
            y = checkpoint(function, x, use_reentrant=False)
        log.append("set")
        y.sum().backward()
        logs.append(log)
    assert logs[1] == logs[0]
    assert logs[1][1:4] == ["start", "end", "start"]


def test_context_fn_and_debug_need_the_non_reentrant_variant():
    for lib in LIBRARIES:
        x = lib.ones(2, requires_grad=True)
        for options in ({"debug": True}, {"context_fn": lambda: (contextlib.nullcontext(),) * 2}):
            with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
                lib.utils.checkpoint.checkpoint(lib.exp, x, use_reentrant=True, **options)
        with pytest.raises(TypeError):  # a context_fn must return two context managers
            lib.utils.checkpoint.checkpoint(lib.exp, x, use_reentrant=False,
                                            context_fn=lambda: 3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.utils.checkpoint.checkpoint(lib.exp, x, use_reentrant=False, debug=True)


# ---------------------------------------------------------------- memory


def _activation_arrays(root, batch: int) -> list:
    """The arrays of ``batch`` rows that ``root`` keeps alive: the activations (a parameter
    has another first dimension). Followed through every reference but modules' globals."""
    seen, stack, found = set(), [root], []
    skipped = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, skipped):
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            if item.ndim and item.shape[0] == batch:
                found.append(item)
            continue
        stack.extend(gc.get_referents(item))
    return found


def _deep_mlp():
    return _mlp(ember, [64] * 17)  # 16 layers: Linear, then Tanh


def _measured(model, x, run):
    """What the graph of ``run(model, x)`` keeps alive: its activation arrays and the bytes
    held after the forward pass, then the bytes the backward pass peaks at."""
    model.zero_grad()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = run(model, x)
        held = tracemalloc.get_traced_memory()[0] - before
        arrays = _activation_arrays(y, x.shape[0])
        y.backward(ember.ones(y.shape, dtype=ember.float64))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    return len({id(a) for a in arrays}), held, peak, grads


def test_checkpointing_keeps_materially_fewer_activations():
    rng = np.random.default_rng(24)
    batch = 200  # rows: distinct from every parameter's first dimension
    model = _deep_mlp()
    x = ember.tensor(rng.standard_normal((batch, 64)), requires_grad=True)
    checkpoint = ember.utils.checkpoint
    plain = _measured(model, x, lambda m, t: m(t))
    runs = {
        "non_reentrant": lambda m, t: checkpoint.checkpoint(m, t, use_reentrant=False),
        "reentrant": lambda m, t: checkpoint.checkpoint(m, t, use_reentrant=True),
        "sequential": lambda m, t: checkpoint.checkpoint_sequential(m, 4, t,
                                                                   use_reentrant=False),
    }
    measured = {name: _measured(model, x, run) for name, run in runs.items()}
    # the plain graph keeps an activation per layer (and the input and output)
    assert plain[0] >= 16
    for name in ("non_reentrant", "reentrant"):
        arrays, held, _, grads = measured[name]
        assert arrays <= 3, name  # the input, the output, x.grad from an earlier run
        assert held < plain[1] / 5, name
        _assert_all_close(grads, plain[3], rtol=1e-12, atol=1e-14)
    # four segments: the three checkpointed keep their inputs, the last its activations;
    # the backward pass never holds more than that and one segment's recomputation
    arrays, held, peak, grads = measured["sequential"]
    assert arrays <= 10 and held < plain[1] * 0.6
    assert peak < plain[2] * 0.8
    _assert_all_close(grads, plain[3], rtol=1e-12, atol=1e-14)


def test_recomputed_values_live_until_the_last_backward():
    rng = np.random.default_rng(25)
    model = _deep_mlp()
    x = ember.tensor(rng.standard_normal((40, 64)), requires_grad=True)
    y = ember.utils.checkpoint.checkpoint(model, x, use_reentrant=False)
    cotangent = ember.tensor(rng.standard_normal((40, 64)))

    def held():
        own = {id(x._data), id(y._data)} | ({id(x.grad._data)} if x.grad is not None else set())
        return len({id(a) for a in _activation_arrays(y.grad_fn, 40) if id(a) not in own})

    assert held() == 0  # after the forward pass: nothing but placeholders
    y.backward(cotangent, retain_graph=True)
    assert held() >= 16  # recomputed, and kept with the graph for the next backward pass
    y.backward(cotangent)
    assert held() == 0
