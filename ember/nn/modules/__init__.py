"""The layers of ``ember.nn``, one file per family."""

# fold, instancenorm, pixelshuffle, upsampling: PyTorch's paths for classes kept elsewhere here.
from ember.nn.modules import fold, instancenorm, pixelshuffle, upsampling  # noqa: F401
from ember.nn.modules.activation import *  # noqa: F401,F403
from ember.nn.modules.adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: F401
from ember.nn.modules.batchnorm import *  # noqa: F401,F403
from ember.nn.modules.channelshuffle import ChannelShuffle  # noqa: F401
from ember.nn.modules.container import (  # noqa: F401
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from ember.nn.modules.conv import *  # noqa: F401,F403
from ember.nn.modules.distance import *  # noqa: F401,F403
from ember.nn.modules.dropout import *  # noqa: F401,F403
from ember.nn.modules.flatten import Flatten, Unflatten  # noqa: F401
from ember.nn.modules.fractional_pooling import *  # noqa: F401,F403
from ember.nn.modules.instancenorm import (  # noqa: F401
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
)
from ember.nn.modules.linear import Bilinear, Identity, LazyLinear, Linear  # noqa: F401
from ember.nn.modules.loss import *  # noqa: F401,F403
from ember.nn.modules.module import Module  # noqa: F401
from ember.nn.modules.normalization import *  # noqa: F401,F403
from ember.nn.modules.padding import *  # noqa: F401,F403
from ember.nn.modules.pooling import *  # noqa: F401,F403
from ember.nn.modules.rnn import *  # noqa: F401,F403
from ember.nn.modules.sparse import *  # noqa: F401,F403
from ember.nn.modules.transformer import *  # noqa: F401,F403
