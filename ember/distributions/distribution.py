"""``Distribution``: the base class of every probability distribution.

A distribution has a ``batch_shape`` (independent, differently parameterized copies) and
an ``event_shape`` (the shape of one draw: () for a scalar distribution, (k,) for a
k-variate one). ``sample(sample_shape)`` returns a tensor of shape
``sample_shape + batch_shape + event_shape``; ``log_prob(value)`` one log-density per
event, of the broadcast shape less ``event_shape``.
"""

from __future__ import annotations

import warnings
from functools import partial

from ember import _tape, ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.utils import _as_size, lazy_property
from ember.ops._function import Check

__all__ = ["Distribution"]


class Distribution:
    """The base class of probability distributions.

    Subclasses set ``arg_constraints`` (a constraint per parameter) and ``support``, and
    implement what they can of ``rsample``/``sample``, ``log_prob``, ``cdf``, ``icdf``,
    ``entropy``, ``mean``, ``mode``, ``variance`` and ``expand``.

    Args:
        batch_shape: the shape over which parameters are batched.
        event_shape: the shape of a single sample (without batching).
        validate_args: whether to check the parameters against ``arg_constraints`` now,
            and each ``log_prob`` value against ``support``. ``None`` takes the class-wide
            default (``set_default_validate_args``), which is on unless Python runs with
            ``-O``, as in PyTorch.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn validation of every distribution's arguments on or off by default."""
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = _as_size(batch_shape)
        self._event_shape = _as_size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()
        super().__init__()

    def _check_parameters(self) -> None:
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
            warnings.warn(
                f"{self.__class__} does not define `arg_constraints`. Please set "
                "`arg_constraints = {}` or initialize the distribution with "
                "`validate_args=False` to turn off validation.",
                stacklevel=3,
            )
        for name, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue
            # a parameter computed from another on first read is checked through that one
            if name not in self.__dict__ and isinstance(getattr(type(self), name),
                                                        lazy_property):
                continue
            value = getattr(self, name)
            _check(constraint, value, "Expected parameter {name} ({kind} of shape {shape}) of "
                   f"distribution {self!r} to satisfy the constraint {constraint!r}, but found "
                   "invalid values:\n{value}", name)

    def expand(self, batch_shape, _instance=None):
        """A new distribution with its batch dims expanded to ``batch_shape`` (as
        ``Tensor.expand``: parameters are views, not copies).

        ``_instance`` is the subclass's new, uninitialized instance, when a subclass
        calls up to fill in its own fields first.
        """
        raise NotImplementedError

    @property
    def batch_shape(self) -> Size:
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict:
        """A constraint for each parameter, which ``validate_args`` checks."""
        raise NotImplementedError

    @property
    def support(self):
        """The constraint that the distribution's values satisfy."""
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        """√variance."""
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()) -> Tensor:
        """A sample of shape ``sample_shape + batch_shape + event_shape``, outside any
        graph (no gradient flows to the parameters)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()) -> Tensor:
        """A reparameterized sample of shape ``sample_shape + batch_shape + event_shape``:
        a differentiable function of the parameters and of parameter-free noise."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        """``sample((n,))``, under its old name."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
                      FutureWarning, stacklevel=2)
        return self.sample(Size((n,)))

    def log_prob(self, value: Tensor) -> Tensor:
        """The log of the density (or mass) at ``value``, one per event."""
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        """The inverse of ``cdf``: the quantile at probability ``value``."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every value of a discrete distribution's support, along a new leading dim:
        ``(cardinality,) + batch_shape + event_shape`` when ``expand``, else with the
        batch dims of size 1."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """H = -E[log p(X)], one per batch entry."""
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        """exp(entropy)."""
        return ops.exp(self.entropy())

    def _extended_shape(self, sample_shape=Size()) -> Size:
        """``sample_shape + batch_shape + event_shape``."""
        return Size(tuple(_as_size(sample_shape)) + tuple(self._batch_shape)
                    + tuple(self._event_shape))

    def _validate_sample(self, value) -> None:
        """Raise ValueError unless ``value`` is a tensor of a shape that broadcasts with the
        batch and event shapes and lies in the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_start:]) != tuple(self._event_shape):
            raise ValueError(
                "The right-most size of value must match event_shape: "
                f"{value.size()} vs {self._event_shape}."
            )
        actual = value.size()
        expected = Size(tuple(self._batch_shape) + tuple(self._event_shape))
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    "Value is not broadcastable with batch_shape+event_shape: "
                    f"{actual} vs {expected}."
                )
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(
                f"{self.__class__} does not define `support` to enable sample validation. "
                "Please initialize the distribution with `validate_args=False` to turn off "
                "validation.",
                stacklevel=3,
            )
            return
        _check(support, value, "Expected value argument ({kind} of shape {shape}) to be within "
               f"the support ({support!r}) of the distribution {self!r}, but found invalid "
               "values:\n{value}")

    def _get_checked_instance(self, cls, _instance=None):
        """A fresh, uninitialized instance of this distribution's class, for ``expand``."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method."
            )
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self) -> str:
        names = [name for name in self.arg_constraints if name in self.__dict__]
        shown = []
        for name in names:
            value = self.__dict__[name]
            shown.append(f"{name}: {value if value.numel() == 1 else value.size()}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _expand_parameters(distribution, cls, batch_shape, _instance, names) -> Distribution:
    """``distribution.expand(batch_shape)`` for a class whose parameters (``names``) all have
    the batch shape: a new instance of ``cls`` holding expanded views of them."""
    new = distribution._get_checked_instance(cls, _instance)
    batch_shape = _as_size(batch_shape)
    for name in names:
        if name in distribution.__dict__:
            setattr(new, name, getattr(distribution, name).expand(batch_shape))
    Distribution.__init__(new, batch_shape, distribution.event_shape, validate_args=False)
    new._validate_args = distribution._validate_args
    return new


def _check(constraint, value: Tensor, message: str, name: str = "") -> None:
    """Raise ValueError with ``message`` (its ``{name}``, ``{kind}``, ``{shape}`` and
    ``{value}`` filled in) unless every entry of ``value`` satisfies ``constraint``. While a
    compiled call records, an op (``Check``), so that each replay checks that call's values."""
    if _tape.current() is None:
        _refuse_outside(constraint, message, name, value)
    else:
        Check.values(partial(_refuse_outside_array, constraint, message, name), value)


def _refuse_outside(constraint, message: str, name: str, value: Tensor) -> None:
    if not bool(constraint.check(value).all()):
        raise ValueError(message.format(name=name, kind=type(value).__name__,
                                        shape=tuple(value.shape), value=value))


def _refuse_outside_array(constraint, message: str, name: str, array) -> None:
    with _tape.muted(), no_grad():
        _refuse_outside(constraint, message, name, Tensor._make(array))
