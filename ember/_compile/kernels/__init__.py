"""The fused kernels of ``ember.compile``, one module per family of ops, as the ops' own
(``ember/_compile/fusion.py`` binds them into programs):

- ``activations``: the exact GELU and its backward; ReLU; ReLU's, sigmoid's and tanh's
  backwards;
- ``softmax``: softmax and log-softmax over rows, attention's scale-mask-softmax chain
  (``ember/_compile/chains.py``), and their backwards;
- ``normalization``: layer norm over rows and its backward;
- ``masking``: ``masked_fill`` by a mask shared across leading dims, and its backward;
- ``sparse``: an embedding's gradient;
- ``pooling``: max pooling over 2 × 2 tiles, and any max pooling's gradient;
- ``layout``: the batch dim moved to the end and back for the convolutions' batch-last
  kernels;
- ``clipping``: ``clip_grad_norm_``'s norm of each gradient;
- ``adam``: Adam's and AdamW's update;
- ``sgd``: plain SGD's update (no momentum, no weight decay).
"""

from __future__ import annotations

from ember._compile.kernels.activations import GELU, OUTPUT_GRADS, RELU
from ember._compile.kernels.adam import ADAM
from ember._compile.kernels.clipping import CLIP
from ember._compile.kernels.layout import MOVES
from ember._compile.kernels.masking import MASKED_FILL
from ember._compile.kernels.normalization import LAYER_NORM
from ember._compile.kernels.pooling import MAX_POOL
from ember._compile.kernels.sgd import SGD_UPDATE
from ember._compile.kernels.softmax import LOG_SOFTMAX, SOFTMAX, SOFTMAX_CHAIN
from ember._compile.kernels.sparse import EMBEDDING

FAMILIES = (GELU, RELU, OUTPUT_GRADS, SOFTMAX, LOG_SOFTMAX, SOFTMAX_CHAIN, MASKED_FILL,
            LAYER_NORM, EMBEDDING, MAX_POOL, MOVES, CLIP, ADAM, SGD_UPDATE)
BUILDERS = {family.kind: family.build for family in FAMILIES}  # kind -> build(numba)


def fusable(step, role: str) -> tuple:
    """(kind, bind) for the ``role`` of ``step`` in a program where a family takes it:
    ``bind(kernel)`` is what the program's name for it becomes. (None, None) elsewhere."""
    for family in FAMILIES:
        bind = family.binds(step, role)
        if bind is not None:
            return family.kind, bind
    return None, None
