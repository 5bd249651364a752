"""``ember.cuda.amp``: PyTorch's deprecated spelling of ``ember.amp`` for CUDA.

Each name warns as PyTorch's does; without CUDA, ``autocast`` does nothing and
``GradScaler`` disables itself, as PyTorch's do on a machine without CUDA.
"""

from ember.amp._deprecated import (
    CudaAutocast as autocast,
    CudaGradScaler as GradScaler,
    cuda_custom_bwd as custom_bwd,
    cuda_custom_fwd as custom_fwd,
)

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]
