"""Stochastic Weight Averaging (SWA) and exponential moving averages (EMA) of a model.

``AveragedModel`` keeps a copy of a model whose parameters are a running average of the
model's over training; ``update_bn`` recomputes its BatchNorm statistics afterwards (the
averaged weights see different activations than any of the weights averaged); ``SWALR``
anneals the learning rate to a constant for the averaging phase.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable

from ember._dtype import int64
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn.modules.batchnorm import _BatchNorm
from ember.nn.modules.module import Module
from ember.ops.creation import tensor
from ember.optim.lr_scheduler import LRScheduler, _format_param
from ember.optim.optimizer import Optimizer

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    r"""The EMA update of a list of tensors at once, for ``AveragedModel(multi_avg_fn=)``.

    .. math:: \theta^{EMA} \leftarrow decay\,\theta^{EMA} + (1 - decay)\,\theta

    Floating-point tensors are updated by ``lerp_`` (as PyTorch's ``_foreach_lerp_``), others
    by the formula above, cast back to their dtype.

    Args:
        decay: the weight of the average so far (default: 0.999).

    Returns:
        ``update(averaged_list, current_list, num_averaged)``, which changes ``averaged_list``
        in place.

    Example::

        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
    """

    @no_grad()
    def ema_update(ema_params: list, current_params: list, num_averaged) -> None:
        for averaged, current in zip(ema_params, current_params):
            if averaged.dtype.is_floating_point:
                averaged.lerp_(current, 1 - decay)
            else:
                averaged.copy_(averaged * decay + current * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    r"""The SWA update (an equal-weight running mean) of a list of tensors at once.

    .. math:: \theta^{SWA} \leftarrow \theta^{SWA} + \frac{\theta - \theta^{SWA}}{n + 1}

    with :math:`n` the number of models averaged so far. Floating-point tensors move by
    ``lerp_`` with weight :math:`1 / (n + 1)`; when :math:`n` is a tensor (as
    ``AveragedModel`` passes it) that weight is computed in the default dtype and so is
    rounded to float32, as in PyTorch. Other tensors take ``addcdiv_``, which (as in PyTorch)
    refuses integers: average those with ``get_swa_avg_fn``.

    Returns:
        ``update(averaged_list, current_list, num_averaged)``, which changes ``averaged_list``
        in place.

    Example::

        >>> swa = AveragedModel(model, multi_avg_fn=get_swa_multi_avg_fn())
    """

    @no_grad()
    def swa_update(averaged_params: list, current_params: list, num_averaged) -> None:
        if averaged_params[0].dtype.is_floating_point:
            weight = 1 / (num_averaged + 1)
            weight = weight.item() if isinstance(weight, Tensor) else weight
            for averaged, current in zip(averaged_params, current_params):
                averaged.lerp_(current, weight)
            return
        for averaged, current in zip(averaged_params, current_params):
            if isinstance(num_averaged, Tensor):
                averaged.addcdiv_(current - averaged, num_averaged + 1)
            else:
                averaged.add_(current - averaged, alpha=1 / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    r"""The EMA update of one tensor, for ``AveragedModel(avg_fn=)``:
    :math:`decay\,\theta^{EMA} + (1 - decay)\,\theta`.

    Args:
        decay: the weight of the average so far (default: 0.999).

    Returns:
        ``update(averaged, current, num_averaged) -> Tensor``, the new average.
    """

    @no_grad()
    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    r"""The SWA update of one tensor: :math:`\theta^{SWA} + (\theta - \theta^{SWA}) / (n + 1)`.

    Returns:
        ``update(averaged, current, num_averaged) -> Tensor``, the new average.
    """

    @no_grad()
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    r"""A copy of ``model`` whose parameters are a running average of ``model``'s.

    Each ``update_parameters(model)`` folds the model's current parameters into the average:
    the first call copies them, later ones apply ``multi_avg_fn`` (to the tensors grouped by
    device and dtype), else ``avg_fn`` (one tensor at a time), else the equal-weight SWA mean
    :math:`\theta^{SWA} \leftarrow \theta^{SWA} + (\theta - \theta^{SWA}) / (n + 1)`. Buffers
    are averaged too with ``use_buffers=True``; otherwise they are copied from ``model``
    (and BatchNorm statistics are recomputed afterwards with ``update_bn``).

    Args:
        model: the model to average; it is deep-copied.
        device: where to keep the copy (default: where ``model`` is).
        avg_fn: ``(averaged, current, num_averaged) -> Tensor``, the new average of one tensor.
        multi_avg_fn: ``(averaged_list, current_list, num_averaged)``, updating a list in place.
        use_buffers: average the buffers with the parameters (default: False).

    Shape:
        The forward pass is ``module``'s.

    Returns:
        A ``Module`` with the copy as ``module`` and the count ``n_averaged`` (a 0-d int64
        buffer), so its ``state_dict`` keys are ``n_averaged`` and ``module.<name>``.

    Example::

        >>> swa_model = AveragedModel(model)
        >>> for epoch in range(epochs):
        ...     train(model)
        ...     swa_model.update_parameters(model)
        >>> update_bn(loader, swa_model)
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged_tensors(self, model: Module) -> tuple:
        if self.use_buffers:
            return (itertools.chain(self.module.parameters(), self.module.buffers()),
                    itertools.chain(model.parameters(), model.buffers()))
        return self.parameters(), model.parameters()

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers, with ``use_buffers``) into the
        average, and count it in ``n_averaged``."""
        mine, theirs = self._averaged_tensors(model)
        pairs = []
        for averaged, current in zip(mine, theirs):
            pairs.append((averaged.detach(), current.detach().to(averaged.device)))
        with no_grad():
            if self.n_averaged.item() == 0:
                for averaged, current in pairs:
                    averaged.copy_(current)
            elif self.multi_avg_fn is not None:
                for group in _by_device_and_dtype(pairs).values():
                    count = self.n_averaged.to(group[0][0].device)
                    self.multi_avg_fn([a for a, _ in group], [c for _, c in group], count)
            else:
                update = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
                for averaged, current in pairs:
                    averaged.copy_(update(averaged, current, self.n_averaged.to(averaged.device)))
            if not self.use_buffers:
                # the buffers are not averaged: they follow the model
                for averaged, current in zip(self.module.buffers(), model.buffers()):
                    averaged.detach().copy_(current.detach().to(averaged.device))
            self.n_averaged += 1


def _by_device_and_dtype(pairs: list) -> dict:
    groups = {}
    for averaged, current in pairs:
        groups.setdefault((str(averaged.device), averaged.dtype), []).append((averaged, current))
    return groups


@no_grad()
def update_bn(loader: Iterable, model: Module, device=None) -> None:
    r"""Recompute the BatchNorm running statistics of ``model`` over one pass of ``loader``.

    Each BatchNorm layer's statistics are reset and then accumulated as a cumulative mean
    over the batches (``momentum=None``); afterwards the layers' momenta and the model's
    training mode are restored. A model without BatchNorm is left alone.

    Args:
        loader: batches of inputs; a batch that is a list or tuple gives its first item.
        model: the model, usually an ``AveragedModel``.
        device: where to move each input before the forward pass (default: no move).

    Example::

        >>> update_bn(train_loader, swa_model)
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneals each group's learning rate to ``swa_lr`` over ``anneal_epochs`` epochs, then
    holds it there.

    With :math:`t = \min(1, \text{epoch} / \text{anneal\_epochs})` and
    :math:`\alpha(t) = (1 - \cos \pi t) / 2` ('cos') or :math:`t` ('linear'):

    .. math:: \eta_t = \alpha(t)\,\eta_{swa} + (1 - \alpha(t))\,\eta_{start}

    where :math:`\eta_{start}` is recovered from the group's current rate and the previous
    epoch's :math:`\alpha`, so that SWALR chains with schedulers that changed the rate.

    Args:
        optimizer: the optimizer.
        swa_lr: the rate to anneal to, for every group or one per group (stored as the
            groups' ``swa_lr``).
        anneal_epochs: epochs of the annealing (default: 10; 0 switches at once).
        anneal_strategy: 'cos' or 'linear' (default: 'cos').
        last_epoch: index of the last epoch (default: -1).

    Example::

        >>> swa_scheduler = SWALR(optimizer, swa_lr=0.05, anneal_epochs=5)
        >>> for epoch in range(epochs):
        ...     train(model, optimizer)
        ...     swa_scheduler.step()
    """

    def __init__(self, optimizer: Optimizer, swa_lr, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for swa_lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = swa_lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict:
        """Every attribute but the optimizer and the annealing function (its name is kept)."""
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha: float):
        """The rate before annealing, given the rate ``lr`` that ``alpha`` of it produced."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        self._warn_if_called_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        previous = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        rates = []
        for group in self.optimizer.param_groups:
            start = self._get_initial_lr(group["lr"], group["swa_lr"], previous)
            rates.append(group["swa_lr"] * alpha + start * (1 - alpha))
        return rates
