"""SQuAD examples -> model rows: the question beside windows of the context.

As google-research/bert's run_squad (and HF's run_qa) do it:

- The question is cut to `max_query_length` tokens.
- A context longer than `max_seq_length - len(question) - 3` tokens is cut
  into windows starting `doc_stride` tokens apart (so they overlap); each
  row is `[CLS] question [SEP] window [SEP]`, type ids 0 then 1.
- A token seen in several windows is scored, in post-processing, only in
  the window where it has the most context: the largest min(tokens left,
  tokens right) + 0.01 * window length (google-research/bert's
  `_check_is_max_context`; the first window wins a tie).
- Training targets are the answer's first and last token in the window, or
  [CLS] (position 0) when the window does not hold the whole answer or the
  question has none (v2.0).

Unlike google-research/bert, tokens are mapped to characters, not
whitespace words: every context token keeps its character span in the
ORIGINAL context (`BertTokenizerLayer.tokenize_with_offsets`), so an answer
token span is exactly the tokens overlapping the answer's characters, and a
predicted span is cut from the context as written.

  >>> features, windows = featurize(examples, tokenizer, max_query_length=64,
  ...                               doc_stride=128)
  >>> features["input_word_ids"].shape       # [rows, seq_length]
"""

import dataclasses
from typing import Optional

from absl import logging
import numpy as np

from sqz_tf.data.squad import SquadError

_BATCH = 256  # texts per tokenizer call


@dataclasses.dataclass
class Windows:
  """Where each row's tokens came from (a QA `Split`'s `extras`).

  `example_index[r]` is the example of row r. With offsets, position p of
  row r holds context characters `[token_starts[r, p], token_ends[r, p])`
  (-1 outside the context), and `is_max_context[r, p]` says whether the
  row is where that token is scored.
  """
  example_index: np.ndarray  # [rows]
  token_starts: Optional[np.ndarray] = None  # [rows, seq] int32
  token_ends: Optional[np.ndarray] = None  # [rows, seq] int32
  is_max_context: Optional[np.ndarray] = None  # [rows, seq] bool


def default_lengths(max_seq_length, max_query_length=None, doc_stride=None):
  """(max_query_length, doc_stride), filling in what is None.

  The defaults are google-research/bert's 64 and 128, made smaller for short
  sequences: at most a quarter of the sequence for the question, half the
  smallest context window for the stride.
  """
  if max_query_length is None:
    max_query_length = min(64, max(1, (max_seq_length - 3) // 4))
  if doc_stride is None:
    doc_stride = min(128, max(1, (max_seq_length - max_query_length - 3) // 2))
  return max_query_length, doc_stride


def check_lengths(max_seq_length, max_query_length, doc_stride):
  """Refuses lengths that leave no room for the context or no overlap."""
  if max_query_length < 1 or doc_stride < 1:
    raise SquadError("max_query_length and doc_stride must be at least 1")
  window = max_seq_length - max_query_length - 3
  if window < 1:
    raise SquadError(
        f"a question of max_query_length {max_query_length} tokens leaves no "
        f"room for the context in max_seq_length {max_seq_length} "
        "([CLS] question [SEP] context [SEP])")
  if doc_stride >= window:
    raise SquadError(
        f"doc_stride {doc_stride} must be smaller than the context window, "
        f"{window} tokens (max_seq_length {max_seq_length} - max_query_length "
        f"{max_query_length} - 3), or the windows would not overlap")


def _spans(num_tokens, window, doc_stride):
  """(offset, length) of each window over `num_tokens` context tokens."""
  spans, offset = [], 0
  while True:
    length = min(num_tokens - offset, window)
    spans.append((offset, length))
    if offset + length >= num_tokens:
      return spans
    offset += min(length, doc_stride)


def _max_context(spans, num_tokens):
  """For each context token, the index of the span where it is scored."""
  best = np.full(num_tokens, -1)
  best_score = np.full(num_tokens, -np.inf)
  for index, (offset, length) in enumerate(spans):
    positions = np.arange(offset, offset + length)
    score = (np.minimum(positions - offset, offset + length - 1 - positions)
             + 0.01 * length)
    better = score > best_score[positions]
    best[positions[better]] = index
    best_score[positions[better]] = score[better]
  return best


def _answer_tokens(answer, starts, ends):
  """First and last context token overlapping `answer`'s characters.

  None when no token does: the answer is only characters that tokenization
  drops (spaces, control characters).
  """
  inside = np.nonzero((starts < answer.end) & (ends > answer.start))[0]
  return (inside[0], inside[-1]) if len(inside) else None


def _tokenized(texts, tokenize):
  out = []
  for start in range(0, len(texts), _BATCH):
    out += tokenize(texts[start:start + _BATCH])
  return out


def featurize(examples, tokenizer, max_query_length, doc_stride,
              is_training=False, keep_offsets=True):
  """(features, Windows) for `examples` with `tokenizer`'s seq_length.

  features: int32 `input_word_ids`, `input_mask`, `input_type_ids`
  `[rows, seq]` and `start_positions`, `end_positions` `[rows]`.
  `is_training` drops the rare examples whose answer holds no token (only
  characters that tokenization drops), as google-research/bert does;
  `keep_offsets` keeps what post-processing needs (not needed to train).
  """
  seq_length = tokenizer.seq_length
  check_lengths(seq_length, max_query_length, doc_stride)
  questions = _tokenized([e.question for e in examples],
                         tokenizer.tokenize_to_lists)
  context_index = {}
  for example in examples:
    context_index.setdefault(example.context, len(context_index))
  contexts = _tokenized(list(context_index), tokenizer.tokenize_with_offsets)
  cls, sep, pad = tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id

  rows = {name: [] for name in ("ids", "length", "types", "start", "end",
                                "example", "token_starts", "token_ends",
                                "max_context")}
  unanswerable = 0
  for index, (example, question) in enumerate(zip(examples, questions)):
    question = question[:max_query_length]
    ids, starts, ends = contexts[context_index[example.context]]
    answer = None
    if example.answers and not example.is_impossible:
      answer = _answer_tokens(example.answers[0], starts, ends)
      if answer is None:
        unanswerable += 1
        if is_training:
          continue
    spans = _spans(len(ids), seq_length - len(question) - 3, doc_stride)
    best_span = _max_context(spans, len(ids))
    first = len(question) + 2  # row position of the window's first token
    for span_index, (offset, length) in enumerate(spans):
      row = np.full(seq_length, pad, np.int32)
      row[:first + length + 1] = [cls, *question, sep,
                                  *ids[offset:offset + length], sep]
      types = np.zeros(seq_length, np.int32)
      types[first:first + length + 1] = 1
      start = end = 0
      if answer is not None and (offset <= answer[0] and
                                 answer[1] < offset + length):
        start, end = answer[0] - offset + first, answer[1] - offset + first
      rows["ids"].append(row)
      rows["length"].append(first + length + 1)
      rows["types"].append(types)
      rows["start"].append(start)
      rows["end"].append(end)
      rows["example"].append(index)
      if keep_offsets:
        token_starts = np.full(seq_length, -1, np.int32)
        token_ends = np.full(seq_length, -1, np.int32)
        max_context = np.zeros(seq_length, bool)
        window = slice(first, first + length)
        token_starts[window] = starts[offset:offset + length]
        token_ends[window] = ends[offset:offset + length]
        max_context[window] = best_span[offset:offset + length] == span_index
        rows["token_starts"].append(token_starts)
        rows["token_ends"].append(token_ends)
        rows["max_context"].append(max_context)
  if unanswerable:
    logging.warning("%d answers cover no token (only characters tokenization "
                    "drops)%s", unanswerable,
                    "; their questions are left out" if is_training else "")
  if not rows["ids"]:
    raise SquadError("no questions to featurize")
  lengths = np.array(rows["length"])[:, None]
  features = {"input_word_ids": np.stack(rows["ids"]),
              "input_mask": (np.arange(seq_length) < lengths).astype(np.int32),
              "input_type_ids": np.stack(rows["types"]),
              "start_positions": np.array(rows["start"], np.int32),
              "end_positions": np.array(rows["end"], np.int32)}
  windows = Windows(np.array(rows["example"], np.int64))
  if keep_offsets:
    windows.token_starts = np.stack(rows["token_starts"])
    windows.token_ends = np.stack(rows["token_ends"])
    windows.is_max_context = np.stack(rows["max_context"])
  return features, windows
