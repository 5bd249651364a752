"""``ember.nn``: modules, layers, losses, ``functional`` and ``init``."""

from ember.nn import functional, init, parallel, utils  # noqa: F401
from ember.nn.modules import *  # noqa: F401,F403
from ember.nn.modules import Module  # noqa: F401
from ember.nn.parameter import (  # noqa: F401
    Buffer,
    Parameter,
    UninitializedBuffer,
    UninitializedParameter,
)

utils._install_parametrizations()  # they build on the layers imported above
