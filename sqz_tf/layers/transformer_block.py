"""SqueezeBertTransformerBlock: one post-LayerNorm SqueezeBERT layer."""

import tensorflow as tf

from sqz_tf.layers.activations import get_activation
from sqz_tf.layers.grouped_pointwise_conv1d import GroupedPointwiseConv1D
from sqz_tf.layers.initializers import clone_initializer
from sqz_tf.layers.quantization import fake_quant_point
from sqz_tf.layers.quantization import quantized_output
from sqz_tf.layers.quantization import quantized_projection
from sqz_tf.layers.self_attention import SqueezeBertSelfAttention


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertTransformerBlock(tf.keras.layers.Layer):
  """Self-attention and a feed-forward network, each closed by residual + LN.

  The order is HF's `SqueezeBertModule`:
    h   = LN(x + dropout(post_attention(attention(x))))
    out = LN(h + dropout(output(act(intermediate(h)))))
  where every projection is a `GroupedPointwiseConv1D` with its own group
  count. LayerNorms normalize the channels and stay float32 under mixed
  precision.

  Example:
  >>> block = SqueezeBertTransformerBlock(
  ...     hidden_size=8, num_heads=2, intermediate_size=16, q_groups=2,
  ...     k_groups=2, v_groups=2, intermediate_groups=2, output_groups=2)
  >>> block(tf.zeros([1, 3, 8]), tf.ones([1, 3], tf.int32)).shape
  TensorShape([1, 3, 8])
  """

  def __init__(self, hidden_size, num_heads, intermediate_size, q_groups=1,
               k_groups=1, v_groups=1, post_attention_groups=1,
               intermediate_groups=1, output_groups=1, hidden_act="gelu",
               hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
               layer_norm_eps=1e-12, kernel_initializer="glorot_uniform",
               quantization_aware=False, **kwargs):
    super().__init__(**kwargs)
    self._hparams = dict(
        hidden_size=hidden_size, num_heads=num_heads,
        intermediate_size=intermediate_size, q_groups=q_groups,
        k_groups=k_groups, v_groups=v_groups,
        post_attention_groups=post_attention_groups,
        intermediate_groups=intermediate_groups, output_groups=output_groups,
        hidden_act=hidden_act, hidden_dropout_prob=hidden_dropout_prob,
        attention_probs_dropout_prob=attention_probs_dropout_prob,
        layer_norm_eps=layer_norm_eps, quantization_aware=quantization_aware)
    self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
    self.activation = get_activation(hidden_act)

    def projection(filters, groups, name):
      layer = GroupedPointwiseConv1D(
          filters, groups=groups, name=name,
          kernel_initializer=clone_initializer(self.kernel_initializer))
      return quantized_projection(layer) if quantization_aware else layer

    def layer_norm(name):
      layer = tf.keras.layers.LayerNormalization(
          axis=-1, epsilon=layer_norm_eps, dtype=tf.float32, name=name)
      # LayerNorm outputs are projection inputs.
      return quantized_output(layer) if quantization_aware else layer

    self.attention = SqueezeBertSelfAttention(
        hidden_size, num_heads, q_groups=q_groups, k_groups=k_groups,
        v_groups=v_groups, dropout_rate=attention_probs_dropout_prob,
        kernel_initializer=clone_initializer(self.kernel_initializer),
        quantization_aware=quantization_aware, name="attention")
    self.post_attention = projection(hidden_size, post_attention_groups,
                                     "post_attention")
    self.post_attention_dropout = tf.keras.layers.Dropout(hidden_dropout_prob)
    self.post_attention_norm = layer_norm("post_attention_norm")
    self.intermediate = projection(intermediate_size, intermediate_groups,
                                   "intermediate")
    self.output_projection = projection(hidden_size, output_groups, "output")
    self.output_dropout = tf.keras.layers.Dropout(hidden_dropout_prob)
    self.output_norm = layer_norm("output_norm")
    # The activation's output is the output projection's input.
    self.activation_quantizer = (fake_quant_point("activation")
                                 if quantization_aware else None)

  def build(self, input_shape):
    hidden_shape = tf.TensorShape(input_shape)
    inner_shape = hidden_shape[:-1].concatenate(
        [self._hparams["intermediate_size"]])
    self.attention.build(hidden_shape)
    self.post_attention.build(hidden_shape)
    self.post_attention_norm.build(hidden_shape)
    self.intermediate.build(hidden_shape)
    self.output_projection.build(inner_shape)
    self.output_norm.build(hidden_shape)
    super().build(input_shape)

  def call(self, hidden_states, input_mask, training=None):
    context = self.attention(hidden_states, input_mask, training=training)
    projected = self.post_attention_dropout(self.post_attention(context),
                                            training=training)
    attention_output = self.post_attention_norm(
        _residual(hidden_states, projected))

    inner = self.activation(self.intermediate(attention_output))
    if self.activation_quantizer is not None:
      inner = self.activation_quantizer(inner, training=training)
    projected = self.output_dropout(self.output_projection(inner),
                                    training=training)
    return self.output_norm(_residual(attention_output, projected))

  def get_config(self):
    config = super().get_config()
    config.update(self._hparams)
    config["kernel_initializer"] = tf.keras.initializers.serialize(
        self.kernel_initializer)
    return config


def _residual(inputs, projected):
  # Summed in float32: under mixed precision the LayerNorm output is float32
  # and the projection float16.
  return tf.cast(inputs, tf.float32) + tf.cast(projected, tf.float32)
