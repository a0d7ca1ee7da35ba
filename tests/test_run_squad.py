"""run_squad end to end on a toy SQuAD set; int8 TFLite; bad input."""

import json

import pytest
import tensorflow as tf

from sqz_tf import tasks
from sqz_tf.export import calibration
from sqz_tf.export import tflite_evaluation
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.training.initialization import load_model_file
from tests import data_fixtures
from tests import squad_fixtures
from tests.cli_runner import run_many
from tests.tiny_configs import toy_glue_config


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
  work = tmp_path_factory.mktemp("squad")
  vocab = data_fixtures.write_vocab(str(work / "vocab.txt"))
  squad_fixtures.toy_squad(str(work / "v1"))
  squad_fixtures.toy_squad(str(work / "v2"), version_2=True, num_train=3)
  tf.keras.utils.set_random_seed(1)
  SqueezeBertEncoder(toy_glue_config(len(vocab))).save(
      str(work / "encoder.keras"))
  return work


def _command(toy, model_dir, *extra):
  return ("sqz_tf.run_squad", f"--data_dir={toy / 'v1'}",
          f"--vocab_file={toy / 'vocab.txt'}",
          f"--init_checkpoint={toy / 'encoder.keras'}",
          f"--model_dir={model_dir}", "--max_seq_length=32",
          "--max_query_length=6", "--doc_stride=8", "--train_batch_size=16",
          "--learning_rate=2e-3", "--log_steps=20", *extra)


def _read(path):
  return json.loads(path.read_text())


def test_train_predict_and_score_the_int8_tflite_model(toy, tmp_path):
  model_dir = tmp_path / "squad"
  trained, = run_many([_command(toy, model_dir, "--do_train", "--do_eval",
                                "--do_predict", "--num_train_epochs=2")])
  assert trained.returncode == 0, trained.stderr[-3000:]
  results = _read(model_dir / "eval_results.json")
  assert results["task"] == "squad" and results["main_metric"] == "f1"
  assert len(results["epochs"]) == 2
  # Chance is near 0: the answer words never appear outside the answer.
  assert results["best"]["exact_match"] >= 30, results
  assert results["best"]["f1"] >= 60, results
  dev = json.loads((toy / "v1" / "dev-v1.1.json").read_text())
  ids = {qa["id"] for p in dev["data"][0]["paragraphs"] for qa in p["qas"]}
  predictions = _read(model_dir / "predictions" / "predictions.json")
  assert set(predictions) == ids
  nbest = _read(model_dir / "predictions" / "nbest_predictions.json")
  assert all(nbest[k][0]["text"] == predictions[k] for k in ids)
  assert not (model_dir / "predictions" / "null_odds.json").exists()

  model = str(model_dir / "question_answerer.keras")
  tflite = tmp_path / "qa.tflite"
  exported, v2 = run_many([
      ("sqz_tf.export_tflite", f"--model={model}", f"--output={tflite}",
       "--quantization=int8_mixed", "--seq_length=32",
       f"--representative_data={toy / 'v1'}", "--task=squad",
       f"--vocab_file={toy / 'vocab.txt'}", "--num_calibration_examples=40"),
      # v2.0 from the v1.1 model: no-answer odds and the best threshold.
      ("sqz_tf.run_squad", f"--data_dir={toy / 'v2'}",
       "--version_2_with_negative", f"--vocab_file={toy / 'vocab.txt'}",
       f"--init_checkpoint={model}", f"--model_dir={tmp_path / 'v2'}",
       "--max_seq_length=32", "--do_eval", "--do_predict")])
  assert exported.returncode == 0, exported.stderr[-3000:]
  assert "TFLite kernels run: CAST 1, GATHER 2\n" in exported.stdout
  assert v2.returncode == 0, v2.stderr[-3000:]
  v2_results = _read(tmp_path / "v2" / "eval_results.json")["best"]
  assert {"exact", "f1", "HasAns_f1", "NoAns_f1", "best_f1",
          "best_f1_thresh"} <= set(v2_results)
  odds = _read(tmp_path / "v2" / "predictions" / "null_odds.json")
  assert len(odds) == 60 and all(isinstance(v, float) for v in odds.values())

  # What evaluate_tflite --task=squad does, in process.
  task = tasks.get_task("squad")
  dev_split = calibration.load_task_split(str(toy / "v1"), task,
                                          str(toy / "vocab.txt"), 32, "dev")
  result = tflite_evaluation.evaluate(tflite.read_bytes(), task, dev_split,
                                      load_model_file(model))
  assert result["examples"] == 60
  # A tiny model: int8 rounding flips a few close calls between spans.
  assert abs(result["tflite"]["f1"] - result["float"]["f1"]) <= 5, result
  assert result["agreement"] >= 0.7, result


def test_bad_input_is_one_line_and_writes_nothing(toy, tmp_path):
  bad_json = tmp_path / "bad.json"
  bad_json.write_text('{"version": "1.1", "data": [{"paragraphs": [')
  shifted = tmp_path / "shifted"
  squad_fixtures.toy_squad(str(shifted), num_train=5, num_dev=2)
  train = shifted / "train-v1.1.json"
  train.write_text(train.read_text().replace('"answer_start": ',
                                             '"answer_start": 1', 1))
  long_question = tmp_path / "long"
  squad_fixtures.write_squad(str(long_question / "train-v1.1.json"), [
      squad_fixtures.paragraph("the cafe is long", [squad_fixtures.question(
          "q", "is " * 40 + "it?", "the cafe is long", ["cafe"])])])

  def command(model_dir, *args):
    return ("sqz_tf.run_squad", f"--vocab_file={toy / 'vocab.txt'}",
            f"--init_checkpoint={toy / 'encoder.keras'}",
            f"--model_dir={model_dir}", "--max_seq_length=32", *args)

  cases = [
      (command(tmp_path / "m0", f"--predict_file={bad_json}", "--do_predict"),
       f"{bad_json} is not a JSON file"),
      (command(tmp_path / "m1", f"--data_dir={shifted}", "--do_train"),
       "is not at its answer_start"),
      (command(tmp_path / "m2", f"--data_dir={long_question}", "--do_train",
               "--max_query_length=64"),
       "a question of max_query_length 64 tokens leaves no room for the "
       "context in max_seq_length 32"),
      (command(tmp_path / "m3", f"--data_dir={toy / 'v1'}", "--do_train",
               "--max_query_length=4", "--doc_stride=25"),
       "doc_stride 25 must be smaller than the context window, 25 tokens"),
  ]
  for (_, phrase), result in zip(cases, run_many([c for c, _ in cases])):
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("run_squad: error: "), result.stderr[-2000:]
    assert phrase in last_line, last_line
    assert "Traceback" not in result.stderr
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      "bad.json", "long", "shifted"]
