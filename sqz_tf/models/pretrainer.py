"""SqueezeBertPretrainer: encoder + masked-LM and sentence-order heads."""

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models.configured_model import ConfiguredModel
from sqz_tf.layers.masked_lm_head import MaskedLMHead
from sqz_tf.models.encoder import ENCODER_INPUTS
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.encoder import encoder_inputs
from sqz_tf.models.encoder import initializer


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertPretrainer(ConfiguredModel):
  """SqueezeBERT with the MLM and sentence-order-prediction (SOP) heads.

  Inputs: the encoder's three inputs plus `masked_lm_positions` `[batch, P]`
  (int32 indices into the sequence).
  Outputs: `mlm_logits` `[batch, P, vocab]` (decoder tied to the word
  embeddings, as HF's `SqueezeBertForMaskedLM`) and `sop_logits` `[batch, 2]`
  (a dense layer on the pooled output, like BERT's `cls.seq_relationship`;
  class 1 = the two segments were swapped). Logits are float32.

  Example:
  >>> config = SqueezeBertConfig(vocab_size=100, hidden_size=16,
  ...     num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
  ...     embedding_size=16)
  >>> pretrainer = SqueezeBertPretrainer(config)
  >>> ids = tf.constant([[2, 7, 3, 0]])
  >>> outputs = pretrainer({"input_word_ids": ids,
  ...     "input_mask": tf.cast(ids > 0, tf.int32),
  ...     "input_type_ids": tf.zeros_like(ids),
  ...     "masked_lm_positions": tf.constant([[1, 2]])})
  >>> outputs["mlm_logits"].shape, outputs["sop_logits"].shape
  (TensorShape([1, 2, 100]), TensorShape([1, 2]))
  """

  def __init__(self, config, name="squeezebert_pretrainer", **kwargs):
    config = SqueezeBertConfig.coerce(config)
    encoder = SqueezeBertEncoder(config)
    inputs = encoder_inputs()
    inputs["masked_lm_positions"] = tf.keras.Input(
        shape=(None,), dtype=tf.int32, name="masked_lm_positions")
    encoded = encoder({key: inputs[key] for key in ENCODER_INPUTS})
    masked_lm = MaskedLMHead(encoder.embeddings, hidden_act=config.hidden_act,
                             layer_norm_eps=config.layer_norm_eps,
                             kernel_initializer=initializer(config),
                             name="masked_lm")
    sentence_order = tf.keras.layers.Dense(
        2, kernel_initializer=initializer(config), dtype=tf.float32,
        name="sentence_order")
    outputs = {
        "mlm_logits": masked_lm(encoded["sequence_output"],
                                inputs["masked_lm_positions"]),
        "sop_logits": sentence_order(encoded["pooled_output"]),
    }
    super().__init__(config, inputs=inputs, outputs=outputs, name=name,
                     **kwargs)
    self.encoder = encoder
    self.masked_lm = masked_lm
    self.sentence_order = sentence_order
