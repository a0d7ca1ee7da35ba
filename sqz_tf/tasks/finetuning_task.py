"""FinetuningTask: what a downstream task family brings to the shared plumbing.

A family (GLUE sentence prediction, tagging, multiple choice, question
answering) says how its files become features, which model it trains and
with what loss, how predictions are scored and written. Everything else is
shared: `training.finetuning.run` (flags, strategy, initialization, epochs,
best model, results, resume), TFLite calibration (`export.calibration`) and
TFLite evaluation (`export.tflite_evaluation`) call the same methods.

    task = SentencePredictionTask("rte", model_config=config)
    dev = task.load_split("glue/RTE", "dev", tokenizer)
    outputs = predict(model, dev.features)         # {"logits": numpy}
    task.evaluate(dev, outputs)                     # {"accuracy": 0.71}

The task is also the `Trainer`'s task (`build_model`, `build_metrics`,
`loss_weights`, `item_losses`, `update_metrics`).
"""

import dataclasses
import os
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.training import initialization



def find_split_file(data_dir, split, split_files, family):
  """The first of `split_files[split]` (file names) present in `data_dir`."""
  names = split_files.get(split)
  if names is None:
    raise SqzError(f"no {split!r} split in {family} data; splits: "
                   f"{', '.join(split_files)}")
  for name in names:
    path = os.path.join(data_dir or "", name)
    if os.path.isfile(path):
      return path
  raise SqzError(f"no {split} file in {data_dir} (looked for "
                 f"{', '.join(names)})")

@dataclasses.dataclass
class Split:
  """One split of a task's data, read and featurized.

  `features` are numpy arrays with one row per model input (the model's
  inputs and the training targets; a long text may give several rows).
  `examples` are the task's own records, which predictions are mapped back
  to; `extras` is whatever else the family needs for that (e.g. token
  offsets).
  """
  name: str
  examples: list
  features: dict
  extras: Any = None

  @property
  def num_rows(self):
    return len(next(iter(self.features.values())))


class FinetuningTask:
  """Base of the task families; subclasses fill in the abstract methods."""

  name = "task"  # how logs, results and errors name it
  main_metric = "accuracy"  # what picks the best epoch (higher is better)
  saved_model_name = "model.keras"  # the best epoch's model in model_dir
  predictions_dir = "predictions"  # where --do_predict writes, in model_dir

  def __init__(self, model_config=None):
    self.model_config = model_config

  # Data.

  def eval_splits(self):
    return ("dev",)

  def predict_splits(self):
    return ("test",)

  def load_split(self, data_dir, split, tokenizer, num_examples=None,
                 seed=0) -> Split:
    """Reads and featurizes `split`; `num_examples` draws a random subset."""
    raise NotImplementedError

  def prepare_training(self, split: Split) -> None:
    """Adds training-only targets to the train split (e.g. teacher logits)."""

  # Model and training objective (the Trainer's task).

  def build_model(self) -> tf.keras.Model:
    raise NotImplementedError

  def initialize(self, model, source):
    """Fills `model` from a loaded model or a checkpoint path.

    The same architecture with the same head shapes gives every weight;
    anything else with an encoder (pretrainer, encoder, a model with another
    head) gives the encoder and the head stays new.
    """
    initialization.initialize_encoder_or_all(model, source)

  def build_metrics(self) -> dict:
    raise NotImplementedError

  def loss_weights(self, features) -> dict:
    raise NotImplementedError

  def item_losses(self, features, outputs) -> dict:
    raise NotImplementedError

  def update_metrics(self, metrics, features, outputs) -> None:
    raise NotImplementedError

  # Scoring and outputs.

  def evaluate(self, split: Split, outputs) -> dict:
    """Metrics of `outputs` (`predict`'s dict for the split's rows)."""
    raise NotImplementedError

  def agreement(self, split: Split, outputs, reference_outputs) -> dict:
    """How closely two models' outputs agree (a TFLite file vs Keras)."""
    raise NotImplementedError

  def write_predictions(self, split: Split, outputs,
                        output_dir) -> list:
    """Writes the split's predictions under `output_dir`; returns paths."""
    raise SqzError(f"{self.name} writes no prediction files")


def model_outputs(outputs) -> dict:
  """A model's outputs as a dict; a single tensor is named `logits`."""
  return outputs if isinstance(outputs, dict) else {"logits": outputs}


def predict(model, features, batch_size=64) -> dict:
  """Every output of `model` for every row of `features`, as numpy float32."""
  inputs = {name: features[name] for name in model.input_names}
  dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)
  # Any batch size: the last, smaller batch does not trace the model again.
  signature = {name: tf.TensorSpec([None, *np.shape(value)[1:]],
                                   tf.as_dtype(np.asarray(value).dtype))
               for name, value in inputs.items()}
  step = tf.function(lambda batch: model_outputs(model(batch,
                                                       training=False)),
                     input_signature=[signature])
  parts = [step(batch) for batch in dataset]
  if not parts:
    raise SqzError("nothing to predict: no rows")
  return {name: np.concatenate([np.asarray(part[name], np.float32)
                                for part in parts])
          for name in parts[0]}


def random_subset(items, num_examples: Optional[int], seed=0):
  """`num_examples` of `items` drawn without replacement, in their order."""
  if num_examples is None or len(items) <= num_examples:
    return items
  chosen = np.random.default_rng(seed).choice(len(items), num_examples,
                                              replace=False)
  return [items[i] for i in sorted(chosen)]
