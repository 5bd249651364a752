"""Private implementation files of ``ember.nn.functional``, one per family."""
