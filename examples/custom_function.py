"""Your own differentiable operation: a custom ``autograd.Function``.

Autograd knows the derivative of every built-in op. When you want an op it does not
know (a faster fused kernel, a formula with a simpler derivative, a deliberately
different gradient), subclass ``torch.autograd.Function``: ``forward`` computes the
value and saves what the derivative needs; ``backward`` receives the gradient of
the loss with respect to the output and returns one per input (the chain rule, one
link). ``gradcheck`` then compares your backward with finite differences.

Here: the Legendre polynomial P₃(x) = ½(5x³ − 3x), used to fit sin(x) on [−π, π]
as y = a + b·P₃(c + d·x), as in PyTorch's own tutorial.
Written against PyTorch's API; ember runs it after ``import ember as torch``.

    python examples/custom_function.py   # EMBER_EXAMPLE_QUICK=1 fits for fewer steps
"""

import math
import os

import ember as torch


class LegendrePolynomial3(torch.autograd.Function):
    """P₃(x) = ½(5x³ − 3x), with dP₃/dx = 1.5(5x² − 1)."""

    @staticmethod
    def forward(ctx, x):
        # Save through ctx rather than on ctx: autograd then notices if x is modified
        # in place before backward runs, and frees it once backward is done.
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        # Written with tensor ops, so it is itself differentiable: double backward works.
        return grad_output * 1.5 * (5 * x**2 - 1)


class ClampWithStraightThrough(torch.autograd.Function):
    """clamp(x, low, high) forward, but the gradient passes through unchanged.

    Not the true derivative (zero outside [low, high]) but a deliberate choice, as in
    quantization-aware training. ``low`` and ``high`` are numbers, not tensors, so
    their "gradients" are None.
    """

    @staticmethod
    def forward(ctx, x, low, high):
        return x.clamp(low, high)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None, None


# 1. Check the gradient against finite differences. Use float64: in float32 the
#    differences (f(x + ε) − f(x − ε)) / 2ε drown in rounding.
x = torch.randn(6, dtype=torch.float64, requires_grad=True)
assert torch.autograd.gradcheck(LegendrePolynomial3.apply, (x,))
assert torch.autograd.gradgradcheck(LegendrePolynomial3.apply, (x,))
print("gradcheck and gradgradcheck passed for LegendrePolynomial3")

# A straight-through gradient is not the derivative: gradcheck rightly rejects it.
x = torch.tensor([-2.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
straight_through_ok = torch.autograd.gradcheck(
    lambda t: ClampWithStraightThrough.apply(t, -1.0, 1.0), (x,), raise_exception=False)
ClampWithStraightThrough.apply(x, -1.0, 1.0).sum().backward()
print(f"straight-through clamp: gradient {x.grad.tolist()}, gradcheck says {straight_through_ok}")

# 2. Use the function like any op: fit sin(x) with y = a + b·P₃(c + d·x).
torch.manual_seed(0)
steps = 300 if os.environ.get("EMBER_EXAMPLE_QUICK") else 2000
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
a = torch.full((), 0.0, requires_grad=True)
b = torch.full((), -1.0, requires_grad=True)
c = torch.full((), 0.0, requires_grad=True)
d = torch.full((), 0.3, requires_grad=True)

learning_rate = 5e-6
for step in range(steps):
    prediction = a + b * LegendrePolynomial3.apply(c + d * x)
    loss = (prediction - y).pow(2).sum()
    if step % 500 == 0:
        print(f"step {step:4d}: loss {loss.item():.2f}")
    loss.backward()
    with torch.no_grad():  # a hand-written SGD step; the update itself must not be recorded
        for parameter in (a, b, c, d):
            parameter -= learning_rate * parameter.grad
            parameter.grad = None

print(f"y = {a.item():.3f} + {b.item():.3f} * P3({c.item():.3f} + {d.item():.3f} x)")
print(f"custom-function fit loss {loss.item():.2f} after {steps} steps")
