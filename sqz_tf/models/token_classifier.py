"""SqueezeBertTokenClassifier: encoder + dropout + dense on every token."""

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models.configured_model import ConfiguredModel
from sqz_tf.models.configured_model import label_names
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.encoder import encoder_inputs
from sqz_tf.models.encoder import initializer


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertTokenClassifier(ConfiguredModel):
  """Token tagger (HF's `SqueezeBertForTokenClassification`), e.g. for NER.

  Takes the encoder's three inputs and returns float32 logits
  `[batch, seq, num_labels]`, one row per WordPiece. `id2label` names the
  tags (e.g. "O", "B-PER", "I-PER"), as in an HF config.

  Example:
  >>> config = SqueezeBertConfig(vocab_size=100, hidden_size=16,
  ...     num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
  ...     embedding_size=16)
  >>> tagger = SqueezeBertTokenClassifier(
  ...     config, num_labels=3, id2label={0: "O", 1: "B-PER", 2: "I-PER"})
  >>> ids = tf.constant([[2, 7, 8, 3, 0]])
  >>> tagger({"input_word_ids": ids,
  ...         "input_mask": tf.cast(ids > 0, tf.int32),
  ...         "input_type_ids": tf.zeros_like(ids)}).shape
  TensorShape([1, 5, 3])
  """

  def __init__(self, config, num_labels, id2label=None,
               name="squeezebert_token_classifier", **kwargs):
    config = SqueezeBertConfig.coerce(config)
    id2label = label_names(num_labels, id2label)
    encoder = SqueezeBertEncoder(config)
    inputs = encoder_inputs()
    sequence = encoder(inputs)["sequence_output"]
    dropout = tf.keras.layers.Dropout(config.hidden_dropout_prob)
    head = tf.keras.layers.Dense(num_labels,
                                 kernel_initializer=initializer(config),
                                 dtype=tf.float32, name="classifier")
    logits = head(dropout(sequence))
    super().__init__(config, inputs=inputs, outputs=logits, name=name,
                     **kwargs)
    self.num_labels = num_labels
    self.id2label = id2label
    self.encoder = encoder
    self.head = head

  def _extra_config(self):
    # JSON object keys are strings; __init__ turns them back into ints.
    return {"num_labels": self.num_labels,
            "id2label": {str(i): label for i, label in self.id2label.items()}}
