"""Finite-difference checks of gradients: ``gradcheck`` and ``gradgradcheck``.

The analytical Jacobian comes from one backward pass per output element; the
numerical one from central differences, ``(f(x + eps) - f(x - eps)) / (2 eps)``, one
input element at a time. Both are compared with ``|a - n| <= atol + rtol * |n|``.
Use float64 inputs: in float32 the differences drown in rounding.
"""

from __future__ import annotations

import warnings

from ember._backend import device_index, to_device, xp
from ember._tensor import Tensor
from ember.autograd._differentiate import grad as autograd_grad


def _is_tensor(value) -> bool:
    return isinstance(value, Tensor)


def _zeros_like(tensor):
    """Zeros of ``tensor``'s shape and dtype, contiguous, outside any graph."""
    data = tensor._data
    return Tensor._make(xp.zeros(data.shape, data.dtype, like=data))


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when the analytical and numerical Jacobians differ."""


def _as_tuple(value) -> tuple:
    if isinstance(value, tuple):
        return value
    return tuple(value) if isinstance(value, list) else (value,)


def _outputs(func, inputs) -> tuple:
    return tuple(o for o in _as_tuple(func(*inputs)) if _is_tensor(o))


def _numerical(func, inputs, index, output_index, eps):

    x = inputs[index]._data
    flat = x.reshape(-1)
    if x.size and not xp.shares_memory(flat, x):
        raise GradcheckError("gradcheck needs contiguous inputs")
    output = _outputs(func, inputs)[output_index]._data
    jacobian = xp.zeros((flat.size, output.size), like=output)  # on the output's device
    if x.size == 0 or output.size == 0:
        return jacobian
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = _outputs(func, inputs)[output_index]._data.astype(xp.float64).reshape(-1)
        flat[j] = original - eps
        minus = _outputs(func, inputs)[output_index]._data.astype(xp.float64).reshape(-1)
        flat[j] = original
        jacobian[j] = (plus - minus) / (2 * eps)
    return jacobian


def _analytical(func, inputs, index, output_index):

    output = _outputs(func, inputs)[output_index]
    jacobian = xp.zeros((inputs[index].numel(), output.numel()), like=output._data)
    if not output.requires_grad:
        return jacobian
    for k in range(output.numel()):
        seed = _zeros_like(output)  # contiguous: written through reshape
        seed._data.reshape(-1)[k] = 1
        (grad,) = autograd_grad(output, inputs[index], seed, retain_graph=True, allow_unused=True)
        if grad is not None:
            if tuple(grad.shape) != tuple(inputs[index].shape):
                raise GradcheckError(
                    f"gradient of input {index} has shape {list(grad.shape)}, expected "
                    f"{list(inputs[index].shape)}"
                )
            jacobian[:, k] = to_device(grad._data, device_index(jacobian)).reshape(-1)
    return jacobian


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad=True,
              check_grad_dtypes=False, check_batched_grad=False, fast_mode=False,
              masked=None) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences.

    Args:
        func: a function of tensors returning a tensor or a tuple of tensors.
        inputs: a tensor or tuple of tensors; those with ``requires_grad`` are checked.
        eps: the finite-difference step.
        atol, rtol: the tolerances of the comparison.
        raise_exception: raise ``GradcheckError`` on a mismatch instead of returning False.

    Returns:
        True when every Jacobian entry matches.
    """

    inputs = _as_tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad]
    for i in checked:
        if inputs[i].dtype.name != "float64":

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.",
                stacklevel=2,
            )
    outputs = _outputs(func, inputs)
    for output_index, output in enumerate(outputs):
        if not output.dtype.is_floating_point:
            continue
        for index in checked:
            numerical = _numerical(func, inputs, index, output_index, eps)
            analytical = _analytical(func, inputs, index, output_index)
            bad = xp.abs(analytical - numerical) > atol + rtol * xp.abs(numerical)
            if bad.any():
                message = (
                    f"Jacobian mismatch for output {output_index} with respect to input {index},\n"
                    f"numerical:{numerical}\nanalytical:{analytical}\n"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=None) -> bool:
    """Check second derivatives: ``gradcheck`` of the vector-Jacobian product of ``func``.

    ``grad_outputs`` (random when omitted) are the cotangents; they are checked too.
    """

    _make = Tensor._make
    inputs = _as_tuple(inputs)
    outputs = [o for o in _outputs(func, inputs) if o.dtype.is_floating_point]
    if grad_outputs is None:
        rng = xp.random.default_rng(0)
        grad_outputs = tuple(
            _make(to_device(rng.standard_normal(o.shape).astype(o._data.dtype),
                            device_index(o._data)), True)
            for o in outputs
        )
    grad_outputs = _as_tuple(grad_outputs)
    count = len(inputs)
    wrt = [i for i, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad]

    def vjp(*args):

        xs, vs = args[:count], args[count:]
        ys = [o for o in _outputs(func, xs) if o.dtype.is_floating_point]
        used = [(y, v) for y, v in zip(ys, vs) if y.requires_grad]
        if not used:
            return tuple(_zeros_like(xs[i]) for i in wrt)
        grads = autograd_grad(
            [y for y, _ in used], [xs[i] for i in wrt], [v for _, v in used],
            create_graph=True, allow_unused=True,
        )
        return tuple(_zeros_like(xs[i]) if g is None else g for i, g in zip(wrt, grads))

    return gradcheck(vjp, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
