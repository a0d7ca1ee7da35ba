"""tf.data pipelines: names, dtypes, sharding, clear length errors."""

import sqz_tf  # noqa: F401  pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.data import classification_pipeline
from sqz_tf.data import glue
from sqz_tf.data import pretraining_pipeline
from sqz_tf.data import pretraining_records
from sqz_tf.data import record_checks
from sqz_tf.data import tokenizer as tokenizer_lib
from tests import data_fixtures


def _make_records(root, seq_length, name="p"):
  data_fixtures.write_vocab(root / "vocab.txt", numbers=600)
  data_fixtures.write_number_corpus(root / "corpus.txt", num_docs=40)
  options = pretraining_records.PretrainingDataOptions(
      max_seq_length=seq_length, max_predictions_per_seq=4, dupe_factor=2)
  pattern = str(root / (name + "-{shard}.tfrecord"))
  stats = pretraining_records.create_pretraining_data(
      [str(root / "corpus.txt")], str(root / "vocab.txt"), pattern, options,
      num_output_shards=2, num_workers=1)
  return str(root / (name + "-*.tfrecord")), stats["instances"]


def test_pretraining_pipeline_names_dtypes_and_values(tmp_path):
  pattern, count = _make_records(tmp_path, 24)
  dataset = pretraining_pipeline.pretraining_dataset(
      pattern, 24, 4, global_batch_size=8, is_training=False)
  batches = list(dataset)
  first = batches[0]
  names = pretraining_pipeline.PRETRAINING_NAMES.values()
  assert sorted(first) == sorted(names)
  assert first["input_word_ids"].shape == (8, 24)
  assert first["input_word_ids"].dtype == tf.int32
  assert first["masked_lm_weights"].dtype == tf.float32
  assert first["next_sentence_labels"].shape == (8, 1)
  assert sum(len(b["input_word_ids"]) for b in batches) == count
  written = sorted(
      tuple(row) for shard in ("p-0", "p-1") for row in
      pretraining_records.numpy_records(
          str(tmp_path / f"{shard}.tfrecord"))["input_ids"])
  read = sorted(tuple(row) for b in batches
                for row in b["input_word_ids"].numpy())
  assert read == written

  training = pretraining_pipeline.pretraining_dataset(
      pattern, 24, 4, global_batch_size=8, is_training=True, seed=1)
  for batch in training.take(count):  # Repeats past one epoch.
    assert batch["input_word_ids"].shape == (8, 24)


def test_input_context_shards_records_between_pipelines(tmp_path):
  pattern, count = _make_records(tmp_path, 24)
  seen = []
  for pipeline_id in range(2):
    context = tf.distribute.InputContext(num_input_pipelines=2,
                                         input_pipeline_id=pipeline_id,
                                         num_replicas_in_sync=2)
    dataset = pretraining_pipeline.pretraining_dataset(
        pattern, 24, 4, global_batch_size=8, is_training=False,
        input_context=context)
    ids = [tuple(row) for b in dataset for row in
           b["input_word_ids"].numpy()]
    assert next(iter(dataset))["input_word_ids"].shape[0] == 4
    seen.append(ids)
  # Two files, two pipelines: each reads one file, none twice.
  assert len(seen[0]) + len(seen[1]) == count
  assert not set(seen[0]) & set(seen[1])


def test_wrong_seq_length_error_names_file_and_cause(tmp_path):
  pattern, _ = _make_records(tmp_path, 16)
  with pytest.raises(record_checks.RecordFormatError) as error:
    pretraining_pipeline.pretraining_dataset(pattern, 32, 4, 8)
  message = str(error.value)
  assert "p-0.tfrecord" in message and "length 16, expected 32" in message
  assert "--max_seq_length=16" in message
  with pytest.raises(record_checks.RecordFormatError,
                     match="--max_predictions_per_seq=4"):
    pretraining_pipeline.pretraining_dataset(pattern, 16, 20, 8)
  with pytest.raises(sqz_tf.SqzError, match="no record file"):
    pretraining_pipeline.pretraining_dataset(str(tmp_path / "none*"), 16, 4,
                                             8)
  (tmp_path / "junk.tfrecord").write_bytes(b"not a record file at all")
  with pytest.raises(record_checks.RecordFormatError, match="junk.tfrecord"):
    pretraining_pipeline.pretraining_dataset(str(tmp_path / "junk.tfrecord"),
                                             16, 4, 8)


def test_classification_records_round_trip(tmp_path):
  vocab = data_fixtures.write_vocab(tmp_path / "vocab.txt")
  layer = tokenizer_lib.BertTokenizerLayer(vocab, seq_length=16)
  examples = [glue.InputExample(f"train-{i}", f"hello world {i}",
                                "playing" if i % 2 else "the token",
                                ("entailment", "not_entailment")[i % 2])
              for i in range(10)]
  path = str(tmp_path / "rte.tfrecord")
  assert classification_pipeline.write_classification_records(
      examples, "RTE", layer, path) == 10
  dataset = classification_pipeline.classification_dataset(path, 16, 4)
  features, labels = zip(*dataset)
  assert np.concatenate(labels).tolist() == [i % 2 for i in range(10)]
  assert sorted(features[0]) == ["example_index", "input_mask",
                                 "input_type_ids", "input_word_ids"]
  expected = layer.encode([e.text_a for e in examples],
                          [e.text_b for e in examples])
  np.testing.assert_array_equal(
      np.concatenate([f["input_word_ids"] for f in features]),
      expected["input_word_ids"])
  assert features[0]["input_word_ids"].dtype == tf.int32

  scores = [glue.InputExample("t", "a", "b", 1.5),
            glue.InputExample("t", "c", "d", 4.0)]
  path = str(tmp_path / "sts.tfrecord")
  classification_pipeline.write_classification_records(scores, "STS-B",
                                                       layer, path)
  batch = next(iter(classification_pipeline.classification_dataset(
      path, 16, 2, is_regression=True, as_supervised=False)))
  assert batch["label"].numpy().tolist() == [1.5, 4.0]
  with pytest.raises(record_checks.RecordFormatError, match="length 16"):
    classification_pipeline.classification_dataset(path, 32, 2)
