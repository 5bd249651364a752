"""A character-level transformer that learns the Zen of Python (``import this``).

The text ships with every Python. A two-block causal transformer (embedding,
self-attention, layer norm, MLP) learns to predict each next character; the demo
prints a sample before and after training and plots the loss.
"""

from __future__ import annotations

import codecs
import math

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.demo._common import output_path, progress_bar, say


def zen_of_python() -> str:
    import this  # noqa: F401  (prints nothing once imported: the text is rot13 in this.s)

    return codecs.decode(this.s, "rot13")


class SelfAttention(nn.Module):
    """Causal multi-head self-attention: softmax(QKᵀ/√d + mask) V, heads side by side."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        batch, time, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=-1)
        q, k, v = (z.view(batch, time, self.heads, width // self.heads).transpose(1, 2)
                   for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(width // self.heads)
        future = ember.triu(ember.ones(time, time, dtype=ember.bool), diagonal=1)
        weights = F.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(batch, time, width))


class Block(nn.Module):
    """x + attention(norm(x)), then x + MLP(norm(x)) (pre-norm, as GPT-2)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = SelfAttention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CharLM(nn.Module):
    """Characters → embeddings + positions → blocks → logits over the vocabulary."""

    def __init__(self, vocabulary: int, context: int = 64, width: int = 64, heads: int = 4,
                 depth: int = 2):
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocabulary, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.Sequential(*(Block(width, heads) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocabulary)

    def forward(self, idx):
        x = self.embed(idx) + self.position(ember.arange(idx.shape[1]))
        return self.head(self.norm(self.blocks(x)))


@ember.no_grad()
def sample(model, vocabulary: str, prompt: str, length: int, temperature: float = 0.8,
           generator=None) -> str:
    """Continue ``prompt`` by ``length`` characters drawn from the model's predictions."""
    model.eval()
    idx = ember.tensor([[vocabulary.index(c) for c in prompt]])
    for _ in range(length):
        logits = model(idx[:, -model.context:])[:, -1] / temperature
        choice = ember.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
        idx = ember.cat([idx, choice], dim=1)
    model.train()
    return "".join(vocabulary[i] for i in idx[0].tolist())


def train(steps: int = 300, lr: float = 3e-3, batch_size: int = 16, seed: int = 0,
          quiet: bool = True):
    """Train on the Zen of Python; returns ``(model, vocabulary, losses)``."""
    ember.manual_seed(seed)
    text = zen_of_python()
    vocabulary = "".join(sorted(set(text)))
    data = ember.tensor([vocabulary.index(c) for c in text])
    model = CharLM(len(vocabulary))
    optimizer = ember.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    generator = ember.Generator(data.device).manual_seed(seed)  # draws where the data is
    losses = []
    with progress_bar(steps, "charlm", quiet) as bar:
        for step in range(steps):
            starts = ember.randint(0, len(data) - model.context - 1, (batch_size,),
                                   generator=generator)
            idx = ember.stack([data[s : s + model.context] for s in starts.tolist()])
            target = ember.stack([data[s + 1 : s + model.context + 1] for s in starts.tolist()])
            logits = model(idx)
            loss = F.cross_entropy(logits.reshape(-1, len(vocabulary)), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            bar.update(1)
    return model, vocabulary, losses


def run(args) -> int:
    ember.manual_seed(args.seed)
    text = zen_of_python()
    vocabulary = "".join(sorted(set(text)))
    untrained = CharLM(len(vocabulary))
    prompt = "Beautiful is"
    generator = ember.Generator(ember.get_default_device()).manual_seed(args.seed)
    say("before training:\n  "
        + sample(untrained, vocabulary, prompt, 120, generator=generator).replace("\n", "\n  "))
    model, vocabulary, losses = train(args.epochs, args.lr, args.batch_size, args.seed, args.quiet)
    say(f"after {args.epochs} steps (loss {losses[0]:.2f} → {losses[-1]:.2f}):\n  "
        + sample(model, vocabulary, prompt, 200, generator=generator).replace("\n", "\n  "))
    path = ember.viz.plot_history({"cross-entropy": losses},
                                  output_path(args.out, "charlm-loss.png"),
                                  title="charlm: training loss", xlabel="step")
    say(f"wrote {path}")
    return 0
