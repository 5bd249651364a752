"""``detect_anomaly``: stop at the first NaN or inf and say which op made it, and where."""

from __future__ import annotations


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

    In forward, an op whose output holds NaN or inf raises a RuntimeError naming the op
    and the line of user code that called it; in backward, so does a node that returns a
    NaN or inf gradient, with the line that created that node.
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = (anomaly_state.enabled, anomaly_state.check_nan)
        set_detect_anomaly(True, self.check_nan)
        return self

    def __exit__(self, *exc_info):
        set_detect_anomaly(*self._previous)
        return False

    def __call__(self, function):
        import functools

        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return function(*args, **kwargs)

        return decorated


def user_frame(stack_lines: list) -> str:
    """The innermost line of the recorded stack that lies outside ember itself."""
    import os

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for line in reversed(stack_lines):
        if package not in line:
            return line.strip()
    return stack_lines[-1].strip() if stack_lines else "<unknown>"
