"""Exceptions the library raises for bad input; the CLI prints them as one line."""


class Action2VecError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""


class ConfigError(Action2VecError):
    """A configuration file or override is wrong (names the key)."""


class DataError(Action2VecError):
    """A data file (store, annotations, vectors, video) is missing or malformed."""
