"""MediaPipe Tasks' BERT tokenization, emulated on the host.

MediaPipe's `TextClassifier` and `TextEmbedder` tokenize raw text in C++
before they run a BERT-style model (its `BertPreprocessorCalculator` and
`BertTokenizer`). That differs from BERT's (and `BertTokenizerLayer`'s):

  1. only ASCII letters are lower-cased: no Unicode lower-casing, no NFD,
     no accent stripping, no removal of control characters;
  2. words split at runs of ASCII whitespace (RE2's `\\s`: space, \\t, \\n,
     \\f, \\r) and around each punctuation character and CJK ideograph (the
     classes BERT uses);
  3. WordPiece with tensorflow-text's `WordpieceTokenize` (greedy longest
     match, "##" continuations); a word over 100 bytes is [UNK];
  4. [CLS], the first `seq_length - 2` pieces, [SEP]; padded with id 0;
     every segment id is 0.

So "amélie" is one unknown word for MediaPipe ([UNK]) and "amelie" for us.
The steps run on the tensorflow-text kernels MediaPipe itself links, and
tests/test_mediapipe_metadata.py checks the ids against the real
`TextEmbedder` on tricky strings.

  tokenizer = MediaPipeBertTokenizer(load_vocab("vocab.txt"), seq_length=64)
  tokenizer.encode(["Amélie is a delight."])["input_word_ids"]
  differing_rows(texts, vocab, seq_length=64)   # where ours and theirs part
"""

import numpy as np
import tensorflow as tf
import tensorflow_text as text

from sqz_tf.data import tokenizer as bert_tokenizer
from sqz_tf.data import vocab as vocab_lib
from sqz_tf.errors import SqzError

MAX_BYTES_PER_WORD = 100
# Delimiters MediaPipe keeps as words of their own, and all of them (RE2's
# \s is ASCII whitespace only: no \v, no Unicode spaces).
_KEPT = bert_tokenizer.PUNCTUATION + "|" + bert_tokenizer.CJK_IDEOGRAPH
_DELIMITERS = r"\s+|" + _KEPT


class MediaPipeBertTokenizer:
  """Raw text -> the three int32 inputs MediaPipe feeds a BERT model.

  `vocab` is the token list, id = position (the exporter refuses vocabs
  with empty lines or duplicates, where MediaPipe's ids would differ;
  here, as there, the last of repeated tokens wins).
  """

  def __init__(self, vocab, seq_length):
    if seq_length < 2:
      raise ValueError(f"seq_length must be at least 2, got {seq_length}")
    self.vocab = tuple(vocab)
    self.seq_length = int(seq_length)
    index = {token: i for i, token in enumerate(self.vocab)}
    for token in (vocab_lib.UNK, vocab_lib.CLS, vocab_lib.SEP):
      if token not in index:
        raise vocab_lib.VocabError(f"the vocabulary lacks {token}")
    self.cls_id = index[vocab_lib.CLS]
    self.sep_id = index[vocab_lib.SEP]
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(index)),
            tf.constant(list(index.values()), tf.int64)),
        default_value=-1)
    self._wordpiece = text.WordpieceTokenizer(
        table, suffix_indicator="##", max_bytes_per_word=MAX_BYTES_PER_WORD,
        token_out_type=tf.int64, unknown_token=vocab_lib.UNK,
        split_unknown_characters=False)

  def tokenize_to_lists(self, texts):
    """WordPiece ids per text (no special tokens, not truncated)."""
    if not len(texts):  # pylint: disable=g-explicit-length-test
      return []
    # tf.strings.lower without an encoding changes ASCII letters only.
    lowered = tf.strings.lower(tf.constant(list(texts), tf.string))
    words = text.regex_split(lowered, _DELIMITERS, _KEPT)
    return self._wordpiece.tokenize(words).merge_dims(-2, -1).to_list()

  def encode(self, texts, pair_texts=None):
    """Numpy `input_word_ids`, `input_mask`, `input_type_ids` [rows, seq]."""
    if pair_texts is not None:
      raise SqzError("MediaPipe's text tasks take one text: sentence pairs "
                     "cannot be tokenized its way")
    ids = np.zeros((len(texts), self.seq_length), np.int32)
    mask = np.zeros_like(ids)
    for row, pieces in enumerate(self.tokenize_to_lists(texts)):
      tokens = [self.cls_id] + pieces[:self.seq_length - 2] + [self.sep_id]
      ids[row, :len(tokens)] = tokens
      mask[row, :len(tokens)] = 1
    return {"input_word_ids": ids, "input_mask": mask,
            "input_type_ids": np.zeros_like(ids)}


def differing_rows(texts, vocab, seq_length):
  """Indices of `texts` whose model inputs MediaPipe would make differently.

  Compares `BertTokenizerLayer` (uncased: what finetuning used) with the
  emulation above, at the exported sequence length.
  """
  texts = list(texts)
  ours = bert_tokenizer.BertTokenizerLayer(
      vocab, seq_length=seq_length).encode(texts)["input_word_ids"]
  theirs = MediaPipeBertTokenizer(vocab, seq_length).encode(
      texts)["input_word_ids"]
  return np.flatnonzero((ours != theirs).any(axis=1)).tolist()
