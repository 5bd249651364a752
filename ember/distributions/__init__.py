"""``ember.distributions``: PyTorch's ``torch.distributions``, the probability distributions
that reinforcement learning and variational models are written with.

Each distribution has PyTorch's parameters, shapes (``batch_shape``, ``event_shape``),
``sample``/``rsample`` (reparameterized: gradients reach the parameters), ``log_prob``,
``entropy``, moments, ``expand`` and argument validation; ``kl_divergence`` dispatches
on the pair of types to the formulas registered with ``register_kl``. Samples come from
ember's generator (``ember.manual_seed``), so their values differ from PyTorch's while
their distribution is the same.

Example (REINFORCE)::

    >>> policy = Categorical(logits=model(state))
    >>> action = policy.sample()
    >>> loss = -policy.log_prob(action) * reward
"""

from ember.distributions import constraints, kl, transforms, utils
from ember.distributions.bernoulli import Bernoulli
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.exponential import Exponential
from ember.distributions.independent import Independent
from ember.distributions.kl import kl_divergence, register_kl
from ember.distributions.laplace import Laplace
from ember.distributions.log_normal import LogNormal
from ember.distributions.multivariate_normal import MultivariateNormal
from ember.distributions.normal import Normal
from ember.distributions.one_hot_categorical import (
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
)
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    IndependentTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from ember.distributions.uniform import Uniform

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Categorical",
    "ComposeTransform",
    "Distribution",
    "Exponential",
    "ExponentialFamily",
    "ExpTransform",
    "Independent",
    "IndependentTransform",
    "Laplace",
    "LogNormal",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "PowerTransform",
    "SigmoidTransform",
    "SoftplusTransform",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "identity_transform",
    "kl_divergence",
    "register_kl",
]
