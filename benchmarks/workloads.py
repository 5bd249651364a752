"""The workloads: each builds a training step from the library bound to the name ``torch``.

Every ``make_*`` function takes the library (``torch`` or ``ember``) and returns
``(run, units, steps)``: ``run()`` performs one timed repetition, ``units`` says what it
covers and ``steps`` how many training steps that is. The code is PyTorch's API only, so it
runs unchanged on both libraries.

With ``compiled=True`` a workload hands its whole training step to the library's
``torch.compile``: ``zero_grad()``, the forward and loss, ``backward()``, gradient clipping
where the workload clips, and ``optimizer.step()``, one call per batch. The model, the
optimizer and the compiled step are built once, so the first ``run()`` compiles and the
later ones replay. Eager, a workload runs the loop it always has.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import math
import string

import numpy as np


def compiled_step(run):
    """The compiled function a compiled workload's ``run()`` calls (``None`` when eager)."""
    return inspect.getclosurevars(run).nonlocals.get("train_step")


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return x, digits.target.astype(np.int64)


def _train(compute_loss, optimizer, batches, clip=None, train_step=None):
    """One step per batch: the compiled ``train_step`` where given, else the loss from
    ``compute_loss``, then an eager backward and update."""
    if train_step is not None:
        for batch in batches:
            loss = train_step(*batch)
        return loss.item()
    for batch in batches:
        loss = compute_loss(*batch)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            clip()
        optimizer.step()
    return loss.item()


def _compiled_step(torch, model, criterion, optimizer, compiled, clip=None, mode=None):
    """The whole training step of ``_train``'s eager loop, compiled (with ``mode``, for
    the compilers' ``mode=``); ``None`` when eager.

    ``zero_grad()`` comes first here and after the forward in the eager loop: the forward
    reads no gradient, so both give the same numbers. The step names ``model`` itself, as
    a training script does: ember.compile finds the modules a function names.
    """
    if not compiled:
        return None

    def train_step(inputs, targets):
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        if clip is not None:
            clip()
        optimizer.step()
        return loss

    return torch.compile(train_step, mode=mode)


def _loss_function(model, criterion):
    """``criterion(model(inputs), targets)`` as one function."""

    def compute_loss(inputs, targets):
        return criterion(model(inputs), targets)

    return compute_loss


def make_nand(torch, compiled=False, mode=None):
    nn = torch.nn

    class SimpleNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = nn.Linear(2, 3)
            self.layer2 = nn.Linear(3, 1)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            return self.sigmoid(self.layer2(self.sigmoid(self.layer1(x))))

    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    targets = torch.tensor([[1.0], [1.0], [1.0], [0.0]])
    criterion = nn.MSELoss()

    def fresh_model():
        torch.manual_seed(0)
        return SimpleNet()

    def epochs():
        return itertools.repeat((inputs, targets), 4000)

    if compiled:
        # One model, optimizer and compiled step for every run, so the step is compiled once;
        # each run reloads the first weights in place. SGD without momentum keeps no state,
        # so that restores the whole start.
        model = fresh_model()
        initial_state = copy.deepcopy(model.state_dict())
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        compute_loss = _loss_function(model, criterion)
        train_step = _compiled_step(torch, model, criterion, optimizer, compiled=True,
                                    mode=mode)

        def run():
            model.load_state_dict(initial_state)
            return _train(compute_loss, optimizer, epochs(), train_step=train_step)
    else:
        def run():
            model = fresh_model()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
            return _train(_loss_function(model, criterion), optimizer, epochs())

    return run, "4000 epochs", 4000


def make_op_overhead(torch, compiled=False, mode=None):
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32), requires_grad=True)
    b = torch.tensor(rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32))

    def compute_loss(a, b):
        y = a * b
        y = y + a
        y = y.exp()
        y = y - b
        y = y.tanh()
        y = y * 2.0
        y = y.sigmoid()
        y = y / b
        y = y.relu()
        y = y + 1.0
        return y.sum()

    if compiled:
        @torch.compile(mode=mode)
        def train_step(a, b):
            compute_loss(a, b).backward()

        def run():
            for _ in range(1000):
                train_step(a, b)
            a.grad = None
    else:
        def run():
            for _ in range(1000):
                compute_loss(a, b).backward()
            a.grad = None

    return run, "1000 x (10 ops + sum, forward and backward)", 1000


def _batches(torch, x, y, batch_size, image=False):
    xs = torch.tensor(x.reshape(-1, 1, 8, 8) if image else x)
    ys = torch.tensor(y)
    return [(xs[i : i + batch_size], ys[i : i + batch_size]) for i in range(0, len(x), batch_size)]


def make_mlp_digits(torch, compiled=False):
    nn = torch.nn
    x, y = _digits()
    batches = _batches(torch, x, y, 64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    compute_loss = _loss_function(model, criterion)
    train_step = _compiled_step(torch, model, criterion, optimizer, compiled)

    def run():
        return _train(compute_loss, optimizer, batches, train_step=train_step)

    return run, f"1 epoch ({len(batches)} steps of batch 64)", len(batches)


def make_mlp_large(torch, compiled=False):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                          nn.Linear(4096, 1024))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    inputs = torch.tensor(rng.standard_normal((512, 1024)).astype(np.float32))
    targets = torch.tensor(rng.standard_normal((512, 1024)).astype(np.float32))
    criterion = nn.MSELoss()
    compute_loss = _loss_function(model, criterion)
    train_step = _compiled_step(torch, model, criterion, optimizer, compiled)

    def run():
        return _train(compute_loss, optimizer, itertools.repeat((inputs, targets), 3),
                      train_step=train_step)

    return run, "3 steps of batch 512", 3


def small_cnn(nn, channels: int, width: int, side: int):
    """Two stages of 3x3 convolution, ReLU and 2x2 max pooling (``width``, then ``2 * width``
    channels) on ``side`` x ``side`` images, and a linear layer to 10 classes."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * (side // 4) ** 2, 10),
    )


def make_cnn_digits(torch, compiled=False):
    nn = torch.nn
    x, y = _digits()
    batches = _batches(torch, x, y, 64, image=True)
    torch.manual_seed(0)
    model = small_cnn(nn, 1, 16, 8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    compute_loss = _loss_function(model, criterion)
    train_step = _compiled_step(torch, model, criterion, optimizer, compiled)

    def run():
        return _train(compute_loss, optimizer, batches, train_step=train_step)

    return run, f"1 epoch ({len(batches)} steps of batch 64)", len(batches)


# The character workloads: 10 steps of 16 windows of 32 characters from one fixed text.
TEXT = (string.ascii_letters + " .,;") * 40
VOCAB = sorted(set(TEXT))
BLOCK = 32
STARTS = np.random.default_rng(0).integers(0, len(TEXT) - BLOCK - 1, size=(10, 16))
CHARACTER_UNITS = "10 steps of batch 16 x 32 characters"


def _character_batches(torch, data):
    """Each step's inputs and next-character targets, sliced as the step runs."""
    for row in STARTS:
        idx = torch.stack([data[s : s + BLOCK] for s in row.tolist()])
        target = torch.stack([data[s + 1 : s + BLOCK + 1] for s in row.tolist()])
        yield idx, target


def _next_character_loss(torch):
    """The cross-entropy of a language model's logits against the next characters."""
    cross_entropy = torch.nn.functional.cross_entropy

    def criterion(logits, target):
        return cross_entropy(logits.reshape(-1, len(VOCAB)), target.reshape(-1))

    return criterion


def make_charlm(torch, compiled=False):
    nn = torch.nn
    F = nn.functional
    data = torch.tensor([VOCAB.index(c) for c in TEXT])
    width, heads = 64, 4

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                     nn.Linear(4 * width, width))

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.norm1(x)).split(width, dim=-1)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            scores = (q @ k.transpose(-2, -1)) / (c // heads) ** 0.5
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
            attention = F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
            x = x + self.proj((attention @ v).transpose(1, 2).reshape(b, t, c))
            return x + self.mlp(self.norm2(x))

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(len(VOCAB), width)
            self.position = nn.Embedding(BLOCK, width)
            self.blocks = nn.Sequential(Block(), Block())
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, len(VOCAB))

        def forward(self, idx):
            x = self.embed(idx) + self.position(torch.arange(idx.shape[1]))
            return self.head(self.norm(self.blocks(x)))

    torch.manual_seed(0)
    model = CharLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    criterion = _next_character_loss(torch)
    compute_loss = _loss_function(model, criterion)
    train_step = _compiled_step(torch, model, criterion, optimizer, compiled)

    def run():
        return _train(compute_loss, optimizer, _character_batches(torch, data),
                      train_step=train_step)

    return run, CHARACTER_UNITS, len(STARTS)


def make_gpt(torch, compiled=False):
    """A small GPT as the minimal GPT training scripts write it: attention spelled out with
    a registered causal mask, dropout layers at p=0, AdamW with weight decay and clipping."""
    nn = torch.nn
    F = nn.functional
    data = torch.tensor([VOCAB.index(c) for c in TEXT])
    n_embd, n_head, n_layer = 64, 4, 2

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
            self.attn_dropout = nn.Dropout(0.0)
            self.resid_dropout = nn.Dropout(0.0)
            mask = torch.tril(torch.ones(BLOCK, BLOCK)).view(1, 1, BLOCK, BLOCK)
            self.register_buffer("bias", mask)

        def forward(self, x):
            b, t, c = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            q, k, v = (z.view(b, t, n_head, c // n_head).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
            att = self.attn_dropout(F.softmax(att, dim=-1))
            y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(n_embd, 4 * n_embd)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * n_embd, n_embd)
            self.dropout = nn.Dropout(0.0)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
            self.attn, self.mlp = CausalSelfAttention(), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(len(VOCAB), n_embd)
            self.wpe = nn.Embedding(BLOCK, n_embd)
            self.drop = nn.Dropout(0.0)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, len(VOCAB), bias=False)

        def forward(self, idx):
            pos = torch.arange(0, idx.size(1), dtype=torch.long)
            x = self.drop(self.wte(idx) + self.wpe(pos))
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    torch.manual_seed(0)
    model = GPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    criterion = _next_character_loss(torch)
    compute_loss = _loss_function(model, criterion)

    def clip():
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)

    train_step = _compiled_step(torch, model, criterion, optimizer, compiled, clip)

    def run():
        return _train(compute_loss, optimizer, _character_batches(torch, data), clip,
                      train_step)

    return run, CHARACTER_UNITS, len(STARTS)


def make_numpy_nand():
    """The NAND training loop written by hand in NumPy: the floor for ember."""
    rng = np.random.default_rng(0)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    t = np.array([[1], [1], [1], [0]], dtype=np.float32)

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def run():
        w1 = rng.uniform(-0.7, 0.7, (3, 2)).astype(np.float32)
        b1 = rng.uniform(-0.7, 0.7, 3).astype(np.float32)
        w2 = rng.uniform(-0.5, 0.5, (1, 3)).astype(np.float32)
        b2 = rng.uniform(-0.5, 0.5, 1).astype(np.float32)
        for _ in range(4000):
            h = sigmoid(x @ w1.T + b1)
            y = sigmoid(h @ w2.T + b2)
            d = y - t
            loss = (d * d).mean()
            gy = 2 * d / d.size * y * (1 - y)
            gw2, gb2 = gy.T @ h, gy.sum(0)
            gh = gy @ w2 * h * (1 - h)
            gw1, gb1 = gh.T @ x, gh.sum(0)
            w1 -= 0.5 * gw1
            b1 -= 0.5 * gb1
            w2 -= 0.5 * gw2
            b2 -= 0.5 * gb2
        return float(loss)

    return run, "4000 epochs"


def make_numpy_op_overhead():
    """op_overhead's ten ops, sum and backward written by hand in NumPy: its floor.

    ``step(a, b)`` returns the loss and ``a``'s gradient, for the test that holds it to
    ember's; ``run()`` is the workload's 1000 steps.
    """
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32)
    b = rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32)

    def step(a, b):
        y1 = a * b
        y3 = np.exp(y1 + a)
        y5 = np.tanh(y3 - b)
        y7 = 1 / (1 + np.exp(-(y5 * 2.0)))
        y9 = np.maximum(y7 / b, 0)
        loss = (y9 + 1.0).sum()
        grad = (y9 > 0) / b  # d loss / d y7, through relu and the division
        grad = grad * (y7 * (1 - y7)) * 2.0 * (1 - y5 * y5) * y3  # ... down to y1 + a
        return loss, grad * b + grad  # through a * b and + a

    def run():
        for _ in range(1000):
            step(a, b)

    run.step = step
    return run, "1000 x (10 ops + sum, forward and backward)"


# The workloads also timed with ``mode="reduce-overhead"`` (``--compiled``): PyTorch's mode
# for steps whose cost is the calls of small kernels.
REDUCE_OVERHEAD = ("nand", "op_overhead")

WORKLOADS = {
    "nand": make_nand,
    "op_overhead": make_op_overhead,
    "mlp_digits": make_mlp_digits,
    "cnn_digits": make_cnn_digits,
    "charlm": make_charlm,
    "gpt": make_gpt,
    "mlp_large": make_mlp_large,
}
