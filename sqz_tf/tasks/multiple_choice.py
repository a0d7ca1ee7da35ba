"""MultipleChoiceTask: pick the right ending (SWAG-format CSV files).

    task = MultipleChoiceTask(model_config=config)
    dev = task.load_split("swag", "dev", tokenizer)
    task.evaluate(dev, predict(model, dev.features))   # {"accuracy": 0.6}

Files in the data directory, by split: train.csv; val.csv or dev.csv;
test.csv (see sqz_tf.data.swag). The loss is cross-entropy over the
choices' scores; the metric is accuracy.
"""

import csv
import os

import numpy as np
import tensorflow as tf

from sqz_tf.data import swag
from sqz_tf.errors import SqzError
from sqz_tf.models.multiple_choice import SqueezeBertMultipleChoice
from sqz_tf.tasks.finetuning_task import FinetuningTask
from sqz_tf.tasks.finetuning_task import Split
from sqz_tf.tasks.finetuning_task import find_split_file
from sqz_tf.tasks.finetuning_task import random_subset
from sqz_tf.utils.files import atomic_output

SPLIT_FILES = {"train": ("train.csv",), "dev": ("val.csv", "dev.csv"),
               "test": ("test.csv",)}


class MultipleChoiceTask(FinetuningTask):
  """Multiple choice over SWAG-format files, scored by accuracy."""

  main_metric = "accuracy"
  saved_model_name = "multiple_choice.keras"
  predictions_dir = "predictions"

  def __init__(self, model_config=None, name="swag"):
    super().__init__(model_config)
    self.name = name

  # Data.

  def load_split(self, data_dir, split, tokenizer, num_examples=None,
                 seed=0):
    path = find_split_file(data_dir, split, SPLIT_FILES, "multiple-choice")
    examples = random_subset(swag.read_swag(path), num_examples, seed)
    if not examples:
      raise SqzError(f"{path}: no examples")
    if split != "test" and examples[0].label is None:
      raise SqzError(f"{path}: no label column (a {split} file needs labels)")
    return Split(split, examples,
                 swag.examples_to_features(examples, tokenizer))

  # Model and training objective.

  def build_model(self):
    return SqueezeBertMultipleChoice(self.model_config)

  def build_metrics(self):
    return {"accuracy": tf.keras.metrics.SparseCategoricalAccuracy(
        "accuracy")}

  def loss_weights(self, features):
    return {"label": tf.ones_like(features["label"], tf.float32)}

  def item_losses(self, features, outputs):
    return {"label": tf.keras.losses.sparse_categorical_crossentropy(
        features["label"], tf.cast(outputs, tf.float32), from_logits=True)}

  def update_metrics(self, metrics, features, outputs):
    metrics["accuracy"].update_state(features["label"], outputs)

  # Scoring and outputs.

  def _choices(self, split, outputs):
    logits = outputs["logits"]
    num_choices = split.features["input_word_ids"].shape[1]
    if logits.shape != (split.num_rows, num_choices):
      raise SqzError(f"the model gives outputs of shape {list(logits.shape)}"
                     f"; {self.name} needs [{split.num_rows}, {num_choices}]")
    return logits.argmax(-1)

  def evaluate(self, split, outputs):
    labels = split.features["label"]
    if (labels < 0).any():
      raise SqzError(f"the {split.name} file has no labels to score against")
    return {"accuracy": float((self._choices(split, outputs) == labels
                               ).mean())}

  def agreement(self, split, outputs, reference_outputs):
    return {"agreement": float((self._choices(split, outputs) ==
                                self._choices(split, reference_outputs)
                                ).mean())}

  def write_predictions(self, split, outputs, output_dir):
    """`<split>.csv`: id, the chosen ending's index and each choice's
    probability."""
    choices = self._choices(split, outputs)
    logits = outputs["logits"]
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    path = os.path.join(output_dir, f"{split.name}.csv")
    with atomic_output(path, overwrite=True) as temporary:
      with open(temporary, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"] + [
            f"probability{i}" for i in range(logits.shape[1])])
        for example, choice, row in zip(split.examples, choices,
                                        probabilities):
          writer.writerow([example.example_id, int(choice)] +
                          [f"{p:.6f}" for p in row])
    return [path]
