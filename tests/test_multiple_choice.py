"""Multiple choice: SWAG-format files, run_multiple_choice end to end."""

import csv
import json
import os
import random

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.data import swag
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.models import SqueezeBertEncoder
from tests import data_fixtures
from tests.cli_runner import run_many
from tests.tiny_configs import toy_glue_config

HEADER = ["", "video-id", "fold-ind", "startphrase", "sent1", "sent2",
          "gold-source", "ending0", "ending1", "ending2", "ending3", "label"]
_WORDS = ["world", "play", "cafe", "naive", "the", "a", "is", "token",
          "long"]


def write_toy_swag(directory, seed=0, sizes=(("train.csv", 160),
                                             ("val.csv", 40),
                                             ("test.csv", 12))):
  """SWAG-layout files: the right ending is the one saying "hello"."""
  rng = random.Random(seed)
  os.makedirs(directory, exist_ok=True)
  for name, count in sizes:
    labelled = name != "test.csv"
    with open(os.path.join(directory, name), "w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(HEADER if labelled else HEADER[:-1])
      for index in range(count):
        words = lambda n: " ".join(rng.choice(_WORDS) for _ in range(n))
        label = rng.randrange(4)
        endings = [words(3) + (" hello" if i == label else "")
                   for i in range(4)]
        row = [str(index), f"v{index}", "0", "", words(5), "the", "gold",
               *endings]
        writer.writerow(row + [str(label)] if labelled else row)


def test_reader_and_features(tmp_path):
  write_toy_swag(str(tmp_path), sizes=(("val.csv", 3),))
  examples = swag.read_swag(str(tmp_path / "val.csv"))
  assert [e.example_id for e in examples] == ["0", "1", "2"]
  assert all(len(e.endings) == 4 and e.start == "the" for e in examples)
  assert all("hello" in e.endings[e.label] for e in examples)
  vocab = tmp_path / "vocab.txt"
  data_fixtures.write_vocab(str(vocab))
  tokenizer = BertTokenizerLayer.from_vocab_file(str(vocab), seq_length=20)
  features = swag.examples_to_features(examples, tokenizer)
  assert features["input_word_ids"].shape == (3, 4, 20)
  # Choice 2 of example 1 is [CLS] sent1 [SEP] sent2 ending2 [SEP].
  expected = tokenizer.encode([examples[1].context],
                              [f"the {examples[1].endings[2]}"])
  np.testing.assert_array_equal(features["input_word_ids"][1, 2],
                                expected["input_word_ids"][0])
  np.testing.assert_array_equal(features["input_type_ids"][1, 2],
                                expected["input_type_ids"][0])
  np.testing.assert_array_equal(features["label"],
                                [e.label for e in examples])


@pytest.mark.parametrize("edit, phrase", [
    (lambda rows: rows[2].__setitem__(9, ""), "val.csv:3: ending2 is missing"),
    (lambda rows: rows.__setitem__(2, rows[2][:9]),
     "val.csv:3: ending2 is missing"),
    (lambda rows: rows[1].__setitem__(11, "4"),
     "val.csv:2: label '4' is not a choice index 0..3"),
    (lambda rows: rows[0].__setitem__(4, "context"),
     "the header lacks sent1"),
])
def test_reader_refuses_bad_rows(tmp_path, edit, phrase):
  write_toy_swag(str(tmp_path), sizes=(("val.csv", 3),))
  path = tmp_path / "val.csv"
  with open(path, newline="") as f:
    rows = list(csv.reader(f))
  edit(rows)
  with open(path, "w", newline="") as f:
    csv.writer(f).writerows(rows)
  with pytest.raises(swag.SwagError, match=phrase):
    swag.read_swag(str(path))


def test_train_eval_predict_and_bad_input(tmp_path):
  vocab = data_fixtures.write_vocab(str(tmp_path / "vocab.txt"))
  write_toy_swag(str(tmp_path / "swag"))
  write_toy_swag(str(tmp_path / "bad"))
  with open(tmp_path / "bad" / "val.csv", "a", newline="") as f:
    csv.writer(f).writerow(["40", "v", "0", "", "a cafe", "the", "gold",
                            "play", "is long", "token hello"])  # 3 of 4
  tf.keras.utils.set_random_seed(1)
  SqueezeBertEncoder(toy_glue_config(len(vocab))).save(
      str(tmp_path / "encoder.keras"))

  def command(data_dir, model_dir, *extra):
    return ("sqz_tf.run_multiple_choice",
            "--flagfile=official_configs/multiple_choice/swag.flags",
            f"--data_dir={data_dir}", f"--vocab_file={tmp_path / 'vocab.txt'}",
            f"--init_checkpoint={tmp_path / 'encoder.keras'}",
            f"--model_dir={model_dir}", "--max_seq_length=20",
            "--train_batch_size=16", "--learning_rate=2e-3",
            "--num_train_epochs=3", "--log_steps=10", *extra)

  good, bad = run_many([command(tmp_path / "swag", tmp_path / "model"),
                        command(tmp_path / "bad", tmp_path / "bad_model",
                                "--nodo_predict")])
  assert good.returncode == 0, good.stderr[-3000:]
  results = json.loads((tmp_path / "model" / "eval_results.json").read_text())
  assert results["main_metric"] == "accuracy"
  assert results["best"]["accuracy"] >= 0.7, results  # chance is 0.25
  with open(tmp_path / "model" / "predictions" / "test.csv") as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["id", "label", "probability0", "probability1",
                     "probability2", "probability3"]
  assert [row[0] for row in rows[1:]] == [str(i) for i in range(12)]
  assert all(abs(sum(map(float, row[2:])) - 1) < 1e-4 for row in rows[1:])

  assert bad.returncode != 0
  last_line = bad.stderr.strip().splitlines()[-1]
  assert last_line == (f"run_multiple_choice: error: {tmp_path / 'bad'}/"
                       "val.csv:42: ending3 is missing"), bad.stderr
  assert not (tmp_path / "bad_model").exists()
