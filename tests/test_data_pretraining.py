"""Pretraining records: masking statistics, SOP/NSP order, determinism."""

import os

import sqz_tf  # noqa: F401  pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.data import example_encoding
from sqz_tf.data import pretraining_records as records_lib
from sqz_tf.data import vocab as vocab_lib
from tests import data_fixtures

SEQ, PRED = 32, 5


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  root = tmp_path_factory.mktemp("pretraining")
  vocab = data_fixtures.write_vocab(root / "vocab.txt", numbers=600)
  data_fixtures.write_number_corpus(root / "corpus.txt", num_docs=150)
  return root, vocab


def _options(**kwargs):
  defaults = dict(max_seq_length=SEQ, max_predictions_per_seq=PRED,
                  masked_lm_prob=0.15, dupe_factor=4, random_seed=7,
                  sentence_task="sop", chunk_lines=60)
  defaults.update(kwargs)
  return records_lib.PretrainingDataOptions(**defaults)


def _create(setup, name, shards=1, workers=1, **kwargs):
  root, _ = setup
  pattern = str(root / (name + "-{shard}.tfrecord"))
  stats = records_lib.create_pretraining_data(
      [str(root / "corpus.txt")], str(root / "vocab.txt"), pattern,
      _options(**kwargs), num_output_shards=shards, num_workers=workers,
      overwrite=True)
  paths = [pattern.format(shard=i) for i in range(shards)]
  return stats, paths


def _restore(rows, i):
  """The example's tokens before masking."""
  tokens = rows["input_ids"][i].copy()
  n = int(rows["masked_lm_weights"][i].sum())
  tokens[rows["masked_lm_positions"][i][:n]] = rows["masked_lm_ids"][i][:n]
  return tokens


def _numbers(vocab, ids):
  return [int(vocab[t]) for t in ids]


def test_masking_statistics_and_sop_order(setup):
  _, vocab = setup
  stats, (path,) = _create(setup, "sop")
  rows = records_lib.numpy_records(path)
  cls, sep, mask = (vocab.index(t) for t in ("[CLS]", "[SEP]", "[MASK]"))
  n = len(rows["input_ids"])
  assert n == stats["instances"] > 300
  assert rows["input_ids"].shape == (n, SEQ)
  assert rows["masked_lm_positions"].shape == (n, PRED)
  assert stats["non_utf8_lines"] == 1

  kinds = {"mask": 0, "same": 0, "random": 0}
  masked_total = real_total = 0
  labels = rows["next_sentence_labels"][:, 0]
  for i in range(n):
    length = int(rows["input_mask"][i].sum())
    assert rows["input_mask"][i][:length].all()
    assert not rows["input_ids"][i][length:].any()
    count = int(rows["masked_lm_weights"][i].sum())
    assert count == min(PRED, max(1, round(length * 0.15)))
    masked_total += count
    real_total += length
    positions = rows["masked_lm_positions"][i][:count]
    original = _restore(rows, i)
    assert list(positions) == sorted(set(positions))
    assert not {cls, sep} & set(original[positions])
    assert original[0] == cls
    for p in positions:
      now, was = rows["input_ids"][i][p], original[p]
      kinds["mask" if now == mask else "same" if now == was
            else "random"] += 1

    # Segments: [CLS] A [SEP] B [SEP]; the numbers run up within a
    # document, so SOP label 1 must mean B's numbers come before A's.
    seps = np.flatnonzero(original[:length] == sep)
    assert len(seps) == 2 and seps[1] == length - 1
    a = _numbers(vocab, original[1:seps[0]])
    b = _numbers(vocab, original[seps[0] + 1:seps[1]])
    assert a and b
    segment_ids = rows["segment_ids"][i]
    assert segment_ids[:seps[0] + 1].sum() == 0
    assert segment_ids[seps[0] + 1:length].all()
    if labels[i] == 0:
      assert max(a) < min(b), (a, b)
    else:
      assert min(a) > max(b), (a, b)

  assert 0.12 < masked_total / real_total < 0.17
  total = sum(kinds.values())
  assert abs(kinds["mask"] / total - 0.8) < 0.04
  # A random id can be the original one; google counts it as random.
  assert abs(kinds["same"] / total - 0.1) < 0.035
  assert abs(kinds["random"] / total - 0.1) < 0.035
  assert 0.4 < labels.mean() < 0.6


def test_same_seed_same_bytes_and_worker_count_does_not_matter(setup):
  _, (one,) = _create(setup, "w1", workers=1)
  _, (two,) = _create(setup, "w2", workers=2)
  _, (again,) = _create(setup, "again", workers=1)
  _, (other,) = _create(setup, "other", random_seed=8)
  data = [open(p, "rb").read() for p in (one, two, again, other)]
  assert data[0] == data[1] == data[2]
  assert data[0] != data[3]


def test_shards_split_the_examples(setup):
  stats, paths = _create(setup, "shards", shards=3)
  counts = [len(records_lib.numpy_records(p)["input_ids"]) for p in paths]
  assert sum(counts) == stats["instances"]
  assert max(counts) - min(counts) <= 1


def test_nsp_labels_and_single_segment_mode(setup):
  _, vocab = setup
  stats, (path,) = _create(setup, "nsp", sentence_task="nsp")
  rows = records_lib.numpy_records(path)
  sep = vocab.index("[SEP]")
  labels = rows["next_sentence_labels"][:, 0]
  # One-sentence documents always get a random next segment (label 1).
  assert 0.5 < labels.mean() < 0.9
  for i in np.flatnonzero(labels == 0):
    original = _restore(rows, i)
    seps = np.flatnonzero(original == sep)
    a = _numbers(vocab, original[1:seps[0]])
    b = _numbers(vocab, original[seps[0] + 1:seps[1]])
    assert max(a) < min(b)

  _, (path,) = _create(setup, "none", sentence_task="none")
  rows = records_lib.numpy_records(path)
  assert not rows["segment_ids"].any()
  assert not rows["next_sentence_labels"].any()
  for i in range(len(rows["input_ids"])):
    assert (_restore(rows, i) == sep).sum() == 1


def test_whole_word_masking_masks_whole_words(tmp_path):
  vocab = data_fixtures.write_vocab(tmp_path / "vocab.txt")
  words = ["unaffable", "playing", "tokenizers", "hello", "world", "played"]
  rng = np.random.default_rng(0)
  with open(tmp_path / "corpus.txt", "w") as f:
    for _ in range(40):
      for _ in range(4):
        f.write(" ".join(rng.choice(words, size=8)) + "\n")
      f.write("\n")
  options = _options(whole_word_masking=True, max_predictions_per_seq=8)
  records_lib.create_pretraining_data(
      [str(tmp_path / "corpus.txt")], str(tmp_path / "vocab.txt"),
      str(tmp_path / "wwm.tfrecord"), options, num_workers=1)
  rows = records_lib.numpy_records(str(tmp_path / "wwm.tfrecord"))
  continuation = np.array([t.startswith("##") for t in vocab])
  pieces_masked = 0
  for i in range(len(rows["input_ids"])):
    original = _restore(rows, i)
    count = int(rows["masked_lm_weights"][i].sum())
    chosen = set(rows["masked_lm_positions"][i][:count].tolist())
    length = int(rows["input_mask"][i].sum())
    # Word starts: tokens that are not "##" pieces, and segment starts.
    special = {vocab.index("[CLS]"), vocab.index("[SEP]")}
    starts = [p for p in range(1, length)
              if not continuation[original[p]] or original[p - 1] in special]
    for start, end in zip(starts, starts[1:] + [length]):
      word = set(range(start, end))
      assert not chosen & word or word <= chosen
      pieces_masked += len(word) > 1 and word <= chosen
  assert pieces_masked > 20


def test_empty_corpus_is_an_error_and_leaves_no_file(tmp_path):
  data_fixtures.write_vocab(tmp_path / "vocab.txt")
  (tmp_path / "empty.txt").write_bytes(b"\n  \n\n")
  out = tmp_path / "out"
  with pytest.raises(sqz_tf.SqzError, match="no text"):
    records_lib.create_pretraining_data(
        [str(tmp_path / "empty.txt")], str(tmp_path / "vocab.txt"),
        str(out / "x-{shard}.tfrecord"), _options(), num_output_shards=2)
  assert not os.listdir(out)


def test_bad_options_and_patterns():
  with pytest.raises(sqz_tf.SqzError, match="max_seq_length"):
    _options(max_seq_length=2).check()
  with pytest.raises(sqz_tf.SqzError, match="{shard}"):
    records_lib.shard_paths("out.tfrecord", 2)
  assert records_lib.shard_paths("o-{shard:03d}.tfr", 2) == ["o-000.tfr",
                                                            "o-001.tfr"]


def test_fast_encoding_equals_protobuf_serialization():
  encoder = example_encoding.PretrainingExampleEncoder(
      vocab_size=30522, seq_length=200, max_predictions=30)
  rng = np.random.default_rng(1)
  for n in (3, 64, 200):
    tokens = rng.integers(0, 30522, n).tolist()
    segments = rng.integers(0, 2, n).tolist()
    positions = sorted(rng.choice(n, min(n, 30), replace=False).tolist())
    labels = rng.integers(0, 30522, len(positions)).tolist()

    def ints(values):
      return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    pad, pad_lm = 200 - n, 30 - len(positions)
    example = tf.train.Example(features=tf.train.Features(feature={
        "input_ids": ints(tokens + [0] * pad),
        "input_mask": ints([1] * n + [0] * pad),
        "segment_ids": ints(segments + [0] * pad),
        "masked_lm_positions": ints(positions + [0] * pad_lm),
        "masked_lm_ids": ints(labels + [0] * pad_lm),
        "masked_lm_weights": tf.train.Feature(float_list=tf.train.FloatList(
            value=[1.0] * len(positions) + [0.0] * pad_lm)),
        "next_sentence_labels": ints([1]),
    }))
    ours = encoder.encode(tokens, segments, 1, positions, labels)
    assert ours == example.SerializeToString(deterministic=True)
    assert tf.train.Example.FromString(ours) == example


def test_vocab_must_have_mask(tmp_path):
  (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n")
  (tmp_path / "c.txt").write_text("a a\n")
  with pytest.raises(vocab_lib.VocabError, match=r"\[MASK\]"):
    records_lib.create_pretraining_data(
        [str(tmp_path / "c.txt")], str(tmp_path / "vocab.txt"),
        str(tmp_path / "o.tfrecord"), _options())
