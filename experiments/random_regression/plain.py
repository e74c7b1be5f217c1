"""The glossary's torch.optim / Module entries: nn.Linear(10, 1) and the 10-5-1 ReLU net on random data.

    python experiments/random_regression/plain.py
"""

import torch
import torch.nn as nn
import torch.optim as optim


class SimpleModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(5, 1)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


torch.manual_seed(0)
inputs = torch.randn(32, 10)
targets = torch.randn(32, 1)
for model, make_optimizer in ((nn.Linear(10, 1), lambda p: optim.SGD(p, lr=0.01)),
                              (SimpleModel(), lambda p: optim.Adam(p, lr=0.01))):
    optimizer = make_optimizer(model.parameters())
    criterion = nn.MSELoss()
    for _epoch in range(100):
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
    print(f"{type(model).__name__} with {type(optimizer).__name__}: loss {loss.item():.4f}")
