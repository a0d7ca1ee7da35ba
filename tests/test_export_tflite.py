"""TFLite export: each variant runs in ai_edge_litert, close to Keras."""

import pytest
import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.export import tflite
from sqz_tf.export_tflite import sample_inputs
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models import SqueezeBertPretrainer
from tests.hf_reference import run_many
from tests.tiny_configs import tiny_config


@pytest.mark.parametrize("quantization", tflite.QUANTIZATIONS)
def test_classifier_variants_run_close_to_keras(quantization):
  config = tiny_config()
  model = SqueezeBertClassifier(config, num_labels=3)
  tflite_bytes = tflite.convert(model, quantization, seq_length=16)
  inputs = sample_inputs(config, 1, 16)
  report = tflite.check(tflite_bytes, model, inputs, quantization)
  assert report.max_abs_difference <= tflite.TOLERANCES[quantization]
  assert "CONV_2D" in report.ops  # grouped projections stay convolutions
  assert not any(name.startswith("Flex") for name in report.ops)
  outputs = tflite.run(tflite_bytes, inputs)
  assert list(outputs) == ["output_0"] and outputs["output_0"].shape == (1, 3)


def test_encoder_exports_both_outputs():
  config = tiny_config("mixed_groups")
  model = SqueezeBertEncoder(config)
  tflite_bytes = tflite.convert(model, "float32", seq_length=12)
  inputs = sample_inputs(config, 1, 12)
  report = tflite.check(tflite_bytes, model, inputs, "float32")
  assert report.max_abs_difference < 1e-4
  assert sorted(tflite.run(tflite_bytes, inputs)) == ["pooled_output",
                                                      "sequence_output"]
  # Export leaves the layer's training lowering as it was.
  assert model.transformer_blocks[0].intermediate.lowering == "matmul"


def test_bad_models_and_lengths():
  config = tiny_config()
  with pytest.raises(SqzError, match="not an sqz_tf encoder or classifier"):
    tflite.convert(SqueezeBertPretrainer(config), "float32", seq_length=8)
  plain = tf.keras.Sequential([tf.keras.Input([4]), tf.keras.layers.Dense(2)])
  with pytest.raises(SqzError, match="not an sqz_tf encoder or classifier"):
    tflite.convert(plain, "float32", seq_length=8)
  with pytest.raises(SqzError, match="outside 1..40"):
    tflite.convert(SqueezeBertClassifier(config, 2), "float32", seq_length=41)


def test_cli_writes_and_refuses_bad_input(tmp_path):
  config = tiny_config()
  SqueezeBertClassifier(config, 2).save(str(tmp_path / "c.keras"))
  good, too_long = run_many([
      ("sqz_tf.export_tflite", f"--model={tmp_path / 'c.keras'}",
       f"--output={tmp_path / 'c.tflite'}", "--quantization=dynamic",
       "--seq_length=16"),
      ("sqz_tf.export_tflite", f"--model={tmp_path / 'c.keras'}",
       f"--output={tmp_path / 'long.tflite'}", "--seq_length=64"),
  ])
  assert good.returncode == 0, good.stderr[-3000:]
  assert "max |TFLite - Keras|" in good.stdout
  assert (tmp_path / "c.tflite").stat().st_size > 0
  assert too_long.returncode != 0
  assert "seq_length 64 is outside" in too_long.stderr.strip().splitlines()[-1]
  assert not (tmp_path / "long.tflite").exists()
