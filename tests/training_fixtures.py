"""Synthetic pretraining batches and trainer set-ups for the training tests."""

import numpy as np
import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.data.classification_pipeline import in_memory_dataset_fn
from sqz_tf.training.pretraining_task import PretrainingTask
from sqz_tf.training.trainer import Trainer
from sqz_tf.training.trainer import TrainerOptions


def synthetic_pretraining_examples(config: SqueezeBertConfig, count=32,
                                   seq_length=12, predictions=3, seed=0):
  """Random features shaped like the pretraining records, as numpy arrays."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, config.vocab_size, size=(count, seq_length))
  positions = np.sort(rng.choice(np.arange(1, seq_length), size=(count,
                                                                 predictions)),
                      axis=1)
  weights = np.ones((count, predictions), np.float32)
  weights[::3, -1] = 0.0  # some padding predictions
  return {
      "input_word_ids": ids.astype(np.int32),
      "input_mask": np.ones((count, seq_length), np.int32),
      "input_type_ids": (np.arange(seq_length)[None] >= seq_length // 2
                         ).astype(np.int32).repeat(count, 0),
      "masked_lm_positions": positions.astype(np.int32),
      "masked_lm_ids": np.take_along_axis(ids, positions, 1).astype(np.int32),
      "masked_lm_weights": weights,
      "next_sentence_labels": rng.integers(0, 2, size=(count, 1)).astype(
          np.int32),
  }


def dataset_fn_of(examples, global_batch_size, shuffle_seed=None):
  return in_memory_dataset_fn(examples, global_batch_size, shuffle_seed)


def make_trainer(config, model_dir, optimizer_fn, strategy=None, **options):
  options = dict(dict(num_train_steps=4, global_batch_size=8,
                      save_checkpoints_steps=2, log_steps=1), **options)
  return Trainer(PretrainingTask(config), strategy or tf.distribute.get_strategy(),
                 TrainerOptions(model_dir=str(model_dir), **options),
                 optimizer_fn=optimizer_fn)
