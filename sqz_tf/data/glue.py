"""Readers for the GLUE tasks in their original TSV layout.

The files are as the standard GLUE download script writes them (one folder
per task). Rows are read with csv.QUOTE_NONE, as the GLUE processors of
google-research/bert and HF do. A row that does not fit (too few columns, an
unknown label, a score that is not a number) is skipped and counted in the
log, never an error. Segment order is premise / first sentence first.

  >>> examples = read_examples("MNLI", "glue_data/MNLI", "dev_matched")
  >>> examples[0].text_a, examples[0].label
  ('The new rights are nice enough', 'neutral')
"""

import csv
import dataclasses
import os
import sys
from typing import Optional, Tuple, Union

from absl import logging

from sqz_tf.errors import SqzError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class GlueError(SqzError):
  """A GLUE task, split or file that cannot be read."""


@dataclasses.dataclass(frozen=True)
class InputExample:
  """One GLUE example; `label` is None on test splits."""
  guid: str
  text_a: str
  text_b: Optional[str] = None
  label: Optional[Union[str, float]] = None
  index: Optional[str] = None  # The test file's index, for submissions.


@dataclasses.dataclass(frozen=True)
class _Layout:
  """Where a split's columns are; -1 means the last column."""
  text_a: int
  text_b: Optional[int] = None
  label: Optional[int] = None
  index: Optional[int] = None
  header: bool = True


@dataclasses.dataclass(frozen=True)
class GlueTask:
  """A task: its files, label strings, metrics and main metric."""
  name: str
  labels: Optional[Tuple[str, ...]]  # None: regression (STS-B).
  metrics: Tuple[str, ...]
  main_metric: str
  splits: dict  # split name -> (file name, _Layout)
  # What the classes mean, where the files say "0"/"1" (HF's GLUE names);
  # saved in the classifier as id2label, shown to apps (MediaPipe labels).
  names: Optional[Tuple[str, ...]] = None

  @property
  def label_names(self):
    """Readable names of the outputs: class names, or the score's name."""
    return self.names or self.labels

  @property
  def is_regression(self):
    return self.labels is None

  @property
  def is_pair(self):
    """Whether examples are sentence pairs (text_a, text_b)."""
    return next(iter(self.splits.values()))[1].text_b is not None

  @property
  def num_labels(self):
    return 1 if self.labels is None else len(self.labels)

  def label_id(self, label):
    return float(label) if self.is_regression else self.labels.index(label)

  def label_string(self, prediction):
    """What a submission file holds for a predicted id (or score)."""
    if self.is_regression:
      return f"{min(max(float(prediction), 0.0), 5.0):.3f}"
    return self.labels[int(prediction)]


_BINARY = ("0", "1")
_NLI = ("contradiction", "entailment", "neutral")
_ENTAIL = ("entailment", "not_entailment")


def _pair_task(name, labels, metrics, main, names=None):
  return GlueTask(name, labels, metrics, main, {
      "train": ("train.tsv", _Layout(1, 2, 3)),
      "dev": ("dev.tsv", _Layout(1, 2, 3)),
      "test": ("test.tsv", _Layout(1, 2, index=0)),
  }, names)


TASKS = {
    "CoLA": GlueTask("CoLA", _BINARY, ("matthews_corr",), "matthews_corr", {
        "train": ("train.tsv", _Layout(3, label=1, header=False)),
        "dev": ("dev.tsv", _Layout(3, label=1, header=False)),
        "test": ("test.tsv", _Layout(1, index=0)),
    }, names=("unacceptable", "acceptable")),
    "SST-2": GlueTask("SST-2", _BINARY, ("accuracy",), "accuracy", {
        "train": ("train.tsv", _Layout(0, label=1)),
        "dev": ("dev.tsv", _Layout(0, label=1)),
        "test": ("test.tsv", _Layout(1, index=0)),
    }, names=("negative", "positive")),
    "MRPC": GlueTask("MRPC", _BINARY, ("accuracy", "f1"), "f1", {
        "train": ("train.tsv", _Layout(3, 4, 0)),
        "dev": ("dev.tsv", _Layout(3, 4, 0)),
        "test": ("test.tsv", _Layout(3, 4, index=0)),
    }, names=("not_equivalent", "equivalent")),
    "STS-B": GlueTask("STS-B", None, ("pearson", "spearman"), "pearson", {
        "train": ("train.tsv", _Layout(7, 8, 9)),
        "dev": ("dev.tsv", _Layout(7, 8, 9)),
        "test": ("test.tsv", _Layout(7, 8, index=0)),
    }, names=("similarity",)),
    "QQP": GlueTask("QQP", _BINARY, ("accuracy", "f1"), "f1", {
        "train": ("train.tsv", _Layout(3, 4, 5)),
        "dev": ("dev.tsv", _Layout(3, 4, 5)),
        "test": ("test.tsv", _Layout(1, 2, index=0)),
    }, names=("not_duplicate", "duplicate")),
    "MNLI": GlueTask("MNLI", _NLI, ("accuracy",), "accuracy", {
        "train": ("train.tsv", _Layout(8, 9, -1)),
        "dev_matched": ("dev_matched.tsv", _Layout(8, 9, -1)),
        "dev_mismatched": ("dev_mismatched.tsv", _Layout(8, 9, -1)),
        "test_matched": ("test_matched.tsv", _Layout(8, 9, index=0)),
        "test_mismatched": ("test_mismatched.tsv", _Layout(8, 9, index=0)),
    }),
    "QNLI": _pair_task("QNLI", _ENTAIL, ("accuracy",), "accuracy"),
    "RTE": _pair_task("RTE", _ENTAIL, ("accuracy",), "accuracy"),
    "WNLI": _pair_task("WNLI", _BINARY, ("accuracy",), "accuracy",
                       ("not_entailment", "entailment")),
    # The diagnostic set is predicted with an MNLI model; no labels.
    "AX": GlueTask("AX", _NLI, ("matthews_corr",), "matthews_corr", {
        "test": ("diagnostic.tsv", _Layout(1, 2, index=0)),
    }),
}


def get_task(name):
  """The task by name, case-insensitively (`sst2` works for SST-2)."""
  key = name.lower().replace("-", "")
  for task_name, task in TASKS.items():
    if task_name.lower().replace("-", "") == key:
      return task
  raise GlueError(f"unknown GLUE task {name!r}; known: {', '.join(TASKS)}")


def _parse_row(task, layout, row):
  """(text_a, text_b, label, index) or None for a malformed row."""
  columns = [c for c in (layout.text_a, layout.text_b, layout.label,
                         layout.index) if c is not None]
  if len(row) < max(c + 1 if c >= 0 else 1 for c in columns):
    return None
  text_a = row[layout.text_a]
  text_b = row[layout.text_b] if layout.text_b is not None else None
  label = None
  if layout.label is not None:
    label = row[layout.label].strip()
    if task.is_regression:
      try:
        label = float(label)
      except ValueError:
        return None
    elif label not in task.labels:
      return None
  index = row[layout.index] if layout.index is not None else None
  return text_a, text_b, label, index


def read_examples(task_name, data_dir, split, path=None, strict_labels=False):
  """The examples of one split; `path` overrides the standard file name.

  Malformed rows are skipped and counted. With `strict_labels`, a complete
  row whose label is not one of the task's is an error instead (a trainer
  must not quietly drop classes).
  """
  task = get_task(task_name)
  if split not in task.splits:
    raise GlueError(f"{task.name} has no split {split!r}; it has "
                    f"{', '.join(task.splits)}")
  file_name, layout = task.splits[split]
  path = path or os.path.join(data_dir, file_name)
  try:
    f = open(path, encoding="utf-8", newline="")
  except OSError as e:
    raise GlueError(f"cannot read {task.name} {split} file {path}: "
                    f"{e.strerror}") from None
  examples, skipped = [], []
  with f:
    reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
    for line_number, row in enumerate(reader, start=1):
      if line_number == 1 and layout.header:
        continue
      parsed = _parse_row(task, layout, row)
      if parsed is None:
        label = (row[layout.label].strip() if layout.label is not None and
                 len(row) > layout.label >= 0 else None)
        if strict_labels and task.labels and label is not None and (
            label not in task.labels):
          raise GlueError(f"{path}:{line_number}: label {label!r} is not a "
                          f"{task.name} label ({', '.join(task.labels)})")
        skipped.append(line_number)
        continue
      text_a, text_b, label, index = parsed
      examples.append(InputExample(f"{split}-{len(examples)}", text_a,
                                   text_b, label, index))
  if skipped:
    logging.warning("%s: skipped %d malformed rows (lines %s%s)", path,
                    len(skipped), ", ".join(map(str, skipped[:5])),
                    ", ..." if len(skipped) > 5 else "")
  return examples


def write_submission(task_name, examples, predictions, path,
                     overwrite=True):
  """Writes a GLUE submission TSV: `index<TAB>prediction` per test row."""
  from sqz_tf.utils import files  # pylint: disable=g-import-not-at-top
  task = get_task(task_name)
  if len(examples) != len(predictions):
    raise GlueError(f"{len(examples)} examples but {len(predictions)} "
                    "predictions")
  with files.atomic_output(path, overwrite=overwrite) as temporary:
    with open(temporary, "w", encoding="utf-8") as f:
      f.write("index\tprediction\n")
      for example, prediction in zip(examples, predictions):
        f.write(f"{example.index}\t{task.label_string(prediction)}\n")


