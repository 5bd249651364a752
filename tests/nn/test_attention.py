"""``nn.MultiheadAttention`` and ``F.multi_head_attention_forward`` against PyTorch (copied
weights, float64: outputs, attention weights, input and parameter gradients), its masks,
initialisation, repr and errors; ``F.scaled_dot_product_attention`` dropout."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer, copy_state

RNG = np.random.default_rng(11)
L, S, N, E, H = 3, 4, 2, 6, 2
Q = RNG.standard_normal((L, N, E))
K = RNG.standard_normal((S, N, E))
V = RNG.standard_normal((S, N, E))
BOOL_ATTN = RNG.uniform(size=(L, S)) < 0.3  # True = masked out (MHA convention)
BOOL_ATTN[:, 0] = False
FLOAT_ATTN = RNG.standard_normal((L, S))
PADDING = np.array([[False, False, True, False], [False, False, False, True]])
FLOAT_PADDING = np.where(PADDING, -np.inf, 0.0)
ATTN_3D = RNG.standard_normal((N * H, L, S))


def _mha(**kwargs):
    return lambda lib: lib.nn.MultiheadAttention(E, H, **kwargs)


def _self(**kwargs):
    """Self-attention: query, key and value are the very same tensor (packed projection)."""
    return lambda module, x, *masks: module(x, x, x, *masks, **kwargs)


def _cross(**kwargs):
    """Encoder-decoder attention: key is value (its own packed path)."""
    return lambda module, q, kv, *masks: module(q, kv, kv, *masks, **kwargs)


def _masked(**kwargs):
    def call(module, q, k, v, attn_mask=None, key_padding_mask=None):
        return module(q, k, v, attn_mask=attn_mask, key_padding_mask=key_padding_mask, **kwargs)
    return call


def _with_padding(**kwargs):
    return lambda module, q, k, v, padding: module(q, k, v, key_padding_mask=padding, **kwargs)


CONFIGS = [
    ("self", _mha(), [Q], _self()),
    ("self_no_weights", _mha(), [Q], _self(need_weights=False)),
    ("self_per_head_weights", _mha(), [Q], _self(average_attn_weights=False)),
    ("self_batch_first", _mha(batch_first=True), [Q.transpose(1, 0, 2)], _self()),
    ("self_batch_first_no_weights", _mha(batch_first=True), [Q.transpose(1, 0, 2)],
     _self(need_weights=False)),
    ("cross", _mha(), [Q, K], _cross()),
    ("cross_batch_first", _mha(batch_first=True),
     [Q.transpose(1, 0, 2), K.transpose(1, 0, 2)], _cross(need_weights=False)),
    ("separate_kv", _mha(), [Q, K, V], None),
    ("separate_kv_no_weights", _mha(), [Q, K, V], _masked(need_weights=False)),
    ("kdim_vdim", _mha(kdim=3, vdim=5), [Q, K[..., :3], V[..., :5]], None),
    ("kdim_vdim_batch_first", _mha(kdim=3, vdim=5, batch_first=True),
     [Q.transpose(1, 0, 2), K[..., :3].transpose(1, 0, 2), V[..., :5].transpose(1, 0, 2)],
     _masked(need_weights=False)),
    ("no_bias", _mha(bias=False), [Q, K, V], None),
    ("bool_attn_mask", _mha(), [Q, K, V, BOOL_ATTN], _masked()),
    ("bool_attn_mask_no_weights", _mha(), [Q, K, V, BOOL_ATTN], _masked(need_weights=False)),
    ("float_attn_mask", _mha(), [Q, K, V, FLOAT_ATTN], _masked()),
    ("float_attn_mask_no_weights", _mha(), [Q, K, V, FLOAT_ATTN],
     _masked(need_weights=False)),
    ("3d_attn_mask", _mha(), [Q, K, V, ATTN_3D], _masked(average_attn_weights=False)),
    ("3d_attn_mask_no_weights", _mha(), [Q, K, V, ATTN_3D], _masked(need_weights=False)),
    ("bool_padding", _mha(), [Q, K, V, PADDING], _with_padding()),
    ("bool_padding_no_weights", _mha(), [Q, K, V, PADDING], _with_padding(need_weights=False)),
    ("float_padding", _mha(), [Q, K, V, FLOAT_PADDING], _with_padding()),
    ("padding_and_mask", _mha(), [Q, K, V, FLOAT_ATTN, FLOAT_PADDING], _masked()),
    ("padding_and_mask_no_weights", _mha(), [Q, K, V, BOOL_ATTN, PADDING],
     _masked(need_weights=False)),
    ("add_bias_kv", _mha(add_bias_kv=True), [Q, K, V, BOOL_ATTN, PADDING], _masked()),
    ("add_zero_attn", _mha(add_zero_attn=True), [Q, K, V, FLOAT_ATTN, FLOAT_PADDING],
     _masked(need_weights=False)),
    ("bias_kv_zero_attn", _mha(add_bias_kv=True, add_zero_attn=True), [Q, K, V], None),
    ("unbatched", _mha(), [Q[:, 0], K[:, 0], V[:, 0]], None),
    ("unbatched_masks", _mha(), [Q[:, 0], K[:, 0], V[:, 0], FLOAT_ATTN, FLOAT_PADDING[0]],
     _masked(need_weights=False)),
    ("unbatched_3d_mask", _mha(batch_first=True), [Q[:, 0], K[:, 0], V[:, 0], ATTN_3D[:H]],
     _masked()),
]


@pytest.mark.parametrize("name, make, inputs, call", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_multihead_attention_matches_torch(name, make, inputs, call):
    check_layer(make, inputs, call=call)


def test_eval_mode_turns_attention_dropout_off():
    check_layer(_mha(dropout=0.5), [Q, K, V], train=False)
    check_layer(_mha(dropout=0.5), [Q], call=_self(need_weights=False), train=False)


def test_causal_hint_with_causal_mask():
    causal = np.triu(np.full((L, L), -np.inf), 1)
    check_layer(_mha(), [Q, causal], call=lambda m, x, mask: m(
        x, x, x, attn_mask=mask, is_causal=True, need_weights=False))
    check_layer(_mha(), [Q, causal], call=lambda m, x, mask: m(
        x, x, x, attn_mask=mask, is_causal=True))


def test_fully_masked_row_matches_torch():
    """A query whose keys are all masked: NaN with weights (softmax), 0 without (SDPA)."""
    mask = np.zeros((L, S), dtype=bool)
    mask[1] = True
    for need_weights in (True, False):
        check_layer(_mha(), [Q, K, V, mask], call=_masked(need_weights=need_weights),
                    grad=False)


def test_functional_form_matches_module():
    torch.manual_seed(0)
    torch_module = torch.nn.MultiheadAttention(E, H, add_bias_kv=True).double()
    ember_module = ember.nn.MultiheadAttention(E, H, add_bias_kv=True).double()
    copy_state(torch_module, ember_module)

    def run(lib, module):
        q, k, v = (lib.tensor(a) for a in (Q, K, V))
        return lib.nn.functional.multi_head_attention_forward(
            q, k, v, E, H, module.in_proj_weight, module.in_proj_bias, module.bias_k,
            module.bias_v, False, 0.0, module.out_proj.weight, module.out_proj.bias,
            training=False, key_padding_mask=lib.tensor(PADDING), attn_mask=lib.tensor(BOOL_ATTN))

    expected, actual = run(torch, torch_module), run(ember, ember_module)
    for e, a in zip(expected, actual):
        np.testing.assert_allclose(a.detach().numpy(), e.detach().numpy(), atol=1e-12)


def test_state_dict_keys_and_shapes_match_torch():
    for kwargs in ({}, {"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"bias": False}):
        torch_state = torch.nn.MultiheadAttention(E, H, **kwargs).state_dict()
        ember_state = ember.nn.MultiheadAttention(E, H, **kwargs).state_dict()
        assert list(ember_state) == list(torch_state)
        for key in torch_state:
            assert tuple(ember_state[key].shape) == tuple(torch_state[key].shape)


def test_default_initialisation():
    ember.manual_seed(0)
    module = ember.nn.MultiheadAttention(16, 4, add_bias_kv=True)
    bound = math.sqrt(6 / (16 + 48))
    weight = module.in_proj_weight.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
    assert not module.in_proj_bias.detach().numpy().any()
    assert not module.out_proj.bias.detach().numpy().any()
    assert np.abs(module.out_proj.weight.detach().numpy()).max() <= 1 / math.sqrt(16)
    assert module.bias_k.detach().numpy().std() > 0
    separate = ember.nn.MultiheadAttention(16, 4, kdim=8, vdim=8)
    assert separate.in_proj_weight is None
    assert np.abs(separate.k_proj_weight.detach().numpy()).max() <= math.sqrt(6 / (16 + 8))


def test_repr_and_attributes_match_torch():
    for kwargs in ({}, {"bias": False, "batch_first": True}):
        assert repr(ember.nn.MultiheadAttention(E, H, **kwargs)) == repr(
            torch.nn.MultiheadAttention(E, H, **kwargs))
    module = ember.nn.MultiheadAttention(E, H, kdim=3)
    assert (module.head_dim, module.kdim, module.vdim, module._qkv_same_embed_dim) == (3, 3, 6,
                                                                                       False)


def _both_raise(make_call):
    with pytest.raises(Exception) as expected:
        make_call(torch)
    with pytest.raises(type(expected.value)):
        make_call(ember)


def _run(lib, *arrays, module_kwargs=None, **kwargs):
    module = lib.nn.MultiheadAttention(E, H, **(module_kwargs or {}))
    tensors = [lib.tensor(a).float() if a.dtype.kind == "f" else lib.tensor(a) for a in arrays]
    return module(*tensors, **kwargs)


ERRORS = {
    "not_divisible": lambda lib: lib.nn.MultiheadAttention(6, 4),
    "zero_heads": lambda lib: lib.nn.MultiheadAttention(6, 0),
    "attn_mask_2d_shape": lambda lib: _run(lib, Q, K, V, attn_mask=lib.zeros(L, L)),
    "attn_mask_3d_shape": lambda lib: _run(lib, Q, K, V, attn_mask=lib.zeros(N, L, S)),
    "attn_mask_4d": lambda lib: _run(lib, Q, K, V, attn_mask=lib.zeros(1, N * H, L, S)),
    "attn_mask_int": lambda lib: _run(lib, Q, K, V,
                                      attn_mask=lib.zeros(L, S, dtype=lib.int64)),
    "padding_shape": lambda lib: _run(lib, Q, K, V, key_padding_mask=lib.zeros(N, L,
                                                                               dtype=lib.bool)),
    "padding_rank": lambda lib: _run(lib, Q, K, V, key_padding_mask=lib.zeros(S,
                                                                              dtype=lib.bool)),
    "causal_without_mask": lambda lib: _run(lib, Q, K, V, is_causal=True),
    "query_4d": lambda lib: _run(lib, Q[None], K[None], V[None]),
    "key_rank": lambda lib: _run(lib, Q, K[:, 0], V[:, 0]),
    "embed_mismatch": lambda lib: _run(lib, Q[..., :4], K[..., :4], V[..., :4]),
    "key_value_mismatch": lambda lib: _run(lib, Q, K, V[:3]),
    "kdim_mismatch": lambda lib: _run(lib, Q, K[..., :2], V, module_kwargs={"kdim": 3}),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_bad_input_raises_like_torch(name):
    _both_raise(ERRORS[name])


def test_mismatched_mask_types_warn_like_torch():
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _run(lib, Q, K, V, attn_mask=lib.zeros(L, S), key_padding_mask=lib.tensor(PADDING))
        assert any("mismatched key_padding_mask and attn_mask" in str(w.message)
                   for w in caught), lib.__name__


def test_sdpa_dropout_uses_ember_rng():
    q, k, v = (ember.tensor(a) for a in (Q[:, 0], K[:, 0], V[:, 0]))
    F = ember.nn.functional
    ember.manual_seed(3)
    first = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ember.manual_seed(3)
    second = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    plain = F.scaled_dot_product_attention(q, k, v)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert not np.allclose(first.numpy(), plain.numpy())
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert not dropped.numpy().any()


def test_sdpa_dropout_keeps_expected_value():
    """E[dropout(weights)] = weights, so the mean over many draws approaches the plain output."""
    F = ember.nn.functional
    k = ember.tensor(np.broadcast_to(K[:3, 0, :3], (2000, 3, 3)).copy())
    v = ember.tensor(np.broadcast_to(V[:3, 0, :2], (2000, 3, 2)).copy())
    q = ember.tensor(np.broadcast_to(Q[:2, 0, :3], (2000, 2, 3)).copy())
    ember.manual_seed(0)
    mean = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).mean(0)
    plain = F.scaled_dot_product_attention(q[:1], k[:1], v[:1])[0]
    np.testing.assert_allclose(mean.numpy(), plain.numpy(), atol=0.1)


def test_training_dropout_changes_output_and_backpropagates():
    ember.manual_seed(1)
    module = ember.nn.MultiheadAttention(E, H, dropout=0.5).double()
    x = ember.tensor(Q, requires_grad=True)
    output, _ = module(x, x, x)
    module.eval()
    reference, _ = module(x, x, x)
    assert not np.allclose(output.detach().numpy(), reference.detach().numpy())
    output.sum().backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()
