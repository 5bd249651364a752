"""Oracle cases for the normalization functions of ``nn.functional``.

The fused primitive (``_Normalize``: batch, instance, layer and group norm) is checked by
gradcheck and gradgradcheck; running statistics are built inside the lambdas and returned
as extra outputs, so their in-place update is compared with PyTorch's.
"""

from tests.oracle import Case, ErrorCase


def F(lib):
    return lib.nn.functional


def _running(lib, like, channels):
    mean = lib.linspace(-0.5, 0.5, channels, dtype=like.dtype)
    var = lib.linspace(0.5, 1.5, channels, dtype=like.dtype)
    return mean, var


def _batch_norm_tracked(lib, x, w, b, momentum=0.1):
    mean, var = _running(lib, x, x.shape[1])
    y = F(lib).batch_norm(x, mean, var, w, b, training=True, momentum=momentum)
    return y, mean, var


def _batch_norm_eval(lib, x, w, b):
    mean, var = _running(lib, x, x.shape[1])
    return F(lib).batch_norm(x, mean, var, w, b, training=False)


def _instance_norm_tracked(lib, x, w, b):
    mean, var = _running(lib, x, x.shape[1])
    y = F(lib).instance_norm(x, mean, var, w, b, use_input_stats=True, momentum=0.2)
    return y, mean, var


CASES = [
    # layer norm
    Case("nn_norm_layer", lambda lib, x, w, b: F(lib).layer_norm(x, (3,), w, b, 1e-5),
         [(2, 2, 3), (3,), (3,)]),
    Case("nn_norm_layer_2d_shape", lambda lib, x: F(lib).layer_norm(x, (3, 4)), [(2, 3, 4)]),
    Case("nn_norm_layer_weight_only",
         lambda lib, x, w: F(lib).layer_norm(x, [5], weight=w, eps=0.1), [(3, 5), (5,)]),
    Case("nn_norm_layer_bias_only",
         lambda lib, x, b: F(lib).layer_norm(x, x.shape[-2:], bias=b), [(2, 2, 3), (2, 3)]),
    Case("nn_norm_layer_1d", lambda lib, x: F(lib).layer_norm(x, (6,)), [(6,)]),
    Case("nn_norm_layer_empty", lambda lib, x, w: F(lib).layer_norm(x, (3,), w), [(0, 3), (3,)]),
    Case("nn_norm_layer_constant_row",
         lambda lib, w: F(lib).layer_norm(lib.ones(2, 3, dtype=w.dtype), (3,), w), [(3,)]),
    # batch norm
    Case("nn_norm_batch_2d", lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, True),
         [(4, 3), (3,), (3,)]),
    Case("nn_norm_batch_3d_plain",
         lambda lib, x: F(lib).batch_norm(x, None, None, training=True), [(2, 3, 4)]),
    Case("nn_norm_batch_4d", lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, True),
         [(2, 2, 2, 2), (2,), (2,)]),
    Case("nn_norm_batch_tracked", _batch_norm_tracked, [(4, 3), (3,), (3,)]),
    Case("nn_norm_batch_tracked_3d",
         lambda lib, x, w, b: _batch_norm_tracked(lib, x, w, b, momentum=0.3),
         [(2, 2, 3), (2,), (2,)]),
    Case("nn_norm_batch_eval", _batch_norm_eval, [(2, 3, 2), (3,), (3,)]),
    Case("nn_norm_batch_eps",
         lambda lib, x: F(lib).batch_norm(x, None, None, training=True, eps=0.5), [(3, 2)]),
    # instance and group norm
    Case("nn_norm_instance", lambda lib, x, w, b: F(lib).instance_norm(x, weight=w, bias=b),
         [(2, 2, 3), (2,), (2,)]),
    Case("nn_norm_instance_tracked", _instance_norm_tracked, [(2, 2, 3), (2,), (2,)]),
    Case("nn_norm_instance_eval",
         lambda lib, x: F(lib).instance_norm(x, *_running(lib, x, 2), use_input_stats=False),
         [(2, 2, 3)]),
    Case("nn_norm_group", lambda lib, x, w, b: F(lib).group_norm(x, 2, w, b),
         [(2, 4, 2), (4,), (4,)]),
    Case("nn_norm_group_no_spatial", lambda lib, x: F(lib).group_norm(x, 3), [(2, 6)]),
    Case("nn_norm_group_4d", lambda lib, x, w: F(lib).group_norm(x, 1, w, eps=1e-3),
         [(2, 2, 2, 2), (2,)]),
    # rms and local response norm
    Case("nn_norm_rms", lambda lib, x, w: F(lib).rms_norm(x, (4,), w), [(2, 3, 4), (4,)]),
    Case("nn_norm_rms_eps", lambda lib, x: F(lib).rms_norm(x, (2, 3), eps=1e-3), [(2, 2, 3)]),
    Case("nn_norm_lrn", lambda lib, x: F(lib).local_response_norm(x, 3, alpha=0.5), [(2, 4, 3)]),
    Case("nn_norm_lrn_4d", lambda lib, x: F(lib).local_response_norm(x, 2, 0.3, 0.5, 2.0),
         [(1, 3, 2, 2)]),
]

ERRORS = [
    ErrorCase("nn_norm_err_batch_one_value",
              lambda lib: F(lib).batch_norm(lib.ones(1, 3), None, None, training=True)),
    ErrorCase("nn_norm_err_batch_channels",
              lambda lib: F(lib).batch_norm(lib.ones(2, 3), lib.zeros(4), lib.ones(4))),
    ErrorCase("nn_norm_err_batch_weight",
              lambda lib: F(lib).batch_norm(lib.ones(2, 3), None, None, lib.ones(4),
                                            training=True)),
    ErrorCase("nn_norm_err_batch_eval_no_stats",
              lambda lib: F(lib).batch_norm(lib.ones(2, 3), None, None)),
    ErrorCase("nn_norm_err_batch_half_stats",
              lambda lib: F(lib).batch_norm(lib.ones(2, 3), lib.zeros(3), None, training=True)),
    ErrorCase("nn_norm_err_batch_eps",
              lambda lib: F(lib).batch_norm(lib.ones(2, 3), None, None, training=True, eps=0)),
    ErrorCase("nn_norm_err_batch_int",
              lambda lib: F(lib).batch_norm(lib.ones(2, 3, dtype=lib.int64), None, None,
                                            training=True)),
    ErrorCase("nn_norm_err_batch_1d",
              lambda lib: F(lib).batch_norm(lib.ones(3), None, None, training=True)),
    ErrorCase("nn_norm_err_batch_mixed_dtype",
              lambda lib: F(lib).batch_norm(lib.ones(2, 3, dtype=lib.float64), None, None,
                                            lib.ones(3), training=True)),
    ErrorCase("nn_norm_err_layer_shape", lambda lib: F(lib).layer_norm(lib.ones(2, 3), (2,))),
    ErrorCase("nn_norm_err_layer_weight",
              lambda lib: F(lib).layer_norm(lib.ones(2, 3), (3,), lib.ones(2))),
    ErrorCase("nn_norm_err_layer_int_shape", lambda lib: F(lib).layer_norm(lib.ones(2, 3), 3)),
    ErrorCase("nn_norm_err_layer_empty_shape",
              lambda lib: F(lib).layer_norm(lib.ones(2, 3), ())),
    ErrorCase("nn_norm_err_layer_long",
              lambda lib: F(lib).layer_norm(lib.ones(2, 3, dtype=lib.int64), (3,))),
    ErrorCase("nn_norm_err_group_divisible",
              lambda lib: F(lib).group_norm(lib.ones(2, 4, 3), 3)),
    ErrorCase("nn_norm_err_group_1d", lambda lib: F(lib).group_norm(lib.ones(4), 2)),
    ErrorCase("nn_norm_err_group_weight",
              lambda lib: F(lib).group_norm(lib.ones(2, 4, 3), 2, lib.ones(3))),
    ErrorCase("nn_norm_err_group_one_value",
              lambda lib: F(lib).group_norm(lib.ones(1, 2, 1), 2)),
    ErrorCase("nn_norm_err_instance_one_spatial",
              lambda lib: F(lib).instance_norm(lib.ones(2, 3, 1))),
    ErrorCase("nn_norm_err_rms_shape", lambda lib: F(lib).rms_norm(lib.ones(2, 3), (2,))),
    ErrorCase("nn_norm_err_lrn_2d", lambda lib: F(lib).local_response_norm(lib.ones(2, 3), 2)),
]
