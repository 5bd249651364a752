"""``torch.autograd.profiler``: the profile of one block of code, and ``record_function``.

This is the older of PyTorch's two profiler interfaces: no schedule and no steps, the
events in ``function_events`` once the block has ended. It records what
``ember.profiler.profile`` records (both are built on ``ember/profiler/_recorder.py``).
"""

from __future__ import annotations

import os

from ember.profiler._events import DeviceType, EventList, FunctionEvent, build_events
from ember.profiler._recorder import Recorder, install, record_function, uninstall
from ember.profiler.profiler import ProfilerActivity, kineto_available

__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt", "EventList", "FunctionEvent",
           "DeviceType", "ProfilerActivity", "kineto_available"]


class profile:
    """Record ember's ops, backward nodes, ``record_function`` ranges and optimizer steps
    while the block runs.

    Args:
        enabled: False makes the block record nothing (``with`` then binds None, as PyTorch).
        record_shapes: keep each op's input shapes.
        use_cpu: False records nothing (ember has only the CPU's activity to record).
        use_cuda, use_device, with_flops, profile_memory, with_stack, with_modules,
        use_kineto, experimental_config, acc_events, custom_trace_id_callback,
        post_processing_timeout_s, activity_filters: accepted; ember records none of that.

    Example::

        >>> with ember.autograd.profiler.profile(record_shapes=True) as prof:
        ...     model(x).sum().backward()
        >>> print(prof.key_averages().table(sort_by="self_cpu_time_total"))
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None,
                 activity_filters=None) -> None:
        self.enabled, self.use_cpu = enabled, use_cpu
        self.record_shapes, self.profile_memory, self.with_stack = (
            record_shapes, profile_memory, with_stack)
        self.entered = False
        self.function_events = EventList()  # filled when the block ends
        self._recorder = None

    def __enter__(self):
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._recorder = Recorder(self.record_shapes)
        if self.use_cpu:
            install(self._recorder)
        return self

    def __exit__(self, *exception) -> bool:
        if not self.enabled:
            return False
        recorder = self._recorder
        uninstall(recorder)
        if recorder.stop is None:  # never installed: use_cpu=False
            recorder.stop = recorder.start
        self.function_events = build_events([recorder])
        return False

    def __str__(self) -> str:
        return self.function_events.table()

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        """``function_events``' table (``EventList.table``): one row per event."""
        return self.function_events.table(
            sort_by, row_limit, max_src_column_width, max_name_column_width,
            max_shapes_column_width, header, top_level_events_only)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """The events averaged by name (and input shapes, with ``group_by_input_shape``)."""
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n,
                                                 group_by_overload_name)

    def total_average(self):
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        """The microseconds the top-level events took, together."""
        return self.function_events.self_cpu_time_total

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Chrome trace JSON (gzipped where ``path`` ends in ".gz")."""
        self.function_events.export_chrome_trace(os.fspath(path))


class emit_nvtx:
    """NVIDIA's NVTX ranges around each op, for nvprof and Nsight: ember has no NVTX, so
    the block runs as it would without it."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled, self.record_shapes = enabled, record_shapes

    def __enter__(self) -> emit_nvtx:
        return self

    def __exit__(self, *exception) -> bool:
        return False


class emit_itt(emit_nvtx):
    """Intel's ITT ranges around each op, for VTune: ember has no ITT, so the block runs as
    it would without it."""
