"""``ember.compile``: record a call once, replay it as a flat program over arrays.

How it works, and where ember differs from ``torch.compile``, is in ``docs/compile.md``:

- ``tape``: what one eager call did, as steps over slots, and what breaks a graph;
- ``program``: those steps written out as a forward and a backward Python function;
- ``kernels`` and ``fusion``: numba loops for a few ops, and their binding into programs;
- ``compiled``: the callable, its cache of recordings and the guards that pick one.
"""

from __future__ import annotations

import functools

from ember import _tape
from ember._compile.compiled import CompiledFunction, config
from ember._compile.reach import modules_of
from ember._compile.tape import Unsupported
from ember.nn.modules.module import Module, set_quietly

__all__ = ["compile", "OptimizedModule", "CompiledFunction", "Unsupported", "config"]


class OptimizedModule(Module):
    """What ``ember.compile(module)`` returns: the module, called through its recordings.

    ``_orig_mod`` is the module itself (so ``state_dict()`` keys start with ``_orig_mod.``,
    as PyTorch's do); attributes, parameters, ``train()`` and ``eval()`` reach it.
    """

    def __init__(self, module: Module, fullgraph: bool = False, mode=None):
        super().__init__()
        self._orig_mod = module
        compiled = CompiledFunction(module, fullgraph, modules_of(module), mode)
        set_quietly(self, "_compiled", compiled)
        set_quietly(self, "forward", compiled)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)

    @property
    def training(self) -> bool:
        return self._orig_mod.training

    @training.setter
    def training(self, value: bool) -> None:
        if "_modules" in self.__dict__:  # Module.__init__ sets it before _orig_mod exists
            self._orig_mod.training = value

    @property
    def code(self) -> str:
        """The recorded forward and backward programs, as Python source."""
        return self.__dict__["_compiled"].code

    def __repr__(self) -> str:
        return f"OptimizedModule(\n  (_orig_mod): {self._orig_mod!r}\n)".replace(
            "\n)\n)", "\n  )\n)")


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="ember", mode=None,
            options=None, disable: bool = False):
    """Record ``model`` (a module or a function) on its first call and replay it after.

    PyTorch's ``torch.compile`` signature. ``mode="reduce-overhead"`` runs the first lines
    of a small program (arrays of at most ``small.SMALL`` elements) as one numba function,
    agreeing with eager to rounding rather than bit for bit (``ember/_compile/small.py``);
    PyTorch's other modes, ``dynamic``, ``backend`` and ``options`` are accepted and do not
    change what ember does. With ``disable=True`` the argument comes back unchanged. Used
    bare or with arguments as a decorator.

    Example::

        >>> model = ember.compile(model)          # an OptimizedModule
        >>> loss = model(x).sum(); loss.backward()
        >>> print(model.code)                     # the recorded programs
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic,
                                 backend=backend, mode=mode, options=options, disable=disable)
    _check_mode(mode, options)
    if disable or getattr(model, "_ember_compile_disabled", False):
        return model
    if isinstance(model, Module):
        return OptimizedModule(model, fullgraph, mode)
    if not callable(model):
        raise RuntimeError(f"ember.compile: expected a Module or a callable, got "
                           f"{type(model).__name__}")
    if _is_optimizer_step(model):
        return model  # the fused update is already one pass over the parameters
    compiled = CompiledFunction(model, fullgraph, modules_of(model), mode)
    return functools.wraps(model)(compiled) if hasattr(model, "__name__") else compiled


Module._compiler = compile  # what ``Module.compile()`` compiles its forward with

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def _check_mode(mode, options) -> None:
    """PyTorch's errors for an unknown ``mode``, and for ``mode`` with ``options``."""
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")


def _is_optimizer_step(function) -> bool:
    owner = getattr(function, "__self__", None)
    return getattr(function, "__name__", "") == "step" and any(
        klass.__name__ == "Optimizer" for klass in type(owner).__mro__)


def is_compiling() -> bool:
    """Whether this thread is recording a compiled call now."""
    return _tape.current() is not None
