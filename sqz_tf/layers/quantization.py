"""Quantization-aware training (tfmot) pieces for SqueezeBERT's layers.

A layer built with `quantization_aware=True` fake-quantizes (8 bits) what
`int8_mixed` TFLite export runs in int8, and nothing else:
  * every projection's kernel (per output channel, symmetric) and output;
  * each projection's input, through the output quantizer of what feeds it:
    the LayerNorms, the attention context and the feed-forward activation;
  * the word-embedding table (per tensor, symmetric).
LayerNorm arithmetic, softmax, GELU, the attention score/context products
and residual sums stay float: in int8 XNNPACK leaves them to TFLite's slow
kernels (see `sqz_tf.export.tflite.INT8_MIXED_FLOAT_OPS`). The converter
turns the learned ranges into int8 tensors, so a QAT model exports with
`--quantization=qat` without calibration data.

Wrapping uses tfmot's public `QuantizeWrapperV2` with the configs below,
inside our layers, so a quantization-aware model keeps its class, its
`get_config` and its `load_model` (no custom objects needed).
"""

import tensorflow as tf
import tensorflow_model_optimization as tfmot

_quantizers = tfmot.quantization.keras.quantizers


class ActivationQuantizer(_quantizers.Quantizer):
  """8-bit asymmetric fake quantization with a moving-average range.

  Like tfmot's `MovingAverageQuantizer`, except that the range starts at the
  first training batch's instead of [-6, 6], and follows batches faster
  (decay 0.99 rather than 0.999): QAT here is a short finetune of a float
  model, too short for ranges to walk in from a guess.
  """

  def __init__(self, decay=0.99):
    self.decay = decay

  def build(self, tensor_shape, name, layer):
    def scalar(suffix, value, dtype=tf.float32,
               aggregation=tf.VariableAggregation.MEAN):
      # Aggregated, so replicas may update it under tf.distribute.
      return layer.add_weight(
          f"{name}_{suffix}", shape=(), dtype=dtype, trainable=False,
          initializer=tf.keras.initializers.Constant(value),
          aggregation=aggregation)
    return {"min_var": scalar("min", -6.0), "max_var": scalar("max", 6.0),
            "seen": scalar("seen", False, tf.bool,
                           tf.VariableAggregation.ONLY_FIRST_REPLICA)}

  def __call__(self, inputs, training, weights, **kwargs):
    low, high = weights["min_var"], weights["max_var"]
    if training:
      # Zero must be representable (TFLite's requirement).
      batch_low = tf.minimum(tf.reduce_min(inputs), 0.0)
      batch_high = tf.maximum(tf.reduce_max(inputs), 0.0)
      keep = tf.where(weights["seen"], self.decay, 0.0)
      low = low.assign(keep * low + (1 - keep) * batch_low)
      high = high.assign(keep * high + (1 - keep) * batch_high)
      with tf.control_dependencies([low, high]):
        weights["seen"].assign(True)
    return tf.quantization.fake_quant_with_min_max_vars(
        inputs, low, high, num_bits=8, narrow_range=False)

  def get_config(self):
    return {"decay": self.decay}


def _activation_quantizer():
  return ActivationQuantizer()


class GroupedKernelQuantizer(_quantizers.Quantizer):
  """Per-output-channel symmetric 8-bit fake quantization of a conv kernel.

  tfmot's per-axis quantizer handles 2-D or 4-D tensors, and TFLite needs
  the fake quantization right before the convolution; our kernel is the 3-D
  Conv1D `[1, in / groups, out]`, so this returns it fake-quantized in the
  Conv2D form `[1, 1, in / groups, out]`, which `GroupedPointwiseConv1D`
  takes as is.
  """

  def __init__(self):
    self._quantizer = _quantizers.LastValueQuantizer(
        num_bits=8, per_axis=True, symmetric=True, narrow_range=True)

  def build(self, tensor_shape, name, layer):
    return self._quantizer.build(tf.TensorShape([1]).concatenate(
        tensor_shape), name, layer)

  def __call__(self, inputs, training, weights, **kwargs):
    return self._quantizer(tf.expand_dims(inputs, 0), training, weights)

  def get_config(self):
    return {}


class ProjectionQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
  """Kernel per channel and output of a `GroupedPointwiseConv1D`."""

  def get_weights_and_quantizers(self, layer):
    return [(layer.kernel, GroupedKernelQuantizer())]

  def get_activations_and_quantizers(self, layer):
    return []

  def set_quantize_weights(self, layer, quantize_weights):
    layer.kernel = quantize_weights[0]

  def set_quantize_activations(self, layer, quantize_activations):
    pass

  def get_output_quantizers(self, layer):
    return [_activation_quantizer()]

  def get_config(self):
    return {}


class OutputQuantizeConfig(ProjectionQuantizeConfig):
  """Only the output: LayerNorm, activations, the attention context."""

  def get_weights_and_quantizers(self, layer):
    return []

  def set_quantize_weights(self, layer, quantize_weights):
    pass


def quantized_projection(projection):
  return tfmot.quantization.keras.QuantizeWrapperV2(
      projection, ProjectionQuantizeConfig(), name=f"qat_{projection.name}")


def quantized_output(layer):
  """`layer` whose output is fake-quantized (input of a projection)."""
  return tfmot.quantization.keras.QuantizeWrapperV2(
      layer, OutputQuantizeConfig(), name=f"qat_{layer.name}")


def fake_quant_point(name):
  """An identity layer that fake-quantizes what passes through it."""
  return quantized_output(tf.keras.layers.Activation("linear", name=name))


def table_quantizer():
  """Per-tensor symmetric: TFLite's int8 GATHER takes one scale."""
  return _quantizers.LastValueQuantizer(
      num_bits=8, per_axis=False, symmetric=True, narrow_range=True)
