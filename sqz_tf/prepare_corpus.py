r"""Raw English text -> one sentence per line, blank line between documents.

  python -m sqz_tf.prepare_corpus \
      --input_files='corpus/wikitext-2-raw/*.raw,corpus/gutenberg/*.txt' \
      --output_dir=data/text --heldout_from='*wiki.test.raw' --heldout_every=5

Writes output_dir/train.txt (and heldout.txt: every --heldout_every-th
document of the files matching --heldout_from) and corpus_stats.json, the
input of create_pretraining_data. WikiText articles and book chapters are
the documents; sentences come from sentencex (see
sqz_tf/data/corpus_preparation.py for the cleaning rules).
"""

from absl import flags

from sqz_tf import cli
from sqz_tf.data import corpus_preparation
from sqz_tf.errors import SqzError

flags.DEFINE_list("input_files", None, "Comma-separated globs of text files.")
flags.DEFINE_string("output_dir", None, "Folder to write (must not exist "
                    "unless --overwrite).")
flags.DEFINE_enum("format", "auto", corpus_preparation.FORMATS,
                  "wikitext, book, or auto (wikitext if the file has "
                  "' = Title = ' lines).")
flags.DEFINE_list("heldout_from", [], "fnmatch patterns of the input paths "
                  "to draw held-out documents from.")
flags.DEFINE_integer("heldout_every", 0, "Every N-th document of those files "
                     "is held out; 0: nothing is held out.")
flags.DEFINE_integer("paragraphs_per_document", 20, "Document size of books "
                     "without chapter lines.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output_dir.")
flags.mark_flags_as_required(["input_files", "output_dir"])

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  stats = corpus_preparation.prepare_corpus(
      FLAGS.input_files, FLAGS.output_dir, FLAGS.format, FLAGS.heldout_from,
      FLAGS.heldout_every, FLAGS.paragraphs_per_document, FLAGS.overwrite)
  for split in ("train", "heldout"):
    total = stats.total(split)
    if total["documents"]:
      print(f"{split}: {total['documents']} documents, {total['sentences']} "
            f"sentences, {total['characters']:,} characters")
  print(f"Wrote {FLAGS.output_dir}")


if __name__ == "__main__":
  cli.run(main)
