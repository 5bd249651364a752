"""Oracle cases for ``nn.functional`` activations (values, gradients, gradcheck, float32)."""

from tests.oracle import Case, ErrorCase


def F(lib):
    return lib.nn.functional


def _inplace(name, **kwargs):
    """``F.name(a * 1, inplace=True)``: the in-place form on a non-leaf tensor."""
    return lambda lib, a: getattr(F(lib), name)(a * 1, inplace=True, **kwargs)


CASES = [
    Case("nn_act_relu6", lambda lib, a: F(lib).relu6(a), [(3, 4)], domain=(-2, 8)),
    Case("nn_act_relu6_inplace", _inplace("relu6"), [(5,)], domain=(-2, 8)),
    Case("nn_act_relu_inplace", _inplace("relu"), [(2, 3)]),
    Case("nn_act_relu_0d", lambda lib, a: F(lib).relu(a), [()]),
    Case("nn_act_hardtanh", lambda lib, a: F(lib).hardtanh(a), [(3, 4)]),
    Case("nn_act_hardtanh_bounds", lambda lib, a: F(lib).hardtanh(a, -0.5, 1.5), [(2, 3, 2)]),
    Case("nn_act_hardtanh_", lambda lib, a: F(lib).hardtanh_(a * 1, -0.5, 0.5), [(6,)]),
    Case("nn_act_leaky_relu", lambda lib, a: F(lib).leaky_relu(a), [(3, 4)]),
    Case("nn_act_leaky_relu_slope", lambda lib, a: F(lib).leaky_relu(a, 0.2), [(2, 5)]),
    Case("nn_act_leaky_relu_inplace", _inplace("leaky_relu", negative_slope=0.3), [(4,)]),
    Case("nn_act_leaky_relu_", lambda lib, a: F(lib).leaky_relu_(a * 1, 0.5), [(4,)]),
    Case("nn_act_elu", lambda lib, a: F(lib).elu(a), [(3, 4)]),
    Case("nn_act_elu_alpha", lambda lib, a: F(lib).elu(a, alpha=0.5), [(2, 3)]),
    Case("nn_act_elu_inplace", _inplace("elu", alpha=2.0), [(5,)]),
    Case("nn_act_elu_", lambda lib, a: F(lib).elu_(a * 1), [(5,)]),
    Case("nn_act_selu", lambda lib, a: F(lib).selu(a), [(3, 4)]),
    Case("nn_act_selu_inplace", _inplace("selu"), [(4,)]),
    Case("nn_act_celu", lambda lib, a: F(lib).celu(a), [(3, 4)]),
    Case("nn_act_celu_alpha", lambda lib, a: F(lib).celu(a, alpha=0.4), [(2, 3)]),
    Case("nn_act_celu_inplace", _inplace("celu", alpha=1.5), [(4,)]),
    Case("nn_act_gelu", lambda lib, a: F(lib).gelu(a), [(3, 4)], domain=(-4, 4)),
    Case(
        "nn_act_gelu_tanh",
        lambda lib, a: F(lib).gelu(a, approximate="tanh"),
        [(3, 4)],
        domain=(-4, 4),
    ),
    Case("nn_act_gelu_0d", lambda lib, a: F(lib).gelu(a), [()]),
    Case("nn_act_silu", lambda lib, a: F(lib).silu(a), [(3, 4)], domain=(-6, 6)),
    Case("nn_act_silu_inplace", _inplace("silu"), [(5,)]),
    Case("nn_act_mish", lambda lib, a: F(lib).mish(a), [(3, 4)], domain=(-6, 6)),
    Case("nn_act_mish_inplace", _inplace("mish"), [(5,)]),
    Case("nn_act_sigmoid", lambda lib, a: F(lib).sigmoid(a), [(2, 3)]),
    Case("nn_act_tanh", lambda lib, a: F(lib).tanh(a), [(2, 3)]),
    Case("nn_act_softplus", lambda lib, a: F(lib).softplus(a), [(3, 4)], domain=(-5, 5)),
    Case(
        "nn_act_softplus_beta",
        lambda lib, a: F(lib).softplus(a, beta=2, threshold=3),
        [(4, 4)],
        domain=(-3, 3),
    ),
    Case("nn_act_softplus_large", lambda lib, a: F(lib).softplus(a * 30), [(6,)], domain=(-2, 2)),
    Case("nn_act_softsign", lambda lib, a: F(lib).softsign(a), [(3, 4)]),
    Case("nn_act_hardsigmoid", lambda lib, a: F(lib).hardsigmoid(a), [(4, 5)], domain=(-5, 5)),
    Case("nn_act_hardsigmoid_inplace", _inplace("hardsigmoid"), [(6,)], domain=(-5, 5)),
    Case("nn_act_hardswish", lambda lib, a: F(lib).hardswish(a), [(4, 5)], domain=(-5, 5)),
    Case("nn_act_hardswish_inplace", _inplace("hardswish"), [(6,)], domain=(-5, 5)),
    Case("nn_act_threshold", lambda lib, a: F(lib).threshold(a, 0.3, -2.0), [(3, 4)]),
    Case("nn_act_threshold_inplace", _inplace("threshold", threshold=0.1, value=5.0), [(5,)]),
    Case("nn_act_threshold_", lambda lib, a: F(lib).threshold_(a * 1, 0.1, 5.0), [(5,)]),
    Case("nn_act_logsigmoid", lambda lib, a: F(lib).logsigmoid(a), [(3, 4)], domain=(-8, 8)),
    Case("nn_act_logsigmoid_large", lambda lib, a: F(lib).logsigmoid(a * 400), [(4,)]),
    Case("nn_act_tanhshrink", lambda lib, a: F(lib).tanhshrink(a), [(3, 4)]),
    Case("nn_act_softshrink", lambda lib, a: F(lib).softshrink(a), [(3, 4)]),
    Case("nn_act_softshrink_lambd", lambda lib, a: F(lib).softshrink(a, 1.2), [(3, 4)]),
    Case("nn_act_hardshrink", lambda lib, a: F(lib).hardshrink(a), [(3, 4)]),
    Case("nn_act_hardshrink_lambd", lambda lib, a: F(lib).hardshrink(a, 1.0), [(3, 4)]),
    Case("nn_act_glu", lambda lib, a: F(lib).glu(a), [(3, 4)]),
    Case("nn_act_glu_dim", lambda lib, a: F(lib).glu(a, 0), [(4, 3)]),
    Case("nn_act_glu_3d", lambda lib, a: F(lib).glu(a, -2), [(2, 6, 2)]),
    Case("nn_act_prelu_shared", lambda lib, a, w: F(lib).prelu(a, w), [(2, 3, 2), (1,)]),
    Case("nn_act_prelu_channels", lambda lib, a, w: F(lib).prelu(a, w), [(2, 3, 2), (3,)]),
    Case("nn_act_prelu_2d", lambda lib, a, w: F(lib).prelu(a, w), [(4, 3), (3,)]),
    Case("nn_act_prelu_1d", lambda lib, a, w: F(lib).prelu(a, w), [(5,), (1,)]),
    Case("nn_act_prelu_0d_weight", lambda lib, a, w: F(lib).prelu(a, w), [(2, 3), ()]),
    Case("nn_act_rrelu_eval", lambda lib, a: F(lib).rrelu(a), [(3, 4)]),
    Case("nn_act_rrelu_eval_bounds", lambda lib, a: F(lib).rrelu(a, 0.1, 0.5), [(3, 4)]),
    Case("nn_act_softmax", lambda lib, a: F(lib).softmax(a, dim=1), [(3, 4)]),
    Case("nn_act_softmax_neg_dim", lambda lib, a: F(lib).softmax(a, -1), [(2, 2, 3)]),
    Case(
        "nn_act_softmax_dtype",
        lambda lib, a: F(lib).softmax(a, 0, dtype=lib.float32),
        [(3, 2)],
        atol=1e-6,
        rtol=1e-5,
        grad=False,
    ),
    Case("nn_act_log_softmax", lambda lib, a: F(lib).log_softmax(a, 1), [(3, 4)]),
    Case("nn_act_log_softmax_large", lambda lib, a: F(lib).log_softmax(a * 500, 0), [(4,)]),
    Case("nn_act_softmin", lambda lib, a: F(lib).softmin(a, 0), [(3, 4)]),
    Case("nn_act_softmin_3d", lambda lib, a: F(lib).softmin(a, 2), [(2, 2, 3)]),
    Case("nn_act_softmax_implicit_2d", lambda lib, a: F(lib).softmax(a), [(3, 4)]),
    Case("nn_act_softmax_implicit_3d", lambda lib, a: F(lib).softmax(a), [(2, 3, 2)]),
    Case("nn_act_log_softmax_implicit_4d", lambda lib, a: F(lib).log_softmax(a), [(2, 2, 2, 2)]),
    Case("nn_act_elu_empty", lambda lib, a: F(lib).elu(a), [(0, 3)]),
    Case("nn_act_gelu_empty", lambda lib, a: F(lib).gelu(a), [(2, 0)]),
]


def _long(lib):
    return lib.tensor([-2, 0, 3])


ERRORS = [
    ErrorCase("nn_act_elu_int", lambda lib: F(lib).elu(_long(lib))),
    ErrorCase("nn_act_gelu_int", lambda lib: F(lib).gelu(_long(lib))),
    ErrorCase(
        "nn_act_gelu_bad_approximate", lambda lib: F(lib).gelu(lib.ones(2), approximate="exact")
    ),
    ErrorCase("nn_act_leaky_relu_int", lambda lib: F(lib).leaky_relu(_long(lib))),
    ErrorCase("nn_act_softplus_int", lambda lib: F(lib).softplus(_long(lib))),
    ErrorCase("nn_act_hardtanh_bounds_swapped", lambda lib: F(lib).hardtanh(lib.ones(2), 2, 1)),
    ErrorCase("nn_act_celu_zero_alpha", lambda lib: F(lib).celu(lib.ones(2), 0.0)),
    ErrorCase("nn_act_softshrink_negative", lambda lib: F(lib).softshrink(lib.ones(2), -1.0)),
    ErrorCase("nn_act_glu_odd", lambda lib: F(lib).glu(lib.ones(2, 3), 1)),
    ErrorCase("nn_act_glu_scalar", lambda lib: F(lib).glu(lib.tensor(1.0))),
    ErrorCase("nn_act_glu_bad_dim", lambda lib: F(lib).glu(lib.ones(2, 4), 2)),
    ErrorCase("nn_act_prelu_channels_mismatch",
              lambda lib: F(lib).prelu(lib.ones(2, 3), lib.ones(2))),
    ErrorCase("nn_act_prelu_2d_weight", lambda lib: F(lib).prelu(lib.ones(2, 3), lib.ones(1, 3))),
    ErrorCase(
        "nn_act_prelu_dtype",
        lambda lib: F(lib).prelu(lib.ones(2, 3, dtype=lib.float64), lib.ones(3)),
    ),
    ErrorCase("nn_act_prelu_0d_input", lambda lib: F(lib).prelu(lib.tensor(1.0), lib.ones(3))),
    ErrorCase(
        "nn_act_rrelu_bounds", lambda lib: F(lib).rrelu(lib.ones(2), 0.5, 0.2, training=True)
    ),
    ErrorCase(
        "nn_act_relu_inplace_leaf",
        lambda lib: F(lib).relu(lib.ones(2, requires_grad=True), inplace=True),
    ),
    ErrorCase("nn_act_elu_inplace_leaf", lambda lib: F(lib).elu_(lib.ones(2, requires_grad=True))),
    ErrorCase("nn_act_softmax_bad_dim", lambda lib: F(lib).softmax(lib.ones(2, 3), 2)),
    ErrorCase("nn_act_softmax2d_bad_rank", lambda lib: lib.nn.Softmax2d()(lib.ones(2, 3))),
]
