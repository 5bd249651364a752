"""Reductions over one, several or all dims (with ``keepdim``), and cumulative scans.

Every gradient here is written with ember's own ops so it can be differentiated again.
Gradients that pick elements (max along a dim, ties of ``amax``, quantile ranks) are
a constant mask times the incoming gradient, which needs no gather or scatter.

``sums`` holds the sums, means, products and ``all``/``any``; ``extrema`` max, min and
their indices; ``statistics`` variance, norms, covariance and the trapezoidal rule;
``scans`` the cumulative scans and quantiles. The softmax family (softmax, log_softmax,
logsumexp, logcumsumexp) is in ``softmax.py``, which imports the helpers of ``_common``.
"""

from ember.ops.reduction._common import _cast, _expand_back, _legacy_name, _reduction_args
from ember.ops.reduction.extrema import amax, amin, aminmax, argmax, argmin, max, min
from ember.ops.reduction.scans import cumprod, cumsum, nanquantile, quantile
from ember.ops.reduction.statistics import (
    corrcoef,
    cov,
    dist,
    norm,
    renorm,
    std,
    std_mean,
    trapezoid,
    trapz,
    var,
    var_mean,
)
from ember.ops.reduction.sums import all, any, mean, nanmean, nansum, prod, sum

__all__ = [
    "renorm",
    "all",
    "amax",
    "amin",
    "aminmax",
    "corrcoef",
    "cov",
    "any",
    "argmax",
    "argmin",
    "cumprod",
    "cumsum",
    "dist",
    "max",
    "mean",
    "min",
    "nanmean",
    "nanquantile",
    "nansum",
    "norm",
    "prod",
    "quantile",
    "std",
    "std_mean",
    "sum",
    "trapezoid",
    "trapz",
    "var",
    "var_mean",
]
