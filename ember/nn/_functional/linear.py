"""``linear`` and ``bilinear``."""

from __future__ import annotations

from ember._autocast import LOWER_PRECISION, autocasts
from ember._tensor import Tensor
from ember.ops._array_math import ROWS_BY_BLAS, ArrayMath
from ember.ops._function import Lowered, Op, _legacy, broadcast_shape, lowerable, promote
from ember.ops.matmul import einsum, rows_times

__all__ = ["linear", "bilinear"]


class Addmm(Op):
    """x Wᵀ + b in one step, for inputs of any leading shape (PyTorch's node is AddmmBackward0)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        if not (x.dtype is weight.dtype is bias.dtype):
            x, weight, bias = promote(x, weight, bias)
        ctx.save_for_backward(x, weight)
        return Addmm.compute(x, weight, bias)

    @staticmethod
    def compute(x, weight, bias):
        output = rows_times(x, weight.T)
        if bias.shape == output.shape[-1:] or bias.ndim == 0:
            output += bias  # the product is a fresh array: add in place, no second buffer
            return output
        return output + bias

    @staticmethod
    def gradients(xp, ctx, grad):
        x, weight = xp.saved(ctx)
        return Addmm.chain(xp, grad, x, weight, ctx.needs_input_grad)

    @classmethod
    def lower(cls, needs, out, x, weight, bias):
        if not (lowerable(x, weight, bias) and x.dtype == weight.dtype == bias.dtype
                and bias.shape == weight.shape[:1]):
            return None  # promotion, or a bias whose gradient is summed to its shape
        return Lowered(cls.compute, (0, 1),
                       lambda grad, x, weight: cls.chain(ArrayMath, grad, x, weight, needs),
                       written_forward=_written_forward if len(x.shape) == 2 else None,
                       written_backward=_written_backward(out) if len(x.shape) == 2 else None)

    @staticmethod
    def chain(xp, grad, x, weight, needs):
        # the leading dims as one: one matrix product, where NumPy would run one per index
        rows = grad if grad.ndim == 2 else xp.reshape(grad, (-1, grad.shape[-1]))
        grad_x = grad_weight = grad_bias = None
        if needs[0] and grad.ndim <= 2:
            grad_x = xp.matmul(grad, weight)
        elif needs[0]:
            grad_x = xp.reshape(xp.matmul(rows, weight), grad.shape[:-1] + weight.shape[1:])
        if needs[1]:
            grad_weight = xp.matmul(xp.swapaxes(rows, 0, 1), xp.reshape(x, (-1, x.shape[-1])))
        if needs[2]:
            grad_bias = xp.sum_rows(rows)
        return grad_x, grad_weight, grad_bias


def _written_forward(out, x, weight, bias):
    """``Addmm.compute`` of a matrix ``x`` as the program's lines."""
    return [f"{out} = {x} @ {weight}.T", f"{out} += {bias}"]


def _written_backward(out):
    """``Addmm.chain`` of a matrix ``x`` as the program's lines (``ArrayMath.sum_rows``
    decided for the gradient's size: a large one as BLAS's product by ones)."""
    blas = out.shape[0] * out.shape[1] >= ROWS_BY_BLAS  # float32 or float64: it was lowered

    def written(results, grad, x, weight):
        grad_x, grad_weight, grad_bias = results
        lines = [f"{grad_x} = {grad} @ {weight}"] if grad_x else []
        if grad_weight:
            lines.append(f"{grad_weight} = {grad}.T @ {x}")
        if grad_bias and blas:
            ones = f"xp.ones({out.shape[0]}, {grad}.dtype, like={grad})"
            lines.append(f"{grad_bias} = {ones} @ {grad}")
        elif grad_bias:
            lines.append(f"{grad_bias} = {grad}.sum(axis=0)")
        return lines

    return written


def _check(input: Tensor, weight: Tensor) -> None:
    input_shape, weight_shape = input._data.shape, weight._data.shape
    if input_shape and len(weight_shape) == 2 and input_shape[-1] == weight_shape[-1]:
        return
    if input.ndim == 0 or weight.ndim not in (1, 2) or input.shape[-1] != weight.shape[-1]:
        rows = input.numel() // input.shape[-1] if input.ndim and input.shape[-1] else 1
        columns = input.shape[-1] if input.ndim else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{columns}"
            f" and {weight.shape[-1]}x{weight.shape[0]}): linear expected input of shape "
            f"(*, {weight.shape[-1]}), got {list(input.shape)}"
        )


def _check_bias(output: tuple, bias: Tensor) -> None:
    """PyTorch's errors for a bias that does not fit the output: expanded to a matrix's
    output (``addmm``), broadcast against any other."""
    if len(output) != 2:
        shape = broadcast_shape("linear", output, tuple(bias.shape))
        if shape != output:
            raise RuntimeError(f"output with shape {list(output)} doesn't match the broadcast "
                               f"shape {list(shape)}")
        return
    if bias.ndim > 2:
        raise RuntimeError(
            f"expand(torch.{_legacy(bias.dtype)}Tensor{{{list(bias.shape)}}}, size="
            f"{list(output)}): the number of sizes provided (2) must be greater or equal to "
            f"the number of dimensions in the tensor ({bias.ndim})"
        )
    for dim in range(-1, -bias.ndim - 1, -1):
        if bias.shape[dim] not in (1, output[dim]):
            raise RuntimeError(
                f"The expanded size of the tensor ({output[dim]}) must match the existing size "
                f"({bias.shape[dim]}) at non-singleton dimension {dim + 2}.  Target sizes: "
                f"{list(output)}.  Tensor sizes: {list(bias.shape)}"
            )


@autocasts(LOWER_PRECISION)
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b.

    Shape:
        input (*, in_features), weight (out_features, in_features), bias (out_features,)
        → (*, out_features).
    """
    _check(input, weight)
    if bias is None or weight.ndim != 2:
        output = input.matmul(weight.t())
        return output if bias is None else output + bias
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {input.dtype} and {weight.dtype}"
        )
    if bias._data.shape != weight._data.shape[:1]:
        _check_bias(tuple(input.shape[:-1]) + (weight.shape[0],), bias)
    return Addmm.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x₁ᵀ A_k x₂ + b_k.

    Shape:
        input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out,) → (*, out).
    """
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} "
            f"and {list(input2.shape[:-1])}"
        )
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear(): input sizes {input1.shape[-1]} and {input2.shape[-1]} do not match "
            f"weight of shape {list(weight.shape)}"
        )
    output = einsum("...i,kij,...j->...k", input1, weight, input2)
    return output if bias is None else output + bias
