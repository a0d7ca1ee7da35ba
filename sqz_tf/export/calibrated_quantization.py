"""Post-training int8 quantization with calibration in worker processes.

    converter = tf.lite.TFLiteConverter.from_concrete_functions(...)
    int8_mixed_bytes = int8_mixed(converter, examples)
    int8_bytes = full_int8(converter, examples)

Both are TFLite's own quantizations of the float graph `converter` holds,
calibrated on `examples` (input dicts or lists, as TFLite's representative
datasets yield them) by TFLite's calibrator in a process per CPU
(sqz_tf.export.parallel_calibration): the same ranges, hence the same file,
in a fraction of the time.
"""

import tensorflow as tf

from sqz_tf.export import flatbuffer_edits
from sqz_tf.export import parallel_calibration

# Ops that int8_mixed keeps in float. With them in int8 XNNPACK leaves the
# LayerNorm pieces, softmax, GELU, activation x activation BATCH_MATMULs and
# rescaling ADDs to TFLite's kernels, splitting the graph into ~100
# partitions; full int8 then runs ~4x slower than float32 on x86
# (tools/quantization_op_study.py). Convolutions, the pooler/classifier
# FULLY_CONNECTED, the embedding GATHERs and the RESHAPE/TRANSPOSE between
# them stay int8, so the weights shrink 4x and all compute is delegated.
# DIV and MAXIMUM only occur in the mean-pooled embedding of a MediaPipe
# TextEmbedder export (sum / max(token count, 1)).
INT8_MIXED_FLOAT_OPS = ("ADD", "SUB", "MUL", "MEAN", "SQUARED_DIFFERENCE",
                        "RSQRT", "SOFTMAX", "GELU", "BATCH_MATMUL", "TANH",
                        "CAST", "STRIDED_SLICE", "DIV", "MAXIMUM")


def calibrated(calibrator, examples, float_converter=None, progress=None,
               num_workers=None):
  """The float graph of `calibrator` (a TFLiteConverter) with TFLite's
  activation ranges over `examples`, from `num_workers` processes (default:
  the CPUs).

  `float_converter` (a TFLiteConverter of the graph to quantize), if given,
  converts while the workers calibrate, and its graph is returned instead,
  with the ranges of the same-named tensors of the calibrated one.
  """
  calibrator.optimizations = [tf.lite.Optimize.DEFAULT]
  # TFLite's converter calibrates on the first example: that marks the
  # tensors to log; the workers then calibrate on all.
  calibrator.representative_dataset = lambda: iter(examples[:1])
  calibrator.experimental_mlir_quantizer = True
  calibrator._experimental_calibrate_only = True  # pylint: disable=protected-access
  with parallel_calibration.Calibration(calibrator.convert(), examples,
                                        num_workers, progress) as calibration:
    float_model = float_converter.convert() if float_converter else None
    result = calibration.result()
  if float_model is not None:
    result = flatbuffer_edits.with_ranges_of(float_model, result)
  return result


def int8_mixed(calibrator, examples, float_converter=None, progress=None,
               num_workers=None):
  """int8_mixed bytes: TFLite's selective quantization, INT8_MIXED_FLOAT_OPS
  left in float (arguments: `calibrated`).

  The same file as `tf.lite.experimental.QuantizationDebugger(converter=...)
  .get_nondebug_quantized_model()` without the debugger's own first product
  (a second quantization with numeric-verify ops, and an interpreter for
  it), which cost a third of the time.
  """
  from tensorflow.lite.python import convert as lite_convert  # pylint: disable=g-import-not-at-top
  graph = calibrated(calibrator, examples, float_converter, progress,
                     num_workers)
  (progress or (lambda line: None))(
      "Quantizing (int8 weights and projection activations)")
  return lite_convert.mlir_quantize(
      graph,
      disable_per_channel=calibrator._experimental_disable_per_channel,  # pylint: disable=protected-access
      denylisted_ops=list(INT8_MIXED_FLOAT_OPS))


def full_int8(converter, examples, progress=None, num_workers=None):
  """Full-integer bytes (every op int8, float inputs and outputs kept).

  Byte for byte the file `converter.convert()` writes with `examples` as its
  representative dataset and TFLITE_BUILTINS_INT8 as its ops (the steps of
  TFLiteConverter's post-training integer quantization after calibration).
  """
  from tensorflow.lite.python import convert as lite_convert  # pylint: disable=g-import-not-at-top
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
  converter.exclude_conversion_metadata = True  # added last, as convert() does
  graph = calibrated(converter, examples, progress=progress,
                     num_workers=num_workers)
  (progress or (lambda line: None))("Quantizing (every op int8)")
  # pylint: disable=protected-access
  quantized = lite_convert.mlir_quantize(
      graph,
      disable_per_channel=converter._experimental_disable_per_channel,
      input_data_type=tf.float32,
      output_data_type=tf.float32,
      disable_per_channel_for_dense_layers=(
          converter._experimental_disable_per_channel_quantization_for_dense_layers))
  # pylint: enable=protected-access
  return _with_conversion_metadata(
      lite_convert.deduplicate_readonly_buffers(quantized), converter)


def _with_conversion_metadata(model_bytes, converter):
  """`model_bytes` with `converter`'s conversion metadata (what its
  convert() appends), hashed over this graph."""
  # pylint: disable=g-import-not-at-top,protected-access
  from tensorflow.lite.python import util
  from tensorflow.lite.tools import flatbuffer_utils
  model = flatbuffer_utils.convert_bytearray_to_object(model_bytes)
  converter._metadata.environment.modelHash = util.get_model_hash(model)
  return bytes(flatbuffer_utils.convert_object_to_bytearray(
      util.populate_conversion_metadata(model, converter._metadata)))
