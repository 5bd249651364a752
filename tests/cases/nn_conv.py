"""Oracle cases for convolution, pooling and the image ops of ``nn.functional``.

Inputs stay small (gradcheck and gradgradcheck are quadratic in the element count).
"""

import numpy as np

from tests.oracle import Case, ErrorCase


def F(lib):
    return lib.nn.functional


def _ints(*shape):
    return lambda rng: [rng.integers(-5, 6, size=shape)]


def _ties(rng):
    return [np.array([[[[1.0, 1.0, 0.5], [1.0, -2.0, 1.0], [0.0, 1.0, 1.0]]]])]


CASES = [
    # -- convolution
    Case(
        "nn_conv2d_basic",
        lambda lib, x, w, b: F(lib).conv2d(x, w, b),
        [(1, 2, 3, 4), (2, 2, 2, 2), (2,)],
    ),
    Case(
        "nn_conv2d_stride_padding",
        lambda lib, x, w: F(lib).conv2d(x, w, stride=2, padding=1),
        [(2, 1, 3, 4), (2, 1, 2, 3)],
    ),
    Case(
        "nn_conv2d_dilation_tuple",
        lambda lib, x, w: F(lib).conv2d(x, w, stride=(1, 2), padding=(0, 1), dilation=(2, 1)),
        [(1, 1, 5, 4), (2, 1, 2, 2)],
    ),
    Case(
        "nn_conv2d_groups",
        lambda lib, x, w, b: F(lib).conv2d(x, w, b, groups=2),
        [(1, 4, 3, 2), (4, 2, 2, 1), (4,)],
    ),
    Case(
        "nn_conv2d_same_even_kernel",
        lambda lib, x, w: F(lib).conv2d(x, w, padding="same"),
        [(1, 1, 3, 4), (2, 1, 2, 2)],
    ),
    Case(
        "nn_conv2d_valid",
        lambda lib, x, w: F(lib).conv2d(x, w, padding="valid"),
        [(1, 1, 3, 4), (1, 1, 2, 2)],
    ),
    Case(
        "nn_conv2d_unbatched",
        lambda lib, x, w, b: F(lib).conv2d(x, w, b, padding=1),
        [(2, 3, 3), (1, 2, 2, 2), (1,)],
    ),
    Case(
        "nn_conv2d_empty_batch", lambda lib, x, w: F(lib).conv2d(x, w), [(0, 2, 3, 3), (2, 2, 2, 2)]
    ),
    Case(
        "nn_conv1d",
        lambda lib, x, w, b: F(lib).conv1d(x, w, b, stride=2, padding=2, dilation=2),
        [(2, 2, 6), (3, 2, 2), (3,)],
    ),
    Case(
        "nn_conv1d_unbatched_same",
        lambda lib, x, w: F(lib).conv1d(x, w, padding="same", dilation=2),
        [(2, 7), (2, 2, 3)],
    ),
    Case(
        "nn_conv1d_groups", lambda lib, x, w: F(lib).conv1d(x, w, groups=3), [(1, 3, 5), (6, 1, 2)]
    ),
    Case(
        "nn_conv3d",
        lambda lib, x, w, b: F(lib).conv3d(x, w, b, padding=(1, 0, 0)),
        [(1, 1, 2, 3, 3), (2, 1, 2, 2, 2), (2,)],
    ),
    Case(
        "nn_conv2d_ints",
        lambda lib, x, w: F(lib).conv2d(x, w, stride=2),
        inputs=lambda rng: [rng.integers(-3, 4, (1, 2, 4, 4)), rng.integers(-3, 4, (2, 2, 2, 2))],
    ),
    Case(
        "nn_conv_transpose2d",
        lambda lib, x, w, b: F(lib).conv_transpose2d(x, w, b),
        [(1, 2, 2, 3), (2, 3, 2, 2), (3,)],
    ),
    Case(
        "nn_conv_transpose2d_stride",
        lambda lib, x, w: F(lib).conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        [(1, 2, 2, 2), (2, 2, 3, 3)],
    ),
    Case(
        "nn_conv_transpose2d_groups_dilation",
        lambda lib, x, w, b: F(lib).conv_transpose2d(
            x, w, b, stride=(2, 1), padding=(0, 1), output_padding=(1, 0), groups=2, dilation=(1, 2)
        ),
        [(1, 2, 2, 3), (2, 2, 2, 2), (4,)],
    ),
    Case(
        "nn_conv_transpose2d_unbatched",
        lambda lib, x, w: F(lib).conv_transpose2d(x, w),
        [(2, 2, 3), (2, 1, 2, 2)],
    ),
    Case(
        "nn_conv_transpose1d",
        lambda lib, x, w, b: F(lib).conv_transpose1d(
            x, w, b, stride=3, padding=1, output_padding=2
        ),
        [(2, 2, 3), (2, 2, 3), (2,)],
    ),
    Case(
        "nn_conv_transpose1d_dilation_output_padding",
        lambda lib, x, w: F(lib).conv_transpose1d(x, w, output_padding=1, dilation=2),
        [(1, 2, 4), (2, 1, 2)],
    ),
    # -- pooling
    Case("nn_max_pool2d", lambda lib, x: F(lib).max_pool2d(x, 2), [(1, 2, 4, 3)]),
    Case(
        "nn_max_pool2d_overlap_indices",
        lambda lib, x: F(lib).max_pool2d(x, 3, stride=1, padding=1, return_indices=True),
        [(1, 1, 4, 5)],
    ),
    Case(
        "nn_max_pool2d_ceil_dilation",
        lambda lib, x: F(lib).max_pool2d(
            x,
            (2, 3),
            stride=2,
            padding=(1, 1),
            dilation=(2, 1),
            ceil_mode=True,
            return_indices=True,
        ),
        [(1, 2, 5, 4)],
    ),
    Case("nn_max_pool2d_unbatched", lambda lib, x: F(lib).max_pool2d(x, 2, 1), [(2, 3, 3)]),
    Case(
        "nn_max_pool2d_ints",
        lambda lib, x: F(lib).max_pool2d(x, 2, return_indices=True),
        inputs=_ints(1, 2, 4, 4),
    ),
    Case(
        "nn_max_pool2d_ties_forward",
        lambda lib, x: F(lib).max_pool2d(x, 2, 1, return_indices=True),
        inputs=_ties,
        grad=False,
    ),
    Case(
        "nn_max_pool2d_infinities",
        lambda lib, x: F(lib).max_pool2d(x, 2, 1, padding=1, return_indices=True),
        inputs=lambda rng: [np.array([[[[-np.inf, -np.inf], [-np.inf, np.inf]]]])],
        grad=False,
    ),
    Case(
        "nn_max_pool1d",
        lambda lib, x: F(lib).max_pool1d(
            x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True
        ),
        [(2, 2, 6)],
    ),
    Case("nn_max_pool1d_unbatched", lambda lib, x: F(lib).max_pool1d(x, 2, dilation=2), [(3, 6)]),
    Case("nn_avg_pool2d", lambda lib, x: F(lib).avg_pool2d(x, 2), [(1, 2, 4, 3)]),
    Case(
        "nn_avg_pool2d_padding_ceil",
        lambda lib, x: F(lib).avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        [(1, 1, 4, 5)],
    ),
    Case(
        "nn_avg_pool2d_exclude_pad",
        lambda lib, x: F(lib).avg_pool2d(
            x, (3, 2), stride=(2, 1), padding=1, ceil_mode=True, count_include_pad=False
        ),
        [(1, 1, 4, 5)],
    ),
    Case(
        "nn_avg_pool2d_divisor_override",
        lambda lib, x: F(lib).avg_pool2d(x, 2, 1, divisor_override=3),
        [(2, 3, 3)],
    ),
    Case("nn_avg_pool2d_ints", lambda lib, x: F(lib).avg_pool2d(x, 2), inputs=_ints(1, 1, 4, 4)),
    Case(
        "nn_avg_pool1d",
        lambda lib, x: F(lib).avg_pool1d(
            x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False
        ),
        [(2, 2, 6)],
    ),
    Case(
        "nn_adaptive_avg_pool2d",
        lambda lib, x: F(lib).adaptive_avg_pool2d(x, (2, 3)),
        [(1, 2, 5, 4)],
    ),
    Case(
        "nn_adaptive_avg_pool2d_none_upsample",
        lambda lib, x: F(lib).adaptive_avg_pool2d(x, (None, 5)),
        [(2, 3, 3)],
    ),
    Case(
        "nn_adaptive_avg_pool2d_global",
        lambda lib, x: F(lib).adaptive_avg_pool2d(x, 1),
        [(2, 2, 3, 3)],
    ),
    Case("nn_adaptive_avg_pool1d", lambda lib, x: F(lib).adaptive_avg_pool1d(x, 3), [(2, 2, 7)]),
    Case(
        "nn_adaptive_max_pool2d",
        lambda lib, x: F(lib).adaptive_max_pool2d(x, (2, 3), return_indices=True),
        [(1, 2, 5, 4)],
    ),
    Case(
        "nn_adaptive_max_pool2d_upsample",
        lambda lib, x: F(lib).adaptive_max_pool2d(x, (4, 2)),
        [(2, 3, 3)],
    ),
    Case(
        "nn_adaptive_max_pool1d",
        lambda lib, x: F(lib).adaptive_max_pool1d(x, 3, return_indices=True),
        [(2, 2, 7)],
    ),
    Case(
        "nn_lp_pool2d", lambda lib, x: F(lib).lp_pool2d(x, 2, 2), [(1, 2, 4, 3)], domain=(0.5, 2.0)
    ),
    Case(
        "nn_lp_pool1d",
        lambda lib, x: F(lib).lp_pool1d(x, 3, 2, stride=1),
        [(2, 2, 4)],
        domain=(0.5, 2.0),
    ),
    # -- unfold / fold / interpolate / pixel shuffle
    Case(
        "nn_unfold",
        lambda lib, x: F(lib).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        [(1, 2, 3, 4)],
    ),
    Case("nn_unfold_unbatched", lambda lib, x: F(lib).unfold(x, 2), [(2, 3, 3)]),
    Case("nn_fold", lambda lib, x: F(lib).fold(x, (3, 4), 2), [(1, 4, 6)]),
    Case(
        "nn_fold_stride_padding",
        lambda lib, x: F(lib).fold(x, (4, 3), (2, 2), padding=1, stride=2, dilation=(1, 2)),
        [(8, 6)],
    ),
    Case(
        "nn_interpolate_nearest",
        lambda lib, x: F(lib).interpolate(x, scale_factor=(1.5, 2)),
        [(1, 2, 3, 2)],
    ),
    Case(
        "nn_interpolate_nearest_down",
        lambda lib, x: F(lib).interpolate(x, size=(2, 3)),
        [(1, 1, 5, 4)],
    ),
    Case(
        "nn_interpolate_nearest_exact",
        lambda lib, x: F(lib).interpolate(x, size=5, mode="nearest-exact"),
        [(1, 2, 3)],
    ),
    Case(
        "nn_interpolate_bilinear",
        lambda lib, x: F(lib).interpolate(x, scale_factor=1.5, mode="bilinear"),
        [(1, 2, 3, 3)],
    ),
    Case(
        "nn_interpolate_bilinear_align",
        lambda lib, x: F(lib).interpolate(x, size=(4, 2), mode="bilinear", align_corners=True),
        [(1, 1, 3, 4)],
    ),
    Case(
        "nn_interpolate_bilinear_recompute",
        lambda lib, x: F(lib).interpolate(
            x, scale_factor=0.7, mode="bilinear", recompute_scale_factor=True
        ),
        [(1, 1, 4, 5)],
    ),
    Case(
        "nn_interpolate_bicubic",
        lambda lib, x: F(lib).interpolate(x, size=(4, 5), mode="bicubic"),
        [(1, 1, 3, 4)],
    ),
    Case(
        "nn_interpolate_linear",
        lambda lib, x: F(lib).interpolate(x, scale_factor=2, mode="linear"),
        [(2, 2, 3)],
    ),
    Case(
        "nn_interpolate_linear_align",
        lambda lib, x: F(lib).interpolate(x, size=7, mode="linear", align_corners=True),
        [(1, 2, 4)],
    ),
    Case(
        "nn_interpolate_area",
        lambda lib, x: F(lib).interpolate(x, size=(2, 3), mode="area"),
        [(1, 1, 5, 4)],
    ),
    Case("nn_pixel_shuffle", lambda lib, x: F(lib).pixel_shuffle(x, 2), [(1, 8, 1, 2)]),
    Case("nn_pixel_unshuffle", lambda lib, x: F(lib).pixel_unshuffle(x, 2), [(2, 2, 4)]),
    Case("nn_pad_reexport", lambda lib, x: F(lib).pad(x, (1, 2), mode="reflect"), [(1, 2, 4)]),
]


ERRORS = [
    ErrorCase("nn_conv2d_rank", lambda lib: F(lib).conv2d(lib.ones(3, 3), lib.ones(1, 1, 2, 2))),
    ErrorCase(
        "nn_conv2d_rank_5d",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 1, 3, 3), lib.ones(1, 1, 2, 2)),
    ),
    ErrorCase("nn_conv1d_rank", lambda lib: F(lib).conv1d(lib.ones(1, 3, 4, 4), lib.ones(4, 3, 3))),
    ErrorCase(
        "nn_conv2d_channels", lambda lib: F(lib).conv2d(lib.ones(2, 4, 8, 8), lib.ones(8, 3, 3, 3))
    ),
    ErrorCase(
        "nn_conv2d_kernel_too_large",
        lambda lib: F(lib).conv2d(lib.ones(1, 3, 2, 2), lib.ones(2, 3, 3, 3)),
    ),
    ErrorCase(
        "nn_conv2d_dilated_kernel_too_large",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), dilation=2),
    ),
    ErrorCase(
        "nn_conv2d_stride_zero",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), stride=0),
    ),
    ErrorCase(
        "nn_conv2d_negative_padding",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), padding=-1),
    ),
    ErrorCase(
        "nn_conv2d_dilation_zero",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), dilation=0),
    ),
    ErrorCase(
        "nn_conv2d_groups_zero",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), groups=0),
    ),
    ErrorCase(
        "nn_conv2d_groups_weight",
        lambda lib: F(lib).conv2d(lib.ones(1, 4, 4, 4), lib.ones(3, 2, 3, 3), groups=2),
    ),
    ErrorCase(
        "nn_conv2d_same_strided",
        lambda lib: F(lib).conv2d(
            lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), padding="same", stride=2
        ),
    ),
    ErrorCase(
        "nn_conv2d_bad_padding_string",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), padding="full"),
    ),
    ErrorCase(
        "nn_conv2d_stride_length",
        lambda lib: F(lib).conv2d(lib.ones(1, 1, 4, 4), lib.ones(1, 1, 3, 3), stride=(1, 1, 1)),
    ),
    ErrorCase(
        "nn_conv2d_weight_rank", lambda lib: F(lib).conv2d(lib.ones(1, 3, 4, 4), lib.ones(1, 3, 3))
    ),
    ErrorCase(
        "nn_conv2d_bias_size",
        lambda lib: F(lib).conv2d(lib.ones(1, 3, 4, 4), lib.ones(2, 3, 3, 3), lib.ones(3)),
    ),
    ErrorCase(
        "nn_conv2d_dtype_mismatch",
        lambda lib: F(lib).conv2d(lib.ones(1, 3, 4, 4, dtype=lib.float64), lib.ones(2, 3, 3, 3)),
    ),
    ErrorCase(
        "nn_conv2d_bias_dtype",
        lambda lib: F(lib).conv2d(
            lib.ones(1, 3, 4, 4), lib.ones(2, 3, 3, 3), lib.ones(2, dtype=lib.float64)
        ),
    ),
    ErrorCase(
        "nn_conv_transpose2d_channels",
        lambda lib: F(lib).conv_transpose2d(lib.ones(2, 3, 4, 4), lib.ones(4, 4, 3, 3)),
    ),
    ErrorCase(
        "nn_conv_transpose2d_output_padding",
        lambda lib: F(lib).conv_transpose2d(
            lib.ones(1, 3, 4, 4), lib.ones(3, 4, 3, 3), stride=2, output_padding=2
        ),
    ),
    ErrorCase(
        "nn_conv_transpose1d_output_padding",
        lambda lib: F(lib).conv_transpose1d(
            lib.ones(1, 3, 4), lib.ones(3, 2, 3), stride=2, output_padding=2
        ),
    ),
    ErrorCase(
        "nn_conv_transpose2d_string_padding",
        lambda lib: F(lib).conv_transpose2d(
            lib.ones(1, 3, 4, 4), lib.ones(3, 4, 3, 3), padding="same"
        ),
    ),
    ErrorCase(
        "nn_conv_transpose2d_bias",
        lambda lib: F(lib).conv_transpose2d(lib.ones(3, 4, 4), lib.ones(3, 2, 3, 3), lib.ones(3)),
    ),
    ErrorCase("nn_max_pool2d_rank", lambda lib: F(lib).max_pool2d(lib.ones(4, 4), 2)),
    ErrorCase(
        "nn_max_pool2d_pad_too_large",
        lambda lib: F(lib).max_pool2d(lib.ones(1, 1, 7, 7), 3, padding=2),
    ),
    ErrorCase(
        "nn_max_pool2d_output_too_small", lambda lib: F(lib).max_pool2d(lib.ones(1, 1, 4, 4), 5)
    ),
    ErrorCase(
        "nn_max_pool2d_stride_zero", lambda lib: F(lib).max_pool2d(lib.ones(1, 1, 4, 4), 2, 0)
    ),
    ErrorCase(
        "nn_max_pool2d_kernel_zero", lambda lib: F(lib).max_pool2d(lib.ones(1, 1, 4, 4), 0, 1)
    ),
    ErrorCase(
        "nn_max_pool2d_kernel_tuple", lambda lib: F(lib).max_pool2d(lib.ones(1, 1, 4, 4), (2, 2, 2))
    ),
    ErrorCase(
        "nn_max_pool2d_bool", lambda lib: F(lib).max_pool2d(lib.ones(1, 1, 4, 4, dtype=lib.bool), 2)
    ),
    ErrorCase("nn_max_pool1d_rank", lambda lib: F(lib).max_pool1d(lib.ones(4), 2)),
    ErrorCase(
        "nn_avg_pool2d_divisor_zero",
        lambda lib: F(lib).avg_pool2d(lib.ones(1, 1, 4, 4), 2, divisor_override=0),
    ),
    ErrorCase("nn_avg_pool2d_rank", lambda lib: F(lib).avg_pool2d(lib.ones(4, 4), 2)),
    ErrorCase("nn_avg_pool1d_rank", lambda lib: F(lib).avg_pool1d(lib.ones(4), 2)),
    ErrorCase(
        "nn_adaptive_avg_pool2d_rank", lambda lib: F(lib).adaptive_avg_pool2d(lib.ones(4, 4), 2)
    ),
    ErrorCase(
        "nn_adaptive_avg_pool2d_negative",
        lambda lib: F(lib).adaptive_avg_pool2d(lib.ones(1, 4, 4), -1),
    ),
    ErrorCase(
        "nn_adaptive_avg_pool2d_long",
        lambda lib: F(lib).adaptive_avg_pool2d(lib.ones(1, 4, 4, dtype=lib.int64), 2),
    ),
    ErrorCase(
        "nn_adaptive_max_pool2d_empty",
        lambda lib: F(lib).adaptive_max_pool2d(lib.ones(1, 1, 0, 2), 2),
    ),
    ErrorCase("nn_unfold_too_large", lambda lib: F(lib).unfold(lib.ones(1, 1, 4, 4), 5)),
    ErrorCase("nn_unfold_rank", lambda lib: F(lib).unfold(lib.ones(4, 4), 2)),
    ErrorCase("nn_fold_blocks", lambda lib: F(lib).fold(lib.ones(2, 27, 24), (7, 7), 3)),
    ErrorCase("nn_fold_channels", lambda lib: F(lib).fold(lib.ones(2, 26, 25), (7, 7), 3)),
    ErrorCase(
        "nn_interpolate_both",
        lambda lib: F(lib).interpolate(lib.ones(1, 1, 4), size=3, scale_factor=2),
    ),
    ErrorCase("nn_interpolate_neither", lambda lib: F(lib).interpolate(lib.ones(1, 1, 4))),
    ErrorCase(
        "nn_interpolate_align_nearest",
        lambda lib: F(lib).interpolate(lib.ones(1, 1, 4), size=3, align_corners=True),
    ),
    ErrorCase(
        "nn_interpolate_bad_mode",
        lambda lib: F(lib).interpolate(lib.ones(1, 1, 4), size=3, mode="cubic"),
    ),
    ErrorCase(
        "nn_interpolate_mode_rank",
        lambda lib: F(lib).interpolate(lib.ones(1, 1, 4), size=3, mode="bilinear"),
    ),
    ErrorCase(
        "nn_interpolate_size_length", lambda lib: F(lib).interpolate(lib.ones(1, 1, 4), size=(2, 2))
    ),
    ErrorCase(
        "nn_interpolate_zero_size", lambda lib: F(lib).interpolate(lib.ones(1, 1, 4), size=0)
    ),
    ErrorCase("nn_interpolate_rank", lambda lib: F(lib).interpolate(lib.ones(4), size=2)),
    ErrorCase(
        "nn_pixel_shuffle_channels", lambda lib: F(lib).pixel_shuffle(lib.ones(2, 6, 3, 3), 2)
    ),
    ErrorCase("nn_pixel_shuffle_rank", lambda lib: F(lib).pixel_shuffle(lib.ones(4, 4), 2)),
    ErrorCase("nn_pixel_unshuffle_size", lambda lib: F(lib).pixel_unshuffle(lib.ones(1, 5, 4), 2)),
]
