"""SQuAD's official evaluation (evaluate-v1.1.py and evaluate-v2.0.py).

  >>> evaluate_v1(examples, {"q1": "Denver Broncos"})
  {'exact_match': 100.0, 'f1': 100.0}

Answers are compared after normalization: lower-cased, punctuation
(`string.punctuation`) removed, the articles a/an/the removed, whitespace
collapsed. Exact match and token F1 are the best over a question's gold
answers, averaged over questions, in percent.

v1.1 scores every question, an unanswered one as 0. v2.0 scores the
questions with a prediction; a question without gold answers is a no-answer
question, which only the empty prediction gets right. With `na_probs` (the
model's no-answer scores: null_odds.json) it also finds the threshold on
them that maximizes EM and F1 (`best_exact`, `best_f1` and their
`_thresh`), as the v2.0 script does with --na-prob-file.
"""

import collections
import re
import string

from sqz_tf.data.squad import SquadError

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text):
  """Lower-case; drop punctuation, articles and extra whitespace."""
  text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
  return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction, gold):
  return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction, gold):
  """Token F1 (v2.0's rule: when either side is empty, 1 iff both are)."""
  predicted = normalize_answer(prediction).split()
  expected = normalize_answer(gold).split()
  if not predicted or not expected:
    return float(predicted == expected)
  common = sum((collections.Counter(predicted) &
                collections.Counter(expected)).values())
  if not common:
    return 0.0
  precision, recall = common / len(predicted), common / len(expected)
  return 2 * precision * recall / (precision + recall)


def _f1_v1(prediction, gold):
  # evaluate-v1.1.py: no special case for empty answers.
  predicted = normalize_answer(prediction).split()
  expected = normalize_answer(gold).split()
  common = sum((collections.Counter(predicted) &
                collections.Counter(expected)).values())
  if not common:
    return 0.0
  precision, recall = common / len(predicted), common / len(expected)
  return 2 * precision * recall / (precision + recall)


def evaluate_v1(examples, predictions):
  """evaluate-v1.1.py: {'exact_match', 'f1'} over all `examples`."""
  exact = f1 = 0.0
  for example in examples:
    if example.qas_id not in predictions:
      continue  # unanswered: 0
    golds = [answer.text for answer in example.answers]
    if not golds:
      raise SquadError(f"cannot score question {example.qas_id}: it has no "
                       "gold answer (a SQuAD v2.0 file?)")
    prediction = predictions[example.qas_id]
    exact += max(exact_match(prediction, gold) for gold in golds)
    f1 += max(_f1_v1(prediction, gold) for gold in golds)
  total = len(examples)
  return {"exact_match": 100.0 * exact / total, "f1": 100.0 * f1 / total}


def raw_scores(examples, predictions):
  """Per question: (exact, f1) against its answers, v2.0 rules.

  Gold answers that normalize to nothing are ignored; a question left
  without any is answered correctly only by an empty prediction.
  """
  exact, f1 = {}, {}
  for example in examples:
    if example.qas_id not in predictions:
      continue
    golds = [answer.text for answer in example.answers
             if normalize_answer(answer.text)] or [""]
    prediction = predictions[example.qas_id]
    exact[example.qas_id] = max(exact_match(prediction, g) for g in golds)
    f1[example.qas_id] = max(f1_score(prediction, g) for g in golds)
  return exact, f1


def _mean(scores, ids):
  return 100.0 * sum(scores[i] for i in ids) / len(ids)


def best_threshold(predictions, scores, na_probs, has_answer):
  """(best score in %, threshold): predict no answer iff na_prob > it.

  Starts from every question answered empty and turns them into answered
  ones in increasing na_prob order, keeping the best total.
  """
  score = best = sum(1 for k in has_answer if not has_answer[k])
  threshold = 0.0
  for qas_id in sorted(na_probs, key=lambda k: na_probs[k]):
    if qas_id not in scores:
      continue
    if has_answer[qas_id]:
      score += scores[qas_id]
    elif predictions[qas_id]:
      score -= 1
    if score > best:
      best, threshold = score, na_probs[qas_id]
  return 100.0 * best / len(scores), threshold


def evaluate_v2(examples, predictions, na_probs=None, na_prob_thresh=1.0):
  """evaluate-v2.0.py: exact, f1, total, HasAns_* / NoAns_*, best_*.

  Without `na_probs` every no-answer probability is 0 (the predictions are
  scored as they are). With them, a question whose na_prob exceeds
  `na_prob_thresh` counts as answered empty, and the best thresholds are
  searched.
  """
  exact, f1 = raw_scores(examples, predictions)
  if not exact:
    raise SquadError("no question has a prediction")
  has_answer = {e.qas_id: bool(e.answers) for e in examples}
  probs = na_probs if na_probs is not None else {k: 0.0 for k in predictions}

  def thresholded(scores):
    return {k: float(not has_answer[k]) if probs[k] > na_prob_thresh else v
            for k, v in scores.items()}

  exact_t, f1_t = thresholded(exact), thresholded(f1)
  ids = list(exact_t)
  result = {"exact": _mean(exact_t, ids), "f1": _mean(f1_t, ids),
            "total": len(ids)}
  for prefix, wanted in (("HasAns", True), ("NoAns", False)):
    subset = [k for k in ids if has_answer[k] == wanted]
    if subset:
      result.update({f"{prefix}_exact": _mean(exact_t, subset),
                     f"{prefix}_f1": _mean(f1_t, subset),
                     f"{prefix}_total": len(subset)})
  if na_probs is not None:
    result["best_exact"], result["best_exact_thresh"] = best_threshold(
        predictions, exact, na_probs, has_answer)
    result["best_f1"], result["best_f1_thresh"] = best_threshold(
        predictions, f1, na_probs, has_answer)
  return result
