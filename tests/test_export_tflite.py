"""TFLite export: every variant runs in ai_edge_litert, close to Keras."""

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.data.classification_pipeline import write_classification_records
from sqz_tf.data.glue import read_examples
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.errors import SqzError
from sqz_tf.export import float_islands
from sqz_tf.export import lowering
from sqz_tf.export import tflite
from sqz_tf.export.calibration import sample_inputs
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models import SqueezeBertPretrainer
from sqz_tf.models import SqueezeBertQuestionAnswerer
from sqz_tf.models.quantization_aware import quantization_aware_copy
from tests import data_fixtures
from tests.cli_runner import run_many
from tests.tiny_configs import tiny_config

# Ops that stay on TFLite's kernels in every variant but full int8: those
# reading the int32 token-id inputs, which XNNPACK does not take (the mask's
# CAST, the embedding GATHERs); with float16, the DEQUANTIZE of a gathered
# table. QAT's graph (the layers as written) also leaves the pooler's
# shrinking STRIDED_SLICE there.
INPUT_OPS = {"CAST", "GATHER"}
KERNEL_OPS = {"float16": INPUT_OPS | {"DEQUANTIZE"},
              "qat": INPUT_OPS | {"STRIDED_SLICE", "DEQUANTIZE"}}


def _export(model, quantization, seq_length=16):
  """(TFLite bytes, report, the model exported) for one variant."""
  config = model.model_config
  calibration = [sample_inputs(config, 1, seq_length, seed=s)
                 for s in range(8)]
  if quantization == "qat":  # ranges from a few training-mode batches
    model = quantization_aware_copy(model)
    for inputs in calibration:
      model(inputs, training=True)
  tflite_bytes = tflite.convert(model, quantization, seq_length,
                                representative_inputs=calibration)
  checks = [sample_inputs(config, 1, seq_length, seed=100 + s)
            for s in range(3)]
  return tflite_bytes, tflite.check(tflite_bytes, model, checks,
                                    quantization), model


@pytest.mark.parametrize("quantization", tflite.QUANTIZATIONS)
def test_classifier_variants_run_close_to_keras(quantization):
  config = tiny_config("mixed_groups")
  classifier = SqueezeBertClassifier(config, num_labels=3)
  # Logits of magnitude ~1-10, as a trained head gives, not ~0.01: the
  # tolerance then bites.
  classifier.head.kernel.assign(classifier.head.kernel * 300)
  tflite_bytes, report, exported = _export(classifier, quantization)
  assert report.output_scale > 1
  assert report.max_abs_difference <= (tflite.TOLERANCES[quantization] *
                                       report.output_scale)
  # Grouped projections: a grouped CONV_2D in QAT's graph, FULLY_CONNECTED
  # per group in the xnnpack lowering.
  assert ("CONV_2D" if quantization == "qat" else "FULLY_CONNECTED"
          ) in report.xnnpack_ops
  assert not any(name.startswith(("Flex", "CUSTOM")) for name in report.ops)
  if quantization == "int8":
    # Full integer: XNNPACK has no int8 LayerNorm pieces, GELU, softmax or
    # activation x activation products; TFLite's kernels run them.
    assert {"GELU", "SOFTMAX", "RSQRT"} <= set(report.tflite_kernel_ops)
  else:
    assert set(report.tflite_kernel_ops) <= KERNEL_OPS.get(quantization,
                                                           INPUT_OPS)
  outputs = tflite.run(tflite_bytes, sample_inputs(config, 1, 16))
  assert list(outputs) == ["output_0"]
  assert outputs["output_0"].shape == (1, 3)
  assert outputs["output_0"].dtype == np.float32
  runner = tflite.interpreter(tflite_bytes).get_signature_runner()
  assert {name: d["dtype"] for name, d in
          runner.get_input_details().items()} == {
              "input_word_ids": np.int32, "input_mask": np.int32,
              "input_type_ids": np.int32}
  # Export leaves the layers' training lowering as it was.
  assert "matmul" in {layer.lowering for layer in exported._flatten_layers()
                      if hasattr(layer, "lowering")}


def test_encoder_exports_both_outputs():
  config = tiny_config("one_head")
  encoder = SqueezeBertEncoder(config)
  tflite_bytes, report, _ = _export(encoder, "float32", seq_length=12)
  assert report.max_abs_difference < 1e-4 * report.output_scale
  assert sorted(tflite.run(tflite_bytes, sample_inputs(config, 1, 12))) == [
      "pooled_output", "sequence_output"]


def test_question_answerer_keeps_its_output_names():
  config = tiny_config("mixed_groups")
  model = SqueezeBertQuestionAnswerer(config)
  tflite_bytes, report, _ = _export(model, "float32", seq_length=12)
  assert report.max_abs_difference < 1e-4 * report.output_scale
  assert set(report.tflite_kernel_ops) <= INPUT_OPS  # SPLIT, not UNPACK
  outputs = tflite.run(tflite_bytes, sample_inputs(config, 1, 12))
  assert {name: value.shape for name, value in outputs.items()} == {
      "start_logits": (1, 12), "end_logits": (1, 12)}


def test_conversion_skips_keras_traces_but_not_bytes():
  # convert() hands the converter a module holding only the variables; the
  # file must equal what the Keras model itself as trackable gives.
  config = tiny_config()
  model = SqueezeBertClassifier(config, 2)
  spec = {name: tf.TensorSpec([1, 8], tf.int32, name=name)
          for name in ("input_word_ids", "input_mask", "input_type_ids")}
  with lowering.lowered(model, "conv", batch_size=1):
    concrete = tf.function(lambda x: model(x, training=False)
                           ).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete],
                                                                model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    reference = converter.convert()
  assert tflite.convert(model, "dynamic", seq_length=8,
                        lowering="conv") == reference


def test_int8_weights_make_files_smaller():
  # Big enough that weights dominate the file.
  encoder = SqueezeBertEncoder(tiny_config(
      vocab_size=3000, hidden_size=64, intermediate_size=256,
      embedding_size=64, num_attention_heads=4))
  sizes = {q: _export(encoder, q)[1].size_bytes
           for q in ("float32", "float16", "dynamic", "int8_mixed", "qat")}
  assert sizes["float32"] / sizes["float16"] > 1.8
  for quantization in ("dynamic", "int8_mixed", "qat"):
    # 4x on the weights; biases stay int32 and the graph costs a little.
    assert sizes["float32"] / sizes[quantization] > 3.0, sizes


def test_dequantize_ops_puts_int8_ops_back_in_float():
  config = tiny_config()
  encoder = SqueezeBertEncoder(config)
  int8_bytes, int8_report, _ = _export(encoder, "int8")
  rewritten, count = float_islands.dequantize_ops(int8_bytes,
                                                  ("GELU", "SOFTMAX"))
  assert count == int8_report.ops["GELU"] + int8_report.ops["SOFTMAX"]
  xnnpack_ops, kernel_ops = tflite.op_placement(rewritten)
  assert "GELU" in xnnpack_ops and "GELU" not in kernel_ops
  assert "SOFTMAX" in xnnpack_ops and "SOFTMAX" not in kernel_ops
  inputs = sample_inputs(config, 1, 16, seed=5)
  before = tflite.run(int8_bytes, inputs)["sequence_output"]
  after = tflite.run(rewritten, inputs)["sequence_output"]
  expected = encoder(inputs)["sequence_output"].numpy()
  # Same quantization parameters, float arithmetic in between: as close.
  assert np.abs(after - expected).max() <= 1.5 * np.abs(
      before - expected).max() + 1e-3


def test_bad_models_lengths_and_calibration_data():
  config = tiny_config()
  classifier = SqueezeBertClassifier(config, 2)
  with pytest.raises(SqzError, match="not an sqz_tf encoder or task model"):
    tflite.convert(SqueezeBertPretrainer(config), "float32", seq_length=8)
  plain = tf.keras.Sequential([tf.keras.Input([4]), tf.keras.layers.Dense(2)])
  with pytest.raises(SqzError, match="not an sqz_tf encoder or task model"):
    tflite.convert(plain, "float32", seq_length=8)
  with pytest.raises(SqzError, match="outside 1..40"):
    tflite.convert(classifier, "float32", seq_length=41)
  for missing in (None, []):
    with pytest.raises(SqzError, match="int8 needs representative data"):
      tflite.convert(classifier, "int8", 8, representative_inputs=missing)
  with pytest.raises(SqzError, match="has shape"):
    tflite.convert(classifier, "int8_mixed", 8,
                   representative_inputs=[sample_inputs(config, 1, 9)])
  with pytest.raises(SqzError, match="does not take int8"):
    tflite.convert(classifier, "int8", 8, dynamic_seq_length=True,
                   representative_inputs=[sample_inputs(config, 1, 8)])
  with pytest.raises(SqzError, match="needs a quantization-aware model"):
    tflite.convert(classifier, "qat", 8)
  with pytest.raises(SqzError, match="exports only with qat"):
    tflite.convert(quantization_aware_copy(classifier), "dynamic", 8)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
  work = tmp_path_factory.mktemp("export")
  vocab = data_fixtures.write_vocab(str(work / "vocab.txt"))
  data_fixtures.write_toy_rte(str(work / "RTE"), rows=40)
  config = tiny_config(vocab_size=len(vocab))
  SqueezeBertClassifier(config, 2).save(str(work / "classifier.keras"))
  tokenizer = BertTokenizerLayer.from_vocab_file(str(work / "vocab.txt"),
                                                 seq_length=16)
  write_classification_records(read_examples("RTE", str(work / "RTE"),
                                             "train"),
                               "RTE", tokenizer, str(work / "rte.tfrecord"))
  (work / "empty").mkdir()
  (work / "empty" / "train.tsv").write_text(
      "index\tsentence1\tsentence2\tlabel\n")
  return work


def _export_command(toy, output, *extra):
  return ("sqz_tf.export_tflite", f"--model={toy / 'classifier.keras'}",
          f"--output={output}", "--seq_length=16", *extra)


def test_cli_calibrates_on_task_text_or_records(toy, tmp_path):
  glue, records = run_many([
      _export_command(toy, tmp_path / "glue.tflite", "--quantization=int8",
                      f"--representative_data={toy / 'RTE'}", "--task=rte",
                      f"--vocab_file={toy / 'vocab.txt'}",
                      "--num_calibration_examples=20"),
      _export_command(toy, tmp_path / "records.tflite",
                      "--quantization=int8_mixed", "--dynamic_seq_length",
                      f"--representative_data={toy / 'rte.tfrecord'}"),
  ])
  for result, name in ((glue, "glue"), (records, "records")):
    assert result.returncode == 0, result.stderr[-3000:]
    assert "XNNPACK runs: " in result.stdout
    assert "TFLite kernels run: " in result.stdout
    assert (tmp_path / f"{name}.tflite").stat().st_size > 0
  assert "(int8_mixed)" in records.stdout
  # Progress on stderr; a dynamic-length file that runs 16 tokens by default.
  assert "Calibrating activation ranges on 20 examples" in glue.stderr
  details = tflite.interpreter((tmp_path / "records.tflite").read_bytes()
                               ).get_input_details()
  assert [list(d["shape_signature"]) for d in details] == [[1, -1]] * 3
  assert [list(d["shape"]) for d in details] == [[1, 16]] * 3


def test_cli_refuses_bad_input_and_writes_nothing(toy, tmp_path):
  (tmp_path / "kept.tflite").write_bytes(b"users' file")
  tf.keras.Sequential([tf.keras.Input([4]), tf.keras.layers.Dense(2)]).save(
      str(tmp_path / "plain.keras"))
  commands = {
      "not ours": (("sqz_tf.export_tflite",
                    f"--model={tmp_path / 'plain.keras'}",
                    f"--output={tmp_path / 'a.tflite'}"),
                   "not an sqz_tf encoder or task model"),
      "too long": (_export_command(toy, tmp_path / "b.tflite")[:-1] +
                   ("--seq_length=64",), "seq_length 64 is outside"),
      "no data": (_export_command(toy, tmp_path / "c.tflite",
                                  "--quantization=int8"),
                  "int8 needs representative data"),
      "empty data": (_export_command(
          toy, tmp_path / "d.tflite", "--quantization=int8_mixed",
          f"--representative_data={toy / 'empty'}", "--task=rte",
          f"--vocab_file={toy / 'vocab.txt'}"), "RTE train: no examples"),
      "exists": (_export_command(toy, tmp_path / "kept.tflite"),
                 "output already exists"),
  }
  results = run_many([command for command, _ in commands.values()])
  for (name, (_, message)), result in zip(commands.items(), results):
    assert result.returncode != 0, name
    assert message in result.stderr.strip().splitlines()[-1], (
        name, result.stderr[-2000:])
  assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.tflite",
                                                        "plain.keras"]
  assert (tmp_path / "kept.tflite").read_bytes() == b"users' file"
