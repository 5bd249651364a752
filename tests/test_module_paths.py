"""Every class and function ember offers is also reachable at PyTorch's module path for it.

Scripts import from PyTorch's files (``from torch.nn.modules.activation import
MultiheadAttention``, ``from torch.optim.lr_scheduler import StepLR``). This walks PyTorch's
``torch.nn.modules.*``, ``torch.nn.functional``, ``torch.optim.*`` and ``torch.utils.data.*``
modules; for each name PyTorch defines in one of them that ember has in its public
namespace, ember must have it at the same path too, and as the same object.

A name counts as defined in a file when its ``__module__`` is that file: the names a
PyTorch file merely imports (``Module`` in ``torch.nn.modules.fold``) are not its own.
"""

from __future__ import annotations

import importlib
import operator
import pkgutil
import types

import torch

import ember

torch.set_num_threads(1)

# PyTorch's packages, each with the ember namespace that holds their public names.
PACKAGES = {"torch.nn.modules": "nn", "torch.optim": "optim", "torch.utils.data": "utils.data"}
SINGLE_MODULES = {"torch.nn.functional": "nn.functional",
                  "torch.optim.lr_scheduler": "optim.lr_scheduler"}


def _pytorch_modules() -> dict:
    """PyTorch's module paths, each with the ember namespace its names are checked against."""
    modules = dict(SINGLE_MODULES)
    for package_name, namespace in PACKAGES.items():
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                modules[f"{package_name}.{info.name}"] = namespace
    return modules


def _names_defined_in(module: types.ModuleType) -> list:
    return [
        name for name in dir(module)
        if not name.startswith("_")
        and not isinstance(getattr(module, name), types.ModuleType)
        and getattr(getattr(module, name), "__module__", None) == module.__name__
    ]


def _missing_at_pytorch_paths() -> list:
    missing = []
    for torch_path, namespace_path in _pytorch_modules().items():
        torch_module = importlib.import_module(torch_path)
        namespace = operator.attrgetter(namespace_path)(ember)
        ember_path = "ember" + torch_path.removeprefix("torch")
        for name in _names_defined_in(torch_module):
            public = getattr(namespace, name, None)
            if public is None or isinstance(public, types.ModuleType):
                continue
            try:
                found = getattr(importlib.import_module(ember_path), name)
            except (ImportError, AttributeError):
                found = None
            if found is not public:
                missing.append(f"{ember_path}.{name}")
    return missing


def test_every_public_name_is_at_pytorchs_path():
    modules = _pytorch_modules()  # the walk must see PyTorch's files for the check to mean anything
    assert "torch.nn.modules.activation" in modules and "torch.optim.lr_scheduler" in modules
    assert "torch.utils.data.dataloader" in modules and "torch.nn.modules.upsampling" in modules
    assert _missing_at_pytorch_paths() == []


def test_script_imports_from_pytorchs_files():
    script = """
import {torch}
from {torch}.nn.modules.activation import MultiheadAttention
from {torch}.nn.modules.linear import Linear, NonDynamicallyQuantizableLinear
from {torch}.nn.modules.instancenorm import InstanceNorm2d
from {torch}.nn.modules.upsampling import Upsample
from {torch}.nn.modules.pixelshuffle import PixelShuffle
from {torch}.nn.modules.fold import Unfold
from {torch}.nn.modules.loss import _Loss
from {torch}.nn.modules.batchnorm import _BatchNorm
from {torch}.optim.lr_scheduler import StepLR, _LRScheduler
from {torch}.utils.data.dataloader import DataLoader
attention = MultiheadAttention(4, 2)
assert type(attention.out_proj) is NonDynamicallyQuantizableLinear
assert isinstance(attention.out_proj, Linear)
assert isinstance(InstanceNorm2d(3), {torch}.nn.InstanceNorm2d)
assert Upsample is {torch}.nn.Upsample and PixelShuffle is {torch}.nn.PixelShuffle
assert Unfold is {torch}.nn.Unfold
assert {torch}.nn.modules.upsampling.UpsamplingNearest2d is {torch}.nn.UpsamplingNearest2d
"""
    for library in ("torch", "ember"):
        exec(script.format(torch=library), {})  # noqa: S102  (the same script on both)


def test_removable_handle_lives_where_pytorch_keeps_it():
    import ember
    from ember.utils.hooks import RemovableHandle

    x = ember.ones(2, requires_grad=True)
    handle = x.register_hook(lambda grad: grad * 2)
    assert isinstance(handle, RemovableHandle)
    handle.remove()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
