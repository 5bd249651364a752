"""SparseAdam: Adam for sparse gradients, updating only the rows a gradient touches."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ember._backend import add_at, xp
from ember._tensor import Tensor
from ember.autograd.function import count_optimizer_step
from ember.autograd.grad_mode import enable_grad, no_grad
from ember.ops.sparse import SparseTensor
from ember.optim.optimizer import Optimizer, _to_float

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""Adam restricted to the entries of a sparse gradient (``nn.Embedding(sparse=True)``).

    Per step, with the gradient coalesced to entries :math:`i` and values :math:`g_i`::

        m_i = m_i + (1 - beta1) * (g_i - m_i)
        v_i = v_i + (1 - beta2) * (g_i ** 2 - v_i)
        theta_i = theta_i - lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                                * m_i / (sqrt(v_i) + eps)

    Entries the gradient does not hold keep their moments and values (unlike Adam, whose
    moments decay everywhere). A dense gradient is refused.

    Args:
        params: the (dense) parameters or parameter groups to optimize.
        lr: learning rate (default: 1e-3).
        betas: decay rates of the two moments (default: (0.9, 0.999)).
        eps: added to the denominator (default: 1e-8).
        maximize: maximize the objective instead of minimizing it (default: False).

    State: ``step`` (an int), ``exp_avg``, ``exp_avg_sq`` (dense, like the parameter).

    Example::

        >>> table = nn.Embedding(1000, 16, sparse=True)
        >>> optimizer = ember.optim.SparseAdam(table.parameters(), lr=0.01)
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for index in (0, 1):
            if not 0.0 <= betas[index] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {betas[index]}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        sparse_params = [[group_index, index]
                         for group_index, group in enumerate(self.param_groups)
                         for index, param in enumerate(group["params"]) if param.is_sparse]
        if sparse_params:
            raise ValueError(
                f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter "
                "tensors"
            )

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is not None:
                        self._step_parameter(param, group)
        count_optimizer_step()
        return loss

    def _step_parameter(self, param: Tensor, group: dict) -> None:
        grad = param.grad
        if not isinstance(grad, SparseTensor) or not grad.is_sparse:
            raise RuntimeError(
                "SparseAdam does not support dense gradients, please consider Adam instead"
            )
        state = self.state[param]
        if not state:
            state["step"] = 0
            state["exp_avg"] = Tensor._make(xp.zeros_like(param._data))
            state["exp_avg_sq"] = Tensor._make(xp.zeros_like(param._data))
        # An int, as PyTorch's, even after load_state_dict made it the tensor Adam keeps.
        state["step"] = int(state["step"]) + 1
        grad = grad.coalesce()
        values = grad._values()._data
        if group["maximize"]:
            values = -values
        if values.size == 0:
            return
        where = tuple(grad._indices()._data)
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        old_avg, old_avg_sq = exp_avg[where], exp_avg_sq[where]
        average_update = (values - old_avg) * (1 - beta1)
        square_update = (values**2 - old_avg_sq) * (1 - beta2)
        add_at(exp_avg, where, average_update)
        add_at(exp_avg_sq, where, square_update)
        numerator = average_update + old_avg
        denominator = xp.sqrt(square_update + old_avg_sq) + group["eps"]
        step = state["step"]
        lr = _to_float(group["lr"])
        step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        add_at(param._data, where, -step_size * (numerator / denominator))
        param._version_counter[0] += 1
