"""``python -m ember.demo``: small end-to-end programs that show ember at work."""
