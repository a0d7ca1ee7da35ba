"""SQuAD files -> rows: character offsets, windows, max context, bad files."""

import json
import random

import numpy as np
import pytest

from sqz_tf.data import squad
from sqz_tf.data import squad_features
from sqz_tf.data import squad_postprocessing
from sqz_tf.data.squad import SquadError
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.errors import SqzError
from sqz_tf.tasks.question_answering import QuestionAnsweringTask
from tests import data_fixtures
from tests import squad_fixtures
from tests.test_data_tokenizer import HF_TOKENIZER
from tests.test_data_tokenizer import TEXTS


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
  path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
  data_fixtures.write_vocab(path)
  return str(path)


def _tokenizer(vocab_file, seq_length, lower_case=True):
  return BertTokenizerLayer.from_vocab_file(vocab_file, seq_length=seq_length,
                                            lower_case=lower_case)


def _random_texts(count, seed=0):
  rng = random.Random(seed)
  pool = ("abc xyz Éé中文😀\u0301 \u00ad\u200b\t\n.,!'-ΣσİıßﬁＡ" +
          "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(300)))
  return ["".join(rng.choice(pool) for _ in range(rng.randrange(60)))
          for _ in range(count)]


@pytest.mark.parametrize("lower_case", [True, False])
def test_offsets_are_hf_offset_mapping(vocab_file, lower_case):
  texts = TEXTS + [c for c, _ in squad_fixtures.OFFSET_SAMPLES]
  texts += _random_texts(200)
  hf = HF_TOKENIZER(vocab_file, do_lower_case=lower_case)
  layer = _tokenizer(vocab_file, 16, lower_case)
  ids_only = layer.tokenize_to_lists(texts)
  for text, plain, (ids, starts, ends) in zip(
      texts, ids_only, layer.tokenize_with_offsets(texts)):
    theirs = hf(text, add_special_tokens=False, return_offsets_mapping=True)
    assert ids.tolist() == plain == theirs["input_ids"], repr(text)
    assert list(zip(starts.tolist(), ends.tolist())) == [
        tuple(span) for span in theirs["offset_mapping"]], repr(text)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
  path = tmp_path_factory.mktemp("samples") / "samples.json"
  squad_fixtures.offset_samples_file(str(path))
  return squad.read_squad(str(path))


def test_every_answer_comes_back_from_its_token_span(vocab_file, samples):
  # 32 tokens: contexts span several overlapping windows.
  features, windows = squad_features.featurize(
      samples, _tokenizer(vocab_file, 32), max_query_length=4, doc_stride=6)
  assert np.bincount(windows.example_index).max() >= 4
  found = set()
  for row, index in enumerate(windows.example_index):
    start, end = features["start_positions"][row], features["end_positions"][
        row]
    if start:
      example = samples[index]
      text = example.context[windows.token_starts[row, start]:
                             windows.token_ends[row, end]]
      assert text == example.answers[0].text
      found.add(index)
  assert found == set(range(len(samples)))  # every answer fits a window


def test_predicted_spans_are_cut_from_the_original_context(vocab_file,
                                                           samples):
  # One window each: logits peaked at the gold tokens give the gold text.
  features, windows = squad_features.featurize(
      samples, _tokenizer(vocab_file, 64), max_query_length=4, doc_stride=6)
  assert len(windows.example_index) == len(samples)
  rows = np.arange(len(samples))
  start = np.zeros(features["input_word_ids"].shape, np.float32)
  end = np.zeros_like(start)
  start[rows, features["start_positions"]] = 10.0
  end[rows, features["end_positions"]] = 10.0
  result = squad_postprocessing.predict_answers(samples, windows, start, end)
  assert result.answers == {e.qas_id: e.answers[0].text for e in samples}
  for example in samples:
    nbest = result.nbest[example.qas_id]
    assert nbest[0]["text"] == example.answers[0].text
    assert abs(sum(entry["probability"] for entry in nbest) - 1) < 1e-6


def test_windows_and_max_context_hand_worked():
  spans = squad_features._spans  # pylint: disable=protected-access
  max_context = squad_features._max_context  # pylint: disable=protected-access
  assert spans(10, 4, 2) == [(0, 4), (2, 4), (4, 4), (6, 4)]
  assert spans(10, 4, 3) == [(0, 4), (3, 4), (6, 4)]
  assert spans(3, 4, 2) == [(0, 3)]
  assert spans(0, 4, 2) == [(0, 0)]  # an empty context still gets a row
  # Each token goes to the window where min(left, right) context is largest.
  assert max_context(spans(10, 4, 2), 10).tolist() == [0, 0, 0, 1, 1, 2, 2,
                                                         3, 3, 3]
  # Token 2 of (0, 4) and (1, 4) has 1 token of context either way: the
  # first window wins; a longer window wins an otherwise equal score.
  assert max_context([(0, 4), (1, 4)], 5).tolist() == [0, 0, 0, 1, 1]
  assert max_context([(0, 3), (1, 5)], 6).tolist()[2] == 1


def _example(context, answer, question="which one?", impossible=False):
  answers = () if impossible else (squad.Answer(answer,
                                                context.index(answer)),)
  return squad.SquadExample("q", question, context, answers, impossible)


def test_row_layout_truncation_and_targets(vocab_file):
  tokenizer = _tokenizer(vocab_file, 16)
  ids = lambda text: tokenizer.tokenize_to_lists([text])[0]
  example = _example("the cafe is long hello world play a", "hello world",
                     question="play hello the cafe is")
  features, windows = squad_features.featurize([example], tokenizer,
                                               max_query_length=3,
                                               doc_stride=2)
  question = ids("play hello the")  # cut to 3 tokens
  context = ids(example.context)
  # 16 - 3 - 3 = 10 context tokens per window: [0, 8) and [2, 8).
  assert len(context) == 8 and len(windows.example_index) == 1
  row = [tokenizer.cls_id, *question, tokenizer.sep_id, *context,
         tokenizer.sep_id]
  np.testing.assert_array_equal(features["input_word_ids"][0],
                                row + [tokenizer.pad_id] * (16 - len(row)))
  np.testing.assert_array_equal(features["input_type_ids"][0],
                                [0] * 5 + [1] * 9 + [0] * 2)
  np.testing.assert_array_equal(features["input_mask"][0],
                                [1] * 14 + [0] * 2)
  assert (features["start_positions"][0], features["end_positions"][0]) == (
      5 + 4, 5 + 5)
  assert windows.token_starts[0, :5].tolist() == [-1] * 5
  # Windows of 16 - 9 - 3 = 4 tokens, 2 apart: only the middle one holds
  # all of "long hello" (context tokens 3 and 4); the others point at [CLS],
  # as does a v2.0 question without an answer.
  straddling = _example(example.context, "long hello",
                        question="play hello the cafe is a long naive world")
  features, windows = squad_features.featurize([straddling], tokenizer,
                                               max_query_length=9,
                                               doc_stride=2)
  assert features["start_positions"].tolist() == [0, 11 + 3 - 2, 0]
  assert features["end_positions"].tolist() == [0, 11 + 4 - 2, 0]
  features, _ = squad_features.featurize(
      [_example(example.context, "", impossible=True)], tokenizer, 3, 2)
  assert features["start_positions"].tolist() == [0]


def test_answers_of_dropped_characters_only_are_left_out_of_training(
    vocab_file):
  context = "the cafe \u200b is long"
  examples = [_example(context, "\u200b"), _example(context, "cafe")]
  tokenizer = _tokenizer(vocab_file, 16)
  _, windows = squad_features.featurize(examples, tokenizer, 3, 2,
                                        is_training=True, keep_offsets=False)
  assert windows.example_index.tolist() == [1]
  assert windows.token_starts is None
  features, windows = squad_features.featurize(examples, tokenizer, 3, 2)
  assert windows.example_index.tolist() == [0, 1]
  assert features["start_positions"].tolist() == [0, 6]


def _write(path, value):
  path.write_text(value if isinstance(value, str) else json.dumps(value))
  return str(path)


def _data(qa, context="the cafe is long"):
  return {"version": "1.1", "data": [{"title": "t", "paragraphs": [
      {"context": context, "qas": [qa]}]}]}


def test_bad_files_and_lengths_are_one_line_errors(tmp_path):
  good = {"id": "q1", "question": "what?",
          "answers": [{"text": "cafe", "answer_start": 4}]}
  cases = [
      ('{"version": "1.1", "data": [', "is not a JSON file"),
      ({"version": "1.1"}, "no 'data'"),
      (_data({**good, "answers": [{"text": "cafe", "answer_start": 5}]}),
       "answer 'cafe' is not at its answer_start 5 (the context has 'afe ' "
       "there)"),
      (_data({**good, "question": 7}), "'question' should be a str"),
      (_data({**good, "answers": [{"text": "cafe", "answer_start": "4"}]}),
       "'answer_start' should be a int"),
      (_data({**good, "answers": []}), "question q1: no answer (a SQuAD v2.0 "
       "file? then give --version_2_with_negative)"),
  ]
  for index, (content, message) in enumerate(cases):
    path = _write(tmp_path / f"bad{index}.json", content)
    with pytest.raises(SquadError, match=None) as raised:
      squad.read_squad(path, require_answers=True)
    assert message in str(raised.value), (message, str(raised.value))
    assert "\n" not in str(raised.value)
  both = _data({**good, "is_impossible": True})
  with pytest.raises(SquadError, match="is_impossible but has answers"):
    squad.read_squad(_write(tmp_path / "v2.json", both),
                     version_2_with_negative=True)
  twice = _data(good)
  twice["data"][0]["paragraphs"] *= 2
  with pytest.raises(SquadError, match="question q1: the id appears twice"):
    squad.read_squad(_write(tmp_path / "twice.json", twice))
  with pytest.raises(SquadError, match="SQuAD file not found"):
    squad.read_squad(str(tmp_path / "missing.json"))
  with pytest.raises(SquadError, match="leaves no room for the context"):
    squad_features.check_lengths(32, 29, 1)
  with pytest.raises(SquadError, match="doc_stride 26 must be smaller than "
                     "the context window, 26 tokens"):
    squad_features.check_lengths(64, 35, 26)
  assert squad_features.default_lengths(384) == (64, 128)
  assert squad_features.default_lengths(64) == (15, 23)


def test_dev_split_needs_answers_the_predict_split_does_not(vocab_file,
                                                            tmp_path):
  # A file without answers (a test set): predicted, not evaluated.
  context = "the cafe is long"
  squad_fixtures.write_squad(str(tmp_path / "dev-v1.1.json"), [
      squad_fixtures.paragraph(context, [
          squad_fixtures.question("q1", "what?", context, ["cafe"]),
          squad_fixtures.question("q2", "what else?", context)])])
  task = QuestionAnsweringTask()
  tokenizer = _tokenizer(vocab_file, 32)
  predict_split = task.load_split(str(tmp_path), "predict", tokenizer)
  assert [e.qas_id for e in predict_split.examples] == ["q1", "q2"]
  with pytest.raises(SqzError, match="question q2 has no answer to evaluate "
                     "against"):
    task.load_split(str(tmp_path), "dev", tokenizer)
  with pytest.raises(SqzError, match="no train-v1.1.json or train.json in"):
    task.load_split(str(tmp_path), "train", tokenizer)
