"""Which HF tensor fills which Keras weight, and how its layout changes.

HF stores Linear weights as `[out, in]` and Conv1d weights as
`[out, in / groups, 1]`; Keras stores Dense kernels as `[in, out]` and
Conv1D kernels as `[1, in / groups, out]`. The grouping convention (input
slice g feeds output slice g) is the same in both, so a transpose suffices.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from sqz_tf.models.classifier import SqueezeBertClassifier
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.multiple_choice import SqueezeBertMultipleChoice
from sqz_tf.models.pretrainer import SqueezeBertPretrainer
from sqz_tf.models.token_classifier import SqueezeBertTokenClassifier
from sqz_tf.models.question_answerer import SqueezeBertQuestionAnswerer

COPY, LINEAR, CONV1D = "copy", "linear", "conv1d"

# HF tensors that duplicate another one: (duplicate, original).
TIED_TENSORS = (
    ("cls.predictions.decoder.weight",
     "transformer.embeddings.word_embeddings.weight"),
    ("cls.predictions.decoder.bias", "cls.predictions.bias"),
)
# Buffers, not weights, that old checkpoints carry.
IGNORED_SUFFIXES = ("embeddings.position_ids",)
SOP_HEAD = ("cls.seq_relationship.weight", "cls.seq_relationship.bias")


@dataclasses.dataclass(frozen=True)
class WeightLink:
  hf_name: str
  variable: tf.Variable
  layout: str

  def to_keras(self, array: np.ndarray) -> np.ndarray:
    if self.layout == LINEAR:
      return array.T
    if self.layout == CONV1D:
      return np.transpose(array, (2, 1, 0))
    return array

  def to_hf(self, array: np.ndarray) -> np.ndarray:
    # Both transposes are their own inverse.
    return self.to_keras(array)


def _dense(layer, hf_prefix, layout=LINEAR):
  return [WeightLink(f"{hf_prefix}.weight", layer.kernel, layout),
          WeightLink(f"{hf_prefix}.bias", layer.bias, COPY)]


def _layer_norm(layer, hf_prefix):
  return [WeightLink(f"{hf_prefix}.weight", layer.gamma, COPY),
          WeightLink(f"{hf_prefix}.bias", layer.beta, COPY)]


def encoder_links(encoder: SqueezeBertEncoder, prefix: str):
  """Links of an encoder whose HF names start with `prefix`."""
  embeddings = encoder.embeddings
  links = [
      WeightLink(f"{prefix}embeddings.word_embeddings.weight",
                 embeddings.word_embeddings, COPY),
      WeightLink(f"{prefix}embeddings.position_embeddings.weight",
                 embeddings.position_embeddings, COPY),
      WeightLink(f"{prefix}embeddings.token_type_embeddings.weight",
                 embeddings.token_type_embeddings, COPY),
      *_layer_norm(embeddings.layer_norm, f"{prefix}embeddings.LayerNorm"),
  ]
  for index, block in enumerate(encoder.transformer_blocks):
    layer = f"{prefix}encoder.layers.{index}"
    attention = block.attention
    links += [
        *_dense(attention.query, f"{layer}.attention.query", CONV1D),
        *_dense(attention.key, f"{layer}.attention.key", CONV1D),
        *_dense(attention.value, f"{layer}.attention.value", CONV1D),
        *_dense(block.post_attention, f"{layer}.post_attention.conv1d", CONV1D),
        *_layer_norm(block.post_attention_norm,
                     f"{layer}.post_attention.layernorm"),
        *_dense(block.intermediate, f"{layer}.intermediate.conv1d", CONV1D),
        *_dense(block.output_projection, f"{layer}.output.conv1d", CONV1D),
        *_layer_norm(block.output_norm, f"{layer}.output.layernorm"),
    ]
  links += _dense(encoder.pooler, f"{prefix}pooler.dense")
  return links


def _pretrainer_head(model):
  head = model.masked_lm
  return [
      *_dense(head.dense, "cls.predictions.transform.dense"),
      *_layer_norm(head.layer_norm, "cls.predictions.transform.LayerNorm"),
      WeightLink("cls.predictions.bias", head.bias, COPY),
      *_dense(model.sentence_order, "cls.seq_relationship"),
  ]


# The head weights of each model class beside its encoder.
HEAD_LINKS = {
    SqueezeBertPretrainer: _pretrainer_head,
    SqueezeBertClassifier: lambda model: _dense(model.head, "classifier"),
    SqueezeBertTokenClassifier: lambda model: _dense(model.head, "classifier"),
    SqueezeBertMultipleChoice: lambda model: _dense(model.head, "classifier"),
    SqueezeBertQuestionAnswerer: lambda model: _dense(model.head,
                                                      "qa_outputs"),
}


def model_links(model, encoder_prefix=""):
  """Every weight of an sqz_tf model with its HF name.

  A bare encoder is HF's `SqueezeBertModel`, whose names have no prefix unless
  `encoder_prefix` is given; the models with heads are HF's
  `SqueezeBertFor...` classes, whose encoder sits under `transformer.`.
  """
  if isinstance(model, SqueezeBertEncoder):
    return encoder_links(model, encoder_prefix)
  head_links = HEAD_LINKS.get(type(model))
  if head_links is None:
    raise TypeError(f"not an sqz_tf SqueezeBERT model: {type(model).__name__}")
  return encoder_links(model.encoder, "transformer.") + head_links(model)
