"""Analyses of recorded data: one module per analysis; ``*_file`` modules hold the pure
per-file ``process(path, options)`` functions the single commands and ``nirpoct batch`` share."""
