"""Export-time lowering: the lowered TFLite graph computes the Keras model.

The xnnpack lowering (sqz_tf/export/lowering.py) rewrites the graph a
model is traced into; the Keras model must not change, and the file must
agree with it as the layers' own graph does (per-variant tolerances of
`tflite.TOLERANCES`), at every sequence length of a dynamic-length export.
"""

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.tools import flatbuffer_utils

from sqz_tf.export import calibrated_quantization
from sqz_tf.export import lowering
from sqz_tf.export import tflite
from sqz_tf.export.calibration import sample_inputs
from sqz_tf.layers.grouped_pointwise_conv1d import GroupedPointwiseConv1D
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from tests.tiny_configs import tiny_config
from tests.tiny_configs import tiny_inputs


def _classifier(name, seed=0):
  tf.keras.utils.set_random_seed(seed)
  classifier = SqueezeBertClassifier(tiny_config(name), num_labels=3)
  # Logits of magnitude ~1-10, as a trained head gives: tolerances bite.
  classifier.head.kernel.assign(classifier.head.kernel * 300)
  return classifier


def _calibration(config, seq_length):
  return [sample_inputs(config, 1, seq_length, seed=s) for s in range(8)]


def _max_difference(tflite_bytes, model, samples):
  """(max |TFLite - Keras|, max |Keras|) over `samples`."""
  runner = tflite.interpreter(tflite_bytes).get_signature_runner()
  difference, scale = 0.0, 1.0
  for inputs in samples:
    outputs = runner(**inputs)
    expected = model(inputs, training=False)
    if not isinstance(expected, dict):
      expected = {"output_0": expected}
    for key, value in zip(sorted(outputs), [expected[k]
                                            for k in sorted(expected)]):
      difference = max(difference, float(np.abs(value - outputs[key]).max()))
      scale = max(scale, float(np.abs(value).max()))
  return difference, scale


@pytest.mark.parametrize("name,options", [
    ("squeezebert_groups", lowering.Options()),
    ("mixed_groups", lowering.Options()),  # 8 groups: a grouped CONV_2D
    ("one_head", lowering.Options()),      # relu, 1 head, groups 4/2/1
    ("bert_like", lowering.Options()),     # dense: FULLY_CONNECTED only
    ("squeezebert_groups", lowering.Options(fuse_qkv=True,
                                            first_token_only=False)),
    ("squeezebert_groups", lowering.Options(grouped_form="conv",
                                            chain_ffn=False)),
])
def test_float_export_equals_keras_on_xnnpack_alone(name, options,
                                                    monkeypatch):
  monkeypatch.setattr(lowering, "OPTIONS", options)
  classifier = _classifier(name)
  config = classifier.model_config
  tflite_bytes = tflite.convert(classifier, "float32", seq_length=12)
  samples = [tiny_inputs(config, batch=1, seq_length=12, seed=s)
             for s in range(3)]
  difference, scale = _max_difference(tflite_bytes, classifier, samples)
  assert scale > 1 and difference <= 1e-5 * scale
  xnnpack_ops, kernel_ops = tflite.op_placement(tflite_bytes)
  # Only the ops reading the int32 token ids stay on TFLite's kernels, all
  # before the one delegate partition.
  assert set(kernel_ops) <= {"CAST", "GATHER"}
  assert "FULLY_CONNECTED" in xnnpack_ops
  ops = tflite.interpreter(tflite_bytes)._get_ops_details()  # pylint: disable=protected-access
  assert [op["op_name"] for op in ops].count("DELEGATE") == 1


def test_fused_weights_interleave_query_key_value_per_group():
  config = tiny_config("squeezebert_groups")  # hidden 32, Q/K/V groups 4
  attention = SqueezeBertEncoder(config).transformer_blocks[0].attention
  kernel, bias = lowering.fused_qkv_weights(attention, scale=0.5)
  assert kernel.shape == (8, 96) and bias.shape == (96,)
  query = attention.query.kernel.numpy()[0]  # [in/G, out]
  value = attention.value.kernel.numpy()[0]
  # Output group 1 is [Q_1, K_1, V_1], 8 channels each; Q scaled.
  np.testing.assert_allclose(kernel[:, 24:32], 0.5 * query[:, 8:16])
  np.testing.assert_allclose(kernel[:, 40:48], value[:, 8:16])
  np.testing.assert_allclose(bias[24:32],
                             0.5 * attention.query.bias.numpy()[8:16])


def test_encoder_keeps_every_position_and_keras_is_untouched():
  config = tiny_config("one_head")
  encoder = SqueezeBertEncoder(config)
  inputs = tiny_inputs(config, batch=2, seq_length=10)
  before = encoder(inputs)["sequence_output"].numpy()
  tflite_bytes = tflite.convert(encoder, "float32", seq_length=10,
                                batch_size=2)
  difference, scale = _max_difference(tflite_bytes, encoder, [inputs])
  assert difference <= 1e-5 * scale
  block = encoder.transformer_blocks[0]
  assert "call" not in vars(block)  # the class's call again
  assert {layer.lowering for layer in encoder._flatten_layers()  # pylint: disable=protected-access
          if hasattr(layer, "lowering")} == {"matmul", "conv"}
  np.testing.assert_array_equal(encoder(inputs)["sequence_output"], before)


def test_int8_mixed_lowered_as_close_as_the_layers_own_graph():
  classifier = _classifier("squeezebert_groups")
  config = classifier.model_config
  samples = [sample_inputs(config, 1, 16, seed=100 + s) for s in range(3)]
  differences = {}
  for name in lowering.LOWERINGS:
    tflite_bytes = tflite.convert(classifier, "int8_mixed", 16,
                                  representative_inputs=_calibration(config,
                                                                     16),
                                  lowering=name)
    differences[name], scale = _max_difference(tflite_bytes, classifier,
                                               samples)
  assert differences["xnnpack"] <= tflite.TOLERANCES["int8_mixed"] * scale
  assert differences["xnnpack"] <= 2 * differences["conv"] + 0.02 * scale


def _quantization(tflite_bytes):
  """{tensor name: (scales, zero points)} of the quantized tensors."""
  model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
  return {tensor.name: (np.asarray(tensor.quantization.scale),
                        list(tensor.quantization.zeroPoint))
          for tensor in model.subgraphs[0].tensors
          if tensor.quantization is not None and
          tensor.quantization.scale is not None}


@pytest.mark.parametrize("name", ["squeezebert_groups", "mixed_groups"])
def test_int8_mixed_grouped_convolutions_calibrated_through_their_twin(name):
  # int8_mixed exports grouped projections as grouped CONV_2D, calibrated
  # through a twin computing them by FULLY_CONNECTED kernels. The file must
  # have the int8 arithmetic of that graph calibrated by TFLite itself.
  classifier = _classifier(name)
  config = classifier.model_config
  calibration = _calibration(config, 16)
  ours = tflite.convert(classifier, "int8_mixed", 16,
                        representative_inputs=calibration)
  ops, kernel_ops = tflite.op_placement(ours)
  assert ops["CONV_2D"] == sum(  # on XNNPACK
      1 for layer in classifier._flatten_layers()  # pylint: disable=protected-access
      if isinstance(layer, GroupedPointwiseConv1D) and layer.groups > 1)
  assert "SPLIT" not in ops and "CONV_2D" not in kernel_ops
  with lowering.lowered(classifier, "xnnpack", 1,
                        lowering.Options(grouped_form="conv")):
    converter = tflite._converter(classifier, 1, 16)  # pylint: disable=protected-access
  direct = calibrated_quantization.int8_mixed(converter, calibration,
                                              num_workers=1)
  expected, actual = _quantization(direct), _quantization(ours)
  assert actual.keys() == expected.keys()
  for tensor, (scales, zero_points) in expected.items():
    np.testing.assert_allclose(actual[tensor][0], scales, rtol=1e-6,
                               err_msg=tensor)
    assert actual[tensor][1] == zero_points, tensor
  for seed in (100, 101):
    inputs = sample_inputs(config, 1, 16, seed=seed)
    np.testing.assert_allclose(tflite.run(ours, inputs)["output_0"],
                               tflite.run(direct, inputs)["output_0"],
                               rtol=0, atol=1e-6)


def test_selective_quantization_equals_the_debuggers():
  # convert() skips the QuantizationDebugger's debug model; the file must
  # be the one the debugger's get_nondebug_quantized_model() gives.
  classifier = _classifier("bert_like")
  config = classifier.model_config
  calibration = _calibration(config, 8)
  lines = []
  ours = tflite.convert(classifier, "int8_mixed", 8,
                        representative_inputs=calibration,
                        progress=lines.append)
  spec = {name: tf.TensorSpec([1, 8], tf.int32, name=name)
          for name in ("input_word_ids", "input_mask", "input_type_ids")}
  with lowering.lowered(classifier, "xnnpack", batch_size=1):
    concrete = tf.function(lambda x: classifier(x, training=False)
                           ).get_concrete_function(spec)
    variables = tf.Module()
    variables.held = list(classifier.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete],
                                                                variables)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(calibration)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=lambda: iter(()),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(
            denylisted_ops=list(tflite.INT8_MIXED_FLOAT_OPS)))
    assert ours == debugger.get_nondebug_quantized_model()
  assert any(line.startswith("Calibrating activation ranges on 8 examples")
             for line in lines)
  assert lines[-1].startswith("Converted in ")


@pytest.mark.parametrize("quantization", ["float32", "int8_mixed"])
def test_dynamic_length_export_runs_every_length_as_fixed_exports(
    quantization):
  classifier = _classifier("squeezebert_groups")
  config = classifier.model_config
  calibration = _calibration(config, 16)
  dynamic = tflite.convert(classifier, quantization, 16,
                           representative_inputs=calibration,
                           dynamic_seq_length=True)
  fixed = tflite.convert(classifier, quantization, 16,
                         representative_inputs=calibration)
  details = tflite.interpreter(dynamic).get_input_details()
  # Default shape [1, 16] (what benchmark_model and MediaPipe read), any
  # length by the shape signature.
  assert [list(d["shape"]) for d in details] == [[1, 16]] * 3
  assert [list(d["shape_signature"]) for d in details] == [[1, -1]] * 3
  # Before the one XNNPACK partition: the int32 inputs' ops, and the
  # shape arithmetic that cuts the position table to the length.
  assert set(tflite.op_placement(dynamic)[1]) <= {
      "CAST", "GATHER", "SHAPE", "STRIDED_SLICE", "PACK"}
  padded = sample_inputs(config, 1, 16, seed=7)  # 12 tokens, then padding
  full = tflite.run(fixed, padded)["output_0"]
  # int8_mixed: the same int8 scales (calibrated through the fixed twin).
  np.testing.assert_allclose(tflite.run(dynamic, padded)["output_0"], full,
                             rtol=0, atol=1e-5)
  # The same text at its own length: what the padded fixed file gives, up
  # to float summation order (and, in int8, a rounding step it may tip).
  short = {name: value[:, :12] for name, value in padded.items()}
  np.testing.assert_allclose(tflite.run(dynamic, short)["output_0"], full,
                             rtol=0, atol=1e-4 if quantization == "float32"
                             else 0.02 * max(1, np.abs(full).max()))
  if quantization == "float32":
    for length in (3, 9, 24):
      inputs = sample_inputs(config, 1, length, seed=length)
      difference, scale = _max_difference(dynamic, classifier, [inputs])
      assert difference <= 1e-5 * scale, length
    # Longer than max_position_embeddings (40): its first 40 tokens.
    long = sample_inputs(config, 1, 45, seed=45)
    np.testing.assert_allclose(
        tflite.run(dynamic, long)["output_0"], classifier(
            {name: value[:, :40] for name, value in long.items()}),
        rtol=0, atol=1e-5 * np.abs(full).max())


def test_calibration_runs_at_the_longest_examples_length():
  # Calibration data of at most 10 tokens padded to 32: the export is
  # calibrated through a 16-token twin, and has the int8 arithmetic of a
  # 16-token export calibrated on the same rows.
  classifier = _classifier("squeezebert_groups")
  config = classifier.model_config
  rows = []
  for seed in range(8):
    inputs = sample_inputs(config, 1, 32, seed=seed)
    inputs["input_mask"][:, 10:] = 0
    inputs["input_word_ids"][:, 10:] = 0
    rows.append(inputs)
  lines = []
  padded = tflite.convert(classifier, "int8_mixed", 32,
                          representative_inputs=rows, progress=lines.append)
  assert "(calibrating at 16 tokens, the longest example's length)" in lines
  cut = tflite.convert(classifier, "int8_mixed", 16, representative_inputs=[
      {name: value[:, :16] for name, value in inputs.items()}
      for inputs in rows])
  text = rows[3]
  np.testing.assert_allclose(
      tflite.run(padded, text)["output_0"],
      tflite.run(cut, {name: value[:, :16] for name, value in text.items()}
                 )["output_0"], rtol=0, atol=1e-5)
