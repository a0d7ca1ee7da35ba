"""Self-written SQuAD-format files for the QA tests (no SQuAD text)."""

import json
import os
import random

# Contexts that tokenization changes: accents (stripped), CJK (split per
# character), emoji ([UNK]), runs of spaces, tabs and newlines, control and
# format characters (dropped), punctuation (split off). Every answer must
# come back exactly as written here. (Answers start and end on token
# boundaries, as SQuAD's do: a token is the smallest unit a span can hold.)
OFFSET_SAMPLES = [
    ("Héllo  wörld,   the Café is naïve!", [
        "Héllo", "wörld", "Café is naïve", "naïve!", "Héllo  wörld,"]),
    ("中文text 日本語 mixed中文", ["中文", "text", "日本語", "文text", "mixed中文"]),
    ("emoji 😀👍🏽 hello — x😀x.", ["😀👍🏽", "hello", "— x😀x.", "x😀x"]),
    ("  lead\tand\ntrail  \u3000 spaces ", ["lead", "and\ntrail", "spaces"]),
    ("zero\u200bwidth soft\u00adhyphen a\x00b ctrl\x7fchar",
     ["zero\u200bwidth", "soft\u00adhyphen", "a\x00b", "ctrl\x7fchar"]),
    ("don't stop-believing (ok) $100.00 #1 {x} [y] <z>...",
     ["don't", "stop-believing", "(ok)", "$100.00", "#1 {x}", "<z>..."]),
    ("ΣΑΣ σας İstanbul ﬁne ＡＢＣ Straße ÉCOLE",
     ["ΣΑΣ", "İstanbul", "ﬁne", "ＡＢＣ", "Straße ÉCOLE"]),
    ("unaffable playing tokenizers " + "x" * 101 + " end",
     ["unaffable", "playing", "tokenizers", "x" * 101, "end"]),
]


def paragraph(context, qas):
  return {"context": context, "qas": qas}


def question(qas_id, text, context, answers=(), is_impossible=None):
  """A question whose answers are found in `context` by their text."""
  record = {"id": qas_id, "question": text,
            "answers": [{"text": a, "answer_start": context.index(a)}
                        for a in answers]}
  if is_impossible is not None:
    record["is_impossible"] = is_impossible
  return record


def write_squad(path, paragraphs, version="1.1"):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    json.dump({"version": version, "data": [{"title": "toy",
                                             "paragraphs": paragraphs}]}, f)


def offset_samples_file(path):
  """OFFSET_SAMPLES as a SQuAD v1.1 file (one question per answer)."""
  write_squad(path, [
      paragraph(context, [question(f"s{i}a{j}", "which part?", context,
                                   [answer])
                          for j, answer in enumerate(answers)])
      for i, (context, answers) in enumerate(OFFSET_SAMPLES)])


FILLER = ["the", "a", "is", "long", "naive", "cafe"]
ANSWERS = ["hello", "world", "play", "hello world", "world play",
           "play hello world"]


def toy_squad(directory, version_2=False, num_train=240, num_dev=60, seed=0):
  """A learnable task: the answer is the words after "token".

  Contexts are 8-30 filler words around "token <answer>" (1-3 words not
  used as filler). v2.0: a third of the questions have no "token" and
  answer in the context, and no answer. Writes train-v1.1.json /
  dev-v1.1.json (v2.0: -v2.0).
  """
  rng = random.Random(seed)
  version = "v2.0" if version_2 else "v1.1"

  def make(prefix, count):
    paragraphs = []
    for index in range(count):
      words = [rng.choice(FILLER) for _ in range(rng.randint(8, 30))]
      impossible = version_2 and index % 3 == 0
      answer = rng.choice(ANSWERS)
      if not impossible:
        at = rng.randint(0, len(words) - 1)
        words[at:at] = ["token", answer]
      context = " ".join(words)
      if impossible:
        qa = question(f"{prefix}{index}", "what follows token?", context,
                      is_impossible=True)
      else:
        start = context.index("token " + answer) + len("token ")
        qa = {"id": f"{prefix}{index}", "question": "what follows token?",
              "answers": [{"text": answer, "answer_start": start}]}
        if version_2:
          qa["is_impossible"] = False
      paragraphs.append(paragraph(context, [qa]))
    write_squad(os.path.join(directory, f"{prefix}-{version}.json"),
                paragraphs, version[1:])

  make("train", num_train)
  make("dev", num_dev)
