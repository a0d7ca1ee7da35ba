"""SQuAD v1.1 / v2.0 JSON files: reading, checking, writing subsets.

  >>> examples = read_squad("dev-v1.1.json")
  >>> examples[0].question, examples[0].answers[0].text
  ('Which NFL team represented the AFC at Super Bowl 50?', 'Denver Broncos')

A file is `{"version": ..., "data": [article, ...]}`; an article holds
`paragraphs`, each a `context` and its `qas` (`id`, `question`, `answers`:
`[{"text", "answer_start"}]`, and in v2.0 `is_impossible`). Every answer
must be found at its `answer_start` in its context, character for
character: answers are located by it, and a file where they do not line up
is refused rather than trained on silently wrong spans.
"""

import dataclasses
import json
import os

from sqz_tf.errors import SqzError
from sqz_tf.utils.files import atomic_output


class SquadError(SqzError):
  """A SQuAD file that cannot be read or does not fit the format."""


@dataclasses.dataclass(frozen=True)
class Answer:
  text: str
  start: int  # character offset of `text` in the context

  @property
  def end(self):
    return self.start + len(self.text)


@dataclasses.dataclass(frozen=True)
class SquadExample:
  """One question about one context; `answers` are the gold answers."""
  qas_id: str
  question: str
  context: str
  answers: tuple = ()
  is_impossible: bool = False  # v2.0: the context does not answer it


def _field(record, key, kind, where):
  if not isinstance(record, dict) or key not in record:
    raise SquadError(f"{where}: no {key!r}")
  value = record[key]
  if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
    raise SquadError(f"{where}: {key!r} should be a {kind.__name__}, got "
                     f"{type(value).__name__}")
  return value


def _answers(qa, context, where):
  answers = []
  for index, answer in enumerate(_field(qa, "answers", list, where)):
    at = f"{where} answer {index}"
    text = _field(answer, "text", str, at)
    start = _field(answer, "answer_start", int, at)
    if not text:
      raise SquadError(f"{at}: empty answer text")
    if start < 0 or context[start:start + len(text)] != text:
      found = context[max(start, 0):max(start, 0) + len(text)]
      raise SquadError(f"{at}: answer {text!r} is not at its answer_start "
                       f"{start} (the context has {found!r} there)")
    answers.append(Answer(text, start))
  return tuple(answers)


def read_squad(path, version_2_with_negative=False, require_answers=False):
  """The questions of a SQuAD file, in file order.

  v1.1 (`version_2_with_negative=False`) ignores `is_impossible`; a v1.1
  question without answers is an error when `require_answers` (training).
  In v2.0, `is_impossible` questions must have no answers, and with
  `require_answers` every other question needs one.
  """
  try:
    with open(path, encoding="utf-8") as f:
      dataset = json.load(f)
  except FileNotFoundError:
    raise SquadError(f"SQuAD file not found: {path}") from None
  except OSError as e:
    raise SquadError(f"cannot read {path}: {e.strerror}") from None
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise SquadError(f"{path} is not a JSON file: {e}") from None
  examples, ids = [], set()
  articles = _field(dataset, "data", list, path)
  for a, article in enumerate(articles):
    where = f"{path}: data[{a}]"
    for p, paragraph in enumerate(_field(article, "paragraphs", list, where)):
      at = f"{where}.paragraphs[{p}]"
      context = _field(paragraph, "context", str, at)
      for q, qa in enumerate(_field(paragraph, "qas", list, at)):
        question_at = f"{at}.qas[{q}]"
        qas_id = _field(qa, "id", str, question_at)
        question_at = f"{path}: question {qas_id}"
        if qas_id in ids:
          raise SquadError(f"{question_at}: the id appears twice")
        ids.add(qas_id)
        question = _field(qa, "question", str, question_at)
        answers = _answers(qa, context, question_at)
        impossible = False
        if version_2_with_negative:
          impossible = bool(qa.get("is_impossible", False))
          if impossible and answers:
            raise SquadError(f"{question_at}: is_impossible but has answers")
        if require_answers and not answers and not impossible:
          hint = ("" if version_2_with_negative else " (a SQuAD v2.0 file? "
                  "then give --version_2_with_negative)")
          raise SquadError(f"{question_at}: no answer{hint}")
        examples.append(SquadExample(qas_id, question, context, answers,
                                     impossible))
  return examples


def articles(path):
  """The `data` list of a SQuAD file (for splitting it by article)."""
  try:
    with open(path, encoding="utf-8") as f:
      dataset = json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise SquadError(f"cannot read {path}: {e}") from None
  return dataset.get("version", ""), _field(dataset, "data", list, path)


def write_squad(data, path, version="1.1", overwrite=False):
  """Writes articles as a SQuAD file (atomically)."""
  with atomic_output(path, overwrite=overwrite) as temporary:
    with open(temporary, "w", encoding="utf-8") as f:
      json.dump({"version": version, "data": data}, f, ensure_ascii=False)


def default_file(data_dir, split, version_2_with_negative):
  """The official file name of `split` in `data_dir` (train-v1.1.json, ...)."""
  version = "v2.0" if version_2_with_negative else "v1.1"
  names = [f"{split}-{version}.json", f"{split}.json"]
  for name in names:
    path = os.path.join(data_dir, name)
    if os.path.isfile(path):
      return path
  raise SquadError(f"no {' or '.join(names)} in {data_dir}")
