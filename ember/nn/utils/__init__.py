"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, and ``rnn`` helpers."""

from ember.nn.utils import rnn  # noqa: F401
from ember.nn.utils.clip_grad import *  # noqa: F401,F403
from ember.nn.utils.convert_parameters import *  # noqa: F401,F403
