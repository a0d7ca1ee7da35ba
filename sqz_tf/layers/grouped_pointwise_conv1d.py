"""GroupedPointwiseConv1D: SqueezeBERT's position-wise projection."""

import tensorflow as tf

# Conv1D arguments that a pointwise convolution fixes.
_FIXED_ARGS = {"kernel_size": (1,), "strides": (1,), "padding": "valid",
               "data_format": "channels_last", "dilation_rate": (1,)}


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class GroupedPointwiseConv1D(tf.keras.layers.Conv1D):
  """Kernel-1 convolution with `groups` groups over `[batch, seq, channels]`.

  This is what SqueezeBERT puts where BERT has position-wise dense layers
  (Q, K, V, the post-attention projection and both FFN layers). Input channel
  group g (a contiguous slice of `channels / groups`) feeds only output group
  g, as in PyTorch's `Conv1d(groups=G)`, so a grouped layer has `groups` times
  fewer weights and multiply-adds than the dense one. `groups=1` is a plain
  dense projection.

  The kernel has the Conv1D layout `[1, in_channels / groups, filters]`.
  With groups > 1 the layer computes through a batched matmul over the
  groups rather than TensorFlow's grouped convolution, whose CPU gradient is
  several times slower (tools/benchmark_pretraining.py); the weights and the
  result are the same. `lowering = "conv"` selects the convolution kernel
  (e.g. for a TFLite export that wants a grouped CONV_2D).

  Example:
  >>> layer = GroupedPointwiseConv1D(filters=16, groups=4)
  >>> layer(tf.zeros([2, 5, 8])).shape
  TensorShape([2, 5, 16])
  >>> layer.kernel.shape
  TensorShape([1, 2, 16])
  """

  def __init__(self, filters, groups=1, **kwargs):
    for name, fixed in _FIXED_ARGS.items():
      value = kwargs.pop(name, fixed)
      if _as_tuple(value) != _as_tuple(fixed):
        raise ValueError(
            f"GroupedPointwiseConv1D fixes {name}={fixed!r}, got {value!r}")
    super().__init__(filters=filters, kernel_size=1, groups=groups, **kwargs)
    self.lowering = "matmul" if groups > 1 else "conv"

  def build(self, input_shape):
    channels = input_shape[-1]
    if channels is not None and channels % self.groups:
      raise ValueError(f"{self.name}: {channels} input channels are not "
                       f"divisible by groups={self.groups}")
    super().build(input_shape)

  def call(self, inputs):
    # The kernel is [1, in/G, out], or already in the Conv2D form
    # [1, 1, in/G, out] when a quantization-aware wrapper hands it over
    # fake-quantized per channel (no reshape may come between the fake
    # quantization and the convolution, or TFLite loses the channel axis).
    if self.lowering == "conv":
      kernel = self.kernel
      if kernel.shape.rank == 3:
        kernel = tf.expand_dims(kernel, 0)
      convolution = _grouped_conv2d if self.groups > 1 else tf.nn.conv2d
      outputs = tf.squeeze(convolution(
          tf.expand_dims(inputs, 1), tf.cast(kernel, inputs.dtype),
          strides=1, padding="VALID"), 1)
    else:
      outputs = self._grouped_matmul(inputs)
    if self.use_bias:
      outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
    if self.activation is not None:
      outputs = self.activation(outputs)
    return outputs

  def _grouped_matmul(self, inputs):
    shape = tf.shape(inputs)
    group_in = inputs.shape[-1] // self.groups
    group_out = self.filters // self.groups
    # Flattened to [positions, groups, in/G]: an einsum with broadcast batch
    # dimensions has a far slower gradient.
    grouped = tf.reshape(inputs, [-1, self.groups, group_in])
    # [(1,) 1, in/G, out] -> [G, in/G, out/G]: output group g's weights.
    kernel = tf.transpose(tf.reshape(
        self.kernel, [group_in, self.groups, group_out]), [1, 0, 2])
    outputs = tf.einsum("ngi,gio->ngo", grouped,
                        tf.cast(kernel, grouped.dtype))
    return tf.reshape(outputs, tf.concat([shape[:-1], [self.filters]], 0))

  def get_config(self):
    config = super().get_config()
    for name in _FIXED_ARGS:
      config.pop(name, None)
    return config


# TensorFlow's CPU kernels have no grouped convolution; XLA has (as in
# Keras's own Conv layers).
_grouped_conv2d = tf.function(tf.nn.conv2d, jit_compile=True)


def _as_tuple(value):
  return tuple(value) if isinstance(value, (list, tuple)) else (value,)
