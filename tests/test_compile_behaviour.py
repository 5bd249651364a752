"""``ember.compile``'s contract beyond equal numbers: guards, graph breaks, fallbacks,
double backward, the module wrapper, the tools that explain it, and whole programs."""

from __future__ import annotations

import argparse
import collections
import copy
import dataclasses
import functools
import io
import itertools
import pathlib
import queue
import random
import re
import sys
import threading
import types
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember._compile import fusion
from ember._dynamo.exc import Unsupported

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _state(compiled):
    return compiled.__dict__["_compiled"] if "_compiled" in compiled.__dict__ else compiled


def _array(tensor):
    return tensor.detach().numpy().copy()


# ---------------------------------------------------------------- whole programs


def _readme_nand(compiled: bool):
    source = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(import ember as torch\n.*?)```", source, re.DOTALL).group(1)
    if compiled:
        block = block.replace("model = SimpleNet()\n",
                              "model = SimpleNet()\nmodel = torch.compile(model)\n")
        assert "torch.compile" in block
    ember.manual_seed(0)
    namespace = {"__name__": "nand"}
    exec(compile(block, "README.md", "exec"), namespace)
    return namespace


def test_readme_nand_with_compile_converges_to_the_same_outputs():
    eager = _readme_nand(False)
    compiled = _readme_nand(True)
    assert compiled["losses"] == eager["losses"]
    outputs = compiled["model"](compiled["inputs"])
    np.testing.assert_array_equal(_array(outputs), _array(eager["model"](eager["inputs"])))
    assert [round(v) for v in outputs.flatten().tolist()] == [1, 1, 1, 0]
    state = _state(compiled["model"])
    assert state.breaks == [] and state.replays >= 3999


class _Transformer(nn.Module):
    def __init__(self, vocab=13, width=16, block=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Embedding(block, width)
        self.layers = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(width, 2, 32, dropout=0.1, batch_first=True,
                                       norm_first=True), 2)
        self.head = nn.Linear(width, vocab)

    def forward(self, idx, targets):
        x = self.embed(idx) + self.position(ember.arange(idx.shape[1]))
        logits = self.head(self.layers(x))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _curve(build, batches, compiled: bool, optimizer=ember.optim.AdamW):
    ember.manual_seed(0)
    model = build()
    step_loss = ember.compile(model) if compiled else model
    opt = optimizer(model.parameters(), lr=1e-2)
    ember.manual_seed(1)
    losses = []
    for args in batches:
        loss = step_loss(*args)
        opt.zero_grad()
        loss.backward()
        ember.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses, step_loss


def test_100_steps_of_a_small_transformer_give_the_same_loss_curve():
    rng = np.random.default_rng(0)
    batches = [tuple(ember.tensor(rng.integers(0, 13, (4, 8))) for _ in range(2))
               for _ in range(100)]
    eager, _ = _curve(_Transformer, batches, False)
    compiled, model = _curve(_Transformer, batches, True)
    assert compiled == eager
    assert _state(model).breaks == [] and _state(model).replays == 99


class _MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))

    def forward(self, x, y):
        return F.cross_entropy(self.net(x), y)


def test_100_steps_of_an_mlp_give_the_same_loss_curve():
    rng = np.random.default_rng(1)
    batches = [(ember.tensor(rng.standard_normal((8, 6)).astype(np.float32)),
                ember.tensor(rng.integers(0, 3, 8))) for _ in range(100)]
    eager, _ = _curve(_MLP, batches, False, ember.optim.SGD)
    compiled, model = _curve(_MLP, batches, True, ember.optim.SGD)
    assert compiled == eager
    assert _state(model).replays == 99


@pytest.mark.cuda
def test_a_compiled_step_on_the_gpu_gives_the_eager_loss_curve():
    rng = np.random.default_rng(2)
    with ember.device("cuda"):
        batches = [(ember.tensor(rng.standard_normal((8, 6)).astype(np.float32)),
                    ember.tensor(rng.integers(0, 3, 8))) for _ in range(20)]
        eager, _ = _curve(_MLP, batches, False, ember.optim.SGD)
        compiled, model = _curve(_MLP, batches, True, ember.optim.SGD)
    assert compiled == eager
    assert _state(model).breaks == [] and _state(model).replays == 19
    assert all(parameter.is_cuda for parameter in model.parameters())


# ---------------------------------------------------------------- guards


def test_a_new_batch_size_records_again_and_both_replay():
    layer = nn.Linear(3, 2)
    compiled = ember.compile(layer)
    for batch in (4, 5, 4, 5):
        x = ember.randn(batch, 3)
        np.testing.assert_array_equal(_array(compiled(x)), _array(layer(x)))
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 2


def test_the_recompile_limit_falls_back_to_eager_with_one_warning():
    calls = []

    def double(x):
        calls.append(1)
        return x * 2

    compiled = ember.compile(double)
    # numba, compiling an earlier test's fused kernels in the background, swaps Python's
    # warning state (one for all threads) while it works (docs/compile.md): wait for it
    fusion.wait()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for size in range(1, 12):
            x = ember.randn(size)
            np.testing.assert_array_equal(_array(compiled(x)), _array(x * 2))
    limit = [w for w in caught if "recompile_limit" in str(w.message)]
    assert len(limit) == 1
    assert "argument entry 0 changed" in str(limit[0].message)
    assert _state(compiled)._recordings == 8 and len(calls) == 11


def test_train_and_eval_switch_the_recorded_program():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    compiled = ember.compile(model)
    x = ember.randn(3, 4)
    compiled.train()
    compiled(x)
    compiled.eval()
    assert model.training is False and compiled.training is False
    first = compiled(x)
    np.testing.assert_array_equal(_array(first), _array(model(x)))
    compiled.train()
    compiled(x)
    compiled.eval()
    compiled(x)
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 2


def _linear_recorded():
    """A compiled Linear(3, 1), recorded once on ``x``: (the layer, its compiled form, x)."""
    layer = nn.Linear(3, 1)
    compiled = ember.compile(layer)
    x = ember.randn(2, 3)
    compiled(x).sum().backward()
    return layer, compiled, x


def test_a_changed_requires_grad_records_again():
    layer, compiled, x = _linear_recorded()
    layer.weight.requires_grad_(False)
    layer.weight.grad = None
    compiled(x).sum().backward()
    assert layer.weight.grad is None and layer.bias.grad is not None
    assert _state(compiled)._recordings == 2


def test_a_replaced_parameter_records_again():
    layer, compiled, x = _linear_recorded()
    layer.weight = nn.Parameter(ember.ones(1, 3))
    np.testing.assert_array_equal(_array(compiled(x)), _array(layer(x)))
    assert _state(compiled)._recordings == 2


def test_replays_read_the_parameters_as_they_are_now():
    layer, compiled, x = _linear_recorded()
    with ember.no_grad():
        layer.weight.mul_(3.0)
    np.testing.assert_array_equal(_array(compiled(x)), _array(layer(x)))
    assert _state(compiled).replays == 1


def _strided_rows(x):
    """``x`` (one row) as a contiguous view with other strides: row 0 of every other row."""
    return ember.cat([x, x])[::2]


# What a call can change after a replay, each applied to (model, x) and undone after it:
# the quick test of the last recording (``Recording.fast``) must say no to each, and the
# call must still give eager's numbers. Two keep the key (``_SAME_KEY``): there the quick
# test may say no (the general path then finds the same recording), and only the numbers
# are checked.
_KEY_CHANGES = {
    "shape": lambda model, x: (ember.randn(2, 3), None),
    "dtype": lambda model, x: (x.double(), None),
    "requires_grad": lambda model, x: (x.clone().requires_grad_(), None),
    "not a leaf": lambda model, x: (ember.randn(1, 3, requires_grad=True) * 1, None),
    "not contiguous": lambda model, x: (ember.randn(3, 1).t(), None),
    "other strides": lambda model, x: (_strided_rows(x), None),
    "a Tensor subclass": lambda model, x: (nn.Parameter(x.clone(), requires_grad=False), None),
    "eval": lambda model, x: (x, (model.eval(), model.train)[1]),
    "no_grad": lambda model, x: (x, _entered(ember.no_grad())),
    "default dtype": lambda model, x: (x, _entered(_default_dtype(ember.float64))),
    "autocast": lambda model, x: (x, _entered(ember.autocast("cpu", dtype=ember.bfloat16))),
    "anomaly mode": lambda model, x: (x, _entered(ember.autograd.detect_anomaly())),
    "a guard": lambda model, x: (x, _replaced_weight(model)),
    # written into a module's registries, not assigned: ``_Registry`` counts them too
    "a parameter written into _parameters": lambda model, x: (x, _written_weight(model)),
    "a hook written into _forward_hooks": lambda model, x: (x, _written_hook(model)),
}
_SAME_KEY = {"other strides", "a Tensor subclass"}


def _entered(context):
    context.__enter__()
    return lambda: context.__exit__(None, None, None)


class _default_dtype:
    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.old = ember.get_default_dtype()
        ember.set_default_dtype(self.dtype)

    def __exit__(self, *exc_info):
        ember.set_default_dtype(self.old)


def _replaced_weight(model):
    old = model[0].weight
    model[0].weight = nn.Parameter(ember.ones(2, 3))
    return lambda: setattr(model[0], "weight", old)


def _written_weight(model):
    old = model[0]._parameters["weight"]
    model[0]._parameters["weight"] = nn.Parameter(ember.ones(2, 3))
    return lambda: model[0]._parameters.__setitem__("weight", old)


def _written_hook(model):
    model[0]._forward_hooks[-1] = lambda module, args, output: output * 3
    return lambda: model[0]._forward_hooks.pop(-1)


@pytest.mark.parametrize("replayed", [False, True], ids=["recorded", "replayed"])
@pytest.mark.parametrize("change", sorted(_KEY_CHANGES))
def test_the_quick_test_of_the_last_recording_says_no_to_every_change(change, replayed):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.0))

    def step(x):
        return model(x.float()) * 2

    compiled = ember.compile(step)
    x = ember.randn(1, 3)
    compiled(x)  # recorded: the recording is now the one tested first
    if replayed:
        compiled(x)
    state = _state(compiled)
    recording = state._last
    assert recording is state.latest and recording.fast((x,))
    changed, undo = _KEY_CHANGES[change](model, x)
    try:
        assert change in _SAME_KEY or not recording.fast((changed,))
        result = compiled(changed)
        expected = step(changed)
    finally:
        if undo is not None:
            undo()
    np.testing.assert_array_equal(_array(result.float()), _array(expected.float()))
    assert result.dtype == expected.dtype and result.requires_grad == expected.requires_grad
    assert recording.fast((x,))  # undone: the recording's own call again
    assert not recording.fast((x, x)) and not recording.fast(())


def test_a_step_that_replays_alike_compiles_only_its_quick_test():
    """The general test (``check``) and the test of the modules' state (``modules_hold``)
    are compiled when a call first needs them; their time joins the recording's."""
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    compiled = ember.compile(model)
    x = ember.randn(4, 3)
    for _ in range(3):
        compiled(x)
    state = _state(compiled)
    recording = state.latest
    (hold,) = recording.fast.deferred
    assert state.replays == 2 and recording.check.seconds == hold.seconds == 0.0
    seconds = recording.seconds
    model[0].weight = model[0].weight  # a module changed, to the same state
    compiled(x)
    assert state.replays == 3 and hold.seconds > 0 and recording.check.seconds == 0.0
    compiled(ember.randn(5, 3))  # another key, recorded; then the first again, found by
    np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))  # its quick test
    assert state.replays == 4 and recording.check.seconds == 0.0
    subclass = nn.Parameter(x.clone(), requires_grad=False)  # the same key, which the quick
    np.testing.assert_array_equal(_array(compiled(subclass)), _array(model(x)))  # test refuses
    assert state.replays == 5 and recording.check.seconds > 0
    assert recording.seconds > seconds


def test_a_call_that_switches_train_mode_records_the_next_call_in_the_new_mode():
    """The recording is keyed on the training flags that the call began with, not those
    it left: the quick test tests them again on the next call."""
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))

    def step(x):
        out = model(x)
        model.train()
        return out

    compiled = ember.compile(step)
    x = ember.randn(4, 3)
    model.eval()
    compiled(x)
    ember.manual_seed(1)
    result = compiled(x)
    ember.manual_seed(1)
    np.testing.assert_array_equal(_array(result), _array(step(x)))
    assert _state(compiled)._recordings == 2


class _OwnSetattr(nn.Module):
    """A module whose class sets one attribute its own way, past ``Module.__setattr__``."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.scale = 1.0

    def __setattr__(self, name, value):
        if name == "scale":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, x):
        return self.linear(x) * self.scale


def test_a_module_that_sets_attributes_its_own_way_is_guarded_on_every_call():
    """Such a module's changes do not move the count of module changes, so the quick test
    reads its attributes on every call, as the general test does."""
    model = _OwnSetattr()
    compiled = ember.compile(model)
    x = ember.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
    for scale in (1.0, 1.0, 1.0, 2.0, 2.0):  # the third call is the first quick test's
        model.scale = scale
        np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 3, (state._recordings, state.replays)


def _scale_in_a_list():
    holder = [types.SimpleNamespace(scale=1.0)]

    def set_scale(value):
        holder[0].scale = value

    return (lambda x: x * holder[0].scale), set_scale


def _scale_in_a_dict():
    holder = {"config": types.SimpleNamespace(scale=1.0, log=print)}  # not plain data

    def set_scale(value):
        holder["config"].scale = value

    return (lambda x: x * holder["config"].scale), set_scale


def _learning_rate_read():
    optimizer = ember.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)

    def set_scale(value):
        optimizer.param_groups[0]["lr"] = value

    return (lambda x: x * optimizer.param_groups[0]["lr"]), set_scale


def _tensor_attribute_read():
    weight = ember.ones(2)
    weight.scale = 1.0

    def set_scale(value):
        weight.scale = value

    return (lambda x: x * weight * weight.scale), set_scale


def _last_learning_rate():
    optimizer = ember.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    scheduler = ember.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 + epoch)

    def set_scale(value):
        scheduler.step()

    return (lambda x: x * scheduler.get_last_lr()[0]), set_scale


@pytest.mark.parametrize("make", [_scale_in_a_list, _scale_in_a_dict, _learning_rate_read,
                                  _tensor_attribute_read, _last_learning_rate])
def test_a_number_read_from_what_the_call_reaches_is_guarded(make):
    """A number the call reads (from an object a list or dict holds, an optimizer's
    group, a user's attribute on a tensor, a scheduler's ``get_last_lr()``) is a constant
    of the program: a change between calls records again; no change replays."""
    function, set_scale = make()
    compiled = ember.compile(function)
    for _ in range(3):
        np.testing.assert_array_equal(_array(compiled(ember.ones(2))), [1.0, 1.0])
    assert _state(compiled)._recordings == 1 and _state(compiled).replays == 2
    for scale in (2.0, 3.0):
        set_scale(scale)
        np.testing.assert_array_equal(_array(compiled(ember.ones(2))), [scale, scale])
        np.testing.assert_array_equal(_array(compiled(ember.ones(2))), [scale, scale])
    assert _state(compiled)._recordings == 3 and _state(compiled).replays == 4


def test_a_long_list_the_call_reads_is_guarded_on_which_objects_it_holds():
    """Past 32 items a list is guarded by the identities of its items, in order: a
    parameter put in another place records again rather than replay the old order."""
    ember.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(20)])
    parameters = list(model.parameters())  # 40 tensors

    def step(x):
        return model(x).sum() + sum((p * x[0]).sum() for p in parameters[-3:])

    compiled = ember.compile(step)
    for _ in range(3):
        np.testing.assert_array_equal(_array(compiled(ember.ones(2))), _array(step(ember.ones(2))))
    parameters[-1], parameters[1] = parameters[1], parameters[-1]  # two biases change places
    np.testing.assert_array_equal(_array(compiled(ember.ones(2))), _array(step(ember.ones(2))))
    assert _state(compiled)._recordings == 2 and _state(compiled).replays == 2


# ---------------------------------------------------------------- graph breaks


def _item(x):
    return x * x.sum().item()


def _branch(x):
    if x.sum() > 0:
        return x * 2
    return x * 3


def _tolist(x):
    return x * len([v for v in x.tolist() if v > 0])


def _numpy(x):
    return x + float(x.detach().numpy().max())


def _nonzero(x):
    return x[x.nonzero()[:, 0]] * 2


def _mask(x):
    return x[x > 0] * 2


def _inplace_input(x):
    x.add_(1.0)
    return x * 2


class _KeepsInput(ember.autograd.Function):  # its ctx holds a tensor, not saved
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return 2 * ctx.x * grad


class _Doubles(ember.autograd.Function):  # in place, as mark_dirty says
    @staticmethod
    def forward(ctx, x):
        ctx.mark_dirty(x)
        return x.mul_(2)

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


class _Identity(ember.autograd.Function):  # returns its input as it is
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad


class _GraphInside(ember.autograd.Function):  # records a graph of its own in forward
    @staticmethod
    def forward(ctx, x):
        with ember.enable_grad():
            return x * 3

    @staticmethod
    def backward(ctx, grad):
        return grad * 3


def _custom(function):
    return lambda x: function.apply(x * 1) + 1


def _hook_inside(x):
    y = x * 2
    if y.requires_grad:
        y.register_hook(lambda g: g * 10)
    return y * 3


def _index_by_argmax(x):
    return x[x.argmax()] * x  # PyTorch reads a 0-d integer index as an int


def _allclose_branch(x):
    return x * 2 if ember.allclose(x.clamp(min=0), x) else x * 3


def _equal_branch(x):
    return x * 2 if ember.equal(x.sign(), x.abs().sign()) else x * 3


def _read_grad(x):
    return x * (2 if x.grad is None else 3)  # Python control flow on a gradient


def _repeat_by_values(x):
    return x.repeat_interleave(x.gt(0).long() + 1)  # the counts decide the shape


def _through_bfloat16(x):
    return (x.bfloat16() * 2).float() + 1  # ops on bfloat16, and a float32 result


WEIGHTS = np.linspace(0.5, 1.5, 5, dtype=np.float32)  # a NumPy array, changeable in place


def _times_numpy_array(x):
    return x * ember.tensor(WEIGHTS)


BREAKS = {
    "item": (_item, "item()"),
    "tensor_of_a_numpy_array": (_times_numpy_array, "torch.tensor(array)"),
    "repeat_by_values": (_repeat_by_values, "array argument"),
    "read_grad": (_read_grad, "reading .grad"),
    "embedding_max_norm": (lambda x: F.embedding(ember.tensor([0, 3, 3]), x.reshape(5, 1) * 3,
                                                 max_norm=1.0), "max_norm"),
    "index_0d_tensor": (_index_by_argmax, "0-d integer tensor"),
    "allclose": (_allclose_branch, "allclose()"),
    "equal": (_equal_branch, "equal()"),
    "bool": (_branch, "__bool__()"),
    "tolist": (_tolist, "tolist()"),
    "numpy": (_numpy, "numpy()"),
    "nonzero": (_nonzero, "did not get as an argument"),
    "mask": (_mask, "array argument"),
    "inplace_input": (_inplace_input, "in-place change to an input"),
    "function_keeps_a_tensor": (_custom(_KeepsInput), "keeps a tensor on its ctx"),
    "function_in_place": (_custom(_Doubles), "changes an input in place"),
    "function_returns_its_input": (_custom(_Identity), "did not compute with ember's ops"),
    "function_with_a_graph": (_custom(_GraphInside), "records a graph inside its forward"),
    "hook": (_hook_inside, "hook"),
    "bfloat16": (_through_bfloat16, "Mul: bfloat16 tensors are not recorded"),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_a_graph_break_runs_eagerly_with_eager_results(name):
    function, reason = BREAKS[name]
    compiled = ember.compile(function)
    rng = np.random.default_rng(0)
    for _ in range(3):
        data = rng.standard_normal(5).astype(np.float32)
        x_eager = ember.tensor(data, requires_grad=name != "inplace_input")
        x_compiled = ember.tensor(data, requires_grad=name != "inplace_input")
        want, got = function(x_eager), compiled(x_compiled)
        np.testing.assert_array_equal(_array(got), _array(want))
        if want.requires_grad:
            cotangent = ember.tensor(rng.standard_normal(tuple(want.shape)).astype(np.float32))
            (want * cotangent).sum().backward()
            (got * cotangent).sum().backward()
            np.testing.assert_array_equal(_array(x_compiled.grad), _array(x_eager.grad))
    state = _state(compiled)
    assert state.replays == 0 and state._recordings == 1
    assert any(reason in text for text, _ in state.breaks), state.breaks


@pytest.mark.parametrize("name", list(BREAKS))
def test_fullgraph_turns_a_break_into_an_error_naming_op_and_line(name):
    function, reason = BREAKS[name]
    compiled = ember.compile(function, fullgraph=True)
    x = ember.tensor(np.linspace(-1, 1, 5).astype(np.float32), requires_grad=True)
    with pytest.raises(Unsupported, match=re.escape(reason)) as error:
        compiled(x.detach() if name == "inplace_input" else x)
    assert "test_compile_behaviour.py:" in str(error.value)


def test_a_parameter_changed_in_place_during_the_forward_breaks():
    layer = nn.Linear(2, 2)

    def forward(x):
        out = layer(x)
        with ember.no_grad():
            layer.weight.mul_(0.5)
        return out

    compiled = ember.compile(forward)
    compiled(ember.randn(1, 2))
    assert any("in-place change to an input or a parameter" in r for r, _ in
               _state(compiled).breaks)


def test_a_module_with_a_forward_hook_runs_eagerly():
    model = nn.Linear(2, 2)
    seen = []
    model.register_forward_hook(lambda module, args, out: seen.append(1))
    compiled = ember.compile(model)
    for _ in range(3):
        compiled(ember.randn(1, 2))
    assert len(seen) == 3 and _state(compiled).replays == 0


@pytest.mark.parametrize("other_break", [False, True])
def test_a_key_broken_by_hooks_alone_records_once_they_are_removed(other_break):
    """Eager while the hook exists; recorded and replayed after its removal, unless
    something else also broke the graph (an ``.item()``), which no removal undoes."""
    model = nn.Linear(2, 2)
    seen = []
    handle = model.register_forward_pre_hook(lambda module, args: seen.append(1))

    def step(x):
        y = model(x)
        return y * y.sum().item() if other_break else y * 2

    compiled = ember.compile(step)
    x = ember.randn(3, 2)
    for _ in range(2):
        np.testing.assert_array_equal(_array(compiled(x)), _array(step(x)))
    assert _state(compiled).replays == 0 and len(seen) == 4
    handle.remove()
    results = [_array(compiled(x)) for _ in range(3)]
    for got in results:
        np.testing.assert_array_equal(got, _array(step(x)))
    assert _state(compiled).replays == (0 if other_break else 2)
    assert _state(compiled)._recordings == 1 + (not other_break)
    handle = model.register_forward_pre_hook(lambda module, args: seen.append(1))
    compiled(x)  # the hook is back: eager again, the hook runs
    assert len(seen) == 5


def _seeded_linear_and_sgd():
    """A Linear(3, 2) from seed 0 and SGD at lr 0.1 over it: the same start for an eager
    and a compiled run."""
    ember.manual_seed(0)
    layer = nn.Linear(3, 2)
    return layer, ember.optim.SGD(layer.parameters(), lr=0.1)


@pytest.mark.parametrize("kind", ["register_hook", "register_post_accumulate_grad_hook"])
def test_a_hook_on_a_parameter_added_after_recording_a_training_step_runs(kind):
    """The program's backward accumulates into the leaves without their hooks: it was
    recorded while none existed, and replays only while none does."""
    results = []
    for compile_step in (False, True):
        layer, optimizer = _seeded_linear_and_sgd()

        def step(x):
            optimizer.zero_grad()
            loss = layer(x).pow(2).sum()
            loss.backward()
            optimizer.step()
            return loss

        run = ember.compile(step) if compile_step else step
        x, seen = ember.ones(2, 3), []
        run(x)
        run(x)
        if kind == "register_hook":  # halves the weight's gradient
            handle = layer.weight.register_hook(lambda grad: seen.append(1) or grad * 0.5)
        else:
            handle = layer.weight.register_post_accumulate_grad_hook(lambda p: seen.append(1))
        run(x)
        run(x)
        handle.remove()
        run(x)
        results.append((len(seen), _array(layer.weight), _array(layer.bias)))
    (eager_seen, *eager), (compiled_seen, *compiled) = results
    assert compiled_seen == eager_seen == 2
    for want, got in zip(eager, compiled):
        np.testing.assert_array_equal(got, want)


def test_hooks_added_after_recording_fail_the_guards():
    model = nn.Linear(2, 2)
    compiled = ember.compile(model)
    compiled(ember.randn(1, 2))
    seen = []
    model.register_forward_hook(lambda module, args, out: seen.append(1))
    compiled(ember.randn(1, 2))
    assert seen == [1]


class _Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 3)])
        self.head = nn.Sequential(nn.Linear(3, 3), nn.ReLU())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


STRUCTURE_CHANGES = {
    "layer_appended": lambda m: m.layers.append(nn.Linear(3, 3)),
    "item_replaced": lambda m: m.head.__setitem__(1, nn.Sigmoid()),
    "submodule_replaced": lambda m: setattr(m, "head", nn.Sequential(nn.Linear(3, 3))),
}


@pytest.mark.parametrize("change", list(STRUCTURE_CHANGES))
def test_a_changed_set_of_submodules_records_again(change):
    model = _Stack()
    compiled = ember.compile(model)
    x = ember.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
    for step in range(3):
        if step == 1:
            STRUCTURE_CHANGES[change](model)
        np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 1, (state._recordings, state.replays)


class _Constants:
    SCALE = 2.0  # a setting of a class that a function names as a global


def test_a_changed_setting_of_a_class_the_function_names_records_again():
    def scaled(x):
        return x * _Constants.SCALE

    compiled = ember.compile(scaled)
    x = ember.tensor(np.arange(3.0, dtype=np.float32))
    try:
        for scale in (2.0, 2.0, 6.0):
            _Constants.SCALE = scale
            np.testing.assert_array_equal(_array(compiled(x)), _array(scaled(x)))
    finally:
        _Constants.SCALE = 2.0
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 1, (state._recordings, state.replays)


def test_a_changed_name_in_the_users_own_module_records_again(tmp_path):
    """A project's ``config.SCALE``, and the globals of its ``config.helper``, read through
    the module (one outside the standard library and the installed packages)."""
    config = types.ModuleType("config")
    config.__file__ = str(tmp_path / "config.py")
    exec("SCALE = 2.0\nOFFSET = 0.0\ndef helper(x):\n    return x + OFFSET\n", vars(config))
    namespace = {"config": config}
    exec("def step(x):\n    return config.helper(x) * config.SCALE\n", namespace)
    step = namespace["step"]
    compiled = ember.compile(step)
    x = ember.tensor(np.arange(3.0, dtype=np.float32))
    for scale, offset in ((2.0, 0.0), (2.0, 0.0), (3.0, 0.0), (3.0, 1.0)):
        config.SCALE, config.OFFSET = scale, offset
        np.testing.assert_array_equal(_array(compiled(x)), _array(step(x)))
    state = _state(compiled)
    assert state._recordings == 3 and state.replays == 1, (state._recordings, state.replays)


FACTOR = 2  # numbers that change type, or the sign of a zero, keeping an equal value
HOLDER = types.SimpleNamespace(factor=2)
FACTOR_LIST = [2]


class _Factored(nn.Module):
    def __init__(self):
        super().__init__()
        self.factor = 2

    def forward(self, x):
        return x * self.factor


def _set_factor(value):
    globals()["FACTOR"] = value


EQUAL_VALUE_CHANGES = {  # (function, its input, what sets the number, before, after)
    "global_int_to_float": (lambda x: x * FACTOR, ember.arange(3), _set_factor, 2, 2.0),
    "attribute_int_to_float": (lambda x: x * HOLDER.factor, ember.arange(3),
                               lambda value: setattr(HOLDER, "factor", value), 2, 2.0),
    "list_item_int_to_float": (lambda x: x * FACTOR_LIST[0], ember.arange(3),
                               lambda value: FACTOR_LIST.__setitem__(0, value), 2, 2.0),
    "global_zero_to_negative_zero": (lambda x: x + FACTOR, ember.tensor([-0.0, 1.0]),
                                     _set_factor, 0.0, -0.0),
}


@pytest.mark.parametrize("name", list(EQUAL_VALUE_CHANGES))
def test_a_number_of_another_type_or_sign_records_again(name):
    """``2`` and ``2.0`` are equal, but an int tensor times one is int64 and times the
    other float32; ``x + 0.0`` and ``x + -0.0`` differ where ``x`` is -0."""
    function, x, place, before, after = EQUAL_VALUE_CHANGES[name]
    place(before)
    compiled = ember.compile(function)
    try:
        for step in range(3):
            if step == 2:
                place(after)
            want, got = function(x), compiled(x)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(np.signbit(_array(got)), np.signbit(_array(want)))
            np.testing.assert_array_equal(_array(got), _array(want))
    finally:
        place(2)  # the module's value
    assert _state(compiled)._recordings == 2


def test_a_number_attribute_or_argument_of_another_type_or_sign_records_again():
    model = _Factored()
    compiled_model = ember.compile(model)
    x = ember.arange(3)
    compiled_model(x)
    model.factor = 2.0
    assert compiled_model(x).dtype == model(x).dtype == ember.float32
    compiled = ember.compile(lambda x, shift: x + shift)
    x = ember.tensor([-0.0, 1.0])
    for shift in (0.0, 0.0, -0.0):
        np.testing.assert_array_equal(np.signbit(_array(compiled(x, shift))),
                                      np.signbit(_array(x + shift)))
    assert _state(compiled)._recordings == 2


def _patched_models():
    """A model whose class is made afresh, so that a change to the class stays here."""

    class Doubling(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 3)

        def helper(self, x):
            return x * 2

        def forward(self, x):
            return self.helper(self.linear(x))

    class Tripling(Doubling):
        def helper(self, x):
            return x * 3

    return Doubling(), Doubling, Tripling


METHOD_CHANGES = {
    "forward_set_on_the_model": lambda m, cls, other: setattr(
        m, "forward", lambda x: m.linear(x) * 10),
    "helper_set_on_the_model": lambda m, cls, other: setattr(m, "helper", lambda x: x * 9),
    "forward_of_the_class": lambda m, cls, other: setattr(
        cls, "forward", lambda self, x: self.linear(x) * 5),
    "helper_of_the_class": lambda m, cls, other: setattr(cls, "helper", lambda self, x: x * 7),
    "class_of_the_model": lambda m, cls, other: setattr(m, "__class__", other),
}


@pytest.mark.parametrize("change", list(METHOD_CHANGES))
def test_a_method_replaced_after_recording_records_again(change):
    model, cls, other = _patched_models()
    compiled = ember.compile(model)
    x = ember.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
    for step in range(3):
        if step == 1:
            METHOD_CHANGES[change](model, cls, other)
        np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 1, (state._recordings, state.replays)


def test_a_module_passed_as_an_argument_is_recorded_with_its_parameters():
    """``train_step(model, batch)``: the module's identity and training flags are part of
    the key, its parameters are captured, its attributes guarded, as for a module the
    function names."""

    def step(model, batch):
        x, y = batch
        loss = ((model(x) * model.scale - y) ** 2).mean()
        loss.backward()
        return loss

    def run(compile_step):
        ember.manual_seed(0)
        models = [nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.25), nn.Linear(8, 1))
                  for _ in range(2)]
        for model in models:
            model.scale = 1.0
        function = ember.compile(step) if compile_step else step
        generator = ember.Generator().manual_seed(1)
        losses = []
        for number in range(8):
            model = models[number % 2]
            if number == 4:
                models[0].eval()
            if number == 6:
                models[1].scale = 2.0
            batch = (ember.randn(5, 4, generator=generator),
                     ember.randn(5, 1, generator=generator))
            losses.append(_array(function(model, batch)))
        grads = [_array(p.grad) for model in models for p in model.parameters()]
        return losses, grads, function

    (want, want_grads, _), (got, got_grads, compiled) = run(False), run(True)
    for w, g in zip(want + want_grads, got + got_grads):
        np.testing.assert_array_equal(g, w)
    state = _state(compiled)
    assert state.breaks == [] and state._recordings == 4 and state.replays == 4, (
        state._recordings, state.replays)


@dataclasses.dataclass
class _Output:  # a model's output, as libraries return one
    loss: object
    logits: object
    hidden: tuple = ()


@dataclasses.dataclass(frozen=True)
class _Batch:
    inputs: object
    targets: object
    weight: float = 1.0


def test_objects_of_tensors_are_taken_apart_as_arguments_and_built_anew_as_results():
    """A dataclass or namespace holding tensors, returned or passed in: each replay returns
    a new one holding this call's tensors (it returned the first call's object), and
    reads the tensors of the one it gets."""
    layer = nn.Linear(3, 2)

    def step(batch):
        logits = layer(batch.inputs)
        loss = ((logits - batch.targets) ** 2).mean() * batch.weight
        return _Output(loss, logits, (logits * 2,)), types.SimpleNamespace(total=loss * 3)

    compiled = ember.compile(step)
    generator = ember.Generator().manual_seed(0)
    seen = []
    for number in range(4):
        batch = _Batch(ember.randn(4, 3, generator=generator, requires_grad=True),
                       ember.randn(4, 2, generator=generator), 1.0 if number < 3 else 2.0)
        for function in (step, compiled):
            output, extra = function(batch)
            output.loss.backward()
            assert type(output) is _Output and output.logits.grad_fn is not None
            seen.append([_array(t) for t in (output.loss, output.logits, output.hidden[0],
                                               extra.total, batch.inputs.grad)])
            batch.inputs.grad = None
    for want, got in zip(seen[::2], seen[1::2]):
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)
    state = _state(compiled)
    assert state.breaks == [] and state._recordings == 2 and state.replays == 2, (
        state._recordings, state.replays)
    first, again = compiled(batch)[0], compiled(batch)[0]
    assert first is not again and first.logits is not again.logits
    doubled = ember.compile(lambda x: _Output(x.sum(), x * 2))
    for value in (1.0, 2.0, 3.0):
        assert doubled(ember.full((2,), value)).logits.tolist() == [value * 2] * 2


@dataclasses.dataclass(slots=True)
class _Slotted:
    logits: object


class _MadeWithArguments:
    def __new__(cls, logits):
        made = super().__new__(cls)
        made.logits = logits
        return made


@pytest.mark.parametrize("kind", [_Slotted, _MadeWithArguments])
def test_a_result_object_that_cannot_be_built_anew_breaks(kind):
    compiled = ember.compile(lambda x: kind(x * 2))
    for value in (1.0, 2.0, 3.0):
        assert compiled(ember.full((2,), value)).logits.tolist() == [value * 2] * 2
    assert any("could not build anew" in reason for reason, _ in _state(compiled).breaks)


def _scale_by(x, scale):
    return x * scale


LIMIT = 1.0  # a global that a property reads


class _Clamped(nn.Module):
    @property
    def limit(self):
        return LIMIT

    def forward(self, x):
        return x.clamp(max=self.limit)


def test_a_changed_keyword_of_a_partial_or_global_of_a_property_records_again():
    global LIMIT
    x = ember.tensor(np.arange(4.0, dtype=np.float32))
    partial = functools.partial(_scale_by, scale=2.0)
    compiled = ember.compile(partial)
    for scale in (2.0, 2.0, 5.0):
        partial.keywords["scale"] = scale
        np.testing.assert_array_equal(_array(compiled(x)), _array(partial(x)))
    clamped = _Clamped()
    compiled_module = ember.compile(clamped)
    try:
        for limit in (1.0, 1.0, 2.5):
            LIMIT = limit
            np.testing.assert_array_equal(_array(compiled_module(x)), _array(clamped(x)))
    finally:
        LIMIT = 1.0
    for state in (_state(compiled), _state(compiled_module)):
        assert state._recordings == 2 and state.replays == 1, (state._recordings,
                                                                state.replays)


SHIFT = 1.0  # a global that a helper object's method reads


class _Shifter:
    """A helper of the user's own class, neither a module nor a Function."""

    def __init__(self):
        self.factor = 2.0

    def apply(self, x):
        return x * self.factor + SHIFT


def _shifted_twice(x):
    return x * 2 + SHIFT


class _Outer:
    """A helper that holds another, and a setting of its class."""

    FACTOR = 1.0

    def __init__(self):
        self.inner = _Shifter()

    def apply(self, x):
        return self.inner.apply(x) * self.FACTOR


class _WithAHelper(nn.Module):
    def __init__(self):
        super().__init__()
        self.shifter = _Shifter()

    def forward(self, x):
        return self.shifter.apply(x)


class _Shifts:
    """A class as a namespace of helpers, never instantiated."""

    TIMES = 1.0

    @staticmethod
    def shift(x):
        return x + SHIFT

    @classmethod
    def scaled(cls, x):
        return x * cls.TIMES


SHIFTER = _Shifter()
OUTER = _Outer()
HELPERS = {"shifters": [_Shifter()], "twice": _shifted_twice}  # helpers in a dict and a list


def _through_a_helper(x):
    return SHIFTER.apply(x)


def _through_helpers_in_containers(x):
    return HELPERS["shifters"][0].apply(x) + HELPERS["twice"](x)


def _through_a_helpers_helper(x):
    return OUTER.apply(x)


def _through_a_class_of_helpers(x):
    return _Shifts.scaled(_Shifts.shift(x))


HELPED = {"a_helper": _through_a_helper, "helpers_in_containers": _through_helpers_in_containers,
          "a_helpers_helper": _through_a_helpers_helper, "a_layers_helper": _WithAHelper(),
          "a_class_of_helpers": _through_a_class_of_helpers}


@pytest.mark.parametrize("name", list(HELPED))
def test_a_global_that_a_helpers_method_reads_records_again_when_it_changes(name):
    global SHIFT
    function = HELPED[name]
    x = ember.tensor(np.arange(4.0, dtype=np.float32))
    compiled = ember.compile(function)
    try:
        for shift in (1.0, 1.0, 4.0):  # a replay kept the first shift, before
            SHIFT = shift
            np.testing.assert_array_equal(_array(compiled(x)), _array(function(x)))
    finally:
        SHIFT = 1.0
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 1, (state._recordings, state.replays)


STEPS_LOGGED = 0  # a global that a training loop moves on every step


class _Logger:
    def line(self, value):
        return f"{STEPS_LOGGED}: {value}"


class _KeepsALogger(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.logger = _Logger()  # kept, never read by the forward

    def forward(self, x):
        return self.linear(x)


def test_a_helper_that_a_layer_keeps_but_never_reads_adds_no_guard():
    global STEPS_LOGGED
    model = _KeepsALogger()
    compiled = ember.compile(model)
    try:
        for _ in range(4):
            STEPS_LOGGED += 1
            compiled(ember.ones(2, 3))
    finally:
        STEPS_LOGGED = 0
    state = _state(compiled)
    assert state._recordings == 1 and state.replays == 3, (state._recordings, state.replays)


class _WithAPartial(nn.Module):
    def __init__(self):
        super().__init__()
        self.activation = functools.partial(F.leaky_relu, negative_slope=0.1)

    def forward(self, x):
        return self.activation(x)


def test_a_changed_keyword_of_a_partial_that_a_layer_holds_records_again():
    model = _WithAPartial()
    compiled = ember.compile(model)
    x = ember.tensor(np.linspace(-2, 2, 5, dtype=np.float32))
    for slope in (0.1, 0.1, 0.5):
        model.activation.keywords["negative_slope"] = slope
        np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 1, (state._recordings, state.replays)


@pytest.mark.parametrize("function, klass, name", [
    (_through_a_helpers_helper, _Outer, "FACTOR"),  # read as self.FACTOR
    (_through_a_class_of_helpers, _Shifts, "TIMES"),  # read as cls.TIMES
])
def test_a_setting_of_a_helpers_class_records_again_when_it_changes(function, klass, name):
    x = ember.tensor(np.arange(4.0, dtype=np.float32))
    compiled = ember.compile(function)
    try:
        for value in (1.0, 1.0, 3.0):
            setattr(klass, name, value)
            np.testing.assert_array_equal(_array(compiled(x)), _array(function(x)))
    finally:
        setattr(klass, name, 1.0)
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 1, (state._recordings, state.replays)


def _training_step(model, optimizer, scheduler, clip, zero_first):
    def step(x, t):
        if zero_first:
            optimizer.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, 11), t.reshape(-1))
        if not zero_first:
            model.zero_grad()
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        scheduler.step()
        return loss

    return step


@pytest.mark.parametrize("clip, zero_first", [(True, True), (False, False)])
def test_a_whole_training_step_replays_with_eager_numbers(clip, zero_first):
    from tests.test_compile import _TinyTransformer

    rng = np.random.default_rng(0)
    batches = [tuple(ember.tensor(rng.integers(0, 11, (4, 6))) for _ in range(2))
               for _ in range(12)]
    runs = []
    for compiled in (False, True):
        ember.manual_seed(0)
        model = _TinyTransformer()
        optimizer = ember.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
        scheduler = ember.optim.lr_scheduler.StepLR(optimizer, 4, 0.5)
        step = _training_step(model, optimizer, scheduler, clip, zero_first)
        step = ember.compile(step) if compiled else step
        losses = [step(x, t).item() for x, t in batches]
        runs.append((losses, [_array(p) for p in model.parameters()],
                     [_array(p.grad) for p in model.parameters()], optimizer.param_groups[0]["lr"]))
    (losses, params, grads, lr), (c_losses, c_params, c_grads, c_lr) = runs
    assert c_losses == losses and c_lr == lr == 1e-2 * 0.5 ** 3
    for want, got in zip(params + grads, c_params + c_grads):
        np.testing.assert_array_equal(got, want)
    state = _state(step)
    assert state.breaks == [] and state.replays == 11
    code = step.code
    assert "# backward() of" in code and ("accumulate(" in code or "replace_grad(" in code)
    assert "AdamW.step, replayed whole" in code or "Optimizer.step, replayed whole" in code


def test_backward_inside_the_call_accumulates_into_an_arguments_grad():
    layer = nn.Linear(2, 1)

    def step(x):
        loss = layer(x).sum()
        loss.backward()
        return loss

    compiled = ember.compile(step)
    x = ember.randn(3, 2, requires_grad=True)
    compiled(x)
    compiled(x)
    assert _state(compiled).breaks == [] and _state(compiled).replays == 1
    np.testing.assert_array_equal(_array(x.grad), 2 * _array(layer.weight).repeat(3, 0))


def test_backward_inside_the_call_into_a_graph_made_outside_it_breaks():
    layer = nn.Linear(2, 1)
    compiled = ember.compile(lambda h: layer(h).sum().backward())
    w = ember.ones(3, 2, requires_grad=True)
    for _ in range(2):
        compiled(w * 2.0)  # the argument is not a leaf: its graph continues outside
    assert any("graph made outside" in r for r, _ in _state(compiled).breaks)
    np.testing.assert_array_equal(_array(w.grad), 4 * _array(layer.weight).repeat(3, 0))


# ---------------------------------------------------------------- gradients


def test_double_backward_through_a_compiled_region_keeps_the_second_order_term():
    def function(x, w):
        return (ember.tanh(x @ w) ** 3).sum()

    compiled = ember.compile(function)
    rng = np.random.default_rng(0)
    for _ in range(3):
        data, weights = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
        results = []
        for run in (function, compiled):
            x = ember.tensor(data, requires_grad=True)
            w = ember.tensor(weights, requires_grad=True)
            (gx,) = ember.autograd.grad(run(x, w), x, create_graph=True)
            (gw,) = ember.autograd.grad((gx * gx).sum(), w)
            results.append((_array(gx), _array(gw)))
        np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)
    assert _state(compiled).replays == 2


def test_retain_graph_lets_a_replayed_region_backward_twice():
    layer = nn.Linear(3, 2)
    compiled = ember.compile(layer)
    x = ember.randn(4, 3)
    compiled(x)
    out = compiled(x).sum()
    out.backward(retain_graph=True)
    first = layer.weight.grad.clone()
    out.backward()
    np.testing.assert_array_equal(_array(layer.weight.grad), 2 * _array(first))
    assert out.grad_fn.next_functions[0][0].name() == "CompiledFunctionBackward"


def test_random_draws_are_fresh_on_every_replay():
    compiled = ember.compile(lambda x: F.dropout(x, 0.5))
    x = ember.ones(1000)
    masks = [_array(compiled(x)) for _ in range(3)]
    assert not np.array_equal(masks[1], masks[2])
    ember.manual_seed(3)
    replayed = _array(compiled(x))
    ember.manual_seed(3)
    np.testing.assert_array_equal(replayed, _array(F.dropout(x, 0.5)))


# ---------------------------------------------------------------- the module wrapper and tools


def test_optimized_module_passes_through_to_the_original():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    compiled = ember.compile(model)
    assert isinstance(compiled, ember._compile.OptimizedModule)
    assert compiled._orig_mod is model
    with pytest.raises(TypeError, match="not subscriptable"):  # as PyTorch's
        compiled[0]
    linear = ember.compile(nn.Linear(2, 3))
    assert linear.in_features == 2 and linear.weight is linear._orig_mod.weight
    assert repr(linear) == ("OptimizedModule(\n  (_orig_mod): Linear(in_features=2, "
                            "out_features=3, bias=True)\n)")
    assert list(compiled.parameters()) == list(model.parameters())
    keys = list(compiled.state_dict())
    assert keys == ["_orig_mod." + k for k in model.state_dict()]
    other = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    ember.compile(other).load_state_dict(compiled.state_dict())
    np.testing.assert_array_equal(_array(other[0].weight), _array(model[0].weight))


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x):
        return self.linear(x).relu() * 2


def test_module_compile_compiles_in_place_with_eager_numbers():
    ember.manual_seed(0)
    model, eager = _Scaled(), _Scaled()
    eager.load_state_dict(model.state_dict())
    keys = list(model.state_dict())
    model.compile()
    assert type(model) is _Scaled and list(model.state_dict()) == keys
    for module in (model, eager):  # a hook runs around the compiled forward
        module.register_forward_hook(lambda module, args, output: output + 1)
    rng = np.random.default_rng(0)
    for _ in range(3):
        data = rng.standard_normal((4, 3)).astype(np.float32)
        results = []
        for module in (model, eager):
            module.zero_grad()
            out = module(ember.tensor(data))
            out.sum().backward()
            results.append((_array(out), _array(module.linear.weight.grad)))
        for got, want in zip(*results):
            np.testing.assert_array_equal(got, want)
    assert model.forward.replays == 2
    for module in (model, eager):  # a hook added later runs too, and records nothing anew
        module.register_forward_pre_hook(lambda module, args: (args[0] * 3,))
    x = ember.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_array_equal(_array(model(x)), _array(eager(x)))
    assert model.forward.replays == 3 and model.forward._recordings == 1
    model.compile(fullgraph=True)  # again: from the forward it had before
    assert model.forward._fullgraph and model.forward.replays == 0
    model.compile(disable=True)
    assert model.forward.__func__ is _Scaled.forward


@pytest.mark.parametrize("in_place", [True, False])
def test_a_deep_copy_of_a_compiled_module_is_compiled_on_its_own_parameters(in_place):
    class Scaled(_Scaled):  # a class of its own: no copy has stored ``__slotnames__`` on it
        pass

    ember.manual_seed(1)
    model = Scaled()
    if in_place:
        model.compile()
    else:
        model = ember.compile(model)
    compiled = _state(model) if not in_place else model.forward
    x = ember.ones(2, 3)
    model(x), model(x)
    copied = copy.deepcopy(model)  # copies of the weights, and no recording yet
    with ember.no_grad():
        copied.linear.weight.mul_(2)
    np.testing.assert_array_equal(_array(copied(x)), _array(copied(x)))
    assert not np.array_equal(_array(copied(x)), _array(model(x)))
    copy_compiled = _state(copied) if not in_place else copied.forward
    assert copy_compiled is not compiled and copy_compiled.replays == 2
    assert set(vars(copy_compiled)) == set(vars(compiled))  # every attribute, fresh or copied
    # the first deep copy stored ``__slotnames__`` on the class: no guard fails for it
    assert compiled._recordings == 1 and compiled.replays == 2


def test_decorator_forms():
    @ember.compile
    def plain(x):
        return x + 1

    @ember.compile(fullgraph=True)
    def strict(x):
        return x * 2

    x = ember.ones(2)
    assert plain(x).tolist() == [2.0, 2.0] and strict(x).tolist() == [2.0, 2.0]
    assert plain.__name__ == "plain"
    assert ember.compile(plain, disable=True) is plain


def test_compiled_optimizer_step_is_the_fused_step():
    layer = nn.Linear(2, 1)
    optimizer = ember.optim.Adam(layer.parameters(), lr=0.1)
    step = ember.compile(optimizer.step)
    layer(ember.ones(1, 2)).sum().backward()
    before = _array(layer.weight)
    step()
    assert not np.array_equal(before, _array(layer.weight))


def test_code_prints_the_programs_with_shapes():
    compiled = ember.compile(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid()))
    assert "nothing recorded" in compiled.code
    compiled(ember.randn(4, 2, requires_grad=True))
    code = compiled.code
    assert code.startswith("def forward(")
    assert "Addmm: (4, 3) float32" in code and "def backward(node, grad0)" in code
    assert "Sigmoid" in code


def test_output_code_log(capsys, monkeypatch):
    monkeypatch.setenv("EMBER_LOGS", "output_code")
    compiled = ember.compile(lambda x: x.exp())
    compiled(ember.ones(2))
    assert "def forward(" in capsys.readouterr().err, (compiled.breaks, sys.stderr)


def test_explain_lists_recordings_guards_and_breaks():
    layer = nn.Linear(2, 2)
    report = ember.compiler.explain(layer, ember.randn(3, 2))
    assert report.graph_count == 1 and report.graph_break_count == 0
    assert report.ops_per_graph == [["Addmm"]]
    assert any("Linear.weight" in guard for guard in report.out_guards)
    broken = ember.compiler.explain(_item)(ember.randn(3))
    assert broken.graph_count == 0 and broken.graph_break_count == 1
    assert "item()" in broken.break_reasons[0] and "Graph Break Count: 1" in str(broken)


def test_set_stance_as_a_function_a_context_and_a_decorator():
    compiled = ember.compile(lambda x: x * 2)
    small, large = ember.ones(2), ember.ones(3)
    compiled(small), compiled(small)
    state = _state(compiled)
    with ember.compiler.set_stance("force_eager"):  # neither replays nor records
        assert compiled(small).tolist() == [2.0, 2.0] and compiled(large).tolist() == [2.0] * 3
    assert (state.replays, state._recordings) == (1, 1)
    ember.compiler.set_stance("eager_on_recompile")
    try:  # a new size runs eagerly; the recorded one still replays
        compiled(large), compiled(small)
    finally:
        ember.compiler.set_stance("default")
    assert (state.replays, state._recordings) == (2, 1)
    with pytest.raises(RuntimeError, match="fail_on_recompile"):
        with ember.compiler.set_stance("fail_on_recompile"):
            compiled(large)
    assert ember._compile.stance.current.name == "default"
    fresh = ember.compile(lambda x: x + 1)

    @ember.compiler.set_stance("eager_then_compile")
    def three_calls():
        return [fresh(small) for _ in range(3)]

    assert ember._compile.stance.current.name == "default"  # only while it runs
    three_calls()
    assert (_state(fresh)._recordings, _state(fresh).replays) == (1, 1)
    with pytest.raises(ValueError, match="unknown stance"):
        ember.compiler.set_stance("sometimes")
    inside = ember.compile(lambda x: (ember.compiler.set_stance("force_eager"), x)[1])
    with pytest.raises(RuntimeError, match="not allowed inside a compiled region"):
        inside(small)


def test_dynamo_graph_break_and_the_accepted_hints():
    def function(x):
        ember._dynamo.mark_dynamic(x, 0)
        ember._dynamo.maybe_mark_dynamic(x, 0)
        ember._dynamo.mark_static(x)
        y = x * 2
        ember._dynamo.graph_break()
        return y + 1

    compiled = ember.compile(function)
    for _ in range(2):
        assert compiled(ember.ones(2)).tolist() == [3.0, 3.0]
    assert _state(compiled).replays == 0
    assert any("graph_break()" in reason for reason, _ in _state(compiled).breaks)
    with pytest.raises(Unsupported, match="graph_break"):
        ember.compile(function, fullgraph=True)(ember.ones(2))
    plain = ember.compile(lambda x: x + 1)
    assert ember.compiler.allow_in_graph(function) is function
    assert ember.compiler.assume_constant_result(function) is function
    ember.compiler.cudagraph_mark_step_begin()
    assert not ember.compiler.is_exporting() and not ember.compiler.is_dynamo_compiling()
    seen = ember.compile(lambda x: x * ember.compiler.is_dynamo_compiling())
    assert seen(ember.ones(1)).tolist() == [1.0] and plain(ember.ones(1)).tolist() == [2.0]


def test_reset_disable_and_is_compiling():
    seen = queue.SimpleQueue()  # not a list: an append to one would break the recording

    def probe(x):
        seen.put(ember.compiler.is_compiling())
        return x + 1

    def drained():
        return [seen.get() for _ in range(seen.qsize())]

    compiled = ember.compile(probe)
    compiled(ember.ones(1))
    compiled(ember.ones(1))
    assert drained() == [True] and not ember.compiler.is_compiling()
    ember.compiler.reset()
    compiled(ember.ones(1))
    assert drained() == [True]

    @ember.compiler.disable
    def helper(x):
        return x * 2

    outer = ember.compile(lambda x: helper(x) + 1)
    outer(ember.ones(1))
    outer(ember.ones(1))
    assert _state(outer).replays == 0 and "disable" in _state(outer).breaks[0][0]
    assert ember.compile(helper) is helper


def test_recording_state_belongs_to_the_thread():
    started, release, seen = threading.Event(), threading.Event(), []

    def slow(x):
        started.set()
        release.wait(5)
        return x + 1

    compiled = ember.compile(slow)
    worker = threading.Thread(target=compiled, args=(ember.ones(1),))
    worker.start()
    started.wait(5)
    seen.append(ember.compiler.is_compiling())
    (ember.ones(1) * 2).sum().item()  # another thread's reads are no break of that recording
    leaf = ember.ones(3, requires_grad=True)
    (leaf * 2).sum().backward()
    seen.append(leaf.grad.tolist())  # nor its .grad, its indexing and its sorting, which
    values = ember.tensor([3.0, 1.0, 2.0])  # take their eager forms there
    seen.append((values[ember.tensor([2, 0])].tolist(), values.sort().indices.tolist()))
    release.set()
    worker.join()
    assert seen == [False, [2.0, 2.0, 2.0], ([2.0, 3.0], [1, 2, 0])]
    # The one break is an event the call set or waited on (a replay would skip that): none
    # comes from the other thread's reads.
    reasons = [reason for reason, _ in _state(compiled).breaks]
    assert len(reasons) == 1 and re.match(
        "the closure variable (started|release) was assigned or changed", reasons[0])


def test_two_threads_that_alternate_signatures_get_their_own_recordings():
    """Each thread's calls move the recording tested first (``_last``) to its own shape:
    the quick test must send the other thread's calls to their own recording. The shape
    read in Python makes a recording fit its own shape only."""

    def flatten(x):
        return (x * 2).reshape(x.shape[0] * 3)

    compiled = ember.compile(flatten)
    inputs = {rows: ember.randn(rows, 3, generator=ember.Generator().manual_seed(rows))
              for rows in (2, 5)}
    expected = {rows: _array(flatten(x)) for rows, x in inputs.items()}
    failures = []

    def calls(rows):
        for _ in range(300):
            try:
                found = _array(compiled(inputs[rows]))
            except Exception as error:  # a replay of the other shape's recording
                failures.append((rows, repr(error)))
                return
            if not np.array_equal(found, expected[rows]):
                failures.append((rows, found.shape))

    workers = [threading.Thread(target=calls, args=(rows,)) for rows in (2, 5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == [] and _state(compiled)._last is not None


def test_in_place_ops_on_intermediates_replay_with_eager_gradients():
    def function(x, y):
        h = x * 1.5
        h.mul_(y)  # Mul saves its inputs: the value before the write must be kept
        h.relu_()
        h += 1.0
        return h * y

    compiled = ember.compile(function)
    rng = np.random.default_rng(0)
    for _ in range(3):
        a, b = rng.standard_normal((2, 3, 4))
        results = []
        for run in (function, compiled):
            x, y = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
            out = run(x, y)
            (out * ember.tensor(b + 2)).sum().backward()
            results.append([_array(out), _array(x.grad), _array(y.grad)])
        for want, got in zip(*results):
            np.testing.assert_array_equal(got, want)
    state = _state(compiled)
    assert state.breaks == [] and state.replays == 2
    assert ".copy()  # before an in-place write" in compiled.code


def _clamped(model, x):  # the DQN tutorial's clipping, through .data
    model(x).pow(2).sum().backward()
    for p in model.parameters():
        p.grad.data.clamp_(-0.5, 0.5)


def _scaled(model, x):  # ``p.grad *= s`` assigns the same tensor back to .grad
    model(x).pow(2).sum().backward()
    for p in model.parameters():
        p.grad *= 0.5


def _normalized(model, x):  # clipping written by hand, its norm from the gradients
    model(x).pow(2).sum().backward()
    total = sum(p.grad.norm() ** 2 for p in model.parameters()).sqrt()
    for p in model.parameters():
        p.grad.div_(total + 1)


def _held_across_backward(model, x):  # accumulation adds into the array a name holds
    model(x).sum().backward()
    held = model.weight.grad
    first = held.sum() * 1
    model(x).pow(2).sum().backward()
    held.add_(first)


def _input_grad(model, x):
    model(x).pow(2).sum().backward()
    x.grad.mul_(2)


GRAD_READS = {"clamped": _clamped, "scaled": _scaled, "normalized": _normalized,
              "held_across_backward": _held_across_backward, "input_grad": _input_grad}


@pytest.mark.parametrize("zero_grad", [True, False], ids=["zero_grad", "accumulating"])
@pytest.mark.parametrize("name", list(GRAD_READS))
def test_reading_grad_after_backward_in_the_call_replays_as_eagerly(name, zero_grad):
    body = GRAD_READS[name]
    results = []
    for compile_it in (False, True):
        model, optimizer = _seeded_linear_and_sgd()

        def step(x):
            if zero_grad:
                optimizer.zero_grad()
            body(model, x)
            optimizer.step()

        run = ember.compile(step) if compile_it else step
        rng = np.random.default_rng(12)
        values = []
        for _ in range(3):
            x = ember.tensor(rng.standard_normal((4, 3)), dtype=ember.float32,
                             requires_grad=True)
            run(x)
            values += [_array(x.grad)] + [_array(t) for p in model.parameters()
                                          for t in (p, p.grad)]
        results.append(values)
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, want)
    assert _state(run).replays == 2 and _state(run).breaks == []


def test_reading_grad_before_a_backward_in_the_call_breaks():
    layer = nn.Linear(2, 1)

    def step(x):
        layer(x).sum().backward()
        return layer.weight.grad * 1  # what earlier calls accumulated: no value of the call

    def before(x):
        scale = layer.weight.grad.sum() * 1
        layer(x).sum().backward()
        return scale

    for function, breaks in ((step, False), (before, True)):
        layer.zero_grad()
        layer(ember.ones(3, 2)).sum().backward()  # a gradient from before the calls
        compiled = ember.compile(function)
        for _ in range(3):
            compiled(ember.ones(3, 2))
        reasons = [reason for reason, _ in _state(compiled).breaks]
        assert any("reading .grad inside the compiled call" in r for r in reasons) == breaks
        assert _state(compiled).replays == (0 if breaks else 2)
        np.testing.assert_array_equal(_array(layer.weight.grad), [[12.0, 12.0]])


def _sgd_by_hand(model, ema, x):
    """The tutorials' update: ``p -= lr * p.grad`` under no_grad, then ``zero_()``."""
    model(x).pow(2).mean().backward()
    with ember.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
            p.grad.zero_()


def _data_update(model, ema, x):
    model.zero_grad()
    model(x).tanh().sum().backward()
    for p in model.parameters():
        p.data.add_(p.grad.data, alpha=-0.05)


def _weights_averaged(model, ema, x):
    """An exponential moving average of the weights, after the optimizer's step."""
    model.zero_grad()
    model(x).pow(2).mean().backward()
    with ember.no_grad():
        for p in model.parameters():
            p.sub_(p.grad, alpha=0.1)
        for e, p in zip(ema.parameters(), model.parameters()):
            e.mul_(0.9).add_(p, alpha=0.1)


def _forward_again(model, ema, x):
    """The updated weights feed a second forward and backward in the same call."""
    model(x).pow(2).mean().backward()
    with ember.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    model(x).sigmoid().sum().backward()


def _cleared_by_hand(model, ema, x):
    """The tutorials' other form: ``w.grad = None`` after the update."""
    model(x).pow(2).mean().backward()
    with ember.no_grad():
        for p in model.parameters():
            p.sub_(p.grad * 0.05)
            p.grad = None


def _state_dict_averaged(model, ema, x):
    """timm's ``ModelEmaV2``: the average over ``state_dict().values()``, new tensors over
    the parameters' arrays that the call has not read before (the average's)."""
    model.zero_grad()
    model(x).pow(2).mean().backward()
    with ember.no_grad():
        for p in model.parameters():
            p.sub_(p.grad, alpha=0.1)
        for e, p in zip(ema.state_dict().values(), model.state_dict().values()):
            e.copy_(e * 0.9 + 0.1 * p)


UPDATES = {"sgd_by_hand": _sgd_by_hand, "data_update": _data_update,
           "weights_averaged": _weights_averaged, "forward_again": _forward_again,
           "cleared_by_hand": _cleared_by_hand, "state_dict_averaged": _state_dict_averaged}


@pytest.mark.parametrize("name", list(UPDATES))
def test_an_update_written_by_hand_after_backward_replays_as_eagerly(name):
    """Changing a parameter in place under no_grad after a ``backward()`` in the call is
    an update (a write step); its values, the gradients and the version counters over 4
    calls are eager's, bit for bit."""
    results = []
    for compile_it in (False, True):
        ember.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        ema = copy.deepcopy(model)

        def step(x):
            UPDATES[name](model, ema, x)

        run = ember.compile(step) if compile_it else step
        rng = np.random.default_rng(13)
        values = []
        for _ in range(4):
            run(ember.tensor(rng.standard_normal((5, 3)), dtype=ember.float32))
            tensors = list(model.parameters()) + list(ema.parameters())
            values += [_array(t) for t in tensors] + [
                _array(t.grad) for t in tensors if t.grad is not None]
            values.append(np.array([t._version for t in tensors]))
        results.append(values)
    assert len(results[1]) == len(results[0])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, want)
    assert _state(run).replays == 3 and _state(run).breaks == []


def test_each_in_place_write_moves_a_buffers_version_as_eagerly():
    """Two writes in a row to one buffer (``b.mul_(0.9).add_(x)``) move its version twice
    on a replay too: the second write's target is the first write's result."""

    class Averaged(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("average", ember.zeros(3))

        def forward(self, x):
            with ember.no_grad():
                self.average.mul_(0.9).add_(x.mean(0), alpha=0.1)
            return x * self.average

    versions, values = [], []
    for compile_it in (False, True):
        module = Averaged()
        run = ember.compile(module) if compile_it else module
        for step in range(3):
            run(ember.full((2, 3), float(step)))
        versions.append(module.average._version)
        values.append(_array(module.average))
    assert versions[0] == versions[1] == 6
    np.testing.assert_array_equal(values[1], values[0])
    assert _state(run).replays == 2 and _state(run).breaks == []


def test_a_parameter_changed_before_a_backward_breaks_and_a_retained_graph_raises():
    """Before any ``backward()`` in the call, an in-place change to a parameter is one
    during the forward: it breaks. After a ``backward(retain_graph=True)``, the nodes
    still hold what they saved, so a second backward after the update raises as eagerly."""
    layer = nn.Linear(3, 2)

    def normalized_first(x):
        with ember.no_grad():
            layer.weight.div_(layer.weight.norm())
        layer(x).sum().backward()

    compiled = ember.compile(normalized_first)
    for _ in range(2):
        compiled(ember.ones(2, 3))
    assert any("in-place change to an input or a parameter" in r
               for r, _ in _state(compiled).breaks)

    def retained(x):
        loss = layer(x).tanh().sum()
        loss.backward(retain_graph=True)
        with ember.no_grad():
            layer.weight.sub_(layer.weight.grad, alpha=0.1)
        loss.backward()

    for function in (retained, ember.compile(retained)):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            function(ember.ones(2, 3))


def test_a_detached_parameter_or_argument_returned_is_a_new_tensor_as_eagerly():
    """``p.detach()`` and ``p.data`` share the parameter's storage and version but are new
    tensors without a gradient; a replay returned the parameter itself."""
    layer = nn.Linear(2, 2)

    def step(x):
        return layer(x).sum(), layer.weight.detach(), layer.weight.data, layer.weight, x, \
            x.detach()

    compiled = ember.compile(step)
    for _ in range(3):
        x = ember.ones(1, 2, requires_grad=True)
        _, detached, data, weight, same, alias = compiled(x)
        assert weight is layer.weight and same is x
        for tensor, of in ((detached, layer.weight), (data, layer.weight), (alias, x)):
            assert tensor is not of and not tensor.requires_grad
            assert tensor._data is of._data and tensor._version_counter is of._version_counter
        assert detached is not data
    assert _state(compiled).replays == 2 and _state(compiled).breaks == []


def test_a_new_tensor_over_a_parameter_the_call_did_not_read_is_that_parameter():
    """``p.detach()``, ``p.data`` or a ``state_dict()`` value of a parameter that the call
    reads nowhere else reads (and returns) that parameter's storage, as eagerly."""
    layer, other = nn.Linear(2, 2), nn.Linear(2, 3)

    def step(x):
        weights = other.state_dict()
        return layer(x).sum() + other.bias.data.sum(), weights["weight"], other.weight.detach()

    compiled = ember.compile(step)
    for _ in range(3):
        loss, from_dict, detached = compiled(ember.ones(1, 2))
        assert _array(loss).tolist() == _array(step(ember.ones(1, 2))[0]).tolist()
        for tensor in (from_dict, detached):
            assert tensor is not other.weight and not tensor.requires_grad
            assert tensor._data is other.weight._data
            assert tensor._version_counter is other.weight._version_counter
        assert from_dict is not detached
    assert _state(compiled).replays == 2 and _state(compiled).breaks == []
    with ember.no_grad():
        other.bias.add_(1.0)  # read on each replay, not kept from the recording
    assert _array(compiled(ember.ones(1, 2))[0]).tolist() == \
        _array(step(ember.ones(1, 2))[0]).tolist()
    assert _state(compiled).replays == 3


def test_clearing_grad_inside_the_call_replays_and_other_assignments_break():
    """``p.grad = None`` of a leaf is a step a replay repeats (eager's numbers: the weight's
    gradient is the call's own, the bias's accumulates); assigning a tensor breaks."""
    layer = nn.Linear(2, 1)

    def step(x):
        loss = layer(x).sum()
        layer.weight.grad = None
        loss.backward()
        return loss

    compiled = ember.compile(step)
    for _ in range(3):
        compiled(ember.ones(3, 2))
    assert _state(compiled).breaks == [] and _state(compiled).replays == 2
    assert "._grad = None  # .grad = None" in compiled.code
    np.testing.assert_array_equal(_array(layer.weight.grad), [[3.0, 3.0]])
    assert _array(layer.bias.grad).tolist() == [9.0]

    def assigned(x):
        loss = layer(x).sum()
        layer.weight.grad = ember.zeros(1, 2)  # a Python assignment a replay could not repeat
        loss.backward()
        return loss

    compiled = ember.compile(assigned)
    for _ in range(2):
        compiled(ember.ones(3, 2))
    assert any("assigning .grad" in r for r, _ in _state(compiled).breaks)
    np.testing.assert_array_equal(_array(layer.weight.grad), [[3.0, 3.0]])


def test_modules_behind_a_helper_function_are_found():
    model = nn.Linear(3, 2)

    def compute_loss(x):
        return model(x).pow(2).sum()

    def step(x):
        loss = compute_loss(x)
        loss.backward()
        return loss

    compiled = ember.compile(step)
    for _ in range(3):
        compiled(ember.ones(4, 3))
    state = _state(compiled)
    assert state.breaks == [] and state.replays == 2
    ember.manual_seed(0)
    other = nn.Linear(3, 2)
    model.weight = other.weight  # the helper's module changed: the guards see it
    compiled(ember.ones(4, 3))
    assert state._recordings == 2


def test_outputs_that_are_inputs_or_constants():
    def function(x):
        return x, ember.zeros(2), x * 2

    compiled = ember.compile(function)
    x = ember.ones(2)
    compiled(x)
    same, zeros, doubled = compiled(x)
    assert same is x and doubled.tolist() == [2.0, 2.0]
    zeros.add_(5.0)  # the caller's copy: the next replay still returns zeros
    assert compiled(x)[1].tolist() == [0.0, 0.0]
    assert _state(compiled).replays == 2


def test_hooks_on_the_optimized_module_itself_run():
    compiled = ember.compile(nn.Linear(2, 2))
    seen = []
    compiled.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    for _ in range(3):
        compiled(ember.ones(1, 2))
    assert len(seen) == 3 and _state(compiled).replays == 2


def test_an_error_while_recording_leaves_no_recording_behind():
    from ember import _tape

    # emptied by the first call, which raises: the calls after it change nothing
    failures = [ValueError("the first call fails")]

    def flaky(x):
        y = x * 2
        if failures:
            raise failures.pop()
        return y + 1

    compiled = ember.compile(flaky)
    with pytest.raises(ValueError, match="first call fails"):
        compiled(ember.ones(2))
    assert not ember.compiler.is_compiling() and _tape.anywhere.count == 0
    (ember.ones(2) * 3).sum().item()  # no recording is left to see this read
    for _ in range(2):
        assert compiled(ember.ones(2)).tolist() == [3.0, 3.0]
    state = _state(compiled)
    assert state.breaks == [] and state._recordings == 2 and state.replays == 1


# ---------------------------------------------------------------- zero_grad folded


def _mse_step(model, optimizer, set_to_none=True, second_backward=False):
    def step(x, t):
        optimizer.zero_grad(set_to_none=set_to_none)
        loss = F.mse_loss(model(x), t)
        loss.backward()
        if second_backward:  # gradients of two losses, accumulated
            (model(x).sum() * 0.1).backward()
        optimizer.step()
        return loss

    return step


def _eager_and_compiled(build, steps=5):
    """Losses, parameters and gradients of ``steps`` calls, eager and compiled."""
    rng = np.random.default_rng(3)
    batches = [tuple(ember.tensor(rng.standard_normal(shape), dtype=ember.float32)
                     for shape in ((4, 3), (4, 2))) for _ in range(steps)]
    runs = []
    for compiled in (False, True):
        ember.manual_seed(0)
        model, step = build()
        step = ember.compile(step) if compiled else step
        losses = [step(x, t).item() for x, t in batches]
        runs.append((losses, [_array(p) for p in model.parameters()],
                     [None if p.grad is None else _array(p.grad) for p in model.parameters()],
                     step))
    (losses, params, grads, _), (c_losses, c_params, c_grads, compiled) = runs
    assert c_losses == losses
    for want, got in zip(params + grads, c_params + c_grads):
        assert (want is None) == (got is None)
        if want is not None:
            np.testing.assert_array_equal(got, want)
    assert _state(compiled).breaks == [] and _state(compiled).replays == steps - 1
    return compiled.code


@pytest.mark.parametrize("second_backward", [False, True])
def test_zero_grad_folds_into_the_backward_after_it(second_backward):
    def build():
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, _mse_step(model, optimizer, second_backward=second_backward)

    code = _eager_and_compiled(build)
    assert "zero_grad(): folded" in code and "Optimizer.zero_grad, replayed whole" not in code
    # the first backward's accumulations replace .grad; a second one adds to it
    assert code.count("replace_grad(") == 4
    assert code.count("accumulate(") == (4 if second_backward else 0)


def test_gradients_replaced_after_a_folded_zero_grad_share_no_memory():
    """Add hands one array to both parameters: the first to take it as its ``.grad``
    leaves the other a copy, as the engine does (``replace_grad``)."""
    a, b = nn.Parameter(ember.ones(3, 4)), nn.Parameter(ember.ones(3, 4))
    optimizer = ember.optim.SGD([a, b], lr=0.1)

    def step():
        optimizer.zero_grad()
        (a + b).sum().backward()

    compiled = ember.compile(step)
    for _ in range(3):
        compiled()
    assert "replace_grad(" in compiled.code and _state(compiled).replays == 2
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.add_(1.0)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones((3, 4), np.float32))


def test_zero_grad_to_zeros_is_replayed_whole():
    def build():
        model = nn.Linear(3, 2)
        optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
        return model, _mse_step(model, optimizer, set_to_none=False)

    code = _eager_and_compiled(build)
    assert "Optimizer.zero_grad, replayed whole" in code and "replace_grad(" not in code


def test_zero_grad_of_a_parameter_the_backward_does_not_reach_is_replayed_whole():
    spare = nn.Parameter(ember.ones(3))

    def build():
        model = nn.Linear(3, 2)
        model.spare = spare  # a parameter of the model that no op uses
        spare.grad = ember.ones(3)  # zero_grad() must set it to None on every call
        optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
        return model, _mse_step(model, optimizer)

    code = _eager_and_compiled(build)
    assert "Optimizer.zero_grad, replayed whole" in code and "replace_grad(" not in code
    assert spare.grad is None


def test_a_parameter_group_added_after_recording_records_again():
    model, other = nn.Linear(3, 2), nn.Linear(3, 2)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    step = ember.compile(_mse_step(model, optimizer))
    x, t = ember.randn(4, 3), ember.randn(4, 2)
    step(x, t)
    step(x, t)
    assert "zero_grad(): folded" in step.code
    optimizer.add_param_group({"params": other.parameters()})
    other.weight.grad = ember.ones(2, 3)
    step(x, t)  # the folded zero_grad no longer covers every parameter: a new recording
    assert other.weight.grad is None
    assert "Optimizer.zero_grad, replayed whole" in step.code
    assert _state(step).breaks == [] and _state(step)._recordings == 2


SETTINGS = {"scale": 2.0}  # a global dict, list and number a compiled module reads
FACTORS = [1.0, 3.0]
OFFSET = 0.0


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.factors = [1.0, 1.0]  # a list attribute, read by the forward

    def forward(self, x):
        return self.linear(x) * SETTINGS["scale"] * FACTORS[1] * self.factors[0] + OFFSET


def _set_offset(value):
    global OFFSET
    OFFSET = value


def test_a_change_to_what_a_global_or_attribute_list_or_dict_holds_records_again():
    model = _Scaled()
    compiled = ember.compile(model)
    x = ember.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    changes = [lambda: None, lambda: SETTINGS.update(scale=5.0),
               lambda: FACTORS.__setitem__(1, 7.0), lambda: model.factors.__setitem__(0, 0.5),
               lambda: _set_offset(1.5), lambda: None]
    try:
        for change in changes:
            change()
            np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))
    finally:
        SETTINGS["scale"], FACTORS[1] = 2.0, 3.0
        _set_offset(0.0)
    state = _state(compiled)
    assert state._recordings == 5 and state.replays == 1, (state._recordings, state.replays)


ARGS = argparse.Namespace(scale=1.0)  # a script's parsed arguments, read by the forward


class _Settings:
    """A config object whose defaults are class attributes."""

    margin = 0.0


SETTINGS_OBJECT = _Settings()  # a global object of objects: read two deep
SETTINGS_OBJECT.inner = types.SimpleNamespace(bias=0.0)


class _Configured(nn.Module):
    gain = 1.0  # a class attribute

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self._offset = 0.0  # a private number
        self.activation = ember.relu  # a function
        self.config = types.SimpleNamespace(factor=1.0, inner=types.SimpleNamespace(shift=0.0))
        self.which, self.shift_a = "a", 0.0  # an attribute read by a name made when it runs
        self.tools = types.SimpleNamespace(act=ember.relu, bias=0.0)  # a function, a number

    def forward(self, x):
        y = self.activation(self.linear(x)) * self.config.factor + self._offset
        y = y * type(self).gain * self.gain + self.config.inner.shift
        y = y + getattr(self, "shift_" + self.which) + SETTINGS_OBJECT.inner.bias
        return (y + SETTINGS_OBJECT.margin + self.tools.bias) * ARGS.scale


ATTRIBUTE_CHANGES = {
    "private_number": lambda m: setattr(m, "_offset", 2.0),
    "function": lambda m: setattr(m, "activation", ember.tanh),
    "object_attribute": lambda m: setattr(m.config, "factor", 3.0),
    "object_replaced": lambda m: setattr(m, "config", types.SimpleNamespace(
        factor=4.0, inner=types.SimpleNamespace(shift=0.0))),
    "global_namespace": lambda m: setattr(ARGS, "scale", 5.0),
    "class_attribute": lambda m: setattr(_Configured, "gain", 2.0),
    "class_attribute_set_on_the_model": lambda m: setattr(m, "gain", 3.0),
    "attribute_of_an_object_in_an_object": lambda m: setattr(m.config.inner, "shift", 1.5),
    "attribute_read_by_a_name_made_at_run_time": lambda m: setattr(m, "shift_a", 0.5),
    "global_object_two_deep": lambda m: setattr(SETTINGS_OBJECT.inner, "bias", 0.25),
    "class_attribute_of_a_global_object": lambda m: setattr(_Settings, "margin", 0.75),
    "number_beside_a_function_in_an_object": lambda m: setattr(m.tools, "bias", 0.5),
}


@pytest.mark.parametrize("change", list(ATTRIBUTE_CHANGES))
def test_a_changed_attribute_that_the_forward_reads_records_again(change):
    model = _Configured()
    compiled = ember.compile(model)
    x = ember.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
    try:
        for step in range(3):
            if step == 1:
                ATTRIBUTE_CHANGES[change](model)
            np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))
    finally:
        ARGS.scale, _Configured.gain, _Settings.margin = 1.0, 1.0, 0.0
        SETTINGS_OBJECT.inner.bias = 0.0
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 1, (state._recordings, state.replays)


def test_an_argument_object_whose_attributes_changed_records_again():
    options = types.SimpleNamespace(scale=1.0, mode="a", inner=types.SimpleNamespace(shift=0.0))

    def scaled(x, options):
        x = x + options.inner.shift  # an object in the object
        return x * options.scale if options.mode == "a" else x - options.scale

    compiled = ember.compile(scaled)
    x = ember.tensor(np.arange(4.0, dtype=np.float32))
    for scale, mode, shift in ((1.0, "a", 0.0), (2.0, "a", 0.0), (2.0, "b", 0.0),
                               (2.0, "b", 0.0), (2.0, "b", 1.0)):
        options.scale, options.mode, options.inner.shift = scale, mode, shift
        np.testing.assert_array_equal(_array(compiled(x, options)), _array(scaled(x, options)))
    state = _state(compiled)
    assert state._recordings == 4 and state.replays == 1, (state._recordings, state.replays)


def test_seeding_inside_the_call_replays_where_it_ran():
    generator = ember.Generator()

    def seeded(x):
        ember.manual_seed(7)
        noise = ember.rand(4)
        generator.manual_seed(3)
        return x * noise + ember.rand(4, generator=generator) + ember.rand(4)

    compiled = ember.compile(seeded)
    x = ember.tensor(np.arange(4.0, dtype=np.float32))
    expected = _array(seeded(x))
    for _ in range(3):  # the same numbers every call, as eagerly
        np.testing.assert_array_equal(_array(compiled(x)), expected)
    assert _state(compiled).replays == 2 and _state(compiled).breaks == []


def test_restoring_a_state_taken_inside_the_call_breaks():
    def redrawn(x):
        state = ember.get_rng_state()
        first = ember.rand(4)
        ember.set_rng_state(state)
        return x + (first - ember.rand(4))  # x: the same draw twice

    compiled = ember.compile(redrawn)
    x = ember.tensor(np.arange(4.0, dtype=np.float32))
    for _ in range(3):
        np.testing.assert_array_equal(_array(compiled(x)), _array(x))
    assert any("set_state" in reason for reason, _ in _state(compiled).breaks)


FILLS = {  # a tensor made in the call, then filled in place with what a replay must redo,
    # and the replays that makes: a fill from a value breaks, a random fill draws again
    "fill_from_a_tensor": (lambda x: ember.empty(5).fill_(x[0]) * x, 0),
    "random_fill": (lambda x: ember.empty(5).normal_() + x, 2),
}


@pytest.mark.parametrize("name", list(FILLS))
def test_a_tensor_made_in_the_call_and_filled_from_values_is_no_constant(name):
    function, replays = FILLS[name]
    compiled = ember.compile(function)
    for value in (1.0, 2.0, 3.0):
        x = ember.full((5,), value)
        ember.manual_seed(int(value))  # another seed each call: other random numbers
        want = _array(function(x))
        ember.manual_seed(int(value))
        np.testing.assert_array_equal(_array(compiled(x)), want)
    assert _state(compiled).replays == replays


class _Trainer:
    """A training loop's object: a compiled method reads its model, optimizer and numbers."""

    def __init__(self):
        self.model = nn.Linear(3, 2)
        self.optimizer = ember.optim.SGD(self.model.parameters(), lr=0.1)
        self.scale = 1.0
        self.losses = []  # a log the step does not read

    def step(self, x):
        self.optimizer.zero_grad()
        loss = self.model(x).pow(2).sum() * self.scale
        loss.backward()
        self.optimizer.step()
        return loss


def test_a_compiled_method_of_a_trainer_replays_and_watches_what_it_reads():
    eager, twin = _Trainer(), _Trainer()
    twin.model.load_state_dict(eager.model.state_dict())
    compiled = ember.compile(twin.step)
    x = ember.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    for step in range(5):
        if step == 3:
            eager.scale = twin.scale = 0.5  # read by the step: records again
        twin.losses.append(step)  # not read: no new recording
        np.testing.assert_array_equal(_array(compiled(x)), _array(eager.step(x)))
    np.testing.assert_array_equal(_array(twin.model.weight), _array(eager.model.weight))
    state = _state(compiled)
    assert state._recordings == 2 and state.replays == 3 and state.breaks == []


class _Logging(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.seen = []  # appended to outside the forward, which never reads it

    def forward(self, x):
        return self.linear(x)


def test_a_module_attribute_its_code_never_names_is_no_guard():
    model = _Logging()
    compiled = ember.compile(model)
    for step in range(4):
        model.seen.append(step)
        compiled(ember.ones(2, 3))
    assert _state(compiled)._recordings == 1


class _Child(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.scale = 1.0  # read by the parent's forward, not its own

    def forward(self, x):
        return self.linear(x)


class _Parent(nn.Module):
    def __init__(self):
        super().__init__()
        self.child = _Child()

    def forward(self, x):
        return self.child(x) * self.child.scale


def test_an_attribute_that_another_modules_code_reads_is_guarded():
    model = _Parent()
    compiled = ember.compile(model)
    x = ember.ones(2, 3)
    for scale in (1.0, 1.0, 3.0):
        model.child.scale = scale
        np.testing.assert_array_equal(_array(compiled(x)), _array(model(x)))
    assert _state(compiled)._recordings == 2


DRAWS = {  # x (4,) -> x and random numbers that every call draws afresh
    "randint_and_normal": lambda x: x + ember.randint(0, 100, (4,)) + ember.normal(2.0, 0.5, (4,))
    + ember.randint(5, (4,), dtype=ember.float32),
    # noise made by filling a new tensor in place, and stochastic depth's mask (drop_path)
    "in_place_fills": lambda x: (x + ember.empty_like(x).uniform_(-1, 1)
                                 + x.new_empty(4).normal_(2.0, 0.5))
    * x.new_empty(4).bernoulli_(0.7).div_(0.7),
    "bernoulli_of_probabilities": lambda x: x + ember.bernoulli(ember.sigmoid(x + 0.3))
    + ember.bernoulli(ember.full((4,), 0.5)),
    # draws that read tensors made in the call: sampled tokens, noise about a mean, counts
    "draws_from_tensors": lambda x: x + ember.multinomial(ember.softmax(x + 1, 0), 4, True)
    + ember.multinomial(ember.stack([x + 1, x + 2]), 4).sum(0) + ember.normal(x * 2, 0.5)
    + ember.normal(x, x + 1) + ember.normal(1.0, x + 2) + ember.poisson(x + 3)
    + ember.bernoulli(x, 0.3),
    "in_place_draws": lambda x: x + ember.empty_like(x).exponential_(2.0)
    + ember.empty_like(x).geometric_(0.3) + ember.empty_like(x).cauchy_()
    + ember.empty_like(x).log_normal_() + ember.empty_like(x).random_(0, 10)
    + ember.empty(3, 4).bernoulli_(ember.sigmoid(x)).sum(0),
}


@pytest.mark.parametrize("name", list(DRAWS))
def test_draws_are_made_afresh_on_every_replay_with_eager_numbers(name):
    noisy = DRAWS[name]
    compiled = ember.compile(noisy)
    x = ember.zeros(4)
    ember.manual_seed(3)
    want = [_array(noisy(x)) for _ in range(3)]
    ember.manual_seed(3)
    got = [_array(compiled(x)) for _ in range(3)]
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)
    assert not np.array_equal(got[1], got[2])  # fresh numbers each call
    assert _state(compiled).replays == 2 and _state(compiled).breaks == []


@pytest.mark.parametrize("draw", [
    lambda x: ember.bernoulli(ember.sigmoid(x * 2)),  # a stochastic binary unit
    lambda x: ember.normal(x * 2, 0.5), lambda x: ember.normal(0.5, x * x + 0.1),
    lambda x: ember.normal(x, x * x + 0.1), lambda x: ember.poisson(x * x),
    # a mask from the values: its count of True changes from call to call
    lambda x: x.masked_scatter(x > 0, (x * 2).flip(0)),
])
def test_draws_and_masks_from_values_replay_as_eagerly_with_gradients(draw):
    def sampled(x):  # a draw's own gradient is zero; the product's reaches x
        return (draw(x) * x).sum()

    compiled = ember.compile(sampled)
    rng = np.random.default_rng(9)
    for call in range(3):
        data = rng.standard_normal((2, 3))
        results = []
        for run in (sampled, compiled):
            x = ember.tensor(data, requires_grad=True)
            ember.manual_seed(call)
            out = run(x)
            out.backward()
            results.append((_array(out), _array(x.grad)))
        for got, want in zip(results[1], results[0]):
            np.testing.assert_array_equal(got, want)
    assert _state(compiled).replays == 2 and _state(compiled).breaks == []


@pytest.mark.parametrize("draw, message", [
    (lambda p: ember.multinomial(p * 1, 1), "probability tensor contains"),
    (lambda p: ember.poisson(p * 1), "invalid Poisson rate"),
    (lambda p: ember.normal(0.0, p * 1), "normal expects all elements of std >= 0.0"),
    (lambda p: ember.bernoulli(p * 1), r"\(bernoulli: every probability"),
    (lambda p: ember.zeros(1, 2).bernoulli_(p * 1), r"\(bernoulli_: every probability"),
])
def test_a_replayed_draw_checks_its_tensors_as_eagerly(draw, message):
    compiled = ember.compile(draw)
    good, bad = ember.tensor([[0.2, 0.8]]), ember.tensor([[-0.2, 0.8]])
    compiled(good), compiled(good)
    assert _state(compiled).replays == 1
    with pytest.raises(RuntimeError, match=message):
        draw(bad)
    with pytest.raises(RuntimeError, match=message):
        compiled(bad)
    assert _state(compiled).replays == 2  # the replay raised, as the eager call did


def test_randperm_draws_afresh_on_every_replay_with_eager_numbers():
    def mixed(x):  # mixup's pairing: each row with another, in a new order each call
        order = ember.randperm(x.shape[0])
        return 0.7 * x + 0.3 * x[order] + ember.randperm(4, dtype=ember.float32)

    compiled = ember.compile(mixed)
    x = ember.arange(24.0).reshape(4, 6).T
    ember.manual_seed(5)
    want = [_array(mixed(x[:4])) for _ in range(4)]
    ember.manual_seed(5)
    got = [_array(compiled(x[:4])) for _ in range(4)]
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)
    assert len({g.tobytes() for g in got}) > 1  # fresh numbers each call
    assert _state(compiled).replays == 3 and _state(compiled).breaks == []


class _Averaging(nn.Module):
    """Python assignments in the forward: a new buffer each call, and a counter."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)
        self.register_buffer("average", ember.zeros(3))
        self.calls = 0

    def forward(self, x):
        y = self.linear(x)
        self.average = self.average * 0.9 + y.mean(0).detach() * 0.1
        self.calls += 1
        return y * self.average


def test_an_assignment_to_a_module_inside_the_call_breaks():
    eager, twin = _Averaging(), _Averaging()
    twin.load_state_dict(eager.state_dict())
    compiled = ember.compile(twin)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = ember.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        np.testing.assert_array_equal(_array(compiled(x)), _array(eager(x)))
    np.testing.assert_array_equal(_array(twin.average), _array(eager.average))
    assert twin.calls == eager.calls == 4
    assert any("was assigned or changed inside the compiled call" in reason
               for reason, _ in _state(compiled).breaks)


COUNT = 0


def _counted(x):
    global COUNT
    COUNT += 1  # a global rebound by the call
    return x * COUNT


def test_a_global_rebound_inside_the_call_breaks():
    global COUNT
    COUNT = 0
    compiled = ember.compile(_counted)
    results = [_array(compiled(ember.ones(2)))[0] for _ in range(3)]
    assert results == [1.0, 2.0, 3.0] and COUNT == 3
    assert any("COUNT was assigned" in reason for reason, _ in _state(compiled).breaks)


def _made_global(x):
    global MADE_IN_THE_CALL
    MADE_IN_THE_CALL = x.shape  # a global that did not exist before the call
    return x * 2


def test_a_global_made_inside_the_call_breaks():
    globals().pop("MADE_IN_THE_CALL", None)
    compiled = ember.compile(_made_global)
    for _ in range(3):
        assert _array(compiled(ember.ones(2))).tolist() == [2.0, 2.0]
        del globals()["MADE_IN_THE_CALL"]  # made again by each call, as eagerly
    assert _state(compiled).replays == 0
    assert _state(compiled).breaks[0][0] == (
        "MADE_IN_THE_CALL was assigned or changed inside the compiled call")


def test_a_closure_cell_filled_inside_the_call_breaks():
    def make():
        def step(x):
            nonlocal made
            made = x.shape  # fills a cell that was empty before the call
            return x * 2

        made = None
        del made
        return step

    step = make()
    compiled = ember.compile(step)
    assert _array(compiled(ember.ones(2))).tolist() == [2.0, 2.0]
    assert step.__closure__[0].cell_contents == (2,)
    assert _state(compiled).breaks[0][0] == (
        "the closure variable made was assigned or changed inside the compiled call")


def test_an_attribute_a_method_sets_for_the_first_time_breaks():
    class Trainer:
        def __init__(self):
            self.scale = 3.0

        def step(self, x):
            self.last = x.shape  # an attribute the object did not have
            return x * self.scale

    trainer = Trainer()
    compiled = ember.compile(trainer.step)
    for _ in range(2):
        assert _array(compiled(ember.ones(2))).tolist() == [3.0, 3.0]
        del trainer.last
    assert _state(compiled).replays == 0
    assert _state(compiled).breaks[0][0] == "last was assigned or changed inside the compiled call"


def test_a_closure_variable_the_call_changes_is_named():
    count = [0]

    def step(x):
        count[0] += 1  # a closure variable of plain data, changed in place
        return x * 2

    compiled = ember.compile(step)
    for _ in range(3):
        compiled(ember.ones(2))
    assert count == [3]
    assert _state(compiled).breaks[0][0] == (
        "the closure variable count was assigned or changed inside the compiled call")


LOG = []


def _logged(x):
    y = x * 2
    LOG.append(y)  # a list the call changes
    return y


def test_a_list_the_call_appends_to_breaks():
    LOG.clear()
    compiled = ember.compile(_logged)
    for _ in range(3):
        compiled(ember.ones(2))
    assert len(LOG) == 3
    assert any("LOG was assigned or changed" in reason for reason, _ in _state(compiled).breaks)


STATS = {"calls": 0, "scale": 2.0}


def _counting(x):
    STATS["calls"] += 1  # a dict of plain data the call changes in place, its length kept
    return x * STATS["scale"]


class _Counting(nn.Module):
    def __init__(self):
        super().__init__()
        self.seen = [0]

    def forward(self, x):
        self.seen[0] += 1  # a list the module holds, changed in place
        return x * 2


PROGRESS = types.SimpleNamespace(step=0, scale=2.0, log=None)


def _advancing(x):
    PROGRESS.step += 1  # an attribute of an object a global holds
    PROGRESS.log.append(PROGRESS.step)  # a list an object holds
    return x * PROGRESS.scale


class _CountingTrainer:
    def __init__(self, counting):
        self.model = nn.Linear(2, 1)
        self.optimizer = ember.optim.SGD(self.model.parameters(), lr=0.1)
        self.state = types.SimpleNamespace(seen=0)
        self.counting = counting

    def step(self, x):
        if self.counting:
            self.state.seen += x.shape[0]  # an attribute of an attribute of the object
        self.optimizer.zero_grad()
        loss = self.model(x).sum()
        loss.backward()
        self.optimizer.step()
        return loss


def test_a_change_to_an_object_the_call_reaches_breaks():
    """A replay would skip it; ember's own objects (the optimizer, whose state its
    replayed ``step()`` moves) are not taken for a change."""
    PROGRESS.step, PROGRESS.log = 0, []
    compiled = ember.compile(_advancing)
    for _ in range(3):
        compiled(ember.ones(2))
    assert PROGRESS.step == 3 and PROGRESS.log == [1, 2, 3]
    assert "PROGRESS was assigned or changed" in _state(compiled).breaks[0][0]
    trainer = _CountingTrainer(counting=True)
    compiled = ember.compile(trainer.step)
    for _ in range(3):
        compiled(ember.ones(4, 2))
    assert trainer.state.seen == 12
    assert "state was assigned or changed" in _state(compiled).breaks[0][0]
    compiled = ember.compile(_CountingTrainer(counting=False).step)  # no count: it replays
    for _ in range(3):
        compiled(ember.ones(4, 2))
    assert _state(compiled).breaks == [] and _state(compiled).replays == 2


def test_plain_data_the_call_changes_in_place_breaks():
    STATS["calls"] = 0
    compiled = ember.compile(_counting)
    for _ in range(4):
        np.testing.assert_array_equal(_array(compiled(ember.ones(2))), [2.0, 2.0])
    assert STATS["calls"] == 4
    assert any("STATS was assigned or changed" in reason
               for reason, _ in _state(compiled).breaks)
    module = _Counting()
    compiled = ember.compile(module)
    for _ in range(3):
        compiled(ember.ones(2))
    assert module.seen == [3]
    assert any("_Counting.seen was assigned or changed" in reason
               for reason, _ in _state(compiled).breaks)


def _held_by_a_list():
    holder = [types.SimpleNamespace(n=0)]

    def step(x):
        holder[0].n += 1
        return x * 2

    return step, lambda: holder[0].n


def _held_by_a_dict():
    holder = {"state": types.SimpleNamespace(n=0)}

    def step(x):
        holder["state"].n += 1
        return x * 2

    return step, lambda: holder["state"].n


def _list_in_a_tuple():
    holder = ([0],)

    def step(x):
        holder[0][0] += 1
        return x * 2

    return step, lambda: holder[0][0]


def _deque():
    recent = collections.deque(maxlen=3)

    def step(x):
        recent.append(len(recent))
        return x * 2

    return step, lambda: list(recent)


def _optimizer_attribute():
    model = nn.Linear(2, 1)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    optimizer.steps = 0

    def step(x):
        optimizer.zero_grad()
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
        optimizer.steps += 1  # a user's attribute on one of ember's objects
        return loss

    return step, lambda: (optimizer.steps, _array(model.weight).tolist())


def _learning_rate_decay():
    model = nn.Linear(2, 1)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        optimizer.zero_grad()
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
        for group in optimizer.param_groups:  # a decay written out in the step
            group["lr"] *= 0.5
        return loss

    return step, lambda: (optimizer.param_groups[0]["lr"], _array(model.weight).tolist())


def _tensor_attribute():
    model = nn.Linear(2, 1)
    model.weight.uses = 0

    def step(x):
        model.weight.uses += 1
        return model(x)

    return step, lambda: model.weight.uses


def _dataset_attribute():
    class Epochs(ember.utils.data.Dataset):
        def __init__(self):
            self.epoch = 0

    dataset = Epochs()

    def step(x):
        dataset.epoch += 1  # an attribute of a class derived from one of ember's
        return x * 2

    return step, lambda: dataset.epoch


def _numpy_array():
    counts = np.zeros(2)

    def step(x):
        counts[0] += 1
        return x * 2

    return step, lambda: counts.tolist()


def _list_iterator():
    scales = iter([1.0, 2.0, 3.0, 4.0, 5.0])

    def step(x):
        return x * next(scales)

    return step, lambda: next(scales)


def _counter():
    counter = itertools.count()

    def step(x):
        return x * next(counter)

    return step, lambda: next(counter)


def _generator():
    def scales():
        scale = 1.0
        while True:
            yield scale
            scale *= 2

    stream = scales()

    def step(x):
        return x * next(stream)

    return step, lambda: next(stream)


def _class_attribute():
    class Counter:
        total = 0

    def step(x):
        Counter.total += 1
        return x * 2

    return step, lambda: Counter.total


def _function_attribute():
    def count():
        count.calls += 1

    count.calls = 0

    def step(x):
        count()
        return x * 2

    return step, lambda: count.calls


def _printed():
    out = io.StringIO()

    def step(x):
        print("step", file=out)
        return x * 2

    return step, lambda: out.getvalue()


@pytest.mark.parametrize("make", [
    _held_by_a_list, _held_by_a_dict, _list_in_a_tuple, _deque, _optimizer_attribute,
    _learning_rate_decay, _tensor_attribute, _dataset_attribute, _numpy_array,
    _list_iterator, _counter, _generator, _class_attribute, _function_attribute, _printed,
])
def test_a_change_to_what_the_call_reaches_breaks_wherever_it_is_held(make):
    """Each of these changes Python state that a replay would leave alone; the recording
    sees it, so every call runs eagerly and ends where eager calls end."""
    ends, results = [], []
    for compile in (False, True):
        ember.manual_seed(0)
        step, state = make()
        function = ember.compile(step) if compile else step
        results.append([_array(function(ember.ones(3, 2))) for _ in range(4)])
        ends.append(state())
    assert ends[1] == ends[0]
    for compiled, eager in zip(*reversed(results)):
        np.testing.assert_array_equal(compiled, eager)
    reasons = [reason for reason, _ in _state(function).breaks]
    # recorded twice (a first call's setup would have settled by the second), then eager
    assert len(reasons) == _state(function)._recordings == 2
    assert _state(function).replays == 0
    assert all("changed inside the compiled call" in reason or "position" in reason
               for reason in reasons)


class _MaskedOnFirstCall(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.mask = None

    def forward(self, x):
        if self.mask is None:  # built on the first call, as scripts cache a causal mask
            self.mask = ember.triu(ember.ones(4, 4, dtype=ember.bool), diagonal=1)
        return self.linear(x).masked_fill(self.mask, 0.0)


def test_a_first_calls_setup_records_again_and_then_replays():
    """A recording that broke only on a change to Python state records once more on the
    next call with that key; where the change was the first call's own setup, that one
    replays."""
    ember.manual_seed(0)
    eager = _MaskedOnFirstCall()
    ember.manual_seed(0)
    compiled = ember.compile(_MaskedOnFirstCall())
    x = ember.randn(2, 4, 4, generator=ember.Generator().manual_seed(1))
    for _ in range(4):
        np.testing.assert_array_equal(_array(compiled(x)), _array(eager(x)))
    state = _state(compiled)
    assert "_MaskedOnFirstCall.mask was assigned" in state.breaks[0][0]
    assert len(state.breaks) == 1 and state._recordings == 2 and state.replays == 2


def _doubling():
    scale = 1.0
    while True:
        yield scale
        scale *= 2


@pytest.mark.parametrize("make", [lambda: iter([1.0, 2.0]), itertools.count,
                                  lambda: zip([1], [2]), _doubling])
def test_an_iterator_the_call_reaches_but_does_not_advance_replays(make):
    """What ``__reduce__`` returns is made anew for each reading: its tuples are compared
    by what they hold, not by identity."""
    stream = make()

    def scaled(x):
        return x * 2 if stream is not None else x

    compiled = ember.compile(scaled)
    for _ in range(3):
        compiled(ember.ones(2))
    assert _state(compiled).breaks == [] and _state(compiled).replays == 2


def test_an_argument_the_call_changes_breaks():
    """An object passed in is part of the key by identity; what the call does to it is
    read as a global's is."""
    settings = types.SimpleNamespace(calls=0, scale=lambda x: x * 2)  # not plain data

    def counted(x, settings):
        settings.calls += 1
        return settings.scale(x)

    compiled = ember.compile(counted)
    for _ in range(3):
        compiled(ember.ones(2), settings)
    assert settings.calls == 3
    assert "argument 1 was assigned or changed" in _state(compiled).breaks[0][0]


def test_what_a_call_replayed_whole_changes_is_no_break():
    """A scheduler's ``step()`` sets the learning rate and the optimizer's step its state:
    a replay runs both again, so the recording reads the state anew after each."""
    runs = []
    for compile in (False, True):
        ember.manual_seed(0)
        model = nn.Linear(2, 1)
        optimizer = ember.optim.Adam(model.parameters(), lr=0.1)
        scheduler = ember.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5)

        def step(x):
            optimizer.zero_grad()
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
            scheduler.step()
            return loss

        function = ember.compile(step) if compile else step
        losses = [_array(function(ember.ones(3, 2))) for _ in range(4)]
        runs.append((losses, _array(model.weight), optimizer.param_groups[0]["lr"],
                     scheduler.last_epoch))
    (eager_losses, eager_weight, *eager_rest), (losses, weight, *rest) = runs
    np.testing.assert_array_equal(losses, eager_losses)
    np.testing.assert_array_equal(weight, eager_weight)
    assert rest == eager_rest
    assert _state(function).breaks == [] and _state(function).replays == 3


# ---------------------------------------------------------------- draws outside ember


def _flipped_at_random(x):
    if random.random() < 0.5:  # augmentation on Python's random module
        x = x.flip(0)
    return x * 2


RNG = None  # a generator the function names as a global; each run seeds a new one


def _shifted_by_a_generator(x):
    return x + float(RNG.normal())


def _scaled_by_numpy_global(x):
    return x * np.random.rand()


class _Jitter(nn.Module):
    def __init__(self):
        super().__init__()
        self.stream = random.Random(0)

    def forward(self, x):
        return x * self.stream.uniform(0.5, 1.5)


@pytest.mark.parametrize("function, label", [
    (_flipped_at_random, "Python's random module"),
    (_shifted_by_a_generator, "RNG"),
    (_scaled_by_numpy_global, "numpy.random's global generator"),
])
def test_a_draw_from_a_random_stream_outside_ember_breaks(function, label):
    """Each call gives eager's numbers: a replay would repeat the recording's draw."""
    global RNG
    x = ember.arange(6.0)

    def run(step):
        global RNG
        random.seed(1)
        np.random.seed(1)
        RNG = np.random.default_rng(1)
        return [step(x).tolist() for _ in range(8)]

    eager = run(function)
    compiled = ember.compile(function)
    assert run(compiled) == eager
    assert len({tuple(values) for values in eager}) > 1  # the draws differ from call to call
    reasons = [reason for reason, _ in _state(compiled).breaks]
    assert reasons and f"the call drew from {label}" in reasons[0]
    with pytest.raises(Unsupported, match=f"drew from {re.escape(label)}"):
        ember.compile(function, fullgraph=True)(x)


class _FirstOfTwo(nn.Module):
    """Two layers of one class, each with its own generator; only the first draws."""

    def __init__(self):
        super().__init__()
        self.first, self.second = _Jitter(), _Jitter()

    def forward(self, x):
        return self.first(x)


@pytest.mark.parametrize("make", [_Jitter, _FirstOfTwo])
def test_a_draw_from_a_generator_a_module_holds_breaks(make):
    eager, twin = make(), make()
    compiled = ember.compile(twin)
    x = ember.ones(3)
    values = [(compiled(x).tolist(), eager(x).tolist()) for _ in range(4)]
    assert all(mine == theirs for mine, theirs in values)
    assert len({tuple(theirs) for _, theirs in values}) == 4
    assert "the call drew from _Jitter.stream" in _state(compiled).breaks[0][0]
