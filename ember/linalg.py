"""``ember.linalg``: the ``torch.linalg`` namespace.

The implementations live in ``ember.ops.linalg`` (and ``ember.ops.matmul`` for the
products, ``linalg_lu``, ``linalg_ldl``, ``linalg_ex`` and ``householder`` for the LU and
LDL families, the checked ``_ex`` variants with the compositions, and the Householder
products); this module only gives them their ``torch.linalg`` names.
"""

from ember.ops import _out
from ember.ops.householder import _linalg_householder_product as householder_product
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
from ember.ops.linalg_ex import (
    _linalg_cholesky_ex as cholesky_ex,
    _linalg_cond as cond,
    _linalg_diagonal as diagonal,
    _linalg_inv_ex as inv_ex,
    _linalg_solve_ex as solve_ex,
    _linalg_tensorinv as tensorinv,
    _linalg_tensorsolve as tensorsolve,
    _linalg_vander as vander,
)
from ember.ops.linalg_ldl import (
    _linalg_ldl_factor as ldl_factor,
    _linalg_ldl_factor_ex as ldl_factor_ex,
    _linalg_ldl_solve as ldl_solve,
)
from ember.ops.linalg_lu import (
    _linalg_lu as lu,
    _linalg_lu_factor as lu_factor,
    _linalg_lu_factor_ex as lu_factor_ex,
    _linalg_lu_solve as lu_solve,
)
from ember.ops.matmul import _linalg_cross as cross, _multi_dot as multi_dot, matmul

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "ldl_factor",
    "ldl_factor_ex",
    "ldl_solve",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
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
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]

# out= is honoured by wrapping the public bindings once, as ``ember.ops`` does for its own.
_out.install(globals(), __all__, "linalg.")
