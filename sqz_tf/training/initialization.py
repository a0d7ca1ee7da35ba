"""Initializing a model from an earlier run: checkpoint, directory or file."""

import os

from absl import logging
import tensorflow as tf

from sqz_tf.errors import SqzError


def _checkpoint_prefix(path):
  if os.path.isdir(path):
    for directory in (os.path.join(path, "checkpoints"), path):
      latest = tf.train.latest_checkpoint(directory)
      if latest:
        return latest
    raise SqzError(f"no checkpoint in {path}")
  if tf.io.gfile.glob(path + ".index"):
    return path
  raise SqzError(f"init checkpoint not found: {path}")


def _copy_weights(source, target, what):
  pairs = list(zip(source.weights, target.weights))
  if len(source.weights) != len(target.weights):
    raise SqzError(f"{what} has {len(source.weights)} weights, the model "
                   f"{len(target.weights)}")
  for from_weight, to_weight in pairs:
    if from_weight.shape != to_weight.shape:
      raise SqzError(f"{what}: {from_weight.name} has shape "
                     f"{from_weight.shape.as_list()}, the model needs "
                     f"{to_weight.shape.as_list()} for {to_weight.name}")
  for from_weight, to_weight in pairs:
    to_weight.assign(from_weight)


def initialize_from(model, path):
  """Loads the weights of `path` into `model` (same architecture).

  `path` may be a `.keras` file or SavedModel directory that
  `tf.keras.models.load_model` opens, a tf.train checkpoint prefix, or a
  model directory of an earlier run (its latest checkpoint). Every weight of
  `model` must be filled with one of the same shape.
  """
  if path.endswith(".keras") or os.path.isfile(
      os.path.join(path, "saved_model.pb")):
    if not os.path.exists(path):
      raise SqzError(f"init model not found: {path}")
    try:
      source = tf.keras.models.load_model(path, compile=False)
    except (OSError, ValueError, TypeError) as e:
      raise SqzError(f"cannot load {path}: {str(e).splitlines()[0]}") from None
    _copy_weights(source, model, path)
    return
  prefix = _checkpoint_prefix(path)
  try:
    status = tf.train.Checkpoint(model=model).read(prefix)
    status.expect_partial()  # optimizer slots of the earlier run stay unused
    # Every weight of `model` must come from the checkpoint.
    status.assert_existing_objects_matched()
  except (ValueError, AssertionError, tf.errors.OpError) as e:
    raise SqzError(f"cannot initialize from {prefix}: "
                   f"{str(e).splitlines()[0]}") from None


def initialize_unless_resuming(trainer, path):
  """Fills `trainer.model` from `path` unless its model_dir has a checkpoint.

  Done before training starts, so a bad `path` fails before anything in the
  model directory is written.
  """
  if not path:
    return
  if trainer.has_checkpoint():
    logging.info("Resuming from %s; --init_checkpoint is not used",
                 trainer.checkpoint_dir)
    return
  initialize_from(trainer.model, path)
  logging.info("Initialized the model from %s", path)
