"""Keras model → TFLite flatbuffer, checked before writing.

    tflite_bytes = convert(classifier, "dynamic", seq_length=128)
    report = check(tflite_bytes, classifier, samples, "dynamic")

Inputs stay `input_word_ids`, `input_mask`, `input_type_ids` (int32
`[batch, seq_length]`) so a phone app feeds token ids; outputs stay float
and keep their names (a single output is `output_0`; a question answerer's
are `start_logits` and `end_logits`).
Only TFLite builtin ops are allowed (the stock runtime and `benchmark_model`
on Android have no Flex ops). The layers are traced in an export-time
lowering (`sqz_tf.export.lowering`) that XNNPACK runs fast. With
`dynamic_seq_length` the inputs are `[batch, -1]` (shape signature) while
their default shape stays `[batch, seq_length]`, what `benchmark_model` and
MediaPipe read: short text runs at its own length, in one subgraph.
"""

import dataclasses
import time

import numpy as np
import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.export import calibrated_quantization
from sqz_tf.export import flatbuffer_edits
from sqz_tf.export import float_islands
from sqz_tf.export import lowering as lowering_lib
from sqz_tf.models.encoder import ENCODER_INPUTS

QUANTIZATIONS = ("float32", "float16", "dynamic", "int8", "int8_mixed", "qat")
# Variants whose activation ranges are calibrated on representative inputs.
NEEDS_REPRESENTATIVE_DATA = ("int8", "int8_mixed")
# Max |TFLite - Keras| a variant may show, relative to the outputs' scale
# (their largest magnitude, at least 1). The quantized figures are a sanity
# bound, about 2x what random tiny encoders show; the task metric is what
# decides (evaluate_tflite).
TOLERANCES = {"float32": 1e-4, "float16": 1e-2, "dynamic": 0.1, "int8": 0.5,
              "int8_mixed": 0.25, "qat": 0.5}
# Ops that int8_mixed keeps in float (see calibrated_quantization).
INT8_MIXED_FLOAT_OPS = calibrated_quantization.INT8_MIXED_FLOAT_OPS


def _check_model(model, quantization, seq_length, representative_inputs):
  config = getattr(model, "model_config", None)
  if config is None or set(model.input_names) != set(ENCODER_INPUTS):
    raise SqzError(f"not an sqz_tf encoder or task model (token ids in, "
                   f"float outputs): {type(model).__name__}")
  if any(len(tensor.shape) != 2 for tensor in model.inputs):
    raise SqzError(f"{type(model).__name__} takes inputs of shape "
                   f"{model.inputs[0].shape}; TFLite export takes models "
                   "of [batch, seq] token inputs (encoder, classifier, "
                   "tagger, question answerer)")
  if not 0 < seq_length <= config.max_position_embeddings:
    raise SqzError(f"seq_length {seq_length} is outside 1.."
                   f"{config.max_position_embeddings} (max_position_embeddings)")
  if (quantization == "qat") != getattr(model, "quantization_aware", False):
    raise SqzError("--quantization=qat needs a quantization-aware model "
                   "(run_classifier --quantization_aware), and such a model "
                   "exports only with qat")
  if quantization in NEEDS_REPRESENTATIVE_DATA and not representative_inputs:
    raise SqzError(f"{quantization} needs representative data to calibrate "
                   "activation ranges (--representative_data)")


def convert(model, quantization="float32", seq_length=128, batch_size=1,
            representative_inputs=None, lowering="xnnpack",
            dynamic_seq_length=False, progress=None, calibration_workers=None):
  """TFLite bytes of an sqz_tf encoder or task model.

  `representative_inputs` (a list of input dicts of numpy arrays, shape
  `[batch_size, seq_length]`) calibrates the variants in
  `NEEDS_REPRESENTATIVE_DATA`:
    float32     no quantization
    float16     float16 weights, float compute
    dynamic     int8 weights; XNNPACK quantizes activations on the fly
    int8        full integer: every op int8 (for integer-only accelerators)
    int8_mixed  int8 weights and calibrated int8 activations for the
                projections, float for INT8_MIXED_FLOAT_OPS (fast on CPUs)
    qat         int8 with the ranges learned by quantization-aware training
  `lowering` is how the layers become TFLite ops (`lowering.LOWERINGS`):
  "xnnpack" (the default) or "conv" (the layers as written, grouped
  projections as grouped CONV_2D: the issue-7 export, and what
  quantization-aware models always get). `dynamic_seq_length`: inputs of
  any length up to max_position_embeddings (calibration still uses
  `seq_length`). `progress(line)` hears what takes more than a moment.
  `calibration_workers`: processes calibrating int8 and int8_mixed
  (default: one per CPU; see `calibrated_quantization`).
  """
  if quantization not in QUANTIZATIONS:
    raise SqzError(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
  _check_model(model, quantization, seq_length, representative_inputs)
  if dynamic_seq_length and quantization in ("int8", "qat"):
    raise SqzError(f"--dynamic_seq_length does not take {quantization} "
                   "(float32, float16, dynamic, int8_mixed)")
  progress = progress or (lambda line: None)
  start = time.perf_counter()
  if quantization == "qat":
    lowering = "conv"
  length = None if dynamic_seq_length else seq_length
  options = lowering_lib.OPTIONS
  if quantization == "int8_mixed":
    options = dataclasses.replace(options,
                                  grouped_form=options.int8_grouped_form)
  with lowering_lib.lowered(model, lowering, batch_size, options):
    converter = _converter(model, batch_size, length)
  if quantization in ("float16", "dynamic", "qat"):  # int8s: their own
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if quantization == "float16":
    converter.target_spec.supported_types = [tf.float16]
  progress(f"Converting to TFLite ({quantization})")
  try:
    if quantization == "int8_mixed":
      tflite_bytes = _int8_mixed_export(
          model, converter, lowering, options, batch_size, seq_length,
          representative_inputs, dynamic_seq_length, progress,
          calibration_workers)
    elif quantization == "int8":
      _check_shapes(representative_inputs, batch_size, seq_length)
      tflite_bytes = calibrated_quantization.full_int8(
          converter, [_int32_inputs(x) for x in representative_inputs],
          progress, calibration_workers)
    else:
      tflite_bytes = converter.convert()
    if quantization == "qat":
      tflite_bytes, _ = float_islands.dequantize_ops(tflite_bytes,
                                                     INT8_MIXED_FLOAT_OPS)
  except SqzError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    raise SqzError("TFLite conversion failed (builtin ops only): "
                   f"{str(e).splitlines()[0]}") from None
  if dynamic_seq_length:
    tflite_bytes = flatbuffer_edits.with_default_input_shape(
        tflite_bytes, [batch_size, seq_length])
  progress(f"Converted in {time.perf_counter() - start:.0f} s")
  return tflite_bytes


def _converter(model, batch_size, seq_length):
  """A builtin-ops converter of the (lowered) model; seq_length None: any."""
  spec = {name: tf.TensorSpec([batch_size, seq_length], tf.int32, name=name)
          for name in ENCODER_INPUTS}
  limit = model.model_config.max_position_embeddings

  @tf.function(autograph=False)  # the layers convert their own calls
  def serve(inputs):
    if seq_length is None:
      # Callers feed whole texts (MediaPipe truncates only fixed-length
      # inputs): the model reads its first max_position_embeddings tokens.
      inputs = {name: value[:, :limit] for name, value in inputs.items()}
    return model(inputs, training=False)
  concrete = serve.get_concrete_function(spec)
  # The converter saves its trackable to read the variables; a plain
  # module holding them skips tracing every Keras layer for a SavedModel
  # (3-4x faster, same bytes).
  variables = tf.Module()
  variables.held = list(model.variables)
  converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete],
                                                              variables)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  return converter


def _int8_mixed_export(model, converter, lowering, options, batch_size,
                       seq_length, representative_inputs, dynamic_seq_length,
                       progress, num_workers):
  """int8_mixed bytes of the graph `converter` holds, traced in `lowering`
  with `options` (a lowering.Options).

  Calibration runs the float graph on TFLite's own kernels, one example at a
  time (in a process per CPU): most of an export. It runs a twin of the
  graph, whose ranges the export's graph takes by tensor name: grouped
  convolutions computed by fast kernels (lowering's "conv_twin"), and only
  as long as the examples' tokens, not their padding (padding rows never
  reach a real token: attention masks them). A dynamic-length graph is
  always calibrated through a fixed-length twin: TFLite's calibrator
  records wrong ranges for some tensors of a dynamic-shape graph (a
  projection's at 1/500 of its real range, seen here). Either way the file
  has exactly the int8 arithmetic of one calibrated at that length.
  """
  _check_shapes(representative_inputs, batch_size, seq_length)
  length = _calibration_length(representative_inputs, seq_length)
  trimmed = [_int32_inputs({name: np.asarray(inputs[name])[:, :length]
                            for name in ENCODER_INPUTS})
             for inputs in representative_inputs]
  twin_options = options
  if (lowering == "xnnpack" and options.grouped_form == "conv" and
      lowering_lib.has_grouped_projections(model)):
    twin_options = dataclasses.replace(options, grouped_form="conv_twin")
  if (length == seq_length and not dynamic_seq_length and
      twin_options == options):
    return calibrated_quantization.int8_mixed(converter, trimmed, None,
                                              progress, num_workers)
  if length < seq_length:
    progress(f"(calibrating at {length} tokens, the longest example's "
             "length)")
  with lowering_lib.lowered(model, lowering, batch_size, twin_options):
    twin = _converter(model, batch_size, length)
  return calibrated_quantization.int8_mixed(twin, trimmed, converter,
                                            progress, num_workers)


def _calibration_length(representative_inputs, seq_length):
  """The longest example's tokens (mask), rounded up to a multiple of 8."""
  longest = max(int(np.max(np.nonzero(np.asarray(inputs["input_mask"]))[1],
                           initial=0)) + 1 for inputs in representative_inputs)
  return min(seq_length, -(-longest // 8) * 8)


def _check_shapes(representative_inputs, batch_size, seq_length):
  for inputs in representative_inputs:
    for name in ENCODER_INPUTS:
      if np.shape(inputs[name]) != (batch_size, seq_length):
        raise SqzError(f"representative input {name} has shape "
                       f"{np.shape(inputs[name])}, the export "
                       f"{(batch_size, seq_length)}")


def _int32_inputs(inputs):
  return {name: np.asarray(inputs[name], np.int32) for name in ENCODER_INPUTS}


@dataclasses.dataclass
class ExportReport:
  ops: dict  # op name -> count, as written in the file
  xnnpack_ops: dict  # op name -> count of those XNNPACK runs
  tflite_kernel_ops: dict  # op name -> count of those left to TFLite kernels
  size_bytes: int
  max_abs_difference: float
  output_scale: float  # largest |Keras output| (at least 1)

  def summary(self):
    def listing(counts):
      return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"
    return (f"{self.size_bytes / 1e6:.2f} MB, {sum(self.ops.values())} ops\n"
            f"  XNNPACK runs: {listing(self.xnnpack_ops)}\n"
            f"  TFLite kernels run: {listing(self.tflite_kernel_ops)}\n"
            f"  max |TFLite - Keras| {self.max_abs_difference:.3g} "
            f"(outputs up to {self.output_scale:.3g})")


def interpreter(tflite_bytes, xnnpack=True, num_threads=2):
  """An allocated ai_edge_litert interpreter, XNNPACK on unless told."""
  from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  from ai_edge_litert.interpreter import OpResolverType  # pylint: disable=g-import-not-at-top
  resolver = (OpResolverType.AUTO if xnnpack
              else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
  try:
    result = Interpreter(model_content=tflite_bytes,
                         experimental_op_resolver_type=resolver,
                         num_threads=num_threads)
    result.allocate_tensors()
  except (ValueError, RuntimeError) as e:
    raise SqzError("not a valid TFLite model: "
                   f"{str(e).strip().splitlines()[0]}") from None
  return result


def _count(ops):
  counts = {}
  for op in ops:
    counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
  return counts


def op_placement(tflite_bytes):
  """({op: count} XNNPACK runs, {op: count} TFLite's own kernels run).

  The interpreter lists the original nodes next to the DELEGATE nodes that
  replaced them; a node belongs to a delegate partition when it lies between
  that partition's inputs and outputs.
  """
  ops = interpreter(tflite_bytes)._get_ops_details()  # pylint: disable=protected-access
  producer = {tensor: op["index"] for op in ops if op["op_name"] != "DELEGATE"
              for tensor in op["outputs"]}
  delegated = set()
  for partition in (op for op in ops if op["op_name"] == "DELEGATE"):
    boundary, pending = set(partition["inputs"]), list(partition["outputs"])
    while pending:
      tensor = pending.pop()
      node = producer.get(tensor)
      if tensor in boundary or node is None or node in delegated:
        continue
      delegated.add(node)
      pending.extend(ops[node]["inputs"])
  originals = [op for op in ops if op["op_name"] != "DELEGATE"]
  return (_count(op for op in originals if op["index"] in delegated),
          _count(op for op in originals if op["index"] not in delegated))


def run(tflite_bytes, inputs, xnnpack=True):
  """Outputs of the TFLite model for one batch of numpy inputs."""
  runner = interpreter(tflite_bytes, xnnpack).get_signature_runner()
  return runner(**{name: np.asarray(inputs[name], np.int32)
                   for name in ENCODER_INPUTS})


def check(tflite_bytes, model, samples, quantization, reference=None):
  """Op lists (builtin only) and agreement with Keras (XNNPACK on).

  `samples` is one input dict or a list of them. `reference` is the float
  Keras model to compare with when `model` is not float (a QAT model); by
  default `model` itself.
  """
  xnnpack_ops, kernel_ops = op_placement(tflite_bytes)
  ops = {name: xnnpack_ops.get(name, 0) + kernel_ops.get(name, 0)
         for name in {**xnnpack_ops, **kernel_ops}}
  custom = [name for name in ops
            if name.startswith(("Flex", "CUSTOM", "DELEGATE"))]
  if custom:
    raise SqzError(f"the TFLite model uses non-builtin ops: {', '.join(custom)}")
  runner = interpreter(tflite_bytes).get_signature_runner()
  difference, scale = 0.0, 1.0
  for inputs in [samples] if isinstance(samples, dict) else samples:
    inputs = {name: np.asarray(inputs[name], np.int32)
              for name in ENCODER_INPUTS}
    outputs = runner(**inputs)
    expected = (model if reference is None else reference)(
        inputs, training=False)
    if not isinstance(expected, dict):
      expected = {"output_0": expected}
    if set(outputs) != set(expected):
      raise SqzError(f"the TFLite model's outputs {sorted(outputs)} are not "
                     f"the Keras model's {sorted(expected)}")
    for key, value in expected.items():
      difference = max(difference, float(np.abs(
          np.asarray(value) - outputs[key]).max()))
      scale = max(scale, float(np.abs(value).max()))
  if not difference <= TOLERANCES[quantization] * scale:
    raise SqzError(f"the {quantization} TFLite model differs from Keras by "
                   f"{difference:.3g} on outputs of magnitude {scale:.3g} "
                   f"(tolerance {TOLERANCES[quantization]} x magnitude)")
  return ExportReport(ops=ops, xnnpack_ops=xnnpack_ops,
                      tflite_kernel_ops=kernel_ops,
                      size_bytes=len(tflite_bytes),
                      max_abs_difference=difference, output_scale=scale)
