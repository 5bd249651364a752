"""``Optimizer``: parameter groups, per-parameter state, and the loop that updates them.

An algorithm subclass only says how one parameter moves: ``_init_state`` builds its state
(ember tensors under PyTorch's keys) and ``_update`` applies one step to the parameter's array.
The base class walks the groups, skips parameters without a gradient, negates the gradient
for ``maximize``, and keeps PyTorch's ``state_dict`` format.

The update is arithmetic on the arrays (``param._data``, ``param.grad._data`` and the state
tensors' ``_data``) done in place: an optimizer step is never differentiated, and arrays
build no graph (so the step does not pay for entering ``no_grad``). Each step bumps the
parameter's version counter once, as PyTorch's in-place update does, so a graph that saved
the old value refuses to backward; and it counts itself
(``ember.autograd.function.count_optimizer_step``, per thread), which lets autograd warn
when a graph from an earlier step is kept alive (``total_loss += loss``).

``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted and stored in the
groups (so ``state_dict`` and ``repr`` read as PyTorch's) but change nothing: ember has one
implementation, the single-tensor one PyTorch runs on CPU.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

from ember import _tape
from ember._backend import asarray, is_writable, xp
from ember._dtype import float64, get_default_dtype
from ember._profiling import recorded
from ember._tensor import Tensor
from ember.autograd.function import count_optimizer_step
from ember.autograd.grad_mode import enable_grad
from ember.ops.creation import zeros
from ember.ops.sparse import sparse_coo_tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """The default of a hyperparameter that every group must set."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(value) -> str:
    """``torch.typename``: ``torch.FloatTensor`` for a tensor, the qualified type otherwise."""
    if isinstance(value, Tensor):
        return value.type()
    module = type(value).__module__
    name = type(value).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


def _to_float(value):
    """A hyperparameter given as a one-element tensor, as a Python number."""
    return value.item() if isinstance(value, Tensor) else value


def _scalar_dtype():
    """The dtype of ``state['step']``: float64 under a float64 default, else float32."""
    return float64.numpy if get_default_dtype() is float64 else xp.float32


def _step_tensor(value: float = 0.0) -> Tensor:
    return Tensor._make(asarray(value, dtype=_scalar_dtype()))


def _zeros_like(param: Tensor) -> Tensor:
    return Tensor._make(xp.zeros_like(param._data))


def _new_state(param: Tensor, *buffers: str, **scalars: float) -> dict[str, Tensor]:
    """A state before the first step: ``step`` at 0, then each of ``scalars`` as a 0-d tensor
    of the step's dtype, then a zero tensor like ``param`` under each of ``buffers``."""
    state = {"step": _step_tensor()}
    for name, value in scalars.items():
        state[name] = _step_tensor(value)
    for name in buffers:
        state[name] = _zeros_like(param)
    return state


def _check_lr(lr) -> None:
    """PyTorch's checks of ``lr``: a number or a one-element tensor, not negative."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_not_negative(**values: float) -> None:
    """``Invalid <name> value: <value>`` for the first of ``values`` that is negative."""
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {name} value: {value}")


def _with_weight_decay(param, grad, weight_decay: float):
    """``grad`` plus the L2 penalty's gradient ``weight_decay * param`` (a new array)."""
    return grad if weight_decay == 0 else grad + weight_decay * param


def _decay_coupled_or_not(param, grad, group: dict[str, Any]):
    """The L2 penalty added to ``grad``; or, under ``decoupled_weight_decay``, ``param``
    shrunk in place by ``1 - lr * weight_decay`` (AdamW's decay) and ``grad`` as it is."""
    weight_decay = group["weight_decay"]
    if weight_decay != 0 and group["decoupled_weight_decay"]:
        param *= 1 - group["lr"] * weight_decay
        return grad
    return _with_weight_decay(param, grad, weight_decay)


def _increment(step: Tensor) -> float:
    """``step += 1`` on the state tensor; returns the new count as a float.

    The sum of the count and 1 is exact as a Python float, so storing it rounds once, as
    the array's own ``+= 1`` does; and costs a ninth as much (0.13 against 1.2 µs, once per
    parameter per step)."""
    data = step._data
    data[()] = data.item() + 1
    return data.item()


def _lerp_(target, end, weight: float) -> None:
    """``target.lerp_(end, weight)`` with PyTorch's two-sided formula (exact at both ends)."""
    if abs(weight) < 0.5:
        target += weight * (end - target)
    else:
        xp.copyto(target, end - (end - target) * (1 - weight))


# Elements per piece when a large update goes a piece at a time: a scratch buffer this size
# stays in cache, where a temporary the size of the parameter would be faulted in afresh.
_PIECE = 1 << 16


def _add_scaled_(target, source, alpha: float) -> None:
    """``target += alpha * source``, rounded as PyTorch's ``add_(source, alpha=alpha)``.

    A large contiguous parameter is updated a piece at a time through one small buffer
    rather than through a temporary of its own size.
    """
    if target.size <= _PIECE or not (
        target.flags.c_contiguous and source.flags.c_contiguous
        and source.shape == target.shape and source.dtype == target.dtype
    ):
        target += alpha * source
        return
    flat_target, flat_source = target.reshape(-1), source.reshape(-1)
    scratch = xp.empty(_PIECE, target.dtype, like=target)
    for start in range(0, flat_target.size, _PIECE):
        stop = min(start + _PIECE, flat_target.size)
        product = xp.multiply(flat_source[start:stop], alpha, out=scratch[: stop - start])
        flat_target[start:stop] += product


def _addcmul_(target, tensor1, tensor2, value: float = 1.0) -> None:
    """``target += value * tensor1 * tensor2``, in PyTorch's order of operations."""
    target += value * tensor1 * tensor2


def _addcdiv_(target, tensor1, tensor2, value: float = 1.0) -> None:
    """``target += value * tensor1 / tensor2``, in PyTorch's order of operations."""
    target += value * tensor1 / tensor2


def _parameters_of(optimizer, *_) -> list:
    return [param for group in optimizer.param_groups for param in group["params"]]


_replayed_step = _tape.replayed(changes=_parameters_of)


def _profiled(method: str):
    """A method as a profile labels it, as PyTorch does: ``Optimizer.step#SGD.step``."""
    return recorded(lambda self, *_, **__: f"Optimizer.{method}#{type(self).__name__}.{method}")


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
            groups: a ``"params"`` entry plus hyperparameters that override ``defaults``).
        defaults: the hyperparameters of a group that does not set them.

    Example::

        >>> optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> optimizer.zero_grad()
        >>> loss_fn(model(input), target).backward()
        >>> optimizer.step()
    """

    def __init_subclass__(cls, **kwargs) -> None:
        # A compiled call replays an optimizer's step whole (its update is one fused pass);
        # a profile labels it.
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _replayed_step(_profiled("step")(cls.__dict__["step"]))

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params)
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------ the algorithm's part
    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Tensor]:
        """The state of a parameter before its first step (built lazily, as in PyTorch)."""
        return {}

    def _update(self, param, grad, state: dict[str, Tensor], group: dict[str, Any]) -> None:
        """Apply one step to the array ``param`` given the array ``grad``, in place."""
        raise NotImplementedError

    def _update_group(self, params: list, grads: list, states: list, group: dict[str, Any]) -> None:
        """One step for every parameter of a group that has a gradient (arrays, in place).

        One ``_update`` per parameter; an algorithm may take the group at once instead.
        """
        update = self._update
        for param, grad, state in zip(params, grads, states):
            update(param, grad, state, group)

    # ------------------------------------------------------------ stepping
    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step; returns ``closure()``'s loss when given.

        Args:
            closure: re-evaluates the model and returns the loss (run with grad enabled).
        """
        return self._step(closure, self._update_group)

    def _step(self, closure, update_group):
        """``step``, with ``update_group`` doing each group's arithmetic (a compiled
        program's fused kernel, ``ember/_compile/kernels/adam.py``, or ``_update_group``)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        states, init_state = self.state, self._init_state
        # Arrays only, from here on: nothing can record a graph, so no ``no_grad()``
        for group in self.param_groups:
            options = self._options(group)
            maximize = options.get("maximize", False)
            stepped, arrays, grads, group_states = [], [], [], []
            for param in group["params"]:
                grad = param._grad  # the slot: the property tells a recording of a read
                if grad is None:
                    continue
                state = states.get(param) or init_state(param, options)
                grad = grad._data if type(grad) is Tensor else self._sparse_grad(grad, options)
                stepped.append(param)
                arrays.append(param._data)
                grads.append(-grad if maximize else grad)
                group_states.append(state)
            update_group(arrays, grads, group_states, options)
            for param, state in zip(stepped, group_states):
                param._version_counter[0] += 1
                if state:
                    states[param] = state
        count_optimizer_step()
        return loss

    # Sparse gradients: refused with "<name> does not support sparse gradients<advice>"
    # unless the algorithm takes them; weight decay with one raises its own error.
    _takes_sparse_gradients = False
    _sparse_advice = ""
    _sparse_weight_decay_error = ""

    @property
    def _name_in_errors(self) -> str:
        return type(self).__name__

    def _sparse_grad(self, grad: Tensor, options: dict):
        """The array to step on for a gradient that is not a plain tensor (a sparse one).

        Most algorithms refuse sparse gradients, as PyTorch's do; those that take them
        (SGD, Adagrad) step on the dense equivalent, which is PyTorch's arithmetic.
        """
        if not grad.is_sparse:
            return grad._data  # a Tensor subclass
        if not self._takes_sparse_gradients:
            raise RuntimeError(f"{self._name_in_errors} does not support sparse gradients"
                               f"{self._sparse_advice}")
        if options.get("weight_decay", 0) != 0:
            raise RuntimeError(self._sparse_weight_decay_error)
        return grad.to_dense()._data

    def _options(self, group: dict) -> dict:
        """``group``'s hyperparameters as plain numbers (one-element tensors read out).

        Kept from the last step while the group's values are the same objects and none is
        a tensor (a tensor could have changed in place), so a step does not rebuild it.
        """
        values = tuple(group.values())
        cache = self.__dict__.setdefault("_options_cache", {})
        cached = cache.get(id(group))
        if cached is not None and cached[0] == values:
            return cached[1]
        options = {key: _to_float(value) for key, value in group.items() if key != "params"}
        if not any(isinstance(value, Tensor) for value in values):
            cache[id(group)] = (values, options)
        return options

    @_tape.replayed(changes=lambda self, *_: _parameters_of(self), python_state=False)
    @_profiled("zero_grad")
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                    continue
                if grad.is_sparse:
                    param.grad = _no_entries(grad)
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                if is_writable(grad._data):
                    grad._data.fill(0)
                else:
                    grad._data = xp.zeros_like(grad._data)
                grad._version_counter[0] += 1

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyperparameters, to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [param[0] for param in params if isinstance(param, tuple)]
        param_group["params"] = [
            param[1] if isinstance(param, tuple) else param for param in params
        ]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + _typename(param)
                )
            if not self.defaults.get("differentiable", None) and not (
                param.is_leaf or param.retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    + name
                )
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                stacklevel=3,
            )
        existing = set()
        for group in self.param_groups:
            existing.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {kind} to the optimizer"
                )
        if not existing.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------ saving and loading
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state: ``{"state": {id: {...}}, "param_groups": [...]}``.

        Parameters are replaced by integer ids (their position across the groups); the
        state tensors are the live ones, as in PyTorch (deep-copy to keep a snapshot).
        """
        mapping: dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {key: value for key, value in group.items() if key != "params"}
            for index, param in enumerate(group["params"], start):
                mapping.setdefault(id(param), index)
            packed["params"] = [mapping[id(param)] for param in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack(group) for group in self.param_groups]
        state = {
            (mapping[id(key)] if isinstance(key, Tensor) else key): value
            for key, value in self.state.items()
        }
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``: hyperparameters and per-parameter state, matched by id."""
        state_dict = state_dict.copy()
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(group["params"] for group in saved_groups),
                chain.from_iterable(group["params"] for group in groups),
            )
        )
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                state[id_map[key]] = _cast(id_map[key], value)
            else:
                state[key] = value
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # Groups saved by an older version miss newer options: fill in the defaults.
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)
        for param_state in self.state.values():
            if "step" in param_state and not isinstance(param_state["step"], Tensor):
                param_state["step"] = _step_tensor(float(param_state["step"]))

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for index, group in enumerate(self.param_groups):
            text += f"\nParameter Group {index}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


Optimizer.step = _replayed_step(_profiled("step")(Optimizer.step))


def _cast(param: Tensor, value, key=None):
    """A loaded state value: floating tensors take the parameter's dtype; ``step`` is kept."""
    if isinstance(value, Tensor):
        if key == "step" or not param.is_floating_point():
            return value
        return value.to(dtype=param.dtype)
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, item) for item in value)
    return value


def _no_entries(grad: Tensor) -> Tensor:
    """A sparse gradient's zero, as PyTorch's ``zero_()`` leaves it: no entries at all."""
    sparse_dims = grad.sparse_dim()
    indices = zeros((sparse_dims, 0), dtype=grad._indices().dtype)
    values = zeros((0, *grad.shape[sparse_dims:]), dtype=grad.dtype)
    return sparse_coo_tensor(indices, values, tuple(grad.shape))
