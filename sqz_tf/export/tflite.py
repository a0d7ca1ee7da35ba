"""Keras model → TFLite flatbuffer with fixed shapes, checked after writing.

    tflite_bytes = convert(classifier, "dynamic", seq_length=128)
    report = check(tflite_bytes, classifier, seq_length=128)

Inputs stay `input_word_ids`, `input_mask`, `input_type_ids` (int32
`[batch, seq_length]`) so a phone app feeds token ids; outputs stay float.
Only TFLite builtin ops are allowed (the stock runtime and `benchmark_model`
on Android have no Flex ops). Grouped projections are exported as grouped
`CONV_2D`, which XNNPACK runs fast.
"""

import contextlib
import dataclasses

import numpy as np
import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.layers.grouped_pointwise_conv1d import GroupedPointwiseConv1D
from sqz_tf.models.encoder import ENCODER_INPUTS

QUANTIZATIONS = ("float32", "float16", "dynamic")
# Variants whose activations are calibrated on representative inputs.
NEEDS_REPRESENTATIVE_DATA = ()
# Max |TFLite - Keras| on logits-scale outputs that a variant may show.
TOLERANCES = {"float32": 1e-4, "float16": 5e-2, "dynamic": 0.5}


@contextlib.contextmanager
def _conv_lowering(model):
  """Grouped projections as grouped convolutions while tracing."""
  layers = [layer for layer in model._flatten_layers()  # pylint: disable=protected-access
            if isinstance(layer, GroupedPointwiseConv1D)]
  saved = [layer.lowering for layer in layers]
  for layer in layers:
    layer.lowering = "conv"
  try:
    yield
  finally:
    for layer, lowering in zip(layers, saved):
      layer.lowering = lowering


def _check_model(model, seq_length):
  config = getattr(model, "model_config", None)
  if config is None or set(model.input_names) != set(ENCODER_INPUTS):
    raise SqzError(f"not an sqz_tf encoder or classifier: "
                   f"{type(model).__name__}")
  if not 0 < seq_length <= config.max_position_embeddings:
    raise SqzError(f"seq_length {seq_length} is outside 1.."
                   f"{config.max_position_embeddings} (max_position_embeddings)")


def convert(model, quantization="float32", seq_length=128, batch_size=1,
            representative_inputs=None):
  """TFLite bytes of an sqz_tf encoder or classifier at fixed shapes.

  `representative_inputs` (a list of input dicts of numpy arrays, shape
  `[batch_size, seq_length]`) calibrates the variants in
  `NEEDS_REPRESENTATIVE_DATA`.
  """
  if quantization not in QUANTIZATIONS:
    raise SqzError(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
  _check_model(model, seq_length)
  spec = {name: tf.TensorSpec([batch_size, seq_length], tf.int32, name=name)
          for name in ENCODER_INPUTS}
  with _conv_lowering(model):
    function = tf.function(lambda inputs: model(inputs, training=False))
    concrete = function.get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete],
                                                                model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization in ("float16", "dynamic"):
      converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
      converter.target_spec.supported_types = [tf.float16]
    try:
      return converter.convert()
    except Exception as e:  # pylint: disable=broad-except
      raise SqzError("TFLite conversion failed (builtin ops only): "
                     f"{str(e).splitlines()[0]}") from None


@dataclasses.dataclass
class ExportReport:
  ops: dict  # op name -> count
  size_bytes: int
  max_abs_difference: float


def _interpreter(tflite_bytes, xnnpack=True):
  from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  from ai_edge_litert.interpreter import OpResolverType  # pylint: disable=g-import-not-at-top
  resolver = (OpResolverType.AUTO if xnnpack
              else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
  interpreter = Interpreter(model_content=tflite_bytes,
                            experimental_op_resolver_type=resolver,
                            num_threads=2)
  interpreter.allocate_tensors()
  return interpreter


def _op_counts(interpreter):
  counts = {}
  for op in interpreter._get_ops_details():  # pylint: disable=protected-access
    counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
  return counts


def run(tflite_bytes, inputs, xnnpack=True):
  """Outputs of the TFLite model for one batch of numpy inputs."""
  runner = _interpreter(tflite_bytes, xnnpack).get_signature_runner()
  return runner(**{name: np.asarray(inputs[name], np.int32)
                   for name in ENCODER_INPUTS})


def check(tflite_bytes, model, sample_inputs, quantization):
  """Op list (builtin only) and agreement with Keras (XNNPACK on)."""
  plain = _op_counts(_interpreter(tflite_bytes, xnnpack=False))
  custom = [name for name in plain if name.startswith(("Flex", "CUSTOM"))]
  if custom:
    raise SqzError(f"the TFLite model uses non-builtin ops: {', '.join(custom)}")
  outputs = run(tflite_bytes, sample_inputs)
  expected = model({k: sample_inputs[k] for k in ENCODER_INPUTS},
                   training=False)
  expected = expected if isinstance(expected, dict) else {"output_0": expected}
  difference = max(
      float(np.abs(np.asarray(value) - np.asarray(outputs[key])).max())
      for key, value in zip(sorted(outputs), [expected[k] for k in
                                              sorted(expected)]))
  if difference > TOLERANCES[quantization]:
    raise SqzError(f"the {quantization} TFLite model differs from Keras by "
                   f"{difference:.3g} (tolerance {TOLERANCES[quantization]})")
  return ExportReport(ops=plain, size_bytes=len(tflite_bytes),
                      max_abs_difference=difference)
