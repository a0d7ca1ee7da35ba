"""Exports for MediaPipe Tasks' TextClassifier and TextEmbedder.

MediaPipe runs a `.tflite` on raw text when it carries TFLite Model Metadata
(`metadata.py`), and reads the model's one output as the answer: the
`TextClassifier` reports it as the scores, the `TextEmbedder` flattens it
into the embedding. So the exported graph ends in what the app should see:

  text_classifier  softmax probabilities `[1, num_labels]`; a regressor
                   (STS-B) keeps its raw score `[1, 1]`
  text_embedder    one `[1, hidden]` vector: the pooled output, or the mean
                   of the last layer over the real tokens (`pooling="mean"`)

The Keras models keep their outputs (logits, as HF computes them); `prepare`
wraps a loaded model in a small functional model for conversion, after
refusing what MediaPipe would serve wrongly.

  export = prepare(classifier, "text_classifier", "vocab.txt")
  tflite_bytes = tflite.convert(export.model, "int8_mixed", 128, 1, inputs)
  tflite_bytes = export.attach_metadata(tflite_bytes)
"""

import dataclasses
import functools
import os
from typing import List, Optional

import tensorflow as tf

from sqz_tf.data import glue
from sqz_tf.data import vocab as vocab_lib
from sqz_tf.data.mediapipe_tokenizer import MediaPipeBertTokenizer
from sqz_tf.data.mediapipe_tokenizer import differing_rows
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.errors import SqzError
from sqz_tf.export import metadata
from sqz_tf.models.classifier import SqueezeBertClassifier
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.encoder import encoder_inputs

TASKS = metadata.TASKS  # text_classifier, text_embedder
POOLINGS = ("pooled", "mean")


# Export-time outputs ---------------------------------------------------------

def _wrapped(source, inputs, outputs, name):
  model = tf.keras.Model(inputs=inputs, outputs=outputs, name=name)
  # What tflite.convert checks and its lowering switch relies on.
  model.model_config = source.model_config
  model.quantization_aware = getattr(source, "quantization_aware", False)
  return model


def text_classifier_model(classifier):
  """`classifier` ending in probabilities (a regressor: its score)."""
  if not isinstance(classifier, SqueezeBertClassifier):
    raise SqzError("a MediaPipe TextClassifier export needs a classifier "
                   "(run_classifier's classifier.keras), not a "
                   f"{type(classifier).__name__}")
  inputs = encoder_inputs()
  outputs = classifier(inputs)
  if classifier.num_labels > 1:
    outputs = tf.keras.layers.Softmax(dtype=tf.float32,
                                      name="probability")(outputs)
  model = _wrapped(classifier, inputs, outputs, "text_classifier")
  model.reads_first_token_only = True  # see export/lowering.py
  return model


class _MaskedMean(tf.keras.layers.Layer):
  """Mean of `[batch, seq, hidden]` over the positions where mask is 1."""

  def call(self, sequence, mask):  # pylint: disable=arguments-differ
    weights = tf.cast(mask, sequence.dtype)[:, :, None]
    count = tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
    return tf.reduce_sum(sequence * weights, axis=1) / count


def _encoder_of(model):
  encoder = (model if isinstance(model, SqueezeBertEncoder)
             else getattr(model, "encoder", None))
  if not isinstance(encoder, SqueezeBertEncoder):
    raise SqzError("a MediaPipe TextEmbedder export needs an sqz_tf "
                   "encoder, classifier or pretrainer, not a "
                   f"{type(model).__name__}")
  return encoder


def text_embedder_model(model, pooling="pooled"):
  """One `[batch, hidden]` embedding from an encoder (or a model's encoder)."""
  if pooling not in POOLINGS:
    raise SqzError(f"pooling must be one of {', '.join(POOLINGS)}")
  encoder = _encoder_of(model)
  inputs = encoder_inputs()
  outputs = encoder(inputs)
  if pooling == "pooled":
    embedding = outputs["pooled_output"]
  else:
    embedding = _MaskedMean(dtype=tf.float32, name="mean")(
        outputs["sequence_output"], inputs["input_mask"])
  return _wrapped(encoder, inputs, embedding, "text_embedder")


# Checks and metadata ---------------------------------------------------------

@dataclasses.dataclass
class MediaPipeExport:
  """A checked export: the model to convert and what its metadata says."""
  task: str
  model: tf.keras.Model  # convert this one
  reference: Optional[tf.keras.Model]  # wrapped float model to compare with
  vocab_bytes: bytes
  vocab: List[str]
  labels: Optional[List[str]]
  description: str

  def attach_metadata(self, tflite_bytes):
    return metadata.attach(tflite_bytes, self.task, self.vocab_bytes,
                           self.labels, description=self.description)


def _read_bytes(path):
  try:
    with open(path, "rb") as f:
      return f.read()
  except OSError as e:
    raise SqzError(f"cannot read vocab file {path}: {e.strerror}") from None


def check_request(task, vocab_file, batch_size=1, glue_task=None):
  """The refusals that need no model (`prepare` repeats them)."""
  if task not in metadata.TASKS:
    raise SqzError(f"--metadata must be one of {', '.join(metadata.TASKS)}")
  if batch_size != 1:
    raise SqzError(f"MediaPipe feeds one text at a time: --batch_size must "
                   f"be 1 with --metadata, not {batch_size}")
  if glue_task and glue.get_task(glue_task).is_pair:
    raise SqzError(
        f"{glue.get_task(glue_task).name} is a sentence-pair task: MediaPipe "
        "takes one text and sets every segment id to 0, so it cannot serve "
        "it (serve run_classifier's serving/ SavedModel, or feed token ids "
        "to the plain .tflite)")
  if not vocab_file:
    raise SqzError("--metadata needs --vocab_file (the model's vocab.txt, "
                   "packed into the file)")


def prepare(model, task, vocab_file, labels=None, pooling="pooled",
            batch_size=1, glue_task=None, reference=None):
  """Refuses what MediaPipe would serve wrongly; wraps the model's outputs.

  `labels` overrides a classifier's `id2label`; `glue_task` (a name) is
  refused when it is a sentence-pair task; `reference` is a float model to
  compare a QAT model with.
  """
  check_request(task, vocab_file, batch_size, glue_task)
  config = getattr(model, "model_config", None)
  if config is None:
    raise SqzError(f"not an sqz_tf model: {type(model).__name__}")
  vocab_bytes = _read_bytes(vocab_file)
  vocab = metadata.check_vocab(vocab_bytes, config.vocab_size, vocab_file)
  if task == "text_classifier":
    wrap = text_classifier_model
    exported = wrap(model)
    labels = metadata.check_labels(
        labels or [model.id2label[i] for i in range(model.num_labels)],
        model.num_labels)
    kind = ("a regression score" if model.num_labels == 1 else
            "probabilities of " + ", ".join(labels))
  else:
    if labels:
      raise SqzError("--labels is for text_classifier exports")
    wrap = functools.partial(text_embedder_model, pooling=pooling)
    exported = wrap(model)
    kind = f"a {config.hidden_size}-dim {pooling} embedding"
  return MediaPipeExport(
      task=task, model=exported,
      reference=None if reference is None else wrap(reference),
      vocab_bytes=vocab_bytes, vocab=vocab, labels=labels,
      description=(f"SqueezeBERT ({config.num_hidden_layers} layers, hidden "
                   f"{config.hidden_size}); raw text in, {kind} out."))


# The accent gap ---------------------------------------------------------------

@dataclasses.dataclass
class TokenizationGap:
  """How often MediaPipe's tokenizer gives the model other inputs than ours."""
  rows: int
  differing: List[int]  # row indices
  words: List[str]  # some words it tokenizes differently

  def summary(self, what):
    if not self.differing:
      return f"MediaPipe tokenizes all {self.rows} {what} rows as we do."
    return (f"MediaPipe tokenizes {len(self.differing)} of {self.rows} {what} "
            f"rows differently (e.g. {', '.join(map(repr, self.words))}): it "
            "lower-cases ASCII only and keeps accents; apps should strip "
            "accents (NFD, drop combining marks) before classify()/embed().")


def tokenization_gap(texts, vocab, seq_length, max_words=3):
  """Rows of `texts` whose MediaPipe inputs differ from ours, with examples."""
  texts = list(texts)
  differing = differing_rows(texts, vocab, seq_length)
  ours = BertTokenizerLayer(vocab, seq_length=seq_length)
  theirs = MediaPipeBertTokenizer(vocab, seq_length)
  words = []
  for row in differing:
    candidates = [w for w in texts[row].split() if w not in words]
    if not candidates:
      continue
    for word, a, b in zip(candidates, ours.tokenize_to_lists(candidates),
                          theirs.tokenize_to_lists(candidates)):
      if a != b and len(words) < max_words:
        words.append(word)
    if len(words) >= max_words:
      break
  return TokenizationGap(rows=len(texts), differing=differing, words=words)


def tokenization_report(data_dir, task_name, vocab, seq_length):
  """The gap on the dev split(s) of a GLUE task directory, as text."""
  if not (data_dir and task_name and os.path.isdir(data_dir)):
    return ("Give --representative_data=GLUE_DIR --task to measure how often "
            "MediaPipe's tokenizer differs from ours.")
  task = glue.get_task(task_name)
  lines = []
  for split in (name for name in task.splits if name.startswith("dev")):
    texts = [e.text_a for e in glue.read_examples(task.name, data_dir, split)]
    lines.append(tokenization_gap(texts, vocab, seq_length).summary(
        f"{task.name} {split}"))
  return "\n".join(lines)


# Scoring exported files ------------------------------------------------------

TOKENIZATIONS = ("sqz_tf", "mediapipe")


def evaluation_tokenizer(tflite_bytes, vocab_file, seq_length,
                         tokenization="sqz_tf"):
  """The tokenizer to score a TFLite file with, on its packed vocabulary.

  A file with MediaPipe metadata carries its vocab.txt; `vocab_file`, if
  given too, must be byte-identical. `tokenization="mediapipe"` feeds the
  model what MediaPipe's tokenizer would (the app's view).
  """
  if tokenization not in TOKENIZATIONS:
    raise SqzError(f"tokenization must be one of {', '.join(TOKENIZATIONS)}")
  packed = metadata.read(tflite_bytes)
  if vocab_file:
    vocab = vocab_lib.load_vocab(vocab_file)
    if packed is not None and packed.vocab != _read_bytes(vocab_file):
      raise SqzError(f"{vocab_file} is not the vocabulary packed in the "
                     "model's metadata (leave --vocab_file out to use that)")
  elif packed is not None:
    vocab = packed.vocab_tokens
  else:
    raise SqzError("--vocab_file is needed: the model carries no MediaPipe "
                   "metadata with a vocabulary")
  if tokenization == "mediapipe":
    return MediaPipeBertTokenizer(vocab, seq_length)
  return BertTokenizerLayer(vocab, seq_length=seq_length)
