"""Op.apply records ops with one or two leading tensors on a short path: it must leave
exactly the node that the general path leaves."""

import numpy as np
import pytest

import ember
from ember.ops.elementwise import Add, Exp, Mul, Where
from ember.ops.reduction import MaxDim, Sum
from ember.ops.shape import View
from ember.autograd.function import SavedTensor


def _leaves(requires):
    rng = np.random.default_rng(0)
    return [
        ember.tensor(rng.standard_normal((2, 3)), requires_grad=r) for r in requires
    ]


def _node_state(outputs, inputs):
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    node = outputs[0].grad_fn
    assert node is not None
    saved = []
    for slot in node._saved:
        if isinstance(slot, SavedTensor):
            saved.append(("output", slot._output_nr, slot._data.tobytes()))
        elif any(slot is x for x in inputs):
            saved.append(("input", slot))
        else:  # a constant the forward saved: each call makes its own
            saved.append(("constant", slot._data.tobytes(), slot.requires_grad))
    return {
        "class": type(node),
        "input_meta": node._input_meta,
        "needs": node.needs_input_grad,
        "num_args": node._num_args,
        "output_meta": node._output_meta,
        "saved": saved,
        "saved_versions": [v for _, v in node._saved_versions],
        "saved_data": [None if d is None else d.tobytes() for d in node._saved_data],
        "outputs": [(o.requires_grad, o._output_nr, o.grad_fn is node) for o in outputs],
    }


def _cases():
    yield "mul", lambda a, b: (Mul, (a, b)), (True, False)
    yield "mul_both", lambda a, b: (Mul, (a, b)), (True, True)
    yield "mul_second", lambda a, b: (Mul, (a, b)), (False, True)
    yield "mul_scalar", lambda a, b: (Mul, (a, 2.5)), (True, False)
    yield "add_alpha", lambda a, b: (Add, (a, b, 3)), (False, True)
    yield "exp_saves_output", lambda a, b: (Exp, (a,)), (True, False)
    yield "sum_dims", lambda a, b: (Sum, (a, (1,), True, None)), (True, False)
    yield "view", lambda a, b: (View, (a, (3, 2), False)), (True, False)
    yield "max_dim_tuple", lambda a, b: (MaxDim, (a, 1, False)), (True, False)


@pytest.mark.parametrize("name, make, requires", list(_cases()), ids=[c[0] for c in _cases()])
def test_short_path_leaves_the_general_node(name, make, requires):
    a, b = _leaves(requires)
    cls, args = make(a, b)
    short = _node_state(cls.apply(*args), (a, b))
    general = _node_state(cls._apply_general(args), (a, b))
    assert short == general


def test_a_tensor_after_a_setting_takes_the_general_path():
    condition = ember.tensor([True, False])
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor([3.0, 4.0], requires_grad=True)
    out = Where.apply(condition, x, y)
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0] and y.grad.tolist() == [0.0, 1.0]
    assert out.grad_fn.needs_input_grad == (False, True, True)
