r"""Writes masked-LM + SOP/NSP pretraining TFRecords from raw text.

Input: one sentence per line, a blank line between documents (the
google-research/bert format). Output: google-research/bert's record layout.

  python -m sqz_tf.create_pretraining_data --input_files='wiki/*.txt' \
      --vocab_file=vocab.txt --output_files='out/train-{shard}.tfrecord' \
      --num_output_shards=4 --max_seq_length=128 --sentence_task=sop \
      --dupe_factor=5 --random_seed=12345
"""

from absl import flags
from absl import logging

from sqz_tf import cli
from sqz_tf.data import pretraining_instances
from sqz_tf.data import pretraining_records
from sqz_tf.errors import SqzError

flags.DEFINE_list("input_files", None, "Comma-separated globs of text files.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab.txt.")
flags.DEFINE_string("output_files", None,
                    "Output path; {shard} becomes the shard number.")
flags.DEFINE_integer("num_output_shards", 1, "Number of output files.")
flags.DEFINE_integer("max_seq_length", 128, "Tokens per example.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked tokens at most.")
flags.DEFINE_float("masked_lm_prob", 0.15, "Share of tokens to mask.")
flags.DEFINE_integer("dupe_factor", 10, "Passes over the corpus, each with "
                     "other masks.")
flags.DEFINE_float("short_seq_prob", 0.1, "Share of shorter examples.")
flags.DEFINE_enum("sentence_task", "sop", pretraining_instances.SENTENCE_TASKS,
                  "sop (order, label 1 = swapped), nsp (label 1 = random "
                  "next) or none (one segment).")
flags.DEFINE_bool("whole_word_masking", False, "Mask all pieces of a word.")
flags.DEFINE_bool("do_lower_case", True, "Uncased vocabulary.")
flags.DEFINE_integer("random_seed", 12345, "Same seed, same output bytes.")
flags.DEFINE_integer("num_workers", 0, "Processes; 0 = up to 2 (the cores). "
                     "The output does not depend on it.")
flags.DEFINE_integer("chunk_lines", pretraining_records.DEFAULT_CHUNK_LINES,
                     "Lines per unit of work (and NSP's random-document pool).")
flags.DEFINE_bool("overwrite", False, "Replace existing output files.")
flags.mark_flags_as_required(["input_files", "vocab_file", "output_files"])

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  options = pretraining_records.PretrainingDataOptions(
      max_seq_length=FLAGS.max_seq_length,
      max_predictions_per_seq=FLAGS.max_predictions_per_seq,
      masked_lm_prob=FLAGS.masked_lm_prob,
      short_seq_prob=FLAGS.short_seq_prob,
      sentence_task=FLAGS.sentence_task,
      whole_word_masking=FLAGS.whole_word_masking,
      dupe_factor=FLAGS.dupe_factor, random_seed=FLAGS.random_seed,
      do_lower_case=FLAGS.do_lower_case, chunk_lines=FLAGS.chunk_lines)
  stats = pretraining_records.create_pretraining_data(
      FLAGS.input_files, FLAGS.vocab_file, FLAGS.output_files, options,
      num_output_shards=FLAGS.num_output_shards,
      num_workers=FLAGS.num_workers, overwrite=FLAGS.overwrite)
  logging.info("%s", pretraining_records.masking_summary(stats))
  print(f"Wrote {pretraining_records.masking_summary(stats)} to "
        f"{stats['shards']} file(s)")


if __name__ == "__main__":
  cli.run(main)
