"""GLUE finetuning steps that run_classifier strings together."""

import numpy as np
import tensorflow as tf

from sqz_tf.data import classification_pipeline
from sqz_tf.data import glue
from sqz_tf.data import glue_metrics
from sqz_tf.errors import SqzError

# Dev and test splits, with the submission file each test split goes to.
EVAL_SPLITS = {"MNLI": ("dev_matched", "dev_mismatched")}
TEST_SPLITS = {"MNLI": {"test_matched": "MNLI-m.tsv",
                        "test_mismatched": "MNLI-mm.tsv"}}
SUBMISSION_FILES = {"CoLA": "CoLA.tsv", "SST-2": "SST-2.tsv",
                    "MRPC": "MRPC.tsv", "STS-B": "STS-B.tsv",
                    "QQP": "QQP.tsv", "QNLI": "QNLI.tsv", "RTE": "RTE.tsv",
                    "WNLI": "WNLI.tsv", "AX": "AX.tsv"}


def eval_splits(task):
  return EVAL_SPLITS.get(task.name, ("dev",))


def test_splits(task):
  """{test split: submission file name} of a task."""
  return TEST_SPLITS.get(task.name, {"test": SUBMISSION_FILES[task.name]})


def split_features(task, data_dir, split, tokenizer):
  """(examples, numpy features with `label`) of one split."""
  examples = glue.read_examples(task.name, data_dir, split,
                                strict_labels=True)
  if not examples:
    raise SqzError(f"{task.name} {split}: no examples in {data_dir}")
  return examples, classification_pipeline.examples_to_features(
      examples, task.name, tokenizer)


def predict_logits(model, features, batch_size=64):
  """Logits of `model` for every row of `features` (float32 numpy)."""
  inputs = {name: features[name] for name in
            ("input_word_ids", "input_mask", "input_type_ids")}
  dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)
  step = tf.function(lambda batch: model(batch, training=False))
  outputs = [step(batch) for batch in dataset]
  logits = [o["logits"] if isinstance(o, dict) else o for o in outputs]
  return np.concatenate([np.asarray(l, np.float32) for l in logits])


def split_metrics(task, model, features, batch_size):
  logits = predict_logits(model, features, batch_size)
  predictions = logits[:, 0] if task.is_regression else logits.argmax(-1)
  return glue_metrics.compute_metrics(task.name, predictions,
                                      features["label"])


def teacher_logits(task, features, teacher=None, logits_file=None,
                   batch_size=64):
  """The teacher's logits for the training rows, checked against the task."""
  if logits_file:
    try:
      logits = np.load(logits_file, allow_pickle=False)
    except (OSError, ValueError) as e:
      raise SqzError(f"cannot read teacher logits {logits_file}: {e}") from None
  else:
    logits = predict_logits(teacher, features, batch_size)
  rows = len(features["label"])
  if logits.ndim != 2 or logits.shape != (rows, task.num_labels):
    raise SqzError(f"the teacher gives logits of shape {list(logits.shape)}; "
                   f"{task.name} needs [{rows}, {task.num_labels}] (same "
                   "label space, one row per training example)")
  return logits.astype(np.float32)


def write_predictions(task, model, data_dir, tokenizer, output_dir,
                      batch_size=64):
  """GLUE leaderboard files (`index<TAB>prediction`) for the test splits."""
  written = []
  for split, file_name in test_splits(task).items():
    examples, features = split_features(task, data_dir, split, tokenizer)
    logits = predict_logits(model, features, batch_size)
    predictions = logits[:, 0] if task.is_regression else logits.argmax(-1)
    path = f"{output_dir}/{file_name}"
    glue.write_submission(task.name, examples, predictions, path)
    written.append(path)
  return written
