"""``ember.backends.cpu``: what the CPU kernels can use."""

from __future__ import annotations

from ember._backend import xp

__all__ = ["get_cpu_capability"]

# PyTorch's names, best first, for the features NumPy's kernels dispatch on.
_LEVELS = (("AVX512", ("AVX512F", "AVX512BW")), ("AVX2", ("AVX2",)), ("SVE256", ("SVE",)))


def _cpu_features() -> dict:
    core = getattr(xp, "_core", None) or getattr(xp, "core", None)
    return getattr(getattr(core, "_multiarray_umath", None), "__cpu_features__", {})


def get_cpu_capability() -> str:
    """The SIMD level of the array library's kernels: "AVX512", "AVX2", … or "DEFAULT"."""
    features = _cpu_features()
    for name, needed in _LEVELS:
        if all(features.get(feature) for feature in needed):
            return name
    return "DEFAULT"
