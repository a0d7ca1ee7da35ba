"""Tagged words -> WordPiece rows for a token classifier, and back.

Each word is tokenized on its own (as BERT's basic tokenizer would split
the sentence: words hold no spaces). A word's label goes on its first
WordPiece; its other pieces, [CLS], [SEP] and padding get label -1, which
the loss and the metrics skip. A sentence longer than `seq_length - 2`
pieces is cut into consecutive windows at word boundaries, each a row of
its own, so every word is predicted exactly once; none is dropped.

    features, alignment = words_to_features(
        [["EU", "rejects", "German", "call"]], [[3, 0, 7, 0]], tokenizer)
    word_ids = word_predictions(features_logits.argmax(-1), alignment, [4])
"""

import dataclasses

from absl import logging
import numpy as np

IGNORED = -1  # label of the pieces no loss or metric looks at


@dataclasses.dataclass
class Alignment:
  """Where each row's words are: `word_index[row, position]` is the word
  whose first piece sits there (-1 elsewhere), in sentence
  `sentence_index[row]`."""
  sentence_index: np.ndarray  # [rows]
  word_index: np.ndarray  # [rows, seq]


def _word_pieces(words, tokenizer, batch_size=20_000):
  pieces = []
  for start in range(0, len(words), batch_size):
    pieces += tokenizer.tokenize_to_lists(words[start:start + batch_size])
  return pieces


def _windows(pieces, capacity):
  """Consecutive (first word, pieces per word) windows of <= capacity."""
  windows, current, used = [], [], 0
  for word_pieces in pieces:
    if current and used + len(word_pieces) > capacity:
      windows.append(current)
      current, used = [], 0
    current.append(word_pieces)
    used += len(word_pieces)
  windows.append(current)
  return windows


def words_to_features(sentences, labels, tokenizer):
  """Rows of `tokenizer.seq_length` pieces for lists of words.

  `labels` holds one label id per word (or is None for untagged text).
  Returns (features: `input_word_ids`, `input_mask`, `input_type_ids`,
  `label` `[rows, seq]` int32; Alignment).
  """
  seq_length = tokenizer.seq_length
  capacity = seq_length - 2
  flat_words = [word for sentence in sentences for word in sentence]
  flat_pieces = _word_pieces(flat_words, tokenizer)
  rows, label_rows, alignment_rows = [], [], []
  long_sentences = long_words = 0
  offset = 0
  for index, words in enumerate(sentences):
    pieces = flat_pieces[offset:offset + len(words)]
    offset += len(words)
    # A word of nothing but control characters has no piece: it still needs
    # one to carry its prediction.
    long_words += sum(len(p) > capacity for p in pieces)
    pieces = [p[:capacity] if p else [tokenizer.unk_id] for p in pieces]
    windows = _windows(pieces, capacity)
    long_sentences += len(windows) > 1
    word = 0
    for window in windows:
      ids, row_labels, word_index = [tokenizer.cls_id], [IGNORED], [-1]
      for word_pieces in window:
        ids += word_pieces
        row_labels += [labels[index][word] if labels else IGNORED] + [
            IGNORED] * (len(word_pieces) - 1)
        word_index += [word] + [-1] * (len(word_pieces) - 1)
        word += 1
      ids.append(tokenizer.sep_id)
      rows.append(ids)
      label_rows.append(row_labels + [IGNORED])
      alignment_rows.append((index, word_index + [-1]))
  if long_sentences:
    logging.info("%d of %d sentences are longer than %d WordPieces: split "
                 "into windows (%d rows in all)", long_sentences,
                 len(sentences), capacity, len(rows))
  if long_words:
    logging.warning("%d words have more than %d WordPieces: cut to %d "
                    "(their first piece still carries the label)",
                    long_words, capacity, capacity)

  def padded(values, fill):
    array = np.full([len(values), seq_length], fill, np.int32)
    for row, value in enumerate(values):
      array[row, :len(value)] = value
    return array

  word_ids = padded(rows, tokenizer.pad_id)
  features = {
      "input_word_ids": word_ids,
      "input_mask": padded([[1] * len(r) for r in rows], 0),
      "input_type_ids": np.zeros_like(word_ids),
      "label": padded(label_rows, IGNORED),
  }
  alignment = Alignment(
      np.array([s for s, _ in alignment_rows], np.int64),
      padded([w for _, w in alignment_rows], -1))
  return features, alignment


def word_predictions(row_predictions, alignment, sentence_lengths):
  """Per-sentence lists of the prediction at each word's first piece.

  `row_predictions` is `[rows, seq]` (e.g. argmax label ids).
  """
  result = [[None] * length for length in sentence_lengths]
  rows, positions = np.nonzero(alignment.word_index >= 0)
  for row, position in zip(rows, positions):
    result[alignment.sentence_index[row]][
        alignment.word_index[row, position]] = row_predictions[row, position]
  return result
