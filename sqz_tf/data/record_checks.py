"""Clear errors for TFRecords that do not match what a pipeline expects.

tf.io.parse_example only says "Can't parse serialized Example" when a
record's lengths differ from the FixedLenFeatures; this reads the first
record of each file in Python first and names the file and the likely cause.
"""

import tensorflow as tf

from sqz_tf.data import vocab as vocab_lib
from sqz_tf.errors import SqzError


class RecordFormatError(SqzError):
  """A TFRecord file whose examples do not have the expected features."""


def expand_record_files(file_patterns):
  """Sorted files of comma-separated globs (or lists); an error if none."""
  return vocab_lib.expand_globs(file_patterns, what="record")


def check_first_record(path, expected_lengths, hints=None):
  """Raises RecordFormatError unless the first record fits.

  `expected_lengths` maps feature names to lengths; `hints` maps a feature
  name to the flag that most likely made its length differ.
  """
  hints = hints or {}
  try:
    first = next(iter(tf.data.TFRecordDataset(path).take(1)), None)
  except tf.errors.OpError as e:
    raise RecordFormatError(f"{path}: not a readable TFRecord file "
                            f"({e.message.splitlines()[0]})") from None
  if first is None:
    return  # An empty shard holds nothing that could fail.
  try:
    example = tf.train.Example.FromString(first.numpy())
  except Exception:  # pylint: disable=broad-except
    raise RecordFormatError(f"{path}: records are not tf.train.Example "
                            "protos") from None
  features = example.features.feature
  for name, length in expected_lengths.items():
    if name not in features:
      raise RecordFormatError(
          f"{path}: records lack the feature {name!r} (they have "
          f"{', '.join(sorted(features))}); are these the right records?")
    feature = features[name]
    found = len(feature.int64_list.value) or len(feature.float_list.value)
    if found != length:
      hint = hints.get(name)
      cause = (f"; they were probably written with {hint}={found}"
               if hint else "")
      raise RecordFormatError(
          f"{path}: records have {name} of length {found}, expected "
          f"{length}{cause}")
