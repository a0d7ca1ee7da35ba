"""SqueezeBertMultipleChoice: one score per choice from the pooled output."""

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models.configured_model import ConfiguredModel
from sqz_tf.models.encoder import ENCODER_INPUTS
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.encoder import initializer


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertMultipleChoice(ConfiguredModel):
  """Multiple choice (HF's `SqueezeBertForMultipleChoice`), e.g. for SWAG.

  Inputs: int32 `input_word_ids`, `input_mask`, `input_type_ids` of shape
  `[batch, num_choices, seq]` (each choice its own `[CLS] context [SEP]
  ending [SEP]` row; any number of choices). Each row is encoded on its own;
  its pooled output goes through dropout and a dense layer to one score.
  Output: float32 logits `[batch, num_choices]` (softmax over choices).

  Example:
  >>> config = SqueezeBertConfig(vocab_size=100, hidden_size=16,
  ...     num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
  ...     embedding_size=16)
  >>> model = SqueezeBertMultipleChoice(config)
  >>> ids = tf.constant([[[2, 7, 3, 9, 3], [2, 7, 3, 8, 3]]])  # 2 choices
  >>> model({"input_word_ids": ids, "input_mask": tf.ones_like(ids),
  ...        "input_type_ids": tf.zeros_like(ids)}).shape
  TensorShape([1, 2])
  """

  def __init__(self, config, name="squeezebert_multiple_choice", **kwargs):
    config = SqueezeBertConfig.coerce(config)
    inputs = {name: tf.keras.Input(shape=(None, None), dtype=tf.int32,
                                   name=name) for name in ENCODER_INPUTS}
    ids = inputs["input_word_ids"]
    num_choices = tf.shape(ids)[1]
    # Every choice is a row of its own: [batch * num_choices, seq].
    rows = {name: tf.reshape(value, [-1, tf.shape(value)[-1]])
            for name, value in inputs.items()}
    encoder = SqueezeBertEncoder(config)
    pooled = encoder(rows)["pooled_output"]
    dropout = tf.keras.layers.Dropout(config.hidden_dropout_prob)
    head = tf.keras.layers.Dense(1, kernel_initializer=initializer(config),
                                 dtype=tf.float32, name="classifier")
    logits = tf.reshape(head(dropout(pooled)), [-1, num_choices])
    super().__init__(config, inputs=inputs, outputs=logits, name=name,
                     **kwargs)
    self.encoder = encoder
    self.head = head
