"""User scripts, as tutorials and Stack Overflow answers write them, run with torch and ember.

Each scenario is a function of the library (``t`` is ``torch`` or ``ember``) that returns
results: tensors, numbers, strings (reprs), lists and dicts of them. The test runs it with
torch first (models record their initial weights in ``_WEIGHTS``, which the ember run loads,
so parameter trajectories can be compared), then with ember, and compares values, dtypes
and shapes (float64 where numbers are compared), or the exception class when both raise.
"""

import io
import os
import tempfile
import traceback
import warnings

import numpy as np
import pytest
import torch

import ember

pytestmark = pytest.mark.filterwarnings("ignore")


def _convert(value, lib):
    if isinstance(value, lib.Tensor):
        dtype = str(value.dtype).replace("ember.", "torch.")
        return ("T", dtype, tuple(value.shape), value.detach().numpy().copy())
    if isinstance(value, (list, tuple)) and not isinstance(value, (torch.Size, ember.Size)):
        return "seq", [_convert(item, lib) for item in value]  # named tuples are tuples
    if isinstance(value, dict):
        return {key: _convert(item, lib) for key, item in value.items()}
    if isinstance(value, (torch.dtype, ember.dtype, torch.device, ember.device)):
        return str(value).replace("ember.", "torch.")
    if isinstance(value, (torch.Size, ember.Size)):
        return tuple(value)
    return value.replace("ember.", "torch.") if isinstance(value, str) else value


def _mismatches(expected, actual, path="", tol=1e-6):
    if isinstance(expected, tuple) and len(expected) == 4 and expected[0] == "T":
        if not (isinstance(actual, tuple) and len(actual) == 4 and actual[0] == "T"):
            return [f"{path}: expected a tensor, got {actual!r}"[:300]]
        if expected[1:3] != actual[1:3]:
            return [f"{path}: dtype/shape {expected[1:3]} vs {actual[1:3]}"]
        x, y = expected[3], actual[3]
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            same = np.allclose(x, y, rtol=tol, atol=tol, equal_nan=True)
        else:
            same = np.array_equal(x, y)
        return [] if same else [f"{path}: values\n{x}\nvs\n{y}"[:600]]
    if isinstance(expected, tuple) and len(expected) == 2 and expected[0] == "seq":
        if not (
            isinstance(actual, tuple) and actual[0] == "seq" and len(actual[1]) == len(expected[1])
        ):
            return [f"{path}: {str(expected)[:200]} vs {str(actual)[:200]}"]
        found = []
        for i, (x, y) in enumerate(zip(expected[1], actual[1])):
            found += _mismatches(x, y, f"{path}[{i}]", tol)
        return found
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(expected) != set(actual):
            return [f"{path}: keys {expected} vs {actual}"[:400]]
        return [
            m
            for key in expected
            for m in _mismatches(expected[key], actual[key], f"{path}.{key}", tol)
        ]
    if isinstance(expected, float) and isinstance(actual, float):
        return (
            []
            if np.isclose(expected, actual, rtol=tol, atol=tol, equal_nan=True)
            else [f"{path}: {expected} vs {actual}"]
        )
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: {expected!r} vs {actual!r}"[:800]]
    return []


def _run(scenario, lib):
    try:
        return None, _convert(scenario(lib), lib)
    except Exception as error:  # noqa: BLE001  (the exception class is what is compared)
        return error, traceback.format_exc()


def _same_error(expected, actual):
    if type(expected).__name__ == type(actual).__name__:
        return True
    # torch raises torch._C._LinAlgError; ember its own LinAlgError. Both are RuntimeErrors.
    linalg = "LinAlgError"
    return (
        type(expected).__name__.endswith(linalg)
        and type(actual).__name__.endswith(linalg)
        and isinstance(actual, RuntimeError)
    )


# ---------------------------------------------------------------- s1
def reprs(t):
    out = []
    t.manual_seed(0)
    out.append(repr(t.tensor([1, 2, 3])))
    out.append(repr(t.tensor([1.5, 2.0, -3.25])))
    out.append(repr(t.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=t.float64)))
    out.append(repr(t.tensor(3.0)))
    out.append(repr(t.tensor(True)))
    out.append(repr(t.tensor([True, False])))
    out.append(repr(t.zeros(2, 3)))
    out.append(repr(t.tensor([], dtype=t.float32)))
    out.append(repr(t.zeros(0, 3)))
    out.append(repr(t.tensor([1e10, 1.0])))
    out.append(repr(t.tensor([1e-5, 1.0])))
    out.append(repr(t.tensor([float("nan"), float("inf"), -float("inf"), 1.0])))
    out.append(repr(t.tensor([1, 2], dtype=t.int32)))
    out.append(repr(t.tensor([1.0, 2.0], requires_grad=True)))
    out.append(repr(t.tensor([1.0, 2.0], requires_grad=True) * 2))
    out.append(repr(t.tensor([1.0, 2.0], requires_grad=True).sum()))
    out.append(repr(t.arange(1000)))
    out.append(repr(t.arange(12.0).reshape(3, 4)))
    out.append(repr(t.arange(200.0).reshape(20, 10)))
    out.append(repr(t.tensor([123456.789, 0.001])))
    out.append(repr(t.tensor([1.0, 2.0], dtype=t.float16)))
    out.append(repr(t.tensor([1, 2], dtype=t.uint8)))

    out.append(str(t.tensor([0.1, 0.2])))
    out.append(repr(t.ones(2, 2).double()))
    out.append(str(t.float32) + str(t.int64) + repr(t.float64))
    out.append(repr(t.ones(2, 3).shape))
    out.append(str(t.ones(2, 3).size()))
    out.append(repr(t.ones(2).device) + str(t.ones(2).device))
    out.append(repr(t.tensor([1.23456789])))
    out.append(repr(t.tensor([[1e-8, 1e8]])))
    out.append(repr(t.tensor([-0.0, 0.0])))
    out.append(repr(t.tensor(2, dtype=t.int64)))
    out.append(repr(t.tensor([1.0, 2.0]).to(t.int16)))
    out.append(repr(t.randn(3, 3).abs().max() > -1))
    out.append(repr(t.tensor([[True, False]])))
    return out


def reprs2(t):
    return [
        x.replace("ember.", "torch.")
        for x in [
            repr(t.tensor([1, 2.0]).view(2, 1).expand(2, 3)),
            repr(t.nn.Parameter(t.ones(2))),
            repr(t.tensor(1e-3)),
            repr(t.tensor(1 / 3)),
            repr(t.tensor([1 / 3], dtype=t.float64)),
            repr(t.tensor([1.0, 2.0]).unsqueeze(0).repeat(3, 1)),
            repr(t.tensor(float("nan"))),
            repr(t.full((2,), 7)),
        ]
    ]


def printopts(t):
    t.set_printoptions(precision=2)
    r = repr(t.tensor([1.23456, 2.0]))
    t.set_printoptions(profile="default")
    return r


def promo(t):
    a = t.tensor([1, 2])
    b = t.tensor([1.0, 2.0])
    c = t.tensor([True, False])
    d = t.tensor([1.0, 2.0], dtype=t.float64)
    e = t.tensor([1, 2], dtype=t.int32)
    f = t.tensor([1, 2], dtype=t.uint8)
    g = t.tensor([1, 2], dtype=t.int8)
    return [
        (a + b).dtype,
        (a * 2.5).dtype,
        (c + c).dtype,
        (c + 1).dtype,
        (c * 1.5).dtype,
        (a / 2).dtype,
        (a // 2).dtype,
        (e + a).dtype,
        (e + 1.0).dtype,
        (d + b).dtype,
        (t.tensor(1.0) + a).dtype,
        (t.tensor(1.0, dtype=t.float64) + b).dtype,
        (f + g).dtype,
        (f + 1000).dtype if False else 0,
        (a**2).dtype,
        (a**2.0).dtype,
        (2**a).dtype,
        (a % 2).dtype,
        t.tensor([1, 2]).float().dtype,
        (a > 1).dtype,
        (e * t.tensor(2)).dtype,
        (b * t.tensor(2, dtype=t.float64)).dtype,
        t.tensor(3).dtype,
        t.tensor(3.0).dtype,
        t.tensor([1, 2.0]).dtype,
        t.arange(5).dtype,
        t.arange(5.0).dtype,
        t.arange(0, 1, 0.1).dtype,
        t.linspace(0, 1, 5).dtype,
        t.zeros(2).dtype,
        t.full((2,), 3).dtype,
        t.full((2,), 3.0).dtype,
        t.full((2,), True).dtype,
        t.tensor(np.array([1, 2])).dtype,
        t.tensor(np.float32(1.0)).dtype,
        t.from_numpy(np.ones(2)).dtype,
        t.as_tensor([1, 2]).dtype,
        a.sum().dtype,
        c.sum().dtype,
        e.sum().dtype,
        a.mean(dtype=t.float32).dtype,
        e.cumsum(0).dtype,
        f.prod().dtype,
        (a / a).dtype,
        t.true_divide(a, 2).dtype,
        t.div(a, 2, rounding_mode="floor").dtype,
        t.div(a, 2, rounding_mode="trunc"),
        t.sqrt(a).dtype,
        (a & 1).dtype,
        (c | c).dtype,
        (~c).dtype,
        (~a),
        t.where(c, a, 1.5).dtype,
        t.where(c, a, b).dtype,
        t.maximum(a, b).dtype,
        t.clamp(a, 0.5).dtype,
    ]


def promo_err(t):
    a = t.tensor([1, 2])
    a += 1.5
    return a


def promo_err2(t):
    a = t.tensor([1.0, 2])
    return a.mean(dtype=t.int64)


def mean_int(t):
    return t.tensor([1, 2]).mean()


def floatsum(t):
    a = t.tensor([1, 2])
    a *= 2
    b = t.tensor([1.0, 2.0])
    b += a
    return [a, b]


# ---------------------------------------------------------------- s2
def XP(t, *s):
    return t.arange(float(np.prod(s)), dtype=t.float64).reshape(*s)


def idx(t):
    x = XP(t, 3, 4, 5)
    return [
        x[0],
        x[:, 1],
        x[..., -1],
        x[1:, ::2, None],
        x[[0, 2]],
        x[[0, 2], [1, 3]],
        x[x > 30],
        x[:, [True, False, True, False]],
        x[t.tensor([0, 2])],
        x[t.tensor([[0, 1], [2, 0]])],
        x[None],
        x[1, 2, 3],
        x[-1, :, t.tensor([0, 4])],
        x[:, t.tensor([1, 2]), t.tensor([3, 4])],
        x[0, [1, 2]][:, None],
        x[t.tensor(1)],
        x[..., None, 1],
        x[[[0], [1]], [2, 3]],
        x[1][x[1] > 7],
    ]


def setitem(t):
    x = XP(t, 3, 4)
    x[0] = 100.0
    x[:, 1] = t.tensor([7.0, 8.0, 9.0], dtype=t.float64)
    x[x > 10] = -1.0
    x[[0, 2], [1, 1]] += 5
    x[1, 2:] = t.zeros(2, dtype=t.float64)
    y = t.zeros(5, dtype=t.float64)
    y[t.tensor([0, 0, 1])] += 1.0
    z = t.zeros(5)
    z.index_add_(0, t.tensor([0, 0, 1]), t.ones(3))
    w = t.zeros(3, 3)
    w[t.arange(3), t.arange(3)] = 1
    v = t.ones(2, 3)
    v[..., 0] = 5
    v[:, :] *= 2
    return [x, y, z, w, v]


def inplace_grad(t):
    a = t.tensor([1.0, 2.0, 3.0], dtype=t.float64, requires_grad=True)
    b = a * 2
    b[0] = 10.0
    b.mul_(a)
    b.add_(1).clamp_(max=15)
    b.sum().backward()
    return [b, a.grad]


def inplace_leaf_err(t):
    a = t.ones(3, requires_grad=True)
    a.add_(1)


def inplace_saved_err(t):
    a = t.ones(3, requires_grad=True)
    b = a.exp()
    b.add_(1)
    b.sum().backward()


def bcast(t):
    a = XP(t, 3, 1)
    b = XP(t, 1, 4)
    c = XP(t, 4)
    return [
        a + b,
        a * c,
        (a - c) / (b + 1),
        t.broadcast_tensors(a, b)[1],
        a.expand(3, 4),
        a.expand(-1, 4),
        a.expand_as(b + a),
        t.broadcast_shapes((3, 1), (4,)),
    ]


def bcast_err(t):
    return XP(t, 3) + XP(t, 4)


def red(t):
    x = XP(t, 2, 3, 4) - 10
    return [
        x.sum(),
        x.sum(1),
        x.sum((0, 2), keepdim=True),
        x.mean(-1, keepdim=True),
        x.max(),
        x.max(1),
        x.max(1, keepdim=True).values,
        x.min(dim=2).indices,
        x.argmax(),
        x.argmax(1),
        x.std(),
        x.std(0),
        x.var(1, unbiased=False),
        x.var(1, correction=0, keepdim=True),
        x.prod(2),
        x.norm(),
        x.norm(dim=1),
        x.norm(p=1, dim=(1, 2)),
        x.abs().amax((0, 1)),
        x.logsumexp(2),
        x.cumsum(1),
        x.cumprod(2),
        x.median(),
        x.median(1),
        x.mode(1),
        t.std_mean(x, 1),
        t.var_mean(x, dim=(1,)),
        x.all(),
        (x > 0).any(1),
        x.count_nonzero(),
        t.topk(x, 2),
        t.sort(x, dim=1, descending=True),
        x.sum(dim=-1, dtype=t.float32),
        x.argsort(),
        x.quantile(0.3, dim=1),
        t.aminmax(x),
        x.max(dim=0)[0],
        t.max(x, XP(t, 4)),
    ]


def item(t):
    x = XP(t, 2, 3)
    return [
        x.sum().item(),
        type(x.sum().item()).__name__,
        x.tolist(),
        t.tensor(3).item(),
        type(t.tensor(3).item()).__name__,
        t.tensor([True]).item(),
        t.tensor(2.5, dtype=t.float32).item(),
        x.numpy().dtype.name,
        x[0].tolist(),
        t.tensor(1.0).tolist(),
        int(t.tensor(3.7)),
        float(t.tensor(2)),
        bool(t.tensor(0.0)),
        len(x),
        x.dim(),
        x.ndim,
        x.numel(),
        x.nelement(),
        x.size(1),
        x.shape[-1],
        x.size(),
        x.element_size(),
        x.is_contiguous(),
        x.t().is_contiguous(),
        x.dtype.is_floating_point,
        x.is_floating_point(),
        t.is_tensor(x),
        x.stride(),
        x.t().stride(),
        x.data_ptr() > 0 if False else 1,
        str(x.type()),
        x.requires_grad,
        x.is_leaf,
        hash(x) != 0,
        f"{t.tensor(2.5):.2f}",
        f"{t.tensor(1)}",
        x.new_zeros(2).dtype,
        x.new_tensor([1, 2]).dtype,
        x.new_ones((2,)).dtype,
        x.new_full((2,), 3).dtype,
        x.new_empty(2).shape,
    ]


def item_err(t):
    return t.ones(2).item()


def numpy_grad_err(t):
    return t.ones(2, requires_grad=True).numpy()


def numpy_share(t):
    x = t.zeros(3)
    n = x.numpy()
    n[0] = 5
    y = t.from_numpy(np.ones(2))
    y.add_(1)
    return [x, y]


# ---------------------------------------------------------------- s3
def ag1(t):
    x = t.tensor([1.0, 2.0, 3.0], dtype=t.float64, requires_grad=True)
    y = (x**2).sum()
    y.backward(retain_graph=True)
    g1 = x.grad.clone()
    y.backward()
    g2 = x.grad.clone()
    x.grad.zero_()
    z = x.detach() * 3
    with t.no_grad():
        w = x * 2
    return [
        g1,
        g2,
        z.requires_grad,
        w.requires_grad,
        x.grad,
        y.grad_fn.name(),
        y.grad_fn is not None,
        x.grad_fn,
    ]


def ag_double_backward_err(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward()
    y.backward()


def ag_nonscalar(t):
    x = t.ones(2, requires_grad=True)
    (x * 2).backward()


def ag_nograd_err(t):
    x = t.ones(2)
    x.sum().backward()


def ag_grad(t):
    x = t.tensor([0.5, 1.5], dtype=t.float64, requires_grad=True)
    y = t.sin(x) * x
    (g,) = t.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = t.autograd.grad(g.sum(), x)
    v = t.autograd.grad(y, x, grad_outputs=t.ones_like(y))[0]
    a = t.ones(2, requires_grad=True)
    b = t.ones(2, requires_grad=True)
    ga = t.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)
    return [g, gg, v, ga[1] is None, ga[0]]


def ag_unused_err(t):
    a = t.ones(2, requires_grad=True)
    b = t.ones(2, requires_grad=True)
    return t.autograd.grad((a * 2).sum(), [a, b])


def ag_func(t):
    class MyExp(t.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            r = i.exp()
            ctx.save_for_backward(r)
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            return g * r

    class Clamp(t.autograd.Function):
        @staticmethod
        def forward(ctx, x, lo, hi):
            ctx.lo, ctx.hi = lo, hi
            ctx.save_for_backward(x)
            return x.clamp(lo, hi)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            m = (x >= ctx.lo) & (x <= ctx.hi)
            return g * m, None, None

    x = t.tensor([0.0, 1.0, -2.0], dtype=t.float64, requires_grad=True)
    y = MyExp.apply(x)
    z = Clamp.apply(y * 3 - 2, 0.0, 2.0)
    z.sum().backward()
    return [y, z, x.grad, type(y.grad_fn).__name__ if False else 0]


def ag_func_old(t):
    class Twice(t.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * 2, x + y

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2, g2

    a = t.ones(2, dtype=t.float64, requires_grad=True)
    b = t.ones(2, dtype=t.float64, requires_grad=True)
    p, q = Twice.apply(a, b)
    (p * 3 + q).sum().backward()
    return [a.grad, b.grad]


def ag_setup_ctx(t):
    class Sq(t.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    a = t.tensor([3.0], dtype=t.float64, requires_grad=True)
    Sq.apply(a).sum().backward()
    return a.grad


def hooks(t):
    log = []
    x = t.tensor([1.0, 2.0], dtype=t.float64, requires_grad=True)
    h = x.register_hook(lambda g: g * 10)
    y = x * 3
    y.register_hook(lambda g: log.append(g.clone()))
    y.retain_grad()
    y.sum().backward()
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    lin = t.nn.Linear(2, 1).double()
    feats = []
    hh = lin.register_forward_hook(lambda m, i, o: feats.append(o.detach()))
    pre = lin.register_forward_pre_hook(lambda m, i: (i[0] * 2,))
    bh = lin.register_full_backward_hook(lambda m, gi, go: log.append(go[0].clone()))
    with t.no_grad():
        lin.weight.fill_(1.0)
        lin.bias.zero_()
    inp = t.ones(1, 2, dtype=t.float64, requires_grad=True)
    lin(inp).sum().backward()
    hh.remove()
    pre.remove()
    bh.remove()
    lin(inp)
    return [log, y.grad, x.grad, feats, len(feats)]


def grad_accum(t):
    w = t.tensor([1.0, -1.0], dtype=t.float64, requires_grad=True)
    for i in range(3):
        (w * (i + 1)).pow(2).sum().backward()
    return [w.grad, w.is_leaf, (w * 2).is_leaf, w.grad.requires_grad]


def req_grad_(t):
    x = t.ones(3)
    x.requires_grad_()
    y = (x * 2).detach().requires_grad_(True)
    z = x.detach_() if False else x.detach()
    return [x.requires_grad, y.requires_grad, y.is_leaf, z.requires_grad]


def nongrad_set(t):
    x = t.ones(2, requires_grad=True)
    y = x * 2
    y.requires_grad_(False)


def enable_grad(t):
    x = t.ones(2, requires_grad=True)
    with t.no_grad():
        with t.enable_grad():
            y = x * 2
        z = x * 2

    @t.no_grad()
    def f(a):
        return a * 2

    with t.inference_mode():
        q = x * 2
    t.set_grad_enabled(False)
    r = x * 2
    t.set_grad_enabled(True)
    with t.set_grad_enabled(False):
        s = x * 2
    return [
        y.requires_grad,
        z.requires_grad,
        f(x).requires_grad,
        q.requires_grad,
        r.requires_grad,
        s.requires_grad,
        t.is_grad_enabled(),
    ]


def jac(t):
    def f(x):
        return x**2 + x.sin()

    x = t.tensor([1.0, 2.0], dtype=t.float64)
    return [
        t.autograd.functional.jacobian(f, x),
        t.autograd.functional.hessian(lambda x: (x**3).sum(), x),
    ]


def grad_of_nonleaf(t):
    x = t.ones(2, requires_grad=True)
    y = x * 2
    (y * y).sum().backward()
    return y.grad


def detach_shared(t):
    x = t.ones(2, requires_grad=True)
    d = x.detach()
    d.zero_()
    return x


def gradcheck(t):
    x = t.randn(3, dtype=t.float64, requires_grad=True)
    return t.autograd.gradcheck(lambda a: (a.tanh() * a).sum(), (x,))


# ---------------------------------------------------------------- s4
_WEIGHTS = {}


def sync(t, model, key):
    if t is torch:
        _WEIGHTS[key] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    else:
        model.load_state_dict({k: t.tensor(v) for k, v in _WEIGHTS[key].items()})
    return model


# Draws the shared data once, at import and in file order; scenarios seed their own.
RNG = np.random.default_rng(0)
XIMG = RNG.standard_normal((4, 3, 8, 8))
YIMG = RNG.integers(0, 5, 4)


def cnn(t):
    nn = t.nn
    F = t.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
            self.bn = nn.BatchNorm2d(6)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 8, kernel_size=3, stride=1)
            self.drop = nn.Dropout(0.0)
            self.fc = nn.Linear(8 * 2 * 2, 5)

        def forward(self, x):
            x = self.pool(F.relu(self.bn(self.conv1(x))))
            x = F.relu(self.conv2(x))
            x = F.adaptive_avg_pool2d(x, (2, 2))
            x = t.flatten(x, 1)
            return self.fc(self.drop(x))

    t.manual_seed(0)
    m = sync(t, Net().double(), "cnn")
    opt = t.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = t.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    crit = nn.CrossEntropyLoss(
        weight=t.tensor([1.0, 2.0, 1.0, 1.0, 0.5], dtype=t.float64), label_smoothing=0.1
    )
    x = t.tensor(XIMG)
    y = t.tensor(YIMG)
    losses = []
    for step in range(4):
        m.train()
        opt.zero_grad()
        loss = crit(m(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    m.eval()
    with t.no_grad():
        out = m(x)
    return [
        losses,
        out,
        dict(m.state_dict()),
        sched.get_last_lr(),
        [n for n, _ in m.named_parameters()],
        m.bn.num_batches_tracked,
        repr(m),
    ]


def mlp_adam(t):
    rng = np.random.default_rng(0)
    nn = t.nn
    t.manual_seed(0)
    m = sync(
        t,
        nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 1)).double(),
        "mlp",
    )
    opt = t.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.01)
    sched = t.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    X = t.tensor(rng.standard_normal((20, 4)))
    Y = (X.sum(1, keepdim=True) > 0).double()
    crit = nn.BCEWithLogitsLoss(pos_weight=t.tensor([2.0], dtype=t.float64))
    losses = []
    for i in range(10):
        opt.zero_grad()
        loss = crit(m(X), Y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return [
        losses,
        dict(m.state_dict()),
        sched.get_last_lr(),
        opt.param_groups[0]["betas"],
        repr(m),
    ]


def adam_cos(t):
    nn = t.nn
    t.manual_seed(0)
    m = sync(t, nn.Linear(3, 2).double(), "lin")
    opt = t.optim.Adam(
        [{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5}], lr=0.1, amsgrad=True
    )
    sched = t.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
    x = t.linspace(-1, 1, 12, dtype=t.float64).reshape(4, 3)
    out = []
    for i in range(6):
        opt.zero_grad()
        loss = nn.functional.mse_loss(m(x), t.zeros(4, 2, dtype=t.float64))
        loss.backward()
        opt.step()
        sched.step()
        out.append(loss.item())
    sd = opt.state_dict()
    return [
        out,
        m.weight,
        m.bias,
        sched.get_last_lr(),
        sorted(sd.keys()),
        sd["param_groups"][1]["lr"],
        list(sd["state"].keys()),
        sd["state"][0]["step"],
    ]


# ---------------------------------------------------------------- s5
TOK = RNG.integers(0, 20, (3, 7))


def lstm_lm(t, cell="LSTM", bidir=False, layers=2, batch_first=True):
    nn = t.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 8, padding_idx=0)
            self.rnn = getattr(nn, cell)(
                8, 6, num_layers=layers, batch_first=batch_first, bidirectional=bidir, dropout=0.0
            )
            self.out = nn.Linear(6 * (2 if bidir else 1), 20)

        def forward(self, x, h=None):
            e = self.emb(x)
            if not batch_first:
                e = e.transpose(0, 1)
            o, h = self.rnn(e, h)
            if not batch_first:
                o = o.transpose(0, 1)
            return self.out(o), h

    t.manual_seed(0)
    m = sync(t, LM().double(), cell + str(bidir) + str(layers))
    opt = t.optim.Adam(m.parameters(), lr=0.01)
    x = t.tensor(TOK)
    inp, tgt = x[:, :-1], x[:, 1:]
    losses = []
    for i in range(3):
        opt.zero_grad()
        logits, h = m(inp)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 20), tgt.reshape(-1), ignore_index=0)
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 0.5)
        opt.step()
        losses.append(loss.item())
    h = tuple(v.detach() for v in h) if isinstance(h, tuple) else h.detach()
    logits2, h2 = m(inp, h)
    return [losses, logits2, h2, m.emb.weight[0], repr(m)]


def lstm(t):
    return lstm_lm(t)


def gru(t):
    return lstm_lm(t, "GRU")


def rnn_bi(t):
    return lstm_lm(t, "RNN", True, 1, False)


def lstm_bi(t):
    return lstm_lm(t, "LSTM", True, 2, False)


def lstm_cell(t):
    rng = np.random.default_rng(0)
    nn = t.nn
    t.manual_seed(0)
    c = sync(t, nn.LSTMCell(4, 3).double(), "cell")
    g = sync(t, nn.GRUCell(4, 3).double(), "gcell")
    x = t.tensor(rng.standard_normal((5, 2, 4)))
    h = t.zeros(2, 3, dtype=t.float64)
    cc = t.zeros(2, 3, dtype=t.float64)
    hg = None
    outs = []
    for i in range(5):
        h, cc = c(x[i], (h, cc))
        hg = g(x[i], hg)
        outs.append(h + hg)
    return t.stack(outs)


def packed(t):
    rng = np.random.default_rng(0)
    nn = t.nn
    t.manual_seed(0)
    r = sync(t, nn.LSTM(3, 4, batch_first=True).double(), "packed")
    x = t.tensor(rng.standard_normal((3, 5, 3)))
    lengths = t.tensor([5, 3, 2])
    p = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=True)
    o, (h, c) = r(p)
    out, lens = nn.utils.rnn.pad_packed_sequence(o, batch_first=True)
    seqs = [t.ones(2), t.ones(4), t.ones(1)]
    return [out, lens, h, c, nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=-1)]


def transformer(t):
    nn = t.nn
    t.manual_seed(0)

    class TM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 16)
            layer = nn.TransformerEncoderLayer(
                d_model=16, nhead=4, dim_feedforward=32, dropout=0.0, batch_first=True
            )
            self.enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            self.head = nn.Linear(16, 20)

        def forward(self, x, mask=None, pad=None):
            return self.head(self.enc(self.emb(x) * 4.0, mask=mask, src_key_padding_mask=pad))

    m = sync(t, TM().double(), "tm")
    x = t.tensor(TOK)
    mask = nn.Transformer.generate_square_subsequent_mask(7, dtype=t.float64)
    pad = x == 0
    opt = t.optim.AdamW(m.parameters(), lr=1e-3)
    losses = []
    for i in range(3):
        opt.zero_grad()
        out = m(x, mask)
        loss = nn.functional.cross_entropy(out.transpose(1, 2), x, label_smoothing=0.05)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    m.eval()
    return [losses, m(x, mask), m(x, None, pad), mask, sorted(m.state_dict().keys())]


def transformer_norm_first(t):
    rng = np.random.default_rng(0)
    nn = t.nn
    t.manual_seed(0)
    layer = sync(
        t,
        nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, norm_first=True, activation="gelu"
        ).double(),
        "tnf",
    )
    x = t.tensor(rng.standard_normal((5, 2, 8)))
    layer.eval()
    pad = t.tensor([[False] * 5, [False] * 3 + [True] * 2])
    return [layer(x), layer(x, src_key_padding_mask=pad)]


def mha(t):
    rng = np.random.default_rng(0)
    nn = t.nn
    t.manual_seed(0)
    a = sync(t, nn.MultiheadAttention(8, 2, batch_first=True).double(), "mha")
    q = t.tensor(rng.standard_normal((2, 4, 8)))
    q.requires_grad_()
    o, w = a(q, q, q, need_weights=True)
    o2, w2 = a(q, q, q, attn_mask=t.triu(t.ones(4, 4, dtype=t.bool), 1), average_attn_weights=False)
    kpm = t.tensor([[False, False, True, True], [False] * 4])
    o3, _ = a(q, q, q, key_padding_mask=kpm)
    (o.sum() + o2.pow(2).sum() + o3.sum()).backward()
    return [o, w, o2, w2, o3, q.grad, a.in_proj_weight.grad]


def full_transformer(t):
    rng = np.random.default_rng(0)
    nn = t.nn
    t.manual_seed(0)
    m = sync(
        t,
        nn.Transformer(
            d_model=8,
            nhead=2,
            num_encoder_layers=1,
            num_decoder_layers=1,
            dim_feedforward=16,
            dropout=0.0,
        ).double(),
        "tr",
    )
    src = t.tensor(rng.standard_normal((5, 2, 8)))
    tgt = t.tensor(rng.standard_normal((3, 2, 8)))
    out = m(src, tgt, tgt_mask=m.generate_square_subsequent_mask(3))
    out.sum().backward()
    return [out, m.encoder.layers[0].linear1.weight.grad]


def sdpa(t):
    F = t.nn.functional
    q = t.arange(24.0, dtype=t.float64).reshape(1, 2, 3, 4) / 10
    return [
        F.scaled_dot_product_attention(q, q.flip(-1), q, is_causal=True),
        F.scaled_dot_product_attention(q, q, q, attn_mask=t.tensor([[True, False, True]])),
    ]


# ---------------------------------------------------------------- s6
def loader(t):
    from importlib import import_module

    data = import_module(t.__name__ + ".utils.data")
    X = t.arange(20.0, dtype=t.float64).reshape(10, 2)
    Y = t.arange(10)
    ds = data.TensorDataset(X, Y)
    dl = data.DataLoader(ds, batch_size=4, shuffle=False)
    out = [len(ds), len(dl), ds[3]]
    for xb, yb in dl:
        out.append((xb, yb))
    dl2 = data.DataLoader(ds, batch_size=3, drop_last=True)
    out.append(len(dl2))
    out.append([b[1] for b in dl2])
    t.manual_seed(0)
    dl3 = data.DataLoader(ds, batch_size=4, shuffle=True)
    s = [yb.sort().values for _, yb in dl3]
    out.append(t.cat(s).sort().values)
    tr, va = data.random_split(ds, [8, 2])
    out.append((len(tr), len(va)))
    tr, va = data.random_split(ds, [0.7, 0.3])
    out.append((len(tr), len(va)))

    class DS(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {
                "x": t.full((2,), float(i)),
                "y": i,
                "name": str(i),
                "f": i * 0.5,
                "n": np.ones(2) * i,
            }

    for b in data.DataLoader(DS(), batch_size=2):
        out.append(b)
    out.append(list(data.DataLoader(list(range(5)), batch_size=2)))
    out.append(list(data.DataLoader([(1, 2.0), (3, 4.0)], batch_size=2)))
    out.append(list(data.DataLoader(ds, batch_size=None))[0])
    out.append(next(iter(data.DataLoader(ds, batch_size=2, collate_fn=lambda b: len(b)))))
    sub = data.Subset(ds, [1, 3])
    out.append(sub[1])
    cat = data.ConcatDataset([ds, ds])
    out.append(len(cat))
    out.append(cat[15])
    out.append(list(data.BatchSampler(data.SequentialSampler(range(5)), 2, False)))
    ws = data.WeightedRandomSampler([0.0, 1.0, 0.0], 4)
    out.append(list(ws))
    return out


def loader_shuffle_seed(t):
    # same permutation as torch is unlikely; just check it is a permutation
    from importlib import import_module

    data = import_module(t.__name__ + ".utils.data")
    ds = data.TensorDataset(t.arange(10))
    g = t.Generator()
    g.manual_seed(1)
    dl = data.DataLoader(ds, batch_size=10, shuffle=True, generator=g)
    (b,) = next(iter(dl))
    return b.sort().values


def save_load(t):
    nn = t.nn
    t.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = t.optim.Adam(m.parameters(), lr=0.01)
    m(t.randn(5, 3)).sum().backward()
    opt.step()
    d = tempfile.mkdtemp()
    p = os.path.join(d, "ckpt.pt")
    t.save(
        {
            "epoch": 3,
            "model_state_dict": m.state_dict(),
            "optimizer_state_dict": opt.state_dict(),
            "loss": 0.25,
            "hist": [1.0, 2.0],
            "name": "x",
            "t": t.tensor([1, 2]),
        },
        p,
    )
    ck = t.load(p, weights_only=False) if t is torch else t.load(p)
    m2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    r = m2.load_state_dict(ck["model_state_dict"])
    opt2 = t.optim.Adam(m2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["optimizer_state_dict"])
    x = t.ones(2, 3)
    m.eval()
    m2.eval()
    t.save(m.state_dict(), os.path.join(d, "m.pth"))
    sd = t.load(os.path.join(d, "m.pth"))
    m.load_state_dict(sd, strict=True)
    t.save(t.arange(3), os.path.join(d, "t.pt"))
    tt = t.load(os.path.join(d, "t.pt"))
    t.save([t.ones(2), t.zeros(1)], os.path.join(d, "l.pt"))
    ll = t.load(os.path.join(d, "l.pt"))
    return [
        ck["epoch"],
        ck["loss"],
        ck["hist"],
        ck["name"],
        ck["t"],
        bool((m(x) == m2(x)).all()),
        str(r),
        opt2.param_groups[0]["lr"],
        tt,
        ll,
        list(sd.keys()),
        ck["optimizer_state_dict"]["state"][0]["step"],
    ]


def load_missing(t):
    m = t.nn.Linear(2, 2)
    return str(m.load_state_dict({"weight": t.ones(2, 2)}, strict=False))


def load_missing_err(t):
    m = t.nn.Linear(2, 2)
    m.load_state_dict({"weight": t.ones(2, 2)})


def load_shape_err(t):
    m = t.nn.Linear(2, 2)
    m.load_state_dict({"weight": t.ones(3, 2), "bias": t.ones(2)})


def save_bytesio(t):

    buf = io.BytesIO()
    t.save({"a": t.ones(2), "b": 3}, buf)
    buf.seek(0)
    return t.load(buf)


def save_view(t):

    x = t.arange(10.0)
    buf = io.BytesIO()
    t.save({"a": x[2:5], "b": x}, buf)
    buf.seek(0)
    return t.load(buf)


def save_param(t):

    p = t.nn.Parameter(t.ones(2))
    buf = io.BytesIO()
    t.save(p, buf)
    buf.seek(0)
    q = t.load(buf, weights_only=False) if t is torch else t.load(buf)
    return [type(q).__name__, q.requires_grad, q]


# ---------------------------------------------------------------- s7
def creation(t):
    return [
        t.arange(5),
        t.arange(1, 10, 3),
        t.arange(0, 1, 0.25),
        t.arange(5, dtype=t.float32),
        t.linspace(0, 1, 5),
        t.linspace(-1, 1, steps=4, dtype=t.float64),
        t.logspace(0, 2, 3),
        t.zeros(2, 3),
        t.zeros((2, 3)),
        t.ones([2]),
        t.full((2, 2), 1.5),
        t.eye(3),
        t.eye(2, 3),
        t.zeros_like(X(t, 2)),
        t.ones_like(X(t, 2), dtype=t.int32),
        t.full_like(X(t, 3), 7),
        t.empty(2, 3).shape,
        t.tensor([[1, 2], [3, 4]]).T,
        t.diag(t.tensor([1, 2])),
        t.tril(t.ones(3, 3)),
        t.triu(t.ones(3, 3), diagonal=1),
        t.meshgrid(t.arange(2), t.arange(3), indexing="ij"),
        t.meshgrid(t.arange(2), t.arange(3), indexing="xy"),
        t.arange(10).view(2, 5),
        t.arange(6).reshape(-1, 2),
        t.arange(3).repeat(2),
        t.arange(3).repeat_interleave(2),
        t.tensor([1, 2]).repeat_interleave(t.tensor([1, 3])),
        t.arange(4).flip(0),
        t.roll(t.arange(5), 2),
        t.arange(6).chunk(4),
        t.arange(7).split(3),
        t.arange(7).split([2, 5]),
        t.arange(6).reshape(2, 3).unbind(1),
        t.tensor(np.array([[1, 2]], dtype=np.int32)),
        t.as_tensor(np.ones(2)),
        t.tensor([[1, 2]]).numpy().dtype.name,
        t.empty_like(X(t, 2)).shape,
        t.scalar_tensor(3),
        t.complex if False else 0,
        t.tensor(range(3)),
        t.tensor([t.tensor(1.0), t.tensor(2.0)]) if True else 0,
        t.stack([t.tensor(1), t.tensor(2)]),
        t.atleast_2d(t.tensor(1.0)),
    ]


def ops(t):
    a = X(t, 2, 3)
    b = X(t, 3, 2)
    return [
        t.cat([a, a], 0),
        t.cat((a, a), dim=1),
        t.cat([a, t.zeros(0, 3, dtype=t.float64)]),
        t.stack([a, a]),
        t.stack([a, a], dim=-1),
        t.hstack([a, a]),
        t.vstack([a, a]),
        t.dstack([a, a]),
        t.where(a > 0, a, t.zeros_like(a)),
        t.where(a > 0, a, 0.0),
        t.where(a > 0),
        t.nonzero(a > 0),
        t.nonzero(a > 0, as_tuple=True),
        a.masked_fill(a < 0, -1e9),
        t.clamp(a, -0.5, 0.5),
        a.clamp(min=0),
        t.matmul(a, b),
        a @ b,
        t.bmm(a[None], b[None]),
        t.mm(a, b),
        t.mv(a, t.ones(3, dtype=t.float64)),
        t.dot(a[0], a[1]),
        t.outer(a[0], a[1]),
        t.einsum("ij,jk->ik", a, b),
        t.einsum("bi,bi->b", a, a),
        t.einsum("ii", t.eye(3)),
        t.einsum("i,j->ij", a[0], a[1]),
        t.einsum("...ij->...ji", a[None]),
        t.einsum("bij,bjk->bik", a[None], b[None]),
        t.einsum("ij->", a),
        t.einsum("ij,ij->ij", [a, a]),
        t.tensordot(a, b, dims=1),
        t.tensordot(a, b.T, dims=([0, 1], [0, 1])),
        t.kron(a, t.eye(2)),
        t.cross(t.eye(3), t.ones(3, 3), dim=1),
        t.trace(b @ a),
        t.diag(a),
        t.diagonal(a),
        t.diag_embed(a),
        t.gather(a, 1, t.tensor([[0, 0], [2, 1]])),
        a.scatter(1, t.tensor([[0], [2]]), 5.0),
        t.zeros(3, 3).scatter_(0, t.tensor([[0, 1, 2]]), 1.0),
        t.zeros(4).scatter_add(0, t.tensor([0, 1, 0]), t.ones(3)),
        t.zeros(4).scatter_reduce(
            0, t.tensor([0, 1, 0]), t.tensor([2.0, 3.0, 4.0]), reduce="amax", include_self=False
        ),
        t.take(a, t.tensor([0, 5])),
        t.index_select(a, 1, t.tensor([2, 0])),
        a.masked_select(a > 0),
        t.masked_fill(a, t.tensor([True, False, True]), 0.0),
        t.argwhere(a > 0),
        t.searchsorted(t.tensor([1.0, 2.0, 3.0]), t.tensor([2.5, 0.0])),
        t.bucketize(t.tensor([0.5, 2.0]), t.tensor([1.0, 2.0])),
        t.unique(t.tensor([3, 1, 3, 2])),
        t.unique(t.tensor([3, 1, 3, 2]), return_counts=True, return_inverse=True),
        t.unique_consecutive(t.tensor([1, 1, 2, 1])),
        t.bincount(t.tensor([0, 2, 2])),
        t.histc(t.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3),
        t.cumsum(a, dim=0),
        t.diff(a[0]),
        t.sign(a),
        t.trunc(a * 2),
        t.round(a * 3),
        t.round(a, decimals=1),
        t.floor_divide(t.tensor([-7, 7]), 2),
        t.fmod(t.tensor([-7.0, 7.0]), 3),
        t.remainder(t.tensor([-7.0, 7.0]), 3),
        t.tensor([-7, 7]) % 3,
        t.lerp(a, t.ones_like(a), 0.3),
        t.addmm(t.ones(2, 2, dtype=t.float64), a, b, beta=0.5, alpha=2),
        t.baddbmm(t.zeros(1, 2, 2, dtype=t.float64), a[None], b[None]),
        t.allclose(a, a + 1e-10),
        t.equal(a, a),
        t.isclose(a, a + 1e-3),
        t.flatten(X(t, 2, 3, 2), start_dim=1),
        X(t, 2, 3, 2).flatten(0, 1),
        t.squeeze(X(t, 1, 2, 1)),
        X(t, 1, 2, 1).squeeze(-1),
        t.unsqueeze(a, -1),
        a.permute(1, 0),
        a.transpose(0, 1),
        X(t, 2, 3, 4).movedim(0, -1),
        a.unflatten(1, (3, 1)),
        t.narrow(a, 1, 1, 2),
        a.contiguous().view(-1),
        a.t().reshape(6),
        a.expand(2, 2, 3),
        a.unfold(1, 2, 1),
        t.rot90(a),
        t.tile(a, (2, 1)),
        t.cdist(a, a),
        t.cumprod(a, 1),
        t.logcumsumexp(a, 1),
        t.cummax(a, 1),
        t.sigmoid(a),
        t.logit(t.tensor([0.2, 0.7])),
        t.erf(a),
        t.erfinv(t.tensor([0.1, -0.5])),
        t.lgamma(a.abs() + 1),
        t.digamma(a.abs() + 1),
        t.nan_to_num(t.tensor([float("nan"), float("inf"), 1.0])),
        t.log1p(a.abs()),
        t.expm1(a),
        t.hypot(a, a),
        t.atan2(a, a.flip(0)),
        t.rsqrt(a.abs() + 1),
        t.reciprocal(a + 0.1),
        t.square(a),
        t.xlogy(a.abs(), a.abs()),
        t.float_power(a.abs(), 2),
        t.copysign(a, -1.0),
        t.heaviside(a, t.tensor(0.5, dtype=t.float64)),
        t.logaddexp(a, a),
        t.clip(a, max=0.1),
        t.amax(a, 1),
        t.nanmean(t.tensor([1.0, float("nan")])),
        t.nansum(t.tensor([1.0, float("nan")])),
    ]


# ---------------------------------------------------------------- s8
def X(t, *s):
    return (t.arange(float(np.prod(s)), dtype=t.float64).reshape(*s) - np.prod(s) / 2) / 3


def G(t, fn, *xs):
    xs = [x.clone().requires_grad_() for x in xs]
    y = fn(*xs)
    w = t.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))
    (y * w).sum().backward()
    return [y] + [x.grad for x in xs]


def func(t):
    F = t.nn.functional
    img = X(t, 1, 2, 3, 4)
    out = [
        F.one_hot(t.tensor([0, 2, 1])),
        F.one_hot(t.tensor([[0], [3]]), num_classes=5),
        F.one_hot(t.tensor([1, 0])).dtype,
    ]
    for mode, kw in [
        ("nearest", {}),
        ("bilinear", {"align_corners": False}),
        ("bilinear", {"align_corners": True}),
        ("bicubic", {"align_corners": False}),
        ("nearest-exact", {}),
        ("area", {}),
    ]:
        out.append(G(t, lambda x: F.interpolate(x, scale_factor=2, mode=mode, **kw), img))
        out.append(G(t, lambda x: F.interpolate(x, size=(5, 3), mode=mode, **kw), img))
    out.append(G(t, lambda x: F.interpolate(x, scale_factor=2.5, mode="linear"), X(t, 1, 2, 4)))
    out.append(
        G(
            t,
            lambda x: F.interpolate(
                x, scale_factor=1.5, mode="bilinear", recompute_scale_factor=True
            ),
            img,
        )
    )
    out.append(G(t, lambda x: F.interpolate(x, size=3), X(t, 1, 2, 4)))
    out.append(G(t, lambda x: F.upsample(x, scale_factor=2) if hasattr(F, "upsample") else x, img))
    for mode in ["constant", "reflect", "replicate", "circular"]:
        out.append(G(t, lambda x: F.pad(x, (1, 2, 2, 1), mode=mode), img))
    out.append(G(t, lambda x: F.pad(x, (1, 1), value=-1.0), X(t, 2, 3)))
    out.append(G(t, lambda x: F.pad(x, (0, 0, 1, 0)), X(t, 2, 3)))
    out.append(G(t, lambda x: F.pad(x, (-1, 1)), X(t, 2, 3)))
    out.append(G(t, lambda x: F.pad(x, (1, 1), mode="reflect"), X(t, 2, 3)))
    out.append(G(t, lambda x: F.normalize(x, dim=1), X(t, 2, 3)))
    out.append(G(t, lambda x: F.softmax(x, dim=-1), X(t, 2, 3)))
    out.append(G(t, lambda x: F.log_softmax(x, 1), X(t, 2, 3)))
    out.append(
        G(
            t,
            lambda x: (
                F.gelu(x, approximate="tanh")
                + F.gelu(x)
                + F.silu(x)
                + F.mish(x)
                + F.elu(x)
                + F.leaky_relu(x, 0.2)
                + F.softplus(x, beta=2)
                + F.hardswish(x)
                + F.relu6(x * 4)
            ),
            X(t, 2, 3),
        )
    )
    out.append(G(t, lambda x: F.glu(x, -1), X(t, 2, 4)))
    out.append(G(t, lambda x, y: F.cosine_similarity(x, y), X(t, 2, 3), X(t, 2, 3).flip(0)))
    out.append(G(t, lambda x: F.layer_norm(x, (3,)), X(t, 2, 3)))
    out.append(G(t, lambda x: F.group_norm(x, 2), X(t, 2, 4, 3)))
    out.append(G(t, lambda x: F.avg_pool2d(x, 2) + F.max_pool2d(x, 2), X(t, 1, 1, 4, 4)))
    out.append(
        G(t, lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), X(t, 1, 1, 5, 5))
    )
    out.append(
        G(
            t,
            lambda x: F.avg_pool2d(
                x, 3, stride=2, padding=1, count_include_pad=False, ceil_mode=True
            ),
            X(t, 1, 1, 5, 5),
        )
    )
    out.append(G(t, lambda x: F.adaptive_max_pool2d(x, (2, 3)), X(t, 1, 2, 5, 5)))
    out.append(G(t, lambda x: F.adaptive_avg_pool2d(x, 3), X(t, 1, 2, 5, 4)))
    out.append(G(t, lambda x: F.adaptive_avg_pool1d(x, 1), X(t, 2, 2, 5)))
    out.append(G(t, lambda x, w: F.conv1d(x, w, padding="same"), X(t, 1, 2, 5), X(t, 3, 2, 3)))
    out.append(
        G(
            t,
            lambda x, w: F.conv2d(x, w, stride=2, padding=1, dilation=1, groups=2),
            X(t, 1, 2, 5, 5),
            X(t, 4, 1, 3, 3),
        )
    )
    out.append(G(t, lambda x, w: F.conv2d(x, w, dilation=2), X(t, 1, 2, 5, 5), X(t, 1, 2, 2, 2)))
    out.append(
        G(
            t,
            lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
            X(t, 1, 2, 3, 3),
            X(t, 2, 3, 3, 3),
        )
    )
    out.append(G(t, lambda x, w: F.conv_transpose1d(x, w, stride=2), X(t, 1, 2, 3), X(t, 2, 1, 4)))
    out.append(G(t, lambda x: F.unfold(x, 2, stride=1), X(t, 1, 2, 3, 3)))
    out.append(G(t, lambda x: F.fold(x, (3, 3), 2), X(t, 1, 8, 4)))
    out.append(G(t, lambda x: F.pixel_shuffle(x, 2), X(t, 1, 4, 2, 2)))
    out.append(G(t, lambda x: F.embedding(t.tensor([[0, 2], [2, 1]]), x), X(t, 3, 2)))
    out.append(
        G(t, lambda x: F.embedding(t.tensor([[0, 2], [2, 1]]), x, padding_idx=2), X(t, 3, 2))
    )
    out.append(G(t, lambda x: F.dropout(x, 0.5, training=False), X(t, 3, 2)))
    return out


def losses(t):
    F = t.nn.functional
    logits = X(t, 4, 3)
    tgt = t.tensor([0, 2, 1, 2])
    out = []
    for kw in [
        {},
        {"reduction": "sum"},
        {"reduction": "none"},
        {"weight": t.tensor([1.0, 2.0, 0.5], dtype=t.float64)},
        {"ignore_index": 2},
        {"label_smoothing": 0.2},
        {"weight": t.tensor([1.0, 2.0, 0.5], dtype=t.float64), "label_smoothing": 0.1},
        {
            "weight": t.tensor([1.0, 2.0, 0.5], dtype=t.float64),
            "ignore_index": 1,
            "label_smoothing": 0.3,
        },
        {"ignore_index": -100, "reduction": "none", "label_smoothing": 0.1},
    ]:
        out.append(G(t, lambda x: F.cross_entropy(x, tgt, **kw), logits))
    out.append(G(t, lambda x: F.cross_entropy(x, F.softmax(X(t, 4, 3).flip(0), 1)), logits))
    out.append(
        G(
            t,
            lambda x: F.cross_entropy(
                x,
                F.softmax(X(t, 4, 3).flip(0), 1),
                label_smoothing=0.1,
                weight=t.tensor([1.0, 2.0, 0.5], dtype=t.float64),
            ),
            logits,
        )
    )
    out.append(G(t, lambda x: F.cross_entropy(x, t.tensor([[0, 1], [2, 2]])), X(t, 2, 3, 2)))
    out.append(
        G(
            t,
            lambda x: F.cross_entropy(
                x,
                t.tensor([[0, 1], [2, 2]]),
                ignore_index=2,
                weight=t.tensor([1.0, 2.0, 0.5], dtype=t.float64),
            ),
            X(t, 2, 3, 2),
        )
    )
    out.append(G(t, lambda x: F.cross_entropy(x, t.tensor(1)), X(t, 3)))
    out.append(
        G(
            t,
            lambda x: F.nll_loss(
                F.log_softmax(x, 1), tgt, weight=t.tensor([1.0, 2.0, 0.5], dtype=t.float64)
            ),
            logits,
        )
    )
    y = (X(t, 4, 3) > 0).double()
    out.append(G(t, lambda x: F.binary_cross_entropy_with_logits(x, y), logits))
    out.append(
        G(
            t,
            lambda x: F.binary_cross_entropy_with_logits(
                x,
                y,
                pos_weight=t.tensor([1.0, 2.0, 3.0], dtype=t.float64),
                weight=t.tensor([0.5, 1.0, 1.0], dtype=t.float64),
            ),
            logits,
        )
    )
    out.append(G(t, lambda x: F.binary_cross_entropy(t.sigmoid(x), y, reduction="sum"), logits))
    out.append(
        G(
            t,
            lambda x: (
                F.mse_loss(x, y)
                + F.l1_loss(x, y)
                + F.smooth_l1_loss(x, y, beta=0.5)
                + F.huber_loss(x, y, delta=0.7)
            ),
            logits,
        )
    )
    out.append(
        G(
            t,
            lambda x: F.kl_div(F.log_softmax(x, 1), F.softmax(y, 1), reduction="batchmean"),
            logits,
        )
    )
    out.append(
        G(
            t,
            lambda x: F.kl_div(
                F.log_softmax(x, 1), F.log_softmax(y, 1), reduction="sum", log_target=True
            ),
            logits,
        )
    )
    out.append(
        G(
            t,
            lambda x: F.margin_ranking_loss(
                x[:, 0], x[:, 1], t.tensor([1.0, -1.0, 1.0, -1.0], dtype=t.float64), margin=0.1
            ),
            logits,
        )
    )
    out.append(G(t, lambda x: F.triplet_margin_loss(x, x.flip(0), x.roll(1, 0)), logits))
    out.append(
        G(t, lambda x: F.cosine_embedding_loss(x, x.flip(0), t.tensor([1, -1, 1, -1])), logits)
    )
    out.append(
        G(
            t,
            lambda x: F.soft_margin_loss(x, y * 2 - 1) + F.multilabel_soft_margin_loss(x, y),
            logits,
        )
    )
    out.append(
        G(t, lambda x: F.gaussian_nll_loss(x, y, x.exp()) + F.poisson_nll_loss(x, y), logits)
    )
    out.append(G(t, lambda x: F.hinge_embedding_loss(x, y * 2 - 1), logits))
    return out


def loss_errs(t):
    return t.nn.functional.cross_entropy(t.ones(3, 4), t.tensor([0, 4, 1]))


def loss_errs2(t):
    return t.nn.functional.cross_entropy(t.ones(3, 4), t.tensor([0.0, 1.0, 1.0]))


def loss_errs3(t):
    return t.nn.functional.mse_loss(t.ones(3, 4), t.ones(3, 4, dtype=t.int64))


def loss_errs4(t):
    return t.nn.functional.binary_cross_entropy(t.tensor([0.5, 1.5]), t.tensor([1.0, 0.0]))


def loss_warn(t):
    return t.nn.functional.mse_loss(t.ones(3, 1), t.zeros(3))


def linear_err(t):
    return t.nn.Linear(3, 2)(t.ones(4, 5))


def matmul_err(t):
    return t.ones(2, 3) @ t.ones(2, 3)


def dtype_err(t):
    return t.nn.Linear(3, 2)(t.ones(4, 3, dtype=t.float64))


def emb_err(t):
    return t.nn.Embedding(3, 2)(t.tensor([3]))


def emb_err2(t):
    return t.nn.Embedding(3, 2)(t.tensor([1.0]))


def conv_err(t):
    return t.nn.Conv2d(3, 2, 3)(t.ones(1, 2, 5, 5))


def idx_err(t):
    return t.ones(3)[5]


def view_err(t):
    return t.ones(2, 3).t().view(6)


def cat_err(t):
    return t.cat([t.ones(2, 3), t.ones(3, 2)])


def reshape_err(t):
    return t.ones(2, 3).reshape(4, 2)


# ---------------------------------------------------------------- s9
def A(t):
    return t.tensor([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], dtype=t.float64)


def lin(t):
    L = t.linalg
    a = A(t)
    b = t.tensor([[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]], dtype=t.float64)
    U, S, Vh = L.svd(a @ t.tensor([[1.0, 2, 3], [0, 1, 4], [5, 6, 0]], dtype=t.float64))
    ev, evec = L.eigh(a)
    return [
        L.norm(a),
        L.norm(a, ord=2),
        L.norm(a, "fro"),
        L.norm(a, dim=1),
        L.vector_norm(a, ord=float("inf")),
        L.matrix_norm(a, ord="nuc"),
        L.det(a),
        L.slogdet(a),
        L.inv(a),
        L.solve(a, b),
        L.cholesky(a),
        L.qr(a)[1].abs(),
        S,
        L.svdvals(a),
        ev,
        evec.abs(),
        L.eigvalsh(a),
        L.pinv(b),
        L.matrix_rank(b),
        L.lstsq(a, b).solution,
        L.matrix_power(a, 3),
        L.matrix_exp(a * 0.1),
        L.cross(a, a.flip(0)),
        L.multi_dot([a, a, b]),
        L.vecdot(a, a),
        t.det(a),
        t.inverse(a),
        t.logdet(a),
        t.pinverse(b),
    ]


def lin_grad(t):
    a = A(t).requires_grad_()
    (
        t.linalg.inv(a).sum()
        + t.linalg.det(a)
        + t.linalg.eigh(a)[0].sum()
        + t.linalg.norm(a, 2)
        + t.linalg.solve(a, t.ones(3, dtype=t.float64)).sum()
        + t.linalg.svdvals(a).sum()
    ).backward()
    return a.grad


def lin_err(t):
    return t.linalg.inv(t.ones(2, 3))


def lin_err2(t):
    return t.linalg.inv(t.zeros(2, 2))


def lin_err3(t):
    return t.linalg.cholesky(-t.eye(2))


def modapi(t):
    nn = t.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
            self.d = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Tanh()})
            self.register_buffer("mask", t.ones(2))
            self.register_buffer("tmp", t.zeros(1), persistent=False)
            self.p = nn.Parameter(t.zeros(2))
            self.plist = nn.ParameterList([nn.Parameter(t.ones(1))])

        def forward(self, x):
            for layer in self.layers:
                x = self.d["a"](layer(x))
            return x * self.mask + self.p

    m = Block()

    def init(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.1)
            nn.init.zeros_(mod.bias)

    m.apply(init)
    out = m(t.ones(1, 2))
    n_params = sum(p.numel() for p in m.parameters() if p.requires_grad)
    m.requires_grad_(False)
    m.eval()
    return [
        out,
        n_params,
        list(m.state_dict().keys()),
        [n for n, _ in m.named_modules()],
        [n for n, _ in m.named_buffers()],
        repr(m),
        m.training,
        m.layers[0].training,
        len(list(m.children())),
        type(m.layers[-1]).__name__,
        len(m.layers),
        [k for k in m.d],
        m.p.requires_grad,
        str(m.p),
        repr(nn.Parameter(t.ones(2))),
        m.get_submodule("layers.1").in_features,
        m.get_parameter("p").shape,
        repr(
            nn.Sequential(
                nn.Conv2d(1, 2, 3, stride=2, bias=False),
                nn.BatchNorm2d(2, momentum=0.2),
                nn.LSTM(2, 3, 2, batch_first=True),
                nn.Embedding(4, 2, padding_idx=0),
                nn.Dropout(p=0.3),
                nn.LayerNorm(4),
                nn.MaxPool2d(2),
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.GELU(),
                nn.Softmax(dim=1),
                nn.Flatten(),
                nn.MultiheadAttention(4, 2),
                nn.LeakyReLU(0.1),
                nn.GRU(2, 2),
                nn.ConvTranspose2d(2, 1, 2),
                nn.Identity(),
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.CrossEntropyLoss(),
            )
        ),
    ]


def seqapi(t):
    nn = t.nn
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    from collections import OrderedDict

    s2 = nn.Sequential(OrderedDict([("fc1", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    s.append(nn.Sigmoid())
    return [
        len(s),
        type(s[0]).__name__,
        type(s[-1]).__name__,
        len(s[:2]),
        repr(s2),
        s2.fc1.out_features,
        [n for n, _ in s.named_children()],
        s.add_module("extra", nn.Identity()),
        len(s),
    ]


def half(t):
    m = t.nn.Linear(2, 2)
    return [
        m.double().weight.dtype,
        m.float().weight.dtype,
        m.to(t.float64).bias.dtype,
        m.to("cpu").weight.device,
        m.half().weight.dtype,
        t.ones(2).to("cpu", t.float64).dtype,
        t.ones(2).cpu().dtype,
        t.ones(2).cuda if False else 0,
        t.device("cpu"),
        str(t.device("cpu")),
        t.cuda.is_available(),
        t.ones(2, device="cpu").device,
        t.ones(2).to(t.ones(1, dtype=t.int32)).dtype,
        t.ones(2).type(t.int64).dtype,
        t.ones(2).long().dtype,
        t.ones(2).int().dtype,
        t.ones(2).bool().dtype,
        t.ones(2).half().dtype,
        t.ones(2, dtype=t.float16).float().dtype,
    ]


def rand(t):
    t.manual_seed(42)
    a = t.rand(3)
    b = t.randn(2, 2)
    c = t.randint(0, 10, (4,))
    d = t.randperm(5)
    e = t.normal(0, 1, (2,))
    f = t.empty(3).uniform_(-1, 1)
    g = t.multinomial(t.tensor([0.2, 0.8]), 4, replacement=True)
    return [
        a.shape,
        a.dtype,
        c.dtype,
        d.sort().values,
        b.dtype,
        e.shape,
        bool((f.abs() <= 1).all()),
        g.dtype,
        t.bernoulli(t.full((3,), 0.5)).dtype,
        t.randint(5, (2, 2)).shape,
        t.randn(2, generator=t.Generator().manual_seed(0)).shape,
        t.rand_like(b).shape,
        t.randint_like(b, 3).dtype,
    ]


# ---------------------------------------------------------------- s10
def pads(t):
    nn = t.nn
    out = []
    x4 = X(t, 1, 2, 3, 4)
    x3 = X(t, 2, 3, 4)
    x5 = X(t, 1, 1, 2, 3, 4)
    for name, args, x in [
        ("ZeroPad2d", (1,), x4),
        ("ZeroPad2d", ((1, 0, 2, 1),), x4),
        ("ConstantPad1d", (2, 3.5), x3),
        ("ConstantPad2d", ((1, 1, 0, 2), -1.0), x4),
        ("ConstantPad3d", (1, 0.0), x5),
        ("ReflectionPad1d", (2,), x3),
        ("ReflectionPad2d", ((1, 2, 2, 0),), x4),
        ("ReflectionPad2d", (1,), x3),
        ("ReflectionPad3d", (1,), x5),
        ("ReplicationPad1d", ((1, 3),), x3),
        ("ReplicationPad2d", (2,), x4),
        ("ReplicationPad3d", ((1, 0, 0, 1, 1, 1),), x5),
        ("CircularPad1d", (1,), x3),
        ("CircularPad2d", ((1, 2, 0, 1),), x4),
        ("CircularPad3d", (1,), x5),
        ("ZeroPad1d", (2,), x3),
        ("ZeroPad3d", (1,), x5),
    ]:
        m = getattr(nn, name)(*args)
        out.append(repr(m))
        out.append(G(t, m, x))
    return out


def pad_err(t):
    return t.nn.ReflectionPad2d(3)(X(t, 1, 1, 2, 2))


# ---------------------------------------------------------------- s11
def newfns(t):
    a = X(t, 2, 3)
    b = X(t, 1, 1)
    c = X(t, 3)
    return [
        G(t, lambda x, y, z: t.block_diag(x, y, z), a, b, c),
        t.block_diag(t.tensor([[1, 2]]), t.tensor(3)),
        t.block_diag(t.tensor([[1, 2]]), t.tensor([2.5])),
        t.block_diag(t.zeros(0, 2), t.ones(2, 0)),
        t.cartesian_prod(t.tensor([1, 2]), t.tensor([3, 4, 5])),
        t.cartesian_prod(t.tensor([1, 2])),
        G(t, lambda x, y: t.cartesian_prod(x, y), X(t, 2), X(t, 3)),
        t.cartesian_prod(t.tensor([1, 2]), t.tensor([3.0]), t.tensor([0, 1])),
        t.tril_indices(3, 3),
        t.triu_indices(4, 3, 1),
        t.tril_indices(3, 3, dtype=t.int32),
    ]


def bd_err(t):
    return t.block_diag(t.ones(1, 1, 1))


def cp_err(t):
    return t.cartesian_prod(t.ones(2, 2))


# ---------------------------------------------------------------- s12
def covs(t):
    a = X(t, 3, 5).sin()
    fw = t.tensor([1, 2, 1, 3, 1])
    aw = t.tensor([0.5, 1.0, 2.0, 1.0, 0.3], dtype=t.float64)
    return [
        G(t, t.cov, a),
        G(t, lambda x: t.cov(x, correction=0), a),
        G(t, lambda x: t.cov(x, fweights=fw), a),
        G(t, lambda x: t.cov(x, aweights=aw), a),
        G(t, lambda x: t.cov(x, fweights=fw, aweights=aw, correction=2), a),
        G(t, t.cov, X(t, 5).cos()),
        t.cov(t.tensor([[1, 2, 4], [0, 5, 1]])),
        G(t, t.corrcoef, a),
        G(t, t.corrcoef, X(t, 4).exp()),
        t.corrcoef(t.tensor([[1, 2, 4], [0, 5, 1]])),
    ]


def covwarn(t):
    return t.cov(t.ones(2, 1))


def traps(t):
    y = X(t, 2, 4).exp()
    x = t.tensor([0.0, 1.0, 3.0, 4.5], dtype=t.float64)
    return [
        G(t, t.trapezoid, y),
        G(t, lambda a: t.trapezoid(a, dx=0.5), y),
        G(t, lambda a: t.trapezoid(a, x), y),
        G(t, lambda a: t.trapezoid(a, dim=0), y),
        G(t, lambda a, b: t.trapezoid(a, b), y, X(t, 2, 4)),
        G(t, lambda a, b: t.trapz(a, b, dim=0), y, X(t, 2, 1)),
        t.trapezoid(t.tensor([1, 2, 3])),
        t.trapz(t.tensor([1, 2, 3]), dx=2),
        t.trapezoid(t.zeros(2, 0)),
        t.trapz(y, x),
    ]


# ---------------------------------------------------------------- s13
def manual_sgd(t):
    t.manual_seed(0)
    w = t.tensor([[0.5, -0.3]], dtype=t.float64, requires_grad=True)
    b = t.zeros(1, dtype=t.float64, requires_grad=True)
    X = t.tensor([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]], dtype=t.float64)
    y = t.tensor([1.0, 0.0, 1.0], dtype=t.float64)
    hist = []
    for _ in range(5):
        pred = (X @ w.T + b).squeeze(1)
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        with t.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad.zero_()
            b.grad.zero_()
        hist.append(loss.item())
    w.data.mul_(2)
    w.data = w.data + 1
    return [hist, w, b, w.requires_grad, w.is_leaf]


def scheds(t):
    out = []
    for name, kw in [
        ("LambdaLR", dict(lr_lambda=lambda e: 0.9**e)),
        ("MultiStepLR", dict(milestones=[2, 4], gamma=0.1)),
        ("ExponentialLR", dict(gamma=0.8)),
        ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
        ("LinearLR", dict(start_factor=0.1, total_iters=4)),
        ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2)),
        ("PolynomialLR", dict(total_iters=4, power=2.0)),
        ("ConstantLR", dict(factor=0.5, total_iters=2)),
        ("OneCycleLR", dict(max_lr=1.0, epochs=2, steps_per_epoch=4, anneal_strategy="linear")),
    ]:
        p = t.nn.Parameter(t.zeros(1))
        opt = t.optim.SGD([p], lr=0.1, momentum=0.9)
        s = getattr(t.optim.lr_scheduler, name)(opt, **kw)
        lrs = []
        for i in range(8):
            opt.step()
            s.step()
            lrs.append(opt.param_groups[0]["lr"])
        out.append(lrs)
    p = t.nn.Parameter(t.zeros(1))
    opt = t.optim.SGD([p], lr=0.1)
    s = t.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
    lrs = []
    for v in [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]:
        s.step(v)
        lrs.append(opt.param_groups[0]["lr"])
    out.append(lrs)
    p = t.nn.Parameter(t.zeros(1))
    opt = t.optim.SGD([p], lr=0.1)
    s1 = t.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2)
    s2 = t.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    s = t.optim.lr_scheduler.SequentialLR(opt, [s1, s2], milestones=[2])
    lrs = []
    for i in range(6):
        opt.step()
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
    out.append(lrs)
    return out


def optims(t):
    out = []
    for name, kw in [
        ("SGD", dict(lr=0.1, nesterov=True, momentum=0.9)),
        ("Adam", dict(lr=0.1, weight_decay=0.1)),
        ("AdamW", dict(lr=0.1, amsgrad=True)),
        ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
        ("Adagrad", dict(lr=0.1)),
        ("Adadelta", dict()),
        ("Adamax", dict(lr=0.1)),
        ("NAdam", dict(lr=0.1)),
        ("RAdam", dict(lr=0.1)),
        ("LBFGS", dict(lr=0.5)),
    ]:
        p = t.nn.Parameter(t.tensor([1.5, -2.0], dtype=t.float64))
        opt = getattr(t.optim, name)([p], **kw)
        for i in range(4):

            def closure():
                opt.zero_grad()
                loss = (p**4).sum() + p.prod()
                loss.backward()
                return loss

            opt.step(closure)
        out.append(p.detach().clone())
    return out


def misc_nn(t):
    rng = np.random.default_rng(0)
    nn = t.nn
    t.manual_seed(0)
    emb = nn.Embedding.from_pretrained(t.tensor([[1.0, 2.0], [3.0, 4.0]]), freeze=True)
    m = nn.Sequential(
        nn.Conv1d(4, 3, 3, padding=1),
        nn.BatchNorm1d(3),
        nn.ReLU(),
        nn.AdaptiveMaxPool1d(1),
        nn.Flatten(),
        nn.Linear(3, 2),
    ).double()
    sync(t, m, "conv1d")
    x = t.tensor(rng.standard_normal((2, 4, 6)))
    y = m(x)
    y.sum().backward()
    nn.utils.clip_grad_value_(m.parameters(), 0.1)
    v = nn.utils.parameters_to_vector(m.parameters())
    norms = [
        nn.InstanceNorm1d(3)(x[:, :3]),
        nn.GroupNorm(2, 4).double()(x),
        nn.LayerNorm([4, 6]).double()(x),
        nn.LocalResponseNorm(2)(x),
    ]
    acc = (y.argmax(1) == t.tensor([0, 1])).float().mean().item()
    _, pred = t.max(y, 1)
    return [
        emb(t.tensor([1])),
        emb.weight.requires_grad,
        y,
        v.shape,
        m[0].weight.grad,
        norms,
        acc,
        pred,
        (pred == t.tensor([1, 1])).sum().item(),
        m[1].running_mean,
        m[1].running_var,
    ]


def softmax_nodim(t):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return t.nn.functional.softmax(t.tensor([[1.0, 2.0], [3.0, 5.0]]))


def init_fns(t):
    t.manual_seed(0)
    nn = t.nn
    w = t.empty(64, 32, 3, 3)
    out = []
    for f, kw in [
        (nn.init.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu")),
        (nn.init.kaiming_uniform_, dict(a=5**0.5)),
        (nn.init.xavier_uniform_, dict(gain=nn.init.calculate_gain("tanh"))),
        (nn.init.xavier_normal_, {}),
        (nn.init.normal_, dict(std=0.02)),
        (nn.init.trunc_normal_, dict(std=0.02)),
        (nn.init.uniform_, dict(a=-0.1, b=0.1)),
    ]:
        f(w, **kw)
        out.append(round(float(w.std()), 2))
    nn.init.orthogonal_(w.view(64, -1))
    out.append(round(float((w.view(64, -1) @ w.view(64, -1).T - t.eye(64)).abs().max()), 4))
    out.append([float(nn.init.calculate_gain(n)) for n in ["relu", "linear", "sigmoid", "selu"]])
    out.append(nn.init.calculate_gain("leaky_relu", 0.2))
    return out


# ---------------------------------------------------------------- s14
def legacy(t):
    return [
        t.Tensor(2, 3).shape,
        t.Tensor([1, 2]),
        t.FloatTensor([1, 2]),
        t.LongTensor([1, 2]),
        t.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])]),
        t.DoubleTensor(2).dtype,
        t.BoolTensor([1, 0]),
        t.IntTensor([1]),
        t.Tensor([[1]]).dtype,
        t.ByteTensor([1]).dtype,
    ]


def axis_kw(t):
    x = t.arange(6.0).reshape(2, 3)
    return [
        x.sum(axis=0),
        t.sum(x, axis=1),
        x.max(axis=1).values,
        x.mean(axis=0),
        t.argmax(x, dim=1, keepdim=True),
        x.std(axis=1),
        t.cat([x, x], axis=1),
        x.size(-1),
        x.shape == (2, 3),
        t.Size([2, 3]) == (2, 3),
        x.flatten().numpy().tolist(),
        x.any(),
        t.tensor(5) == 5,
        x.sum(dim=[0, 1]),
        x.amax(dim=(0, 1)),
        x.transpose(1, 0).contiguous().view(-1),
    ]


def npidx(t):
    x = t.arange(12.0).reshape(3, 4)
    x[np.array([0, 2])] = 0.0
    y = t.arange(5.0)[np.array([True, False, True, False, True])]
    z = x[:, np.int64(1)]
    w = t.arange(10)[[1, 2]]
    q = t.arange(6).reshape(2, 3)[[True, False]]
    return [
        x,
        y,
        z,
        w,
        q,
        t.arange(6)[t.tensor([True, False] * 3)],
        t.arange(10)[2:8:3],
        t.arange(10)[-3:],
        t.arange(10)[::-1] if False else 0,
    ]


def neg_step(t):
    return t.arange(10)[::-1]


def mask_inf(t):
    s = t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    m = t.tensor([[False, True, True], [True, True, True]])
    s2 = s.masked_fill(m, float("-inf"))
    return [t.softmax(s2, -1), t.nn.functional.log_softmax(s2, -1), s.masked_fill_(~m, -1e9)]


def tensor_from_tensor(t):
    import warnings

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        a = t.tensor(t.ones(2))
    return [a, len(w) > 0]


def device_idiom(t):
    device = t.device("cuda" if t.cuda.is_available() else "cpu")
    m = t.nn.Linear(2, 2).to(device)
    x = t.ones(1, 2).to(device)
    x2 = t.ones(1, 2, device=device)
    return [
        str(device),
        m(x).shape,
        x2.device.type,
        str(x.device),
        x.is_cuda,
        t.backends.mps.is_available() if hasattr(t, "backends") else False,
    ]


def bool_assign(t):
    x = t.zeros(3, 2)
    x[t.tensor([True, False, True])] = t.tensor([1.0, 2.0])
    x[x == 0] = t.tensor(5.0)
    return x


def int_div(t):
    a = t.tensor([5, -5])
    return [
        a / 2,
        a // 2,
        a % 3,
        t.div(a, 2, rounding_mode=None),
        a.float() / 0,
        t.tensor([0.0]) / 0,
        (a * 1.0).dtype,
        a.double().dtype,
    ]


def int_div0(t):
    return t.tensor([5]) // 0


def chained(t):
    x = t.randn(4, 5)
    return [
        x.abs().sqrt().log().exp().shape,
        x.t().matmul(x).shape,
        (x > 0).sum(dim=1).dtype,
        x.clamp(0).ne(0).float().mean().dtype,
        x.new_zeros(1).dtype,
    ]


def cmp_ops(t):
    a = t.tensor([1.0, float("nan"), 3.0])
    b = t.tensor([1.0, 2.0, float("nan")])
    return [
        a == b,
        a != b,
        a < 2,
        t.eq(a, 1),
        t.maximum(a, b),
        t.fmax(a, b),
        t.isnan(a),
        a.max(),
        t.nanmean(a) if True else 0,
        a.argmax(),
        t.tensor([1, 2]) < 1.5,
        t.tensor([True, False]) & t.tensor([True, True]),
    ]


def sorting(t):
    x = t.tensor([3.0, 1.0, 2.0, 1.0, 5.0])
    return [
        t.sort(x),
        t.sort(x, stable=True),
        t.argsort(x, descending=True),
        t.topk(x, 3, largest=False),
        t.kthvalue(x, 2),
        x.unique(sorted=True),
        t.msort(x) if hasattr(t, "msort") else 0,
        x.sort(descending=True).indices,
    ]


SCENARIOS = [
    reprs,
    reprs2,
    printopts,
    promo,
    promo_err,
    promo_err2,
    mean_int,
    floatsum,
    idx,
    setitem,
    inplace_grad,
    inplace_leaf_err,
    inplace_saved_err,
    bcast,
    bcast_err,
    red,
    item,
    item_err,
    numpy_grad_err,
    numpy_share,
    ag1,
    ag_double_backward_err,
    ag_nonscalar,
    ag_nograd_err,
    ag_grad,
    ag_unused_err,
    ag_func,
    ag_func_old,
    ag_setup_ctx,
    hooks,
    grad_accum,
    req_grad_,
    nongrad_set,
    enable_grad,
    jac,
    grad_of_nonleaf,
    detach_shared,
    gradcheck,
    cnn,
    mlp_adam,
    adam_cos,
    lstm,
    gru,
    rnn_bi,
    lstm_bi,
    lstm_cell,
    packed,
    transformer,
    transformer_norm_first,
    mha,
    full_transformer,
    sdpa,
    loader,
    loader_shuffle_seed,
    save_load,
    load_missing,
    load_missing_err,
    load_shape_err,
    save_bytesio,
    save_view,
    save_param,
    creation,
    ops,
    func,
    losses,
    loss_errs,
    loss_errs2,
    loss_errs3,
    loss_errs4,
    loss_warn,
    linear_err,
    matmul_err,
    dtype_err,
    emb_err,
    emb_err2,
    conv_err,
    idx_err,
    view_err,
    cat_err,
    reshape_err,
    lin,
    lin_grad,
    lin_err,
    lin_err2,
    lin_err3,
    modapi,
    seqapi,
    half,
    rand,
    pads,
    pad_err,
    newfns,
    bd_err,
    cp_err,
    covs,
    covwarn,
    traps,
    manual_sgd,
    scheds,
    optims,
    misc_nn,
    softmax_nodim,
    init_fns,
    legacy,
    axis_kw,
    npidx,
    neg_step,
    mask_inf,
    tensor_from_tensor,
    device_idiom,
    bool_assign,
    int_div,
    int_div0,
    chained,
    cmp_ops,
    sorting,
]


# Scripts that pick CUDA when it is available: they differ in a run that has CUDA.
_DEVICE_DEPENDENT = {"device_idiom", "half"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_user_script_matches_torch(scenario):
    if scenario.__name__ in _DEVICE_DEPENDENT and ember.cuda.is_available():
        pytest.skip("torch here has no CUDA, so the scripts' device choices differ by design")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_error, expected = _run(scenario, torch)
        ember_error, actual = _run(scenario, ember)
    if torch_error is not None or ember_error is not None:
        assert torch_error is not None, f"only ember raised:\n{actual}"
        assert ember_error is not None, f"only torch raised {torch_error!r}"
        assert _same_error(torch_error, ember_error), f"{torch_error!r} vs {ember_error!r}"
        return
    problems = _mismatches(expected, actual)
    assert not problems, "\n".join(problems[:5])
