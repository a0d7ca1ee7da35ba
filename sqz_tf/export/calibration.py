"""Inputs for TFLite export: real task text for calibration, random checks.

  inputs = representative_inputs("glue/SST-2", seq_length=128,
                                 num_examples=200, task="sst2",
                                 vocab_file="vocab.txt")
  tflite.convert(classifier, "int8_mixed", 128, representative_inputs=inputs)

Calibration sets activation ranges, so it must see text like what the model
will see: rows drawn at random (fixed seed) from a task's train split,
featurized as finetuning does (`FinetuningTask.load_split`), or read from
classification TFRecords.
"""

import os

import numpy as np

from sqz_tf import tasks
from sqz_tf.data import classification_pipeline
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.errors import SqzError
from sqz_tf.models.encoder import ENCODER_INPUTS


def sample_inputs(config, batch_size, seq_length, seed=0):
  """Random token ids with a padded tail, for the Keras/TFLite comparison."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(1, config.vocab_size, (batch_size, seq_length))
  mask = np.ones((batch_size, seq_length), np.int32)
  mask[:, seq_length * 3 // 4:] = 0
  return {"input_word_ids": (ids * mask).astype(np.int32),
          "input_mask": mask,
          "input_type_ids": np.zeros((batch_size, seq_length), np.int32)}


def load_task_split(data_dir, task, vocab_file, seq_length, split,
                    num_examples=None, seed=0, model=None, tokenizer=None):
  """A task's split featurized at `seq_length` (maybe a random subset).

  `tokenizer` (anything with `encode` and `seq_length`, e.g. the MediaPipe
  emulation) replaces the `BertTokenizerLayer` of `vocab_file`.
  """
  if not task or not (vocab_file or tokenizer):
    raise SqzError("reading a task directory needs --task and --vocab_file")
  task = tasks.get_task(task, model) if isinstance(task, str) else task
  if tokenizer is None:
    tokenizer = BertTokenizerLayer.from_vocab_file(vocab_file,
                                                   seq_length=seq_length)
  return task.load_split(data_dir, split, tokenizer, num_examples, seed)


def _record_features(file_pattern, seq_length, num_examples):
  dataset = classification_pipeline.classification_dataset(
      file_pattern, seq_length, global_batch_size=1, as_supervised=False)
  rows = [{name: batch[name].numpy()[0] for name in ENCODER_INPUTS}
          for batch in dataset.take(num_examples)]
  return {name: np.array([row[name] for row in rows], np.int32).reshape(
      len(rows), seq_length) for name in ENCODER_INPUTS}


def representative_inputs(source, seq_length, num_examples, task=None,
                          vocab_file=None, batch_size=1, seed=0, model=None):
  """Calibration batches from a task's data directory or classification records.

  Returns a list of input dicts, each `[batch_size, seq_length]` int32.
  """
  if num_examples < 1:
    raise SqzError("--num_calibration_examples must be at least 1")
  if os.path.isdir(source):
    features = load_task_split(source, task, vocab_file, seq_length, "train",
                               num_examples, seed, model).features
  else:
    features = _record_features(source, seq_length, num_examples)
  rows = min(len(features["input_word_ids"]), num_examples)
  rows = rows // batch_size * batch_size
  if not rows:
    raise SqzError(f"the representative data {source} gave no complete batch "
                   f"of {batch_size}")
  return [{name: np.asarray(features[name][start:start + batch_size],
                            np.int32) for name in ENCODER_INPUTS}
          for start in range(0, rows, batch_size)]
