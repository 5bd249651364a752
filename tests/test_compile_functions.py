"""``ember.compile`` and custom ``autograd.Function``s: a replay runs the ops of the
Function's forward as recorded and its own ``backward`` on a ctx made anew, with eager's
numbers; what its forward reads is guarded. Also the in-place writes under ``no_grad``,
whose target keeps its graph, and the static and class methods of a model's class.

The Functions whose replay could not be eager's (a ctx that keeps a tensor, ``mark_dirty``,
an input returned as it is, a graph inside the forward) break the graph:
``tests/test_compile_behaviour.py``'s table of breaks has them."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.autograd.function import once_differentiable


def _state(compiled):
    return compiled.__dict__["_compiled"] if "_compiled" in compiled.__dict__ else compiled


def _array(tensor):
    return tensor.detach().numpy().copy()


def _replays_as_eagerly(function, shapes, measure, seed):
    """Three calls of ``function`` and of its compiled form on the same random arguments
    (float64, of ``shapes``, requiring grad): what ``measure(out, *arguments)`` returns
    (arrays) is equal, bit for bit. The compiled form replays its one recording."""
    compiled = ember.compile(function)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        data = [rng.standard_normal(shape) for shape in shapes]
        results = []
        for run in (function, compiled):
            arguments = [ember.tensor(array, requires_grad=True) for array in data]
            results.append(measure(run(*arguments), *arguments))
        for got, want in zip(results[1], results[0]):
            np.testing.assert_array_equal(got, want)
    assert _state(compiled).breaks == [] and _state(compiled).replays == 2


def _gradients_of_sum(out, *arguments):
    out.sum().backward()
    return [_array(out)] + [_array(a.grad) for a in arguments]


def _second_order(out, x):
    (gx,) = ember.autograd.grad(out.sum(), x, create_graph=True)
    (gxx,) = ember.autograd.grad((gx * gx).sum(), x)
    return _array(gx), _array(gxx)


class _Square(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class _ClampScale(ember.autograd.Function):
    """Two outputs, a number and a tensor argument, a ctx attribute, and what it saves: an
    intermediate, an output and an argument."""

    @staticmethod
    def forward(ctx, x, low, scale):
        ctx.low = low
        inside = (x > low).to(x.dtype)
        y = x.clamp(min=low) * scale
        ctx.save_for_backward(inside, y, scale)
        return y, y * y

    @staticmethod
    def backward(ctx, grad_y, grad_square):
        inside, y, scale = ctx.saved_tensors
        total = grad_y + 2 * y * grad_square
        return total * inside * scale, None, (total * y / scale).sum()


class _StraightThrough(ember.autograd.Function):
    """Rounds forward, passes the gradient straight through; the backward gets None for
    an output with no gradient (``set_materialize_grads(False)``)."""

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x.round(), x.floor()

    @staticmethod
    def backward(ctx, grad_round, grad_floor):
        if grad_floor is None:
            return grad_round * 1.0
        return grad_round + grad_floor


class _CopiesInput(ember.autograd.Function):
    """Copies its input in place into a tensor of its own (under no_grad, as every forward)."""

    @staticmethod
    def forward(ctx, x):
        out = x * 0
        out.copy_(x)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * 3


class _TopValues(ember.autograd.Function):
    """``setup_context``'s form, an output marked non-differentiable (the indices), and a
    ``once_differentiable`` backward that reads ``needs_input_grad`` and a shape."""

    @staticmethod
    def forward(x, k):
        values, indices = x.sort(dim=-1, descending=True)
        return values[..., :k], indices[..., :k]

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, _ = inputs
        _, indices = output
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.shape = x.shape

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_values, grad_indices):
        (indices,) = ctx.saved_tensors
        grad = ember.zeros(ctx.shape, dtype=grad_values.dtype)
        grad.scatter_(-1, indices, grad_values)
        return (grad if ctx.needs_input_grad[0] else None), None


def test_a_custom_function_in_setup_context_form_with_a_non_differentiable_output_replays():
    def function(x, w):
        values, indices = _TopValues.apply(x * w, 3)
        return (values * values).sum() + indices.float().sum()

    _replays_as_eagerly(function, [(4, 6), (6,)], _gradients_of_sum, seed=5)


class _Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.scale = nn.Parameter(ember.tensor(1.5))

    def forward(self, x):
        y, square = _ClampScale.apply(self.linear(x), -0.25, self.scale)
        rounded, _ = _StraightThrough.apply(y * 4)
        return _Square.apply(rounded / 4) + square + _CopiesInput.apply(x).sum(-1, keepdim=True)


def _gradients(model, x):
    return [_array(x.grad)] + [_array(p.grad) for p in model.parameters()]


def test_custom_functions_replay_with_their_own_backward_and_eager_numbers():
    ember.manual_seed(0)
    eager = _Layer()
    compiled_model = _Layer()
    compiled_model.load_state_dict(eager.state_dict())
    compiled = ember.compile(compiled_model)
    rng = np.random.default_rng(0)
    for _ in range(3):
        data = rng.standard_normal((5, 4)).astype(np.float32)
        cotangent = ember.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        results = []
        for model, run in ((eager, eager), (compiled_model, compiled)):
            model.zero_grad()
            x = ember.tensor(data, requires_grad=True)
            out = run(x)
            (out * cotangent).sum().backward()
            results.append([_array(out)] + _gradients(model, x))
        for got, want in zip(results[1], results[0]):
            np.testing.assert_array_equal(got, want)
    state = _state(compiled)
    assert state.breaks == [] and state.replays == 2 and state._recordings == 1
    code = compiled.code
    for name in ("_ClampScale", "_StraightThrough", "_Square", "_CopiesInput"):
        assert f"{name}, a custom autograd.Function" in code
    assert code.count("function_backward(") == 4


def test_a_training_step_through_a_custom_function_replays_with_eager_parameters():
    def make():
        ember.manual_seed(1)
        model = _Layer()
        return model, ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def train(compiled):
        model, optimizer = make()

        def step(x, target):
            optimizer.zero_grad()
            loss = ((model(x) - target) ** 2).mean()
            loss.backward()
            optimizer.step()
            return loss

        run = ember.compile(step) if compiled else step
        rng = np.random.default_rng(2)
        losses = [run(ember.tensor(rng.standard_normal((6, 4)).astype(np.float32)),
                      ember.tensor(rng.standard_normal((6, 4)).astype(np.float32))).item()
                  for _ in range(5)]
        return losses, [_array(p) for p in model.parameters()], run

    eager, compiled = train(False), train(True)
    assert compiled[0] == eager[0]
    for got, want in zip(compiled[1], eager[1]):
        np.testing.assert_array_equal(got, want)
    assert compiled[2].breaks == [] and compiled[2].replays == 4


FACTOR = 2.0


class _TimesFactor(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * FACTOR

    @staticmethod
    def backward(ctx, grad):
        return grad * FACTOR


def test_what_a_custom_functions_forward_reads_is_guarded(monkeypatch):
    compiled = ember.compile(lambda x: _TimesFactor.apply(x) + 1)
    x = ember.tensor([0.0, 1.0, 2.0], requires_grad=True)
    for factor in (2.0, 2.0, 3.0, 3.0):
        monkeypatch.setitem(globals(), "FACTOR", factor)
        x.grad = None
        out = compiled(x)
        out.sum().backward()
        assert out.tolist() == [1.0, 1.0 + factor, 1.0 + 2 * factor]
        assert x.grad.tolist() == [factor] * 3
    assert _state(compiled)._recordings == 2 and _state(compiled).replays == 2


class _Holder(nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function  # a Function a layer holds, which no code of it names

    def forward(self, x):
        return self.function.apply(x)


def test_what_a_custom_function_held_by_a_layer_reads_is_guarded(monkeypatch):
    compiled = ember.compile(_Holder(_TimesFactor))
    x = ember.tensor([1.0, 2.0])
    for factor in (2.0, 2.0, 5.0):
        monkeypatch.setitem(globals(), "FACTOR", factor)
        assert compiled(x).tolist() == [factor, 2 * factor]
    assert _state(compiled)._recordings == 2


def test_double_backward_through_a_replayed_custom_function_keeps_the_second_order_term():
    _replays_as_eagerly(lambda x: _Square.apply(x.tanh()) * x, [(6,)], _second_order, seed=3)


def test_a_custom_function_without_gradients_replays_its_forward():
    compiled = ember.compile(lambda x: _Square.apply(x) * 2)
    for value in (1.0, 2.0, 3.0):
        assert compiled(ember.tensor([value, -value])).tolist() == [2 * value ** 2] * 2
    assert _state(compiled).breaks == [] and _state(compiled).replays == 2


def test_a_custom_function_with_keyword_arguments_breaks():
    class Scaled(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale=1.0):
            ctx.scale = scale
            return x * scale

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.scale

    compiled = ember.compile(lambda x: Scaled.apply(x, scale=3.0))
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        assert compiled(x).tolist() == [3.0, 6.0]
    assert any("keyword arguments" in reason for reason, _ in _state(compiled).breaks)
    assert _state(compiled).replays == 0


# ---------------------------------------------------------------- writes under no_grad


@pytest.mark.parametrize("measure", [_gradients_of_sum, _second_order])
def test_a_write_under_no_grad_leaves_the_targets_graph_as_eagerly(measure):
    def function(x):
        y = x * 2
        with ember.no_grad():
            y.add_(1)
        return y * y

    _replays_as_eagerly(function, [(3,)], measure, seed=4)


def test_double_backward_through_a_region_takes_no_gradient_through_a_detached_value():
    def function(x):
        y = x * 2
        return y * y.detach()

    _replays_as_eagerly(function, [(3,)], _second_order, seed=6)


# ---------------------------------------------------------------- methods of a model's class


class _WithHelpers(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)

    @staticmethod
    def activate(x):
        return x.relu()

    @classmethod
    def double(cls, x):
        return x * 2

    def forward(self, x):
        return self.double(self.activate(self.linear(x)))


def test_static_and_class_methods_of_a_models_class_let_it_replay():
    compiled = ember.compile(_WithHelpers())
    for _ in range(4):
        compiled(ember.ones(2, 3))
    assert _state(compiled).replays == 3 and _state(compiled)._recordings == 1

