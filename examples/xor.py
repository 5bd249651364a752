"""XOR: the gate a single perceptron cannot learn, and one hidden layer that can.

XOR is 1 when exactly one input is 1. No straight line separates {01, 10} from
{00, 11}, so a model with no hidden layer can do no better than answering 0.5
everywhere (a cross-entropy of log 2 ≈ 0.693). Give it a hidden layer and it bends
the plane. Written against PyTorch's API; ember runs it after ``import ember as torch``.

    python examples/xor.py            # EMBER_EXAMPLE_QUICK=1 trains for fewer steps
"""

import os

import ember as torch
import ember.nn as nn

torch.manual_seed(0)
steps = 150 if os.environ.get("EMBER_EXAMPLE_QUICK") else 500

inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
targets = torch.tensor([[0.0], [1.0], [1.0], [0.0]])


def train(model: nn.Module) -> float:
    """Full-batch Adam on the four rows; returns the final loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    # The model outputs a logit; BCEWithLogitsLoss applies the sigmoid inside, stably.
    criterion = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        loss = criterion(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


linear = nn.Linear(2, 1)
print(f"no hidden layer:  final loss {train(linear):.4f} (log 2 = 0.6931: it can only guess)")

mlp = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
print(f"one hidden layer: final loss {train(mlp):.4f}")

with torch.no_grad():
    probabilities = torch.sigmoid(mlp(inputs))
for (a, b), (p,) in zip(inputs.tolist(), probabilities.tolist()):
    print(f"XOR({a:.0f}, {b:.0f}) = {p:.3f}")
answers = probabilities.round().flatten().int().tolist()
print(f"xor predictions {answers}: {'all correct' if answers == [0, 1, 1, 0] else 'WRONG'}")
