"""ember: a deep learning framework you can read end to end, speaking PyTorch's API.

``import ember as torch`` runs PyTorch scripts that use what ember implements.
"""

# The layers in their order (docs/ARCHITECTURE.md): the tensor's state, autograd, the ops,
# and the methods that are "the op of that name with self first", installed below once both
# exist; then the library built on them.
from ember._tensor import Size, Tensor  # noqa: I001  (the order below is the layers')
from ember import autograd, ops
from ember import _tensor_methods
import math as _math

import ember.utils.checkpoint
from ember import (
    accelerator,
    amp,
    backends,
    cpu,
    cuda,
    distributed,
    func,
    linalg,
    nn,
    optim,
    random,
    return_types,
    sparse,
    utils,
)
from ember._backend import get_num_threads, set_num_threads
from ember._device import device
from ember._dtype import (
    bfloat16,
    bool_ as bool,
    can_cast,
    dtype,
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type as _result_type,
    set_default_dtype,
    uint8,
)
from ember._memory_format import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from ember._tensor_str import set_printoptions

# Automatic mixed precision: ``ember.autocast`` and its state (``ember.amp``, with the
# deprecated ``ember.cuda.amp`` / ``ember.cpu.amp`` spellings).
from ember.amp import autocast
from ember.amp.autocast_mode import (
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from ember.autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.ops import *  # noqa: F403
from ember.ops._sparse_math import (
    matmul as _sparse_matmul,
    spmm,
)
from ember.ops.histogram import histogram, histogramdd
from ember.ops.householder import geqrf, orgqr, ormqr
from ember.ops.linalg_lu import lu, lu_solve, lu_unpack
from ember.ops.sparse import (
    SparseTensor as _SparseTensor,
    sparse_coo,
    sparse_coo_tensor,
    sparse_csr,
    sparse_csr_tensor,
    strided,
)
from ember.serialization import load, save
from ember._compile import compile
from ember.func import vmap

# The torch.* top-level spellings of functional forms, in-place aliases, windows and
# process-wide settings (the special, testing, jit and onnx namespaces load on first use).
from ember._toplevel import *  # noqa: F403
from ember._toplevel_misc import *  # noqa: F403
from ember._toplevel_views import *  # noqa: F403
from ember._foreach import *  # noqa: F403

_tensor_methods.install(Tensor)
_tensor_methods.install_above(Tensor, globals())

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

__version__ = "0.1.0"


# Namespaces loaded on first use, not at import: ember.viz pulls in plotting helpers, and
# the others are rarely used and cost import time (``import ember.special`` also works).
_LAZY_NAMESPACES = {"viz", "special", "testing", "jit", "onnx", "compiler", "_dynamo",
                    "distributions", "profiler"}


def __getattr__(name: str):
    if name in _LAZY_NAMESPACES:
        import importlib

        return importlib.import_module(f"ember.{name}")
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


def is_complex(input: Tensor) -> "bool":
    """Always False: ember has no complex dtypes."""
    return False


class _Determinism:
    """What ``use_deterministic_algorithms`` was last told (ember's ops are all deterministic)."""

    mode = False
    warn_only = False


_determinism = _Determinism()


def use_deterministic_algorithms(mode: "bool", *, warn_only: "bool" = False) -> None:
    """Accepted for parity: every ember op is already deterministic on the CPU."""
    _determinism.mode, _determinism.warn_only = mode, warn_only


def are_deterministic_algorithms_enabled() -> "bool":
    return _determinism.mode


def is_tensor(obj) -> "bool":
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> "bool":
    return input.is_floating_point()


def numel(input: Tensor) -> "int":
    return input.numel()


def result_type(tensor1, tensor2) -> dtype:
    """The dtype PyTorch's promotion gives an operation on these two operands."""
    return _result_type(tensor1, tensor2)


inf, nan = _math.inf, _math.nan
pi, e = _math.pi, _math.e
newaxis = None

# ---------------------------------------------------------------- sparse tensors
_dense_mm, _dense_matmul = ops.mm, ops.matmul


def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """The product of two matrices ``(n, m) @ (m, p) -> (n, p)``; either may be sparse."""
    if isinstance(input, _SparseTensor) or isinstance(mat2, _SparseTensor):
        return _sparse_matmul(input, mat2)
    return _dense_mm(input, mat2, out=out)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``input @ other`` for any ranks >= 1 (see ``ember.ops.matmul``); either may be sparse."""
    if isinstance(input, _SparseTensor) or isinstance(other, _SparseTensor):
        return _sparse_matmul(input, other)
    return _dense_matmul(input, other, out=out)

