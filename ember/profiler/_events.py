"""A profile's results, with PyTorch's names: ``FunctionEvent`` (one range), ``FunctionEventAvg``
(the ranges of one name summed), ``EventList`` with its ``table`` and its Chrome trace.

Times are floats in microseconds, as PyTorch's: an event's ``time_range`` counts from the
start of the profile, and ``self_cpu_time_total`` is its total less that of the events it
contains on its thread.
"""

from __future__ import annotations

import enum
import gzip
import json
import os

from ember._serialization.atomic import write_atomically
from ember.profiler._recorder import CPU_OP, EVALUATE, USER_ANNOTATION

_STEP_PREFIX = "ProfilerStep#"
_USER_SCOPE = 7  # PyTorch's RecordScope.USER_SCOPE, the scope of a record_function range


class DeviceType(enum.Enum):
    """Where an event ran: ember's profiler records the CPU's."""

    CPU = 0
    CUDA = 1


class Interval:
    """An event's start and end, in microseconds from the start of its profile."""

    def __init__(self, start: float, end: float):
        self.start, self.end = start, end

    def elapsed_us(self) -> float:
        return self.end - self.start


def _format_time(time_us: float, unit: str | None = None) -> str:
    """PyTorch's form of a time: 3 decimals, in s, ms or us by its size (or in ``unit``)."""
    if unit == "s" or (unit is None and time_us >= 1e6):
        return f"{time_us / 1e6:.3f}s"
    if unit == "ms" or (unit is None and time_us >= 1e3):
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


class _Times:
    """The CPU times both event kinds report, and the device times ember never has."""

    device_time_total = self_device_time_total = 0.0
    cuda_time_total = self_cuda_time_total = 0.0
    cpu_memory_usage = self_cpu_memory_usage = 0
    device_memory_usage = self_device_memory_usage = 0
    flops = 0

    @property
    def cpu_time(self) -> float:
        """The mean total time of one call."""
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def device_time(self) -> float:
        return 0.0

    cuda_time = device_time

    @property
    def cpu_time_str(self) -> str:
        return _format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self) -> str:
        return _format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self) -> str:
        return _format_time(self.self_cpu_time_total)


class FunctionEvent(_Times):
    """One recorded range: an op's forward, a backward node's run, a ``record_function``.

    ``cpu_parent`` is the range it opened inside (on its thread), ``cpu_children`` those
    opened inside it; ``input_shapes`` are its tensor arguments' shapes when the profile
    recorded shapes, ``sequence_nr`` links an op's forward to its node's run (-1: none).
    """

    count = 1
    node_id = -1
    is_async = is_remote = is_legacy = False
    overload_name = ""
    device_type = DeviceType.CPU
    device_index = 0

    def __init__(self, id: int, name: str, thread: int, start_us: float, end_us: float,
                 input_shapes=None, sequence_nr: int = -1, category: str = CPU_OP,
                 trace_name: str | None = None):
        self.id, self.name, self.thread = id, name, thread
        self.trace_name = name if trace_name is None else trace_name
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = [] if input_shapes is None else input_shapes
        self.sequence_nr, self.category = sequence_nr, category
        self.is_user_annotation = category == USER_ANNOTATION
        self.scope = _USER_SCOPE if self.is_user_annotation else 0
        self.cpu_children: list = []
        self.cpu_parent = None
        self.stack: list = []
        self.kernels: list = []

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(child.cpu_time_total for child in self.cpu_children)

    def append_cpu_child(self, child: FunctionEvent) -> None:
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent: FunctionEvent) -> None:
        self.cpu_parent = parent

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} overload_name={self.overload_name} "
                f"device_type={self.device_type} node_id={self.node_id} "
                f"cpu_time={self.cpu_time_str} start_us={self.time_range.start:.3f} "
                f"end_us={self.time_range.end:.3f} "
                f"cpu_children={[child.id for child in self.cpu_children]} "
                f"thread={self.thread} input_shapes={self.input_shapes} "
                f"is_async={self.is_async} is_remote={self.is_remote} seq_nr={self.sequence_nr} "
                f"is_legacy={self.is_legacy}>")


class FunctionEventAvg(_Times):
    """The events of one key summed (``key_averages``): ``count`` calls, their total and self
    times summed, and ``cpu_time`` the mean total per call."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.node_id = 0
        self.is_async = self.is_remote = self.is_legacy = self.is_user_annotation = False
        self.use_device = None
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.input_shapes = None
        self.overload_name = None
        self.stack = None
        self.scope = None
        self.cpu_children = None
        self.cpu_parent = None
        self.device_type = DeviceType.CPU

    def add(self, other) -> FunctionEventAvg:
        """Add ``other`` (an event or another average of the same key) to these sums."""
        if self.key is None:
            self.key, self.node_id = other.key, other.node_id
            self.is_async, self.is_remote = other.is_async, other.is_remote
            self.is_user_annotation = other.is_user_annotation
            self.cpu_parent, self.cpu_children = other.cpu_parent, other.cpu_children
            self.input_shapes, self.overload_name = other.input_shapes, other.overload_name
            self.stack, self.scope, self.device_type = other.stack, other.scope, other.device_type
        elif other.key != self.key:
            raise ValueError(f"cannot add the events of {other.key!r} to those of {self.key!r}")
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        return self

    def __iadd__(self, other) -> FunctionEventAvg:
        return self.add(other)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str}  self_cuda_time=0.000us cuda_time=0.000us "
                f"input_shapes={self.input_shapes} cpu_memory_usage=0 cuda_memory_usage=0>")


class EventList(list):
    """A list of events (``FunctionEvent`` or ``FunctionEventAvg``), with PyTorch's reports."""

    def __init__(self, *args, base_time_ns: int = 0, record_shapes: bool = False):
        super().__init__(*args)
        self._base_time_ns, self._record_shapes = base_time_ns, record_shapes

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of every event's self time: the time the top-level events took."""
        return sum(event.self_cpu_time_total for event in self)

    def key_averages(self, group_by_input_shapes: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """One ``FunctionEventAvg`` per key, in the order the keys first occur.

        Args:
            group_by_input_shapes: one row per key and input shapes instead.
            group_by_stack_n: accepted; ember records no stacks, so it splits nothing.
            group_by_overload_name: one row per key and overload (ember's are all "").
        """
        averages: dict = {}
        for event in self:
            group = (event.key, str(event.input_shapes) if group_by_input_shapes else None,
                     tuple(event.stack[:group_by_stack_n]) if group_by_stack_n else None,
                     event.overload_name if group_by_overload_name else None)
            average = averages.get(group)
            if average is None:
                average = averages[group] = FunctionEventAvg()
            average.add(event)
        result = EventList(averages.values(), base_time_ns=self._base_time_ns,
                           record_shapes=self._record_shapes)
        if not group_by_input_shapes:
            for average in result:
                average.input_shapes = ""  # as PyTorch: the table then has no shapes column
        return result

    def total_average(self) -> FunctionEventAvg:
        """Every event summed into one average keyed "Total"."""
        total = FunctionEventAvg()
        for event in self:
            total.count += event.count
            total.cpu_time_total += event.cpu_time_total
            total.self_cpu_time_total += event.self_cpu_time_total
        total.key = "Total"
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        """The events as PyTorch's text table: name, self and total CPU time (with their share
        of the total), mean time per call and number of calls, then input shapes when
        grouped by them.

        Args:
            sort_by: an attribute to sort the rows by, largest first (``"cpu_time_total"``,
                ``"self_cpu_time_total"``, ``"count"`` ...); None keeps the list's order.
            row_limit: at most this many rows (a negative number: all).
            max_name_column_width, max_shapes_column_width: longer names and shapes are cut,
                ending in "...".
            header: a line printed above the table.
            top_level_events_only: only the events that opened inside no other.
            time_unit: "s", "ms" or "us" for every time; None picks one per time.
        """
        return _table(self, sort_by, row_limit, max_name_column_width, max_shapes_column_width,
                      header, top_level_events_only, time_unit)

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Chrome trace JSON (gzipped where ``path`` ends in ".gz"):
        one complete ("X") event per range, in microseconds, per process and thread."""
        write_trace(path, chrome_trace(self, os.fspath(path), self._base_time_ns,
                                       self._record_shapes))


def build_events(recorders) -> EventList:
    """The ranges of ``recorders`` (one profile's, oldest first) as an ``EventList``,
    ordered by start, with their parents and children linked."""
    origin = recorders[0].wall if recorders else 0
    found, events = [], {}
    for recorder in recorders:
        # perf_counter_ns -> ns from the first recorder's start, on the wall clock
        offset = recorder.wall - origin - recorder.start
        stop = recorder.stop if recorder.stop is not None else recorder.start
        for thread in recorder.threads:
            for record in thread.ranges:
                end = record.end if record.end is not None else max(stop, record.start)
                name = record.name
                trace_name = name
                if name.startswith(_STEP_PREFIX):
                    name = "ProfilerStep*"  # one key for all steps, as PyTorch's
                event = FunctionEvent(0, name, thread.id, (record.start + offset) / 1e3,
                                      (end + offset) / 1e3, record.shapes, record.sequence_nr,
                                      record.category, trace_name)
                events[record] = event
                parent = events.get(record.parent)
                if parent is not None:
                    event.cpu_parent = parent
                    parent.cpu_children.append(event)
                found.append(event)
    found.sort(key=lambda event: event.time_range.start)  # stable: a parent stays first
    for number, event in enumerate(found, 1):
        event.id = number
    return EventList(found, base_time_ns=origin,
                     record_shapes=any(recorder.record_shapes for recorder in recorders))


# ---------------------------------------------------------------- the table

_COLUMNS = ("Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls")
_WIDTH = 12  # of each column after the name's


def _cut(text: str, width: int) -> str:
    return text[: width - 3] + "..." if len(text) >= width - 3 else text


def _share(time_us: float, total_us: float) -> str:
    return "NaN" if total_us == 0 else f"{100.0 * time_us / total_us:.2f}%"


def _table(events, sort_by, row_limit, max_name_width, max_shapes_width, header,
           top_level_only, unit) -> str:
    if not events:
        return ""
    total = sum(event.self_cpu_time_total for event in events)
    name_width = min(max(len(event.key) for event in events) + 4, max_name_width)
    with_shapes = any(event.input_shapes for event in events)
    shapes_width = min(max(len(str(event.input_shapes)) for event in events) + 4,
                       max_shapes_width)
    rows = [event for event in events if not top_level_only or event.cpu_parent is None]
    if sort_by is not None:
        rows = sorted(rows, key=lambda event: getattr(event, sort_by), reverse=True)
    if row_limit >= 0:
        rows = rows[:row_limit]
    widths = [name_width] + [_WIDTH] * len(_COLUMNS) + ([shapes_width] if with_shapes else [])

    def line(cells) -> str:
        return "".join(f"{cell:>{width}}  " for cell, width in zip(cells, widths))

    rule = line(["-" * width for width in widths])
    lines = []
    if top_level_only and header is None:
        header = "This report only display top-level ops statistics"
    if header is not None:
        lines += ["=" * (len(rule) - 2), header]
    titles = ["Name", *_COLUMNS] + (["Input Shapes"] if with_shapes else [])
    lines += [rule, line(titles), rule]
    for event in rows:
        cells = [_cut(event.key, name_width),
                 _share(event.self_cpu_time_total, total),
                 _format_time(event.self_cpu_time_total, unit),
                 _share(event.cpu_time_total, total),
                 _format_time(event.cpu_time_total, unit),
                 _format_time(event.cpu_time, unit),
                 str(event.count)]
        if with_shapes:
            cells.append(_cut(str(event.input_shapes), shapes_width))
        lines.append(line(cells))
    lines += [rule, f"Self CPU time total: {_format_time(total, unit)}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the Chrome trace


def chrome_trace(events, path: str, base_time_ns: int, record_shapes: bool,
                 metadata: dict | None = None) -> dict:
    """The Chrome trace of ``events``: "X" events (``ts`` and ``dur`` in microseconds from
    ``baseTimeNanoseconds``) under this process's id and each event's thread id, and a
    "fwdbwd" flow from each op's forward to its backward node's run."""
    pid = os.getpid()
    threads = sorted({event.thread for event in events})
    trace = [{"ph": "M", "name": "process_name", "ts": 0, "pid": pid, "tid": 0,
              "args": {"name": "python"}},
             {"ph": "M", "name": "process_labels", "ts": 0, "pid": pid, "tid": 0,
              "args": {"labels": "CPU"}}]
    trace += [{"ph": "M", "name": "thread_name", "ts": 0, "pid": pid, "tid": thread,
               "args": {"name": f"thread {thread} (python)"}} for thread in threads]
    forwards, flows = {}, []
    for index, event in enumerate(events):
        start, duration = event.time_range.start, event.cpu_time_total
        args = {"External id": event.id, "Ev Idx": index}
        if event.sequence_nr >= 0:
            args["Sequence number"] = event.sequence_nr
        if record_shapes and not event.is_user_annotation:
            args["Input Dims"] = event.input_shapes
        trace.append({"ph": "X", "cat": event.category, "name": event.trace_name, "pid": pid,
                      "tid": event.thread, "ts": round(start, 3), "dur": round(duration, 3),
                      "args": args})
        if event.sequence_nr < 0:
            continue
        if event.name.startswith(EVALUATE):
            forward = forwards.pop(event.sequence_nr, None)
            if forward is not None:
                flows.append((len(flows) + 1, forward, event))
        elif event.cpu_parent is None or event.cpu_parent.sequence_nr != event.sequence_nr:
            forwards[event.sequence_nr] = event
    for number, forward, backward in flows:
        common = {"id": number, "cat": "fwdbwd", "name": "fwdbwd", "pid": pid}
        trace.append({"ph": "s", **common, "tid": forward.thread,
                      "ts": round(forward.time_range.start, 3)})
        trace.append({"ph": "f", **common, "tid": backward.thread,
                      "ts": round(backward.time_range.start, 3), "bp": "e"})
    return {"schemaVersion": 1, "deviceProperties": [], "record_shapes": int(record_shapes),
            **(metadata or {}), "displayTimeUnit": "ms", "baseTimeNanoseconds": base_time_ns,
            "traceEvents": trace, "traceName": path}


def write_trace(path: str, trace: dict) -> None:
    """Write ``trace`` as JSON at ``path``, whole or not at all (gzipped for ".gz")."""
    path = os.fspath(path)
    text = json.dumps(trace, indent=1).encode()
    if path.endswith(".gz"):
        text = gzip.compress(text)
    write_atomically(path, lambda handle: handle.write(text))
