"""Errors that reach the user as one line and exit code 2."""


class UserError(Exception):
    """Bad input from the user (config, env id, run directory, ...): shown as one line, exit 2."""


class NonFiniteLossError(UserError):
    """A loss became NaN or infinite; training stops and keeps the last good checkpoint."""
