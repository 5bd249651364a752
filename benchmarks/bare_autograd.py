"""A bare define-by-run autograd in pure Python on NumPy: the floor for ``op_overhead``.

It records the same ten ops and sum as the ``op_overhead`` workload and walks them back
the way ember's engine does (newest node first, from a heap), and does nothing else: no
dtype promotion, no broadcasting to undo, no version counters, hooks, error checks or
PyTorch API. What it costs per step is what any pure-Python autograd must pay; what ember
costs beyond it is the price of behaving like PyTorch. Not part of ember.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

_sequence = itertools.count()


class Value:
    __slots__ = ("data", "grad", "node", "requires_grad")

    def __init__(self, data, requires_grad=False, node=None):
        self.data, self.grad, self.node, self.requires_grad = data, None, node, requires_grad


class Node:
    __slots__ = ("sequence", "backward", "inputs", "saved")

    def __init__(self, backward, inputs, saved):
        self.sequence = next(_sequence)
        self.backward, self.inputs, self.saved = backward, inputs, saved


def _result(data, inputs, backward, saved=None) -> Value:
    if any(value.requires_grad for value in inputs):
        return Value(data, True, Node(backward, inputs, saved))
    return Value(data)


def mul(a, b):
    if type(b) is float:
        return _result(a.data * b, (a,), lambda g, s: (g * s,), b)
    return _result(a.data * b.data, (a, b), lambda g, s: (g * s[1], g * s[0]), (a.data, b.data))


def add(a, b):
    if type(b) is float:
        return _result(a.data + b, (a,), lambda g, s: (g,))
    return _result(a.data + b.data, (a, b), lambda g, s: (g, g))


def sub(a, b):
    return _result(a.data - b.data, (a, b), lambda g, s: (g, -g))


def div(a, b):
    return _result(a.data / b.data, (a, b), lambda g, s: (g / s[1], -g * s[0] / (s[1] * s[1])),
                   (a.data, b.data))


def exp(a):
    y = np.exp(a.data)
    return _result(y, (a,), lambda g, s: (g * s,), y)


def tanh(a):
    y = np.tanh(a.data)
    return _result(y, (a,), lambda g, s: (g * (1 - s * s),), y)


def sigmoid(a):
    y = 1 / (1 + np.exp(-a.data))
    return _result(y, (a,), lambda g, s: (g * s * (1 - s),), y)


def relu(a):
    y = np.maximum(a.data, 0)
    return _result(y, (a,), lambda g, s: (g * (s > 0),), y)


def total(a):
    return _result(a.data.sum(), (a,), lambda g, s: (np.full(s, g),), a.data.shape)


def backward(root: Value) -> None:
    gradients = {root.node: np.ones_like(root.data)}
    ready = [(-root.node.sequence, root.node)]
    while ready:
        node = heapq.heappop(ready)[1]
        results = node.backward(gradients.pop(node), node.saved)
        for value, grad in zip(node.inputs, results):
            if not value.requires_grad:
                continue
            source = value.node
            if source is None:
                value.grad = grad if value.grad is None else value.grad + grad
            elif source in gradients:
                gradients[source] = gradients[source] + grad
            else:
                gradients[source] = grad
                heapq.heappush(ready, (-source.sequence, source))


def make_op_overhead():
    """``op_overhead`` on the bare autograd: the same ops, shapes and values."""
    rng = np.random.default_rng(0)
    a = Value(rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32), requires_grad=True)
    b = Value(rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32))

    def run():
        for _ in range(1000):
            y = mul(a, b)
            y = add(y, a)
            y = exp(y)
            y = sub(y, b)
            y = tanh(y)
            y = mul(y, 2.0)
            y = sigmoid(y)
            y = div(y, b)
            y = relu(y)
            y = add(y, 1.0)
            backward(total(y))
        a.grad = None

    return run, "1000 x (10 ops + sum, forward and backward)"
