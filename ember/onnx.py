"""``ember.onnx``: importable so scripts run, but ember cannot export ONNX yet.

``export`` raises ``OnnxExporterError`` rather than writing a file that is not a model;
``is_in_onnx_export()`` is always False, since no export can be in progress.
"""

from __future__ import annotations

import enum

__all__ = [
    "OnnxExporterError",
    "OperatorExportTypes",
    "TrainingMode",
    "export",
    "is_in_onnx_export",
    "register_custom_op_symbolic",
    "unregister_custom_op_symbolic",
]


class OnnxExporterError(RuntimeError):
    """Raised when a model cannot be exported to ONNX (with ember: always)."""


class TrainingMode(enum.IntEnum):
    """The mode a model is exported in, as ``torch.onnx.TrainingMode``."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """How operators are exported, as ``torch.onnx.OperatorExportTypes``."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def _cannot_export(what: str):
    raise OnnxExporterError(
        f"ember.onnx.{what}: ember cannot export models to ONNX yet (it has no graph capture "
        "or ONNX writer). Export with PyTorch instead: load the weights saved by ember.save "
        "into the same model built with torch, then call torch.onnx.export."
    )


def export(model, args=(), f=None, **kwargs):
    """Always raises ``OnnxExporterError``: ember cannot export ONNX yet."""
    _cannot_export("export")


def is_in_onnx_export() -> bool:
    """False: ember never runs a model for an ONNX export."""
    return False


def register_custom_op_symbolic(symbolic_name: str, symbolic_fn, opset_version: int) -> None:
    """Always raises ``OnnxExporterError``: there is no exporter to register with."""
    _cannot_export("register_custom_op_symbolic")


def unregister_custom_op_symbolic(symbolic_name: str, opset_version: int) -> None:
    """Always raises ``OnnxExporterError``: there is no exporter to unregister from."""
    _cannot_export("unregister_custom_op_symbolic")
