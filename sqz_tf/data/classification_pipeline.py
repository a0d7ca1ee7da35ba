"""GLUE examples -> classification TFRecords -> tf.data batches.

  >>> layer = BertTokenizerLayer.from_vocab_file("vocab.txt", seq_length=128)
  >>> examples = glue.read_examples("RTE", "glue_data/RTE", "train")
  >>> write_classification_records(examples, "RTE", layer, "rte.tfrecord")
  >>> dataset = classification_dataset("rte.tfrecord", 128, 32)
  >>> features, labels = next(iter(dataset))
"""

import numpy as np
import tensorflow as tf

from sqz_tf.data import glue
from sqz_tf.data import pretraining_pipeline
from sqz_tf.data import record_checks
from sqz_tf.utils import files

CLASSIFICATION_NAMES = {
    "input_ids": "input_word_ids",
    "input_mask": "input_mask",
    "segment_ids": "input_type_ids",
    "label_ids": "label",
    "example_index": "example_index",
}


def examples_to_features(examples, task_name, tokenizer_layer,
                         batch_size=1024):
  """Numpy features of GLUE examples, tokenized in batches.

  Returns `input_word_ids`, `input_mask`, `input_type_ids` `[n, seq]`,
  `label` (int ids, or float scores for STS-B; -1 where there is no label)
  and `example_index` (the test file's index, or -1).
  """
  task = glue.get_task(task_name)
  parts = []
  for start in range(0, len(examples), batch_size):
    batch = examples[start:start + batch_size]
    pairs = batch[0].text_b is not None
    parts.append(tokenizer_layer.encode(
        [e.text_a for e in batch],
        [e.text_b or "" for e in batch] if pairs else None))
  seq_length = tokenizer_layer.seq_length
  out = {k: (np.concatenate([p[k] for p in parts]) if parts
             else np.zeros([0, seq_length], np.int32))
         for k in ("input_word_ids", "input_mask", "input_type_ids")}
  dtype = np.float32 if task.is_regression else np.int32
  out["label"] = np.array([-1 if e.label is None else task.label_id(e.label)
                           for e in examples], dtype)
  out["example_index"] = np.array(
      [int(e.index) if e.index is not None and e.index.strip().isdigit()
       else -1 for e in examples], np.int64)
  return out


def write_classification_records(examples, task_name, tokenizer_layer, path,
                                 overwrite=True):
  """Writes the features as google run_classifier-style TFRecords."""
  task = glue.get_task(task_name)
  features = examples_to_features(examples, task_name, tokenizer_layer)

  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

  with files.atomic_output(path, overwrite=overwrite) as temporary:
    with tf.io.TFRecordWriter(temporary) as writer:
      for i in range(len(examples)):
        label = features["label"][i]
        record = {
            "input_ids": ints(features["input_word_ids"][i]),
            "input_mask": ints(features["input_mask"][i]),
            "segment_ids": ints(features["input_type_ids"][i]),
            "label_ids": (tf.train.Feature(float_list=tf.train.FloatList(
                value=[label])) if task.is_regression else ints([label])),
            "example_index": ints([features["example_index"][i]]),
        }
        writer.write(tf.train.Example(features=tf.train.Features(
            feature=record)).SerializeToString(deterministic=True))
  return len(examples)


def classification_dataset(file_patterns, seq_length, global_batch_size,
                           is_training=False, is_regression=False,
                           input_context=None, shuffle_buffer_size=10000,
                           seed=None, repeat=None, as_supervised=True):
  """Batches of classification features.

  As `(features, label)` for Keras `fit` (default), or one dict holding
  `label` too. `example_index` is kept for submission files.
  """
  record_files = record_checks.expand_record_files(file_patterns)
  lengths = {"input_ids": seq_length, "input_mask": seq_length,
             "segment_ids": seq_length, "label_ids": 1}
  for path in record_files:
    record_checks.check_first_record(path, lengths,
                                     {"input_ids": "--max_seq_length"})
  spec = {name: tf.io.FixedLenFeature([seq_length], tf.int64)
          for name in ("input_ids", "input_mask", "segment_ids")}
  spec["label_ids"] = tf.io.FixedLenFeature(
      [], tf.float32 if is_regression else tf.int64)
  spec["example_index"] = tf.io.FixedLenFeature([], tf.int64,
                                                default_value=-1)
  dataset = pretraining_pipeline.make_dataset(
      record_files, spec, CLASSIFICATION_NAMES, global_batch_size,
      is_training, input_context, shuffle_buffer_size, seed,
      is_training if repeat is None else repeat)
  if as_supervised:
    dataset = dataset.map(lambda d: ({k: v for k, v in d.items()
                                      if k != "label"}, d["label"]))
  return dataset


def in_memory_dataset_fn(features, global_batch_size, shuffle_seed=None):
  """A Trainer `dataset_fn` over numpy features already in memory.

  Each input pipeline takes its shard of the rows, shuffles them if
  `shuffle_seed` is given, repeats, and batches per replica. `example_index`
  (kept for submission files) is left out.
  """
  features = {k: v for k, v in features.items() if k != "example_index"}
  rows = len(next(iter(features.values())))

  def dataset_fn(input_context=None):
    dataset = tf.data.Dataset.from_tensor_slices(features)
    batch_size = global_batch_size
    if input_context:
      dataset = dataset.shard(input_context.num_input_pipelines,
                              input_context.input_pipeline_id)
      batch_size = input_context.get_per_replica_batch_size(global_batch_size)
    if shuffle_seed is not None:
      dataset = dataset.shuffle(min(rows, 100_000), seed=shuffle_seed)
    return dataset.repeat().batch(batch_size, drop_remainder=True).prefetch(2)
  return dataset_fn
