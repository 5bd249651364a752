"""The checkpoint formats behind ``ember.serialization`` (private).

``atomic`` writes a file whole or not at all; ``safetensors_format`` and ``structure`` are
ember's own format (safetensors with the object's structure as JSON metadata);
``torch_format``, ``torch_pickle``, ``torch_globals`` and ``weights_only`` read and write
the zip archives ``torch.save`` writes, through an unpickler that can only build
allowlisted objects.
"""
