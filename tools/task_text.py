r"""A task's unlabeled training text, as pretraining text.

  python tools/task_text.py --conll=conll2003/eng.train \
      --squad=squad/train-v1.1.json --output=runs/tapt/text/train.txt

Task-adaptive pretraining (Gururangan et al., 2020, "Don't Stop
Pretraining") continues MLM + SOP pretraining on the text of the task's
own training set before finetuning. This writes that text the way
`create_pretraining_data` reads it: one sentence per line, a blank line
between documents. CoNLL files: each sentence's words joined by spaces, a
document per -DOCSTART- block; SQuAD files: the contexts of each article,
split into sentences as `prepare_corpus` does, a document per article.
Tags, questions and answers are not read. Use training files only: text
of the files you evaluate on would leak into the model.
"""

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=wrong-import-position
from sqz_tf.data import conll
from sqz_tf.data import squad
from sqz_tf.data.corpus_preparation import split_sentences
from sqz_tf.errors import SqzError
from sqz_tf.utils.files import atomic_output


def conll_documents(path):
  """Documents (lists of sentences) of a CoNLL file, split at -DOCSTART-."""
  documents = []
  for sentence in conll.read_conll(path):
    if sentence.docstarts or not documents:
      documents.append([])
    documents[-1].append(" ".join(sentence.words))
  return documents


def squad_documents(path):
  """Documents of a SQuAD file: an article's contexts, one sentence a line."""
  _, articles = squad.articles(path)
  documents = []
  for index, article in enumerate(articles):
    try:
      contexts = [p["context"] for p in article["paragraphs"]]
    except (KeyError, TypeError):
      raise squad.SquadError(f"{path}: article {index} has no paragraphs "
                             "with contexts") from None
    sentences = [s for context in contexts for s in split_sentences(context)]
    if sentences:
      documents.append(sentences)
  return documents


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--conll", nargs="*", default=[],
                      help="CoNLL-format training files")
  parser.add_argument("--squad", nargs="*", default=[],
                      help="SQuAD JSON training files")
  parser.add_argument("--output", required=True)
  parser.add_argument("--overwrite", action="store_true")
  args = parser.parse_args()
  if not args.conll and not args.squad:
    sys.exit("task_text: error: give --conll and/or --squad files")
  try:
    counts = {}
    documents = []
    for paths, read in ((args.conll, conll_documents),
                        (args.squad, squad_documents)):
      for path in paths:
        found = read(path)
        counts[path] = (len(found), sum(map(len, found)))
        documents += found
    if not documents:
      raise SqzError("no text in the given files")
    with atomic_output(args.output, overwrite=args.overwrite) as temporary:
      with open(temporary, "w", encoding="utf-8") as f:
        f.write("".join("\n".join(d) + "\n\n" for d in documents))
  except SqzError as e:
    sys.exit(f"task_text: error: {e}")
  print(json.dumps({"output": args.output, "files": {
      path: {"documents": d, "sentences": s}
      for path, (d, s) in counts.items()}}, indent=2))


if __name__ == "__main__":
  main()
