"""Initializing a model from an earlier run: checkpoint, directory or file."""

import json
import os
import shutil
import tempfile
import zipfile

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
  if (getattr(source, "quantization_aware", False) ==
      getattr(target, "quantization_aware", False)):
    source_weights, target_weights = source.weights, target.weights
  else:
    # Float <-> quantization-aware: the trainable weights correspond one to
    # one; the quantizers' ranges start from data (QAT) or are dropped.
    source_weights = source.trainable_weights
    target_weights = target.trainable_weights
  pairs = list(zip(source_weights, target_weights))
  if len(source_weights) != len(target_weights):
    raise SqzError(f"{what} has {len(source_weights)} weights, the model "
                   f"{len(target_weights)}")
  for from_weight, to_weight in pairs:
    if from_weight.shape != to_weight.shape:
      raise SqzError(f"{what}: {from_weight.name} has shape "
                     f"{from_weight.shape.as_list()}, the model needs "
                     f"{to_weight.shape.as_list()} for {to_weight.name}")
  for from_weight, to_weight in pairs:
    to_weight.assign(from_weight)


def load_model_file(path):
  """`load_model` of a .keras file or SavedModel directory, errors as one line."""
  if not os.path.exists(path):
    raise SqzError(f"model not found: {path}")
  try:
    return (_load_keras_archive(path) if zipfile.is_zipfile(path)
            else tf.keras.models.load_model(path, compile=False))
  except (OSError, ValueError, TypeError, KeyError,
          zipfile.BadZipFile) as e:
    raise SqzError(f"cannot load {path}: {str(e).splitlines()[0]}") from None


_WEIGHTS = "model.weights.h5"


def _load_keras_archive(path):
  """What `load_model(path, compile=False)` returns (safe mode), in seconds.

  tf_keras reads the weights with h5py straight from the zip member, and
  Python 3.11's zip reader serves every backwards seek by reading the member
  again from its start: 30 s for a 200 MB model. The same config,
  deserialized in safe mode, then `load_weights` from the extracted
  `.weights.h5` file reads it once.
  """
  with zipfile.ZipFile(path) as archive:
    if sorted(archive.namelist()) != ["config.json", "metadata.json",
                                      _WEIGHTS]:  # assets etc.: the slow path
      return tf.keras.models.load_model(path, compile=False)
    config = json.loads(archive.read("config.json"))
    config["compile_config"] = None
    with tempfile.TemporaryDirectory() as directory:
      weights = os.path.join(directory, _WEIGHTS)
      with archive.open(_WEIGHTS) as source, open(weights, "wb") as target:
        shutil.copyfileobj(source, target, 1 << 24)
      model = tf.keras.saving.deserialize_keras_object(config, safe_mode=True)
      model.load_weights(weights)
  return model


def is_model_file(path):
  return path.endswith(".keras") or os.path.isfile(
      os.path.join(path, "saved_model.pb"))


def _same_shapes(source, model):
  shapes = lambda m: [tuple(w.shape) for w in m.trainable_weights]
  return type(source) is type(model) and shapes(source) == shapes(model)


def initialize_encoder_or_all(model, source):
  """Fills a finetuning model (encoder + head) from an earlier model or run.

  `source` is a loaded model or a checkpoint path. A model of the same class
  with the same weight shapes (a classifier with the same labels, say) gives
  every weight; any other sqz_tf model (pretrainer, encoder, a model with
  another head, e.g. MNLI for the second stage of the "bells and whistles"
  recipe) gives the encoder, and the head stays freshly initialized. A
  checkpoint (prefix or run directory) gives the encoder too.
  """
  if isinstance(source, str):
    prefix = _checkpoint_prefix(source)
    try:
      status = tf.train.Checkpoint(model=tf.train.Checkpoint(
          encoder=model.encoder)).read(prefix)
      status.expect_partial()
      status.assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as e:
      raise SqzError(f"cannot initialize the encoder from {prefix}: "
                     f"{str(e).splitlines()[0]}") from None
    logging.info("Initialized the encoder from %s; new head", prefix)
    return
  if _same_shapes(source, model):
    _copy_weights(source, model, source.name)
    logging.info("Initialized the whole %s from %s", type(model).__name__,
                 source.name)
    return
  encoder = source if hasattr(source, "transformer_blocks") else getattr(
      source, "encoder", None)
  if encoder is None:
    raise SqzError(f"{type(source).__name__} is not an sqz_tf SqueezeBERT "
                   "model")
  _copy_weights(encoder, model.encoder, source.name)
  logging.info("Initialized the encoder from %s; new head", source.name)


def initialize_from(model, path):
  """Loads the weights of `path` into `model` (same architecture).

  `path` may be a `.keras` file or SavedModel directory that
  `tf.keras.models.load_model` opens, a tf.train checkpoint prefix, or a
  model directory of an earlier run (its latest checkpoint). Every weight of
  `model` must be filled with one of the same shape.
  """
  if is_model_file(path):
    _copy_weights(load_model_file(path), model, path)
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
