"""RNN, LSTM, GRU and their cells against PyTorch: outputs, final states and gradients."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer

SEQUENCE, BATCH, INPUT, HIDDEN = 4, 3, 3, 4
LAYERS = {
    "RNN": lambda lib, **kw: lib.nn.RNN(INPUT, HIDDEN, **kw),
    "RNN_relu": lambda lib, **kw: lib.nn.RNN(INPUT, HIDDEN, nonlinearity="relu", **kw),
    "LSTM": lambda lib, **kw: lib.nn.LSTM(INPUT, HIDDEN, **kw),
    "GRU": lambda lib, **kw: lib.nn.GRU(INPUT, HIDDEN, **kw),
}
CONFIGS = {
    "default": {},
    "two_layers": {"num_layers": 2},
    "bidirectional": {"bidirectional": True},
    "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first": {"batch_first": True},
    "no_bias": {"bias": False},
    "eval_dropout": {"num_layers": 2, "dropout": 0.5},
}


def _library(module):
    return torch if isinstance(module, torch.nn.Module) else ember


def _states(rng, name, config, batch=(BATCH,), hidden=HIDDEN):
    count = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    shapes = [(count, *batch, hidden)]
    if name == "LSTM":
        shapes.append((count, *batch, HIDDEN))
    return [rng.standard_normal(shape) for shape in shapes]


def _call_with_state(module, input, *states):
    return module(input, tuple(states) if len(states) == 2 else states[0])


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("initial", [False, True], ids=["zero_state", "initial_state"])
def test_layer_matches_torch(name, config, initial):
    rng = np.random.default_rng(0)
    options = CONFIGS[config]
    shape = (BATCH, SEQUENCE, INPUT) if options.get("batch_first") else (SEQUENCE, BATCH, INPUT)
    inputs = [rng.standard_normal(shape)]
    call = None
    if initial:
        inputs += _states(rng, name, options)
        call = _call_with_state
    check_layer(lambda lib: LAYERS[name](lib, **options), inputs, call=call,
                train=config != "eval_dropout")


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("initial", [False, True], ids=["zero_state", "initial_state"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one_way", "two_way"])
def test_unbatched_layer_matches_torch(name, initial, bidirectional):
    rng = np.random.default_rng(1)
    options = {"num_layers": 2, "bidirectional": bidirectional}
    inputs = [rng.standard_normal((SEQUENCE, INPUT))]
    call = None
    if initial:
        inputs += _states(rng, name, options, batch=())
        call = _call_with_state
    check_layer(lambda lib: LAYERS[name](lib, **options), inputs, call=call)


@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True},
                                     {"bias": False, "batch_first": True}])
def test_lstm_projection_matches_torch(options):
    rng = np.random.default_rng(2)

    def make(lib):
        return lib.nn.LSTM(INPUT, HIDDEN, proj_size=2, **options)

    shape = (BATCH, SEQUENCE, INPUT) if options.get("batch_first") else (SEQUENCE, BATCH, INPUT)
    check_layer(make, [rng.standard_normal(shape)])
    states = _states(rng, "LSTM", options, hidden=2)
    check_layer(make, [rng.standard_normal(shape), *states], call=_call_with_state)


CELLS = {
    "RNNCell": lambda lib, **kw: lib.nn.RNNCell(INPUT, HIDDEN, **kw),
    "RNNCell_relu": lambda lib, **kw: lib.nn.RNNCell(INPUT, HIDDEN, nonlinearity="relu", **kw),
    "LSTMCell": lambda lib, **kw: lib.nn.LSTMCell(INPUT, HIDDEN, **kw),
    "GRUCell": lambda lib, **kw: lib.nn.GRUCell(INPUT, HIDDEN, **kw),
}


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("batch", [(BATCH,), ()], ids=["batched", "unbatched"])
@pytest.mark.parametrize("initial", [False, True], ids=["zero_state", "initial_state"])
def test_cell_matches_torch(name, bias, batch, initial):
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((*batch, INPUT))]
    call = None
    if initial:
        count = 2 if name == "LSTMCell" else 1
        inputs += [rng.standard_normal((*batch, HIDDEN)) for _ in range(count)]
        call = _call_with_state
    check_layer(lambda lib: CELLS[name](lib, bias=bias), inputs, call=call)


def test_cell_unrolled_over_time_matches_torch():
    rng = np.random.default_rng(4)

    def unroll(module, input):
        state = None
        outputs = []
        for step in input:
            state = module(step, state)
            outputs.append(state[0])
        return outputs, state

    check_layer(lambda lib: lib.nn.LSTMCell(INPUT, HIDDEN), [rng.standard_normal((3, 2, INPUT))],
                call=unroll)


# ---------------------------------------------------------------- packed sequences


def _packed_call(lengths, enforce_sorted=False, batch_first=False):
    def call(module, input, *states):
        utils = _library(module).nn.utils.rnn
        packed = utils.pack_padded_sequence(input, lengths, batch_first=batch_first,
                                            enforce_sorted=enforce_sorted)
        output, final = _call_with_state(module, packed, *states) if states else module(packed)
        assert isinstance(output, utils.PackedSequence)
        padded, output_lengths = utils.pad_packed_sequence(output, batch_first=batch_first)
        assert output_lengths.tolist() == list(lengths)
        return padded, final, output.data

    return call


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True},
                                     {"batch_first": True, "bias": False}],
                         ids=["default", "two_layers_bidirectional", "batch_first"])
@pytest.mark.parametrize("initial", [False, True], ids=["zero_state", "initial_state"])
def test_packed_layer_matches_torch(name, options, initial):
    rng = np.random.default_rng(5)
    batch_first = options.get("batch_first", False)
    shape = (4, 5, INPUT) if batch_first else (5, 4, INPUT)
    inputs = [rng.standard_normal(shape)]
    if initial:
        inputs += _states(rng, name, options, batch=(4,))
    check_layer(lambda lib: LAYERS[name](lib, **options), inputs,
                call=_packed_call([2, 5, 1, 3], batch_first=batch_first))


def test_packed_sorted_lstm_matches_torch():
    rng = np.random.default_rng(6)
    check_layer(lambda lib: lib.nn.LSTM(INPUT, HIDDEN, bidirectional=True),
                [rng.standard_normal((5, 4, INPUT))],
                call=_packed_call([5, 3, 3, 1], enforce_sorted=True))


def test_packed_output_keeps_indices():
    rng = np.random.default_rng(7)
    lstm = ember.nn.LSTM(INPUT, HIDDEN)
    padded = ember.tensor(rng.standard_normal((3, 2, INPUT)), dtype=ember.float32)
    packed = ember.nn.utils.rnn.pack_padded_sequence(padded, [1, 3], enforce_sorted=False)
    output, (hidden, cell) = lstm(packed)
    assert output.batch_sizes is packed.batch_sizes
    assert output.sorted_indices.tolist() == [1, 0]
    assert output.unsorted_indices.tolist() == [1, 0]
    assert tuple(hidden.shape) == (1, 2, HIDDEN) and tuple(cell.shape) == (1, 2, HIDDEN)


# ---------------------------------------------------------------- module surface


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.LSTM(3, 4, num_layers=2, bidirectional=True),
    lambda lib: lib.nn.LSTM(3, 4, proj_size=2, bias=False, bidirectional=True),
    lambda lib: lib.nn.GRU(3, 4, num_layers=3, bias=False),
    lambda lib: lib.nn.RNN(3, 4, 2, "relu"),
    lambda lib: lib.nn.LSTMCell(3, 4),
    lambda lib: lib.nn.GRUCell(3, 4, bias=False),
])
def test_state_dict_keys_and_shapes_match_torch(make):
    expected = {k: tuple(v.shape) for k, v in make(torch).state_dict().items()}
    actual = {k: tuple(v.shape) for k, v in make(ember).state_dict().items()}
    assert list(actual) == list(expected)
    assert actual == expected
    expected_order = [name for name, _ in make(torch).named_parameters()]
    assert [name for name, _ in make(ember).named_parameters()] == expected_order


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.LSTM(10, 20, num_layers=2, batch_first=True),
    lambda lib: lib.nn.GRU(3, 4, num_layers=2, bias=False, dropout=0.5, bidirectional=True),
    lambda lib: lib.nn.RNN(3, 4, nonlinearity="relu"),
    lambda lib: lib.nn.LSTM(3, 4, proj_size=2),
    lambda lib: lib.nn.RNNCell(3, 4, nonlinearity="relu", bias=False),
    lambda lib: lib.nn.LSTMCell(3, 4),
    lambda lib: lib.nn.GRUCell(3, 4),
])
def test_repr_matches_torch(make):
    assert repr(make(ember)) == repr(make(torch))


def test_default_init_within_bounds_and_shapes():
    ember.manual_seed(0)
    for module in (ember.nn.LSTM(5, 16, num_layers=2, bidirectional=True),
                   ember.nn.GRUCell(5, 16), ember.nn.RNN(5, 16)):
        bound = 1 / math.sqrt(16)
        values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
        assert np.all(np.abs(values) <= bound)
        assert values.std() > bound / 3  # spread over the range, not a constant
    lstm = ember.nn.LSTM(5, 16, proj_size=4)
    assert tuple(lstm.weight_hr_l0.shape) == (4, 16)
    assert tuple(lstm.weight_hh_l0.shape) == (64, 4)
    assert lstm.all_weights[0][0] is lstm.weight_ih_l0


def test_dtype_argument_and_double():
    layer = ember.nn.GRU(3, 4, dtype=ember.float64)
    assert all(p.dtype is ember.float64 for p in layer.parameters())
    output, hidden = layer(ember.zeros(2, 1, 3, dtype=ember.float64))
    assert output.dtype is ember.float64 and hidden.dtype is ember.float64


def test_dropout_between_layers_in_eval_mode_matches_torch():
    rng = np.random.default_rng(8)
    check_layer(lambda lib: lib.nn.LSTM(INPUT, HIDDEN, num_layers=3, dropout=0.7,
                                        bidirectional=True),
                [rng.standard_normal((SEQUENCE, BATCH, INPUT))], train=False)


def test_dropout_between_layers_in_training_changes_output():
    if not hasattr(ember.nn.functional, "dropout"):
        pytest.skip("ember.nn.functional.dropout is not written yet")
    ember.manual_seed(0)
    layer = ember.nn.GRU(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    input = ember.randn(SEQUENCE, BATCH, INPUT)
    training, _ = layer(input)
    layer.eval()
    evaluation, _ = layer(input)
    assert not np.allclose(training.detach().numpy(), evaluation.detach().numpy())
    single = ember.nn.GRU(INPUT, HIDDEN, num_layers=2, dropout=1.0)
    first, _ = single(input)
    second, _ = single(input)  # the last layer only sees zeros: same output every time
    np.testing.assert_allclose(first.detach().numpy(), second.detach().numpy())


def test_dropout_warning_with_one_layer():
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.LSTM(3, 4, dropout=0.5)
        assert len(caught) == 1 and caught[0].category is UserWarning
        assert "non-zero dropout expects num_layers greater than 1" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.nn.LSTM(3, 4, num_layers=2, dropout=0.5)


# ---------------------------------------------------------------- errors


def _float(lib, *shape, dtype=None):
    return lib.zeros(*shape, dtype=dtype or lib.float32)


ERRORS = {
    "input_size": lambda lib: lib.nn.LSTM(10, 20, 2)(_float(lib, 5, 3, 7)),
    "input_size_rnn": lambda lib: lib.nn.RNN(10, 20)(_float(lib, 5, 3, 7)),
    "input_4d_rnn": lambda lib: lib.nn.RNN(10, 20)(_float(lib, 5, 3, 10, 1)),
    "input_4d_lstm": lambda lib: lib.nn.LSTM(10, 20)(_float(lib, 5, 3, 10, 1)),
    "input_4d_gru": lambda lib: lib.nn.GRU(10, 20)(_float(lib, 5, 3, 10, 1)),
    "input_dtype": lambda lib: lib.nn.GRU(10, 20)(_float(lib, 5, 3, 10, dtype=lib.float64)),
    "empty_sequence": lambda lib: lib.nn.GRU(10, 20)(_float(lib, 0, 3, 10)),
    "hidden_batch": lambda lib: lib.nn.GRU(10, 20, 2)(_float(lib, 5, 3, 10), _float(lib, 2, 2, 20)),
    "hidden_size": lambda lib: lib.nn.RNN(10, 20, 2)(_float(lib, 5, 3, 10), _float(lib, 2, 3, 21)),
    "hidden_layers": lambda lib: lib.nn.RNN(10, 20, 2, bidirectional=True)(
        _float(lib, 5, 3, 10), _float(lib, 2, 3, 20)),
    "hidden_2d_batched": lambda lib: lib.nn.GRU(10, 20)(_float(lib, 5, 3, 10), _float(lib, 3, 20)),
    "hidden_3d_unbatched": lambda lib: lib.nn.RNN(10, 20)(
        _float(lib, 5, 10), _float(lib, 1, 3, 20)),
    "lstm_cell_state": lambda lib: lib.nn.LSTM(10, 20, 2)(
        _float(lib, 5, 3, 10), (_float(lib, 2, 3, 20), _float(lib, 2, 2, 20))),
    "lstm_hidden_state": lambda lib: lib.nn.LSTM(10, 20, 2)(
        _float(lib, 5, 3, 10), (_float(lib, 1, 3, 20), _float(lib, 2, 3, 20))),
    "lstm_2d_batched": lambda lib: lib.nn.LSTM(10, 20)(
        _float(lib, 5, 3, 10), (_float(lib, 3, 20), _float(lib, 1, 3, 20))),
    "lstm_3d_unbatched": lambda lib: lib.nn.LSTM(10, 20)(
        _float(lib, 5, 10), (_float(lib, 1, 3, 20), _float(lib, 1, 3, 20))),
    "lstm_projected_state": lambda lib: lib.nn.LSTM(10, 20, proj_size=5)(
        _float(lib, 5, 3, 10), (_float(lib, 1, 3, 20), _float(lib, 1, 3, 20))),
    "packed_hidden": lambda lib: lib.nn.GRU(2, 3)(
        lib.nn.utils.rnn.pack_sequence([_float(lib, 3, 2), _float(lib, 1, 2)]),
        _float(lib, 1, 3, 3)),
    "nonlinearity": lambda lib: lib.nn.RNN(10, 20, nonlinearity="sigmoid"),
    "proj_size_gru": lambda lib: lib.nn.GRU(10, 20, proj_size=2),
    "proj_size_rnn": lambda lib: lib.nn.RNN(10, 20, proj_size=2),
    "proj_size_large": lambda lib: lib.nn.LSTM(10, 20, proj_size=20),
    "proj_size_negative": lambda lib: lib.nn.LSTM(10, 20, proj_size=-1),
    "dropout_range": lambda lib: lib.nn.LSTM(10, 20, dropout=1.5),
    "dropout_bool": lambda lib: lib.nn.LSTM(10, 20, dropout=True),
    "hidden_zero": lambda lib: lib.nn.LSTM(10, 0),
    "input_zero": lambda lib: lib.nn.GRU(0, 3),
    "layers_zero": lambda lib: lib.nn.GRU(2, 3, num_layers=0),
    "bias_type": lambda lib: lib.nn.GRU(2, 3, bias=1),
    "batch_first_type": lambda lib: lib.nn.GRU(2, 3, batch_first=None),
    "input_size_type": lambda lib: lib.nn.GRU(2.0, 3),
    "cell_input_size": lambda lib: lib.nn.GRUCell(10, 20)(_float(lib, 3, 7)),
    "cell_batch": lambda lib: lib.nn.RNNCell(10, 20)(_float(lib, 3, 10), _float(lib, 2, 20)),
    "cell_hidden_size": lambda lib: lib.nn.GRUCell(10, 20)(_float(lib, 3, 10), _float(lib, 3, 21)),
    "cell_unbatched_batched_hidden": lambda lib: lib.nn.RNNCell(10, 20)(
        _float(lib, 10), _float(lib, 3, 20)),
    "cell_batched_unbatched_hidden": lambda lib: lib.nn.GRUCell(10, 20)(
        _float(lib, 3, 10), _float(lib, 20)),
    "cell_3d_input": lambda lib: lib.nn.RNNCell(10, 20)(_float(lib, 3, 3, 10)),
    "cell_3d_hidden": lambda lib: lib.nn.GRUCell(10, 20)(_float(lib, 3, 10), _float(lib, 1, 3, 20)),
    "lstm_cell_3d_hidden": lambda lib: lib.nn.LSTMCell(10, 20)(
        _float(lib, 3, 10), (_float(lib, 3, 20), _float(lib, 1, 3, 20))),
    "lstm_cell_batch": lambda lib: lib.nn.LSTMCell(10, 20)(
        _float(lib, 3, 10), (_float(lib, 2, 20), _float(lib, 3, 20))),
    "lstm_cell_size": lambda lib: lib.nn.LSTMCell(10, 20)(
        _float(lib, 3, 10), (_float(lib, 3, 20), _float(lib, 3, 21))),
    "lstm_cell_one_state": lambda lib: lib.nn.LSTMCell(10, 20)(
        _float(lib, 3, 10), (_float(lib, 3, 20),)),
    "lstm_cell_tensor_state": lambda lib: lib.nn.LSTMCell(10, 20)(
        _float(lib, 3, 10), _float(lib, 3, 20)),
    "cell_nonlinearity": lambda lib: lib.nn.RNNCell(10, 20, nonlinearity="sigmoid")(
        _float(lib, 2, 10)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    with pytest.raises(Exception) as expected:
        ERRORS[name](torch)
    with pytest.raises(Exception) as actual:
        ERRORS[name](ember)
    assert type(actual.value) is type(expected.value)
    expected_text = str(expected.value).replace("torch.", "ember.")
    assert str(actual.value).split("\n")[0] == expected_text.split("\n")[0]
