"""``ember.profiler`` and ``ember.autograd.profiler`` against PyTorch's.

Times differ from run to run and between the libraries, so nothing here compares a time:
the tests compare what was recorded (names, counts, nesting, the links from an op to its
backward node), the schedule's steps and ``on_trace_ready``'s calls, the table's layout,
and the Chrome trace's structure.
"""

from __future__ import annotations

import collections
import gzip
import importlib
import json
import os
import re
import threading
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import _profiling
from ember.autograd import engine
from ember.ops._function import Op

torch.set_num_threads(1)

LIBRARIES = (torch, ember)
EVALUATE = "autograd::engine::evaluate_function: "


def _profiler(library):
    return importlib.import_module(f"{library.__name__}.profiler")


def _autograd_profiler(library):
    return importlib.import_module(f"{library.__name__}.autograd.profiler")


def _model(library, seed: int):
    """A two-layer MLP with the same weights in either library, its SGD, and a batch."""
    rng = np.random.default_rng(seed)
    model = library.nn.Sequential(library.nn.Linear(4, 8), library.nn.ReLU(),
                                  library.nn.Linear(8, 2))
    with library.no_grad():
        for parameter in model.parameters():
            values = rng.standard_normal(tuple(parameter.shape)).astype(np.float32)
            parameter.copy_(library.tensor(values))
    optimizer = library.optim.SGD(model.parameters(), lr=0.1)
    x = library.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = library.tensor(rng.standard_normal((5, 2)).astype(np.float32))
    return model, optimizer, x, y


def _training_step(library, model, optimizer, x, y) -> None:
    record_function = _profiler(library).record_function
    with record_function("train_step"):
        with record_function("forward"):
            out = model(x)
        with record_function("loss"):
            loss = library.nn.functional.mse_loss(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _profiled_step(library, seed: int):
    profiler = _profiler(library)
    model, optimizer, x, y = _model(library, seed)
    with profiler.profile(activities=[profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        _training_step(library, model, optimizer, x, y)
    return prof


def _annotation_above(event):
    parent = event.cpu_parent
    while parent is not None and not parent.is_user_annotation:
        parent = parent.cpu_parent
    return None if parent is None else parent.name


def test_a_training_step_records_what_pytorch_records():
    recorded = {library: _profiled_step(library, seed=0).events() for library in LIBRARIES}
    theirs, ours = recorded[torch], recorded[ember]

    def annotations(events):
        return collections.Counter((event.name, _annotation_above(event)) for event in events
                                   if event.is_user_annotation)

    # the record_function ranges, the optimizer's labels, and how they nest
    assert annotations(ours) == annotations(theirs)
    assert annotations(ours)[("Optimizer.step#SGD.step", "train_step")] == 1
    assert annotations(ours)[("Optimizer.zero_grad#SGD.zero_grad", "train_step")] == 1
    assert annotations(ours)[("loss", "train_step")] == 1

    # every backward node ember runs, as many times as PyTorch runs it, each around its node
    def nodes(events):
        return collections.Counter(event.name for event in events
                                   if event.name.startswith(EVALUATE))

    our_nodes, their_nodes = nodes(ours), nodes(theirs)
    assert {name: their_nodes[name] for name in our_nodes} == our_nodes
    assert our_nodes[EVALUATE + "torch::autograd::AccumulateGrad"] == 4
    assert our_nodes[EVALUATE + "AddmmBackward0"] == 2
    assert our_nodes[EVALUATE + "MseLossBackward0"] == 1
    for events in (ours, theirs):
        for event in events:
            if event.name.startswith(EVALUATE):
                assert event.cpu_children[0].name == event.name.removeprefix(EVALUATE)
                assert _annotation_above(event) == "train_step"

    # the forward ops, by ATen's names, as often as PyTorch's and under the same ranges
    def ops(events):
        return collections.Counter((event.name, _annotation_above(event)) for event in events
                                   if event.name.startswith("aten::")
                                   and not _annotation_above(event).startswith("Optimizer."))

    our_ops, their_ops = ops(ours), ops(theirs)
    assert our_ops == {("aten::addmm", "forward"): 2, ("aten::relu", "forward"): 1,
                       ("aten::mse_loss", "loss"): 1}
    assert {key: their_ops[key] for key in our_ops} == our_ops
    for name in ("aten::relu", "aten::mse_loss"):
        assert [e.input_shapes for e in ours if e.name == name] == \
            [e.input_shapes for e in theirs if e.name == name]


def test_each_backward_node_links_to_the_forward_op_that_made_it():
    events = _profiled_step(ember, seed=1).events()
    forwards = {event.sequence_nr: event.name for event in events
                if event.name.startswith("aten::") and event.sequence_nr >= 0}
    links = {(event.name.removeprefix(EVALUATE), forwards[event.sequence_nr])
             for event in events if event.name.startswith(EVALUATE) and event.sequence_nr >= 0}
    assert links == {("MseLossBackward0", "aten::mse_loss"), ("AddmmBackward0", "aten::addmm"),
                     ("ReluBackward0", "aten::relu")}


def test_times_nest_and_self_times_add_up():
    events = _profiled_step(ember, seed=2).events()
    assert [event.id for event in events] == list(range(1, len(events) + 1))
    for event in events:
        children = sum(child.cpu_time_total for child in event.cpu_children)
        assert event.self_cpu_time_total == pytest.approx(event.cpu_time_total - children)
        assert event.self_cpu_time_total >= 0
        for child in event.cpu_children:
            assert child.cpu_parent is event
            assert event.time_range.start <= child.time_range.start
            assert child.time_range.end <= event.time_range.end
    top = sum(event.cpu_time_total for event in events if event.cpu_parent is None)
    assert events.self_cpu_time_total == pytest.approx(top)
    averages = events.key_averages()
    assert len({average.key for average in averages}) == len(averages)
    for average in averages:
        mine = [event for event in events if event.name == average.key]
        assert average.count == len(mine)
        assert average.cpu_time_total == pytest.approx(sum(e.cpu_time_total for e in mine))
        assert average.self_cpu_time_total == pytest.approx(
            sum(e.self_cpu_time_total for e in mine))
        assert average.cpu_time == pytest.approx(average.cpu_time_total / average.count)
        assert average.input_shapes == ""  # not grouped by shape
    total = events.total_average()
    assert total.key == "Total" and total.count == len(events)


# the namespaces that load on first use and define ops of their own
_MODULES_WITH_OPS = ("ember.distributions", "ember.special", "ember.nn.utils.parametrizations")


def test_every_op_is_named_as_atens_own_or_keeps_embers_name():
    from ember.profiler._recorder import EMBER_ONLY, op_name

    for module in _MODULES_WITH_OPS:  # loaded on first use: load them, whatever ran before
        importlib.import_module(module)

    classes, pending = set(), [Op]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in classes:
                classes.add(subclass)
                pending.append(subclass)
    wrong = []
    for cls in classes:
        if cls.__name__.startswith("_"):
            continue
        name = op_name(cls)
        if name.startswith("aten::"):
            if not hasattr(torch.ops.aten, name.removeprefix("aten::")):
                wrong.append((cls.__name__, name))
        elif cls.__name__ not in EMBER_ONLY:
            wrong.append((cls.__name__, name))
    assert len(classes) > 200 and wrong == []
    named = {cls.__name__: op_name(cls) for cls in classes}
    assert named["Mul"] == "aten::mul" and named["ToCopy"] == "aten::_to_copy"
    assert named["Log1P"] == "aten::log1p" and named["RoundedDiv"] == "aten::div"


def test_profiling_never_changes_results():
    def train(profiled: bool, compiled: bool):
        model, optimizer, x, y = _model(ember, seed=3)

        def step(x, y):
            loss = ember.nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        run = ember.compile(step) if compiled else step
        losses = []
        for index in range(4):
            optimizer.zero_grad()
            if profiled:
                with ember.profiler.profile(record_shapes=True):
                    losses.append(run(x, y).item())
            else:
                losses.append(run(x, y).item())
            optimizer.step()
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    for compiled in (False, True):
        plain, profiled = train(False, compiled), train(True, compiled)
        assert plain[0] == profiled[0]
        for a, b in zip(plain[1], profiled[1]):
            np.testing.assert_array_equal(a, b)


def test_nothing_is_wrapped_when_no_profile_records():
    before = (Op.__dict__["apply"], engine._backward_on_arrays, engine._accumulate_array)
    with ember.profiler.profile():
        assert Op.__dict__["apply"] is not before[0]
        assert _profiling.state.recorder is not None
        with ember.autograd.profiler.profile() as inner:  # takes over until it stops
            ember.ones(2) * 2
        ember.ones(2) + 1
    assert (Op.__dict__["apply"], engine._backward_on_arrays, engine._accumulate_array) == before
    assert _profiling.state.recorder is None
    assert [event.name for event in inner.function_events] == ["aten::mul"]


def test_compiled_replays_are_one_compiled_function_range():
    rng = np.random.default_rng(4)
    layer = ember.nn.Linear(3, 2)
    x = ember.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    compiled = ember.compile(lambda x: layer(x).relu().sum())
    names = []
    for call in range(3):
        with ember.profiler.profile() as prof:
            compiled(x).backward()
        names.append([event.name for event in prof.events() if event.cpu_parent is None])
    assert compiled.replays == 2
    assert names[0][:3] == ["aten::addmm", "aten::relu", "aten::sum"]  # the recording call
    for replay in names[1:]:
        assert replay[:2] == ["CompiledFunction", EVALUATE + "CompiledFunctionBackward"]
        assert not any(name.startswith("aten::") for name in replay)


def test_other_threads_are_recorded_on_their_own_thread():
    with ember.profiler.profile() as prof:
        worker = threading.Thread(target=lambda: ember.ones(3) * 2)
        worker.start()
        worker.join()
        ember.ones(3) * 2
    threads = [event.thread for event in prof.events() if event.name == "aten::mul"]
    assert len(threads) == 2 and len(set(threads)) == 2


# ---------------------------------------------------------------- the schedule


@pytest.mark.parametrize("arguments", [
    dict(wait=1, warmup=1, active=2),
    dict(wait=1, warmup=1, active=2, repeat=2, skip_first=1),
    dict(wait=2, warmup=1, active=1, repeat=3, skip_first=1, skip_first_wait=1),
    dict(wait=0, warmup=2, active=3, repeat=1),
    dict(wait=3, warmup=1, active=1, skip_first_wait=1),
])
def test_schedule_answers_as_pytorchs(arguments):
    answers = [[action.name for action in map(_profiler(library).schedule(**arguments),
                                              range(24))] for library in LIBRARIES]
    assert answers[0] == answers[1]


def test_schedule_refuses_and_warns_as_pytorch():
    for library in LIBRARIES:
        with pytest.raises(AssertionError) as caught:
            _profiler(library).schedule(wait=-1, warmup=0, active=1)
        assert str(caught.value).startswith("Invalid profiler schedule arguments. Got wait=-1")
        with pytest.raises(AssertionError):
            _profiler(library).schedule(wait=0, warmup=1, active=0)
        with pytest.warns(UserWarning, match="Profiler won't be using warmup"):
            _profiler(library).schedule(wait=0, warmup=0, active=1)


def _scheduled(library, arguments, steps: int, acc_events: bool = False):
    """What ``on_trace_ready`` saw, call by call, and what the profile holds at its end."""
    profiler = _profiler(library)
    seen = []

    def ready(prof):
        seen.append((prof.step_num, sorted((e.key, e.count) for e in prof.key_averages())))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with profiler.profile(schedule=profiler.schedule(**arguments), on_trace_ready=ready,
                              acc_events=acc_events) as prof:
            for step in range(steps):
                with profiler.record_function(f"step{step}"):
                    pass
                prof.step()
    return seen, sorted((e.key, e.count) for e in prof.key_averages()), prof.step_num


@pytest.mark.parametrize("arguments, steps, acc_events", [
    (dict(wait=1, warmup=1, active=2, repeat=2, skip_first=1), 12, False),
    (dict(wait=1, warmup=1, active=1, repeat=2), 7, True),
    (dict(wait=1, warmup=1, active=3), 3, False),  # stopped inside a cycle
    (dict(wait=0, warmup=1, active=2), 2, False),
])
def test_the_schedule_records_and_hands_over_the_steps_pytorch_does(arguments, steps,
                                                                       acc_events):
    theirs = _scheduled(torch, arguments, steps, acc_events)
    ours = _scheduled(ember, arguments, steps, acc_events)
    assert ours == theirs
    assert ours[0]  # on_trace_ready was called


def test_a_schedule_that_stops_recording_early_warns():
    profiler = ember.profiler
    plan = [profiler.ProfilerAction.RECORD, profiler.ProfilerAction.NONE]
    with pytest.warns(UserWarning, match="Incorrect schedule: RECORD followed by NONE"):
        with profiler.profile(schedule=lambda step: plan[step % 2]) as prof:
            with profiler.record_function("kept"):
                pass
            prof.step()
    assert [event.name for event in prof.events()] == ["ProfilerStep*", "kept"]


def test_tensorboard_trace_handler_writes_pytorchs_file_names(tmp_path):
    for library in LIBRARIES:
        profiler = _profiler(library)
        for use_gzip, worker in ((False, "worker0"), (True, None)):
            folder = tmp_path / f"{library.__name__}_{use_gzip}"
            handler = profiler.tensorboard_trace_handler(str(folder), worker_name=worker,
                                                         use_gzip=use_gzip)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                plan = profiler.schedule(wait=1, warmup=1, active=1, repeat=2)
                with profiler.profile(schedule=plan, on_trace_ready=handler) as prof:
                    for step in range(7):
                        with profiler.record_function("work"):
                            pass
                        prof.step()
            names = sorted(os.listdir(folder))
            expected = re.escape(worker or f"{os.uname().nodename}_{os.getpid()}")
            suffix = r"\.pt\.trace\.json" + (r"\.gz" if use_gzip else "")
            assert len(names) == 2
            assert all(re.fullmatch(expected + r"\.\d+" + suffix, name) for name in names)
            opener = gzip.open if use_gzip else open
            with opener(folder / names[0], "rt") as handle:
                trace = json.load(handle)
            steps = [e["name"] for e in trace["traceEvents"] if e["name"].startswith("Profiler")]
            assert steps[0] == "ProfilerStep#2"


# ---------------------------------------------------------------- the table


def _cells(line: str, rule: str) -> list:
    """``line`` cut at the columns of the table's ``rule`` line."""
    return [line[dashes.start():dashes.end()].strip() for dashes in re.finditer(r"-+", rule)]


def _annotated(library):
    record_function = _profiler(library).record_function
    with _profiler(library).profile(record_shapes=True) as prof:
        with record_function("outer_range_whose_name_is_longer_than_the_name_column_allows"):
            for _ in range(3):
                with record_function("inner"):
                    pass
            with record_function("middle"):
                with record_function("inner"):
                    pass
    return prof


@pytest.mark.parametrize("options", [
    dict(sort_by="count"),
    dict(sort_by="count", header="A HEADER", row_limit=2),
    dict(sort_by="count", top_level_events_only=True),
    dict(sort_by="count", max_name_column_width=10),
    dict(sort_by="count", row_limit=0),
    dict(sort_by="count", row_limit=-1, time_unit="ms"),
])
def test_the_table_has_pytorchs_layout(options):
    tables = [_annotated(library).key_averages().table(**options).split("\n")
              for library in LIBRARIES]
    theirs, ours = tables
    assert len(ours) == len(theirs) > 5
    rule = next(line for line in ours if line.startswith("-"))
    time = r"-?\d+\.\d{3}(s|ms|us)"
    for mine, pytorchs in zip(ours, theirs):
        if mine.startswith("Self CPU time total: "):
            assert re.fullmatch("Self CPU time total: " + time, mine)
            assert pytorchs.startswith("Self CPU time total: ")
        elif mine and mine[0] not in "-=" and "Name" not in mine and "HEADER" not in mine \
                and "top-level" not in mine:
            cells, their_cells = _cells(mine, rule), _cells(pytorchs, rule)
            assert (cells[0], cells[-1]) == (their_cells[0], their_cells[-1])  # name, calls
            assert len(mine) == len(pytorchs)
            for cell in cells[1:-1]:
                assert re.fullmatch(r"\d+\.\d{2}%", cell) or re.fullmatch(time, cell)
        else:
            assert mine == pytorchs


def test_the_table_shows_input_shapes_when_grouped_by_them():
    rng = np.random.default_rng(5)
    a, b, c = (rng.standard_normal(shape).astype(np.float32) for shape in ((2, 3), (2, 3), (1, 3)))
    tables = []
    for library in LIBRARIES:
        x, y, z = (library.tensor(value) for value in (a, b, c))
        with _profiler(library).profile(record_shapes=True) as prof:
            x * y
            x * y
            x * z
        averages = prof.key_averages(group_by_input_shape=True)
        rows = sorted((e.key, str(e.input_shapes), e.count) for e in averages)
        tables.append((rows, averages.table(sort_by="count").split("\n")[:3]))
        assert "Input Shapes" not in prof.key_averages().table()
    assert tables[0] == tables[1]
    assert tables[1][0] == [("aten::mul", "[[2, 3], [1, 3]]", 1),
                            ("aten::mul", "[[2, 3], [2, 3]]", 2)]


# ---------------------------------------------------------------- the Chrome trace


def test_the_chrome_trace_is_json_with_one_complete_event_per_range(tmp_path):
    profiler = ember.profiler
    model, optimizer, x, y = _model(ember, seed=6)
    with profiler.profile(record_shapes=True, schedule=profiler.schedule(
            wait=0, warmup=1, active=2)) as prof:
        for step in range(3):
            _training_step(ember, model, optimizer, x, y)
            prof.step()
    for name in ("trace.json", "trace.json.gz"):
        prof.export_chrome_trace(str(tmp_path / name))
    with open(tmp_path / "trace.json") as handle:
        trace = json.load(handle)
    with gzip.open(tmp_path / "trace.json.gz", "rt") as handle:
        assert json.load(handle)["traceEvents"] == trace["traceEvents"]
    assert isinstance(trace["baseTimeNanoseconds"], int) and trace["record_shapes"] == 1
    complete = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    events = prof.events()
    assert [e["name"] for e in complete] == [event.trace_name for event in events]
    assert collections.Counter(e["name"] for e in complete if "ProfilerStep" in e["name"]) == \
        {"ProfilerStep#1": 1, "ProfilerStep#2": 1}
    for entry, event in zip(complete, events):
        assert entry["pid"] == os.getpid() and isinstance(entry["tid"], int)
        assert entry["ts"] == pytest.approx(event.time_range.start, abs=1e-3)
        assert entry["dur"] == pytest.approx(event.cpu_time_total, abs=1e-3)
        assert entry["cat"] == ("user_annotation" if event.is_user_annotation else "cpu_op")
        if entry["name"] == "aten::relu":
            assert entry["args"]["Input Dims"] == [[5, 8]]
    flows = collections.defaultdict(dict)
    for entry in trace["traceEvents"]:
        if entry["ph"] in ("s", "f"):
            assert entry["cat"] == "fwdbwd"
            flows[entry["id"]][entry["ph"]] = entry["ts"]
    assert len(flows) == 2 * 4  # two recorded steps, four nodes with a forward op each
    assert all(flow["s"] <= flow["f"] for flow in flows.values())


# ---------------------------------------------------------------- torch.autograd.profiler


def test_autograd_profiler_profile_and_record_function_as_pytorchs():
    rng = np.random.default_rng(7)
    values = rng.standard_normal(3).astype(np.float32)
    found = []
    for library in LIBRARIES:
        autograd_profiler = _autograd_profiler(library)
        x = library.tensor(values)

        @autograd_profiler.record_function("decorated")
        def double(t):
            return t * 2

        assert double.__name__ == "double"
        with autograd_profiler.record_function("outside") as outside:  # no profile: nothing
            assert outside.name == "outside"
        with autograd_profiler.profile(record_shapes=True) as prof:
            double(x)
            with autograd_profiler.record_function("block"):
                double(x)
        assert isinstance(prof.function_events, autograd_profiler.EventList)
        assert isinstance(prof.self_cpu_time_total, float) and prof.self_cpu_time_total > 0
        assert " Name " in prof.table(row_limit=1) and " Name " in str(prof)
        found.append(sorted((event.name, str(_annotation_above(event)))
                            for event in prof.function_events
                            if event.name in ("aten::mul", "decorated", "block")))
        averages = {average.key: average.count for average in prof.key_averages()}
        assert averages["decorated"] == 2 and averages["block"] == 1
        with autograd_profiler.profile(enabled=False) as disabled:
            x * 2
        assert disabled is None
        with pytest.raises(RuntimeError, match="Profiler context manager is not reentrant"):
            with prof:
                pass
        assert len(autograd_profiler.profile().key_averages()) == 0  # not run yet: empty
    assert found[0] == found[1]
    assert ("aten::mul", "decorated") in found[1]


def test_emit_nvtx_and_emit_itt_run_the_block_unchanged():
    for context in (ember.autograd.profiler.emit_nvtx, ember.autograd.profiler.emit_itt):
        with context(record_shapes=True) as entered:
            result = ember.ones(2) * 3
        assert entered is not None and result.tolist() == [3.0, 3.0]


def test_the_namespaces_offer_pytorchs_names():
    for name in ("profile", "record_function", "schedule", "tensorboard_trace_handler",
                 "ProfilerAction", "ProfilerActivity", "supported_activities"):
        assert hasattr(ember.profiler, name) and hasattr(torch.profiler, name)
    for name in ("profile", "record_function", "emit_nvtx", "emit_itt", "EventList",
                 "FunctionEvent"):
        assert hasattr(ember.autograd.profiler, name) and hasattr(torch.autograd.profiler, name)
    for name in ("EventList", "FunctionEvent", "FunctionEventAvg", "Interval"):
        assert getattr(ember.autograd.profiler_util, name) is getattr(ember.profiler._events, name)
        assert hasattr(torch.autograd.profiler_util, name)
    assert ember.profiler.record_function is ember.autograd.profiler.record_function
    assert [action.name for action in ember.profiler.ProfilerAction][:4] == \
        [action.name for action in torch.profiler.ProfilerAction][:4]
    assert int(ember.profiler.ProfilerActivity.CUDA) == int(torch.profiler.ProfilerActivity.CUDA)
    assert ember.profiler.supported_activities() == {ember.profiler.ProfilerActivity.CPU}


SCRIPT = """
import {library} as torch

# (``from torch.profiler import ...`` would find PyTorch itself: the name is not rebound)
ProfilerActivity, profile = torch.profiler.ProfilerActivity, torch.profiler.profile
record_function, schedule = torch.profiler.record_function, torch.profiler.schedule

model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
inputs, targets = torch.tensor(INPUTS), torch.tensor(TARGETS)

def train(step):
    with record_function("data"):
        batch, labels = inputs[step % 4], targets[step % 4]
    with record_function("model_forward"):
        loss = torch.nn.functional.cross_entropy(model(batch), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

with profile(activities=[ProfilerActivity.CPU], record_shapes=True, profile_memory=False,
             with_stack=False, schedule=schedule(wait=1, warmup=1, active=3, repeat=1),
             on_trace_ready=torch.profiler.tensorboard_trace_handler(LOG_DIR)) as prof:
    for step in range(8):
        train(step)
        prof.step()

TABLE = prof.key_averages(group_by_input_shape=False).table(sort_by="cpu_time_total",
                                                            row_limit=10)
with torch.autograd.profiler.profile() as whole:
    train(0)
whole.export_chrome_trace(TRACE)
"""


def test_a_pytorch_script_runs_unchanged(tmp_path):
    rng = np.random.default_rng(8)
    data = {"INPUTS": rng.standard_normal((4, 10, 6)).astype(np.float32).tolist(),
            "TARGETS": rng.integers(0, 3, (4, 10)).tolist()}
    results = {}
    for library in LIBRARIES:
        folder = tmp_path / library.__name__
        namespace = {**data, "LOG_DIR": str(folder / "logs"), "TRACE": str(folder / "t.json")}
        exec(SCRIPT.format(library=library.__name__), namespace)  # noqa: S102
        logs = os.listdir(folder / "logs")
        traces = []
        for path in (folder / "logs" / logs[0], namespace["TRACE"]):
            with open(path) as handle:
                traces.append(collections.Counter(
                    e["name"] for e in json.load(handle)["traceEvents"]
                    if e.get("cat") == "user_annotation"))
        lines = namespace["TABLE"].split("\n")
        results[library] = (traces, len(logs), lines[1], namespace["prof"].step_num)
    assert results[ember] == results[torch]
    scheduled, whole = results[ember][0]
    assert scheduled["ProfilerStep#2"] == scheduled["ProfilerStep#4"] == 1
    assert scheduled["data"] == scheduled["Optimizer.step#SGD.step"] == 3
    assert whole == {"data": 1, "model_forward": 1, "Optimizer.step#SGD.step": 1,
                     "Optimizer.zero_grad#SGD.zero_grad": 1}
