"""Oracle cases for ``F.scaled_dot_product_attention`` (values, gradients, gradcheck, float32)."""

import numpy as np

from tests.oracle import Case, ErrorCase


def sdpa(lib, *args, **kwargs):
    return lib.nn.functional.scaled_dot_product_attention(*args, **kwargs)


def _with_mask(mask, *shapes):
    """q, k, v drawn from ``shapes``, then the fixed ``mask`` array."""
    return lambda rng: [rng.uniform(-2, 2, size=shape) for shape in shapes] + [np.array(mask)]


_BOOL_MASK = [[True, False, True], [False, False, False], [True, True, True]]  # row 1: none
_FLOAT_MASK = [[0.0, -np.inf, 0.5], [-np.inf, -np.inf, -np.inf], [1.0, -2.0, 0.0]]

CASES = [
    Case("nn_sdpa_3d", lambda lib, q, k, v: sdpa(lib, q, k, v), [(2, 2, 3), (2, 3, 3), (2, 3, 2)]),
    Case("nn_sdpa_4d_heads", lambda lib, q, k, v: sdpa(lib, q, k, v),
         [(1, 2, 2, 3), (1, 2, 3, 3), (1, 2, 3, 3)], gradgrad=False),
    Case("nn_sdpa_2d_unbatched", lambda lib, q, k, v: sdpa(lib, q, k, v),
         [(3, 4), (2, 4), (2, 3)], gradgrad=False),
    Case("nn_sdpa_broadcast_batch", lambda lib, q, k, v: sdpa(lib, q, k, v),
         [(2, 1, 2, 2), (1, 2, 3, 2), (1, 2, 3, 2)], gradgrad=False),
    Case("nn_sdpa_rank_mismatch", lambda lib, q, k, v: sdpa(lib, q, k, v),
         [(2, 2, 3), (3, 3), (3, 2)], gradgrad=False),
    Case("nn_sdpa_bool_mask", lambda lib, q, k, v, m: sdpa(lib, q, k, v, attn_mask=m),
         inputs=_with_mask(_BOOL_MASK, (2, 3, 2), (2, 3, 2), (2, 3, 2))),
    Case("nn_sdpa_bool_mask_broadcast_rows",
         lambda lib, q, k, v, m: sdpa(lib, q, k, v, attn_mask=m),
         inputs=_with_mask([[True, False, True]], (2, 3, 2), (2, 3, 2), (2, 3, 2)), gradgrad=False),
    Case("nn_sdpa_float_mask", lambda lib, q, k, v, m: sdpa(lib, q, k, v, attn_mask=m),
         [(2, 3, 2), (2, 3, 2), (2, 3, 2), (3, 3)], gradgrad=False),
    Case("nn_sdpa_float_mask_inf", lambda lib, q, k, v, m: sdpa(lib, q, k, v, attn_mask=m),
         inputs=_with_mask(_FLOAT_MASK, (2, 3, 2), (2, 3, 2), (2, 3, 2))),
    Case("nn_sdpa_float_mask_batched", lambda lib, q, k, v, m: sdpa(lib, q, k, v, attn_mask=m),
         [(2, 2, 2), (2, 3, 2), (2, 3, 2), (2, 2, 3)], gradgrad=False),
    Case("nn_sdpa_causal", lambda lib, q, k, v: sdpa(lib, q, k, v, is_causal=True),
         [(2, 3, 2), (2, 3, 2), (2, 3, 3)]),
    Case("nn_sdpa_causal_short_query", lambda lib, q, k, v: sdpa(lib, q, k, v, is_causal=True),
         [(2, 2, 2), (2, 4, 2), (2, 4, 2)], gradgrad=False),
    Case("nn_sdpa_causal_long_query", lambda lib, q, k, v: sdpa(lib, q, k, v, is_causal=True),
         [(1, 4, 2), (1, 2, 2), (1, 2, 3)], gradgrad=False),
    Case("nn_sdpa_scale", lambda lib, q, k, v: sdpa(lib, q, k, v, scale=0.3),
         [(2, 2, 3), (2, 3, 3), (2, 3, 2)], gradgrad=False),
    Case("nn_sdpa_negative_scale", lambda lib, q, k, v: sdpa(lib, q, k, v, scale=-1.5),
         [(2, 2, 3), (2, 3, 3), (2, 3, 2)], gradgrad=False),
    Case("nn_sdpa_gqa", lambda lib, q, k, v: sdpa(lib, q, k, v, enable_gqa=True),
         [(1, 4, 2, 2), (1, 2, 3, 2), (1, 2, 3, 2)], gradgrad=False),
    Case("nn_sdpa_large_logits", lambda lib, q, k, v: sdpa(lib, q * 30, k * 30, v),
         [(1, 2, 3), (1, 3, 3), (1, 3, 2)], gradgrad=False),
    Case("nn_sdpa_empty_query", lambda lib, q, k, v: sdpa(lib, q, k, v),
         [(2, 0, 3), (2, 3, 3), (2, 3, 2)], gradgrad=False),
    Case("nn_sdpa_empty_keys", lambda lib, q, k, v: sdpa(lib, q, k, v),
         [(2, 2, 3), (2, 0, 3), (2, 0, 2)], gradgrad=False),
]


ERRORS = [
    ErrorCase("nn_sdpa_err_1d", lambda lib: sdpa(lib, lib.zeros(4), lib.zeros(4), lib.zeros(4))),
    ErrorCase("nn_sdpa_err_dtype_mix",
              lambda lib: sdpa(lib, lib.zeros(2, 3), lib.zeros(2, 3, dtype=lib.float64),
                               lib.zeros(2, 3))),
    ErrorCase("nn_sdpa_err_int_inputs",
              lambda lib: sdpa(lib, *[lib.zeros(2, 3, dtype=lib.int64)] * 3)),
    ErrorCase("nn_sdpa_err_int_mask",
              lambda lib: sdpa(lib, *[lib.zeros(2, 3)] * 3,
                               attn_mask=lib.zeros(2, 2, dtype=lib.int64))),
    ErrorCase("nn_sdpa_err_causal_and_mask",
              lambda lib: sdpa(lib, *[lib.zeros(2, 3)] * 3, is_causal=True,
                               attn_mask=lib.ones(2, 2, dtype=lib.bool))),
    ErrorCase("nn_sdpa_err_mask_shape",
              lambda lib: sdpa(lib, lib.zeros(2, 3, 4), lib.zeros(2, 5, 4), lib.zeros(2, 5, 4),
                               attn_mask=lib.ones(4, 5, dtype=lib.bool))),
    ErrorCase("nn_sdpa_err_float_mask_shape",
              lambda lib: sdpa(lib, lib.zeros(2, 3, 4), lib.zeros(2, 5, 4), lib.zeros(2, 5, 4),
                               attn_mask=lib.zeros(3, 4))),
    ErrorCase("nn_sdpa_err_mask_grows_output",
              lambda lib: sdpa(lib, lib.zeros(2, 3, 4), lib.zeros(2, 5, 4), lib.zeros(2, 5, 4),
                               attn_mask=lib.ones(1, 1, 3, 5, dtype=lib.bool))),
    ErrorCase("nn_sdpa_err_embed_mismatch",
              lambda lib: sdpa(lib, lib.zeros(2, 3, 4), lib.zeros(2, 5, 3), lib.zeros(2, 5, 4))),
    ErrorCase("nn_sdpa_err_key_value_length",
              lambda lib: sdpa(lib, lib.zeros(2, 3, 4), lib.zeros(2, 5, 4), lib.zeros(2, 4, 4))),
    ErrorCase("nn_sdpa_err_batch_mismatch",
              lambda lib: sdpa(lib, lib.zeros(2, 3, 4), lib.zeros(3, 5, 4), lib.zeros(3, 5, 4))),
    ErrorCase("nn_sdpa_err_heads_without_gqa",
              lambda lib: sdpa(lib, lib.zeros(1, 4, 2, 2), lib.zeros(1, 2, 3, 2),
                               lib.zeros(1, 2, 3, 2))),
    ErrorCase("nn_sdpa_err_positional_scale",
              lambda lib: sdpa(lib, *[lib.zeros(2, 3)] * 3, None, 0.0, False, 0.5)),
    ErrorCase("nn_sdpa_err_gqa_heads",
              lambda lib: sdpa(lib, lib.zeros(1, 4, 2, 2), lib.zeros(1, 3, 3, 2),
                               lib.zeros(1, 3, 3, 2), enable_gqa=True)),
]
