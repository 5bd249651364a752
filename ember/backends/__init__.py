"""``ember.backends``: the backend switches PyTorch scripts set and read.

Each flag has PyTorch's default and can be set, read, and (for cuDNN and opt_einsum)
changed for a ``with ...flags(...)`` block. None of them changes what ember computes:

- ``cuda.matmul.allow_tf32``, ``cudnn.allow_tf32``, ``cudnn.benchmark``,
  ``cudnn.deterministic`` and ``cudnn.enabled`` steer CUDA kernels, and ember has none, so
  they are only stored. As in PyTorch, ``cudnn.deterministic`` does not switch on
  ``ember.use_deterministic_algorithms`` (every ember op is deterministic anyway).
- ``cuda.is_built()``, ``mps.is_available()`` and ``mps.is_built()`` are False: ember is
  built for the CPU only.
- ``cpu.get_cpu_capability()`` names the SIMD level of the array library's own kernels.
- ``opt_einsum.is_available()`` is False: ``ember.einsum`` contracts without the
  opt_einsum package, so ``enabled`` is False and ``set_flags``/``flags`` refuse to turn
  it on with the ValueError PyTorch raises when opt_einsum is not installed.
- ``mkldnn.is_available()`` and ``mkl.is_available()`` are False (NumPy's kernels only);
  ``mkldnn.enabled``/``deterministic`` are stored, with ``set_flags``/``flags``.
"""

from ember.backends import cpu, cuda, cudnn, mkl, mkldnn, mps, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "opt_einsum"]
