"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, ``rnn`` helpers,
``prune``, and parametrizations (``parametrize``, ``parametrizations``, the legacy
``weight_norm`` and ``spectral_norm`` hooks)."""

from ember.nn.utils import prune, rnn, stateless  # noqa: F401
from ember.nn.utils.clip_grad import *  # noqa: F401,F403
from ember.nn.utils.convert_parameters import *  # noqa: F401,F403


def _install_parametrizations() -> None:
    """Add ``parametrize``, ``parametrizations`` and the ``weight_norm``/``spectral_norm``
    functions to this namespace; ``ember.nn`` calls it once its layers exist.

    They build on ``nn.modules``, whose ``rnn`` imports ``nn.utils.rnn``, so they cannot
    load with this package. Binding the functions here, after their files are imported,
    also makes ``nn.utils.weight_norm`` the function rather than its file, as in PyTorch."""
    from ember.nn.utils import parametrizations, parametrize
    from ember.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm
    from ember.nn.utils.weight_norm import remove_weight_norm, weight_norm

    globals().update(
        parametrizations=parametrizations, parametrize=parametrize,
        spectral_norm=spectral_norm, remove_spectral_norm=remove_spectral_norm,
        weight_norm=weight_norm, remove_weight_norm=remove_weight_norm,
    )
