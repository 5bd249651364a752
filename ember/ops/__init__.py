"""ember's differentiable operations, one module per family.

Each module's ``__all__`` is its public surface; ``ember`` re-exports them all.
"""

import importlib as _importlib

from ember.ops import _out, _sparse_math
from ember.ops._function import Op as _Op
from ember.ops._tensor_math import TensorMath as _TensorMath
from ember.ops.comparison import *  # noqa: F403
from ember.ops.copy import *  # noqa: F403
from ember.ops.creation import *  # noqa: F403
from ember.ops.elementwise import *  # noqa: F403
from ember.ops.indexing import *  # noqa: F403
from ember.ops.linalg import *  # noqa: F403
from ember.ops.matmul import *  # noqa: F403
from ember.ops.random import *  # noqa: F403
from ember.ops.reduction import *  # noqa: F403
from ember.ops.shape import *  # noqa: F403
from ember.ops.softmax import *  # noqa: F403
from ember.ops.sorting import *  # noqa: F403

_FAMILIES = ("comparison", "copy", "creation", "elementwise", "indexing", "linalg", "matmul",
             "random", "reduction", "shape", "softmax", "sorting")
__all__ = sorted(
    {name for family in _FAMILIES
     for name in _importlib.import_module(f"ember.ops.{family}").__all__}
)

# out= is honoured by wrapping the public bindings once, here; the family modules keep the
# plain functions, which ember's own code and the Tensor methods call.
_out.install(globals(), __all__)

# A recorded backward (``create_graph=True``) runs each op's gradient formula on ember's
# own ops, which exist only now.
_Op.tensor_math = _TensorMath

# A sparse tensor's methods that are a sparse operation with self first, installed as the
# dense tensor's are (ember/_tensor_methods.py).
_sparse_math.install()
