"""``ember.utils``: data loading (``ember.utils.data``) and TensorBoard logging."""

from ember.utils import data  # noqa: E402,F401
