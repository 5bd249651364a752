"""``ember.linalg``: the ``torch.linalg`` namespace.

The implementations live in ``ember.ops.linalg`` (and ``ember.ops.matmul`` for the
products); this module only gives them their ``torch.linalg`` names.
"""

from ember.ops import _out
from ember.ops.linalg import LinAlgError, matrix_power
from ember.ops.linalg import _linalg_cholesky as cholesky
from ember.ops.linalg import _linalg_det as det
from ember.ops.linalg import _linalg_eigh as eigh
from ember.ops.linalg import _linalg_eigvalsh as eigvalsh
from ember.ops.linalg import _linalg_inv as inv
from ember.ops.linalg import _linalg_lstsq as lstsq
from ember.ops.linalg import _linalg_matrix_exp as matrix_exp
from ember.ops.linalg import _linalg_matrix_norm as matrix_norm
from ember.ops.linalg import _linalg_matrix_rank as matrix_rank
from ember.ops.linalg import _linalg_norm as norm
from ember.ops.linalg import _linalg_pinv as pinv
from ember.ops.linalg import _linalg_qr as qr
from ember.ops.linalg import _linalg_slogdet as slogdet
from ember.ops.linalg import _linalg_solve as solve
from ember.ops.linalg import _linalg_solve_triangular as solve_triangular
from ember.ops.linalg import _linalg_svd as svd
from ember.ops.linalg import _linalg_svdvals as svdvals
from ember.ops.linalg import _linalg_vecdot as vecdot
from ember.ops.linalg import _linalg_vector_norm as vector_norm
from ember.ops.matmul import _linalg_cross as cross
from ember.ops.matmul import _multi_dot as multi_dot
from ember.ops.matmul import matmul

__all__ = [
    "LinAlgError",
    "cholesky",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]

# out= is honoured by wrapping the public bindings once, as ``ember.ops`` does for its own.
_out.install(globals(), __all__, "linalg.")
