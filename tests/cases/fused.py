"""Cases for the fused primitives of the hot paths (``linear`` as one ``Addmm`` node).

Their gradients without ``create_graph`` come from ``backward_arrays`` (NumPy directly);
gradgradcheck goes through ``backward``, so both forms are compared with PyTorch.
"""

from tests.oracle import Case, ErrorCase


def _functional(lib):
    return lib.nn.functional


CASES = [
    Case("fused_linear", lambda lib, x, w, b: _functional(lib).linear(x, w, b),
         [(4, 3), (2, 3), (2,)]),
    Case("fused_linear_batched", lambda lib, x, w, b: _functional(lib).linear(x, w, b),
         [(2, 3, 3), (4, 3), (4,)]),
    Case("fused_linear_vector_input", lambda lib, x, w, b: _functional(lib).linear(x, w, b),
         [(3,), (2, 3), (2,)]),
    Case("fused_linear_scalar_bias", lambda lib, x, w, b: _functional(lib).linear(x, w, b),
         [(4, 3), (2, 3), ()]),
    Case("fused_linear_no_bias", lambda lib, x, w: _functional(lib).linear(x, w),
         [(4, 3), (2, 3)]),
    Case("fused_linear_empty_batch", lambda lib, x, w, b: _functional(lib).linear(x, w, b),
         [(0, 3), (2, 3), (2,)]),
    Case("fused_linear_chain",
         lambda lib, x, w1, b1, w2, b2: _functional(lib).linear(
             lib.sigmoid(_functional(lib).linear(x, w1, b1)), w2, b2),
         [(4, 2), (3, 2), (3,), (1, 3), (1,)]),
]

ERRORS = [
    ErrorCase("fused_linear_bad_width",
              lambda lib: _functional(lib).linear(lib.ones(4, 3), lib.ones(2, 5), lib.ones(2))),
    ErrorCase("fused_linear_dtype_mismatch",
              lambda lib: _functional(lib).linear(lib.ones(4, 3), lib.ones(2, 3).double(),
                                                  lib.ones(2))),
]
