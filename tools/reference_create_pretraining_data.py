r"""Reference point for the benchmark: google-research/bert's algorithm.

A single-process re-implementation of google-research/bert's
create_pretraining_data.py, written for `benchmark_pretraining_data.py`:
pure-Python BasicTokenizer + WordPiece, the whole corpus held in memory,
NSP examples, global shuffle, tf.train.Example records. Not for real use
(sqz_tf.create_pretraining_data is the tool).

  python tools/reference_create_pretraining_data.py --input_file=corpus.txt \
      --vocab_file=vocab.txt --output_file=ref.tfrecord --dupe_factor=2
"""

import argparse
import random
import unicodedata

import sqz_tf  # pylint: disable=unused-import
import tensorflow as tf


def _is_whitespace(ch):
  return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch):
  if ch in "\t\n\r":
    return False
  return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
  cp = ord(ch)
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
  return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or
          0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F or
          0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or
          0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class FullTokenizer:
  """BERT's basic tokenization then greedy longest-match WordPiece."""

  def __init__(self, vocab_file, do_lower_case=True):
    with open(vocab_file, encoding="utf-8") as f:
      self.vocab = {}
      for line in f:
        self.vocab.setdefault(line.rstrip("\n"), len(self.vocab))
    self.inv_vocab = {v: k for k, v in self.vocab.items()}
    self.do_lower_case = do_lower_case

  def _basic(self, text):
    chars = []
    for ch in text:
      cp = ord(ch)
      if cp == 0 or cp == 0xFFFD or _is_control(ch):
        continue
      if _is_cjk(cp):
        chars.append(f" {ch} ")
      else:
        chars.append(" " if _is_whitespace(ch) else ch)
    words = []
    for token in "".join(chars).split():
      if self.do_lower_case:
        token = unicodedata.normalize("NFD", token.lower())
        token = "".join(c for c in token if unicodedata.category(c) != "Mn")
      current = []
      for ch in token:
        if _is_punctuation(ch):
          if current:
            words.append("".join(current))
            current = []
          words.append(ch)
        else:
          current.append(ch)
      if current:
        words.append("".join(current))
    return words

  def _wordpiece(self, word):
    if len(word) > 200:
      return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
      end = len(word)
      piece = None
      while start < end:
        candidate = word[start:end]
        if start > 0:
          candidate = "##" + candidate
        if candidate in self.vocab:
          piece = candidate
          break
        end -= 1
      if piece is None:
        return ["[UNK]"]
      pieces.append(piece)
      start = end
    return pieces

  def tokenize(self, text):
    return [p for w in self._basic(text) for p in self._wordpiece(w)]


def read_documents(input_files, tokenizer, rng):
  documents = [[]]
  for path in input_files:
    with open(path, encoding="utf-8", errors="replace") as f:
      for line in f:
        line = line.strip()
        if not line:
          documents.append([])
          continue
        tokens = tokenizer.tokenize(line)
        if tokens:
          documents[-1].append(tokens)
  documents = [d for d in documents if d]
  rng.shuffle(documents)
  return documents


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
  while len(tokens_a) + len(tokens_b) > max_num_tokens:
    trunc = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
    if rng.random() < 0.5:
      del trunc[0]
    else:
      trunc.pop()


def mask_tokens(tokens, args, vocab_words, rng):
  candidates = []
  for i, token in enumerate(tokens):
    if token in ("[CLS]", "[SEP]"):
      continue
    if args.do_whole_word_mask and candidates and token.startswith("##"):
      candidates[-1].append(i)
    else:
      candidates.append([i])
  rng.shuffle(candidates)
  output = list(tokens)
  num_to_predict = min(args.max_predictions_per_seq,
                       max(1, int(round(len(tokens) * args.masked_lm_prob))))
  masked, covered = [], set()
  for index_set in candidates:
    if len(masked) >= num_to_predict:
      break
    if len(masked) + len(index_set) > num_to_predict:
      continue
    if any(i in covered for i in index_set):
      continue
    for index in index_set:
      covered.add(index)
      if rng.random() < 0.8:
        replacement = "[MASK]"
      elif rng.random() < 0.5:
        replacement = tokens[index]
      else:
        replacement = vocab_words[rng.randint(0, len(vocab_words) - 1)]
      output[index] = replacement
      masked.append((index, tokens[index]))
  masked.sort()
  return output, [m[0] for m in masked], [m[1] for m in masked]


def instances_from_document(documents, doc_index, args, vocab_words, rng):
  document = documents[doc_index]
  max_num_tokens = args.max_seq_length - 3
  target = max_num_tokens
  if rng.random() < args.short_seq_prob:
    target = rng.randint(2, max_num_tokens)
  instances, chunk, length, i = [], [], 0, 0
  while i < len(document):
    chunk.append(document[i])
    length += len(document[i])
    if i == len(document) - 1 or length >= target:
      a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
      tokens_a = [t for s in chunk[:a_end] for t in s]
      tokens_b = []
      if len(chunk) == 1 or rng.random() < 0.5:
        is_random_next = True
        for _ in range(10):
          random_index = rng.randint(0, len(documents) - 1)
          if random_index != doc_index:
            break
        random_doc = documents[random_index]
        for j in range(rng.randint(0, len(random_doc) - 1), len(random_doc)):
          tokens_b.extend(random_doc[j])
          if len(tokens_b) >= target - len(tokens_a):
            break
        i -= len(chunk) - a_end
      else:
        is_random_next = False
        tokens_b = [t for s in chunk[a_end:] for t in s]
      truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
      tokens = ["[CLS]"] + tokens_a + ["[SEP]"] + tokens_b + ["[SEP]"]
      segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
      tokens, positions, labels = mask_tokens(tokens, args, vocab_words, rng)
      instances.append((tokens, segment_ids, is_random_next, positions,
                        labels))
      chunk, length = [], 0
    i += 1
  return instances


def write_examples(instances, tokenizer, args):
  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
  with tf.io.TFRecordWriter(args.output_file) as writer:
    for tokens, segment_ids, is_random_next, positions, labels in instances:
      ids = [tokenizer.vocab[t] for t in tokens]
      pad = args.max_seq_length - len(ids)
      pad_lm = args.max_predictions_per_seq - len(positions)
      features = {
          "input_ids": ints(ids + [0] * pad),
          "input_mask": ints([1] * len(ids) + [0] * pad),
          "segment_ids": ints(segment_ids + [0] * pad),
          "masked_lm_positions": ints(positions + [0] * pad_lm),
          "masked_lm_ids": ints([tokenizer.vocab[t] for t in labels] +
                                [0] * pad_lm),
          "masked_lm_weights": tf.train.Feature(float_list=tf.train.FloatList(
              value=[1.0] * len(positions) + [0.0] * pad_lm)),
          "next_sentence_labels": ints([1 if is_random_next else 0]),
      }
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=features)).SerializeToString())


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--input_file", required=True)
  parser.add_argument("--vocab_file", required=True)
  parser.add_argument("--output_file", required=True)
  parser.add_argument("--max_seq_length", type=int, default=128)
  parser.add_argument("--max_predictions_per_seq", type=int, default=20)
  parser.add_argument("--masked_lm_prob", type=float, default=0.15)
  parser.add_argument("--short_seq_prob", type=float, default=0.1)
  parser.add_argument("--dupe_factor", type=int, default=10)
  parser.add_argument("--random_seed", type=int, default=12345)
  parser.add_argument("--do_whole_word_mask", action="store_true")
  parser.add_argument("--do_lower_case", type=int, default=1)
  args = parser.parse_args()
  tokenizer = FullTokenizer(args.vocab_file, bool(args.do_lower_case))
  rng = random.Random(args.random_seed)
  documents = read_documents(args.input_file.split(","), tokenizer, rng)
  vocab_words = list(tokenizer.vocab)
  instances = []
  for _ in range(args.dupe_factor):
    for doc_index in range(len(documents)):
      instances.extend(instances_from_document(documents, doc_index, args,
                                               vocab_words, rng))
  rng.shuffle(instances)
  write_examples(instances, tokenizer, args)
  print(f"reference: {len(instances)} examples, "
        f"{sum(len(s) for d in documents for s in d)} tokens")


if __name__ == "__main__":
  main()
