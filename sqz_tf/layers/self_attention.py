"""SqueezeBertSelfAttention: multi-head self-attention with grouped Q, K, V."""

import math

import tensorflow as tf

from sqz_tf.layers.grouped_pointwise_conv1d import GroupedPointwiseConv1D
from sqz_tf.layers.initializers import clone_initializer
from sqz_tf.layers.quantization import fake_quant_point
from sqz_tf.layers.quantization import quantized_projection


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertSelfAttention(tf.keras.layers.Layer):
  """Scaled dot-product self-attention whose Q, K, V are grouped convolutions.

  Takes hidden states `[batch, seq, hidden]` and an `input_mask`
  `[batch, seq]` (1 = attend, 0 = padding) and returns the attention context
  `[batch, seq, hidden]`, before the post-attention projection. Scores,
  masking and softmax run in float32 whatever the compute dtype.

  Example:
  >>> attention = SqueezeBertSelfAttention(hidden_size=8, num_heads=2)
  >>> attention(tf.zeros([1, 3, 8]), tf.ones([1, 3], tf.int32)).shape
  TensorShape([1, 3, 8])
  """

  def __init__(self, hidden_size, num_heads, q_groups=1, k_groups=1,
               v_groups=1, dropout_rate=0.0,
               kernel_initializer="glorot_uniform", quantization_aware=False,
               **kwargs):
    super().__init__(**kwargs)
    if hidden_size % num_heads:
      raise ValueError(f"hidden_size {hidden_size} is not divisible by "
                       f"num_heads {num_heads}")
    self.hidden_size = hidden_size
    self.num_heads = num_heads
    self.head_size = hidden_size // num_heads
    self.q_groups, self.k_groups, self.v_groups = q_groups, k_groups, v_groups
    self.dropout_rate = dropout_rate
    self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
    self.quantization_aware = quantization_aware

    def projection(name, groups):
      layer = GroupedPointwiseConv1D(
          hidden_size, groups=groups, name=name,
          kernel_initializer=clone_initializer(self.kernel_initializer))
      return quantized_projection(layer) if quantization_aware else layer

    self.query = projection("query", q_groups)
    self.key = projection("key", k_groups)
    self.value = projection("value", v_groups)
    self.dropout = tf.keras.layers.Dropout(dropout_rate, dtype=tf.float32)
    # The context is the post-attention projection's input.
    self.context_quantizer = (fake_quant_point("context")
                              if quantization_aware else None)

  def build(self, input_shape):
    for layer in (self.query, self.key, self.value):
      layer.build(input_shape)
    super().build(input_shape)

  def _split_heads(self, x):
    """[batch, seq, hidden] -> [batch, heads, seq, head_size]."""
    shape = tf.shape(x)
    x = tf.reshape(x, [shape[0], shape[1], self.num_heads, self.head_size])
    return tf.transpose(x, [0, 2, 1, 3])

  def call(self, hidden_states, input_mask, training=None):
    query = self._split_heads(self.query(hidden_states))
    key = self._split_heads(self.key(hidden_states))
    value = self._split_heads(self.value(hidden_states))

    scores = tf.matmul(query, key, transpose_b=True)
    scores = tf.cast(scores, tf.float32) / math.sqrt(self.head_size)
    # Padding keys get the most negative float, as HF does.
    padding = 1.0 - tf.cast(input_mask, tf.float32)
    scores += padding[:, tf.newaxis, tf.newaxis, :] * tf.float32.min
    probs = self.dropout(tf.nn.softmax(scores, axis=-1), training=training)

    context = tf.matmul(tf.cast(probs, value.dtype), value)
    context = tf.transpose(context, [0, 2, 1, 3])
    shape = tf.shape(context)
    context = tf.reshape(context, [shape[0], shape[1], self.hidden_size])
    if self.context_quantizer is not None:
      context = self.context_quantizer(context, training=training)
    return context

  def get_config(self):
    config = super().get_config()
    config.update({
        "hidden_size": self.hidden_size,
        "num_heads": self.num_heads,
        "q_groups": self.q_groups,
        "k_groups": self.k_groups,
        "v_groups": self.v_groups,
        "dropout_rate": self.dropout_rate,
        "quantization_aware": self.quantization_aware,
        "kernel_initializer":
            tf.keras.initializers.serialize(self.kernel_initializer),
    })
    return config
