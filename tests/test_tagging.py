"""Tagging (NER): conlleval's rules, CoNLL files, windows, run_tagging, TFLite."""

import json
import os
import random

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf import tasks
from sqz_tf.data import conll
from sqz_tf.data import conlleval
from sqz_tf.data import tagging_features
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.errors import SqzError
from sqz_tf.export import calibration
from sqz_tf.export import tflite
from sqz_tf.export import tflite_evaluation
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models import SqueezeBertTokenClassifier
from sqz_tf.training.initialization import load_model_file
from tests import data_fixtures
from tests.cli_runner import run_many
from tests.tiny_configs import toy_glue_config

SEQ_LENGTH = 16

# conlleval's rules, worked by hand.


@pytest.mark.parametrize("tags, expected", [
    # IOB2: B- starts, I- of the same type goes on.
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    # IOB1: I- after O starts; B- only splits two of the same type.
    (["I-PER", "I-PER", "B-PER", "O"], [("PER", 0, 2), ("PER", 2, 3)]),
    (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
    # An entity cut by O: the I- after it starts a second one.
    (["B-ORG", "O", "I-ORG", "I-ORG"], [("ORG", 0, 1), ("ORG", 2, 4)]),
    # The type changes inside a chunk: a new entity at the change.
    (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),
    (["I-MISC", "I-ORG", "B-ORG"], [("MISC", 0, 1), ("ORG", 1, 2),
                                     ("ORG", 2, 3)]),
    # Types may hold hyphens (conlleval splits at the first one).
    (["B-X-Y", "I-X-Y"], [("X-Y", 0, 2)]),
    (["O", "O"], []),
])
def test_entities_follow_conlleval(tags, expected):
  assert conlleval.entities(tags) == expected


def test_scores_worked_by_hand():
  gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
  predicted = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "I-LOC", "O"]]
  # Gold: PER 0-2, LOC 3-4, ORG 0-2. Predicted: PER 0-1, LOC 3-4, ORG 0-1,
  # LOC 1-2. Only LOC 3-4 is right: P = 1/4, R = 1/3, F1 = 2/7.
  result = conlleval.evaluate(gold, predicted)
  assert (result["correct_entities"], result["predicted_entities"],
          result["gold_entities"]) == (1, 4, 3)
  assert result["precision"] == pytest.approx(1 / 4)
  assert result["recall"] == pytest.approx(1 / 3)
  assert result["f1"] == pytest.approx(2 / 7)
  assert result["accuracy"] == pytest.approx(5 / 7)  # exact tag matches
  assert result["per_type"]["LOC"] == {
      "precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3),
      "gold": 1, "predicted": 2, "correct": 1}
  assert result["per_type"]["PER"]["f1"] == 0.0
  # No prediction at all: zeros, not a division by zero.
  nothing = conlleval.evaluate(gold, [["O"] * len(s) for s in gold])
  assert (nothing["precision"], nothing["recall"], nothing["f1"]) == (0, 0, 0)


def test_iob1_and_iob2_spellings_score_the_same():
  iob1 = [["I-PER", "I-PER", "B-PER", "O", "I-LOC"]]
  iob2 = [["B-PER", "I-PER", "B-PER", "O", "B-LOC"]]
  assert conll.to_iob2(iob1[0]) == iob2[0]
  assert conll.to_iob1(iob2[0]) == iob1[0]
  assert conlleval.evaluate(iob1, iob2)["f1"] == 1.0
  # Reading an entity cut short is the same in both spellings too.
  assert conlleval.evaluate(iob1, [["I-PER", "O", "B-PER", "O", "I-LOC"]]
                            )["correct_entities"] == 2


# CoNLL files.


def _write(path, text):
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  return str(path)


def test_reader_keeps_documents_sentences_and_lines(tmp_path):
  path = _write(tmp_path / "a.txt",
                "-DOCSTART- -X- -X- O\n\n"
                "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\n\n"
                "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
                "-DOCSTART- -X- O O\n\nBRUSSELS NNP I-NP I-LOC\n")
  sentences = conll.read_conll(path)
  assert [s.words for s in sentences] == [["EU", "rejects"],
                                          ["Peter", "Blackburn"],
                                          ["BRUSSELS"]]
  assert [s.tags for s in sentences] == [["I-ORG", "O"], ["I-PER", "I-PER"],
                                         ["I-LOC"]]
  assert [s.line_number for s in sentences] == [3, 7, 12]
  assert [s.docstarts for s in sentences] == [
      ["-DOCSTART- -X- -X- O"], [], ["-DOCSTART- -X- O O"]]
  assert conll.tag_scheme(sentences) == "IOB1"
  out = str(tmp_path / "out.txt")
  conll.write_conll(out, sentences, [["B-ORG", "O"], ["I-PER", "I-PER"],
                                     ["O"]])
  lines = open(out, encoding="utf-8").read().splitlines()
  assert lines[:4] == ["-DOCSTART- -X- -X- O O", "",
                       "EU NNP I-NP I-ORG B-ORG", "rejects VBZ I-VP O O"]
  # A words-only file is text to tag.
  words = conll.read_conll(_write(tmp_path / "w.txt", "Hello\nworld\n"))
  assert words[0].words == ["Hello", "world"] and words[0].tags is None


def test_columns_split_at_spaces_and_tabs_only(tmp_path):
  # Words may hold other spaces; CRLF and whitespace-only lines are fine.
  path = _write(tmp_path / "a.txt", "New\u00a0York NNP\tI-LOC\r\n"
                "a\u2028b NN O\r\n \t\nc NN O\n")
  sentences = conll.read_conll(path)
  assert [s.words for s in sentences] == [["New\u00a0York", "a\u2028b"],
                                          ["c"]]
  assert sentences[0].lines[0] == "New\u00a0York NNP\tI-LOC"


@pytest.mark.parametrize("text, phrase", [
    ("EU NNP I-NP I-ORG\nrejects VBZ O\n", "a.txt:2: 3 columns where the "
     "file's token lines have 4"),
    ("EU NNP I-NP S-ORG\n", "a.txt:1: tag 'S-ORG' is not an IOB tag"),
    ("EU NNP I-NP ORG\n", "tag 'ORG' is not an IOB tag"),
])
def test_reader_refuses_malformed_lines(tmp_path, text, phrase):
  with pytest.raises(conll.ConllError, match=phrase):
    conll.read_conll(_write(tmp_path / "a.txt", text))


def _sentences(*tag_lists):
  return [conll.Sentence([], ["w"] * len(tags), list(tags), 1 + 10 * i)
          for i, tags in enumerate(tag_lists)]


def test_tag_scheme_detection():
  assert conll.tag_scheme(_sentences(["B-PER", "I-PER", "O", "B-LOC"])
                          ) == "IOB2"
  assert conll.tag_scheme(_sentences(["I-PER", "B-PER", "O"])) == "IOB1"
  with pytest.raises(conll.ConllError, match=r"mixes IOB1 and IOB2 tags: 1 "
                     r"entities start with I- \(IOB1; first on line 1\) and "
                     r"1 with B- after O"):
    conll.tag_scheme(_sentences(["I-PER", "O"], ["B-LOC", "O"]), "a.txt")
  # A slip or two in a big file (eng.train has 2 in 23,499) is not a mix.
  many = _sentences(*[["I-PER", "O"]] * 150, ["O", "B-MISC"])
  assert conll.tag_scheme(many) == "IOB1"


# Words -> WordPiece windows -> words.


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
  path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
  data_fixtures.write_vocab(str(path))
  return BertTokenizerLayer.from_vocab_file(str(path), seq_length=8)


def test_labels_on_first_pieces_and_windows(tokenizer):
  sentences = [["playing", "the", "cafe"],
               ["a"] * 5 + ["playing"] + ["a"] * 4,  # 11 pieces: 2 windows
               ["\x07"]]  # no WordPiece at all
  labels = [[1, 0, 2], list(range(10)), [3]]
  features, alignment = tagging_features.words_to_features(
      sentences, labels, tokenizer)
  pieces = tokenizer.tokenize_to_lists(sentences[0])
  assert [len(p) for p in pieces] == [2, 1, 1]  # play ##ing, the, cafe
  np.testing.assert_array_equal(
      features["input_word_ids"][0],
      [tokenizer.cls_id, *sum(pieces, []), tokenizer.sep_id, 0, 0])
  np.testing.assert_array_equal(features["input_mask"][0],
                                [1, 1, 1, 1, 1, 1, 0, 0])
  np.testing.assert_array_equal(features["label"][0],
                                [-1, 1, -1, 0, 2, -1, -1, -1])
  assert features["input_word_ids"].shape == (4, 8)  # 1 + 2 windows + 1
  np.testing.assert_array_equal(alignment.sentence_index, [0, 1, 1, 2])
  # 6 pieces fit a row of 8: the five "a" (playing would make 7), then
  # playing and the last four "a".
  np.testing.assert_array_equal(features["label"][1],
                                [-1, 0, 1, 2, 3, 4, -1, -1])
  np.testing.assert_array_equal(features["label"][2],
                                [-1, 5, -1, 6, 7, 8, 9, -1])
  assert features["input_word_ids"][3, 1] == tokenizer.unk_id
  # Each word's prediction comes back once, from its first piece.
  back = tagging_features.word_predictions(features["label"], alignment,
                                           [3, 10, 1])
  assert back == labels


# run_tagging end to end on a toy task.

_OTHER = ["the", "a", "is", "token", "long", "naive"]


def _toy_sentence(rng, length):
  """(words, IOB1 tags): cafe is a LOC, "hello world" an ORG, playing a
  PER; two entities of a type in a row get B- on the second, as IOB1
  writes it."""
  words, tags = [], []
  while len(words) < length:
    kind = rng.choice(["O", "O", "O", "LOC", "ORG", "PER"])
    if kind == "O":
      words.append(rng.choice(_OTHER))
      tags.append("O")
      continue
    first = "B-" if tags and tags[-1].endswith(kind) else "I-"
    if kind == "ORG":
      words += ["hello", "world"]
      tags += [first + kind, "I-ORG"]
    else:
      words.append("cafe" if kind == "LOC" else "playing")
      tags.append(first + kind)
  return words, tags


def write_toy_conll(directory, seed=0, sizes=(("train.txt", 200),
                                              ("dev.txt", 50),
                                              ("test.txt", 30))):
  rng = random.Random(seed)
  os.makedirs(directory, exist_ok=True)
  for name, count in sizes:
    lines = []
    for index in range(count):
      if index % 20 == 0:
        lines += ["-DOCSTART- -X- -X- O", ""]
      # One sentence of each file is longer than a window.
      words, tags = _toy_sentence(rng, 30 if index == 3 else
                                  rng.randint(3, 9))
      lines += [f"{w} NN I-NP {t}" for w, t in zip(words, tags)] + [""]
    _write(os.path.join(directory, name), "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
  """The toy task, trained by run_tagging, and its bad-input runs (the CLI
  runs go two at a time: the short failing ones beside the training)."""
  work = tmp_path_factory.mktemp("tagging")
  vocab = data_fixtures.write_vocab(str(work / "vocab.txt"))
  write_toy_conll(str(work / "ner"))
  config = toy_glue_config(len(vocab))
  tf.keras.utils.set_random_seed(1)
  SqueezeBertEncoder(config).save(str(work / "encoder.keras"))
  SqueezeBertTokenClassifier(config, 3, id2label={
      0: "O", 1: "B-PER", 2: "I-PER"}).save(str(work / "per_tagger.keras"))

  def bad_copy(name, edit):
    directory = work / name
    write_toy_conll(str(directory))
    path = directory / edit[0]
    lines = path.read_text().splitlines()
    edit[1](lines)
    path.write_text("\n".join(lines) + "\n")
    return directory

  def short_line(lines):  # line 4: the first sentence's second word
    lines[3] = " ".join(lines[3].split()[:3])

  def unknown_type(lines):
    lines[2] = lines[2].rsplit(" ", 1)[0] + " I-DATE"

  def to_iob2(lines):  # the second half of the file in IOB2
    half = len(lines) // 2
    for i in range(half, len(lines)):
      if lines[i].endswith("I-ORG") and lines[i].startswith("hello"):
        lines[i] = lines[i][:-5] + "B-ORG"
      elif lines[i].endswith(("I-LOC", "I-PER")):
        lines[i] = lines[i][:-5] + "B-" + lines[i][-3:]

  commands = {
      "train": _command(work, work / "ner", work / "model", "--do_train",
                        "--do_eval", "--do_predict"),
      "malformed": _command(work, bad_copy("short", ("train.txt",
                                                     short_line)),
                            work / "bad0", "--do_train"),
      # In the test file: read (and refused) before training starts.
      "outside": _command(work, bad_copy("date", ("test.txt", unknown_type)),
                          work / "bad1", "--do_train", "--do_predict"),
      "mixed": _command(work, bad_copy("mixed", ("train.txt", to_iob2)),
                        work / "bad2", "--do_train"),
      "label_count": _command(work, work / "ner", work / "bad3",
                              "--do_train", "--labels=LOC,ORG,PER",
                              init="per_tagger.keras"),
  }
  results = dict(zip(commands, run_many(list(commands.values()))))
  return work, results


def _command(work, data_dir, model_dir, *extra, init="encoder.keras"):
  return ("sqz_tf.run_tagging",
          "--flagfile=official_configs/tagging/conll2003.flags",
          f"--data_dir={data_dir}", f"--vocab_file={work / 'vocab.txt'}",
          f"--init_checkpoint={work / init}", f"--model_dir={model_dir}",
          f"--max_seq_length={SEQ_LENGTH}", "--train_batch_size=16",
          "--learning_rate=3e-3", "--num_train_epochs=3", "--log_steps=10",
          "--nodo_predict", "--nodo_eval", *extra)


def test_train_eval_predict(toy):
  work, results = toy
  result = results["train"]
  assert result.returncode == 0, result.stderr[-3000:]
  model_dir = work / "model"
  evaluation = json.loads((model_dir / "eval_results.json").read_text())
  assert evaluation["main_metric"] == "f1"
  assert len(evaluation["epochs"]) == 3
  best = evaluation["best"]
  # Chance (a random tag per word) scores well under 0.1 here.
  assert best["f1"] >= 0.9, best
  assert set(best["per_type"]) == {"LOC", "ORG", "PER"}
  assert "split into windows" in result.stderr

  # Predictions: each input line + a tag in the file's scheme (IOB1).
  source = (work / "ner" / "test.txt").read_text().splitlines()
  written = (model_dir / "predictions" / "test.txt").read_text().splitlines()
  assert len(written) == len(source)
  sentences = [[]]
  for original, line in zip(source, written):
    if not original:
      assert not line
      sentences.append([])
      continue
    assert line.rsplit(" ", 1)[0] == original
    if not original.startswith("-DOCSTART-"):
      sentences[-1].append(line.rsplit(" ", 1)[1])
  assert sum(map(len, sentences)) > 200
  for tags in sentences:
    assert conll.to_iob1(tags) == tags  # written in the file's scheme
  scores = json.loads((model_dir / "predictions" / "test_results.json"
                       ).read_text())
  assert scores["f1"] >= 0.9
  tagger = load_model_file(str(model_dir / "tagger.keras"))
  assert tagger.id2label == {0: "O", 1: "B-LOC", 2: "I-LOC", 3: "B-ORG",
                             4: "I-ORG", 5: "B-PER", 6: "I-PER"}


def test_bad_input(toy):
  work, results = toy
  expected = {
      "malformed": "train.txt:4: 3 columns where the file's token lines "
                   "have 4",
      "outside": "test.txt:3: tag I-DATE (as B-DATE) is not in the label "
                 "set: O, B-LOC, I-LOC, B-ORG, I-ORG, B-PER, I-PER",
      "mixed": "train.txt mixes IOB1 and IOB2 tags",
      "label_count": "the label set has 7 labels (O, B-LOC, I-LOC, B-ORG, "
                     "I-ORG, B-PER, I-PER) but the init model tags 3 (O, "
                     "B-PER, I-PER)",
  }
  for index, (name, phrase) in enumerate(expected.items()):
    result = results[name]
    assert result.returncode != 0, name
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("run_tagging: error: "), result.stderr
    assert phrase in last_line, last_line
    assert "Traceback" not in result.stderr
    assert not (work / f"bad{index}").exists()


def test_int8_mixed_tflite_keeps_entity_f1(toy):
  work, results = toy
  assert results["train"].returncode == 0
  tagger = load_model_file(str(work / "model" / "tagger.keras"))
  task = tasks.get_task("conll2003", tagger)  # the export tools' way in
  inputs = calibration.representative_inputs(
      str(work / "ner"), SEQ_LENGTH, 40, task, str(work / "vocab.txt"))
  tflite_bytes = tflite.convert(tagger, "int8_mixed", SEQ_LENGTH,
                                representative_inputs=inputs)
  assert not tflite.op_placement(tflite_bytes)[1].keys() - {
      "CAST", "GATHER", "STRIDED_SLICE", "DEQUANTIZE"}
  dev = calibration.load_task_split(str(work / "ner"), task,
                                    str(work / "vocab.txt"), SEQ_LENGTH,
                                    "dev")
  result = tflite_evaluation.evaluate(tflite_bytes, task, dev, tagger)
  assert result["float"]["f1"] >= 0.9
  assert abs(result["tflite"]["f1"] - result["float"]["f1"]) <= 0.02
  assert result["agreement"] >= 0.98
  assert result["examples"] == 50


def test_labels_and_split_errors(tmp_path):
  write_toy_conll(str(tmp_path), sizes=(("train.txt", 5),))
  with pytest.raises(SqzError, match="no dev file in .* dev.txt, valid.txt, "
                     "eng.testa"):
    tasks.get_task("tagging").load_split(str(tmp_path), "dev", None)
  assert tasks.tagging.labels_for(None, ["PER", "LOC"]) == [
      "O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
