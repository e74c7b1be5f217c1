"""The glossary's cubic fit of sin(x), as the document writes it: plain PyTorch, no framework.

    python experiments/sine_cubic/plain.py            # autograd, as in the document
    python experiments/sine_cubic/plain.py --manual   # the document's hand-written gradients

The baseline that tests/test_sine_cubic_parity.py and benchmark.py compare glossary_exp to.
"""

from __future__ import annotations

import argparse
import math

import torch


def fit(steps: int = 2000, learning_rate: float = 1e-6, seed: int | None = None, manual: bool = False,
        report: bool = True) -> tuple[list[float], list[float]]:
    """Run the document's loop; returns (loss at every step, [a, b, c, d])."""
    if seed is not None:
        torch.manual_seed(seed)
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)

    a = torch.randn((), dtype=dtype, requires_grad=not manual)
    b = torch.randn((), dtype=dtype, requires_grad=not manual)
    c = torch.randn((), dtype=dtype, requires_grad=not manual)
    d = torch.randn((), dtype=dtype, requires_grad=not manual)

    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if report and t % 100 == 99:
            print(t, loss.item())

        if manual:
            grad_y_pred = 2.0 * (y_pred - y)
            grad_a = grad_y_pred.sum()
            grad_b = (grad_y_pred * x).sum()
            grad_c = (grad_y_pred * x ** 2).sum()
            grad_d = (grad_y_pred * x ** 3).sum()
            a -= learning_rate * grad_a
            b -= learning_rate * grad_b
            c -= learning_rate * grad_c
            d -= learning_rate * grad_d
        else:
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None

    if report:
        print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
    return losses, [a.item(), b.item(), c.item(), d.item()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manual", action="store_true", help="hand-written gradients instead of autograd")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    fit(seed=args.seed, manual=args.manual)
