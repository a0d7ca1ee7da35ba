"""run_classifier: a toy GLUE task end to end, init paths, distillation."""

import json
import os
import random
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.data.classification_pipeline import in_memory_dataset_fn
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models import SqueezeBertPretrainer
from sqz_tf.tasks import predict
from sqz_tf.tasks.sentence_prediction import Distillation
from sqz_tf.tasks.sentence_prediction import SentencePredictionTask
from sqz_tf.tasks.sentence_prediction import distillation_loss
from sqz_tf.training.initialization import initialize_encoder_or_all
from sqz_tf.training.lamb import LAMB
from sqz_tf.training.trainer import Trainer
from sqz_tf.training.trainer import TrainerOptions
from tests import data_fixtures
from tests.cli_runner import REPO
from tests.cli_runner import run_many
from tests.tiny_configs import toy_glue_config

@pytest.fixture(scope="module")
def toy(tmp_path_factory):
  work = tmp_path_factory.mktemp("glue")
  vocab = data_fixtures.write_vocab(str(work / "vocab.txt"))
  data_fixtures.write_toy_rte(str(work / "RTE"))
  config = toy_glue_config(len(vocab))
  tf.keras.utils.set_random_seed(1)
  SqueezeBertEncoder(config).save(str(work / "encoder.keras"))
  return work


def _command(toy, model_dir, *extra):
  return ("sqz_tf.run_classifier", "--task=rte", f"--data_dir={toy / 'RTE'}",
          f"--vocab_file={toy / 'vocab.txt'}",
          f"--init_checkpoint={toy / 'encoder.keras'}",
          f"--model_dir={model_dir}", "--max_seq_length=24",
          "--train_batch_size=16", "--learning_rate=2e-3",
          "--num_train_epochs=6", "--log_steps=5", *extra)


@pytest.fixture(scope="module")
def trained(toy, tmp_path_factory):
  """{task: (model_dir, result)}: RTE and STS-B trained side by side."""
  work = tmp_path_factory.mktemp("trained")
  _write_stsb(str(work / "STS-B"))
  stsb = tuple(arg for arg in _command(toy, work / "stsb")
               if not arg.startswith(("--task", "--data_dir")))
  runs = {"rte": _command(toy, work / "rte", "--do_train", "--do_eval",
                          "--do_predict"),
          "stsb": stsb + ("--task=stsb", f"--data_dir={work / 'STS-B'}",
                          "--do_train", "--do_predict")}
  return {task: (work / task, result) for task, result in
          zip(runs, run_many(list(runs.values())))}


def test_train_eval_predict_and_serve_raw_text(toy, trained):
  model_dir, result = trained["rte"]
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((model_dir / "eval_results.json").read_text())
  assert results["main_metric"] == "accuracy"
  assert len(results["epochs"]) == 6
  assert results["best"]["accuracy"] >= 0.8  # chance is 0.5

  lines = (model_dir / "submission" / "RTE.tsv").read_text().splitlines()
  assert lines[0] == "index\tprediction" and len(lines) == 31
  assert {line.split("\t")[1] for line in lines[1:]} <= {
      "entailment", "not_entailment"}
  assert [line.split("\t")[0] for line in lines[1:]] == [
      str(i) for i in range(30)]

  # The saved classifier (fresh process) and the raw-text SavedModel agree.
  check = subprocess.run([sys.executable, "-c", f"""
import numpy as np, sqz_tf, tensorflow as tf
from sqz_tf.data.tokenizer import BertTokenizerLayer
model = tf.keras.models.load_model("{model_dir / 'classifier.keras'}")
tokenizer = BertTokenizerLayer.from_vocab_file("{toy / 'vocab.txt'}",
                                               seq_length=24)
a = tf.constant(["the cafe is naive", "a long world"])
b = tf.constant(["play hello", "token is a"])
python_path = model(tokenizer([a, b])).numpy()
served = tf.saved_model.load("{model_dir / 'serving'}")
out = served.signatures["serving_default"](text_a=a, text_b=b)
np.testing.assert_allclose(out["logits"].numpy(), python_path, atol=1e-5)
print("agree", python_path.argmax(-1).tolist())
"""], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  assert "agree" in check.stdout, check.stderr[-3000:]


def test_bad_input(toy, tmp_path):
  bad_labels = tmp_path / "bad_labels"
  data_fixtures.write_toy_rte(str(bad_labels))
  with open(bad_labels / "train.tsv", "a") as f:
    f.write("999\tthe cafe\tis hello\tneutral\n")
  no_train = tmp_path / "no_train"
  data_fixtures.write_toy_rte(str(no_train))
  os.remove(no_train / "train.tsv")
  wrong_teacher = tmp_path / "teacher.npy"
  np.save(wrong_teacher, np.zeros([240, 3], np.float32))

  def replaced(command, flag, value):
    return tuple(arg for arg in command if not arg.startswith(flag)) + (
        f"{flag}={value}",)

  base = _command(toy, tmp_path / "model", "--do_train")
  cases = [
      (replaced(base, "--data_dir", no_train), "train.tsv"),
      (replaced(base, "--task", "rtee"), "unknown GLUE task 'rtee'"),
      (replaced(base, "--data_dir", bad_labels),
       "label 'neutral' is not a RTE label"),
      (base + (f"--teacher_logits={wrong_teacher}",),
       "RTE needs [240, 2] (same label space"),
  ]
  for (_, phrase), result in zip(cases, run_many([c for c, _ in cases])):
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("run_classifier: error: "), result.stderr
    assert phrase in last_line, last_line
    assert "Traceback" not in result.stderr
  assert not (tmp_path / "model").exists()


# Initialization paths (in process).

def _tiny_config():
  return SqueezeBertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=1,
                           num_attention_heads=2, intermediate_size=32,
                           embedding_size=16)


def _same(a, b):
  return all(np.array_equal(x, y) for x, y in zip(a.get_weights(),
                                                  b.get_weights()))


def test_init_from_pretraining_outputs_converted_and_mnli_models(tmp_path):
  config = _tiny_config()
  # (a) a pretraining run: its model_dir checkpoint and its encoder.keras.
  pretrainer = SqueezeBertPretrainer(config)
  tf.train.Checkpoint(model=pretrainer).save(str(tmp_path / "run" /
                                                 "checkpoints" / "ckpt"))
  classifier = SqueezeBertClassifier(config, 2)
  initialize_encoder_or_all(classifier, str(tmp_path / "run"))
  assert _same(classifier.encoder, pretrainer.encoder)
  # (b) an encoder as convert_hf_checkpoint writes it (a .keras encoder).
  encoder = SqueezeBertEncoder(config)
  encoder.save(str(tmp_path / "encoder.keras"))
  classifier = SqueezeBertClassifier(config, 2)
  initialize_encoder_or_all(classifier,
                        tf.keras.models.load_model(str(tmp_path /
                                                       "encoder.keras")))
  assert _same(classifier.encoder, encoder)
  # (c) an MNLI classifier (3 labels) starting a 2-label task: encoder only.
  mnli = SqueezeBertClassifier(config, 3)
  classifier = SqueezeBertClassifier(config, 2)
  head_before = classifier.head.get_weights()
  initialize_encoder_or_all(classifier, mnli)
  assert _same(classifier.encoder, mnli.encoder)
  assert all(np.array_equal(a, b) for a, b in zip(classifier.head.get_weights(),
                                                  head_before))
  # Same label count: the whole classifier.
  same = SqueezeBertClassifier(config, 3)
  initialize_encoder_or_all(same, mnli)
  assert _same(same, mnli)


def test_mismatched_init_is_reported_by_name():
  classifier = SqueezeBertClassifier(_tiny_config(), 2)
  wider = SqueezeBertEncoder(SqueezeBertConfig(
      vocab_size=60, hidden_size=32, num_hidden_layers=1,
      num_attention_heads=2, intermediate_size=32, embedding_size=32))
  with pytest.raises(Exception, match="word_embeddings.* has shape"):
    initialize_encoder_or_all(classifier, wider)


# Distillation.

def test_distillation_loss_formula():
  labels = tf.constant([0, 1])
  student = tf.constant([[2.0, 0.0], [0.5, 0.5]])
  teacher = tf.constant([[0.0, 1.0], [1.0, 3.0]])
  loss = distillation_loss(labels, student, teacher, False,
                           Distillation(alpha=0.25, temperature=2.0)).numpy()
  p_teacher = tf.nn.softmax(teacher / 2.0).numpy()
  log_student = tf.nn.log_softmax(student / 2.0).numpy()
  kl = (p_teacher * (np.log(p_teacher) - log_student)).sum(-1)
  hard = -tf.nn.log_softmax(student).numpy()[[0, 1], [0, 1]]
  np.testing.assert_allclose(loss, 0.25 * hard + 0.75 * 4.0 * kl, rtol=1e-5)
  regression = distillation_loss(tf.constant([1.0]), tf.constant([[3.0]]),
                                 tf.constant([[2.0]]), True,
                                 Distillation(alpha=0.5)).numpy()
  np.testing.assert_allclose(regression, [0.5 * 4.0 + 0.5 * 1.0])


@pytest.mark.parametrize("num_labels", [3, 1])
def test_student_reaches_teacher_predictions(tmp_path, num_labels):
  config = _tiny_config()
  rng = np.random.default_rng(0)
  count = 64
  ids = rng.integers(5, 60, (count, 8)).astype(np.int32)
  # The teacher's view: a fixed function of the first token; labels are noise.
  teacher = np.eye(max(num_labels, 2))[ids[:, 0] % max(num_labels, 2)]
  teacher = (teacher[:, :num_labels] * 4.0).astype(np.float32)
  if num_labels == 1:
    teacher = (3.0 * (ids[:, :1] % 2)).astype(np.float32)
  features = {"input_word_ids": ids, "input_mask": np.ones_like(ids),
              "input_type_ids": np.zeros_like(ids),
              "label": (rng.integers(0, num_labels, count).astype(np.int32)
                        if num_labels > 1
                        else rng.random(count).astype(np.float32)),
              "teacher_logits": teacher}
  task = SentencePredictionTask("stsb" if num_labels == 1 else "mnli", config,
                                distillation=Distillation(alpha=0.0))
  tf.keras.utils.set_random_seed(0)
  trainer = Trainer(task, tf.distribute.get_strategy(),
                    TrainerOptions(str(tmp_path), num_train_steps=300,
                                   global_batch_size=16,
                                   save_checkpoints_steps=300, log_steps=100),
                    optimizer_fn=lambda: LAMB(1e-2))
  before = predict(trainer.model, features)["logits"]
  trainer.train(in_memory_dataset_fn(features, 16, shuffle_seed=0))
  after = predict(trainer.model, features)["logits"]
  if num_labels == 1:
    assert np.abs(after - teacher).mean() < 0.3 * np.abs(before - teacher).mean()
  else:
    agreement = (after.argmax(-1) == teacher.argmax(-1)).mean()
    assert agreement >= 0.9, agreement


def test_glue_submission_tool_packs_the_zip(toy, tmp_path):
  result = subprocess.run(
      [sys.executable, "tools/glue_submission.py",
       f"--glue_dir={toy}", f"--vocab_file={toy / 'vocab.txt'}",
       f"--init_checkpoint={toy / 'encoder.keras'}",
       f"--output_dir={tmp_path}", "--tasks=rte", "--",
       "--num_train_epochs=1", "--max_seq_length=24", "--train_batch_size=16"],
      cwd=REPO, capture_output=True, text=True,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  assert result.returncode == 0, result.stderr[-3000:]
  with zipfile.ZipFile(tmp_path / "submission.zip") as archive:
    assert archive.namelist() == ["RTE.tsv"]
    assert archive.read("RTE.tsv").decode().startswith("index\tprediction\n")


def _write_stsb(directory, seed=0):
  """STS-B-format files; the score is 5 when the sentences share "hello"."""
  rng = random.Random(seed)
  os.makedirs(directory, exist_ok=True)
  header = ("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
            "sentence1\tsentence2")

  def row(index, labelled):
    a = " ".join(rng.choice(data_fixtures.RTE_WORDS[1:]) for _ in range(4))
    b = " ".join(rng.choice(data_fixtures.RTE_WORDS[1:]) for _ in range(4))
    similar = rng.random() < 0.5
    if similar:
      a, b = a + " hello", b + " hello"
    cells = [str(index), "main", "f", "2012", "0", "none", "none", a, b]
    return "\t".join(cells + ([f"{5.0 if similar else 0.0:.3f}"]
                              if labelled else []))

  for name, count, labelled in (("train.tsv", 240, True), ("dev.tsv", 60, True),
                                ("test.tsv", 20, False)):
    with open(os.path.join(directory, name), "w") as f:
      f.write("\n".join([header + ("\tscore" if labelled else "")] +
                        [row(i, labelled) for i in range(count)]) + "\n")


def test_stsb_regression_end_to_end(trained):
  model_dir, result = trained["stsb"]
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((model_dir / "eval_results.json").read_text())
  assert results["main_metric"] == "pearson"
  assert results["best"]["pearson"] > 0.8, results["best"]
  lines = (model_dir / "submission" / "STS-B.tsv").read_text().splitlines()
  assert len(lines) == 21
  assert all(0.0 <= float(line.split("\t")[1]) <= 5.0 for line in lines[1:])
