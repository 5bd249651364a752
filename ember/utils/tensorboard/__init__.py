"""``ember.utils.tensorboard.SummaryWriter``: TensorBoard event files, as PyTorch writes them.

The writing is tensorboardX's (install the extra: ``pip install 'ember[tensorboard]'``);
this class converts ember tensors to plain numbers and arrays on the way in.
"""

from __future__ import annotations

import sys

from ember._tensor import Tensor

# tensorboardX imports torch at import time when it is installed, only to recognise torch
# tensors; ember hands it NumPy arrays, so keep torch (seconds of import time) out.
_block_torch = "torch" not in sys.modules
if _block_torch:
    sys.modules["torch"] = None
try:
    from tensorboardX import SummaryWriter as _Writer
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "ember.utils.tensorboard needs tensorboardX: pip install 'ember[tensorboard]'"
    ) from error
finally:
    if _block_torch:
        del sys.modules["torch"]

__all__ = ["SummaryWriter"]


def _plain(value):
    """An ember tensor as a Python number (one element) or a NumPy array; others unchanged."""
    if isinstance(value, Tensor):
        array = value.detach()._data
        return array.item() if array.size == 1 and array.ndim == 0 else array
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


class SummaryWriter(_Writer):
    """Write scalars, histograms, text and hyperparameters for TensorBoard.

    Args:
        log_dir: the folder for the event files (default ``runs/<date>_<host><comment>``).
        comment, purge_step, max_queue, flush_secs, filename_suffix: as in PyTorch.

    Example::

        >>> writer = SummaryWriter("runs/nand")
        >>> writer.add_scalar("loss", loss, epoch)
        >>> writer.close()
    """

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = ""):
        super().__init__(log_dir, comment, purge_step, max_queue, flush_secs, filename_suffix)
        self.log_dir = self.logdir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        # new_style and double_precision choose PyTorch's proto layout; tensorboardX
        # writes the classic simple-value scalar, which TensorBoard reads the same way.
        return super().add_scalar(tag, _plain(scalar_value), _plain(global_step), walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        return super().add_scalars(main_tag, _plain(tag_scalar_dict), _plain(global_step), walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        return super().add_histogram(tag, _plain(values), _plain(global_step), bins, walltime,
                                     max_bins)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        return super().add_text(tag, text_string, _plain(global_step), walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        return super().add_hparams(_plain(hparam_dict), _plain(metric_dict), name=run_name,
                                   global_step=_plain(global_step))

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        return super().add_image(tag, _plain(img_tensor), _plain(global_step), walltime,
                                 dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        return super().add_figure(tag, figure, _plain(global_step), close, walltime)
