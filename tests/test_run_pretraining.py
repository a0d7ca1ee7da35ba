"""run_pretraining end to end: kill -9 and resume, bad input."""

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.data import pretraining_records
from sqz_tf.models import SqueezeBertPretrainer
from tests import data_fixtures
from tests.cli_runner import REPO
from tests.cli_runner import run_many

SEQ, PREDICTIONS = 32, 5


@pytest.fixture(scope="module")
def records(tmp_path_factory):
  """A tiny vocab, model config and MLM+SOP records (seq 32)."""
  work = tmp_path_factory.mktemp("pretraining")
  vocab = data_fixtures.write_vocab(str(work / "vocab.txt"), numbers=600)
  data_fixtures.write_number_corpus(str(work / "corpus.txt"), num_docs=80,
                                    bad_bytes=False)
  options = pretraining_records.PretrainingDataOptions(
      max_seq_length=SEQ, max_predictions_per_seq=PREDICTIONS, dupe_factor=2)
  pretraining_records.create_pretraining_data(
      [str(work / "corpus.txt")], str(work / "vocab.txt"),
      str(work / "train.tfrecord"), options)
  config = SqueezeBertConfig(
      vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
      num_attention_heads=4, intermediate_size=64, embedding_size=32,
      max_position_embeddings=64)
  config.to_json_file(str(work / "config.json"))
  return work


def _command(records, model_dir, *extra):
  return [sys.executable, "-m", "sqz_tf.run_pretraining",
          f"--model_config={records / 'config.json'}",
          f"--input_files={records / 'train.tfrecord'}",
          f"--eval_input_files={records / 'train.tfrecord'}",
          f"--model_dir={model_dir}", f"--max_seq_length={SEQ}",
          f"--max_predictions_per_seq={PREDICTIONS}", "--train_batch_size=8",
          "--num_train_steps=24", "--save_checkpoints_steps=4",
          "--log_steps=1", "--learning_rate=1e-3", "--deterministic",
          "--seed=5", *extra]


def _env():
  return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _final_weights(model_dir):
  model = tf.keras.models.load_model(str(model_dir / "pretrainer.keras"))
  assert isinstance(model, SqueezeBertPretrainer)
  return [w.numpy() for w in model.weights]


def test_kill_9_then_rerun_matches_uninterrupted_run(records, tmp_path):
  # The uninterrupted run beside the one that gets killed (2 cores).
  uninterrupted = subprocess.Popen(_command(records, tmp_path / "a"),
                                   env=_env(), cwd=REPO,
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
  kill_at = random.Random().randint(5, 18)
  process = subprocess.Popen(_command(records, tmp_path / "b"), env=_env(),
                             cwd=REPO, stderr=subprocess.PIPE, text=True)
  for line in process.stderr:
    if f"step {kill_at}/24" in line:
      process.send_signal(signal.SIGKILL)
      break
  process.wait(timeout=300)
  assert process.returncode == -signal.SIGKILL, f"never reached {kill_at}"
  assert not (tmp_path / "b" / "pretrainer.keras").exists()
  assert uninterrupted.wait(timeout=300) == 0

  rerun = subprocess.run(_command(records, tmp_path / "b"), env=_env(),
                         cwd=REPO, capture_output=True, text=True)
  assert rerun.returncode == 0, rerun.stderr[-3000:]
  assert "Resumed from" in rerun.stderr
  for a, b in zip(_final_weights(tmp_path / "a"),
                  _final_weights(tmp_path / "b")):
    np.testing.assert_array_equal(a, b)

  encoder = tf.keras.models.load_model(str(tmp_path / "b" / "encoder.keras"))
  assert encoder.count_params() < sum(w.size for w in _final_weights(
      tmp_path / "b"))
  flagfile = (tmp_path / "b" / "flags.txt").read_text()
  assert "--num_train_steps=24" in flagfile and "--seed=5" in flagfile

  # Phase 2 starts from phase 1's model_dir: its weights, a fresh optimizer.
  evaluation, phase2 = run_many([
      ("sqz_tf.run_pretraining",
       *_command(records, tmp_path / "b", "--mode=eval")[3:]),
      ("sqz_tf.run_pretraining",
       *[arg for arg in _command(records, tmp_path / "phase2")[3:]
         if not arg.startswith("--num_train_steps")],
       "--num_train_steps=1", "--learning_rate=0",
       f"--init_checkpoint={tmp_path / 'b'}")])
  assert evaluation.returncode == 0, evaluation.stderr[-3000:]
  results = json.loads((tmp_path / "b" / "eval_results.json").read_text())
  assert results["step"] == 24
  assert {"mlm_accuracy", "sop_accuracy", "mlm_loss",
          "mlm_unigram_baseline_accuracy"} <= set(results)
  assert phase2.returncode == 0, phase2.stderr[-3000:]
  assert "Initialized the model from" in phase2.stderr
  for a, b in zip(_final_weights(tmp_path / "b"),
                  _final_weights(tmp_path / "phase2")):
    np.testing.assert_array_equal(a, b)  # learning rate 0: unchanged


def test_bad_input_is_one_line_and_destroys_nothing(records, tmp_path):
  model_dir = tmp_path / "model"
  model_dir.mkdir()
  (model_dir / "flags.txt").write_text("the user's earlier run\n")
  other_shape = tmp_path / "other.keras"
  config = SqueezeBertConfig.from_json_file(str(records / "config.json"))
  SqueezeBertPretrainer(dataclasses.replace(
      config, hidden_size=16, embedding_size=16, intermediate_size=32)).save(
          str(other_shape))
  base = _command(records, model_dir)
  cases = [
      (base + ["--num_train_step=3"], "Unknown command line flag"),
      (base + [f"--flagfile={tmp_path / 'missing.flags'}"],
       "Unable to open flagfile"),
      ([arg for arg in base if not arg.startswith("--input_files")] +
       [f"--input_files={tmp_path / 'nothing-*.tfrecord'}"], "nothing-*"),
      ([arg for arg in base if not arg.startswith("--max_seq_length")] +
       ["--max_seq_length=64"], "--max_seq_length"),
      (base + [f"--init_checkpoint={other_shape}"], "has shape"),
  ]
  results = run_many([("sqz_tf.run_pretraining", *command[3:])
                      for command, _ in cases])
  for (_, phrase), result in zip(cases, results):
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("run_pretraining: error: "), result.stderr
    assert phrase in last_line, last_line
    assert "Traceback" not in result.stderr
  assert sorted(os.listdir(model_dir)) == ["flags.txt"]
  assert (model_dir / "flags.txt").read_text() == "the user's earlier run\n"
