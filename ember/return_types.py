"""The named tuples that ops with several results return, as ``torch.return_types`` has them."""

from __future__ import annotations

from typing import NamedTuple

from ember._tensor import Tensor


def _pair(name: str, first: str = "values", second: str = "indices"):
    return NamedTuple(name, [(first, Tensor), (second, Tensor)])


max = _pair("max")
min = _pair("min")
sort = _pair("sort")
topk = _pair("topk")
kthvalue = _pair("kthvalue")
median = _pair("median")
nanmedian = _pair("nanmedian")
mode = _pair("mode")
cummax = _pair("cummax")
cummin = _pair("cummin")
aminmax = _pair("aminmax", "min", "max")
var_mean = _pair("var_mean", "var", "mean")  # PyTorch returns a plain tuple; fields are a courtesy
std_mean = _pair("std_mean", "std", "mean")
slogdet = _pair("slogdet", "sign", "logabsdet")
qr = _pair("qr", "Q", "R")
eigh = _pair("eigh", "eigenvalues", "eigenvectors")
geqrf = _pair("geqrf", "a", "tau")
frexp = _pair("frexp", "mantissa", "exponent")
class svd(NamedTuple):
    U: Tensor
    S: Tensor
    V: Tensor
class linalg_svd(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor
class lstsq(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor
linalg_lu_factor = _pair("linalg_lu_factor", "LU", "pivots")
linalg_inv_ex = _pair("linalg_inv_ex", "inverse", "info")
linalg_solve_ex = _pair("linalg_solve_ex", "result", "info")
linalg_cholesky_ex = _pair("linalg_cholesky_ex", "L", "info")
linalg_ldl_factor = _pair("linalg_ldl_factor", "LD", "pivots")
class linalg_lu_factor_ex(NamedTuple):
    LU: Tensor
    pivots: Tensor
    info: Tensor
class _lu_with_info(NamedTuple):
    LU: Tensor
    pivots: Tensor
    info: Tensor
class linalg_lu(NamedTuple):
    P: Tensor
    L: Tensor
    U: Tensor
class lu_unpack(NamedTuple):
    P: Tensor
    L: Tensor
    U: Tensor
class linalg_ldl_factor_ex(NamedTuple):
    LD: Tensor
    pivots: Tensor
    info: Tensor
