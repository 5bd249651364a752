"""A character-level transformer that learns to write like the Zen of Python.

The text ships with every Python (``import this`` prints it; ``this.s`` holds it,
rot13-encoded). The model reads 64 characters and, at every position, predicts the
next one. A causal mask hides the future from each position, so one forward pass
trains all 64 predictions at once. After training we sample from it, one character
at a time. Written against PyTorch's API; ember runs it after ``import ember as torch``.

    python examples/char_transformer.py   # EMBER_EXAMPLE_QUICK=1 trains for fewer steps
"""

import codecs
import contextlib
import io
import os

import ember as torch
import ember.nn as nn
import ember.nn.functional as F

torch.manual_seed(0)
steps = 30 if os.environ.get("EMBER_EXAMPLE_QUICK") else 300
context, width, heads, layers, batch_size = 64, 64, 4, 2, 16

with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the poem
    import this
text = codecs.decode(this.s, "rot13")
vocabulary = sorted(set(text))
index_of = {character: i for i, character in enumerate(vocabulary)}
data = torch.tensor([index_of[character] for character in text])
print(f"{len(text)} characters, {len(vocabulary)} distinct")


class CharTransformer(nn.Module):
    """Token + position embeddings → pre-norm transformer blocks → logits per character."""

    def __init__(self):
        super().__init__()
        self.token = nn.Embedding(len(vocabulary), width)
        self.position = nn.Embedding(context, width)
        block = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, len(vocabulary))

    def forward(self, idx):
        length = idx.shape[1]
        x = self.token(idx) + self.position(torch.arange(length))
        # -inf above the diagonal: position t may attend to positions 0..t only.
        mask = nn.Transformer.generate_square_subsequent_mask(length)
        x = self.blocks(x, mask=mask, is_causal=True)
        return self.head(self.norm(x))


@torch.no_grad()
def sample(model: nn.Module, prompt: str, length: int, temperature: float = 0.8) -> str:
    """Extend ``prompt`` by drawing each next character from the predicted distribution."""
    model.eval()
    idx = torch.tensor([[index_of[character] for character in prompt]])
    for _ in range(length):
        logits = model(idx[:, -context:])[:, -1] / temperature
        next_character = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat([idx, next_character], dim=1)
    model.train()
    return "".join(vocabulary[i] for i in idx[0].tolist())


def batch():
    """Random windows of the text and the same windows shifted by one: the targets."""
    starts = torch.randint(0, len(data) - context - 1, (batch_size,)).tolist()
    inputs = torch.stack([data[s : s + context] for s in starts])
    targets = torch.stack([data[s + 1 : s + context + 1] for s in starts])
    return inputs, targets


model = CharTransformer()
print(f"{sum(p.numel() for p in model.parameters())} parameters")
print("before training:", repr(sample(model, "Beautiful is", 60)))

optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
for step in range(steps):
    inputs, targets = batch()
    logits = model(inputs)  # (batch, context, vocabulary)
    loss = F.cross_entropy(logits.reshape(-1, len(vocabulary)), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    # Clipping the gradient's norm keeps the first steps of a transformer from blowing up.
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    if step % 50 == 0 or step == steps - 1:
        print(f"step {step:3d}: loss {loss.item():.3f}")

print("after training: ", repr(sample(model, "Beautiful is", 120)))
print(f"char-transformer final loss {loss.item():.3f} after {steps} steps")
