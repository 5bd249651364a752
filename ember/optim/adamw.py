"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from collections.abc import Iterable

from ember._tensor import Tensor
from ember.optim.adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""Adam whose weight decay shrinks the weights directly instead of adding to the gradient.

    Each step first applies :math:`\theta \leftarrow \theta (1 - \gamma\lambda)`, then the Adam
    update (see :class:`Adam`); the decay never enters the moment estimates. It is ``Adam``
    with ``decoupled_weight_decay=True`` and a default ``weight_decay`` of 1e-2.

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate :math:`\gamma` (default: 1e-3).
        betas: coefficients of the running averages (default: (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default: 1e-8).
        weight_decay: decoupled weight decay :math:`\lambda` (default: 1e-2).
        amsgrad: use the AMSGrad variant (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility;
            ignored.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
