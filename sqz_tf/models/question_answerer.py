"""SqueezeBertQuestionAnswerer: encoder + span start/end logits per token."""

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models.configured_model import ConfiguredModel
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.encoder import encoder_inputs
from sqz_tf.models.encoder import initializer


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertQuestionAnswerer(ConfiguredModel):
  """Extractive QA (HF's `SqueezeBertForQuestionAnswering`).

  A dense layer with two outputs (HF's `qa_outputs`) over every token of the
  encoder's `sequence_output`; no dropout before it, as in HF. Takes the
  encoder's three inputs (`[CLS] question [SEP] context [SEP]`) and returns
  a dict of float32 `start_logits` and `end_logits`, `[batch, seq]`: how
  likely each token starts or ends the answer.

  Example:
  >>> config = SqueezeBertConfig(vocab_size=100, hidden_size=16,
  ...     num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
  ...     embedding_size=16)
  >>> model = SqueezeBertQuestionAnswerer(config)
  >>> ids = tf.constant([[2, 7, 3, 9, 9, 3, 0]])
  >>> outputs = model({"input_word_ids": ids,
  ...                  "input_mask": tf.cast(ids > 0, tf.int32),
  ...                  "input_type_ids": tf.constant([[0, 0, 0, 1, 1, 1, 0]])})
  >>> outputs["start_logits"].shape, outputs["end_logits"].shape
  (TensorShape([1, 7]), TensorShape([1, 7]))
  """

  def __init__(self, config, name="squeezebert_question_answerer", **kwargs):
    config = SqueezeBertConfig.coerce(config)
    encoder = SqueezeBertEncoder(config)
    inputs = encoder_inputs()
    sequence = encoder(inputs)["sequence_output"]
    head = tf.keras.layers.Dense(2, kernel_initializer=initializer(config),
                                 dtype=tf.float32, name="qa_outputs")
    logits = head(sequence)  # [batch, seq, 2]
    # Split and squeeze (not unstack or slices): XNNPACK runs SPLIT and
    # RESHAPE, while UNPACK and axis-dropping STRIDED_SLICE fall to TFLite.
    start_logits, end_logits = tf.split(logits, 2, axis=-1)
    outputs = {"start_logits": tf.squeeze(start_logits, -1),
               "end_logits": tf.squeeze(end_logits, -1)}
    super().__init__(config, inputs=inputs, outputs=outputs, name=name,
                     **kwargs)
    self.encoder = encoder
    self.head = head
