"""CoNLL column files for tagging (NER): reading, tag schemes, writing back.

One token per line in whitespace-separated columns with the tag last
(CoNLL-2003: `word POS chunk NER`); a blank line ends a sentence; a
`-DOCSTART-` line starts a document. Every token line of a file has the
same number of columns; a file of one column (words only) is text to tag.

    sentences = read_conll("conll2003/eng.train")
    scheme = tag_scheme(sentences, "eng.train")        # "IOB1"
    to_iob2(sentences[0].tags)                          # B- on every start
    write_conll("out.txt", sentences, predicted_tags, scheme)

Tags are `O`, `B-TYPE` or `I-TYPE`. IOB1 (the original CoNLL files) starts
an entity with `I-` and writes `B-` only for an entity right after one of
the same type; IOB2 (BIO) starts every entity with `B-`. Both are read with
conlleval's rules (sqz_tf.data.conlleval), so they give the same entities.
"""

import dataclasses
import re
from typing import Optional

from absl import logging

from sqz_tf.data import conlleval
from sqz_tf.errors import SqzError
from sqz_tf.utils.files import atomic_output

DOCSTART = "-DOCSTART-"
_COLUMN_SEPARATOR = re.compile(r"[ \t]+")
# A file may show the other scheme's start on at most this share of its
# entities (annotation slips, e.g. eng.train's 2 B-MISC after O among 23,499
# entities); more than that is a file mixing IOB1 and IOB2.
MAX_OTHER_SCHEME_SHARE = 0.01


class ConllError(SqzError):
  """A CoNLL file that cannot be read as tagged sentences."""


@dataclasses.dataclass
class Sentence:
  """One sentence of a CoNLL file, with what is needed to write it back."""
  lines: list  # the token lines as read (no line end)
  words: list
  tags: Optional[list]  # the last column; None in a words-only file
  line_number: int  # of the first token line, from 1
  docstarts: list = dataclasses.field(default_factory=list)  # lines before


def _check_tag(tag, path, line_number):
  prefix, _, kind = tag.partition("-")
  if tag != "O" and not (prefix in ("B", "I") and kind):
    raise ConllError(f"{path}:{line_number}: tag {tag!r} is not an IOB tag "
                     "(O, B-TYPE or I-TYPE)")


def read_conll(path):
  """The sentences of a CoNLL file, checked line by line."""
  try:
    with open(path, encoding="utf-8") as f:
      text = f.read()
  except OSError as e:
    raise ConllError(f"cannot read {path}: {e.strerror}") from None
  except UnicodeDecodeError as e:
    raise ConllError(f"{path} is not UTF-8 text ({e.reason} at byte "
                     f"{e.start})") from None
  sentences, current, docstarts = [], None, []
  num_columns = None

  def finish():
    nonlocal current, docstarts
    if current is not None:
      sentences.append(current)
      current, docstarts = None, []

  # Lines end at \n only and columns split at spaces and tabs only: a word
  # may hold other Unicode spaces or line separators.
  for line_number, line in enumerate(text.split("\n"), 1):
    line = line.rstrip("\r")
    stripped = line.strip(" \t")
    columns = _COLUMN_SEPARATOR.split(stripped) if stripped else []
    if not columns:
      finish()
      continue
    if columns[0] == DOCSTART:
      finish()
      docstarts.append(line)
      continue
    if num_columns is None:
      num_columns = len(columns)
    elif len(columns) != num_columns:
      raise ConllError(f"{path}:{line_number}: {len(columns)} columns where "
                       f"the file's token lines have {num_columns}: {line!r}")
    tag = columns[-1] if num_columns > 1 else None
    if tag is not None:
      _check_tag(tag, path, line_number)
    if current is None:
      current = Sentence([], [], None if tag is None else [], line_number,
                         docstarts)
    current.lines.append(line)
    current.words.append(columns[0])
    if tag is not None:
      current.tags.append(tag)
  finish()
  return sentences


def tag_scheme(sentences, path=""):
  """"IOB1" or "IOB2": how the file starts its entities (see module doc).

  Entities starting with `I-` are IOB1's; entities starting with `B-` after
  `O` or another type are IOB2's. A file with both, beyond
  MAX_OTHER_SCHEME_SHARE of its entities, is an error; below it the few
  are logged, and read as conlleval reads them.
  """
  iob1, iob2 = [], []  # line numbers of each scheme's entity starts
  for sentence in sentences:
    previous = "O"
    for offset, tag in enumerate(sentence.tags or ()):
      if conlleval.starts_entity(previous, tag):
        line = sentence.line_number + offset
        if tag.startswith("I-"):
          iob1.append(line)
        elif conlleval.split_tag(previous)[1] != conlleval.split_tag(tag)[1]:
          iob2.append(line)
      previous = tag
  majority, minority = ("IOB1", iob2) if len(iob1) >= len(iob2) else (
      "IOB2", iob1)
  if minority:
    detail = (f"{len(iob1)} entities start with I- (IOB1; first on line "
              f"{iob1[0]}) and {len(iob2)} with B- after O or another type "
              f"(IOB2; first on line {iob2[0]})")
    if len(minority) > MAX_OTHER_SCHEME_SHARE * (len(iob1) + len(iob2)):
      raise ConllError(f"{path} mixes IOB1 and IOB2 tags: {detail}")
    logging.warning("%s is %s but %d entities start the %s way (lines "
                    "%s), read as conlleval reads them", path, majority,
                    len(minority), "IOB2" if majority == "IOB1" else "IOB1",
                    ", ".join(map(str, minority[:10])))
  return majority if iob1 or iob2 else "IOB2"


def to_iob2(tags):
  """The same entities with `B-` on each first token (IOB2 / BIO)."""
  result, previous = [], "O"
  for tag in tags:
    if tag == "O":
      result.append("O")
    else:
      kind = conlleval.split_tag(tag)[1]
      begins = conlleval.starts_entity(previous, tag)
      result.append(("B-" if begins else "I-") + kind)
    previous = tag
  return result


def to_iob1(tags):
  """The same entities in IOB1: `B-` only right after the same type."""
  result, previous = [], "O"
  for tag in tags:
    if tag == "O":
      result.append("O")
    else:
      kind = conlleval.split_tag(tag)[1]
      follows_same = (previous != "O" and
                      conlleval.split_tag(previous)[1] == kind)
      result.append(("B-" if follows_same and conlleval.starts_entity(
          previous, tag) else "I-") + kind)
    previous = tag
  return result


def in_scheme(tags, scheme):
  return to_iob1(tags) if scheme == "IOB1" else to_iob2(tags)


def write_conll(path, sentences, predicted_tags, overwrite=True):
  """Writes each token line followed by its predicted tag.

  With gold tags, each line ends `... gold predicted`, the input
  conlleval takes; `-DOCSTART-` lines get an `O` so the columns line up.
  """
  with atomic_output(path, overwrite=overwrite) as temporary:
    with open(temporary, "w", encoding="utf-8") as f:
      for sentence, tags in zip(sentences, predicted_tags):
        for docstart in sentence.docstarts:
          f.write(f"{docstart} O\n\n")
        for line, tag in zip(sentence.lines, tags):
          f.write(f"{line} {tag}\n")
        f.write("\n")
