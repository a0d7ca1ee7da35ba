"""SentencePredictionTask: GLUE classification and regression, maybe distilled.

Hard-label loss is cross-entropy (classification) or squared error
(regression, `num_labels=1`). With teacher logits in the features
(`teacher_logits`), the loss becomes

  classification: α·CE(labels, s) + (1-α)·T²·KL(softmax(t/T) ‖ softmax(s/T))
  regression:     α·(s - label)² + (1-α)·(s - t)²

for student logits s and teacher logits t (Hinton et al. 2015; the T² keeps
the soft-target gradients on the scale of the hard ones).

    task = SentencePredictionTask("rte", model_config=config)
    dev = task.load_split("glue/RTE", "dev", tokenizer)
    task.evaluate(dev, predict(classifier, dev.features))
"""

import dataclasses
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from sqz_tf.data import classification_pipeline
from sqz_tf.data import glue
from sqz_tf.data import glue_metrics
from sqz_tf.errors import SqzError
from sqz_tf.models.classifier import SqueezeBertClassifier
from sqz_tf.tasks.finetuning_task import FinetuningTask
from sqz_tf.tasks.finetuning_task import Split
from sqz_tf.tasks.finetuning_task import predict
from sqz_tf.tasks.finetuning_task import random_subset
from sqz_tf.training.initialization import load_model_file

# Dev and test splits, with the submission file each test split goes to.
_EVAL_SPLITS = {"MNLI": ("dev_matched", "dev_mismatched")}
_TEST_SPLITS = {"MNLI": {"test_matched": "MNLI-m.tsv",
                         "test_mismatched": "MNLI-mm.tsv"}}


@dataclasses.dataclass(frozen=True)
class Distillation:
  alpha: float = 0.5  # weight of the hard-label loss
  temperature: float = 1.0
  teacher_model: Optional[str] = None  # a Keras classifier over the labels
  teacher_logits: Optional[str] = None  # or its logits, one row per example

  def __post_init__(self):
    if not 0.0 <= self.alpha <= 1.0:
      raise ValueError(f"distill_alpha must be in [0, 1], got {self.alpha}")
    if self.temperature <= 0:
      raise ValueError("distill_temperature must be positive")
    if self.teacher_model and self.teacher_logits:
      raise ValueError("give --teacher_model or --teacher_logits, not both")


def distillation_loss(labels, logits, teacher_logits, regression,
                      distillation: Distillation):
  """Per-example loss: α·hard + (1-α)·soft (see module docstring)."""
  logits = tf.cast(logits, tf.float32)
  if regression:
    hard = tf.square(logits[:, 0] - tf.cast(labels, tf.float32))
    if teacher_logits is None:
      return hard
    soft = tf.square(logits[:, 0] - tf.cast(teacher_logits[:, 0], tf.float32))
  else:
    hard = tf.keras.losses.sparse_categorical_crossentropy(
        labels, logits, from_logits=True)
    if teacher_logits is None:
      return hard
    t = distillation.temperature
    teacher = tf.nn.softmax(tf.cast(teacher_logits, tf.float32) / t)
    log_student = tf.nn.log_softmax(logits / t)
    kl = tf.reduce_sum(teacher * (tf.math.log(teacher + 1e-12) - log_student),
                       axis=-1)
    soft = t * t * kl
  return distillation.alpha * hard + (1.0 - distillation.alpha) * soft


class SentencePredictionTask(FinetuningTask):
  """A GLUE task: one label (or score) per sentence or sentence pair."""

  saved_model_name = "classifier.keras"
  predictions_dir = "submission"

  def __init__(self, glue_task, model_config=None,
               distillation: Optional[Distillation] = None,
               quantization_aware=False, eval_batch_size=64):
    super().__init__(model_config)
    self.glue_task = glue.get_task(glue_task) if isinstance(
        glue_task, str) else glue_task
    self.name = self.glue_task.name
    self.main_metric = self.glue_task.main_metric
    self.num_labels = self.glue_task.num_labels
    self.regression = self.glue_task.is_regression
    self.distillation = distillation
    self.quantization_aware = quantization_aware
    self.eval_batch_size = eval_batch_size

  # Data.

  def eval_splits(self):
    return tuple(split for split in _EVAL_SPLITS.get(self.name, ("dev",))
                 if split in self.glue_task.splits)

  def predict_splits(self):
    return tuple(_TEST_SPLITS.get(self.name, {"test": None}))

  def load_split(self, data_dir, split, tokenizer, num_examples=None,
                 seed=0):
    examples = glue.read_examples(self.name, data_dir, split,
                                  strict_labels=True)
    examples = random_subset(examples, num_examples, seed)
    if not examples:
      raise SqzError(f"{self.name} {split}: no examples in {data_dir}")
    return Split(split, examples, classification_pipeline.examples_to_features(
        examples, self.name, tokenizer))

  def prepare_training(self, split):
    if not self.distillation or not (self.distillation.teacher_model or
                                     self.distillation.teacher_logits):
      return
    split.features["teacher_logits"] = self._teacher_logits(split)

  def _teacher_logits(self, split):
    """The teacher's logits for the training rows, checked against the task."""
    if self.distillation.teacher_logits:
      try:
        logits = np.load(self.distillation.teacher_logits, allow_pickle=False)
      except (OSError, ValueError) as e:
        raise SqzError(f"cannot read teacher logits "
                       f"{self.distillation.teacher_logits}: {e}") from None
    else:
      teacher = load_model_file(self.distillation.teacher_model)
      logits = predict(teacher, split.features,
                       self.eval_batch_size)["logits"]
    if logits.ndim != 2 or logits.shape != (split.num_rows, self.num_labels):
      raise SqzError(f"the teacher gives logits of shape {list(logits.shape)}"
                     f"; {self.name} needs [{split.num_rows}, "
                     f"{self.num_labels}] (same label space, one row per "
                     "training example)")
    return logits.astype(np.float32)

  # Model and training objective.

  def build_model(self):
    return SqueezeBertClassifier(self.model_config, self.num_labels,
                                 id2label=dict(enumerate(
                                     self.glue_task.label_names)),
                                 quantization_aware=self.quantization_aware)

  def build_metrics(self):
    if self.regression:
      return {"mse": tf.keras.metrics.MeanSquaredError("mse")}
    return {"accuracy": tf.keras.metrics.SparseCategoricalAccuracy("accuracy")}

  def loss_weights(self, features):
    return {"label": tf.ones_like(features["label"], tf.float32)}

  def item_losses(self, features, outputs):
    teacher = features.get("teacher_logits") if self.distillation else None
    return {"label": distillation_loss(
        features["label"], outputs, teacher, self.regression,
        self.distillation or Distillation(alpha=1.0))}

  def update_metrics(self, metrics, features, outputs):
    if self.regression:
      metrics["mse"].update_state(features["label"], outputs[:, 0])
    else:
      metrics["accuracy"].update_state(features["label"], outputs)

  # Scoring and outputs.

  def _predictions(self, outputs):
    logits = outputs["logits"]
    if logits.shape[-1] != self.num_labels:
      raise SqzError(f"the model has {logits.shape[-1]} outputs, {self.name} "
                     f"needs {self.num_labels}")
    return logits[:, 0] if self.regression else logits.argmax(-1)

  def evaluate(self, split, outputs):
    return glue_metrics.compute_metrics(self.name, self._predictions(outputs),
                                        split.features["label"])

  def agreement(self, split, outputs, reference_outputs):
    ours = self._predictions(outputs)
    theirs = self._predictions(reference_outputs)
    if self.regression:
      return {"mean_abs_difference": float(np.abs(ours - theirs).mean())}
    return {"agreement": float((ours == theirs).mean())}

  def write_predictions(self, split, outputs, output_dir):
    """A GLUE leaderboard file (`index<TAB>prediction`) for a test split."""
    file_name = _TEST_SPLITS.get(self.name, {}).get(split.name,
                                                    f"{self.name}.tsv")
    path = os.path.join(output_dir, file_name)
    glue.write_submission(self.name, split.examples,
                          self._predictions(outputs), path)
    return [path]
