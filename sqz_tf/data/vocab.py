"""Reading, checking and writing WordPiece vocabularies (BERT's vocab.txt)."""

import glob
import os

from sqz_tf.errors import SqzError

PAD = "[PAD]"
UNK = "[UNK]"
CLS = "[CLS]"
SEP = "[SEP]"
MASK = "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)


class VocabError(SqzError):
  """A vocab.txt that is missing, unreadable or lacks the BERT tokens."""


def load_vocab(path, required=(UNK, CLS, SEP, PAD)):
  """Returns the tokens of a vocab.txt, one per line, id = line number.

  Example:
  >>> tokens = load_vocab("vocab.txt")
  >>> tokens.index("[CLS]")
  101
  """
  try:
    with open(path, "rb") as f:
      data = f.read()
  except OSError as e:
    raise VocabError(f"cannot read vocab file {path}: {e.strerror}") from None
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as e:
    raise VocabError(f"vocab file {path} is not UTF-8 text (byte "
                     f"{e.start})") from None
  # HF and BERT strip only the line break: a token may not contain one.
  tokens = [line.rstrip("\r") for line in text.split("\n")]
  if tokens and tokens[-1] == "":
    tokens.pop()
  if not tokens:
    raise VocabError(f"vocab file {path} is empty")
  missing = [t for t in required if t not in tokens]
  if missing:
    raise VocabError(f"vocab file {path} lacks the special tokens "
                     f"{', '.join(missing)}")
  return tokens


def write_vocab(tokens, path):
  """Writes `tokens` one per line (the caller makes it atomic)."""
  with open(path, "w", encoding="utf-8") as f:
    for token in tokens:
      f.write(token + "\n")


def expand_globs(patterns, what="input"):
  """Files matching comma-separated globs, sorted per glob; error if none."""
  if isinstance(patterns, str):
    patterns = [p for p in patterns.split(",") if p.strip()]
  files = []
  for pattern in patterns:
    matches = sorted(glob.glob(os.path.expanduser(pattern.strip())))
    if not matches:
      raise SqzError(f"no {what} file matches {pattern!r}")
    files.extend(m for m in matches if not os.path.isdir(m))
  if not files:
    raise SqzError(f"no {what} files given")
  for f in files:
    if not os.access(f, os.R_OK):
      raise SqzError(f"cannot read {what} file {f}")
  return files
