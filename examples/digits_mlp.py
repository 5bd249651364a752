"""Handwritten digits with a multilayer perceptron: the everyday PyTorch training loop.

scikit-learn ships 1,797 handwritten digits as 8×8 grey images, so nothing is
downloaded. We hold out a fifth of them for testing, batch the rest with a
``DataLoader``, train a 64 → 128 → 10 network with cross-entropy and Adam, measure
accuracy on images it never saw, then save the weights and load them back.
Written against PyTorch's API; ember runs it after ``import ember as torch``.

    python examples/digits_mlp.py     # EMBER_EXAMPLE_QUICK=1 trains for fewer epochs
"""

import os

from sklearn.datasets import load_digits

import ember as torch
import ember.nn as nn
from ember.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
epochs = 3 if os.environ.get("EMBER_EXAMPLE_QUICK") else 20

# Pixels are 0..16: scale them to [0, 1]. Labels are the digits 0..9 (int64, as
# CrossEntropyLoss wants class indices).
digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=torch.float32)
labels = torch.tensor(digits.target)

# A fixed random split: 80% to learn from, 20% to test on.
order = torch.randperm(len(labels))
split = int(0.8 * len(labels))
train_set = TensorDataset(images[order[:split]], labels[order[:split]])
test_images, test_labels = images[order[split:]], labels[order[split:]]
loader = DataLoader(train_set, batch_size=32, shuffle=True)

model = nn.Sequential(
    nn.Linear(64, 128),
    nn.ReLU(),
    nn.Linear(128, 10),  # one logit per digit; the softmax lives inside the loss
)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)


def accuracy(model: nn.Module) -> float:
    """The fraction of test images whose largest logit is the right digit."""
    model.eval()
    with torch.no_grad():  # no graph needed to evaluate: faster and lighter
        predicted = model(test_images).argmax(dim=1)
    model.train()
    return (predicted == test_labels).float().mean().item()


for epoch in range(epochs):
    total = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)  # .item(): keep a number, not the graph behind it
    print(f"epoch {epoch + 1:2d}: loss {total / len(train_set):.4f}, "
          f"test accuracy {accuracy(model):.3f}")

# A checkpoint is the state_dict: the parameters by name. Load it into a fresh model.
torch.save(model.state_dict(), "digits_mlp.pt")
restored = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
restored.load_state_dict(torch.load("digits_mlp.pt"))
assert accuracy(restored) == accuracy(model)
print(f"digits-mlp test accuracy {accuracy(restored):.4f} (restored from digits_mlp.pt)")
