"""QuestionAnsweringTask: extractive QA on SQuAD v1.1 / v2.0 files.

Rows are `[CLS] question [SEP] context window [SEP]` (`data.squad_features`);
the model gives start and end logits per token; the loss is the mean of the
start and end cross-entropies over positions (HF's); answers come from
`data.squad_postprocessing` and are scored with SQuAD's official rules
(`data.squad_metrics`).

    task = QuestionAnsweringTask(model_config=config)
    dev = task.load_split("squad", "dev", tokenizer)   # squad/dev-v1.1.json
    task.evaluate(dev, predict(model, dev.features))   # {"exact_match", "f1"}

Files: `files={"train": path, "dev": path}` (run_squad's --train_file and
--predict_file), else the official names in `data_dir` (train-v1.1.json,
dev-v1.1.json; -v2.0 with `version_2_with_negative`), or train.json /
dev.json. Splits "dev" (evaluated) and "predict" are both the dev file,
read once; only "dev" needs every question answered (v1.1).
"""

import tensorflow as tf

from sqz_tf.data import squad
from sqz_tf.data import squad_features
from sqz_tf.data import squad_metrics
from sqz_tf.data import squad_postprocessing
from sqz_tf.errors import SqzError
from sqz_tf.models.question_answerer import SqueezeBertQuestionAnswerer
from sqz_tf.tasks.finetuning_task import FinetuningTask
from sqz_tf.tasks.finetuning_task import Split
from sqz_tf.tasks.finetuning_task import random_subset


class QuestionAnsweringTask(FinetuningTask):
  """SQuAD: find the answer to a question as a span of its context."""

  main_metric = "f1"
  saved_model_name = "question_answerer.keras"
  predictions_dir = "predictions"

  def __init__(self, model_config=None, version_2_with_negative=False,
               files=None, max_query_length=None, doc_stride=None,
               n_best_size=20, max_answer_length=30,
               null_score_diff_threshold=0.0):
    """`max_query_length` and `doc_stride` default by sequence length
    (`squad_features.default_lengths`: 64 and 128 at 384 tokens)."""
    super().__init__(model_config)
    self.version_2_with_negative = version_2_with_negative
    self.name = "squad_v2" if version_2_with_negative else "squad"
    self.files = {k: v for k, v in (files or {}).items() if v}
    self.max_query_length = max_query_length
    self.doc_stride = doc_stride
    self.n_best_size = n_best_size
    self.max_answer_length = max_answer_length
    self.null_score_diff_threshold = null_score_diff_threshold
    self._loaded = {}

  # Data.

  def eval_splits(self):
    return ("dev",)

  def predict_splits(self):
    return ("predict",)  # the dev file; its questions need no answers

  def lengths(self, max_seq_length):
    """(max_query_length, doc_stride) at `max_seq_length`, checked."""
    lengths = squad_features.default_lengths(
        max_seq_length, self.max_query_length, self.doc_stride)
    squad_features.check_lengths(max_seq_length, *lengths)
    return lengths

  def file(self, data_dir, split):
    """The SQuAD file of `split` ("train" or "dev")."""
    if split in self.files:
      return self.files[split]
    if not data_dir:
      raise SqzError(f"no SQuAD {split} file given, nor a data directory "
                     "holding one")
    return squad.default_file(data_dir, split, self.version_2_with_negative)

  def load_split(self, data_dir, split, tokenizer, num_examples=None,
                 seed=0):
    if split not in ("train", "dev", "predict"):
      raise SqzError(f"{self.name} splits are train, dev and predict (the "
                     f"dev file), not {split!r}")
    training = split == "train"
    path = self.file(data_dir, "train" if training else "dev")
    max_query_length, doc_stride = self.lengths(tokenizer.seq_length)
    key = (path, id(tokenizer), num_examples, seed)
    if key not in self._loaded:  # evaluated and predicted: featurize once
      examples = squad.read_squad(path, self.version_2_with_negative,
                                  require_answers=training)
      examples = random_subset(examples, num_examples, seed)
      if not examples:
        raise SqzError(f"{self.name} {split}: no questions in {path}")
      self._loaded = {key: (examples, *squad_features.featurize(
          examples, tokenizer, max_query_length, doc_stride,
          is_training=training, keep_offsets=not training))}
    examples, features, windows = self._loaded[key]
    if split == "dev" and not self.version_2_with_negative:
      unanswered = next((e for e in examples if not e.answers), None)
      if unanswered:
        raise SqzError(f"{path}: question {unanswered.qas_id} has no answer "
                       "to evaluate against (to only predict, leave out "
                       "--do_train and --do_eval)")
    return Split(split, examples, features, windows)

  # Model and training objective.

  def build_model(self):
    return SqueezeBertQuestionAnswerer(self.model_config)

  def build_metrics(self):
    return {name: tf.keras.metrics.SparseCategoricalAccuracy(name)
            for name in ("start_accuracy", "end_accuracy")}

  def loss_weights(self, features):
    return {"span": tf.ones_like(features["start_positions"], tf.float32)}

  def item_losses(self, features, outputs):
    def cross_entropy(positions, logits):
      return tf.keras.losses.sparse_categorical_crossentropy(
          positions, tf.cast(logits, tf.float32), from_logits=True)
    return {"span": 0.5 * (
        cross_entropy(features["start_positions"], outputs["start_logits"]) +
        cross_entropy(features["end_positions"], outputs["end_logits"]))}

  def update_metrics(self, metrics, features, outputs):
    metrics["start_accuracy"].update_state(features["start_positions"],
                                           outputs["start_logits"])
    metrics["end_accuracy"].update_state(features["end_positions"],
                                         outputs["end_logits"])

  # Scoring and outputs.

  def predict_answers(self, split, outputs):
    """`squad_postprocessing.Predictions` of the split's questions."""
    for name in ("start_logits", "end_logits"):
      if name not in outputs:
        raise SqzError(f"the model has no {name} output: not a question "
                       "answerer")
    return squad_postprocessing.predict_answers(
        split.examples, split.extras, outputs["start_logits"],
        outputs["end_logits"], self.n_best_size, self.max_answer_length,
        self.version_2_with_negative, self.null_score_diff_threshold)

  def evaluate(self, split, outputs):
    """Official EM/F1; v2.0 also HasAns/NoAns and the best null threshold.

    v2.0's `best_f1_thresh` is the --null_score_diff_threshold that would
    give `best_f1` (found over the best non-empty answers).
    """
    predictions = self.predict_answers(split, outputs)
    if not self.version_2_with_negative:
      return squad_metrics.evaluate_v1(split.examples, predictions.answers)
    metrics = squad_metrics.evaluate_v2(split.examples, predictions.answers)
    best = squad_metrics.evaluate_v2(split.examples, predictions.best_spans,
                                     na_probs=predictions.null_odds)
    metrics.update({k: v for k, v in best.items() if k.startswith("best_")})
    return metrics

  def agreement(self, split, outputs, reference_outputs):
    ours = self.predict_answers(split, outputs).answers
    theirs = self.predict_answers(split, reference_outputs).answers
    return {"agreement": sum(ours[k] == theirs[k] for k in ours) / len(ours)}

  def write_predictions(self, split, outputs, output_dir):
    return squad_postprocessing.write_prediction_files(
        self.predict_answers(split, outputs), output_dir,
        self.version_2_with_negative)


def family(version_2_with_negative):
  """A `tasks.FAMILIES` factory: model (or None) -> task."""
  return lambda model: QuestionAnsweringTask(
      getattr(model, "model_config", None), version_2_with_negative)
