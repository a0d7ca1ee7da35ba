"""Quantization-aware training: quantizers, model copy, finetune → TFLite."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from sqz_tf.export.calibration import sample_inputs
from sqz_tf.layers import quantization
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models.quantization_aware import quantization_aware_copy
from tests import data_fixtures
from tests.cli_runner import REPO
from tests.cli_runner import run_many
from tests.tiny_configs import tiny_config
from tests.tiny_configs import toy_glue_config


def test_kernel_quantizer_is_per_output_channel_symmetric():
  rng = np.random.default_rng(0)
  # Output channels of very different scales: one shared scale would
  # flatten the small ones to zero.
  kernel = rng.normal(size=[1, 6, 5]) * np.array([1e-3, 1e-2, 0.1, 1, 10])
  kernel = tf.constant(kernel, tf.float32)
  quantizer = quantization.GroupedKernelQuantizer()
  holder = tf.keras.layers.Layer()
  ranges = quantizer.build(kernel.shape, "kernel", holder)
  quantized = quantizer(kernel, True, ranges).numpy()
  assert quantized.shape == (1, 1, 6, 5)  # Conv2D form for the converter
  step = np.abs(kernel.numpy()).max(axis=(0, 1)) / 127  # narrow range
  levels = np.round(kernel.numpy()[0] / step)
  np.testing.assert_allclose(quantized[0, 0], levels * step, rtol=1e-4,
                             atol=1e-7)
  assert np.all(np.abs(levels) <= 127)


def test_activation_range_starts_at_the_first_batch():
  point = quantization.fake_quant_point("probe")
  point(tf.constant([[0.0, 3.0, 1.0]]), training=True)
  low, high = (float(point.weights[i]) for i in (1, 2))
  assert (low, high) == (0.0, 3.0)  # not tfmot's [-6, 6] start
  point(tf.constant([[-1.0, 0.5]]), training=True)
  low, high = (float(point.weights[i]) for i in (1, 2))
  np.testing.assert_allclose([low, high], [0.99 * 0 + 0.01 * -1,
                                           0.99 * 3 + 0.01 * 0.5], rtol=1e-6)
  # Inference leaves the range alone and clips to it.
  out = point(tf.constant([[10.0]]), training=False).numpy()
  np.testing.assert_allclose(out, [[high]], rtol=1e-2)
  assert float(point.weights[2]) == high


def test_copy_keeps_weights_close_outputs_and_round_trips(tmp_path):
  config = tiny_config("mixed_groups")
  tf.keras.utils.set_random_seed(0)
  float_model = SqueezeBertEncoder(config)
  qat = quantization_aware_copy(float_model)
  assert qat.quantization_aware and type(qat) is SqueezeBertEncoder
  for a, b in zip(float_model.trainable_weights, qat.trainable_weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  for seed in range(4):
    qat(sample_inputs(config, 2, 16, seed=seed), training=True)
  inputs = sample_inputs(config, 2, 16, seed=9)
  expected = float_model(inputs)["sequence_output"].numpy()
  fake_quantized = qat(inputs)["sequence_output"].numpy()
  # 8-bit noise: present, and small against the outputs' magnitude.
  assert 0 < np.abs(fake_quantized - expected).max() < (
      0.15 * np.abs(expected).max())

  path = tmp_path / "qat.keras"
  qat.save(str(path))
  np.save(tmp_path / "expected.npy", fake_quantized)
  np.savez(tmp_path / "inputs.npz", **inputs)
  # A fresh process, plain load_model in safe mode, no custom objects.
  check = subprocess.run([sys.executable, "-c", f"""
import numpy as np, sqz_tf, tensorflow as tf
model = tf.keras.models.load_model("{path}")
inputs = dict(np.load("{tmp_path / 'inputs.npz'}"))
out = model(inputs)["sequence_output"].numpy()
np.testing.assert_allclose(out, np.load("{tmp_path / 'expected.npy'}"),
                           atol=1e-6)
print("same", type(model).__name__, model.quantization_aware)
"""], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  assert "same SqueezeBertEncoder True" in check.stdout, check.stderr[-3000:]


def test_qat_finetune_then_export_and_evaluate(tmp_path):
  vocab = data_fixtures.write_vocab(str(tmp_path / "vocab.txt"))
  data_fixtures.write_toy_rte(str(tmp_path / "RTE"))
  config = toy_glue_config(len(vocab))
  config.to_json_file(str(tmp_path / "config.json"))
  common = ("sqz_tf.run_classifier", "--task=rte",
            f"--data_dir={tmp_path / 'RTE'}",
            f"--vocab_file={tmp_path / 'vocab.txt'}", "--max_seq_length=24",
            "--train_batch_size=16", "--log_steps=5", "--do_train",
            "--do_eval")
  float_run, no_init = run_many([
      common + (f"--model_config={tmp_path / 'config.json'}",
                f"--model_dir={tmp_path / 'float'}", "--learning_rate=2e-3",
                "--num_train_epochs=6"),
      common + (f"--model_config={tmp_path / 'config.json'}",
                f"--model_dir={tmp_path / 'bad'}", "--quantization_aware"),
  ])
  assert float_run.returncode == 0, float_run.stderr[-3000:]
  assert no_init.returncode != 0
  assert "starts from a finetuned float classifier" in (
      no_init.stderr.strip().splitlines()[-1])
  float_model = tmp_path / "float" / "classifier.keras"

  qat_run, = run_many([common + (
      f"--init_checkpoint={float_model}", f"--model_dir={tmp_path / 'qat'}",
      "--learning_rate=2e-4", "--num_train_epochs=2",
      "--quantization_aware")])
  assert qat_run.returncode == 0, qat_run.stderr[-3000:]
  qat_model = tmp_path / "qat" / "classifier.keras"
  export, = run_many([(
      "sqz_tf.export_tflite", f"--model={qat_model}",
      f"--output={tmp_path / 'qat.tflite'}", "--quantization=qat",
      "--seq_length=24", f"--float_model={float_model}")])
  assert export.returncode == 0, export.stderr[-3000:]
  assert "(qat)" in export.stdout
  evaluation, report = run_many([
      ("sqz_tf.evaluate_tflite", f"--tflite={tmp_path / 'qat.tflite'}",
       "--task=rte", f"--data_dir={tmp_path / 'RTE'}",
       f"--vocab_file={tmp_path / 'vocab.txt'}", f"--model={float_model}",
       f"--output_json={tmp_path / 'eval.json'}"),
      (os.path.join(REPO, "tools", "quantization_report.py"),
       f"--model={float_model}", f"--qat_model={qat_model}", "--task=rte",
       f"--data_dir={tmp_path / 'RTE'}",
       f"--vocab_file={tmp_path / 'vocab.txt'}", "--seq_length=24",
       "--num_calibration_examples=40", "--op_study", "--runs=3",
       f"--save_tflite_dir={tmp_path / 'variants'}",
       f"--output_dir={tmp_path / 'report'}"),
  ])
  assert evaluation.returncode == 0, evaluation.stderr[-3000:]
  assert report.returncode == 0, report.stderr[-3000:]
  rows = json.loads((tmp_path / "report" / "report.json").read_text())
  for variant in ("float32", "float16", "dynamic", "int8", "int8_mixed",
                  "qat"):
    row = rows[f"finetuned/{variant}"]
    assert row["median_ms"] > 0 and row["p90_ms"] >= row["median_ms"]
    assert 0 <= row["agreement"] <= 1
    assert (tmp_path / "variants" / f"{variant}.tflite").exists()
  assert rows["finetuned/float32"]["agreement"] == 1.0
  assert rows["op study/int8, all of them float"]["tflite_kernel_ops"] == (
      rows["finetuned/int8_mixed"]["tflite_kernel_ops"])
  assert "| finetuned | int8_mixed |" in report.stdout
  result = json.loads((tmp_path / "eval.json").read_text())["dev"]
  assert result["examples"] == 80
  float_accuracy = result["float"]["accuracy"]
  assert float_accuracy >= 0.8  # chance is 0.5
  assert result["tflite"]["accuracy"] >= float_accuracy - 0.05
  assert result["agreement"] >= 0.9
