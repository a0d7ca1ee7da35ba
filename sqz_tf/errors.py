"""Errors that the command-line tools report as one line."""


class SqzError(Exception):
  """Base class: bad input from the user, reported without a traceback."""


class ConfigError(SqzError, ValueError):
  """A model configuration that cannot describe a SqueezeBERT model."""


class ConversionError(SqzError):
  """A checkpoint that does not match the model it is converted to."""
