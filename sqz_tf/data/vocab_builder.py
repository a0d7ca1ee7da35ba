"""Learns a WordPiece vocabulary with tensorflow-text's BERT vocab learner.

  >>> tokens = learn_vocab(["corpus/*.txt"], vocab_size=8000)
  >>> tokens[:5]
  ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
"""

from absl import logging
import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset

from sqz_tf.data import tokenizer as tokenizer_lib
from sqz_tf.data.text_lines import read_lines
from sqz_tf.data import vocab as vocab_lib
from sqz_tf.errors import SqzError
from sqz_tf.utils import files


def _lines(input_files, stats):
  for line in read_lines(input_files, stats):
    if line:
      stats["lines"] += 1
      yield line


def learn_vocab(input_files, vocab_size, lower_case=True,
                reserved_tokens=vocab_lib.SPECIAL_TOKENS):
  """Vocabulary tokens (special tokens first) learned from text files.

  Text is normalized by our tokenizer's own normalization first, so the
  learned pieces are exactly what BertTokenizerLayer will look up.
  """
  if vocab_size <= len(reserved_tokens):
    raise SqzError(f"vocab_size must exceed the {len(reserved_tokens)} "
                   f"special tokens, got {vocab_size}")
  input_files = vocab_lib.expand_globs(input_files)
  stats = {"lines": 0, "non_utf8_lines": 0}
  lines = list(_lines(input_files, stats))
  if not lines:
    raise SqzError("the input files hold no text: "
                   f"{', '.join(input_files[:3])}")
  if stats["non_utf8_lines"]:
    logging.warning("%d lines were not valid UTF-8; bad bytes became "
                    "U+FFFD", stats["non_utf8_lines"])
  dataset = tf.data.Dataset.from_tensor_slices(lines).batch(1024).map(
      lambda t: tokenizer_lib.normalize(t, lower_case))
  tokens = bert_vocab_from_dataset.bert_vocab_from_dataset(
      dataset, vocab_size=vocab_size, reserved_tokens=list(reserved_tokens),
      bert_tokenizer_params={"lower_case": False},
      # Pieces seen only a few times still count on a small corpus.
      learn_params={"lower_thresh": 2})
  # The learner may yield a few tokens too many; never more than asked.
  return tokens[:vocab_size]


def build_vocab_file(input_files, vocab_size, output, lower_case=True,
                     overwrite=False):
  """Learns a vocabulary and writes it atomically; returns its size."""
  tokens = learn_vocab(input_files, vocab_size, lower_case)
  with files.atomic_output(output, overwrite=overwrite) as temporary:
    vocab_lib.write_vocab(tokens, temporary)
  return len(tokens)
