"""Start/end logits of context windows -> answer texts, n-best lists, null odds.

google-research/bert's `write_predictions`, on character offsets:

- In each row, the `n_best_size` best starts (context tokens scored in this
  row: `Windows.is_max_context`) and ends (context tokens) are paired; a
  pair is kept if it ends at or after its start and spans at most
  `max_answer_length` tokens. Its score is start + end logit. (Google takes
  the top n over all positions and then drops the invalid ones; taking
  them among valid positions only can only find more candidates.)
- Per question the best-scoring pairs over all its rows give up to
  `n_best_size` distinct answer texts, each cut from the original context:
  from the first token's first character to the last token's last one.
- v2.0: the null score is the smallest start + end logit of [CLS] over the
  question's rows; `null_odds` = null score - best span score, and the
  prediction is "" (no answer) when it exceeds `null_score_diff_threshold`.
  The n-best list then also holds "" with the null score.
- Probabilities are a softmax over the n-best list's scores.

  >>> result = predict_answers(split.examples, split.extras, start, end)
  >>> result.answers["5733be284776f41900661182"]
  'Saint Bernadette Soubirous'
"""

import dataclasses
import json
import os

import numpy as np

from sqz_tf.utils.files import atomic_output

# The null odds of a question with no candidate span at all (an empty
# context): no span could beat the null answer.
NO_SPAN_NULL_ODDS = 1e9


@dataclasses.dataclass
class Predictions:
  answers: dict  # qas_id -> predicted text ("" = no answer)
  nbest: dict  # qas_id -> [{"text", "probability", "start_logit", "end_logit"}]
  best_spans: dict  # qas_id -> best non-empty span text ("" if none)
  null_odds: dict  # v2.0: qas_id -> null score - best span score


def _top(logits, valid, count):
  index = np.nonzero(valid)[0]
  return index[np.argsort(-logits[index], kind="stable")[:count]]


def _row_candidates(start_logits, end_logits, valid_start, valid_end,
                    n_best_size, max_answer_length):
  """(score, start, end) of each valid pair among the row's best tokens."""
  starts = _top(start_logits, valid_start, n_best_size)
  ends = _top(end_logits, valid_end, n_best_size)
  start, end = np.meshgrid(starts, ends, indexing="ij")
  keep = (end >= start) & (end - start < max_answer_length)
  start, end = start[keep], end[keep]
  return start_logits[start] + end_logits[end], start, end


def _softmax(scores):
  scores = np.asarray(scores, np.float64)
  exp = np.exp(scores - scores.max())
  return exp / exp.sum()


def predict_answers(examples, windows, start_logits, end_logits,
                    n_best_size=20, max_answer_length=30,
                    version_2_with_negative=False,
                    null_score_diff_threshold=0.0) -> Predictions:
  """Answers for `examples` from the logits of their rows (see module doc)."""
  # Per example: arrays of candidate (score, row, start, end) per row, and
  # the (score, row) of its smallest null score.
  candidates = [[] for _ in examples]
  nulls = [(np.inf, -1)] * len(examples)
  for row, index in enumerate(windows.example_index):
    in_context = windows.token_starts[row] >= 0
    scores, first, last = _row_candidates(
        start_logits[row], end_logits[row],
        in_context & windows.is_max_context[row], in_context, n_best_size,
        max_answer_length)
    candidates[index].append((scores, np.full(len(scores), row), first, last))
    nulls[index] = min(nulls[index],
                       (float(start_logits[row, 0] + end_logits[row, 0]), row))

  result = Predictions({}, {}, {}, {})
  for example, parts, (null_score, null_row) in zip(examples, candidates,
                                                    nulls):
    scores, rows, first, last = (np.concatenate(column)
                                 for column in zip(*parts))
    nbest, seen = [], set()
    for i in np.argsort(-scores, kind="stable"):
      row, start, end = rows[i], first[i], last[i]
      text = example.context[windows.token_starts[row, start]:
                             windows.token_ends[row, end]]
      if text not in seen:
        seen.add(text)
        nbest.append((float(scores[i]), float(start_logits[row, start]),
                      float(end_logits[row, end]), text))
        if len(nbest) == n_best_size:
          break
    best_span = nbest[0] if nbest else None
    answer = best_span[3] if best_span else ""
    result.best_spans[example.qas_id] = answer
    if version_2_with_negative:
      odds = null_score - best_span[0] if best_span else NO_SPAN_NULL_ODDS
      result.null_odds[example.qas_id] = odds
      if odds > null_score_diff_threshold:
        answer = ""
      # The null answer competes in the list with [CLS]'s logits.
      nbest.append((null_score, float(start_logits[null_row, 0]),
                    float(end_logits[null_row, 0]), ""))
      nbest.sort(key=lambda candidate: -candidate[0])
    result.answers[example.qas_id] = answer
    probabilities = _softmax([c[0] for c in nbest]) if nbest else []
    result.nbest[example.qas_id] = [
        {"text": text, "probability": float(p), "start_logit": start_logit,
         "end_logit": end_logit}
        for (_, start_logit, end_logit, text), p in zip(nbest, probabilities)]
  return result


def _write_json(value, path):
  with atomic_output(path, overwrite=True) as temporary:
    with open(temporary, "w", encoding="utf-8") as f:
      json.dump(value, f, indent=2, ensure_ascii=False)
      f.write("\n")


def write_prediction_files(predictions: Predictions, output_dir,
                           version_2_with_negative=False):
  """predictions.json (official format), nbest_predictions.json and, for
  v2.0, null_odds.json (the official script's --na-prob-file); returns the
  paths written."""
  files = [("predictions.json", predictions.answers),
           ("nbest_predictions.json", predictions.nbest)]
  if version_2_with_negative:
    files.append(("null_odds.json", predictions.null_odds))
  paths = []
  for name, value in files:
    paths.append(os.path.join(output_dir, name))
    _write_json(value, paths[-1])
  return paths
