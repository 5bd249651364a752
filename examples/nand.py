# The blog's complete NAND program, run on ember.
#
# Only the two torch imports changed: ember speaks PyTorch's API, so the network, the loss,
# the optimizer and the training loop below are the blog's code exactly. The last lines print
# what the trained network answers for each row of the truth table.
#
#     python examples/nand.py

import ember as torch  # noqa: I001  (the blog's order)
import ember.nn as nn
import numpy as np  # noqa: F401  (unused, but the blog's program imports it)


# Define a simple neural network
class SimpleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(2, 3)  # 2 inputs -> 3 hidden
        self.layer2 = nn.Linear(3, 1)  # 3 hidden -> 1 output
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        x = self.sigmoid(self.layer1(x))
        x = self.sigmoid(self.layer2(x))
        return x

# NAND gate training data
# NAND truth table: [0,0]->1, [0,1]->1, [1,0]->1, [1,1]->0
inputs = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
targets = torch.tensor([[1.], [1.], [1.], [0.]])

# Create model and optimizer
model = SimpleNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
criterion = nn.MSELoss()

# Track training progress
losses = []
epochs = 4000

# Training loop
for epoch in range(epochs):
    # Forward pass
    outputs = model(inputs)
    loss = criterion(outputs, targets)

    # Backward pass
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    # Track loss
    losses.append(loss.item())

# What did it learn? Evaluate without recording a graph, row by row.
with torch.no_grad():
    predictions = model(inputs)
for (a, b), (target,), (output,) in zip(inputs.tolist(), targets.tolist(), predictions.tolist()):
    print(f"NAND({a:.0f}, {b:.0f}) = {output:.4f}  (target {target:.0f})")
print(f"final loss {losses[-1]:.6f} after {epochs} epochs")
