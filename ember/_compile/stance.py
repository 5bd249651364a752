"""``torch.compiler.set_stance``: how compiled functions behave for a while, process-wide.

- ``"default"``: record and replay;
- ``"force_eager"``: every compiled function runs its Python eagerly, records nothing and
  replays nothing;
- ``"eager_on_recompile"``: a call that no recording fits runs eagerly where the function
  has a recording already (a first recording is still made);
- ``"fail_on_recompile"``: such a call raises instead;
- ``"eager_then_compile"`` and ``"aot_eager_then_compile"``: a function's first call runs
  eagerly, and the next records (PyTorch uses the first call to guess which sizes vary;
  ember records every new size anyway).
"""

from __future__ import annotations

import functools

from ember import _tape

STANCES = ("default", "force_eager", "eager_on_recompile", "fail_on_recompile",
           "eager_then_compile", "aot_eager_then_compile")


class _Stance:
    __slots__ = ("name", "eager")

    def __init__(self):
        self.name, self.eager = "default", False  # ``eager``: "force_eager", one test a call

    def set(self, name) -> None:
        self.name, self.eager = name, name == "force_eager"


current = _Stance()


class set_stance:
    """Set the compiler's stance (``STANCES``): as a function, for the calls after it; as
    a context manager, inside the ``with``; as a decorator, while the function runs.

    ``skip_guard_eval_unsafe`` is accepted and changes nothing (ember's quick test reads
    few guards); ``force_backend`` may name a backend only with the default stance.
    """

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe: bool = False,
                 force_backend=None):
        if _tape.current() is not None:
            raise RuntimeError("torch.compiler.set_stance is not allowed inside a "
                               "compiled region (ember.compile is recording this call)")
        if stance not in STANCES:
            raise ValueError(f"set_stance: unknown stance {stance!r}; expected one of "
                             f"{', '.join(STANCES)}")
        if force_backend is not None and stance != "default":
            raise RuntimeError("force_backend can only be used with the default stance")
        self.stance, self.previous = stance, current.name
        current.set(stance)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        current.set(self.previous)

    def __call__(self, function):
        current.set(self.previous)  # a decorator: the stance holds while ``function`` runs
        stance = self.stance

        @functools.wraps(function)
        def run(*args, **kwargs):
            previous = current.name
            current.set(stance)
            try:
                return function(*args, **kwargs)
            finally:
                current.set(previous)

        return run
