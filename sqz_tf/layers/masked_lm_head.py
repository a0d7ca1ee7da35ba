"""MaskedLMHead: MLM logits at the masked positions, decoder tied to inputs."""

import tensorflow as tf

from sqz_tf.layers.activations import get_activation
from sqz_tf.layers.initializers import clone_initializer


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class MaskedLMHead(tf.keras.layers.Layer):
  """HF's `SqueezeBertLMPredictionHead` applied at `masked_lm_positions`.

  Gathers the hidden states at the masked positions, then dense → activation
  → LayerNorm → logits against the word-embedding table of `embeddings` (a
  `SqueezeBertEmbeddings` layer: the decoder weight is shared, not copied)
  plus an output bias.

  Because the table is shared, this layer is rebuilt by its model
  (`SqueezeBertPretrainer`) rather than deserialized on its own; `get_config`
  holds everything except the shared embeddings.

  Example:
  >>> embeddings = SqueezeBertEmbeddings(10, 4, max_position_embeddings=8)
  >>> _ = embeddings(tf.zeros([1, 3], tf.int32), tf.zeros([1, 3], tf.int32))
  >>> head = MaskedLMHead(embeddings)
  >>> head(tf.zeros([1, 3, 4]), tf.constant([[0, 2]])).shape
  TensorShape([1, 2, 10])
  """

  def __init__(self, embeddings, hidden_act="gelu", layer_norm_eps=1e-12,
               kernel_initializer="glorot_uniform", **kwargs):
    super().__init__(**kwargs)
    # Not tracked as a sublayer: the encoder owns (and saves) the table.
    object.__setattr__(self, "embeddings", embeddings)
    self.hidden_act = hidden_act
    self.layer_norm_eps = layer_norm_eps
    self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
    self.activation = get_activation(hidden_act)
    self.dense = tf.keras.layers.Dense(
        embeddings.hidden_size,
        kernel_initializer=clone_initializer(self.kernel_initializer),
        name="transform")
    self.layer_norm = tf.keras.layers.LayerNormalization(
        axis=-1, epsilon=layer_norm_eps, dtype=tf.float32,
        name="transform_norm")

  def build(self, input_shape):
    hidden = [None, None, self.embeddings.hidden_size]
    self.dense.build(hidden)
    self.layer_norm.build(hidden)
    self.bias = self.add_weight("output_bias",
                                shape=[self.embeddings.vocab_size],
                                initializer="zeros")
    super().build(input_shape)

  def call(self, sequence_output, masked_positions):
    hidden = tf.gather(sequence_output, masked_positions, batch_dims=1)
    hidden = self.layer_norm(self.activation(self.dense(hidden)))
    table = tf.cast(self.embeddings.word_embeddings, hidden.dtype)
    logits = tf.matmul(hidden, table, transpose_b=True)
    return logits + tf.cast(self.bias, logits.dtype)

  def get_config(self):
    config = super().get_config()
    config.update({
        "hidden_act": self.hidden_act,
        "layer_norm_eps": self.layer_norm_eps,
        "kernel_initializer":
            tf.keras.initializers.serialize(self.kernel_initializer),
    })
    return config
