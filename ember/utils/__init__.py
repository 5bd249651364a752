"""``ember.utils``: data loading (``ember.utils.data``) and TensorBoard logging."""
