"""The Transformer family against PyTorch (copied weights, float64, outputs and the gradients
of inputs and parameters): encoder and decoder layers, stacks, ``nn.Transformer``, the causal
mask helper, state dicts, reprs and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer

RNG = np.random.default_rng(5)
S, T, N, D, H, FF = 4, 3, 2, 6, 2, 8
SRC = RNG.standard_normal((S, N, D))
TGT = RNG.standard_normal((T, N, D))
SRC_PADDING = np.array([[False, False, False, True], [False, True, False, False]])
TGT_PADDING = np.array([[False, False, True], [False, False, False]])
CAUSAL = np.triu(np.full((T, T), -np.inf), 1)
SRC_CAUSAL = np.triu(np.full((S, S), -np.inf), 1)
BOOL_SRC_MASK = np.triu(np.ones((S, S), dtype=bool), 1)
MEMORY_MASK = RNG.standard_normal((T, S))


def _encoder_layer(**kwargs):
    options = {"dim_feedforward": FF, "dropout": 0.0, **kwargs}
    return lambda lib: lib.nn.TransformerEncoderLayer(D, H, **options)


def _decoder_layer(**kwargs):
    options = {"dim_feedforward": FF, "dropout": 0.0, **kwargs}
    return lambda lib: lib.nn.TransformerDecoderLayer(D, H, **options)


ENCODER_LAYERS = [
    ("post_norm_relu", _encoder_layer(), [SRC], None),
    ("pre_norm_relu", _encoder_layer(norm_first=True), [SRC], None),
    ("post_norm_gelu", _encoder_layer(activation="gelu"), [SRC], None),
    ("pre_norm_gelu", _encoder_layer(activation="gelu", norm_first=True), [SRC], None),
    ("gelu_module", lambda lib: lib.nn.TransformerEncoderLayer(
        D, H, FF, 0.0, activation=lib.nn.GELU()), [SRC], None),
    ("callable_activation", lambda lib: lib.nn.TransformerEncoderLayer(
        D, H, FF, 0.0, activation=lib.nn.functional.silu), [SRC], None),
    ("no_bias", _encoder_layer(bias=False), [SRC], None),
    ("eps", _encoder_layer(layer_norm_eps=0.1), [SRC], None),
    ("batch_first", _encoder_layer(batch_first=True), [SRC.transpose(1, 0, 2)], None),
    ("float_mask", _encoder_layer(), [SRC, SRC_CAUSAL], None),
    ("bool_mask", _encoder_layer(norm_first=True), [SRC, BOOL_SRC_MASK], None),
    ("padding", _encoder_layer(), [SRC, SRC_PADDING],
     lambda m, src, padding: m(src, src_key_padding_mask=padding)),
    ("mask_and_padding", _encoder_layer(), [SRC, BOOL_SRC_MASK, SRC_PADDING], None),
    ("causal_hint", _encoder_layer(), [SRC, SRC_CAUSAL],
     lambda m, src, mask: m(src, src_mask=mask, is_causal=True)),
    ("unbatched", _encoder_layer(), [SRC[:, 0]], None),
]


@pytest.mark.parametrize("name, make, inputs, call", ENCODER_LAYERS,
                         ids=[c[0] for c in ENCODER_LAYERS])
def test_encoder_layer_matches_torch(name, make, inputs, call):
    check_layer(make, inputs, call=call)


def test_encoder_layer_eval_mode_turns_dropout_off():
    check_layer(lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF), [SRC], train=False)
    check_layer(lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF, batch_first=True),
                [SRC.transpose(1, 0, 2)], train=False)


def test_encoder_layer_eval_without_grad_matches_torch_fast_path():
    """PyTorch takes its fused fast path here; ember's composed path agrees to rounding."""
    torch.manual_seed(0)
    torch_layer = torch.nn.TransformerEncoderLayer(D, H, FF, batch_first=True).double().eval()
    ember_layer = ember.nn.TransformerEncoderLayer(D, H, FF, batch_first=True).double().eval()
    ember_layer.load_state_dict({k: ember.tensor(v.numpy()) for k, v in
                                 torch_layer.state_dict().items()})
    src = SRC.transpose(1, 0, 2)
    with torch.no_grad():
        expected = torch_layer(torch.tensor(src), src_key_padding_mask=torch.tensor(SRC_PADDING))
    with ember.no_grad():
        actual = ember_layer(ember.tensor(src), src_key_padding_mask=ember.tensor(SRC_PADDING))
    # The fast path returns zeros at padded positions (nested tensors); compare the rest.
    keep = ~SRC_PADDING
    np.testing.assert_allclose(actual.numpy()[keep], expected.numpy()[keep], atol=1e-6)


def _encoder(num_layers=2, norm=True, **kwargs):
    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(D, H, FF, 0.0, **kwargs)
        final = lib.nn.LayerNorm(D) if norm else None
        return lib.nn.TransformerEncoder(layer, num_layers, final, enable_nested_tensor=False)
    return make


def test_encoder_two_layers_causal_mask():
    check_layer(_encoder(), [SRC, SRC_CAUSAL], call=lambda m, src, mask: m(src, mask=mask))


def test_encoder_two_layers_causal_hint_batch_first_padding():
    check_layer(_encoder(norm=False, batch_first=True, norm_first=True),
                [SRC.transpose(1, 0, 2), SRC_CAUSAL, SRC_PADDING],
                call=lambda m, src, mask, padding: m(src, mask=mask, is_causal=True,
                                                     src_key_padding_mask=padding))


def test_encoder_bool_mask_and_gelu():
    check_layer(_encoder(activation="gelu"), [SRC, BOOL_SRC_MASK],
                call=lambda m, src, mask: m(src, mask))


def test_encoder_layers_are_independent_copies():
    layer = ember.nn.TransformerEncoderLayer(D, H, FF)
    encoder = ember.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    first, second = encoder.layers[0], encoder.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.detach().numpy(),
                                  layer.linear1.weight.detach().numpy())
    torch_encoder = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, H, FF), 2,
                                                enable_nested_tensor=False)
    assert list(encoder.state_dict()) == list(torch_encoder.state_dict())


def test_encoder_nested_tensor_warning_like_torch():
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            encoder = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(D, H, FF), 2)
        messages = [str(w.message) for w in caught]
        assert any("self_attn.batch_first was not True" in m for m in messages), lib.__name__
        assert encoder.use_nested_tensor is False


def _decoder_call(module, tgt, memory, tgt_mask=None, memory_mask=None, tgt_padding=None,
                  memory_padding=None):
    return module(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                  tgt_key_padding_mask=tgt_padding, memory_key_padding_mask=memory_padding)


DECODER_LAYERS = [
    ("post_norm", _decoder_layer(), [TGT, SRC], None),
    ("pre_norm_gelu", _decoder_layer(norm_first=True, activation="gelu"), [TGT, SRC], None),
    ("masks", _decoder_layer(), [TGT, SRC, CAUSAL, MEMORY_MASK, TGT_PADDING, SRC_PADDING],
     _decoder_call),
    ("masks_pre_norm", _decoder_layer(norm_first=True),
     [TGT, SRC, CAUSAL, MEMORY_MASK, TGT_PADDING, SRC_PADDING], _decoder_call),
    ("causal_hint", _decoder_layer(), [TGT, SRC, CAUSAL],
     lambda m, tgt, memory, mask: m(tgt, memory, tgt_mask=mask, tgt_is_causal=True)),
    ("batch_first", _decoder_layer(batch_first=True),
     [TGT.transpose(1, 0, 2), SRC.transpose(1, 0, 2), CAUSAL], _decoder_call),
    ("no_bias", _decoder_layer(bias=False), [TGT, SRC], None),
    ("unbatched", _decoder_layer(), [TGT[:, 0], SRC[:, 0], CAUSAL], _decoder_call),
]


@pytest.mark.parametrize("name, make, inputs, call", DECODER_LAYERS,
                         ids=[c[0] for c in DECODER_LAYERS])
def test_decoder_layer_matches_torch(name, make, inputs, call):
    check_layer(make, inputs, call=call)


def test_decoder_two_layers_with_norm():
    def make(lib):
        layer = lib.nn.TransformerDecoderLayer(D, H, FF, 0.0)
        return lib.nn.TransformerDecoder(layer, 2, lib.nn.LayerNorm(D))

    check_layer(make, [TGT, SRC, CAUSAL, TGT_PADDING], call=lambda m, tgt, memory, mask, pad: m(
        tgt, memory, tgt_mask=mask, tgt_key_padding_mask=pad))


def _transformer(lib, **kwargs):
    return lib.nn.Transformer(D, H, 1, 1, FF, 0.0, **kwargs)


def test_transformer_matches_torch():
    check_layer(_transformer, [SRC, TGT, CAUSAL, SRC_PADDING],
                call=lambda m, src, tgt, mask, pad: m(src, tgt, tgt_mask=mask,
                                                      src_key_padding_mask=pad,
                                                      memory_key_padding_mask=pad))


def test_transformer_state_dict_repr_and_init():
    ember_model = ember.nn.Transformer(D, H, 2, 1, FF)
    torch_model = torch.nn.Transformer(D, H, 2, 1, FF)
    assert list(ember_model.state_dict()) == list(torch_model.state_dict())
    # One layer per stack: ModuleList's repr does not yet fold repeats as "(0-1): 2 x".
    assert repr(ember.nn.Transformer(D, H, 1, 1, FF)) == repr(torch.nn.Transformer(D, H, 1, 1, FF))
    # Transformer re-initialises every matrix from Xavier-uniform, including linear1.
    weight = ember_model.encoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(weight).max() <= np.sqrt(6 / (D + FF))


def _layer(lib, name, **kwargs):
    if kwargs.pop("activation_module", False):
        kwargs["activation"] = lib.nn.GELU()
    return getattr(lib.nn, name)(D, H, FF, **kwargs)


@pytest.mark.parametrize("name, kwargs", [
    ("TransformerEncoderLayer", {}),
    ("TransformerDecoderLayer", {"activation": "gelu", "bias": False}),
    ("TransformerEncoderLayer", {"activation_module": True}),
])
def test_layer_reprs_match_torch(name, kwargs):
    assert repr(_layer(ember, name, **kwargs)) == repr(_layer(torch, name, **kwargs))


def test_activation_attributes():
    F = ember.nn.functional
    assert ember.nn.TransformerEncoderLayer(D, H).activation is F.relu
    assert ember.nn.TransformerEncoderLayer(D, H, activation="gelu").activation is F.gelu
    assert ember.nn.TransformerEncoderLayer(D, H, activation="gelu").activation_relu_or_gelu == 2
    assert ember.nn.TransformerEncoderLayer(
        D, H, activation=F.silu).activation_relu_or_gelu == 0


def test_generate_square_subsequent_mask_matches_torch():
    for size in (0, 1, 4):
        expected = torch.nn.Transformer.generate_square_subsequent_mask(size)
        actual = ember.nn.Transformer.generate_square_subsequent_mask(size)
        assert actual.dtype is ember.float32
        np.testing.assert_array_equal(actual.numpy(), expected.numpy())
    mask = ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64)
    assert mask.dtype is ember.float64


def _both_raise(make_call):
    with pytest.raises(Exception) as expected:
        make_call(torch)
    with pytest.raises(type(expected.value)):
        make_call(ember)


ERRORS = {
    "heads_do_not_divide": lambda lib: lib.nn.TransformerEncoderLayer(6, 4),
    "unknown_activation": lambda lib: lib.nn.TransformerEncoderLayer(D, H, activation="tanh"),
    "batch_mismatch": lambda lib: _transformer(lib)(lib.zeros(S, N, D), lib.zeros(T, 3, D)),
    "feature_mismatch": lambda lib: _transformer(lib)(lib.zeros(S, N, D), lib.zeros(T, N, 4)),
    "src_mask_shape": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        lib.zeros(S, N, D), src_mask=lib.zeros(S, S + 1)),
    "padding_shape": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        lib.zeros(S, N, D), src_key_padding_mask=lib.zeros(N, S + 1, dtype=lib.bool)),
    "memory_mask_shape": lambda lib: lib.nn.TransformerDecoderLayer(D, H, FF)(
        lib.zeros(T, N, D), lib.zeros(S, N, D), memory_mask=lib.zeros(T, T)),
    "int_mask": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        lib.zeros(S, N, D), src_mask=lib.zeros(S, S, dtype=lib.int64)),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_bad_input_raises_like_torch(name):
    _both_raise(ERRORS[name])
