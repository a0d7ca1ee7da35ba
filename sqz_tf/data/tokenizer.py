"""BERT WordPiece tokenization on tensorflow-text, id-identical to HF's.

The normalization follows HF `tokenizers`' BertNormalizer step by step with
TF ops (so it also runs inside a graph): drop NUL, U+FFFD and other control /
format characters, map whitespace to spaces, put spaces around CJK ideographs,
then (uncased) NFD + drop combining marks + lower-case. Words are split on
whitespace and punctuation and cut into WordPieces by tensorflow-text's
FastWordpieceTokenizer; words over 100 characters become [UNK].

`tokenize_with_offsets` also gives each token's character span in the
ORIGINAL text (what SQuAD answers are cut from). tensorflow-text's own
BertTokenizer cannot: with lower_case its offsets index the normalized
string, and FastBertTokenizer's normalization differs from HF's (it keeps
format characters such as a soft hyphen). Instead we normalize each
character on its own (every step above maps one character to zero or more
characters independently; only NFD's reordering of adjacent combining marks
is not per character, and the uncased path drops those marks, bar a few
rare spacing ones), so every normalized byte comes from a known original
character.
"""

import numpy as np
import tensorflow as tf
import tensorflow_text as text

from sqz_tf.data import vocab as vocab_lib
from sqz_tf.errors import SqzError

MAX_CHARS_PER_WORD = 100

_WHITESPACE = r"[\t\n\r\p{Zs}\x{2028}\x{2029}]"
_CONTROL = r"[\p{C}\x{FFFD}]"
CJK_IDEOGRAPH = (
    r"([\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}"
    r"\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}"
    r"\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}])")
# BERT counts all non-alphanumeric ASCII as punctuation, plus Unicode P*
# (MediaPipe's tokenizer splits on the same classes).
PUNCTUATION = r"[!-/:-@\[-`{-~\p{P}]"
_WORD_DELIMITERS = r" +|" + PUNCTUATION


def normalize(texts, lower_case=True):
  """BertNormalizer on a string tensor; returns a string tensor alike."""
  texts = tf.strings.regex_replace(texts, _WHITESPACE, " ")
  texts = tf.strings.regex_replace(texts, _CONTROL, "")
  texts = tf.strings.regex_replace(texts, CJK_IDEOGRAPH, r" \1 ")
  if lower_case:
    texts = text.normalize_utf8(texts, "NFD")
    texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
    # HF lower-cases char by char: a final capital sigma becomes σ, not ς.
    texts = tf.strings.regex_replace(texts, "Σ", "σ")
    texts = tf.strings.lower(texts, encoding="utf-8")
  return texts


def split_words(texts, lower_case=True):
  """Ragged [batch, words] strings: whitespace and punctuation splitting."""
  texts = normalize(texts, lower_case)
  return text.regex_split(texts, _WORD_DELIMITERS, PUNCTUATION)


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class BertTokenizerLayer(tf.keras.layers.Layer):
  """Raw strings -> `input_word_ids`, `input_mask`, `input_type_ids`.

  Call it on a string tensor `[batch]` (one segment) or a pair of them
  (`[CLS] A [SEP] B [SEP]`); the longer segment is truncated first, as in
  BERT's `_truncate_seq_pair` and HF's "longest_first" (see
  `truncate_segments` for the one tie where they differ: we follow HF).
  The vocabulary is kept in the config, so a saved model reloads without
  the vocab file (`import sqz_tf` registers this layer for load_model).

  Example:
  >>> layer = BertTokenizerLayer.from_vocab_file("vocab.txt", seq_length=16)
  >>> out = layer([tf.constant(["Hello there!"]), tf.constant(["Hi."])])
  >>> out["input_word_ids"].shape
  TensorShape([1, 16])
  """

  def __init__(self, vocab, seq_length=128, lower_case=True, **kwargs):
    super().__init__(**kwargs)
    if seq_length < 3:
      raise SqzError(f"seq_length must be at least 3, got {seq_length}")
    # A tuple: Keras would wrap and track a list entry by entry (slow).
    self.vocab = tuple(vocab)
    self.seq_length = int(seq_length)
    self.lower_case = bool(lower_case)
    index = {}
    for i, token in enumerate(self.vocab):
      index.setdefault(token, i)
    for token in (vocab_lib.UNK, vocab_lib.CLS, vocab_lib.SEP):
      if token not in index:
        raise vocab_lib.VocabError(f"the vocabulary lacks {token}")
    self.unk_id = index[vocab_lib.UNK]
    self.cls_id = index[vocab_lib.CLS]
    self.sep_id = index[vocab_lib.SEP]
    self.pad_id = index.get(vocab_lib.PAD, 0)
    # Word lengths are checked in characters below; bytes never limit here.
    self._wordpiece = text.FastWordpieceTokenizer(
        vocab=self.vocab, suffix_indicator="##",
        max_bytes_per_word=4 * MAX_CHARS_PER_WORD + 4,
        token_out_type=tf.int32, unknown_token=vocab_lib.UNK,
        no_pretokenization=True, support_detokenization=False)

  @classmethod
  def from_vocab_file(cls, vocab_file, **kwargs):
    return cls(vocab_lib.load_vocab(vocab_file), **kwargs)

  def _too_long(self, words):
    """Over-long words become the single token [UNK], as in BERT."""
    too_long = (tf.strings.length(words.flat_values, unit="UTF8_CHAR")
                > MAX_CHARS_PER_WORD)
    return too_long, words.with_flat_values(
        tf.where(too_long, vocab_lib.UNK, words.flat_values))

  def tokenize(self, texts):
    """Ragged [batch, tokens] int32 WordPiece ids (no special tokens)."""
    texts = tf.convert_to_tensor(texts, tf.string)
    _, words = self._too_long(split_words(texts, self.lower_case))
    return self._wordpiece.tokenize(words).merge_dims(-2, -1)

  def tokenize_with_offsets(self, texts):
    """Eager: per text, numpy (ids, starts, ends) of its tokens.

    `text[starts[i]:ends[i]]` is the part of the original Python string
    that token i came from (HF's `offset_mapping`); the ids are `tokenize`'s.
    """
    texts = list(texts)
    if not texts:
      return []
    chars = tf.strings.unicode_split(tf.constant(texts, tf.string), "UTF-8")
    normalized = normalize(chars.flat_values, self.lower_case)
    joined = tf.strings.reduce_join(chars.with_flat_values(normalized),
                                    axis=-1)
    words, word_begins, word_ends = text.regex_split_with_offsets(
        joined, _WORD_DELIMITERS, PUNCTUATION)
    too_long, words = self._too_long(words)
    pieces, piece_begins, piece_ends = self._wordpiece.tokenize_with_offsets(
        words)
    # Byte offsets in the joined normalized text of each piece; an [UNK]
    # standing for an over-long word spans the word.
    word_of_piece = pieces.values.value_rowids().numpy()
    text_of_word = words.value_rowids().numpy()
    long_piece = too_long.numpy()[word_of_piece]
    word_begin = word_begins.flat_values.numpy()[word_of_piece]
    byte_begins = np.where(long_piece, word_begin,
                           word_begin + piece_begins.flat_values.numpy())
    byte_ends = np.where(long_piece,
                         word_ends.flat_values.numpy()[word_of_piece],
                         word_begin + piece_ends.flat_values.numpy())
    # Normalized bytes -> original characters, over all texts at once: the
    # character whose normalized bytes hold a piece's first (last) byte.
    char_splits = chars.row_splits.numpy()
    char_byte_ends = np.cumsum(tf.strings.length(normalized).numpy())
    text_byte_base = np.concatenate([[0], char_byte_ends])[char_splits]
    text_of_piece = text_of_word[word_of_piece]
    base = text_byte_base[text_of_piece]
    first_char = char_splits[text_of_piece]
    starts = np.searchsorted(char_byte_ends, base + byte_begins,
                             side="right") - first_char
    ends = np.searchsorted(char_byte_ends, base + byte_ends - 1,
                           side="right") + 1 - first_char
    ids = pieces.flat_values.numpy()
    piece_splits = np.searchsorted(text_of_piece, np.arange(len(texts) + 1))
    return [(ids[a:b], starts[a:b].astype(np.int32),
             ends[a:b].astype(np.int32))
            for a, b in zip(piece_splits[:-1], piece_splits[1:])]

  def call(self, inputs):
    if isinstance(inputs, (list, tuple)):
      if len(inputs) == 1:
        segments = [self.tokenize(inputs[0])]
      elif len(inputs) == 2:
        segments = [self.tokenize(inputs[0]), self.tokenize(inputs[1])]
      else:
        raise ValueError(f"expected one or two text inputs, got {len(inputs)}")
    else:
      segments = [self.tokenize(inputs)]
    segments = truncate_segments(segments, self.seq_length - 1 - len(segments))
    ids, type_ids = text.combine_segments(segments, self.cls_id, self.sep_id)
    word_ids, mask = text.pad_model_inputs(ids, self.seq_length, self.pad_id)
    type_ids, _ = text.pad_model_inputs(type_ids, self.seq_length, 0)
    return {"input_word_ids": tf.cast(word_ids, tf.int32),
            "input_mask": tf.cast(mask, tf.int32),
            "input_type_ids": tf.cast(type_ids, tf.int32)}

  def encode(self, texts, pair_texts=None):
    """Eager helper: numpy dict for lists of strings (and pairs)."""
    texts = tf.constant(list(texts), tf.string)
    if pair_texts is None:
      out = self(texts)
    else:
      out = self([texts, tf.constant(list(pair_texts), tf.string)])
    return {k: v.numpy() for k, v in out.items()}

  def tokenize_to_lists(self, texts):
    """Eager helper: a Python list of id lists, one per input string."""
    if not len(texts):  # pylint: disable=g-explicit-length-test
      return []
    ragged = self.tokenize(tf.constant(list(texts), tf.string))
    values = ragged.flat_values.numpy()
    splits = ragged.row_splits.numpy()
    return [values[splits[i]:splits[i + 1]].tolist()
            for i in range(len(splits) - 1)]

  def get_config(self):
    config = super().get_config()
    config.update({"vocab": list(self.vocab), "seq_length": self.seq_length,
                   "lower_case": self.lower_case})
    return config


def truncate_segments(segments, max_tokens):
  """Cuts ragged segments to `max_tokens` in all, longest first.

  Tokens go from the end of the longer segment, as in BERT's
  `_truncate_seq_pair`. When both must be cut to an odd total, the longer
  one keeps the extra token and on a tie the second one does: that is what
  HF's "longest_first" does (BERT gives it to the first on a tie).
  """
  if len(segments) == 1:
    a = segments[0]
    return [a[:, :max_tokens]]
  a, b = segments
  len_a = a.row_lengths()
  len_b = b.row_lengths()
  max_tokens = tf.cast(max_tokens, len_a.dtype)
  half_up = (max_tokens + 1) // 2
  longer_a = len_a > len_b
  long_len = tf.where(longer_a, len_a, len_b)
  short_len = tf.where(longer_a, len_b, len_a)
  keep_long = tf.minimum(long_len, tf.maximum(max_tokens - short_len, half_up))
  keep_short = tf.minimum(short_len, max_tokens - keep_long)
  fits = len_a + len_b <= max_tokens
  keep_a = tf.where(fits, len_a, tf.where(longer_a, keep_long, keep_short))
  keep_b = tf.where(fits, len_b, tf.where(longer_a, keep_short, keep_long))
  a = tf.ragged.boolean_mask(a, tf.ragged.range(len_a) < keep_a[:, None])
  b = tf.ragged.boolean_mask(b, tf.ragged.range(len_b) < keep_b[:, None])
  return [a, b]


def continuation_mask(vocab):
  """Bool array: which ids are "##" word continuations (whole-word masks)."""
  return np.array([t.startswith("##") for t in vocab], dtype=bool)
