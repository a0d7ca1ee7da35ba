"""google-research/bert's instance creation and masking, on token ids.

`create_instances_from_document` and `create_masked_lm_predictions` follow
google-research/bert's create_pretraining_data.py (NSP), with ALBERT's
sentence-order prediction (SOP) and a single-segment mode added. They work
on lists of WordPiece ids so that no strings are built per token.
"""

import dataclasses

SENTENCE_TASKS = ("sop", "nsp", "none")


@dataclasses.dataclass(frozen=True)
class InstanceOptions:
  """What shapes the examples (the flags of create_pretraining_data)."""
  max_seq_length: int = 128
  max_predictions_per_seq: int = 20
  masked_lm_prob: float = 0.15
  short_seq_prob: float = 0.1
  sentence_task: str = "sop"
  whole_word_masking: bool = False


@dataclasses.dataclass(frozen=True)
class SpecialIds:
  """Ids the algorithm needs from the vocabulary."""
  cls: int
  sep: int
  mask: int
  vocab_size: int
  # For whole-word masking: which ids are "##" continuations.
  continuation: tuple = ()


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
  """Cuts the longer list, at the front or back at random, until they fit.

  Same lengths as google-research/bert's one-token-at-a-time loop (from
  the longer list; from `tokens_b` on a tie), each removed token taken from
  the front or the back with probability 1/2, in O(1) Python steps.
  """
  len_a, len_b = len(tokens_a), len(tokens_b)
  if len_a + len_b <= max_num_tokens:
    return
  keep_a = min(len_a, max(max_num_tokens - len_b, (max_num_tokens + 1) // 2))
  keep_b = max_num_tokens - keep_a
  for tokens, cut in ((tokens_a, len_a - keep_a), (tokens_b, len_b - keep_b)):
    if cut > 0:
      front = bin(rng.getrandbits(cut)).count("1")
      del tokens[len(tokens) - (cut - front):]
      del tokens[:front]


def create_masked_lm_predictions(tokens, options, ids, rng):
  """Masks tokens in place; returns (positions, original ids), sorted.

  As google-research/bert: [CLS]/[SEP] are never chosen; each chosen token
  becomes [MASK] 80% of the time, stays 10% and is a random id 10%.
  Without whole-word masking the chosen positions are a uniform sample,
  as google's shuffle-and-take gives, drawn with fewer random numbers.
  """
  num_to_predict = min(options.max_predictions_per_seq,
                       max(1, int(round(len(tokens) *
                                        options.masked_lm_prob))))
  special = (ids.cls, ids.sep)
  if options.whole_word_masking:
    chosen = _whole_words(tokens, num_to_predict, ids, rng)
  else:
    candidates = [i for i, t in enumerate(tokens) if t not in special]
    chosen = rng.sample(candidates, min(num_to_predict, len(candidates)))
  chosen.sort()
  originals = [tokens[i] for i in chosen]
  random_ = rng.random
  for index in chosen:
    r = random_()
    if r < 0.8:
      tokens[index] = ids.mask
    elif r >= 0.9:
      tokens[index] = rng.randint(0, ids.vocab_size - 1)
  return chosen, originals


def _whole_words(tokens, num_to_predict, ids, rng):
  """google's whole-word choice: shuffled words, skipping ones too long."""
  cand_indexes = []
  continuation = ids.continuation
  after_special = True
  for i, token in enumerate(tokens):
    if token == ids.cls or token == ids.sep:
      after_special = True
      continue
    # Unlike google's code, a "##" piece that starts a segment (cut at the
    # front) is not glued to the last word of the segment before.
    if continuation[token] and not after_special:
      cand_indexes[-1].append(i)
    else:
      cand_indexes.append([i])
    after_special = False
  rng.shuffle(cand_indexes)
  chosen = []
  for index_set in cand_indexes:
    if len(chosen) >= num_to_predict:
      break
    if len(chosen) + len(index_set) > num_to_predict:
      continue
    chosen.extend(index_set)
  return chosen


def _pack(tokens_a, tokens_b, ids):
  tokens = [ids.cls] + tokens_a + [ids.sep]
  segment_ids = [0] * len(tokens)
  if tokens_b:
    tokens += tokens_b + [ids.sep]
    segment_ids += [1] * (len(tokens_b) + 1)
  return tokens, segment_ids


def create_instances_from_document(documents, doc_index, options, ids, rng):
  """Yields (tokens, segment_ids, label) from one document (lists of ids).

  `documents` is the bounded pool of documents (one chunk of the corpus)
  that NSP draws its random next segments from.
  """
  document = documents[doc_index]
  task = options.sentence_task
  max_num_tokens = options.max_seq_length - (2 if task == "none" else 3)
  target_seq_length = max_num_tokens
  # Some short sequences, so the model also sees lengths it meets in use.
  if rng.random() < options.short_seq_prob:
    target_seq_length = rng.randint(2, max_num_tokens)
  current_chunk = []
  current_length = 0
  i = 0
  while i < len(document):
    segment = document[i]
    current_chunk.append(segment)
    current_length += len(segment)
    if i == len(document) - 1 or current_length >= target_seq_length:
      if task == "none":
        tokens_a = [t for s in current_chunk for t in s]
        truncate_seq_pair(tokens_a, [], max_num_tokens, rng)
        yield _pack(tokens_a, [], ids) + (0,)
      else:
        pair = _make_pair(documents, doc_index, current_chunk,
                          target_seq_length, task, rng)
        if pair is not None:
          tokens_a, tokens_b, label, unused = pair
          i -= unused
          truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
          yield _pack(tokens_a, tokens_b, ids) + (label,)
      current_chunk = []
      current_length = 0
    i += 1


def _make_pair(documents, doc_index, chunk, target_seq_length, task, rng):
  """(tokens_a, tokens_b, label, segments to put back) or None."""
  a_end = 1
  if len(chunk) >= 2:
    a_end = rng.randint(1, len(chunk) - 1)
  tokens_a = [t for s in chunk[:a_end] for t in s]
  if task == "nsp":
    if len(chunk) == 1 or rng.random() < 0.5:
      target_b_length = target_seq_length - len(tokens_a)
      random_index = doc_index
      for _ in range(10):
        random_index = rng.randint(0, len(documents) - 1)
        if random_index != doc_index:
          break
      random_document = documents[random_index]
      tokens_b = []
      for j in range(rng.randint(0, len(random_document) - 1),
                     len(random_document)):
        tokens_b.extend(random_document[j])
        if len(tokens_b) >= target_b_length:
          break
      # The segments not used go back to the document for the next example.
      return tokens_a, tokens_b, 1, len(chunk) - a_end
    return tokens_a, [t for s in chunk[a_end:] for t in s], 0, 0
  # SOP never takes text from another document. A lone segment is cut in
  # two instead (ALBERT would pair it with a random document).
  if len(chunk) == 1:
    if len(tokens_a) < 2:
      return None
    cut = rng.randint(1, len(tokens_a) - 1)
    tokens_a, tokens_b = tokens_a[:cut], tokens_a[cut:]
  else:
    tokens_b = [t for s in chunk[a_end:] for t in s]
  if rng.random() < 0.5:
    return tokens_b, tokens_a, 1, 0
  return tokens_a, tokens_b, 0, 0
