"""The von Mises distribution: a normal distribution wrapped around the circle."""

from __future__ import annotations

import math

from ember import ops
from ember._dtype import bool_, float64
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.distribution import Distribution, _expand_parameters
from ember.distributions.utils import broadcast_all, lazy_property

__all__ = ["VonMises"]

# The polynomial approximations of Abramowitz & Stegun (9.8.1–9.8.4) to the modified Bessel
# functions I_0 and I_1, as PyTorch's distribution uses them (relative error below 2e-7),
# so that log-densities are PyTorch's to the last digit: below 3.75 in t = (x / 3.75)²,
# I_0(x) and I_1(x) / x; above it in t = 3.75 / x, √x e^{-x} I_n(x).
_SMALL = {
    0: [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813],
    1: [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411],
}
_LARGE = {
    0: [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706,
        0.02635537, -0.01647633, 0.00392377],
    1: [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967,
        -0.02895312, 0.01787654, -0.00420059],
}


def _polynomial(t: Tensor, coefficients: list) -> Tensor:
    """Σ_i c_i t^i, by Horner's rule."""
    result = coefficients[-1] * ops.ones_like(t)
    for coefficient in reversed(coefficients[:-1]):
        result = result * t + coefficient
    return result


def _log_modified_bessel_fn(x: Tensor, order: int = 0) -> Tensor:
    """log I_order(x) for x > 0, order 0 or 1."""
    small = _polynomial((x / 3.75).pow(2), _SMALL[order])
    if order == 1:
        small = x.abs() * small
    small = small.log()
    large = x - 0.5 * x.log() + _polynomial(3.75 / x, _LARGE[order]).log()
    return ops.where(x < 3.75, small, large)


def _rejection_sample(loc, concentration, proposal_r, x) -> Tensor:
    """Best & Fisher's (1979) sampler: a wrapped Cauchy proposal, accepted by two tests,
    redrawn wherever it was rejected until every entry has a draw."""
    done = ops.zeros(tuple(x.shape), dtype=bool_, device=loc.device)
    while not bool(done.all()):
        u = ops.rand((3,) + tuple(x.shape), dtype=loc.dtype, device=loc.device)
        u1, u2, u3 = u.unbind()
        z = ops.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        if bool(accept.any()):
            x = ops.where(accept, (u3 - 0.5).sign() * f.acos(), x)
            done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    r"""The von Mises distribution with mean direction μ (``loc``) and concentration κ:
    the circle's counterpart of the normal distribution, over angles in [-π, π).

    .. math::

        \log p(x) = κ \cos(x - μ) - \log 2π - \log I_0(κ)

    Samples are drawn by rejection (Best & Fisher, 1979), in float64; there is no
    reparameterized sample.

    Args:
        loc: μ, an angle in radians (a number or a tensor).
        concentration: κ > 0, the inverse of the spread.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of the parameters; ``event_shape`` is ().

    Example::

        >>> VonMises(0.0, 1.0).log_prob(ember.tensor(0.0))
        tensor(-1.0642)
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        batch_shape = self.loc.shape
        super().__init__(batch_shape, Size(), validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_parameters(self, VonMises, batch_shape, _instance,
                                  ("loc", "concentration"))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * ops.cos(value - self.loc)
        return (log_prob - math.log(2 * math.pi)
                - _log_modified_bessel_fn(self.concentration, order=0))

    @lazy_property
    def _proposal_r(self) -> Tensor:
        """The wrapped Cauchy's parameter r = (1 + ρ²) / 2ρ, ρ = (τ - √(2τ)) / 2κ,
        τ = 1 + √(1 + 4κ²); 1/κ + κ for tiny κ, where that loses its digits."""
        kappa = self.concentration.to(float64)
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        proposal_r = (1 + rho**2) / (2 * rho)
        proposal_r_taylor = 1 / kappa + kappa
        return ops.where(kappa < 1e-5, proposal_r_taylor, proposal_r)

    def sample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            loc, concentration = self.loc.to(float64), self.concentration.to(float64)
            x = ops.empty(shape, dtype=float64, device=self.loc.device)
            return _rejection_sample(loc, concentration, self._proposal_r.detach(),
                                     x).to(self.loc.dtype)

    @property
    def mean(self) -> Tensor:
        """The mean direction μ."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        """The circular variance 1 - I_1(κ) / I_0(κ)."""
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
