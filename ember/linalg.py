"""``ember.linalg``: the ``torch.linalg`` namespace.

The implementations live in ``ember.ops.linalg`` (and ``ember.ops.matmul`` for the
products); this module only gives them their ``torch.linalg`` names.
"""

from ember.ops import _out
from ember.ops.linalg import (
    LinAlgError,
    _linalg_cholesky as cholesky,
    _linalg_det as det,
    _linalg_eigh as eigh,
    _linalg_eigvalsh as eigvalsh,
    _linalg_inv as inv,
    _linalg_lstsq as lstsq,
    _linalg_matrix_exp as matrix_exp,
    _linalg_matrix_norm as matrix_norm,
    _linalg_matrix_rank as matrix_rank,
    _linalg_norm as norm,
    _linalg_pinv as pinv,
    _linalg_qr as qr,
    _linalg_slogdet as slogdet,
    _linalg_solve as solve,
    _linalg_solve_triangular as solve_triangular,
    _linalg_svd as svd,
    _linalg_svdvals as svdvals,
    _linalg_vecdot as vecdot,
    _linalg_vector_norm as vector_norm,
    matrix_power,
)
from ember.ops.matmul import _linalg_cross as cross, _multi_dot as multi_dot, matmul

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
