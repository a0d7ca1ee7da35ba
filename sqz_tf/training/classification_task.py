"""ClassificationTask: GLUE-style finetuning, optionally distilled.

Hard-label loss is cross-entropy (classification) or squared error
(regression, `num_labels=1`). With teacher logits in the features
(`teacher_logits`), the loss becomes

  classification: α·CE(labels, s) + (1-α)·T²·KL(softmax(t/T) ‖ softmax(s/T))
  regression:     α·(s - label)² + (1-α)·(s - t)²

for student logits s and teacher logits t (Hinton et al. 2015; the T² keeps
the soft-target gradients on the scale of the hard ones).
"""

import dataclasses

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models.classifier import SqueezeBertClassifier


@dataclasses.dataclass(frozen=True)
class Distillation:
  alpha: float = 0.5  # weight of the hard-label loss
  temperature: float = 1.0

  def __post_init__(self):
    if not 0.0 <= self.alpha <= 1.0:
      raise ValueError(f"distill_alpha must be in [0, 1], got {self.alpha}")
    if self.temperature <= 0:
      raise ValueError("distill_temperature must be positive")


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


class ClassificationTask:
  """Builds a `SqueezeBertClassifier`; scores labels (and a teacher)."""

  def __init__(self, config: SqueezeBertConfig, num_labels: int,
               id2label=None, distillation: Distillation = None,
               model_fn=None, quantization_aware=False):
    self.config = config
    self.num_labels = num_labels
    self.regression = num_labels == 1
    self.distillation = distillation
    self._model_fn = model_fn or (lambda: SqueezeBertClassifier(
        config, num_labels, id2label=id2label,
        quantization_aware=quantization_aware))

  def build_model(self):
    return self._model_fn()

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
