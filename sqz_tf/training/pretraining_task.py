"""PretrainingTask: masked LM + sentence-order prediction, for the Trainer."""

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models.pretrainer import SqueezeBertPretrainer

SENTENCE_TASKS = ("sop", "nsp", "none")


class PretrainingTask:
  """Builds a `SqueezeBertPretrainer` and scores MLM and SOP/NSP.

  Features are the pretraining records' (`masked_lm_ids`, `masked_lm_weights`,
  `next_sentence_labels`, ...). The MLM loss averages over masked tokens, the
  sentence loss over sequences; with `sentence_task="none"` the sentence head
  gets no loss.
  """

  def __init__(self, config: SqueezeBertConfig, sentence_task: str = "sop",
               model_fn=None):
    if sentence_task not in SENTENCE_TASKS:
      raise ValueError(f"sentence_task must be one of {SENTENCE_TASKS}")
    self.config = config
    self.sentence_task = sentence_task
    self._model_fn = model_fn or (lambda: SqueezeBertPretrainer(config))

  def build_model(self):
    return self._model_fn()

  def build_metrics(self):
    metrics = {"mlm_accuracy": tf.keras.metrics.SparseCategoricalAccuracy(
        "mlm_accuracy")}
    if self.sentence_task != "none":
      metrics[f"{self.sentence_task}_accuracy"] = (
          tf.keras.metrics.SparseCategoricalAccuracy(
              f"{self.sentence_task}_accuracy"))
    return metrics

  def loss_weights(self, features):
    weights = {"mlm": features["masked_lm_weights"]}
    if self.sentence_task != "none":
      weights["sentence"] = tf.ones_like(_labels(features), tf.float32)
    return weights

  def item_losses(self, features, outputs):
    losses = {"mlm": tf.keras.losses.sparse_categorical_crossentropy(
        features["masked_lm_ids"], outputs["mlm_logits"], from_logits=True)}
    if self.sentence_task != "none":
      losses["sentence"] = tf.keras.losses.sparse_categorical_crossentropy(
          _labels(features), outputs["sop_logits"], from_logits=True)
    return losses

  def update_metrics(self, metrics, features, outputs):
    metrics["mlm_accuracy"].update_state(
        features["masked_lm_ids"], outputs["mlm_logits"],
        sample_weight=features["masked_lm_weights"])
    if self.sentence_task != "none":
      metrics[f"{self.sentence_task}_accuracy"].update_state(
          _labels(features), outputs["sop_logits"])


def _labels(features):
  return tf.reshape(features["next_sentence_labels"], [-1])


def unigram_baseline_accuracy(dataset) -> float:
  """MLM accuracy of always guessing the most frequent masked token.

  The bar a pretrained model must clear: it knows nothing but the token
  frequencies of the masked positions of `dataset`.
  """
  counts = {}
  for features in dataset:
    ids = features["masked_lm_ids"].numpy().ravel()
    weights = features["masked_lm_weights"].numpy().ravel()
    for token, weight in zip(ids[weights > 0], weights[weights > 0]):
      counts[token] = counts.get(token, 0.0) + weight
  total = sum(counts.values())
  return float(max(counts.values()) / total) if total else 0.0
