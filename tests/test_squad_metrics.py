"""SQuAD's official EM/F1 rules, on hand-worked cases."""

import pytest

from sqz_tf.data import squad_metrics
from sqz_tf.data.squad import Answer
from sqz_tf.data.squad import SquadError
from sqz_tf.data.squad import SquadExample


def _question(qas_id, *golds):
  return SquadExample(qas_id, "?", "", tuple(Answer(g, 0) for g in golds))


@pytest.mark.parametrize("text, normalized", [
    ("The Cat", "cat"),                        # lower-case, article
    ("  a   dog\tand\nAN owl ", "dog and owl"),  # articles, whitespace
    ("the theatre, then", "theatre then"),     # only whole-word articles
    ("don't stop-believing!", "dont stopbelieving"),  # punctuation joins
    ("A.N. the-end", "theend"),  # punctuation goes first: "an" is dropped
    ("Ünïcode «quotes» — dash", "ünïcode «quotes» — dash"),  # ASCII only
    ("the", ""), ("", ""),
])
def test_normalization(text, normalized):
  assert squad_metrics.normalize_answer(text) == normalized


def test_exact_match_and_token_f1():
  assert squad_metrics.exact_match("The Denver Broncos!", "denver broncos")
  assert not squad_metrics.exact_match("Denver", "Denver Broncos")
  # 2 shared tokens of 3 predicted and 3 gold: P = R = 2/3.
  assert squad_metrics.f1_score("the big red dog", "red dog barked") == (
      pytest.approx(2 / 3))
  # Repeated tokens count as often as both sides have them: 1 of 3 / 1 of 1.
  assert squad_metrics.f1_score("dog dog dog", "a dog") == pytest.approx(0.5)
  assert squad_metrics.f1_score("cat", "dog") == 0.0
  # v2.0: an empty side scores 1 only against another empty one.
  assert squad_metrics.f1_score("", "the") == 1.0
  assert squad_metrics.f1_score("", "dog") == 0.0


def test_v1_takes_the_best_gold_and_counts_missing_predictions_as_zero():
  examples = [_question("a", "Denver Broncos", "the Broncos"),
              _question("b", "Saint Bernadette Soubirous"),
              _question("c", "1990")]
  predictions = {"a": "Broncos", "b": "Bernadette"}  # c unanswered
  # a: EM and F1 1 against "the Broncos" (2/3 F1 against the first);
  # b: EM 0, F1 with P = 1, R = 1/3: 0.5; c: 0.
  result = squad_metrics.evaluate_v1(examples, predictions)
  assert result == pytest.approx({"exact_match": 100 / 3,
                                  "f1": 100 * (1 + 0.5) / 3})
  assert squad_metrics.evaluate_v1(examples[:1], {"a": "the broncos."}) == {
      "exact_match": 100.0, "f1": 100.0}
  with pytest.raises(SquadError, match="cannot score question x: it has no "
                     "gold answer"):
    squad_metrics.evaluate_v1([_question("x")], {"x": ""})


def test_v2_no_answer_questions_breakdown_and_best_threshold():
  examples = [_question("h1", "red"), _question("h2", "blue sky"),
              _question("n1"), _question("n2"),
              _question("h3", "the")]  # normalizes to nothing: a no-answer
  predictions = {"h1": "red", "h2": "blue", "n1": "", "n2": "green",
                 "h3": ""}
  result = squad_metrics.evaluate_v2(examples, predictions)
  # EM: h1 1, h2 0, n1 1, n2 0, h3 1; F1: h2 = 2*1*.5/1.5 = 2/3.
  assert result == pytest.approx({
      "exact": 60.0, "f1": 100 * (1 + 2 / 3 + 1 + 0 + 1) / 5, "total": 5,
      "HasAns_exact": 100 / 3 * 2, "HasAns_f1": 100 * (1 + 2 / 3 + 1) / 3,
      "HasAns_total": 3, "NoAns_exact": 50.0, "NoAns_f1": 50.0,
      "NoAns_total": 2})
  # Best threshold over no-answer odds: answered iff odds <= threshold.
  # By odds: h1 (-3), n2 (-1), h2 (0), n1 (2), h3 (5). All empty gets the
  # two no-answer questions right (2); answering each in turn adds
  # EM +1, -1, 0, 0, +1 -> 3, 2, 2, 2, 3: best 3 first at -3;
  # F1 +1, -1, +2/3, 0, +1 -> 3, 2, 2.67, 2.67, 3.67: best at 5.
  odds = {"h1": -3.0, "n2": -1.0, "h2": 0.0, "n1": 2.0, "h3": 5.0}
  result = squad_metrics.evaluate_v2(examples, predictions, na_probs=odds)
  assert (result["best_exact"], result["best_exact_thresh"]) == (
      pytest.approx(60.0), -3.0)
  assert (result["best_f1"], result["best_f1_thresh"]) == (
      pytest.approx(100 * (3 + 2 / 3) / 5), 5.0)
  # As the official script, with its default na_prob_thresh 1.0: n1 and h3
  # (odds above 1) count as answered empty; h3 has answers, so that scores
  # 0 although "the" normalizes to nothing.
  assert result["exact"] == pytest.approx(40.0)
