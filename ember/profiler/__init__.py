"""``ember.profiler``: PyTorch's ``torch.profiler``, recording ember's own work on the CPU.

A profile records, per thread, each op's forward (under ATen's name: ``aten::mul``), each
backward node's run (``autograd::engine::evaluate_function: MulBackward0``), each
``record_function`` range, each optimizer step (``Optimizer.step#SGD.step``) and each
replay of a compiled call (``CompiledFunction``), with its start and end; ``key_averages``
sums them by name into PyTorch's table, and ``export_chrome_trace`` writes them for
chrome://tracing, Perfetto or TensorBoard. When nothing profiles, ember runs none of it.
"""

from ember.profiler._events import DeviceType
from ember.profiler._recorder import record_function
from ember.profiler.profiler import (
    ProfilerAction,
    ProfilerActivity,
    kineto_available,
    profile,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)

__all__ = [
    "profile",
    "record_function",
    "schedule",
    "tensorboard_trace_handler",
    "ProfilerAction",
    "ProfilerActivity",
    "supported_activities",
    "kineto_available",
    "DeviceType",
]
