"""Cases for the core arithmetic that the engine itself relies on."""

from tests.oracle import Case, ErrorCase

CASES = [
    Case("add", lambda lib, a, b: a + b, [(3, 4), (3, 4)]),
    Case("add_broadcast", lambda lib, a, b: lib.add(a, b, alpha=2.5), [(2, 1, 4), (3, 1)]),
    Case("add_scalar_reflected", lambda lib, a: 2 + a, [(3,)]),
    Case("sub_broadcast", lambda lib, a, b: a - b, [(4,), (2, 4)]),
    Case("mul_0d", lambda lib, a, b: a * b, [(), (2, 3)]),
    Case("div", lambda lib, a, b: a / b, [(3, 4), (4,)], domain=(0.5, 2.0)),
    Case("rdiv_scalar", lambda lib, a: 3.0 / a, [(5,)], domain=(0.5, 2.0)),
    Case("neg", lambda lib, a: -a, [(2, 3)]),
    Case("exp", lambda lib, a: lib.exp(a), [(2, 3)]),
    Case("log", lambda lib, a: lib.log(a), [(2, 3)], domain=(0.2, 3.0)),
    Case("sigmoid", lambda lib, a: lib.sigmoid(a), [(2, 3)]),
    Case("tanh", lambda lib, a: a.tanh(), [(4,)]),
    Case("relu", lambda lib, a: lib.relu(a), [(3, 5)]),
    Case("pow_scalar", lambda lib, a: a ** 3, [(2, 3)]),
    Case("pow_tensor", lambda lib, a, b: a ** b, [(2, 3), (3,)], domain=(0.5, 2.0)),
    Case("rpow", lambda lib, a: 2.0 ** a, [(3,)]),
    Case("sum_all", lambda lib, a: a.sum(), [(3, 4)]),
    Case("sum_dims", lambda lib, a: a.sum(dim=(0, -1), keepdim=True), [(2, 3, 4)]),
    Case("mean_dim", lambda lib, a: a.mean(-2), [(2, 3, 4)]),
    Case("reshape", lambda lib, a: a.reshape(4, -1), [(2, 3, 4)]),
    Case("permute", lambda lib, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    Case("transpose", lambda lib, a: a.transpose(0, -1), [(2, 3, 4)]),
    Case("expand", lambda lib, a: a.expand(3, 2, 4), [(2, 1)]),
    Case("where", lambda lib, a, b: lib.where(a > 0, a, b), [(3, 4), (4,)]),
    Case("promote_int_float", lambda lib, a: lib.tensor([1, 2, 3]) * a, [(3,)]),
    Case("renorm_rows", lambda lib, a: lib.renorm(a, 2, 0, 1.5), [(3, 4)]),
    Case("renorm_p1_dim1", lambda lib, a: a.renorm(1, 1, 2.0), [(3, 4)]),
]

ERRORS = [
    ErrorCase("add_bad_broadcast", lambda lib: lib.ones(2, 3) + lib.ones(4)),
    ErrorCase("reshape_bad_size", lambda lib: lib.ones(2, 3).reshape(4, 2)),
    ErrorCase("sum_bad_dim", lambda lib: lib.ones(2, 3).sum(2)),
    ErrorCase("item_many", lambda lib: lib.ones(2).item()),
    ErrorCase("bool_ambiguous", lambda lib: bool(lib.ones(2))),
    ErrorCase("int_requires_grad", lambda lib: lib.tensor([1, 2], requires_grad=True)),
    ErrorCase("ragged", lambda lib: lib.tensor([[1.0, 2.0], [3.0]])),
    ErrorCase("bad_dtype_string", lambda lib: lib.ones(2).to("float99")),
]
