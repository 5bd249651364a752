"""``torch.profiler.profile``: a profile whose recording a schedule turns on and off by step.

A schedule maps each step number to a ``ProfilerAction``: NONE (nothing recorded), WARMUP
(the step before recording starts; ember has nothing to warm up, so nothing is recorded),
RECORD, and RECORD_AND_SAVE (the last recorded step of a cycle: when it ends, the cycle's
events are handed to ``on_trace_ready``). Without a schedule every step records and
``on_trace_ready`` runs once, when the profile stops.
"""

from __future__ import annotations

import enum
import json
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from ember.profiler._events import EventList, build_events, chrome_trace, write_trace
from ember.profiler._recorder import USER_ANNOTATION, Recorder, install, uninstall


class ProfilerAction(enum.Enum):
    """What the profiler does during a step (a schedule's answer for it)."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


class ProfilerActivity(enum.Enum):
    """What a profile may record; ember records the CPU's activity, the others' is empty."""

    CPU = 0
    XPU = 1
    CUDA = 2
    HPU = 3
    MTIA = 4
    PrivateUse1 = 5

    def __int__(self) -> int:
        return self.value


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


def supported_activities() -> set:
    """The activities ember's profiler can record: the CPU's."""
    return {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """False: ember has no Kineto library; its profiler records ember's own ranges."""
    return False


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """A schedule of cycles: ``wait`` steps of nothing, ``warmup`` steps, then ``active``
    recorded steps (the last one RECORD_AND_SAVE); ``repeat`` cycles (0: without end),
    after ``skip_first`` steps of nothing. With ``skip_first_wait``, the first cycle
    starts at its warmup.

    Args:
        wait, warmup, active, repeat, skip_first: steps (or cycles, for ``repeat``).
        skip_first_wait: nonzero to skip the first cycle's wait.

    Returns:
        A function of the step number (from 0) giving that step's ``ProfilerAction``.

    Example::

        >>> plan = schedule(wait=1, warmup=1, active=2)
        >>> [plan(step).name for step in range(4)]
        ['NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE']
    """
    if not (wait >= 0 and warmup >= 0 and active > 0 and repeat >= 0 and skip_first >= 0):
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0)."
        )
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      UserWarning, stacklevel=2)
    cycle = wait + warmup + active

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        position = step % cycle
        if position < wait:
            return ProfilerAction.NONE
        if position < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if position < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


def _record_always(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False, use_python_export: bool = False):
    """An ``on_trace_ready`` that writes each cycle's Chrome trace into ``dir_name`` as
    ``<worker_name>.<time in ns>.pt.trace.json`` (``.gz`` with ``use_gzip``), the files
    TensorBoard's profiler plugin reads. ``worker_name`` defaults to ``<host>_<pid>``."""

    def handler(profiler) -> None:
        if not os.path.isdir(dir_name):
            try:
                os.makedirs(dir_name, exist_ok=True)
            except OSError as error:
                raise RuntimeError("Can't create directory: " + dir_name) from error
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        profiler.export_chrome_trace(os.path.join(dir_name, file_name))

    return handler


class profile:
    """Record ember's ops, backward nodes, ``record_function`` ranges and optimizer steps.

    Used as a context manager (or through ``start``/``stop``); ``step()`` marks the end of
    a training step. What each step does is the schedule's answer for its number; while
    steps are recorded, each is a ``ProfilerStep#N`` range. Results: ``events()``,
    ``key_averages()`` and its ``table()``, ``export_chrome_trace``.

    Args:
        activities: what to record; ember records ``ProfilerActivity.CPU`` (the default),
            and nothing when that is not among them.
        schedule: a function of the step number giving its ``ProfilerAction`` (``schedule``).
        on_trace_ready: called with the profiler when a cycle's recording is complete.
        record_shapes: keep each op's input shapes (``group_by_input_shape``).
        acc_events: keep the events of every cycle rather than the latest's.
        profile_memory, with_stack, with_flops, with_modules, experimental_config,
        execution_trace_observer, use_cuda, custom_trace_id_callback,
        post_processing_timeout_s: accepted; ember records none of that.

    Example::

        >>> with ember.profiler.profile(schedule=ember.profiler.schedule(
        ...         wait=1, warmup=1, active=2), on_trace_ready=print_table) as prof:
        ...     for batch in batches:
        ...         train_step(batch)
        ...         prof.step()
    """

    def __init__(self, *, activities: Iterable | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable[..., Any] | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False,
                 experimental_config=None, execution_trace_observer=None,
                 acc_events: bool = False, use_cuda: bool | None = None,
                 custom_trace_id_callback=None, post_processing_timeout_s=None) -> None:
        chosen = set()
        for activity in activities or supported_activities():  # an entry may map to filters
            chosen.update(activity if isinstance(activity, dict) else (activity,))
        self.activities = chosen
        self.schedule = schedule if schedule is not None else _record_always
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack, self.with_flops, self.with_modules = with_stack, with_flops, with_modules
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self._recorder = None  # the cycle recording now
        self._kept: list = []  # the recorders whose events ``events()`` reports
        self._events = None
        self._step_range = None
        self._metadata: dict = {}
        self._warned = False

    # ------------------------------------------------------------ the steps
    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exception) -> None:
        self.stop()

    def start(self) -> None:
        self._transit(ProfilerAction.NONE, self.current_action)
        self._open_step()

    def stop(self) -> None:
        self._close_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """End the current step: the schedule's answer for the next one takes effect."""
        self._close_step()
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)
        self._open_step()

    def _open_step(self) -> None:
        if self.record_steps and self._recorder is not None and \
                ProfilerActivity.CPU in self.activities:
            self._step_range = self._recorder.begin(f"ProfilerStep#{self.step_num}",
                                                    USER_ANNOTATION)

    def _close_step(self) -> None:
        if self._step_range is not None:
            if self._recorder is not None:
                self._recorder.end(self._step_range)
            self._step_range = None

    def _transit(self, previous, current) -> None:
        """What passing from one step's action to the next's does (None: the end)."""
        if previous in _RECORDING:
            if current in _RECORDING and previous is ProfilerAction.RECORD:
                return  # the cycle goes on
            if current in (ProfilerAction.NONE, ProfilerAction.WARMUP) and \
                    previous is ProfilerAction.RECORD:
                warnings.warn(f"Incorrect schedule: RECORD followed by {current.name}",
                              UserWarning, stacklevel=3)
                self._stop_trace()
                return
            self._stop_trace()
            self._trace_ready()
        elif previous is ProfilerAction.WARMUP and current is ProfilerAction.NONE:
            warnings.warn("Incorrect schedule: WARMUP followed by NONE", UserWarning,
                          stacklevel=3)
        if current in _RECORDING and self._recorder is None:
            self._start_trace()

    def _start_trace(self) -> None:
        self._recorder = Recorder(self.record_shapes)
        if ProfilerActivity.CPU in self.activities:
            install(self._recorder)

    def _stop_trace(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        uninstall(recorder)
        if recorder.stop is None:  # it was never installed (no CPU activity)
            recorder.stop = recorder.start
        if self._kept and not self.acc_events and not self._warned:
            self._warned = True
            warnings.warn("Warning: Profiler clears events at the end of each cycle. Only events "
                          "from the current cycle will be reported. To keep events across "
                          "cycles, set acc_events=True.", UserWarning, stacklevel=4)
        self._kept = self._kept + [recorder] if self.acc_events else [recorder]
        self._events = None

    def _trace_ready(self) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # ------------------------------------------------------------ the results
    def events(self) -> EventList:
        """The events of the latest complete cycle (of every cycle, with ``acc_events``)."""
        if self._events is None:
            self._events = build_events(self._kept)
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """``events()`` averaged by name (and input shapes, with ``group_by_input_shape``)."""
        return self.events().key_averages(group_by_input_shape, group_by_stack_n,
                                          group_by_overload_name)

    def export_chrome_trace(self, path: str, use_python_export: bool = False) -> None:
        """Write ``events()`` as Chrome trace JSON (gzipped where ``path`` ends in ".gz")."""
        events = self.events()
        write_trace(path, chrome_trace(events, os.fspath(path), events._base_time_ns,
                                       events._record_shapes, self._metadata))

    def add_metadata(self, key: str, value: str) -> None:
        """Add ``key: value`` (a string) to the top of the Chrome traces written next."""
        self._metadata[key] = str(value)

    def add_metadata_json(self, key: str, value: str) -> None:
        """Add ``key`` with ``value`` (JSON text) to the top of the Chrome traces written next."""
        self._metadata[key] = json.loads(value)
