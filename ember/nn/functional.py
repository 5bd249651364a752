"""``ember.nn.functional``: the stateless forms of every layer, activation and loss.

The implementations live in ``ember/nn/_functional/``, one file per family.
"""

from ember.nn._functional.activation import *  # noqa: F401,F403
from ember.nn._functional.attention import *  # noqa: F401,F403
from ember.nn._functional.conv import *  # noqa: F401,F403
from ember.nn._functional.ctc import *  # noqa: F401,F403
from ember.nn._functional.distance import *  # noqa: F401,F403
from ember.nn._functional.dropout import *  # noqa: F401,F403
from ember.nn._functional.fractional_pooling import *  # noqa: F401,F403
from ember.nn._functional.linear import *  # noqa: F401,F403
from ember.nn._functional.loss import *  # noqa: F401,F403
from ember.nn._functional.margin_loss import *  # noqa: F401,F403
from ember.nn._functional.normalization import *  # noqa: F401,F403
from ember.nn._functional.pooling import *  # noqa: F401,F403
from ember.nn._functional.sampling import *  # noqa: F401,F403
from ember.nn._functional.sparse import *  # noqa: F401,F403
from ember.nn._functional.unpooling import *  # noqa: F401,F403
from ember.nn._functional.vision import *  # noqa: F401,F403
