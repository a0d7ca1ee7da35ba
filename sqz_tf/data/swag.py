"""SWAG-format multiple-choice CSV files: reading and featurizing.

The layout of SWAG's train.csv / val.csv / test.csv (Zellers et al. 2018):
a header row naming at least `sent1` (the context), `sent2` (the start of
the sentence to complete), `ending0`, `ending1`, ... (the choices) and,
except on test files, `label` (the index of the right ending). Each choice
becomes the pair `[CLS] sent1 [SEP] sent2 ending_i [SEP]`, as in HF's
run_swag; every row must have every ending.

    examples = read_swag("swag/val.csv")
    features = examples_to_features(examples, tokenizer)
    features["input_word_ids"].shape      # [examples, choices, seq]
"""

import csv
import dataclasses
from typing import Optional

import numpy as np

from sqz_tf.errors import SqzError


class SwagError(SqzError):
  """A multiple-choice file that cannot be read."""


@dataclasses.dataclass(frozen=True)
class MultipleChoiceExample:
  example_id: str  # the file's unnamed index column, else the row number
  context: str
  start: str  # the beginning each ending continues
  endings: tuple
  label: Optional[int] = None


def _ending_columns(header, path):
  columns = []
  while f"ending{len(columns)}" in header:
    columns.append(f"ending{len(columns)}")
  missing = [name for name in ("sent1", "sent2") if name not in header]
  if len(columns) < 2:
    missing.append("ending0, ending1, ...")
  if missing:
    raise SwagError(f"{path}: the header lacks {', '.join(missing)} (SWAG "
                    "layout: sent1, sent2, ending0.., label)")
  return columns


def read_swag(path):
  """The examples of a SWAG-format CSV file, checked row by row."""
  try:
    with open(path, encoding="utf-8", newline="") as f:
      reader = csv.DictReader(f, restkey="_extra")
      header = reader.fieldnames or []
      endings = _ending_columns(header, path)
      labelled = "label" in header
      examples = []
      for row in reader:
        where = f"{path}:{reader.line_num}"
        if row.get("_extra"):
          raise SwagError(f"{where}: more fields than the header's "
                          f"{len(header)}")
        for name in ("sent1", *endings):
          if not (row.get(name) or "").strip():
            raise SwagError(f"{where}: {name} is missing")
        label = None
        if labelled:
          text = (row.get("label") or "").strip()
          if not text.isdigit() or int(text) >= len(endings):
            raise SwagError(f"{where}: label {text!r} is not a choice index "
                            f"0..{len(endings) - 1}")
          label = int(text)
        examples.append(MultipleChoiceExample(
            row.get("") or str(len(examples)), row["sent1"].strip(),
            (row.get("sent2") or "").strip(),
            tuple(row[name].strip() for name in endings), label))
  except OSError as e:
    raise SwagError(f"cannot read {path}: {e.strerror}") from None
  except UnicodeDecodeError as e:
    raise SwagError(f"{path} is not UTF-8 text ({e.reason})") from None
  except csv.Error as e:
    raise SwagError(f"{path}: not a CSV file: {e}") from None
  return examples


def examples_to_features(examples, tokenizer, batch_size=1024):
  """`input_*` int32 `[n, choices, seq]` and `label` `[n]` (-1: none)."""
  num_choices = len(examples[0].endings)
  parts = []
  for start in range(0, len(examples), batch_size):
    batch = examples[start:start + batch_size]
    parts.append(tokenizer.encode(
        [e.context for e in batch for _ in e.endings],
        [f"{e.start} {ending}".strip() for e in batch
         for ending in e.endings]))
  features = {name: np.concatenate([p[name] for p in parts]).reshape(
      len(examples), num_choices, -1) for name in parts[0]}
  features["label"] = np.array([-1 if e.label is None else e.label
                                for e in examples], np.int32)
  return features
