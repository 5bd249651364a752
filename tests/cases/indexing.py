"""Cases for indexing: ``x[...]``, ``x[...] = v``, gathers, scatters, masks and diagonals."""

from tests.oracle import Case, ErrorCase


def _put(index):
    """``y = a * 1; y[index] = b``: setitem through a non-leaf, gradients to ``a`` and ``b``."""

    def fn(lib, a, b):
        y = a * 1
        y[index(lib) if callable(index) else index] = b
        return y

    return fn


def _long(lib, values):
    return lib.tensor(values, dtype=lib.int64)


def _mask(lib, values):
    return lib.tensor(values, dtype=lib.bool)


GETITEM = [
    Case("getitem_int", lambda lib, a: a[1], [(3, 4)]),
    Case("getitem_negative_int", lambda lib, a: a[-1, -2], [(3, 4)]),
    Case("getitem_int_to_0d", lambda lib, a: a[2], [(4,)]),
    Case("getitem_slice", lambda lib, a: a[1:3], [(4, 2)]),
    Case("getitem_slice_step", lambda lib, a: a[::2, 1::3], [(5, 6)]),
    Case("getitem_slice_negative_bounds", lambda lib, a: a[-3:-1, :-2], [(4, 4)]),
    Case("getitem_slice_clamped", lambda lib, a: a[1:100], [(3, 2)]),
    Case("getitem_slice_empty", lambda lib, a: a[2:2], [(3, 2)]),
    Case("getitem_slice_whole", lambda lib, a: a[:], [(3, 2)]),
    Case("getitem_slice_open_step", lambda lib, a: a[None:None:2], [(5,)]),
    Case("getitem_none", lambda lib, a: a[None, :, None], [(2, 3)]),
    Case("getitem_ellipsis", lambda lib, a: a[..., 1], [(2, 3, 4)]),
    Case("getitem_ellipsis_none", lambda lib, a: a[0][None, ..., None], [(2, 3, 4)]),
    Case("getitem_ellipsis_middle", lambda lib, a: a[1, ..., 0:2], [(2, 3, 4)]),
    Case("getitem_ellipsis_only", lambda lib, a: a[...], [(2, 3)]),
    Case("getitem_0d_ellipsis", lambda lib, a: a[...], [()]),
    Case("getitem_0d_none", lambda lib, a: a[None], [()]),
    Case("getitem_list", lambda lib, a: a[[2, 0]], [(3, 4)]),
    Case("getitem_list_repeated", lambda lib, a: a[[1, 1, 0, 1]], [(3, 2)]),
    Case("getitem_list_negative", lambda lib, a: a[:, [-1, 0, -4]], [(2, 4)]),
    Case("getitem_list_empty", lambda lib, a: a[[]], [(3, 2)]),
    Case("getitem_tensor_2d", lambda lib, a: a[_long(lib, [[0, 2], [2, 2]])], [(3, 2)]),
    Case("getitem_tensor_0d", lambda lib, a: a[_long(lib, 1)], [(3, 2)]),
    Case("getitem_tensor_0d_with_list", lambda lib, a: a[_long(lib, 1), :, [0, 1]], [(2, 3, 4)]),
    Case("getitem_int32_index", lambda lib, a: a[lib.tensor([1, 0, 1], dtype=lib.int32)], [(2, 3)]),
    Case("getitem_two_lists", lambda lib, a: a[[0, 1, 1], [2, 0, 2]], [(2, 3)]),
    Case("getitem_lists_broadcast", lambda lib, a: a[[[0], [1]], [0, 2, 2]], [(2, 3)]),
    Case("getitem_int_then_list", lambda lib, a: a[0, :, [0, 1]], [(2, 3, 4)]),
    Case("getitem_slice_list_adjacent", lambda lib, a: a[:, [0, 2], [1, 1]], [(2, 3, 4)]),
    Case("getitem_lists_separated", lambda lib, a: a[[0, 1], :, [3, 0]], [(2, 3, 4)]),
    Case("getitem_lists_split_by_none", lambda lib, a: a[:, [0, 1], None, [0, 3]], [(2, 3, 4)]),
    Case("getitem_list_slice_mixed", lambda lib, a: a[1, [0, 2], 1:3], [(2, 3, 4)]),
    Case("getitem_ellipsis_list", lambda lib, a: a[..., [3, 3, 1]], [(2, 3, 4)]),
    Case("getitem_ellipsis_none_list_int", lambda lib, a: a[..., None, [1, 2], 0], [(2, 3, 4)]),
    Case("getitem_list_ellipsis_list", lambda lib, a: a[[0, 1], ..., [0, 1]], [(2, 3, 4)]),
    Case(
        "getitem_nested_list_as_tuple",
        lambda lib, a: a[(_long(lib, [0, 1]), _long(lib, [1, 0]))],
        [(2, 3, 4)],
    ),
    Case("getitem_mask", lambda lib, a: a[a > 0], [(3, 4)]),
    Case("getitem_mask_rows", lambda lib, a: a[_mask(lib, [True, False, True])], [(3, 2)]),
    Case(
        "getitem_mask_2d_of_3d",
        lambda lib, a: a[_mask(lib, [[True, False, True], [False, False, True]])],
        [(2, 3, 2)],
    ),
    Case(
        "getitem_mask_after_slice", lambda lib, a: a[:, _mask(lib, [False, True, True])], [(2, 3)]
    ),
    Case(
        "getitem_mask_all_false",
        lambda lib, a: a[_mask(lib, [False, False])],
        [(2, 3)],
    ),
    Case("getitem_mask_list", lambda lib, a: a[[True, False, True]], [(3, 2)]),
    Case(
        "getitem_mask_and_list", lambda lib, a: a[_mask(lib, [True, False, True]), [1, 0]], [(3, 2)]
    ),
    Case("getitem_python_true", lambda lib, a: a[True], [(2, 3)]),
    Case("getitem_python_false", lambda lib, a: a[False], [(2, 3)]),
    Case("getitem_int_python_true", lambda lib, a: a[:, 0, True], [(2, 3, 4)]),
    Case("getitem_0d_bool_tensor", lambda lib, a: a[_mask(lib, True)], [(2,)]),
    Case(
        "getitem_int_index_int_tensor",
        lambda lib, a: a[lib.tensor([[1, 0]])],
        [(3,)],
        check_dtype=True,
    ),
    Case("getitem_two_ellipses", lambda lib, a: a[..., 0, ...], [(3, 2)]),
    Case(
        "index_fill_negative_index", lambda lib, a: a.index_fill(0, _long(lib, [-1]), 2.0), [(3,)]
    ),
    Case("getitem_chain_views", lambda lib, a: a[1:][:, ::2][0], [(3, 4)]),
]

SETITEM = [
    Case("setitem_int", _put(1), [(3, 4), (4,)]),
    Case("setitem_scalar_value", lambda lib, a: _put(0)(lib, a, 2.5), [(3, 2)]),
    Case("setitem_slice_broadcast", _put((slice(None), slice(1, 3))), [(3, 4), (1, 2)]),
    Case("setitem_0d_value_broadcast", _put(slice(0, 2)), [(3, 2), ()]),
    Case("setitem_leading_ones_value", _put(slice(0, 2)), [(3,), (1, 1, 2)]),
    Case("setitem_list", _put([2, 0]), [(3, 2), (2, 2)]),
    # Repeated setitem positions: PyTorch's value gradient counts every copy while the
    # forward keeps one, so finite differences disagree; tests/test_setitem.py compares them.
    Case("setitem_list_repeated", _put([1, 1, 0]), [(3, 2), (2,)], grad=False),
    Case(
        "setitem_mask",
        _put(lambda lib: _mask(lib, [[True, False], [False, True], [True, True]])),
        [(3, 2), (4,)],
    ),
    Case("setitem_mask_rows", _put(lambda lib: _mask(lib, [True, False, True])), [(3, 2), (2,)]),
    Case("setitem_int_and_list", _put((0, slice(None), [0, 1])), [(2, 3, 4), (3, 2)]),
    Case("setitem_ellipsis_none", _put((Ellipsis, None, 1)), [(2, 3), (2, 1)]),
    Case("setitem_lists_separated", _put(([0, 1], slice(None), [1, 0])), [(2, 3, 2), (3,)]),
    Case("setitem_empty", _put([]), [(3, 2), (2,)]),
]

DIM_OPS = [
    Case("index_select", lambda lib, a: lib.index_select(a, 0, _long(lib, [2, 0, 2])), [(3, 4)]),
    Case("index_select_neg_dim", lambda lib, a: a.index_select(-1, _long(lib, [2, 0])), [(2, 3)]),
    Case("index_select_0d_index", lambda lib, a: a.index_select(1, _long(lib, 1)), [(2, 3)]),
    Case(
        "index_select_empty",
        lambda lib, a: a.index_select(0, _long(lib, [])),
        [(2, 3)],
    ),
    Case("gather", lambda lib, a: lib.gather(a, 1, _long(lib, [[0, 0, 2], [1, 2, 1]])), [(2, 3)]),
    Case(
        "gather_dim0_smaller_index",
        lambda lib, a: a.gather(0, _long(lib, [[2, 0], [2, 2]])),
        [(3, 4)],
    ),
    Case(
        "gather_neg_dim",
        lambda lib, a: a.gather(-1, _long(lib, [[[1], [0]], [[2], [2]]])),
        [(2, 2, 3)],
    ),
    Case("gather_0d", lambda lib, a: a.gather(0, _long(lib, 0)), [()]),
    Case(
        "gather_int32_index",
        lambda lib, a: a.gather(0, lib.tensor([1, 1], dtype=lib.int32)),
        [(3,)],
    ),
    Case(
        "scatter_src",
        lambda lib, a, b: lib.scatter(a, 1, _long(lib, [[2, 0], [1, 2]]), b),
        [(2, 3), (2, 2)],
    ),
    Case(
        "scatter_src_larger",
        lambda lib, a, b: a.scatter(0, _long(lib, [[1, 0]]), b),
        [(2, 2), (2, 3)],
        grad=False,
    ),
    Case("scatter_value", lambda lib, a: a.scatter(0, _long(lib, [[1, 0, 1]]), 2.5), [(2, 3)]),
    Case(
        "scatter_value_keyword",
        lambda lib, a: lib.scatter(a, -1, _long(lib, [[1], [0]]), value=-1.0),
        [(2, 3)],
    ),
    Case(
        "scatter_reduce_add",
        lambda lib, a, b: a.scatter(1, _long(lib, [[0, 0]]), b, reduce="add"),
        [(2, 3), (1, 2)],
        grad=False,
    ),
    Case(
        "scatter_reduce_multiply",
        lambda lib, a, b: a.scatter(1, _long(lib, [[2, 2]]), b, reduce="multiply"),
        [(2, 3), (1, 2)],
        grad=False,
    ),
    Case(
        "scatter_inplace",
        lambda lib, a, b: (a * 1).scatter_(0, _long(lib, [[1, 0]]), b),
        [(2, 2), (1, 2)],
    ),
    Case(
        "scatter_add",
        lambda lib, a, b: lib.scatter_add(a, 0, _long(lib, [[1, 1, 0], [1, 0, 0]]), b),
        [(2, 3), (2, 3)],
    ),
    Case(
        "scatter_add_inplace",
        lambda lib, a, b: (a * 1).scatter_add_(1, _long(lib, [[0, 0]]), b),
        [(2, 3), (1, 2)],
    ),
    Case(
        "index_add",
        lambda lib, a, b: lib.index_add(a, 0, _long(lib, [1, 1, 0]), b),
        [(2, 3), (3, 3)],
    ),
    Case(
        "index_add_alpha",
        lambda lib, a, b: a.index_add(1, _long(lib, [2, 0]), b, alpha=-2.0),
        [(2, 3), (2, 2)],
    ),
    Case(
        "index_add_inplace",
        lambda lib, a, b: (a * 1).index_add_(0, _long(lib, [0, 0]), b),
        [(2, 2), (2, 2)],
    ),
    Case(
        "index_copy",
        lambda lib, a, b: lib.index_copy(a, 1, _long(lib, [2, 0]), b),
        [(2, 3), (2, 2)],
    ),
    Case(
        "index_copy_inplace",
        lambda lib, a, b: (a * 1).index_copy_(0, _long(lib, [1]), b),
        [(3, 2), (1, 2)],
    ),
    Case(
        "index_fill_scalar",
        lambda lib, a: lib.index_fill(a, 1, _long(lib, [2, 0, 2]), -1.5),
        [(2, 3)],
    ),
    Case("index_fill_tensor", lambda lib, a, v: a.index_fill(0, _long(lib, [1]), v), [(2, 3), ()]),
    Case(
        "index_fill_inplace", lambda lib, a: (a * 1).index_fill_(-1, _long(lib, [0]), 3.0), [(2, 3)]
    ),
    Case(
        "index_put",
        lambda lib, a, b: lib.index_put(a, (_long(lib, [0, 2]), _long(lib, [1, 0])), b),
        [(3, 2), (2,)],
    ),
    Case(
        "index_put_accumulate",
        lambda lib, a, b: a.index_put((_long(lib, [1, 1, 0]),), b, accumulate=True),
        [(3, 2), (3, 2)],
    ),
    Case(
        "index_put_accumulate_broadcast",
        lambda lib, a, b: a.index_put([_long(lib, [2, 2])], b, True),
        [(3, 2), (2,)],
    ),
    Case(
        "index_put_mask",
        lambda lib, a, b: a.index_put((_mask(lib, [True, False, True]),), b),
        [(3, 2), ()],
    ),
    Case(
        "index_put_inplace",
        lambda lib, a, b: (a * 1).index_put_((_long(lib, [0]),), b),
        [(2, 3), (3,)],
    ),
]


def _reduce_case(reduce, include_self, **kw):
    name = f"scatter_reduce_{reduce}_{'self' if include_self else 'noself'}"
    return Case(
        name,
        lambda lib, a, b: lib.scatter_reduce(
            a, 1, _long(lib, [[0, 0, 2], [1, 1, 1]]), b, reduce, include_self=include_self
        ),
        [(2, 4), (2, 3)],
        **kw,
    )


SCATTER_REDUCE = [
    _reduce_case(reduce, include_self, domain=(0.5, 2.0) if reduce == "prod" else (-2.0, 2.0))
    for reduce in ("sum", "prod", "mean", "amax", "amin")
    for include_self in (True, False)
] + [
    Case(
        "scatter_reduce_method_dim0",
        lambda lib, a, b: a.scatter_reduce(0, _long(lib, [[1, 0]]), b, "sum"),
        [(2, 2), (1, 2)],
    ),
    Case(
        "scatter_reduce_prod_zero",
        lambda lib, a: lib.scatter_reduce(
            a, 0, _long(lib, [0, 0, 1]), lib.tensor([0.0, 3.0, 2.0], dtype=a.dtype), "prod"
        ),
        [(3,)],
        gradgrad=False,
    ),
    Case(
        "scatter_reduce_prod_zero_src_grad",
        lambda lib, a, b: lib.scatter_reduce(
            a, 0, _long(lib, [0, 0, 1]), b * lib.tensor([0.0, 1.0, 1.0], dtype=b.dtype), "prod"
        ),
        [(3,), (3,)],
        domain=(0.5, 2.0),
        gradgrad=False,
    ),
    Case(
        "scatter_reduce_mean_int",
        lambda lib: lib.scatter_reduce(
            _long(lib, [3, 3, 3]),
            0,
            _long(lib, [0, 0, 1]),
            _long(lib, [-1, -2, 4]),
            "mean",
            include_self=False,
        ),
        [],
        grad=False,
    ),
    Case(
        "scatter_reduce_amax_int",
        lambda lib: lib.scatter_reduce(
            _long(lib, [3, 3, 3]),
            0,
            _long(lib, [0, 0, 1]),
            _long(lib, [-1, -2, 4]),
            "amax",
            include_self=False,
        ),
        [],
        grad=False,
    ),
    Case(
        "scatter_reduce_amax_tie",
        lambda lib, a: lib.scatter_reduce(
            a, 0, _long(lib, [0, 0, 1]), lib.tensor([1.0, 1.0, -3.0], dtype=a.dtype), "amax"
        ),
        [(2,)],
        domain=(-2.0, 0.0),
    ),
]

MASKS = [
    Case("masked_fill_scalar", lambda lib, a: lib.masked_fill(a, a > 0, -1.0), [(3, 4)]),
    Case(
        "masked_fill_broadcast_mask",
        lambda lib, a: a.masked_fill(_mask(lib, [True, False, True]), 2.0),
        [(2, 3)],
    ),
    Case(
        "masked_fill_broadcast_input",
        lambda lib, a: a.masked_fill(_mask(lib, [[True, False, True], [False, False, True]]), 0.5),
        [(3,)],
    ),
    Case(
        "masked_fill_0d_value",
        lambda lib, a, v: a.masked_fill(_mask(lib, [[True], [False]]), v),
        [(2, 3), ()],
    ),
    Case(
        "masked_fill_int_input",
        lambda lib: lib.masked_fill(_long(lib, [1, 2, 3]), _mask(lib, [True, False, True]), 2.7),
        [],
        grad=False,
    ),
    Case(
        "masked_fill_all_false",
        lambda lib, a: a.masked_fill(_mask(lib, [False, False]), 1.0),
        [(2,)],
    ),
    Case(
        "masked_fill_inplace",
        lambda lib, a, v: (a * 1).masked_fill_(_mask(lib, [False, True]), v),
        [(3, 2), ()],
    ),
    Case("masked_select", lambda lib, a: lib.masked_select(a, a < 0.5), [(3, 4)]),
    Case(
        "masked_select_broadcast",
        lambda lib, a: a.masked_select(_mask(lib, [[True], [False], [True]])),
        [(2,)],
    ),
    Case(
        "masked_select_empty",
        lambda lib, a: a.masked_select(_mask(lib, [False, False])),
        [(2, 2)],
    ),
    Case(
        "masked_scatter",
        lambda lib, a, b: lib.masked_scatter(
            a, _mask(lib, [[True, False, True], [False, True, True]]), b
        ),
        [(2, 3), (5,)],
    ),
    Case(
        "masked_scatter_broadcast",
        lambda lib, a, b: a.masked_scatter(_mask(lib, [[True], [False]]), b),
        [(3,), (2, 2)],
    ),
    Case(
        "masked_scatter_0d",
        lambda lib, a, b: a.masked_scatter(_mask(lib, True), b),
        [(), (2,)],
    ),
    Case(
        "masked_scatter_inplace",
        lambda lib, a, b: (a * 1).masked_scatter_(_mask(lib, [True, False]), b),
        [(2, 2), (1, 3)],
    ),
    Case("take", lambda lib, a: lib.take(a, _long(lib, [[0, 5], [-1, 5]])), [(2, 3)]),
    Case("take_empty", lambda lib, a: a.take(_long(lib, [])), [(2, 3)]),
    Case(
        "take_along_dim",
        lambda lib, a: lib.take_along_dim(a, _long(lib, [[1, 1], [0, 2]]), 1),
        [(2, 3)],
    ),
    Case(
        "take_along_dim_argsort_like",
        lambda lib, a: a.take_along_dim(_long(lib, [[2, 0, 1]]), -1),
        [(2, 3)],
    ),
    Case(
        "take_along_dim_broadcast_input",
        lambda lib, a: lib.take_along_dim(a, _long(lib, [[0], [1], [1]]), 1),
        [(1, 2)],
    ),
    Case(
        "take_along_dim_flat",
        lambda lib, a: lib.take_along_dim(a, _long(lib, [[5], [0]])),
        [(2, 3)],
    ),
    Case("nonzero", lambda lib, a: lib.nonzero(a > 0), [(3, 4)], grad=False),
    Case(
        "nonzero_as_tuple", lambda lib, a: lib.nonzero(a > 0, as_tuple=True), [(2, 3)], grad=False
    ),
    Case("nonzero_0d", lambda lib: lib.nonzero(lib.tensor(3.0)), [], grad=False),
    Case(
        "nonzero_0d_as_tuple",
        lambda lib: lib.nonzero(lib.tensor(0.0), as_tuple=True),
        [],
        grad=False,
    ),
    Case("nonzero_empty", lambda lib: lib.zeros(0, 2).nonzero(), [], grad=False),
    Case("argwhere", lambda lib, a: lib.argwhere(a > 0), [(2, 2, 3)], grad=False),
    Case("where_single_argument", lambda lib, a: lib.where(a > 0), [(2, 3)], grad=False),
]

DIAGONALS = [
    Case("tril", lambda lib, a: lib.tril(a), [(3, 4)]),
    Case("tril_k", lambda lib, a: a.tril(1), [(3, 3)]),
    Case("tril_negative_k_batched", lambda lib, a: a.tril(-1), [(2, 3, 3)]),
    Case("triu", lambda lib, a: lib.triu(a), [(4, 3)]),
    Case("triu_k", lambda lib, a: a.triu(diagonal=2), [(3, 4)]),
    Case("triu_negative_k", lambda lib, a: a.triu(-1), [(2, 3, 2)]),
    Case("tril_inplace", lambda lib, a: (a * 1).tril_(), [(3, 3)]),
    Case("tril_int", lambda lib: lib.arange(9).reshape(3, 3).tril(), [], grad=False),
    Case("diag_vector", lambda lib, a: lib.diag(a), [(3,)]),
    Case("diag_vector_offset", lambda lib, a: lib.diag(a, 1), [(3,)]),
    Case("diag_vector_negative_offset", lambda lib, a: a.diag(-2), [(2,)]),
    Case("diag_matrix", lambda lib, a: lib.diag(a), [(3, 4)]),
    Case("diag_matrix_offset", lambda lib, a: lib.diag(a, 2), [(3, 4)]),
    Case("diag_matrix_negative_offset", lambda lib, a: a.diag(-1), [(3, 4)]),
    Case("diag_matrix_offset_past_end", lambda lib, a: a.diag(5), [(3, 4)]),
    Case("diagonal", lambda lib, a: lib.diagonal(a), [(3, 4)]),
    Case("diagonal_offset_dims", lambda lib, a: lib.diagonal(a, 1, 0, 2), [(3, 2, 4)]),
    Case("diagonal_negative_dims", lambda lib, a: a.diagonal(-1, dim1=-1, dim2=-2), [(2, 3, 4)]),
    Case("diagonal_batched", lambda lib, a: a.diagonal(dim1=-2, dim2=-1), [(2, 3, 3)]),
    Case("diagonal_empty", lambda lib, a: a.diagonal(4), [(3, 3)]),
    Case("diag_embed", lambda lib, a: lib.diag_embed(a), [(2, 3)]),
    Case("diag_embed_offset_dims", lambda lib, a: lib.diag_embed(a, -1, 0, 2), [(2, 3)]),
    Case("diag_embed_swapped_dims", lambda lib, a: a.diag_embed(1, -1, 0), [(3,)]),
    Case("trace", lambda lib, a: lib.trace(a), [(3, 3)]),
    Case("trace_rectangular", lambda lib, a: a.trace(), [(2, 4)]),
    Case(
        "trace_int",
        lambda lib: lib.arange(6, dtype=lib.int32).reshape(2, 3).trace(),
        [],
        grad=False,
    ),
]

CASES = GETITEM + SETITEM + DIM_OPS + SCATTER_REDUCE + MASKS + DIAGONALS


def _set(index, value):
    def fn(lib):
        x = lib.zeros(3, 2)
        x[index(lib) if callable(index) else index] = value(lib) if callable(value) else value

    return fn


ERRORS = [
    ErrorCase("getitem_int_out_of_range", lambda lib: lib.ones(3)[5]),
    ErrorCase("getitem_negative_out_of_range", lambda lib: lib.ones(3, 2)[:, -3]),
    ErrorCase("getitem_list_out_of_range", lambda lib: lib.ones(3)[[0, 3]]),
    ErrorCase("getitem_tensor_out_of_range", lambda lib: lib.ones(3, 2)[_long(lib, [[-4]])]),
    ErrorCase("getitem_float_tensor_index", lambda lib: lib.ones(3)[lib.tensor([0.0])]),
    ErrorCase("getitem_too_many_indices", lambda lib: lib.ones(3, 2)[0, 0, 0]),
    ErrorCase("getitem_negative_step", lambda lib: lib.ones(3)[::-1]),
    ErrorCase("getitem_zero_step", lambda lib: lib.ones(3)[::0]),
    ErrorCase("getitem_mask_shape", lambda lib: lib.ones(3, 2)[_mask(lib, [True, False])]),
    ErrorCase("getitem_lists_not_broadcastable", lambda lib: lib.ones(3, 3)[[0, 1], [0, 1, 2]]),
    ErrorCase("getitem_string", lambda lib: lib.ones(3)["a"]),
    ErrorCase("setitem_out_of_range", _set(4, 1.0)),
    ErrorCase("setitem_value_shape_advanced", _set([0, 1], lambda lib: lib.ones(3))),
    ErrorCase("setitem_value_shape_basic", _set(slice(0, 2), lambda lib: lib.ones(3))),
    ErrorCase("setitem_dtype_advanced", _set([0, 1], lambda lib: _long(lib, [1, 2]))),
    ErrorCase(
        "setitem_leaf_requires_grad",
        lambda lib: lib.ones(3, requires_grad=True).__setitem__(0, 2.0),
    ),
    ErrorCase(
        "index_select_out_of_range", lambda lib: lib.ones(3).index_select(0, _long(lib, [5]))
    ),
    ErrorCase(
        "index_select_float_index", lambda lib: lib.ones(3).index_select(0, lib.tensor([1.0]))
    ),
    ErrorCase(
        "index_select_matrix_index", lambda lib: lib.ones(3).index_select(0, _long(lib, [[1]]))
    ),
    ErrorCase("gather_dim_mismatch", lambda lib: lib.ones(3, 2).gather(1, _long(lib, [1]))),
    ErrorCase("gather_out_of_range", lambda lib: lib.ones(3, 2).gather(1, _long(lib, [[5]]))),
    ErrorCase("gather_negative_index", lambda lib: lib.ones(3, 2).gather(1, _long(lib, [[-1]]))),
    ErrorCase(
        "gather_index_too_large", lambda lib: lib.ones(3, 2).gather(0, _long(lib, [[0, 0, 0]]))
    ),
    ErrorCase("gather_bad_dim", lambda lib: lib.ones(3, 2).gather(2, _long(lib, [[0]]))),
    ErrorCase(
        "scatter_dtype_mismatch",
        lambda lib: lib.ones(2).scatter(0, _long(lib, [0]), lib.ones(1, dtype=lib.float64)),
    ),
    ErrorCase(
        "scatter_out_of_range", lambda lib: lib.ones(2).scatter(0, _long(lib, [2]), lib.ones(1))
    ),
    ErrorCase(
        "scatter_reduce_bad_reduce",
        lambda lib: lib.ones(2).scatter_reduce(0, _long(lib, [0]), lib.ones(1), "foo"),
    ),
    ErrorCase(
        "scatter_add_src_too_small",
        lambda lib: lib.ones(2, 2).scatter_add(0, _long(lib, [[0, 0]]), lib.ones(1, 1)),
    ),
    ErrorCase(
        "index_add_dtype_mismatch",
        lambda lib: lib.ones(3).index_add(0, _long(lib, [0]), lib.ones(1, dtype=lib.float64)),
    ),
    ErrorCase("index_select_negative", lambda lib: lib.ones(3).index_select(0, _long(lib, [-1]))),
    ErrorCase(
        "index_add_negative", lambda lib: lib.ones(3).index_add(0, _long(lib, [-1]), lib.ones(1))
    ),
    ErrorCase(
        "index_add_float_index",
        lambda lib: lib.ones(3).index_add(0, lib.tensor([0.0]), lib.ones(1)),
    ),
    ErrorCase(
        "index_copy_negative", lambda lib: lib.ones(3).index_copy(0, _long(lib, [-1]), lib.ones(1))
    ),
    ErrorCase(
        "index_copy_slice_mismatch",
        lambda lib: lib.ones(3, 2).index_copy(0, _long(lib, [0]), lib.ones(1, 3)),
    ),
    ErrorCase(
        "index_fill_out_of_range", lambda lib: lib.ones(3).index_fill(0, _long(lib, [-4]), 2.0)
    ),
    ErrorCase("take_int32_index", lambda lib: lib.ones(3).take(lib.tensor([0], dtype=lib.int32))),
    ErrorCase("getitem_float_scalar", lambda lib: lib.ones(3)[1.5]),
    ErrorCase(
        "index_copy_shape_mismatch",
        lambda lib: lib.ones(3, 2).index_copy(0, _long(lib, [0]), lib.ones(2, 2)),
    ),
    ErrorCase(
        "index_fill_vector_value",
        lambda lib: lib.ones(3).index_fill(0, _long(lib, [0]), lib.ones(1)),
    ),
    ErrorCase(
        "index_put_dtype_mismatch",
        lambda lib: lib.ones(3).index_put((_long(lib, [0]),), lib.ones(1, dtype=lib.float64)),
    ),
    ErrorCase(
        "index_put_out_of_range", lambda lib: lib.ones(3).index_put((_long(lib, [3]),), lib.ones(1))
    ),
    ErrorCase(
        "masked_fill_int_mask", lambda lib: lib.ones(3).masked_fill(_long(lib, [1, 0, 1]), 0.0)
    ),
    ErrorCase(
        "masked_fill_vector_value",
        lambda lib: lib.ones(3).masked_fill(_mask(lib, [True, False, True]), lib.ones(1)),
    ),
    ErrorCase(
        "masked_fill_bad_broadcast",
        lambda lib: lib.ones(3).masked_fill(_mask(lib, [True, False]), 0.0),
    ),
    ErrorCase(
        "masked_scatter_too_few",
        lambda lib: lib.ones(3).masked_scatter(_mask(lib, [True, False, True]), lib.ones(1)),
    ),
    ErrorCase(
        "masked_select_int_mask", lambda lib: lib.ones(3).masked_select(_long(lib, [1, 0, 1]))
    ),
    ErrorCase("take_out_of_range", lambda lib: lib.ones(2, 3).take(_long(lib, [6]))),
    ErrorCase(
        "take_along_dim_ndim_mismatch",
        lambda lib: lib.ones(2, 3).take_along_dim(_long(lib, [0]), 1),
    ),
    ErrorCase("tril_vector", lambda lib: lib.ones(3).tril()),
    ErrorCase("triu_0d", lambda lib: lib.ones(()).triu()),
    ErrorCase("diag_3d", lambda lib: lib.diag(lib.ones(2, 2, 2))),
    ErrorCase("diagonal_same_dims", lambda lib: lib.ones(2, 2).diagonal(0, 1, 1)),
    ErrorCase("diagonal_bad_dim", lambda lib: lib.ones(2, 2).diagonal(0, 0, 2)),
    ErrorCase("trace_vector", lambda lib: lib.ones(3).trace()),
]
