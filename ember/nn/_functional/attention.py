"""``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Both are composites of ember ops (matmul, softmax, where): no hand-written backward.
Each product of the attention is one batched matmul over all leading dimensions.
"""

from __future__ import annotations

import math
import warnings

from ember import _dtype as dtypes
from ember._autocast import LOWER_PRECISION, autocasts
from ember._tensor import Tensor
from ember.nn._functional.activation import softmax
from ember.nn._functional.dropout import dropout
from ember.nn._functional.linear import linear
from ember.ops.creation import ones, zeros
from ember.ops.matmul import baddbmm, bmm, matmul
from ember.ops.shape import broadcast_shapes, cat

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


# ------------------------------------------------------------ scaled dot product attention
def _check_sdpa_inputs(query: Tensor, key: Tensor, value: Tensor, attn_mask) -> None:
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(
            "scaled_dot_product_attention: expected query, key, and value to all be at least "
            f"2 dimensional, but got query.dim: {query.dim()} key.dim: {key.dim()} and "
            f"value.dim: {value.dim()} instead."
        )
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(
            "scaled_dot_product_attention: expected query, key, and value to have the same "
            f"dtype, but got query.dtype: {query.dtype} key.dtype: {key.dtype} and "
            f"value.dtype: {value.dtype} instead."
        )
    if not query.is_floating_point():
        raise RuntimeError(
            f"scaled_dot_product_attention: expected floating point query, key and value, "
            f"but got {query.dtype}"
        )
    if attn_mask is not None and not (
        attn_mask.dtype is dtypes.bool_ or attn_mask.is_floating_point()
    ):
        raise RuntimeError(
            "scaled_dot_product_attention: expected attn_mask dtype to be bool or float or to "
            f"match query dtype, but got attn_mask.dtype: {attn_mask.dtype} and query.dtype: "
            f"{query.dtype} instead."
        )


def _repeat_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
    """Grouped-query attention: repeat each key/value head to serve a group of query heads."""
    query_heads, key_heads, value_heads = query.shape[-3], key.shape[-3], value.shape[-3]
    if query_heads == key_heads == value_heads:
        return key, value
    if query_heads % key_heads or query_heads % value_heads:
        raise RuntimeError(
            "scaled_dot_product_attention: number of heads in key and value must divide the "
            f"number of heads in query, got query heads {query_heads}, key heads {key_heads} "
            f"and value heads {value_heads}"
        )
    return (key.repeat_interleave(query_heads // key_heads, -3),
            value.repeat_interleave(query_heads // value_heads, -3))


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim whose fully masked (all -inf) rows give 0, not NaN.

    This is what PyTorch's math path computes; the gradient of those rows is 0 too.
    """
    masked_rows = (scores == float("-inf")).all(-1, keepdim=True)
    weights = softmax(scores.masked_fill(masked_rows, 0.0), -1)
    return weights.masked_fill(masked_rows, 0.0)


@autocasts(LOWER_PRECISION)
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, *, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q Kᵀ · scale + M) V, with scale = 1/√E unless given.

    Args:
        query, key, value: (*, L, E), (*, S, E) and (*, S, Ev); leading dims broadcast.
        attn_mask: bool (True = takes part) or float (added to the scores), broadcastable
            to (*, L, S).
        dropout_p: dropout probability on the attention weights (always applied when > 0).
        is_causal: mask out keys j > i (top-left aligned); exclusive with ``attn_mask``.
        scale: the factor applied to Q Kᵀ (default 1/√E).
        enable_gqa: let key/value have fewer heads (dim -3) than query.

    Rows whose keys are all masked out give zeros, as PyTorch's CPU math path.

    Shape:
        output (*, L, Ev).

    Example::

        >>> q = ember.randn(2, 4, 3, 8); k = v = ember.randn(2, 4, 5, 8)
        >>> F.scaled_dot_product_attention(q, k, v).shape
        ember.Size([2, 4, 3, 8])
    """
    _check_sdpa_inputs(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "scaled_dot_product_attention: explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if is_causal:
        attn_mask = ones(query.shape[-2], key.shape[-2], dtype=dtypes.bool_,
                         device=query.device).tril()
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    # PyTorch scales query and key by √scale each, before the product, for range.
    softmax_scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    factor = math.sqrt(abs(softmax_scale))
    query_factor = -factor if softmax_scale < 0 else factor
    scores = matmul(query * query_factor, key.transpose(-2, -1) * factor)
    if attn_mask is not None:
        if broadcast_shapes(scores.shape, attn_mask.shape) != scores.shape:
            raise RuntimeError(
                f"scaled_dot_product_attention: attn_mask of shape {list(attn_mask.shape)} "
                f"does not broadcast to the attention scores' shape {list(scores.shape)}"
            )
        if attn_mask.dtype is dtypes.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask.to(scores.dtype)
    weights = _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return matmul(weights, value)


# ------------------------------------------------------------ multi-head attention helpers
def _none_or_dtype(input: Tensor | None):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type, other_name: str,
                    target_type, check_other: bool = True) -> Tensor | None:
    """A bool mask (True = masked out) becomes a float mask of 0 and -inf."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype is not dtypes.bool_ and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(
            f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same "
            "type for both instead.",
            stacklevel=2,
        )
    if not is_float:
        mask = zeros(mask.shape, dtype=target_type, device=mask.device).masked_fill(
            mask, float("-inf")
        )
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """Check the ranks of the inputs; True when the input is batched (3-D)."""
    if query.dim() not in (2, 3):
        raise AssertionError(
            "query should be unbatched 2D or batched 3D tensor but received "
            f"{query.dim()}-D query tensor"
        )
    batched = query.dim() == 3
    kind, rank = ("batched (3-D)", 3) if batched else ("unbatched (2-D)", 2)
    if key.dim() != rank or value.dim() != rank:
        raise AssertionError(
            f"For {kind} `query`, expected `key` and `value` to be {rank}-D but found "
            f"{key.dim()}-D and {value.dim()}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.dim() != rank - 1:
        raise AssertionError(
            f"For {kind} `query`, expected `key_padding_mask` to be `None` or {rank - 1}-D "
            f"but found {key_padding_mask.dim()}-D tensor instead"
        )
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(
                f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.dim()}-D tensor instead"
            )
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(
                f"Expected `attn_mask` shape to be {expected} but got {tuple(attn_mask.shape)}"
            )
    return batched


def _in_projection_packed(q: Tensor, k: Tensor, v: Tensor, w: Tensor,
                          b: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Project q, k, v with the rows of one packed (3E, E) weight, in q, k, v order."""
    embed_dim = q.shape[-1]
    if k is v and q is k:
        return linear(q, w, b).unflatten(-1, (3, embed_dim)).unbind(-2)
    if k is v:
        w_q, w_kv = w.split([embed_dim, 2 * embed_dim])
        b_q, b_kv = (None, None) if b is None else b.split([embed_dim, 2 * embed_dim])
        k_proj, v_proj = linear(k, w_kv, b_kv).unflatten(-1, (2, embed_dim)).unbind(-2)
        return linear(q, w_q, b_q), k_proj, v_proj
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """Project q, k, v with separate weights (key and value may have their own widths)."""
    dim_q, dim_k, dim_v = q.shape[-1], k.shape[-1], v.shape[-1]
    for name, weight, expected in (("query", w_q, (dim_q, dim_q)), ("key", w_k, (dim_q, dim_k)),
                                   ("value", w_v, (dim_q, dim_v))):
        if tuple(weight.shape) != expected:
            raise AssertionError(
                f"expecting {name} weights shape of {expected}, but got {tuple(weight.shape)}"
            )
    for name, bias in (("query", b_q), ("key", b_k), ("value", b_v)):
        if bias is not None and tuple(bias.shape) != (dim_q,):
            raise AssertionError(
                f"expecting {name} bias shape of {(dim_q,)}, but got {tuple(bias.shape)}"
            )
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """Append one zero column: the extra key (bias_k or the zero key) is never masked."""
    if mask is None:
        return None
    return cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype, device=mask.device)], -1)


def _to_3d_mask(attn_mask: Tensor, batch_heads: int, target: int, source: int) -> Tensor:
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (target, source):
            raise RuntimeError(
                f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                f"{(target, source)}."
            )
        return attn_mask.unsqueeze(0)
    if tuple(attn_mask.shape) != (batch_heads, target, source):
        raise RuntimeError(
            f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
            f"{(batch_heads, target, source)}."
        )
    return attn_mask


def _canonical_masks(key_padding_mask, attn_mask, dtype, is_causal: bool,
                     need_weights: bool) -> tuple:
    """Both masks as float masks (or None), and whether ``is_causal`` still holds."""
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        return None, None, True  # scaled_dot_product_attention builds the causal mask itself
    attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", dtype, check_other=False)
    if key_padding_mask is not None:
        is_causal = False  # the merged mask is no longer causal
    return key_padding_mask, attn_mask, is_causal


def _project(query, key, value, use_separate_proj_weight, in_proj_weight, in_proj_bias,
             q_proj_weight, k_proj_weight, v_proj_weight) -> tuple[Tensor, Tensor, Tensor]:
    """The input projections of query, key and value, by the packed or the separate weights."""
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                f"{tuple(value.shape[:2])}"
            )
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError(
                "use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                "v_proj_weight is None"
            )
        biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        return _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight,
                              *biases)
    if key.shape != value.shape:
        raise AssertionError(
            f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}"
        )
    if in_proj_weight is None:
        raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
    return _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)


def _append_bias_kv(k, v, bias_k, bias_v, static_k, static_v, batch: int) -> tuple:
    """k and v (S, N, E) with the learned bias_k and bias_v as one more position each."""
    if bias_k is None or bias_v is None:
        raise AssertionError("bias_k and bias_v must both be set or both be None")
    if static_k is not None or static_v is not None:
        raise AssertionError("bias cannot be added to static key or value.")
    return cat([k, bias_k.repeat(1, batch, 1)]), cat([v, bias_v.repeat(1, batch, 1)])


def _merge_padding_mask(key_padding_mask: Tensor, attn_mask: Tensor | None, batch: int,
                        num_heads: int, source_length: int) -> Tensor:
    """The (N, S) key padding mask repeated for each head, added to the (float) attn_mask."""
    if tuple(key_padding_mask.shape) != (batch, source_length):
        raise AssertionError(
            f"Expected key_padded_mask of shape {(batch, source_length)}, but got "
            f"{tuple(key_padding_mask.shape)}"
        )
    key_padding_mask = (key_padding_mask.reshape(batch, 1, 1, source_length)
                        .expand(-1, num_heads, -1, -1)
                        .reshape(batch * num_heads, 1, source_length))
    return key_padding_mask if attn_mask is None else attn_mask + key_padding_mask


def _attention_with_weights(q, k, v, attn_mask, dropout_p: float, is_causal: bool) -> tuple:
    """softmax(Q Kᵀ/√d + M) V on (N·heads, L, d) inputs, and the weights, which the fused
    path does not keep."""
    if is_causal and attn_mask is None:
        raise AssertionError("is_causal is not implemented for need_weights")
    q_scaled = q * math.sqrt(1.0 / float(q.shape[-1]))
    if attn_mask is not None:
        weights = baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
    else:
        weights = bmm(q_scaled, k.transpose(-2, -1))
    weights = softmax(weights, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, p=dropout_p)
    return bmm(weights, v), weights


def _fused_attention(q, k, v, attn_mask, dropout_p: float, is_causal: bool, batch: int,
                     num_heads: int) -> Tensor:
    """``scaled_dot_product_attention`` with the heads as a dim of their own: (N·heads, L, d)
    inputs, (L·N, heads·d) rows out."""
    target_length, source_length, head_dim = q.shape[1], k.shape[1], q.shape[2]
    if attn_mask is not None:
        if attn_mask.shape[0] == 1:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(batch, num_heads, -1, source_length)
    q = q.reshape(batch, num_heads, target_length, head_dim)
    k = k.reshape(batch, num_heads, source_length, head_dim)
    v = v.reshape(batch, num_heads, source_length, head_dim)
    output = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    return output.permute(2, 0, 1, 3).reshape(target_length * batch, num_heads * head_dim)


# ------------------------------------------------------------ multi-head attention
def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
    bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
    out_proj_bias: Tensor | None, training: bool = True,
    key_padding_mask: Tensor | None = None, need_weights: bool = True,
    attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
    static_v: Tensor | None = None, average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention: concat_h(softmax(Q_h K_hᵀ/√d + M) V_h) W_outᵀ + b_out.

    Q, K, V are the input projections of query, key and value, split into ``num_heads``
    heads of width d = embed_dim / num_heads.

    Args:
        key_padding_mask: (N, S); True (or -inf) marks a key to ignore.
        attn_mask: (L, S) or (N·num_heads, L, S); True (or -inf) marks a pair to ignore,
            float values are added to the scores.
        need_weights: also return the attention weights (then fully masked rows are NaN,
            as PyTorch).
        average_attn_weights: average the returned weights over the heads.
        is_causal: a hint that ``attn_mask`` is the causal mask.

    Shape:
        query (L, N, E) or (L, E), key (S, N, Ek), value (S, N, Ev) → output (L, N, E),
        weights (N, L, S) averaged or (N, num_heads, L, S); unbatched inputs drop N.
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    target_length, batch, embed_dim = query.shape
    key_padding_mask, attn_mask, is_causal = _canonical_masks(
        key_padding_mask, attn_mask, query.dtype, is_causal, need_weights
    )
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    q, k, v = _project(query, key, value, use_separate_proj_weight, in_proj_weight,
                       in_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight)

    batch_heads = batch * num_heads
    if attn_mask is not None:
        attn_mask = _to_3d_mask(attn_mask, batch_heads, target_length, key.shape[0])
    if bias_k is not None or bias_v is not None:
        k, v = _append_bias_kv(k, v, bias_k, bias_v, static_k, static_v, batch)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)

    # (sequence, batch, embed) -> (batch·heads, sequence, head_dim)
    q = q.reshape(target_length, batch_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, batch_heads, head_dim, "static_k")
    v = _heads(v, static_v, batch_heads, head_dim, "static_v")
    if add_zero_attn:
        k = cat([k, zeros(batch_heads, 1, head_dim, dtype=k.dtype, device=k.device)], 1)
        v = cat([v, zeros(batch_heads, 1, head_dim, dtype=v.dtype, device=v.device)], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    source_length = k.shape[1]
    if key_padding_mask is not None:
        attn_mask = _merge_padding_mask(key_padding_mask, attn_mask, batch, num_heads,
                                        source_length)
    if not training:
        dropout_p = 0.0

    weights = None
    if need_weights:
        output, weights = _attention_with_weights(q, k, v, attn_mask, dropout_p, is_causal)
        output = output.transpose(0, 1).reshape(target_length * batch, embed_dim)
        weights = weights.reshape(batch, num_heads, target_length, source_length)
        if average_attn_weights:
            weights = weights.mean(dim=1)
    else:
        output = _fused_attention(q, k, v, attn_mask, dropout_p, is_causal, batch, num_heads)
    output = linear(output, out_proj_weight, out_proj_bias)
    output = output.reshape(target_length, batch, output.shape[1])
    if not batched:
        output = output.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return output, weights


def _heads(x: Tensor, static: Tensor | None, batch_heads: int, head_dim: int,
           name: str) -> Tensor:
    """(S, N, E) -> (N·heads, S, head_dim), or the given precomputed ``static`` tensor."""
    if static is None:
        return x.reshape(x.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads or static.shape[2] != head_dim:
        raise AssertionError(
            f"expecting {name} of shape ({batch_heads}, *, {head_dim}), but got "
            f"{tuple(static.shape)}"
        )
    return static
