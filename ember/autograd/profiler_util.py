"""``torch.autograd.profiler_util``: the classes a profile's results are made of."""

from ember.profiler._events import EventList, FunctionEvent, FunctionEventAvg, Interval

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]
