"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their one-step cells.

Each layer is composed from ember ops: the input projection of a whole sequence is one
``F.linear``, then a Python loop over time applies the recurrence step; autograd supplies the
gradients. Every sequence runs in the packed layout (rows of step 0, then of step 1, ...), so
padded batches and ``PackedSequence`` batches share one code path: a padded batch is simply a
packed one whose batch size never shrinks.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import NamedTuple

from ember._tensor import Tensor
from ember.nn import functional as F, init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence
from ember.ops.creation import empty, zeros
from ember.ops.elementwise import relu, sigmoid, tanh
from ember.ops.shape import cat, stack

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]


# ---------------------------------------------------------------- one time step


class _Weights(NamedTuple):
    weight_ih: Tensor
    weight_hh: Tensor
    bias_ih: Tensor | None
    bias_hh: Tensor | None
    weight_hr: Tensor | None = None


def _rnn_tanh_step(gates_input, state, weights):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""
    return (tanh(gates_input + F.linear(state[0], weights.weight_hh, weights.bias_hh)),)


def _rnn_relu_step(gates_input, state, weights):
    """h' = relu(W_ih x + b_ih + W_hh h + b_hh)."""
    return (relu(gates_input + F.linear(state[0], weights.weight_hh, weights.bias_hh)),)


def _lstm_step(gates_input, state, weights):
    """Gates i, f, g, o in PyTorch's order; c' = f c + i g, h' = o tanh(c') (then W_hr h')."""
    hidden, cell = state
    gates = gates_input + F.linear(hidden, weights.weight_hh, weights.bias_hh)
    input_gate, forget_gate, cell_gate, output_gate = gates.chunk(4, -1)
    cell = sigmoid(forget_gate) * cell + sigmoid(input_gate) * tanh(cell_gate)
    hidden = sigmoid(output_gate) * tanh(cell)
    if weights.weight_hr is not None:
        hidden = F.linear(hidden, weights.weight_hr)
    return hidden, cell


def _gru_step(gates_input, state, weights):
    """Gates r, z, n in PyTorch's order; n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h."""
    (hidden,) = state
    hidden_gates = F.linear(hidden, weights.weight_hh, weights.bias_hh)
    input_reset, input_update, input_new = gates_input.chunk(3, -1)
    hidden_reset, hidden_update, hidden_new = hidden_gates.chunk(3, -1)
    reset = sigmoid(input_reset + hidden_reset)
    update = sigmoid(input_update + hidden_update)
    new = tanh(input_new + reset * hidden_new)
    return (new + update * (hidden - new),)


def _reset_uniform(module: Module) -> None:
    """Every parameter from U(-1/√hidden, 1/√hidden), as PyTorch's recurrent layers."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


_STEPS = {"RNN_TANH": _rnn_tanh_step, "RNN_RELU": _rnn_relu_step, "LSTM": _lstm_step,
          "GRU": _gru_step}
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _run_direction(step, gates_input, batch_sizes, state, weights, reverse):
    """Run ``step`` over packed rows; returns the packed outputs and the final state.

    ``state`` holds one (batch, size) tensor per state (h, or h and c). Going forward, a
    sequence that ends leaves the running batch and its state is final; going backward, a
    sequence joins the running batch at its last step, starting from its initial state.
    """
    chunks = gates_input.split(batch_sizes)
    outputs = [None] * len(batch_sizes)
    if not reverse:
        finished = []
        for time, size in enumerate(batch_sizes):
            if size < state[0].shape[0]:
                finished.append(tuple(part[size:] for part in state))
                state = tuple(part[:size] for part in state)
            state = step(chunks[time], state, weights)
            outputs[time] = state[0]
        if finished:
            finished.append(state)
            state = tuple(cat(parts[::-1]) for parts in zip(*finished))
        return cat(outputs), state
    initial = state
    if batch_sizes[-1] < initial[0].shape[0]:
        state = tuple(part[: batch_sizes[-1]] for part in initial)
    for time in reversed(range(len(batch_sizes))):
        running, size = state[0].shape[0], batch_sizes[time]
        if size > running:
            state = tuple(cat([part, start[running:size]]) for part, start in zip(state, initial))
        state = step(chunks[time], state, weights)
        outputs[time] = state[0]
    return cat(outputs), state


# ---------------------------------------------------------------- multi-layer sequences


class RNNBase(Module):
    """The parameters, checks and sequence loop shared by ``RNN``, ``LSTM`` and ``GRU``.

    Parameters are named as PyTorch's: ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` with ``proj_size``), with a
    ``_reverse`` suffix for the backward direction; all drawn from U(-1/√hidden, 1/√hidden).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         proj_size)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                shapes = {"weight_ih": (gate_size, layer_input_size),
                          "weight_hh": (gate_size, real_hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(*shape, dtype=dtype, device=device)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def flatten_parameters(self) -> None:
        """A no-op kept for PyTorch compatibility (it packs weights for cuDNN there)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text

    # ------------------------------------------------------------ checks (PyTorch's texts)
    def check_input(self, input: Tensor, batch_sizes) -> None:
        weight_dtype = self._flat_weights[0].dtype
        if input.dtype is not weight_dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype}). "
                f"Convert input: input.to({weight_dtype}), or convert model: "
                f"model.to({input.dtype})"
            )
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {input.shape[-1]}"
            )

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.shape[0] if self.batch_first else input.shape[1]
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.shape)))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Tensor, permutation: Tensor | None) -> Tensor:
        if permutation is None:
            return hx
        return hx.index_select(1, permutation)

    # ------------------------------------------------------------ forward
    def _zero_state(self, input: Tensor, batch: int):
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        layers, device = self.num_layers * num_directions, input.device
        hidden = zeros(layers, batch, size, dtype=input.dtype, device=device)
        if self.mode != "LSTM":
            return hidden
        cell = zeros(layers, batch, self.hidden_size, dtype=input.dtype, device=device)
        return hidden, cell

    def _check_hidden_dims(self, hx, batched: bool) -> None:
        want = 3 if batched else 2
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if self.mode == "LSTM":
            if hx[0].dim() != want or hx[1].dim() != want:
                raise RuntimeError(
                    f"For {kind} input, hx and cx should also be {want}-D but got "
                    f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                )
        elif hx.dim() != want:
            raise RuntimeError(
                f"For {kind} input, hx should also be {want}-D but got {hx.dim()}-D tensor"
            )

    def forward(self, input, hx=None):
        """Run the layers over ``input`` (padded tensor or ``PackedSequence``).

        Returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for LSTM); the output is a
        ``PackedSequence`` when the input is one.
        """
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        if packed:
            input, batch_sizes_tensor, sorted_indices, unsorted_indices = input
            batch_sizes = [int(size) for size in batch_sizes_tensor.tolist()]
            if hx is None:
                hx = self._zero_state(input, batch_sizes[0])
            else:
                hx = self.permute_hidden(hx, sorted_indices)
        else:
            if input.dim() not in (2, 3):
                name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
                tensor_word = " tensor" if name == "RNN" else ""
                raise ValueError(
                    f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor_word} "
                    "instead"
                )
            batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not batched:
                input = input.unsqueeze(batch_dim)
            if hx is None:
                hx = self._zero_state(input, input.shape[batch_dim])
            else:
                self._check_hidden_dims(hx, batched)
                if not batched:
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if is_lstm else hx.unsqueeze(1)
            batch_sizes = None
        self.check_forward_args(input, hx, batch_sizes)
        states = tuple(hx) if is_lstm else (hx,)
        if packed:
            output, states = self._run_layers(input, batch_sizes, states)
            output = PackedSequence(output, batch_sizes_tensor, sorted_indices, unsorted_indices)
            hidden = states if is_lstm else states[0]
            return output, self.permute_hidden(hidden, unsorted_indices)
        sequence = input.transpose(0, 1) if self.batch_first else input
        steps, batch = sequence.shape[0], sequence.shape[1]
        if steps == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        data = sequence.reshape(steps * batch, self.input_size)
        output, states = self._run_layers(data, [batch] * steps, states)
        output = output.reshape(steps, batch, output.shape[-1])
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(batch_dim)
            states = tuple(state.squeeze(1) for state in states)
        return output, (states if is_lstm else states[0])

    def _layer_weights(self, layer: int, direction: int) -> _Weights:
        suffix = "_reverse" if direction == 1 else ""
        return _Weights(*(getattr(self, f"{kind}_l{layer}{suffix}", None)
                          for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                       "weight_hr")))

    def _run_layers(self, data: Tensor, batch_sizes: list, states: tuple):
        """Packed rows (N, input_size) through every layer; states are (L·D, B, size) each."""
        step = _STEPS[self.mode]
        num_directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                weights = self._layer_weights(layer, direction)
                index = layer * num_directions + direction
                gates_input = F.linear(data, weights.weight_ih, weights.bias_ih)
                output, final = _run_direction(step, gates_input, batch_sizes,
                                               tuple(state[index] for state in states),
                                               weights, reverse=direction == 1)
                outputs.append(output)
                for collected, part in zip(finals, final):
                    collected.append(part)
            data = cat(outputs, -1) if num_directions == 2 else outputs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                data = F.dropout(data, self.dropout, training=True)
        return data, tuple(stack(collected) for collected in finals)


def _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                     proj_size) -> None:
    if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
            or not 0 <= dropout <= 1):
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            "element being zeroed"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero "
            "dropout expects num_layers greater than 1, but got "
            f"dropout={dropout} and num_layers={num_layers}",
            stacklevel=4,
        )
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                            f"{type(value).__name__}")
    if input_size <= 0:
        raise ValueError("input_size must be greater than zero")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNN(RNNBase):
    """Elman RNN: hₜ = act(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh), act = tanh or relu.

    Args:
        input_size, hidden_size: features of each input step and of the hidden state.
        num_layers: stacked layers (default 1).
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        bias: learn ``b_ih`` and ``b_hh`` (default True).
        batch_first: input and output are (B, T, *) instead of (T, B, *).
        dropout: dropout probability on the outputs of every layer but the last (training).
        bidirectional: also run each layer backward in time and concatenate.

    Shape:
        input (T, B, H_in), (B, T, H_in) with ``batch_first``, (T, H_in) unbatched, or a
        ``PackedSequence``; h_0 (num_layers·D, B, H) → output (T, B, D·H), h_n like h_0.

    Example::

        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, h_n = rnn(ember.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (ember.Size([5, 3, 20]), ember.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs) -> None:
        _reject_projection(kwargs)
        self.nonlinearity = nonlinearity
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory, gates in PyTorch's order i, f, g, o:

    i, f, o = σ(W_i· xₜ + b_i· + U_· hₜ₋₁ + b_h·), g = tanh(...),
    cₜ = f ⊙ cₜ₋₁ + i ⊙ g, hₜ = o ⊙ tanh(cₜ) (then hₜ = W_hr hₜ with ``proj_size`` > 0).

    Args: as ``RNN`` (without ``nonlinearity``), plus ``proj_size``: project hₜ to this size.

    Shape:
        input as ``RNN``; (h_0, c_0) of (num_layers·D, B, H_out) and (num_layers·D, B, H)
        → output (T, B, D·H_out), (h_n, c_n) like (h_0, c_0); H_out = proj_size or H.

    Example::

        >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
        >>> output, (h_n, c_n) = lstm(ember.randn(3, 5, 10))
        >>> output.shape
        ember.Size([3, 5, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        layers, batch, _ = self.get_expected_hidden_size(input, batch_sizes)
        return (layers, batch, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation: Tensor | None):
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)


class GRU(RNNBase):
    """Gated recurrent unit, gates in PyTorch's order r, z, n:

    r, z = σ(W_i· xₜ + b_i· + W_h· hₜ₋₁ + b_h·),
    n = tanh(W_in xₜ + b_in + r ⊙ (W_hn hₜ₋₁ + b_hn)), hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁.

    Args and Shape: as ``RNN`` (without ``nonlinearity``).

    Example::

        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> output, h_n = gru(ember.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (ember.Size([5, 3, 40]), ember.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        _reject_projection(kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


def _reject_projection(kwargs: dict) -> None:
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")


# ---------------------------------------------------------------- cells


class RNNCellBase(Module):
    """The parameters of a one-step cell: weight_ih (G·H, H_in), weight_hh (G·H, H),
    bias_ih and bias_hh (G·H,), all from U(-1/√H, 1/√H); G is the number of gates."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(empty(gates, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(gates, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(gates, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(gates, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity}"
        return text

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def _step(self, mode: str, input: Tensor, states: tuple) -> tuple:
        """Check as PyTorch's cell kernels do, then run one step of ``mode``."""
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[1]} "
                f"expected {self.input_size}"
            )
        for label, state in enumerate(states):
            if input.shape[0] != state.shape[0]:
                raise RuntimeError(
                    f"Input batch size {input.shape[0]} doesn't match hidden{label} batch size "
                    f"{state.shape[0]}"
                )
            if state.dim() < 2 or state.shape[1] != self.hidden_size:
                got = state.shape[1] if state.dim() > 1 else None
                raise RuntimeError(
                    f"hidden{label} has inconsistent hidden_size: got {got}, "
                    f"expected {self.hidden_size}"
                )
        weights = _Weights(self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return _STEPS[mode](F.linear(input, self.weight_ih, self.bias_ih), states, weights)

    def _prepare(self, input: Tensor, name: str):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        return (input if batched else input.unsqueeze(0)), batched

    def _zeros(self, input: Tensor) -> Tensor:
        return zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)

    def _prepare_hidden(self, input: Tensor, hx: Tensor | None, name: str) -> tuple:
        """``input`` and the one state ``hx`` (zeros when omitted) with a batch dim, and
        whether they had one."""
        input, batched = self._prepare(input, name)
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        if hx is None:
            hx = self._zeros(input)
        elif not batched:
            hx = hx.unsqueeze(0)
        return input, hx, batched


class RNNCell(RNNCellBase):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh (default) or relu.

    Shape:
        input (B, H_in) or (H_in,), hx (B, H) or (H,) (zeros when omitted) → h' like hx.

    Example::

        >>> cell = nn.RNNCell(10, 20)
        >>> cell(ember.randn(3, 10)).shape
        ember.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, hx, batched = self._prepare_hidden(input, hx, "RNNCell")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        (hidden,) = self._step(modes[self.nonlinearity], input, (hx,))
        return hidden if batched else hidden.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): c' = f c + i g, h' = o tanh(c'); returns (h', c').

    Shape:
        input (B, H_in) or (H_in,), hx = (h, c) each (B, H) or (H,) (zeros when omitted).

    Example::

        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(ember.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        input, batched = self._prepare(input, "LSTMCell")
        if hx is not None:
            for index, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{index}] to be 1D or 2D, got {value.dim()}D instead"
                    )
            if not isinstance(hx, (tuple, list)):
                raise TypeError(
                    "lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not "
                    f"{type(hx).__name__}"
                )
            if len(hx) != 2:
                raise RuntimeError("lstm_cell expects two hidden states")
        if hx is None:
            hx = (self._zeros(input), self._zeros(input))
        elif not batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        hidden, cell = self._step("LSTM", input, tuple(hx))
        return (hidden, cell) if batched else (hidden.squeeze(0), cell.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 − z) n + z h.

    Shape:
        input (B, H_in) or (H_in,), hx (B, H) or (H,) (zeros when omitted) → h' like hx.

    Example::

        >>> cell = nn.GRUCell(10, 20)
        >>> cell(ember.randn(10)).shape
        ember.Size([20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, hx, batched = self._prepare_hidden(input, hx, "GRUCell")
        (hidden,) = self._step("GRU", input, (hx,))
        return hidden if batched else hidden.squeeze(0)
