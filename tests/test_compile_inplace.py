"""``ember.compile`` and in-place changes inside the call that eager ember writes back into
the graph: through a view of an intermediate (``h[:, 0] += 1``, ``h[0].mul_(y)``,
``narrow(...).zero_()``), which makes the base an ``index_put`` of its old value, and to a
tensor made in the call (``buf = zeros(...); buf[:, :4] = x``), which the program copies
before it writes. A replay gives eager's numbers, bit for bit; a tensor over the memory
written that no slot holds the value of any more breaks the graph where it is read."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.test_compile_functions import (
    _array,
    _gradients_of_sum,
    _replays_as_eagerly,
    _second_order,
    _state,
)


def _through_a_view(x, y):
    h = x * y
    h[:, 0] += 1
    return h * x


def _a_row_scaled_by_a_tensor(x, y):
    h = x + y
    h[1].mul_(y[0])  # the gradient reaches y through the write
    return h.sin()


def _a_narrowed_block_zeroed(x, y):
    h = x * y
    h.narrow(1, 0, 2).zero_()
    return h.pow(2)


def _columns_filled(x, y):
    h = x + y
    h[:, 1:].fill_(3.0)
    return h * x


def _a_reshaped_view_written(x, y):
    h = (x * y).view(2, 3, 2)
    h[0] *= 2
    h[:, :, 1] -= y.reshape(2, 3, 2)[:, :, 0]
    return h.reshape(3, 4)


def _a_view_met_before_the_write(x, y):
    h = x * y
    before = h[:, 0]  # requires grad: eager takes its new place in the graph when it is used
    h[:, :2] += 1
    return h * 2 + before.unsqueeze(1)


def _the_base_written_after_its_view(x, y):
    h = x * y
    t = h[:, 1]
    t += 1
    h.mul_(x)  # a plain write after the view's: t reads the new base again
    return h + t.unsqueeze(1) * 3


def _a_buffer_made_in_the_call(x, y):
    buffer = ember.zeros(3, 8, dtype=ember.float64)
    buffer[:, :4] = x
    buffer[:, 4:] = y.exp()
    return buffer.cumsum(1)


def _a_buffer_filled_step_by_step(x, y):
    outputs = ember.zeros(4, 3, dtype=ember.float64)
    state = y[:, 0]
    for t in range(4):
        state = (state * x[:, t]).tanh()
        outputs[t] = state
    return outputs


def _a_buffer_written_through_views(x, y):
    buffer = ember.zeros(3, 8, dtype=ember.float64)
    buffer.narrow(1, 0, 4).copy_(x)
    buffer[:, 4:].add_(y)
    return buffer * buffer


WRITES = {
    "through_a_view": _through_a_view,
    "a_row_scaled_by_a_tensor": _a_row_scaled_by_a_tensor,
    "a_narrowed_block_zeroed": _a_narrowed_block_zeroed,
    "columns_filled": _columns_filled,
    "a_reshaped_view_written": _a_reshaped_view_written,
    "a_view_met_before_the_write": _a_view_met_before_the_write,
    "the_base_written_after_its_view": _the_base_written_after_its_view,
    "a_buffer_made_in_the_call": _a_buffer_made_in_the_call,
    "a_buffer_filled_step_by_step": _a_buffer_filled_step_by_step,
    "a_buffer_written_through_views": _a_buffer_written_through_views,
}


@pytest.mark.parametrize("name", list(WRITES))
def test_an_in_place_change_replays_with_eager_values_and_gradients(name):
    _replays_as_eagerly(WRITES[name], [(3, 4), (3, 4)], _gradients_of_sum, seed=len(name))


@pytest.mark.parametrize("name", ["through_a_view", "a_row_scaled_by_a_tensor",
                                  "a_buffer_made_in_the_call"])
def test_double_backward_through_an_in_place_change_replays_as_eagerly(name):
    function = WRITES[name]
    _replays_as_eagerly(lambda x: function(x, x * 0.5 + 1), [(3, 4)], _second_order, seed=3)


def test_a_write_through_a_view_compiles_under_fullgraph():
    compiled = ember.compile(_through_a_view, fullgraph=True)
    x, y = ember.ones(3, 4, requires_grad=True), ember.ones(3, 4)
    for _ in range(2):
        out = compiled(x, y)
    assert _state(compiled).replays == 1
    np.testing.assert_array_equal(_array(out), _array(_through_a_view(x, y)))


def _views_written_without_grad(x, y):
    h = x @ y.T
    h[:, 0] += 1  # eager writes the memory, as the program writes its own array
    h[1:].mul_(2)
    v = h[:, :2]
    v.sub_(y[:, :2].sum(1, keepdim=True))
    return h.relu() + v.sum()


@pytest.mark.parametrize("no_grad", [True, False], ids=["no_grad", "no_tensor_requires_grad"])
def test_writes_through_views_without_a_gradient_replay_as_eagerly(no_grad):
    compiled = ember.compile(_views_written_without_grad)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x, y = (ember.tensor(rng.standard_normal((3, 4)).astype(np.float32)) for _ in range(2))
        with ember.set_grad_enabled(not no_grad):
            want, got = _views_written_without_grad(x, y), compiled(x, y)
        np.testing.assert_array_equal(_array(got), _array(want))
    assert _state(compiled).breaks == [] and _state(compiled).replays == 2


def _a_view_of_an_argument_written(x, y):
    x[:, 0] += 1
    return x * y


def test_a_write_through_a_view_of_an_argument_runs_eagerly():
    compiled = ember.compile(_a_view_of_an_argument_written)
    for _ in range(2):
        x, y = ember.ones(3, 4), ember.ones(3, 4)
        with ember.no_grad():
            out = compiled(x, y)
        np.testing.assert_array_equal(_array(out), np.full((3, 4), 1.0, np.float32) * [2, 1, 1, 1])
        np.testing.assert_array_equal(_array(x[:, 0]), [2.0, 2.0, 2.0])
    assert _state(compiled).replays == 0
    assert any("a view of an argument" in reason for reason, _ in _state(compiled).breaks)


def _a_stale_view_read_without_grad(x, y):
    h = x * y
    before = h[:, 0]
    h[:, :2] += 1
    with ember.no_grad():  # eager reads the memory as it is now, and no slot holds that
        seen = before * 1
    return h + seen.unsqueeze(1)


def _a_view_of_a_buffer_read_after_the_buffer_is_written(x, y):
    buffer = ember.zeros(3, 4, dtype=ember.float64)
    row = buffer[0]  # a constant view, until the buffer is written
    buffer[0] = x[0]
    return x * row


@pytest.mark.parametrize("function", [_a_stale_view_read_without_grad,
                                      _a_view_of_a_buffer_read_after_the_buffer_is_written])
def test_a_tensor_over_memory_written_in_place_breaks_where_it_is_read(function):
    compiled = ember.compile(function)
    rng = np.random.default_rng(0)
    for _ in range(2):
        x, y = (ember.tensor(rng.standard_normal((3, 4)), requires_grad=True) for _ in range(2))
        np.testing.assert_array_equal(_array(compiled(x, y)), _array(function(x, y)))
    breaks = _state(compiled).breaks
    assert _state(compiled).replays == 0
    assert any("a view read after an in-place change to its memory" in reason
               for reason, _ in breaks), breaks


def _a_view_of_a_saved_value_written(x, y):
    h = (x * y).relu()  # relu saves its result for backward
    h[:, 0] += 1
    return h


def test_a_write_through_a_view_of_a_value_saved_for_backward_breaks():
    compiled = ember.compile(_a_view_of_a_saved_value_written)
    x, y = ember.ones(3, 4, requires_grad=True), ember.ones(3, 4)
    out = compiled(x, y)
    assert any("through a view of a value that was saved for backward" in reason
               for reason, _ in _state(compiled).breaks), _state(compiled).breaks
    np.testing.assert_array_equal(_array(out), _array(_a_view_of_a_saved_value_written(x, y)))


def _a_base_written_while_a_view_of_it_is_saved(x, y):
    h = x * 1
    z = h[:, 1] * y[:, 1]  # Mul saves the view
    h.add_(1)  # eager's backward then raises: the view's version moved
    return z.sum() + h.sum()


def test_a_write_to_a_base_whose_view_was_saved_runs_eagerly_and_raises_as_eager():
    compiled = ember.compile(_a_base_written_while_a_view_of_it_is_saved)
    for _ in range(2):  # a replay would give a gradient from the written values instead
        x, y = ember.ones(3, 4, requires_grad=True), ember.ones(3, 4)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            compiled(x, y).backward()
    assert _state(compiled).replays == 0


def _a_copy_of_a_rewritten_transposed_view_written(x, y):
    h = (x * y).T
    h[0] += 1  # h now reads a gather: C-contiguous in the program, transposed in eager
    flat = h.reshape(-1)  # so eager copies here, where the program would take a view
    flat[:3] = 0
    return h + 1


def _a_copy_of_a_transposed_buffer_written(x, y):
    buffer = ember.zeros(4, 3, dtype=ember.float64).T
    buffer[0] = x[0]
    flat = buffer.reshape(-1)
    flat[0] = 5
    return buffer * y


def _a_copy_of_a_product_of_a_rewritten_transposed_view_written(x, y):
    h = (x * y).T
    h[0] += 1
    z = h * 2  # laid out as h is: transposed in eager, C-contiguous in the program
    flat = z.reshape(-1)
    flat[:3] = 0
    return z


@pytest.mark.parametrize("function", [_a_copy_of_a_rewritten_transposed_view_written,
                                      _a_copy_of_a_transposed_buffer_written,
                                      _a_copy_of_a_product_of_a_rewritten_transposed_view_written])
def test_a_copy_that_the_program_could_make_a_view_of_runs_eagerly(function):
    compiled = ember.compile(function)
    rng = np.random.default_rng(4)
    for _ in range(2):
        data = [rng.standard_normal((3, 4)) for _ in range(2)]
        want, got = (function(*[ember.tensor(a, requires_grad=True) for a in data]),
                     compiled(*[ember.tensor(a, requires_grad=True) for a in data]))
        np.testing.assert_array_equal(_array(got), _array(want))
    assert _state(compiled).replays == 0
    assert any("in another memory layout than eager" in reason
               for reason, _ in _state(compiled).breaks), _state(compiled).breaks


class _WritesItsBuffer(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("memory", ember.zeros(2, 4, dtype=ember.float64))

    def forward(self, x):
        self.memory[0].copy_(x.sum(0))  # through a view, with a gradient
        return self.memory * x[:2]


def test_a_write_through_a_view_of_a_buffer_with_a_gradient_runs_eagerly():
    eager, twin = _WritesItsBuffer(), _WritesItsBuffer()
    compiled = ember.compile(twin)
    rng = np.random.default_rng(6)
    for _ in range(2):
        data = rng.standard_normal((3, 4))
        want = eager(ember.tensor(data, requires_grad=True))
        got = compiled(ember.tensor(data, requires_grad=True))
        np.testing.assert_array_equal(_array(got), _array(want))
    assert _state(compiled).replays == 0
    assert any("through a view of an input, a parameter or a buffer" in reason
               for reason, _ in _state(compiled).breaks), _state(compiled).breaks
