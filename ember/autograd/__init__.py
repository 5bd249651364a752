"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function`` and grad modes."""

from __future__ import annotations

import importlib

from ember.autograd import graph  # noqa: F401 - ``torch.autograd.graph``: saved-tensor hooks
from ember.autograd._differentiate import backward, grad
from ember.autograd.anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ember.autograd.function import Function, once_differentiable
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.autograd.gradcheck import gradcheck, gradgradcheck
from ember.autograd.variable import Variable

__all__ = [
    "backward",
    "grad",
    "Function",
    "once_differentiable",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "gradcheck",
    "gradgradcheck",
    "functional",
    "profiler",
]


def __getattr__(name: str):
    # ``functional`` (jacobian, hessian ...) is built from ember's ops, a layer above
    # autograd's core, so it is loaded when first asked for.
    if name == "functional":
        return importlib.import_module("ember.autograd.functional")
    if name in ("profiler", "profiler_util"):  # built on the ops and the compiler
        return importlib.import_module(f"ember.autograd.{name}")
    raise AttributeError(f"module 'ember.autograd' has no attribute '{name}'")
