"""``ember.backends.mkl``: Intel MKL, which ember does not link against directly."""


def is_available() -> bool:
    """False: ember's linear algebra goes through NumPy, not a build against MKL."""
    return False
