"""tf.data input pipeline for masked-LM + SOP/NSP pretraining records.

Reads google-research/bert's record layout (ours, google's or Model
Garden's) and yields the model's feature names:

  >>> dataset = pretraining_dataset("out-*.tfrecord", seq_length=128,
  ...                               max_predictions_per_seq=20,
  ...                               global_batch_size=256)
  >>> sorted(next(iter(dataset)))
  ['input_mask', 'input_type_ids', 'input_word_ids', 'masked_lm_ids',
   'masked_lm_positions', 'masked_lm_weights', 'next_sentence_labels']
"""

import tensorflow as tf

from sqz_tf.data import record_checks

# Record feature -> model input name.
PRETRAINING_NAMES = {
    "input_ids": "input_word_ids",
    "input_mask": "input_mask",
    "segment_ids": "input_type_ids",
    "masked_lm_positions": "masked_lm_positions",
    "masked_lm_ids": "masked_lm_ids",
    "masked_lm_weights": "masked_lm_weights",
    "next_sentence_labels": "next_sentence_labels",
}


def make_dataset(files, feature_spec, rename, global_batch_size, is_training,
                 input_context, shuffle_buffer_size, seed, repeat):
  """Shared by the pretraining and classification pipelines."""
  if input_context:
    batch_size = input_context.get_per_replica_batch_size(global_batch_size)
  else:
    batch_size = global_batch_size
  dataset = tf.data.Dataset.from_tensor_slices(files)
  shard_records = False
  if input_context and input_context.num_input_pipelines > 1:
    if len(files) >= input_context.num_input_pipelines:
      dataset = dataset.shard(input_context.num_input_pipelines,
                              input_context.input_pipeline_id)
    else:
      shard_records = True
  if is_training:
    dataset = dataset.shuffle(len(files), seed=seed)
  dataset = dataset.interleave(
      tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
      # Deterministic: a resumed run re-reads the same order (see Trainer).
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if shard_records:
    dataset = dataset.shard(input_context.num_input_pipelines,
                            input_context.input_pipeline_id)
  if is_training:
    dataset = dataset.shuffle(shuffle_buffer_size, seed=seed)
  if repeat:
    dataset = dataset.repeat()
  # Batches are parsed at once: much faster than record by record.
  dataset = dataset.batch(batch_size, drop_remainder=is_training)

  def parse(serialized):
    parsed = tf.io.parse_example(serialized, feature_spec)
    out = {}
    for name, value in parsed.items():
      if value.dtype == tf.int64:
        value = tf.cast(value, tf.int32)
      out[rename.get(name, name)] = value
    return out

  dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
  return dataset.prefetch(tf.data.AUTOTUNE)


def pretraining_dataset(file_patterns, seq_length, max_predictions_per_seq,
                        global_batch_size, is_training=True,
                        input_context=None, shuffle_buffer_size=10000,
                        seed=None, repeat=None):
  """Batches of pretraining features, int32 (weights float32).

  With a `tf.distribute.InputContext` each input pipeline reads its share
  of the files (or of the records, when there are fewer files) and batches
  per replica. Training shuffles, repeats and drops the last short batch.
  `next_sentence_labels` is `[batch, 1]`, as in google's records.
  """
  files = record_checks.expand_record_files(file_patterns)
  lengths = {"input_ids": seq_length, "input_mask": seq_length,
             "segment_ids": seq_length,
             "masked_lm_positions": max_predictions_per_seq,
             "masked_lm_ids": max_predictions_per_seq,
             "masked_lm_weights": max_predictions_per_seq,
             "next_sentence_labels": 1}
  hints = {"input_ids": "--max_seq_length",
           "masked_lm_positions": "--max_predictions_per_seq"}
  for path in files:
    record_checks.check_first_record(path, lengths, hints)
  spec = {name: tf.io.FixedLenFeature(
      [length], tf.float32 if name == "masked_lm_weights" else tf.int64)
          for name, length in lengths.items()}
  return make_dataset(files, spec, PRETRAINING_NAMES, global_batch_size,
                      is_training, input_context, shuffle_buffer_size, seed,
                      is_training if repeat is None else repeat)
