"""A small English corpus available offline everywhere: stdlib docstrings.

The demo pretraining run needs text on a fresh machine with no download. Every
Python installation ships its standard library's source, whose docstrings
are English prose. They are read with `ast` (nothing is imported or run) and
written in google-research/bert's format: one sentence per line, a blank
line between documents (one document per module).
"""

import ast
import os
import random
import re
import sysconfig

from sqz_tf.errors import SqzError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _module_docstrings(path):
  try:
    with open(path, encoding="utf-8") as f:
      tree = ast.parse(f.read(), filename=path)
  except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
    return []
  nodes = [tree] + [node for node in ast.walk(tree) if isinstance(
      node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
  return [doc for doc in (ast.get_docstring(node) for node in nodes) if doc]


def _sentences(docstring):
  # Paragraphs of prose only: code examples and tables are not sentences.
  for paragraph in re.split(r"\n\s*\n", docstring):
    lines = [line.strip() for line in paragraph.splitlines()]
    if any(line.startswith((">>>", "...", "|", "-", "*", ":")) for line in lines):
      continue
    text = " ".join(line for line in lines if line)
    for sentence in _SENTENCE_END.split(text):
      if len(sentence.split()) >= 4:
        yield sentence


def stdlib_documents(max_chars=None):
  """Yields (module path, sentences) for stdlib modules, in a fixed order."""
  root = sysconfig.get_paths()["stdlib"]
  total = 0
  for directory, subdirs, names in os.walk(root):
    subdirs[:] = sorted(d for d in subdirs if d not in (
        "site-packages", "test", "tests", "idlelib", "__pycache__"))
    for name in sorted(names):
      if not name.endswith(".py"):
        continue
      path = os.path.join(directory, name)
      sentences = [s for doc in _module_docstrings(path)
                   for s in _sentences(doc)]
      if len(sentences) >= 2:
        yield os.path.relpath(path, root), sentences
        total += sum(len(s) for s in sentences)
        if max_chars and total >= max_chars:
          return


def write_demo_corpus(train_path, eval_path, max_chars=3_000_000,
                      eval_every=10):
  """Writes train and held-out eval corpora; every `eval_every`-th module is
  held out. Returns (train documents, eval documents)."""
  counts = [0, 0]
  with open(train_path, "w", encoding="utf-8") as train, open(
      eval_path, "w", encoding="utf-8") as held_out:
    for index, (_, sentences) in enumerate(stdlib_documents(max_chars)):
      is_eval = index % eval_every == eval_every - 1
      (held_out if is_eval else train).write("\n".join(sentences) + "\n\n")
      counts[is_eval] += 1
  if not counts[0] or not counts[1]:
    raise SqzError("found too few docstrings in the Python standard library "
                   f"({sysconfig.get_paths()['stdlib']}) for the demo corpus")
  return tuple(counts)


def prepare_demo_data(data_dir, vocab_size, max_seq_length,
                      max_predictions_per_seq, sentence_task, seed):
  """Corpus → vocab → train/eval records in `data_dir` (reused if there).

  Returns (train record files, eval record files, vocab file).
  """
  # Imported here: only the demo needs the vocab learner and record writer.
  from sqz_tf.data import pretraining_records  # pylint: disable=g-import-not-at-top
  from sqz_tf.data import vocab_builder  # pylint: disable=g-import-not-at-top
  os.makedirs(data_dir, exist_ok=True)
  train_text = os.path.join(data_dir, "stdlib_docstrings_train.txt")
  eval_text = os.path.join(data_dir, "stdlib_docstrings_eval.txt")
  vocab_file = os.path.join(data_dir, "vocab.txt")
  records = {split: os.path.join(data_dir, f"{split}.tfrecord")
             for split in ("train", "eval")}
  if not (os.path.exists(train_text) and os.path.exists(eval_text)):
    write_demo_corpus(train_text, eval_text)
  if not os.path.exists(vocab_file):
    vocab_builder.build_vocab_file([train_text], vocab_size, vocab_file)
  for split, text, dupe_factor in (("train", train_text, 5),
                                   ("eval", eval_text, 1)):
    if not os.path.exists(records[split]):
      options = pretraining_records.PretrainingDataOptions(
          max_seq_length=max_seq_length,
          max_predictions_per_seq=max_predictions_per_seq,
          sentence_task=sentence_task, dupe_factor=dupe_factor,
          random_seed=seed)
      pretraining_records.create_pretraining_data(
          [text], vocab_file, records[split], options)
  return [records["train"]], [records["eval"]], vocab_file


def _corpus_documents(path):
  with open(path, encoding="utf-8") as f:
    text = f.read()
  return [[" ".join(line.split()) for line in block.splitlines()]
          for block in text.split("\n\n") if block.strip()]


def write_next_sentence_task(corpus_path, task_dir, seed=0, train_rows=16000,
                             dev_rows=800):
  """A small GLUE-format pair task from the demo corpus, in RTE's layout.

  Each row is a sentence of one docstring and either the sentence that
  follows it ("entailment") or a sentence of another module's docstrings
  ("not_entailment"), as in BERT's next-sentence prediction; train and dev
  rows are disjoint random pairs. It lets the demo finetune, quantize and
  evaluate a classifier with no download. Returns (train rows, dev rows).
  """
  rng = random.Random(seed)
  documents = [d for d in _corpus_documents(corpus_path) if len(d) > 1]
  if len(documents) < 2:
    raise SqzError(f"{corpus_path} has too few documents for the demo task")
  pairs = [(index, a, b) for index, document in enumerate(documents)
           for a, b in zip(document, document[1:]) if a and b]
  rng.shuffle(pairs)
  os.makedirs(task_dir, exist_ok=True)
  splits = (("dev", pairs[:dev_rows]),
            ("train", pairs[dev_rows:dev_rows + train_rows]))
  for split, chosen in splits:
    rows = ["index\tsentence1\tsentence2\tlabel"]
    for row, (document, first, second) in enumerate(chosen):
      follows = rng.random() < 0.5
      if not follows:
        other = rng.randrange(len(documents) - 1)
        second = rng.choice(documents[other + (other >= document)])
      label = "entailment" if follows else "not_entailment"
      rows.append(f"{row}\t{first}\t{second}\t{label}")
    with open(os.path.join(task_dir, f"{split}.tsv"), "w",
              encoding="utf-8") as f:
      f.write("\n".join(rows) + "\n")
  return len(splits[1][1]), len(splits[0][1])
