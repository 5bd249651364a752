"""Gradients of gradients: second derivatives, Newton's method, Hessian-vector products.

``loss.backward()`` normally runs the backward pass without recording it. With
``create_graph=True`` the backward pass is itself recorded as a graph, so the
gradient it returns is a function of the inputs that can be differentiated again.
That gives second (and third...) derivatives, Hessian-vector products without ever
forming the Hessian, and gradient penalties.
Written against PyTorch's API; ember runs it after ``import ember as torch``.

    python examples/higher_order.py   # EMBER_EXAMPLE_QUICK=1 is accepted (it is quick anyway)
"""

import ember as torch
from ember.autograd import grad
from ember.autograd.functional import hessian

torch.manual_seed(0)

# 1. Derivatives of sin, one after another: cos, −sin, −cos.
x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
y = torch.sin(x)
(dy,) = grad(y.sum(), x, create_graph=True)  # .sum(): one scalar; each x[i] is independent
(d2y,) = grad(dy.sum(), x, create_graph=True)
(d3y,) = grad(d2y.sum(), x)
assert torch.allclose(dy, torch.cos(x))
assert torch.allclose(d2y, -torch.sin(x))
assert torch.allclose(d3y, -torch.cos(x))
print("d/dx sin = cos, d²/dx² sin = -sin, d³/dx³ sin = -cos: checked at 7 points")
print(f"  d²y/dx² has a graph of its own (grad_fn={d2y.grad_fn.name()}), so it has derivatives")

# 2. Newton's method needs f'' as well as f': x ← x − f'(x) / f''(x).
#    f(x) = x⁴ − 3x² + x has a minimum near x = 1.13; Newton gets there in a few steps.
x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
for step in range(6):
    f = x**4 - 3 * x**2 + x
    (df,) = grad(f, x, create_graph=True)
    (d2f,) = grad(df, x)
    with torch.no_grad():
        x -= df / d2f
    print(f"  Newton step {step + 1}: x = {x.item():.10f}, f'(x) was {df.item():.2e}")

# 3. A Hessian-vector product H·v for the loss of a logistic regression, by double
#    backward: differentiate (∇L · v) once more. It costs about two backward passes,
#    however many parameters there are, and never builds the n × n matrix H.
features = torch.randn(32, 5, dtype=torch.float64)
labels = (torch.rand(32, dtype=torch.float64) > 0.5).to(torch.float64)
weights = torch.randn(5, dtype=torch.float64, requires_grad=True)
v = torch.randn(5, dtype=torch.float64)


def loss_of(w):
    return torch.nn.functional.binary_cross_entropy_with_logits(features @ w, labels)


(gradient,) = grad(loss_of(weights), weights, create_graph=True)
(hessian_vector,) = grad(gradient @ v, weights)

# Check it two ways: the full Hessian from autograd.functional, and the closed form
# H = Xᵀ diag(p(1 − p)) X / n for the mean binary cross-entropy.
full_hessian = hessian(loss_of, weights)
p = torch.sigmoid(features @ weights).detach()
closed_form = features.T @ (features * (p * (1 - p)).unsqueeze(1)) / len(labels)
assert torch.allclose(full_hessian, closed_form)
assert torch.allclose(hessian_vector, closed_form @ v)
print("Hessian-vector product", [round(value, 4) for value in hessian_vector.tolist()])
print("higher-order checks passed")
