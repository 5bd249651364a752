"""``detect_anomaly``: stop at the first backward node that returns NaN, and say where the
forward call that made that node was.

Anomaly mode is one setting for the whole process, as in PyTorch (whose flag is a global,
not a thread-local like grad mode): a thread started inside ``detect_anomaly`` checks too.
"""

from __future__ import annotations

import functools
import os
import warnings

ENABLED_WARNING = (
    "Anomaly Detection has been enabled. This mode will increase the runtime and should only "
    "be enabled for debugging."
)


class _AnomalyState:
    __slots__ = ("enabled", "check_nan")

    def __init__(self):
        self.enabled = False
        self.check_nan = True


anomaly_state = _AnomalyState()


def is_anomaly_enabled() -> bool:
    return anomaly_state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return anomaly_state.check_nan


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for everything that follows."""
    anomaly_state.enabled = bool(mode)
    anomaly_state.check_nan = bool(check_nan)


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on inside it.

    Each node made in forward keeps the stack of the call that made it. In backward, a node
    that returns a NaN gradient raises PyTorch's RuntimeError (``Function 'XBackward0'
    returned nan values in its 0th output.``), after a warning that shows that stack.
    Forward values are not checked: infinities there are legal (a ``-inf`` attention mask).
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        warnings.warn(ENABLED_WARNING, UserWarning, stacklevel=2)

    def __enter__(self):
        self._previous = (anomaly_state.enabled, anomaly_state.check_nan)
        set_detect_anomaly(True, self.check_nan)
        return self

    def __exit__(self, *exc_info):
        set_detect_anomaly(*self._previous)
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return function(*args, **kwargs)

        return decorated


def forward_trace(stack_lines: list) -> str:
    """The recorded forward stack without its innermost frames inside ember (the op itself)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    end = len(stack_lines)
    while end > 1 and package in stack_lines[end - 1]:
        end -= 1
    return "".join(stack_lines[:end])
