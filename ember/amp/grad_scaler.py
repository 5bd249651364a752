"""``GradScaler``: dynamic loss scaling, so that small gradients survive a narrow dtype.

Each step multiplies the loss by the scale before ``backward``; ``step`` divides the
gradients by it again, checks them for inf/NaN, and skips ``optimizer.step()`` when it
finds any; ``update`` halves the scale after a skipped step and doubles it after
``growth_interval`` clean ones. ``GradScaler("cuda")`` (the default device, as in
PyTorch) keeps its scale on the GPU, checks the gradients there and reads one flag per
device into Python per step; without CUDA it warns and disables itself.
"""

from __future__ import annotations

import enum
import warnings
from collections import abc, defaultdict

from ember._backend import cuda_library
from ember._dtype import float16, float32, float64, int32
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.ops.creation import full

__all__ = ["GradScaler", "OptState"]


class OptState(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    """Scale the loss, unscale and check the gradients, and adapt the scale.

    Args:
        device: ``"cuda"`` (PyTorch's default; disabled with a warning without CUDA) or
            ``"cpu"``: where the scale lives.
        init_scale: the first scale.
        growth_factor: the scale's factor after ``growth_interval`` clean steps (> 1).
        backoff_factor: the scale's factor after a step with inf/NaN gradients (< 1).
        growth_interval: the number of clean steps between growths.
        enabled: False makes every method a pass-through (``scale`` returns its input,
            ``step`` calls ``optimizer.step()``, ``update`` does nothing).

    Example::

        scaler = ember.amp.GradScaler("cpu")
        for input, target in data:
            optimizer.zero_grad()
            with ember.autocast("cpu", dtype=ember.float16):
                loss = loss_fn(model(input), target)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = enabled
        if self._device == "cuda" and enabled and cuda_library() is None:
            warnings.warn(
                "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                stacklevel=2,
            )
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None  # made at the first ``scale()``
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname: str) -> tuple:
        fix = (
            "This may indicate your script did not use scaler.scale(loss or outputs) "
            "earlier in the iteration."
        )
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self) -> None:
        self._scale = full((), self._init_scale, dtype=float32, device=self._device)
        self._growth_tracker = full((), self._init_growth_tracker, dtype=int32,
                                    device=self._device)
        self._clean_steps = self._init_growth_tracker  # the tracker's value, read without a sync

    def scale(self, outputs):
        """``outputs`` (a tensor or nested lists/tuples of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker()
            return outputs * self._scale
        if self._scale is None:
            self._lazy_init_scale_growth_tracker()

        def apply_scale(value):
            if isinstance(value, Tensor):
                return value * self._scale
            if isinstance(value, abc.Iterable):
                scaled = map(apply_scale, value)
                return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(
        self, optimizer, inv_scale: Tensor, found_inf: Tensor, allow_fp16: bool
    ) -> dict:
        """Multiply the gradients by ``inv_scale``; return, per device of the gradients, a
        0-d float32 tensor there that is 1.0 if one of them held an inf or NaN.

        The checks stay on each gradient's device: no value is read into Python here.
        """
        found, inv_scales = {}, {}
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    if not allow_fp16 and param.grad.dtype is float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    grad = param.grad
                    if grad.is_sparse:
                        grad = grad._values()
                    where = grad.device
                    if where not in found:  # PyTorch's _MultiDeviceReplicator
                        found[where] = found_inf if found_inf.device == where else full(
                            (), 0.0, dtype=float32, device=where)
                        inv_scales[where] = inv_scale.to(where)
                    found[where].add_(grad.isfinite().all().logical_not().to(float32))
                    factor = inv_scales[where]
                    grad.mul_(factor.to(grad.dtype) if grad.dtype is not float32 else factor)
        return {str(where): flag.clamp_(max=1.0) for where, flag in found.items()}

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and check them for inf/NaN.

        Optional: ``step`` does it when it was not done; call it to clip unscaled gradients.
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # The reciprocal in float64, as PyTorch takes it, then rounded to float32.
        inv_scale = self._scale.to(float64).reciprocal().to(float32)
        found_inf = full((), 0.0, dtype=float32, device=self._scale.device)
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(
            optimizer, inv_scale, found_inf, False
        )
        optimizer_state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless done), then ``optimizer.step(*args, **kwargs)`` if no grad is inf/NaN.

        Returns what ``optimizer.step`` returned, or None when the step was skipped.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        # The one read of the step: a sync on a GPU, as PyTorch's .item() here.
        found = sum(value.item() for value in optimizer_state["found_inf_per_device"].values())
        optimizer_state["found_inf"] = found
        if not found:
            retval = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Back the scale off after a skipped step, grow it after ``growth_interval`` clean ones.

        ``new_scale`` (a float or a one-element tensor) sets the scale instead.
        """
        if not self._enabled:
            return
        scale, growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            self._set_scale(new_scale)
        else:
            found_infs = [
                found_inf
                for state in self._per_optimizer_states.values()
                for found_inf in state["found_inf_per_device"].values()
            ]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            states = self._per_optimizer_states.values()
            if all("found_inf" in state for state in states):  # step() read them already
                found = sum(state["found_inf"] for state in states)
            else:
                found = sum(value.item() for value in found_infs)
            self._update_scale(scale, growth_tracker, found)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _set_scale(self, new_scale) -> None:
        if isinstance(new_scale, float):
            self._scale.fill_(new_scale)
            return
        reason = (
            "new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
            "torch.FloatTensor with requires_grad=False."
        )
        if not isinstance(new_scale, Tensor) or new_scale.device.type != self._device:
            raise AssertionError(reason)
        if new_scale.numel() != 1 or new_scale.requires_grad:
            raise AssertionError(reason)
        self._scale.copy_(new_scale.reshape(()))

    def _update_scale(self, scale: Tensor, growth_tracker: Tensor, found_inf: float) -> None:
        """PyTorch's ``_amp_update_scale_``: the new scale and count of clean steps, in place."""
        if found_inf:
            scale.mul_(self._backoff_factor)
            growth_tracker.fill_(0)
            self._clean_steps = 0
            return
        successful = self._clean_steps + 1
        if successful == self._growth_interval:
            grown = scale * self._growth_factor
            if bool(grown.isfinite()):  # a sync once per growth_interval steps
                scale.copy_(grown)
            successful = 0
        growth_tracker.fill_(successful)
        self._clean_steps = successful

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if self._enabled:
            return self._init_scale if self._scale is None else self._scale.item()
        return 1.0

    def get_growth_factor(self) -> float:
        """The scale's growth factor."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the scale's growth factor."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The scale's backoff factor."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the scale's backoff factor."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """The number of clean steps between growths."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the number of clean steps between growths."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            if self._growth_tracker is None:
                return self._init_growth_tracker
            return self._growth_tracker.item()
        return 0

    def is_enabled(self) -> bool:
        """Whether this scaler scales (False after a disabling ``"cuda"`` without CUDA)."""
        return self._enabled

    def state_dict(self) -> dict:
        """The scale, the factors, the interval and ``_growth_tracker``; ``{}`` when disabled."""
        if self._enabled:
            return {
                "scale": self.get_scale(),
                "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker(),
            }
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned; a no-op when disabled."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler."
            )
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])
            self._clean_steps = state_dict["_growth_tracker"]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError(
                    "A GradScaler instance may only be pickled at the beginning "
                    "of an iteration, or at the end after scaler.update()."
                )
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
            state["_per_optimizer_states"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._enabled:
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)
