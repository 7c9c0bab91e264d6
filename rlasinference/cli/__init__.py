"""The ``rlai`` command line."""
