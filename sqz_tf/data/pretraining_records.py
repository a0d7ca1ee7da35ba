"""Raw text -> MLM + SOP/NSP pretraining TFRecords, streaming and parallel.

Input is google-research/bert's format: one sentence per line, a blank line
between documents. The corpus is read as a stream and cut into chunks of
whole documents (about `chunk_lines` lines); each chunk is tokenized, turned
into examples, masked and shuffled with its own seed, so memory stays
bounded, workers can take chunks in any order, and the output depends only
on the input, the options and `random_seed` (not on `num_workers`). NSP's
random next segments come from the documents of the same chunk.
"""

import collections
import contextlib
import dataclasses
import multiprocessing
import os
import random

from absl import logging
import numpy as np
import tensorflow as tf

from sqz_tf.data import example_encoding
from sqz_tf.data import pretraining_instances as instances_lib
from sqz_tf.data import tokenizer as tokenizer_lib
from sqz_tf.data import vocab as vocab_lib
from sqz_tf.data.text_lines import read_lines
from sqz_tf.errors import SqzError
from sqz_tf.utils import files

# Lines per chunk: small enough that memory stays flat from a few MB up,
# large enough to give NSP a pool of documents to draw from.
DEFAULT_CHUNK_LINES = 1000


@dataclasses.dataclass(frozen=True)
class PretrainingDataOptions(instances_lib.InstanceOptions):
  """All the settings of one run of create_pretraining_data."""
  dupe_factor: int = 10
  random_seed: int = 12345
  do_lower_case: bool = True
  chunk_lines: int = DEFAULT_CHUNK_LINES

  def check(self):
    if self.max_seq_length < 3:
      raise SqzError(f"max_seq_length must be at least 3, got "
                     f"{self.max_seq_length}")
    if self.sentence_task not in instances_lib.SENTENCE_TASKS:
      raise SqzError(f"sentence_task must be one of "
                     f"{', '.join(instances_lib.SENTENCE_TASKS)}")
    if self.sentence_task != "none" and self.max_seq_length < 5:
      raise SqzError("a sentence pair needs max_seq_length of at least 5")
    if self.max_predictions_per_seq < 1:
      raise SqzError("max_predictions_per_seq must be at least 1")
    if not 0.0 < self.masked_lm_prob < 1.0:
      raise SqzError("masked_lm_prob must be between 0 and 1")
    if not 0.0 <= self.short_seq_prob <= 1.0:
      raise SqzError("short_seq_prob must be between 0 and 1")
    if self.dupe_factor < 1:
      raise SqzError("dupe_factor must be at least 1")
    if self.chunk_lines < 1:
      raise SqzError("chunk_lines must be at least 1")


def read_document_chunks(input_files, chunk_lines, stats):
  """Yields lists of documents (lists of sentences), about chunk_lines each.

  A document ends at a blank line or at the end of a file. A document longer
  than `chunk_lines` is cut (counted in `stats["split_documents"]`). Lines
  that are not valid UTF-8 are decoded with U+FFFD and counted.
  """
  chunk, document, lines = [], [], 0
  for line in read_lines(input_files, stats):
    if not line:
      if document:
        chunk.append(document)
        document = []
      if lines >= chunk_lines:
        yield chunk
        chunk, lines = [], 0
      continue
    document.append(line)
    lines += 1
    if len(document) >= chunk_lines:
      stats["split_documents"] += 1
      chunk.append(document)
      document = []
      yield chunk
      chunk, lines = [], 0
  if chunk:
    yield chunk


def _tokenize_chunk(tokenizer, chunk):
  """Chunk of sentence strings -> (ids, sentence splits, sentences per doc).

  `tokenizer` maps a string tensor to ragged ids. Numpy arrays are cheap
  to send to a worker, which makes the lists.
  """
  sentences = [s for doc in chunk for s in doc]
  if not sentences:
    return np.zeros([0], np.int32), np.zeros([1], np.int64), []
  ragged = tokenizer(tf.constant(sentences))
  return (ragged.flat_values.numpy(), ragged.row_splits.numpy(),
          [len(doc) for doc in chunk])


def _documents(tokenized):
  """The worker's side of _tokenize_chunk: lists of id lists, no empties."""
  values, splits, doc_sizes = tokenized
  values = values.tolist()
  splits = splits.tolist()
  documents, k = [], 0
  for size in doc_sizes:
    doc = [values[splits[i]:splits[i + 1]] for i in range(k, k + size)
           if splits[i + 1] > splits[i]]
    k += size
    if doc:
      documents.append(doc)
  return documents


class _InstanceMaker:
  """Tokenized documents of one chunk -> shuffled, serialized examples.

  Pure Python (no TensorFlow op), so it can run in forked processes.
  """

  def __init__(self, vocab, options):
    self.options = options
    index = {t: i for i, t in reversed(list(enumerate(vocab)))}
    self.ids = instances_lib.SpecialIds(
        cls=index[vocab_lib.CLS], sep=index[vocab_lib.SEP],
        mask=index[vocab_lib.MASK], vocab_size=len(vocab),
        continuation=tuple(tokenizer_lib.continuation_mask(vocab).tolist()))
    self.encoder = example_encoding.PretrainingExampleEncoder(
        len(vocab), options.max_seq_length, options.max_predictions_per_seq)

  def __call__(self, chunk_index, tokenized):
    documents = _documents(tokenized)
    options = self.options
    stats = collections.Counter()
    stats["documents"] = len(documents)
    stats["sentences"] = sum(len(d) for d in documents)
    stats["tokens"] = sum(len(s) for d in documents for s in d)
    rng = random.Random(f"sqz_tf-{options.random_seed}-{chunk_index}")
    records = []
    for _ in range(options.dupe_factor):
      for doc_index in range(len(documents)):
        for tokens, segment_ids, label in (
            instances_lib.create_instances_from_document(
                documents, doc_index, options, self.ids, rng)):
          positions, labels = instances_lib.create_masked_lm_predictions(
              tokens, options, self.ids, rng)
          stats["labels_%d" % label] += 1
          stats["masked"] += len(positions)
          records.append(self.encoder.encode(tokens, segment_ids, label,
                                             positions, labels))
    rng.shuffle(records)
    stats["instances"] = len(records)
    return records, stats


_maker = None


def _init_worker(maker):
  global _maker
  _maker = maker


def _run_worker(chunk_index, tokenized):
  return _maker(chunk_index, tokenized)


def _results(chunks, vocab, options, num_workers):
  """(records, stats) per chunk, in chunk order, at most a few in flight.

  This process tokenizes (TensorFlow ops); forked workers build the
  examples. They run no TensorFlow op, which is what makes fork safe here.
  """
  layer = tokenizer_lib.BertTokenizerLayer(
      vocab, seq_length=options.max_seq_length,
      lower_case=options.do_lower_case)
  # As a graph: a quarter faster than op by op.
  tokenizer = tf.function(layer.tokenize,
                          input_signature=[tf.TensorSpec([None], tf.string)])
  maker = _InstanceMaker(vocab, options)
  if num_workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
    logging.warning("no fork on this platform: using one process")
    num_workers = 1
  if num_workers <= 1:
    for i, chunk in enumerate(chunks):
      yield maker(i, _tokenize_chunk(tokenizer, chunk))
    return
  context = multiprocessing.get_context("fork")
  with context.Pool(num_workers, initializer=_init_worker,
                    initargs=(maker,)) as pool:
    pending = collections.deque()
    for i, chunk in enumerate(chunks):
      pending.append(pool.apply_async(
          _run_worker, (i, _tokenize_chunk(tokenizer, chunk))))
      if len(pending) >= 2 * num_workers:
        yield pending.popleft().get()
    while pending:
      yield pending.popleft().get()


def shard_paths(output_pattern, num_shards):
  """Output file names: `{shard}` in the pattern becomes 0..num_shards-1."""
  if num_shards < 1:
    raise SqzError("num_output_shards must be at least 1")
  if "{shard" not in output_pattern:
    if num_shards > 1:
      raise SqzError("the output pattern needs {shard} for several shards")
    return [output_pattern]
  try:
    paths = [output_pattern.format(shard=i) for i in range(num_shards)]
  except (KeyError, IndexError, ValueError) as e:
    raise SqzError(f"bad output pattern {output_pattern!r}: {e}") from None
  if len(set(paths)) != len(paths):
    raise SqzError(f"output pattern {output_pattern!r} repeats file names")
  return paths


def create_pretraining_data(input_files, vocab_file, output_pattern,
                            options, num_output_shards=1, num_workers=None,
                            overwrite=False):
  """Writes the shards; returns a Counter of what was read and written.

  Example:
  >>> stats = create_pretraining_data(["corpus.txt"], "vocab.txt",
  ...     "out-{shard}.tfrecord", PretrainingDataOptions(dupe_factor=2))
  >>> stats["instances"]
  1234
  """
  options.check()
  vocab = vocab_lib.load_vocab(vocab_file, required=vocab_lib.SPECIAL_TOKENS)
  input_files = vocab_lib.expand_globs(input_files)
  paths = shard_paths(output_pattern, num_output_shards)
  if num_workers is None or num_workers < 1:
    num_workers = min(2, os.cpu_count() or 1)
  stats = collections.Counter()
  chunks = read_document_chunks(input_files, options.chunk_lines, stats)
  with contextlib.ExitStack() as stack:
    temporaries = [stack.enter_context(files.atomic_output(p, overwrite))
                   for p in paths]
    writers = [stack.enter_context(tf.io.TFRecordWriter(t))
               for t in temporaries]
    written = 0
    for records, chunk_stats in _results(chunks, vocab, options, num_workers):
      stats.update(chunk_stats)
      for record in records:
        writers[written % len(writers)].write(record)
        written += 1
    for writer in writers:
      writer.close()
    if stats["non_utf8_lines"]:
      logging.warning("%d lines were not valid UTF-8; their bad bytes were "
                      "replaced by U+FFFD", stats["non_utf8_lines"])
    if stats["split_documents"]:
      logging.warning("%d documents longer than %d lines were cut",
                      stats["split_documents"], options.chunk_lines)
    if not stats["tokens"]:
      raise SqzError("the input files hold no text: "
                     f"{', '.join(input_files[:3])}")
    if not written:
      raise SqzError("no example could be made from the input (documents "
                     "too short?)")
  stats["shards"] = len(paths)
  return stats


def masking_summary(stats):
  """A one-line summary of a run, for the log."""
  total = stats["labels_0"] + stats["labels_1"]
  return (f"{stats['instances']} examples from {stats['documents']} "
          f"documents ({stats['tokens']} tokens), {stats['masked']} masked "
          f"tokens, label 1 in {stats['labels_1'] / max(total, 1):.1%}")


def numpy_records(path):
  """Reads a pretraining TFRecord file into a dict of numpy arrays (tests)."""
  rows = collections.defaultdict(list)
  for raw in tf.data.TFRecordDataset(path).as_numpy_iterator():
    example = tf.train.Example.FromString(raw)
    for name, feature in example.features.feature.items():
      values = (feature.int64_list.value or feature.float_list.value)
      rows[name].append(list(values))
  return {k: np.array(v) for k, v in rows.items()}
