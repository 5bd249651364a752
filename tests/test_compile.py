"""``ember.compile`` against eager ember: the same kernels in the same order, so the same bits.

Each case builds a model twice from one seed, runs a few training steps eagerly on one copy
and compiled on the other, and compares outputs, every parameter's gradient and every
buffer after each step. A case also checks that the compiled copy really replayed (no
graph break and at least one replay), so that a silent fall back to eager cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


def _same(a, b, what):
    a = np.asarray(a.detach().numpy() if isinstance(a, ember.Tensor) else a)
    b = np.asarray(b.detach().numpy() if isinstance(b, ember.Tensor) else b)
    assert a.dtype == b.dtype and a.shape == b.shape, what
    np.testing.assert_array_equal(a, b, err_msg=what)


def _outputs(value):
    if isinstance(value, ember.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _outputs(item)]
    return []


def _run_both(build, make_inputs, steps=3, train=True, seed=0):
    ember.manual_seed(seed)
    eager = build()
    ember.manual_seed(seed)
    twin = build()
    compiled = ember.compile(twin)
    for model in (eager, twin):
        model.train(train)
    rng = np.random.default_rng(seed)
    inputs = [make_inputs(rng) for _ in range(steps)]
    cotangents = {}
    results = {}
    for name, model, call in (("eager", eager, eager), ("compiled", twin, compiled)):
        ember.manual_seed(seed + 1)
        optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
        history = []
        for step, args in enumerate(inputs):
            outs = _outputs(call(*args))
            loss = 0
            for index, out in enumerate(outs):
                if not out.requires_grad:
                    continue
                key = (step, index)
                if key not in cotangents:
                    cotangents[key] = ember.tensor(rng.standard_normal(tuple(out.shape)),
                                                   dtype=out.dtype)
                loss = loss + (out * cotangents[key]).sum()
            optimizer.zero_grad()
            if isinstance(loss, ember.Tensor):
                loss.backward()
            history.append((
                [o.detach().clone() for o in outs],
                [None if p.grad is None else p.grad.clone() for p in model.parameters()],
                [b.clone() for b in model.buffers()],
            ))
            optimizer.step()
        results[name] = history
    for step, (expected, got) in enumerate(zip(results["eager"], results["compiled"])):
        for kind, want, have in zip(("output", "grad", "buffer"), expected, got):
            assert len(want) == len(have)
            for index, (w, h) in enumerate(zip(want, have)):
                if w is None or h is None:
                    assert w is None and h is None, f"step {step} {kind} {index}"
                    continue
                _same(w, h, f"step {step} {kind} {index}")
    state = compiled.__dict__["_compiled"]
    assert state.breaks == [], state.breaks
    assert state.replays == steps - 1
    return compiled


def _batch(*shape):
    return lambda rng: (ember.tensor(rng.standard_normal(shape).astype(np.float32)),)


def _tokens(vocab, *shape):
    return lambda rng: (ember.tensor(rng.integers(0, vocab, shape)),)


class _TinyTransformer(nn.Module):
    def __init__(self, vocab=11, width=16, heads=2, block=6):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Embedding(block, width)
        self.layer = nn.TransformerEncoderLayer(width, heads, 32, dropout=0.0, batch_first=True)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.register_buffer("mask", ember.tril(ember.ones(block, block)))

    def forward(self, idx):
        t = idx.shape[1]
        x = self.embed(idx) + self.position(ember.arange(t))
        scores = x @ x.transpose(1, 2) / 4.0
        scores = scores.masked_fill(self.mask[:t, :t] == 0, float("-inf"))
        x = x + F.softmax(scores, dim=-1) @ x
        return self.head(self.norm(self.layer(x)))


LAYERS = {
    "linear": (lambda: nn.Linear(5, 3), _batch(4, 5)),
    "mlp": (lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                                  nn.Linear(8, 2), nn.Sigmoid()), _batch(4, 5)),
    "conv": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(4, 3, 3, stride=2)), _batch(2, 2, 7, 7)),
    "pooling": (lambda: nn.Sequential(nn.Conv2d(1, 3, 3), nn.MaxPool2d(2), nn.AvgPool2d(2),
                                      nn.Flatten(), nn.Linear(12, 2)), _batch(2, 1, 10, 10)),
    "batchnorm": (lambda: nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU()),
                  _batch(8, 5)),
    "batchnorm2d": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)),
                    _batch(2, 2, 6, 6)),
    "layernorm": (lambda: nn.Sequential(nn.Linear(5, 6), nn.LayerNorm(6), nn.GELU()),
                  _batch(3, 4, 5)),
    "groupnorm": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4)),
                  _batch(2, 2, 6, 6)),
    "dropout": (lambda: nn.Sequential(nn.Linear(5, 6), nn.Dropout(0.3), nn.Linear(6, 2)),
                _batch(4, 5)),
    "embedding": (lambda: nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3)),
                  _tokens(10, 3, 5)),
    "rnn": (lambda: nn.RNN(4, 6, batch_first=True), _batch(2, 5, 4)),
    "lstm": (lambda: nn.LSTM(4, 6, num_layers=2, batch_first=True), _batch(2, 5, 4)),
    "gru": (lambda: nn.GRU(4, 6), _batch(5, 2, 4)),
    "attention": (lambda: nn.MultiheadAttention(8, 2, batch_first=True),
                  lambda rng: _batch(2, 5, 8)(rng) * 3),
    "transformer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True),
                    _batch(2, 5, 8)),
    "tiny_gpt": (_TinyTransformer, _tokens(11, 2, 6)),
    # indices and weights that the sizes alone give (adaptive windows, interpolation,
    # edge padding), and maxima found again in each replay's values
    "adaptive_pooling": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1),
                                               nn.AdaptiveMaxPool2d((3, 3)),
                                               nn.AdaptiveAvgPool2d((2, 3))),
                         _batch(2, 2, 7, 7)),
    "upsampling": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.Upsample(scale_factor=2),
                                         nn.ReflectionPad2d(1), nn.Conv2d(3, 2, 3),
                                         nn.Upsample(size=(5, 7), mode="bilinear"),
                                         nn.ReplicationPad2d((1, 0, 2, 1))),
                   _batch(2, 2, 5, 5)),
    "pooling1d": (lambda: nn.Sequential(nn.Conv1d(2, 3, 3), nn.MaxPool1d(2),
                                        nn.AdaptiveAvgPool1d(3), nn.Flatten(),
                                        nn.Linear(9, 2)), _batch(2, 2, 11)),
}


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_compiled_equals_eager(name, train):
    build, make_inputs = LAYERS[name]
    _run_both(build, make_inputs, steps=3, train=train)


SELECTIONS = {  # x (4, 6) -> what it selects; the indices follow each replay's values
    "sort": lambda x: ember.sort(x, dim=1, descending=True),
    "argsort": lambda x: x * ember.argsort(x, dim=0),
    "topk": lambda x: x.topk(3, dim=1),
    "max_pool_indices": lambda x: F.max_pool2d(x[None], 2, return_indices=True),
    "index_select_of_a_constant": lambda x: x.index_select(1, ember.tensor([5, 0, 0, 2])),
    "repeat_interleave": lambda x: x.repeat_interleave(2, dim=0),
    "kthvalue": lambda x: x.kthvalue(2, dim=1),
    "median": lambda x: x.median(dim=0),
    "nanmedian": lambda x: x.nanmedian(dim=1, keepdim=True),
    "mode": lambda x: x.round().mode(dim=1),
    "cummax": lambda x: x.cummax(dim=1),
    "cummin": lambda x: x.cummin(dim=0),
    "argmax": lambda x: x * x.argmax(dim=1, keepdim=True),
    "argmin_of_all": lambda x: x * x.argmin(),
    "max_with_indices": lambda x: x.max(dim=0),
    "take_along_dim": lambda x: ember.take_along_dim(x, x.argsort(dim=1), dim=1),
    "take_along_dim_broadcast": lambda x: ember.take_along_dim(
        x, x.argmax(dim=1, keepdim=True)[:1], dim=1),
    "bucketize": lambda x: x * ember.bucketize(x, ember.tensor([-1.0, 0.0, 1.0])),
    "searchsorted_by_rows": lambda x: x * ember.searchsorted(x.sort(dim=1).values, x.flip(1),
                                                             side="right"),
}


@pytest.mark.parametrize("name", list(SELECTIONS))
def test_selections_replay_with_eager_values_indices_and_gradients(name):
    function = SELECTIONS[name]

    def step(x, cotangent):
        values = _outputs(function(x))
        shape = values[0].shape
        values[0].backward(cotangent[(0,) * (3 - len(shape)) + tuple(slice(0, n) for n in shape)])
        return values

    compiled = ember.compile(step)
    rng = np.random.default_rng(3)
    for _ in range(3):  # new values each call: other maxima, another order
        data = rng.standard_normal((4, 6)).astype(np.float32)
        data[0, :2] = data[0, 2]  # ties keep their input order
        cotangent = ember.tensor(rng.standard_normal((8, 8, 8)).astype(np.float32))
        x_eager, x_compiled = (ember.tensor(data, requires_grad=True) for _ in range(2))
        for want, got in zip(step(x_eager, cotangent), compiled(x_compiled, cotangent)):
            _same(want, got, name)
        _same(x_eager.grad, x_compiled.grad, name)
    assert compiled.breaks == [] and compiled.replays == 2, compiled.breaks


TESTS = {  # x (4, 6) with infinities and NaNs -> what a test of its values makes of it
    "isfinite": lambda x: ember.where(ember.isfinite(x), x * 2, ember.zeros_like(x)),
    "isnan": lambda x: x.masked_fill(ember.isnan(x), 0.0) * 3,
    "isinf": lambda x: ember.where(ember.isinf(x), ember.ones_like(x), x),
    "isposinf": lambda x: ember.where(ember.isposinf(x), ember.zeros_like(x), x),
    "isneginf": lambda x: ember.where(ember.isneginf(x), ember.zeros_like(x), x),
    "isclose": lambda x: ember.where(ember.isclose(x, x.round(), atol=0.2), x.round(), x),
    "isfinite_of_integers": lambda x: x * ember.isfinite(x.nan_to_num().argmax(dim=0)),
    "signbit": lambda x: ember.where(ember.signbit(x), -x, x),
    "count_nonzero": lambda x: x * ember.count_nonzero(x > 0, dim=1)[:, None],
    "round_to_decimals": lambda x: ember.round(x, decimals=1) * x,
    "nanmean": lambda x: x.nan_to_num(posinf=2.0, neginf=-2.0).nanmean(dim=1, keepdim=True) * x,
}


@pytest.mark.parametrize("name", list(TESTS))
def test_tests_of_values_replay_with_each_calls_values(name):
    """``isfinite``, ``isnan``, ``isinf``, ``isclose``, ``signbit``, ``count_nonzero`` are
    ops while a call records (a mask of NaNs to fill), so their results follow each
    replay's values, as does ``nanmean``'s count; ``round(x, decimals)`` records (its
    lowering crashed the program's writer)."""
    function = TESTS[name]

    def step(x, cotangent):
        y = function(x)
        y.backward(cotangent)
        return y

    compiled = ember.compile(step)
    rng = np.random.default_rng(5)
    for _ in range(3):  # the infinities and NaNs move from call to call
        data = rng.standard_normal((4, 6)).astype(np.float32)
        data.flat[rng.choice(24, 6, replace=False)] = [np.inf, -np.inf, np.nan, np.inf,
                                                       np.nan, -np.inf]
        cotangent = ember.tensor(rng.standard_normal((4, 6)).astype(np.float32))
        x_eager, x_compiled = (ember.tensor(data, requires_grad=True) for _ in range(2))
        _same(step(x_eager, cotangent), compiled(x_compiled, cotangent), name)
        _same(x_eager.grad, x_compiled.grad, name)
    assert compiled.breaks == [] and compiled.replays == 2, compiled.breaks


def test_cov_and_corrcoef_without_weights_replay():
    """Their degrees of freedom are a number of observations: no value read into Python."""

    def step(x, cotangent):
        y = ember.corrcoef(x) * 2 + ember.cov(x, correction=0) + ember.cov(x[0])
        y.backward(cotangent)
        return y

    compiled = ember.compile(step)
    rng = np.random.default_rng(11)
    for _ in range(3):
        data = rng.standard_normal((4, 6)).astype(np.float32)
        cotangent = ember.tensor(rng.standard_normal((4, 4)).astype(np.float32))
        x_eager, x_compiled = (ember.tensor(data, requires_grad=True) for _ in range(2))
        _same(step(x_eager, cotangent), compiled(x_compiled, cotangent), "cov")
        _same(x_eager.grad, x_compiled.grad, "cov")
    assert compiled.breaks == [] and compiled.replays == 2, compiled.breaks


INDEXINGS = {  # x (4, 6), an int64 index i (3,) with values in [0, 4) -> what it reads
    "getitem": lambda x, i: x[i],
    "getitem_after_a_slice": lambda x, i: x[1:, i],
    "getitem_by_two": lambda x, i: x[i, i.flip(0)],
    "getitem_and_a_list": lambda x, i: x[i, [0, 5, 5]],
    "gather": lambda x, i: x.gather(1, i.repeat(4, 1)),
    "index_select": lambda x, i: x.index_select(0, i),
    "scatter_add": lambda x, i: ember.zeros(5, 6).scatter_add(0, i[:, None].expand(3, 6), x[:3]),
    "scatter": lambda x, i: ember.zeros(4, 6).scatter(0, i[:1, None].expand(1, 6), x[:1]),
    "one_hot": lambda x, i: (F.one_hot(i, 6) * x[:3]).sum(1),
    "embedding": lambda x, i: F.embedding(i, x),
    "take": lambda x, i: ember.take(x, i * 7),
    "quantile": lambda x, i: ember.quantile(x, i.float() / 3, dim=1),
    "embedding_bag": lambda x, i: F.embedding_bag(i, x, ember.tensor([0, 1])),
    "embedding_bag_max": lambda x, i: F.embedding_bag(i[None], x, mode="max"),
}


# how PyTorch's errors for an index (or a q) out of range begin
_RANGE_ERRORS = ("index ", "out of range: tried to access index", "Class values must be",
                 "quantile() q must be in the range")


@pytest.mark.parametrize("name", list(INDEXINGS))
def test_reads_by_an_index_tensor_replay_with_each_calls_indices(name):
    """The index is an argument that changes from call to call, repeats included; its
    values are checked in the replay too."""
    function = INDEXINGS[name]

    def step(x, index):
        out = function(x, index)
        out.backward(ember.ones(out.shape) * ember.arange(out.numel()).reshape(out.shape))
        return out

    compiled = ember.compile(step)
    rng = np.random.default_rng(4)
    for index in ([0, 2, 2], [3, 1, 0], [1, 1, 1]):
        data = rng.standard_normal((4, 6)).astype(np.float32)
        x_eager, x_compiled = (ember.tensor(data, requires_grad=True) for _ in range(2))
        index = ember.tensor(index)
        _same(step(x_eager, index), compiled(x_compiled, index), name)
        _same(x_eager.grad, x_compiled.grad, name)
    assert compiled.breaks == [] and compiled.replays == 2, compiled.breaks
    x = ember.tensor(data, requires_grad=True)
    for wrong in ([9, 0, 1], [-7, 0, 1]):  # too large; negative beyond the size (no wrap)
        with pytest.raises((IndexError, RuntimeError)) as replayed:
            compiled(x, ember.tensor(wrong))
        with pytest.raises(type(replayed.value)) as eager:
            step(x, ember.tensor(wrong))
        assert str(replayed.value) == str(eager.value)  # PyTorch's words, not NumPy's
        assert str(eager.value).startswith(_RANGE_ERRORS), eager.value


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_a_text_classifier_with_an_embedding_bag_replays_each_batchs_bags(mode):
    """PyTorch's text classification tutorial: an ``EmbeddingBag`` over a flat batch of
    tokens with the offsets where each text starts, then a linear layer. The tokens and the
    offsets change from batch to batch (padding entries, an empty bag, a last offset)."""
    def make():
        ember.manual_seed(0)
        bag = nn.EmbeddingBag(20, 4, mode=mode, padding_idx=None if mode == "max" else 0,
                              include_last_offset=True)
        return bag, nn.Linear(4, 3)

    eager_bag, eager_head = make()
    compiled_bag, compiled_head = make()

    def step(bag, head, text, offsets, label):
        loss = F.cross_entropy(head(bag(text, offsets)), label)
        loss.backward()
        return loss

    compiled = ember.compile(step)
    rng = np.random.default_rng(5)
    for _ in range(4):
        text = ember.tensor(rng.integers(0, 20, 12))
        inner = np.sort(rng.choice(np.arange(1, 12), 2, replace=False))
        offsets = ember.tensor(np.concatenate([[0], inner, [inner[1]], [12]]))  # one empty
        label = ember.tensor(rng.integers(0, 3, 4))
        _same(step(eager_bag, eager_head, text, offsets, label),
              compiled(compiled_bag, compiled_head, text, offsets, label), mode)
        for a, b in zip([eager_bag.weight, eager_head.weight], [compiled_bag.weight,
                                                                compiled_head.weight]):
            _same(a.grad, b.grad, mode)
            a.grad = b.grad = None
    assert compiled.breaks == [] and compiled.replays == 3, compiled.breaks


WRITES = {  # x (4, 6) without a gradient, i an int64 index (3,): a write into an intermediate
    "basic": lambda x, i: (lambda y: (y.__setitem__((slice(None), 0), -1.0), y)[1])(x * 2),
    "from_a_tensor": lambda x, i: (lambda y: (y.__setitem__(1, x[2]), y)[1])(x + 1),
    "by_an_index_tensor": lambda x, i: (lambda y: (y.__setitem__(i, x[0]), y)[1])(x.exp()),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_setitem_on_an_intermediate_replays(name):
    function = WRITES[name]
    compiled = ember.compile(function)
    rng = np.random.default_rng(5)
    for index in ([0, 2, 2], [3, 1, 0], [1, 1, 1]):
        x, index = ember.tensor(rng.standard_normal((4, 6)).astype(np.float32)), ember.tensor(index)
        _same(function(x, index), compiled(x, index), name)
    assert compiled.breaks == [] and compiled.replays == 2, compiled.breaks


def test_gaussian_nll_loss_replays_and_checks_each_calls_variances():
    """Its check that no variance is negative is an op that only raises (``Check``): the
    loss replays, and a replay refuses a negative variance as eager does."""
    def step(prediction, target, variance):
        return F.gaussian_nll_loss(prediction, target, variance)

    compiled = ember.compile(step)
    rng = np.random.default_rng(8)
    for _ in range(3):
        prediction, target = (ember.tensor(rng.standard_normal((4, 3))) for _ in range(2))
        variance = ember.tensor(rng.uniform(0.5, 2.0, (4, 1)))
        _same(step(prediction, target, variance), compiled(prediction, target, variance),
              "gaussian_nll_loss")
    assert compiled.breaks == [] and compiled.replays == 2, compiled.breaks
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        compiled(prediction, target, -variance)
