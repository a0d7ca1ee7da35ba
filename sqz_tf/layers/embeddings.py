"""SqueezeBertEmbeddings: word + position + token type, LayerNorm, dropout."""

import tensorflow as tf

from sqz_tf.layers.initializers import clone_initializer
from sqz_tf.layers.quantization import quantized_output
from sqz_tf.layers.quantization import table_quantizer


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertEmbeddings(tf.keras.layers.Layer):
  """The input embeddings of HF's `SqueezeBertEmbeddings`.

  Positions are 0..seq-1, so any sequence length up to
  `max_position_embeddings` works. `word_embeddings` is also the MLM
  decoder's weight (see `MaskedLMHead`).

  Example:
  >>> embeddings = SqueezeBertEmbeddings(vocab_size=10, hidden_size=4,
  ...                                    max_position_embeddings=8)
  >>> ids = tf.constant([[2, 3, 0]])
  >>> embeddings(ids, tf.zeros_like(ids)).shape
  TensorShape([1, 3, 4])
  """

  def __init__(self, vocab_size, hidden_size, max_position_embeddings,
               type_vocab_size=2, dropout_rate=0.0, layer_norm_eps=1e-12,
               embeddings_initializer="glorot_uniform",
               quantization_aware=False, **kwargs):
    super().__init__(**kwargs)
    self.vocab_size = vocab_size
    self.hidden_size = hidden_size
    self.max_position_embeddings = max_position_embeddings
    self.type_vocab_size = type_vocab_size
    self.dropout_rate = dropout_rate
    self.layer_norm_eps = layer_norm_eps
    self.embeddings_initializer = tf.keras.initializers.get(
        embeddings_initializer)
    self.quantization_aware = quantization_aware
    self.layer_norm = tf.keras.layers.LayerNormalization(
        axis=-1, epsilon=layer_norm_eps, dtype=tf.float32, name="layer_norm")
    self._table_quantizer = None
    if quantization_aware:
      # The output feeds the first layer's projections; the word table is
      # what int8 export shrinks most.
      self.layer_norm = quantized_output(self.layer_norm)
      self._table_quantizer = table_quantizer()
    self.dropout = tf.keras.layers.Dropout(dropout_rate)

  def build(self, input_shape):
    def table(name, rows):
      return self.add_weight(
          name, shape=[rows, self.hidden_size],
          initializer=clone_initializer(self.embeddings_initializer))

    self.word_embeddings = table("word_embeddings", self.vocab_size)
    self.position_embeddings = table("position_embeddings",
                                     self.max_position_embeddings)
    self.token_type_embeddings = table("token_type_embeddings",
                                       self.type_vocab_size)
    self.layer_norm.build([None, None, self.hidden_size])
    if self._table_quantizer:
      self._table_range = self._table_quantizer.build(
          self.word_embeddings.shape, "word_embeddings", self)
    super().build(input_shape)

  def call(self, input_word_ids, input_type_ids, training=None):
    seq_length = tf.shape(input_word_ids)[1]
    words = self.word_embeddings
    if self._table_quantizer:
      if training is None:
        training = tf.keras.backend.learning_phase()
      words = tf.__internal__.smart_cond.smart_cond(
          training,
          lambda: self._table_quantizer(words, True, self._table_range),
          lambda: self._table_quantizer(words, False, self._table_range))
    embeddings = (tf.gather(words, input_word_ids) +
                  tf.gather(self.token_type_embeddings, input_type_ids) +
                  self.position_embeddings[tf.newaxis, :seq_length])
    return self.dropout(self.layer_norm(embeddings), training=training)

  def get_config(self):
    config = super().get_config()
    config.update({
        "vocab_size": self.vocab_size,
        "hidden_size": self.hidden_size,
        "max_position_embeddings": self.max_position_embeddings,
        "type_vocab_size": self.type_vocab_size,
        "dropout_rate": self.dropout_rate,
        "layer_norm_eps": self.layer_norm_eps,
        "quantization_aware": self.quantization_aware,
        "embeddings_initializer":
            tf.keras.initializers.serialize(self.embeddings_initializer),
    })
    return config
