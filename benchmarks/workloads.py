"""The workloads: each builds a training step from the library bound to the name ``torch``.

Every ``make_*`` function takes the library (``torch`` or ``ember``) and returns
``(run, units)``: ``run()`` performs one timed repetition, ``units`` says what it covers.
The code is PyTorch's API only, so it runs unchanged on both libraries.
"""

from __future__ import annotations

import numpy as np


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return x, digits.target.astype(np.int64)


def make_nand(torch):
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

    def run():
        torch.manual_seed(0)
        model = SimpleNet()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        criterion = nn.MSELoss()
        for _ in range(4000):
            loss = criterion(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return run, "4000 epochs"


def make_op_overhead(torch):
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32), requires_grad=True)
    b = torch.tensor(rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32))

    def run():
        for _ in range(1000):
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
            y.sum().backward()
        a.grad = None

    return run, "1000 x (10 ops + sum, forward and backward)"


def _batches(torch, x, y, batch_size, image=False):
    xs = torch.tensor(x.reshape(-1, 1, 8, 8) if image else x)
    ys = torch.tensor(y)
    return [(xs[i : i + batch_size], ys[i : i + batch_size]) for i in range(0, len(x), batch_size)]


def make_mlp_digits(torch):
    nn = torch.nn
    x, y = _digits()
    batches = _batches(torch, x, y, 64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()

    def run():
        for inputs, targets in batches:
            loss = criterion(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return run, f"1 epoch ({len(batches)} steps of batch 64)"


def make_mlp_large(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                          nn.Linear(4096, 1024))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    inputs = torch.tensor(rng.standard_normal((512, 1024)).astype(np.float32))
    targets = torch.tensor(rng.standard_normal((512, 1024)).astype(np.float32))
    criterion = nn.MSELoss()

    def run():
        for _ in range(3):
            loss = criterion(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return run, "3 steps of batch 512"


def make_cnn_digits(torch):
    nn = torch.nn
    x, y = _digits()
    batches = _batches(torch, x, y, 64, image=True)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()

    def run():
        for inputs, targets in batches:
            loss = criterion(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return run, f"1 epoch ({len(batches)} steps of batch 64)"


def make_charlm(torch):
    nn = torch.nn
    F = nn.functional
    import string

    text = (string.ascii_letters + " .,;") * 40
    vocab = sorted(set(text))
    data = torch.tensor([vocab.index(c) for c in text])
    block, width, heads = 32, 64, 4

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
            self.embed = nn.Embedding(len(vocab), width)
            self.position = nn.Embedding(block, width)
            self.blocks = nn.Sequential(Block(), Block())
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, len(vocab))

        def forward(self, idx):
            x = self.embed(idx) + self.position(torch.arange(idx.shape[1]))
            return self.head(self.norm(self.blocks(x)))

    torch.manual_seed(0)
    model = CharLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    starts = np.random.default_rng(0).integers(0, len(text) - block - 1, size=(10, 16))

    def run():
        for row in starts:
            idx = torch.stack([data[s : s + block] for s in row.tolist()])
            target = torch.stack([data[s + 1 : s + block + 1] for s in row.tolist()])
            logits = model(idx)
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return run, "10 steps of batch 16 x 32 characters"


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


WORKLOADS = {
    "nand": make_nand,
    "op_overhead": make_op_overhead,
    "mlp_digits": make_mlp_digits,
    "cnn_digits": make_cnn_digits,
    "charlm": make_charlm,
    "mlp_large": make_mlp_large,
}
