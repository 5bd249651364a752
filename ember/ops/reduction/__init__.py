"""Reductions (the module ``ops/reduction.py`` on its way to a package)."""

from importlib import import_module

from ember.ops.reduction.statistics import (  # noqa: F401
    __all__ as _own,
)
from ember.ops.reduction.statistics import (
    _cast,
    _expand_back,
    _flip,
    _legacy_name,
    _numpy_names,
    _reduction_args,
    all,
    amax,
    amin,
    aminmax,
    any,
    argmax,
    argmin,
    corrcoef,
    cov,
    cumprod,
    cumsum,
    dist,
    max,
    mean,
    min,
    nanmean,
    nanquantile,
    nansum,
    norm,
    prod,
    quantile,
    renorm,
    std,
    std_mean,
    sum,
    trapezoid,
    trapz,
    var,
    var_mean,
)

_SOFTMAX_FAMILY = ("log_softmax", "logcumsumexp", "logsumexp", "softmax")
__all__ = [*_own, *_SOFTMAX_FAMILY]


def __getattr__(name: str):
    # ``softmax.py`` imports its helpers from this package, so its functions are fetched
    # when first asked for: either module may load first.
    if name in _SOFTMAX_FAMILY:
        return getattr(import_module("ember.ops.softmax"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
