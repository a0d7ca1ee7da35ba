"""Tiny vocabularies and corpora that the data tests build themselves."""

import os
import random
import string

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["hello", "world", "play", "##ing", "##ed", "un", "##aff", "##able",
         "cafe", "naive", "the", "a", "is", "token", "##izer", "##s", "long",
         "中", "文", "日", "本", "straße", "σας", "Hello", "World", "Café",
         "é", "##é", "x", "##x"]


def write_vocab(path, numbers=0, uncased=False):
  """A vocab.txt: special tokens, characters, '##' characters, WORDS.

  With `numbers`, also the whole words "0" .. str(numbers - 1); `uncased`
  leaves out the tokens with capitals.
  """
  chars = (string.ascii_lowercase + string.ascii_uppercase + string.digits +
           string.punctuation)
  tokens = list(SPECIAL) + [f"[unused{i}]" for i in range(3)]
  tokens += list(chars) + ["##" + c for c in string.ascii_lowercase +
                           string.digits]
  tokens += [w for w in WORDS if w not in tokens]
  if uncased:
    tokens = [t for t in tokens if t in SPECIAL or t.startswith("[unused")
              or t == t.lower()]
  tokens += [str(i) for i in range(10, numbers)]
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(tokens) + "\n")
  return tokens


def write_number_corpus(path, num_docs=60, seed=0, bad_bytes=True):
  """Documents whose tokens are increasing numbers, so order is visible.

  Each line is a sentence of 1-12 consecutive numbers; documents hold 1-12
  sentences, separated by blank lines (sometimes several). Numbers stay
  below 600 and restart per document.
  """
  rng = random.Random(seed)
  lines = []
  for d in range(num_docs):
    n = rng.randint(10, 50)
    for _ in range(rng.choice([1, 1, 2, 3, 5, 8, 12])):
      k = rng.randint(1, 12)
      lines.append(" ".join(str(n + j) for j in range(k)).encode())
      n += k
    lines.append(b"")
    if d % 7 == 0:
      lines.append(b"   ")  # A whitespace-only line is a blank line too.
  if bad_bytes:
    # A document of its own, so the order of the others is kept.
    lines += [b"100 101 \xff\xfe 102", b""]
  with open(path, "wb") as f:
    f.write(b"\n".join(lines) + b"\n")


RTE_WORDS = ["hello", "world", "play", "cafe", "naive", "the", "a", "is",
             "token", "long"]


def write_toy_rte(directory, rows=240, seed=0):
  """RTE-format files; entailment iff the hypothesis says "hello"."""
  rng = random.Random(seed)
  os.makedirs(directory, exist_ok=True)

  def row(index, with_label):
    premise = " ".join(rng.choice(RTE_WORDS) for _ in range(6))
    entails = rng.random() < 0.5
    words = [w for w in RTE_WORDS if w != "hello"]
    hypothesis = " ".join(rng.choice(words) for _ in range(3))
    if entails:
      hypothesis += " hello"
    label = "entailment" if entails else "not_entailment"
    return f"{index}\t{premise}\t{hypothesis}" + (f"\t{label}" if with_label
                                                  else "")

  for name, count, labelled in (("train.tsv", rows, True),
                                ("dev.tsv", 80, True),
                                ("test.tsv", 30, False)):
    header = "index\tsentence1\tsentence2" + ("\tlabel" if labelled else "")
    with open(os.path.join(directory, name), "w") as f:
      f.write("\n".join([header] + [row(i, labelled) for i in range(count)])
              + "\n")


SST2_WORDS = ["the", "play", "is", "long", "a", "world", "token", "cafe",
              "naive"]


def write_toy_sst2(directory, rows=120, seed=0):
  """SST-2-format files; positive iff the sentence says "hello".

  Every fifth dev sentence carries an accented word ("café", "naïve"),
  which BERT's tokenizer strips and MediaPipe's does not.
  """
  rng = random.Random(seed)
  os.makedirs(directory, exist_ok=True)

  def sentence(index, accents):
    words = [rng.choice(SST2_WORDS) for _ in range(rng.randint(3, 7))]
    positive = rng.random() < 0.5
    if positive:
      words.insert(rng.randrange(len(words) + 1), "hello")
    if accents and index % 5 == 0:
      words.append(rng.choice(["café", "naïve"]))
    return " ".join(words), int(positive)

  for name, count, labelled in (("train.tsv", rows, True),
                                ("dev.tsv", 40, True),
                                ("test.tsv", 20, False)):
    lines = ["sentence\tlabel" if labelled else "index\tsentence"]
    for i in range(count):
      text, label = sentence(i, accents=name != "train.tsv")
      lines.append(f"{text}\t{label}" if labelled else f"{i}\t{text}")
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
      f.write("\n".join(lines) + "\n")
