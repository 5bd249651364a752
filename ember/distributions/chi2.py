"""The chi-squared distribution."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.distributions import constraints
from ember.distributions.gamma import Gamma

__all__ = ["Chi2"]


class Chi2(Gamma):
    r"""The chi-squared distribution with ``df`` degrees of freedom: the sum of the squares
    of ``df`` standard normal variables, Gamma(df / 2, 1 / 2).

    .. math::

        \log p(x) = (\tfrac{k}{2} - 1) \log x - \tfrac{x}{2} - \tfrac{k}{2} \log 2
                    - \log Γ(\tfrac{k}{2})

    Args:
        df: the degrees of freedom k > 0 (a number or a tensor).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of ``df``; ``event_shape`` is ().

    Example::

        >>> Chi2(ember.tensor([2.0])).mean
        tensor([2.])
    """

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
