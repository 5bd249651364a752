"""The layers of ``ember.nn``, one file per family."""

from ember.nn.modules.activation import *  # noqa: F401,F403
from ember.nn.modules.container import (  # noqa: F401
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from ember.nn.modules.linear import Bilinear, Identity, Linear  # noqa: F401
from ember.nn.modules.loss import *  # noqa: F401,F403
from ember.nn.modules.module import Module  # noqa: F401
