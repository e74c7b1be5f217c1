"""The glossary's Gradient Descent entry: minimize f(x) = x^2 from x = 10, lr 0.1, 100 steps.

    python experiments/quadratic_gd/plain.py     # ends at x = 10 * 0.8**100, about 2.04e-9
"""

import torch

x = torch.tensor(10.0, requires_grad=True)
learning_rate = 0.1

for _step in range(100):
    loss = x ** 2
    loss.backward()
    with torch.no_grad():
        x -= learning_rate * x.grad
    x.grad.zero_()

print(f"Minimum found at x = {x.item():.6g} (f(x) = {x.item() ** 2:.6g}); arithmetic: {10 * 0.8 ** 100:.6g}")
