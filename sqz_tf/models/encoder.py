"""SqueezeBertEncoder: token ids → sequence and pooled outputs."""

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models.configured_model import ConfiguredModel
from sqz_tf.layers.embeddings import SqueezeBertEmbeddings
from sqz_tf.layers.pooler import SqueezeBertPooler
from sqz_tf.layers.transformer_block import SqueezeBertTransformerBlock

ENCODER_INPUTS = ("input_word_ids", "input_mask", "input_type_ids")


def encoder_inputs():
  """Keras inputs `input_word_ids`, `input_mask`, `input_type_ids` [B, L]."""
  return {name: tf.keras.Input(shape=(None,), dtype=tf.int32, name=name)
          for name in ENCODER_INPUTS}


def initializer(config: SqueezeBertConfig):
  return tf.keras.initializers.TruncatedNormal(
      stddev=config.initializer_range)


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertEncoder(ConfiguredModel):
  """The SqueezeBERT encoder (HF's `SqueezeBertModel`) as a functional model.

  Inputs: a dict of int32 `[batch, seq]` tensors `input_word_ids`,
  `input_mask` (1 = token, 0 = padding) and `input_type_ids`; any sequence
  length up to `max_position_embeddings`.
  Outputs: a dict with `sequence_output` `[batch, seq, hidden]` and
  `pooled_output` `[batch, hidden]`.

  Example:
  >>> config = SqueezeBertConfig(vocab_size=100, hidden_size=16,
  ...     num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
  ...     embedding_size=16)
  >>> encoder = SqueezeBertEncoder(config)
  >>> ids = tf.constant([[2, 7, 3, 0]])
  >>> outputs = encoder({"input_word_ids": ids,
  ...                    "input_mask": tf.cast(ids > 0, tf.int32),
  ...                    "input_type_ids": tf.zeros_like(ids)})
  >>> outputs["sequence_output"].shape, outputs["pooled_output"].shape
  (TensorShape([1, 4, 16]), TensorShape([1, 16]))
  """

  def __init__(self, config, quantization_aware=False,
               name="squeezebert_encoder", **kwargs):
    config = SqueezeBertConfig.coerce(config)
    inputs = encoder_inputs()
    embeddings = SqueezeBertEmbeddings(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size,
        max_position_embeddings=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size,
        dropout_rate=config.hidden_dropout_prob,
        layer_norm_eps=config.layer_norm_eps,
        embeddings_initializer=initializer(config),
        quantization_aware=quantization_aware, name="embeddings")
    hidden = embeddings(inputs["input_word_ids"], inputs["input_type_ids"])
    blocks = []
    for index in range(config.num_hidden_layers):
      block = SqueezeBertTransformerBlock(
          hidden_size=config.hidden_size,
          num_heads=config.num_attention_heads,
          intermediate_size=config.intermediate_size,
          q_groups=config.q_groups, k_groups=config.k_groups,
          v_groups=config.v_groups,
          post_attention_groups=config.post_attention_groups,
          intermediate_groups=config.intermediate_groups,
          output_groups=config.output_groups, hidden_act=config.hidden_act,
          hidden_dropout_prob=config.hidden_dropout_prob,
          attention_probs_dropout_prob=config.attention_probs_dropout_prob,
          layer_norm_eps=config.layer_norm_eps,
          kernel_initializer=initializer(config),
          quantization_aware=quantization_aware, name=f"layer_{index}")
      hidden = block(hidden, inputs["input_mask"])
      blocks.append(block)
    pooler = SqueezeBertPooler(config.hidden_size,
                               kernel_initializer=initializer(config),
                               name="pooler")
    outputs = {"sequence_output": hidden, "pooled_output": pooler(hidden)}
    super().__init__(config, inputs=inputs, outputs=outputs, name=name,
                     **kwargs)
    self.embeddings = embeddings
    self.transformer_blocks = blocks
    self.pooler = pooler
    self.quantization_aware = quantization_aware

  def _extra_config(self):
    return {"quantization_aware": self.quantization_aware}
