"""Entity-level precision, recall and F1 as CoNLL's `conlleval` computes them.

Tags are `O`, `B-TYPE` or `I-TYPE`, in IOB1 or IOB2: conlleval reads both
with the same rules (Tjong Kim Sang, conlleval 2004-01-26):
- an entity starts at `B-X`, and at `I-X` after `O` or after a tag of
  another type (so IOB1's `I-X` starts one, and an IOB2 file's `B-X` does);
- it goes on over `I-X` of the same type and ends before anything else
  (`O`, any `B-`, another type, the end of the sentence).
An entity is correct when its type, first and last token match the gold
one exactly. Precision = correct / predicted entities, recall = correct /
gold entities, F1 their harmonic mean (0 when undefined), overall and per
type; accuracy is the share of tokens whose tag is exactly the gold one
(conlleval.pl also counts `-DOCSTART-` lines as tokens; they are none here).

    evaluate([["I-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])["f1"]
    1.0

seqeval computes the same numbers, but it builds only from a setup.py sdist
that fails to install with current setuptools-scm under pip 23; this is the
handful of lines it would have given us, tested on conlleval's cases.
"""

import collections


def split_tag(tag):
  """("B" | "I" | "O", type): "B-LOC" -> ("B", "LOC"), "O" -> ("O", "")."""
  if tag == "O":
    return "O", ""
  return tag[0], tag[2:]


def starts_entity(previous, tag):
  """Whether `tag` starts an entity after `previous` (conlleval's rule)."""
  prefix, kind = split_tag(tag)
  if prefix == "O":
    return False
  previous_prefix, previous_kind = split_tag(previous)
  return prefix == "B" or previous_prefix == "O" or previous_kind != kind


def entities(tags):
  """[(type, first, end)] of a sentence's tags, `end` exclusive."""
  found, start, kind = [], None, None
  previous = "O"
  for index, tag in enumerate(list(tags) + ["O"]):
    begins = starts_entity(previous, tag)
    if start is not None and (tag == "O" or begins):
      found.append((kind, start, index))
      start = None
    if begins:
      start, kind = index, split_tag(tag)[1]
    previous = tag
  return found


def _scores(correct, gold, predicted):
  precision = correct / predicted if predicted else 0.0
  recall = correct / gold if gold else 0.0
  f1 = (2 * precision * recall / (precision + recall)
        if precision + recall else 0.0)
  return {"precision": precision, "recall": recall, "f1": f1}


def evaluate(gold_sentences, predicted_sentences):
  """conlleval's figures for parallel lists of tag sequences.

  Returns precision, recall, f1, accuracy (fractions), the entity counts
  and `per_type`: {type: precision, recall, f1 and counts}.
  """
  if len(gold_sentences) != len(predicted_sentences):
    raise ValueError(f"{len(gold_sentences)} gold sentences, "
                     f"{len(predicted_sentences)} predicted")
  counts = collections.defaultdict(collections.Counter)
  tokens = correct_tags = 0
  for gold, predicted in zip(gold_sentences, predicted_sentences):
    if len(gold) != len(predicted):
      raise ValueError(f"a sentence of {len(gold)} gold tags has "
                       f"{len(predicted)} predicted")
    tokens += len(gold)
    correct_tags += sum(g == p for g, p in zip(gold, predicted))
    gold_entities = set(entities(gold))
    predicted_entities = set(entities(predicted))
    for kind, _, _ in gold_entities:
      counts[kind]["gold"] += 1
    for kind, _, _ in predicted_entities:
      counts[kind]["predicted"] += 1
    for kind, _, _ in gold_entities & predicted_entities:
      counts[kind]["correct"] += 1
  total = sum(counts.values(), collections.Counter())
  per_type = {kind: {**_scores(c["correct"], c["gold"], c["predicted"]),
                     "gold": c["gold"], "predicted": c["predicted"],
                     "correct": c["correct"]}
              for kind, c in sorted(counts.items())}
  return {**_scores(total["correct"], total["gold"], total["predicted"]),
          "accuracy": correct_tags / tokens if tokens else 0.0,
          "gold_entities": total["gold"],
          "predicted_entities": total["predicted"],
          "correct_entities": total["correct"], "per_type": per_type}
