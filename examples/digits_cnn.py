"""Handwritten digits with a small convolutional network.

The same 8×8 digits as ``digits_mlp.py``, but kept as images: (batch, channels=1,
height=8, width=8). A convolution slides a 3×3 filter over the image, so the same
stroke detector works anywhere; max pooling halves the resolution. Two such blocks
and a linear layer reach about 99% on the held-out fifth. Dropout and batch norm
behave differently in training and evaluation, so ``model.train()`` / ``model.eval()``
matter here. Written against PyTorch's API; ember runs it after ``import ember as torch``.

    python examples/digits_cnn.py     # EMBER_EXAMPLE_QUICK=1 trains for fewer epochs
"""

import os

from sklearn.datasets import load_digits

import ember as torch
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
epochs = 2 if os.environ.get("EMBER_EXAMPLE_QUICK") else 10

digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
labels = torch.tensor(digits.target)
order = torch.randperm(len(labels))
split = int(0.8 * len(labels))
train_set = TensorDataset(images[order[:split]], labels[order[:split]])
test_set = TensorDataset(images[order[split:]], labels[order[split:]])


class DigitsCNN(nn.Module):
    """conv(1→16) → pool → conv(16→32) → pool → dropout → linear(32·2·2 → 10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)  # 8×8 stays 8×8
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.dropout = nn.Dropout(0.25)
        self.head = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # → 16 × 4 × 4
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # → 32 × 2 × 2
        return self.head(self.dropout(torch.flatten(x, 1)))


model = DigitsCNN()
print(f"{sum(p.numel() for p in model.parameters())} parameters")
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
# Decay the learning rate along a cosine, from 3e-3 to nearly 0 at the last epoch.
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
loader = DataLoader(train_set, batch_size=32, shuffle=True)


def evaluate(model: nn.Module, dataset: TensorDataset) -> float:
    model.eval()  # batch norm uses its running statistics, dropout is off
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(dataset, batch_size=256):
            correct += (model(x).argmax(dim=1) == y).sum().item()
    model.train()
    return correct / len(dataset)


for epoch in range(epochs):
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    print(f"epoch {epoch + 1:2d}: last batch loss {loss.item():.4f}, "
          f"test accuracy {evaluate(model, test_set):.3f}")

print(f"digits-cnn test accuracy {evaluate(model, test_set):.4f}")
