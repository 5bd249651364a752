"""The blog's first program: a 2-3-1 sigmoid network learns the NAND gate.

Trained exactly as the blog does it: MSE loss, SGD at learning rate 0.5, 4000
full-batch epochs over the four rows of the truth table.
"""

from __future__ import annotations

import ember
import ember.nn as nn

INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TARGETS = [[1.0], [1.0], [1.0], [0.0]]


class SimpleNet(nn.Module):
    """2 inputs → 3 sigmoid hidden units → 1 sigmoid output."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(2, 3)
        self.layer2 = nn.Linear(3, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        x = self.sigmoid(self.layer1(x))
        return self.sigmoid(self.layer2(x))


def train(epochs: int = 4000, lr: float = 0.5, seed: int = 0, optimizer: str = "sgd",
          progress=None):
    """Train the network; returns ``(model, losses)``. ``progress(epoch, loss)`` is optional."""
    ember.manual_seed(seed)
    inputs, targets = ember.tensor(INPUTS), ember.tensor(TARGETS)
    model = SimpleNet()
    if optimizer == "sgd":
        opt = ember.optim.SGD(model.parameters(), lr=lr)
    elif optimizer == "adam":
        opt = ember.optim.Adam(model.parameters(), lr=lr)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected 'sgd' or 'adam'")
    criterion = nn.MSELoss()
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if progress is not None:
            progress(epoch, losses[-1])
    return model, losses


def truth_table(model) -> str:
    """The four rows with the network's output beside the target."""
    with ember.no_grad():
        outputs = model(ember.tensor(INPUTS)).flatten().tolist()
    lines = ["  a  b | target | output"]
    for (a, b), (target,), output in zip(INPUTS, TARGETS, outputs):
        lines.append(f"  {a:.0f}  {b:.0f} |   {target:.0f}    | {output:.4f}")
    return "\n".join(lines)
