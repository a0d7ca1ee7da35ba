r"""Learns a WordPiece vocab.txt from text files (BERT special tokens first).

  python -m sqz_tf.build_vocab --input_files='corpus/*.txt' \
      --vocab_size=30522 --output=vocab.txt --lower_case
"""

from absl import flags

from sqz_tf import cli
from sqz_tf.data import vocab_builder
from sqz_tf.errors import SqzError

flags.DEFINE_list("input_files", None, "Comma-separated globs of text files.")
flags.DEFINE_integer("vocab_size", 30522, "Target vocabulary size.")
flags.DEFINE_string("output", None, "vocab.txt to write.")
flags.DEFINE_bool("lower_case", True, "Learn an uncased vocabulary.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output.")
flags.mark_flags_as_required(["input_files", "output"])

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  size = vocab_builder.build_vocab_file(
      FLAGS.input_files, FLAGS.vocab_size, FLAGS.output,
      lower_case=FLAGS.lower_case, overwrite=FLAGS.overwrite)
  print(f"Wrote {size} tokens to {FLAGS.output}")


if __name__ == "__main__":
  cli.run(main)
