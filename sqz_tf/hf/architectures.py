"""Which sqz_tf model an HF checkpoint becomes, decided by its architecture.

HF names the model class of a checkpoint in `config.json`'s `architectures`.
Tensor names alone cannot tell the heads apart: sequence classification,
token classification and multiple choice all store `classifier.weight`, so
a converter guessing from them silently builds the wrong model. Each
`Architecture` pairs an HF class name with the sqz_tf model that computes
the same thing; a new head plugs in by adding an entry to `SUPPORTED`.

    architecture = resolve(hf_config, tensors, model_type="auto")
    model = architecture.build(config, hf_config, tensors)
"""

import dataclasses
from typing import Callable

from sqz_tf.errors import ConversionError
from sqz_tf.models.classifier import SqueezeBertClassifier
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.multiple_choice import SqueezeBertMultipleChoice
from sqz_tf.models.pretrainer import SqueezeBertPretrainer
from sqz_tf.models.token_classifier import SqueezeBertTokenClassifier
from sqz_tf.models.question_answerer import SqueezeBertQuestionAnswerer


@dataclasses.dataclass(frozen=True)
class Architecture:
  hf_name: str  # the HF class, as config.json's `architectures` names it
  model_type: str  # the --model_type that selects it
  model_class: type
  # (SqueezeBertConfig, config.json dict, {tensor name: array}) -> model
  build: Callable


def num_labels(hf_config, tensors, head="classifier.weight"):
  """Labels of a checkpoint: its id2label, else its head's output rows."""
  id2label = hf_config.get("id2label")
  if id2label:
    return len(id2label)
  if head in tensors:
    return tensors[head].shape[0]
  raise ConversionError("cannot tell the number of labels: config.json has "
                        f"no id2label and the checkpoint no {head}")


def _labelled(model_class):
  """build() of a head that carries labels (id2label) like HF's configs."""
  def build(config, hf_config, tensors):
    try:
      return model_class(config, num_labels(hf_config, tensors),
                         id2label=hf_config.get("id2label"))
    except ValueError as e:
      raise ConversionError(f"bad id2label in config.json: {e}") from None
  return build


def _question_answerer(config, hf_config, tensors):
  # HF builds qa_outputs with num_labels rows and splits them into start and
  # end logits, so only two make sense.
  rows = (tensors["qa_outputs.weight"].shape[0]
          if "qa_outputs.weight" in tensors else hf_config.get("num_labels", 2))
  if rows != 2:
    raise ConversionError(f"a question-answering head has 2 outputs (start, "
                          f"end); this checkpoint's qa_outputs has {rows}")
  return SqueezeBertQuestionAnswerer(config)


SUPPORTED = (
    Architecture("SqueezeBertModel", "encoder", SqueezeBertEncoder,
                 lambda config, hf_config, tensors: SqueezeBertEncoder(config)),
    Architecture("SqueezeBertForMaskedLM", "pretrainer", SqueezeBertPretrainer,
                 lambda config, hf_config, tensors: (
                     SqueezeBertPretrainer(config))),
    Architecture("SqueezeBertForSequenceClassification", "classifier",
                 SqueezeBertClassifier, _labelled(SqueezeBertClassifier)),
    Architecture("SqueezeBertForTokenClassification", "token_classifier",
                 SqueezeBertTokenClassifier,
                 _labelled(SqueezeBertTokenClassifier)),
    Architecture("SqueezeBertForMultipleChoice", "multiple_choice",
                 SqueezeBertMultipleChoice,
                 lambda config, hf_config, tensors: (
                     SqueezeBertMultipleChoice(config))),
    Architecture("SqueezeBertForQuestionAnswering", "question_answerer",
                 SqueezeBertQuestionAnswerer, _question_answerer),
)
# HF SqueezeBERT heads with no sqz_tf model yet: refused by name.
NOT_SUPPORTED = ()
MODEL_TYPES = ("auto",) + tuple(a.model_type for a in SUPPORTED)

_BY_HF_NAME = {a.hf_name: a for a in SUPPORTED}
_BY_MODEL_TYPE = {a.model_type: a for a in SUPPORTED}
_BY_CLASS = {a.model_class: a for a in SUPPORTED}


def _supported_list():
  return ", ".join(f"{a.hf_name} ({a.model_type})" for a in SUPPORTED)


def for_model(model) -> Architecture:
  """The architecture of an sqz_tf model (for the way back to HF)."""
  architecture = _BY_CLASS.get(type(model))
  if architecture is None:
    raise ConversionError(f"not an sqz_tf SqueezeBERT model: "
                          f"{type(model).__name__}")
  return architecture


def _named_architecture(hf_config):
  """The architecture config.json names, or None when it names none."""
  names = hf_config.get("architectures")
  if not names:
    return None
  if not isinstance(names, list) or len(names) != 1:
    raise ConversionError(f"config.json's architectures should name one model "
                          f"class, got {names!r}")
  name = names[0]
  if name in NOT_SUPPORTED:
    raise ConversionError(f"{name} checkpoints are not supported yet; "
                          f"supported: {_supported_list()}")
  if name not in _BY_HF_NAME:
    raise ConversionError(f"config.json's architectures is {name!r}, not a "
                          f"supported SqueezeBERT model: {_supported_list()}")
  return _BY_HF_NAME[name]


def _head_prefixes(tensors):
  """Top-level names of the tensors outside the encoder, e.g. {"classifier"}."""
  encoder = ("transformer", "embeddings", "encoder", "pooler")
  return sorted({name.split(".")[0] for name in tensors} - set(encoder))


def _guess_from_tensors(tensors):
  """The architecture when the head tensors leave no doubt, else None."""
  heads = _head_prefixes(tensors)
  if not heads:
    return _BY_MODEL_TYPE["encoder"]
  if any(name.startswith("cls.predictions.") for name in tensors):
    return _BY_MODEL_TYPE["pretrainer"]
  if heads == ["qa_outputs"]:  # only HF's question answering names it so
    return _BY_MODEL_TYPE["question_answerer"]
  return None


def resolve(hf_config, tensors, model_type="auto") -> Architecture:
  """What to build from a checkpoint: config.json's architectures first.

  `model_type` ("auto" or one of MODEL_TYPES) must agree with the
  architecture config.json names. Without `architectures`, an explicit
  `model_type` decides; "auto" then accepts only checkpoints whose tensors
  are unambiguous (an MLM or QA head, or no head at all): a `classifier`
  tensor fits sequence classification, token classification and multiple
  choice alike.
  """
  if model_type not in MODEL_TYPES:
    raise ConversionError(f"model_type must be one of {', '.join(MODEL_TYPES)}"
                          f", got {model_type!r}")
  named = _named_architecture(hf_config)
  if named is not None:
    if model_type not in ("auto", named.model_type):
      raise ConversionError(
          f"config.json's architectures is {named.hf_name}, which converts "
          f"to a {named.model_type}, not the --model_type={model_type} asked "
          "for")
    return named
  if model_type != "auto":
    return _BY_MODEL_TYPE[model_type]
  guessed = _guess_from_tensors(tensors)
  if guessed is None:
    raise ConversionError(
        "config.json names no architectures and the head tensors "
        f"({', '.join(_head_prefixes(tensors))}) fit several models; give "
        "--model_type "
        f"({', '.join(MODEL_TYPES[1:])})")
  return guessed
