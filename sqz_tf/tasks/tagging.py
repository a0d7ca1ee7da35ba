"""TaggingTask: named-entity recognition (or any IOB tagging) on CoNLL files.

    task = TaggingTask(model_config=config)         # labels from train
    train = task.load_split("conll2003", "train", tokenizer)
    dev = task.load_split("conll2003", "dev", tokenizer)
    task.evaluate(dev, predict(tagger, dev.features))  # {"f1": 0.91, ...}

Files in the data directory, by split: train.txt or eng.train; dev.txt,
valid.txt or eng.testa; test.txt or eng.testb (CoNLL format, see
sqz_tf.data.conll). The model tags in IOB2 (`O`, `B-TYPE`, `I-TYPE` for
each entity type); IOB1 files are read into it and predictions are written
back in the file's own scheme. The label set is the model's (a finetuned
tagger to continue from or evaluate), or given (entity types), or the
types of the training file; a tag outside it is an error. Scores are
conlleval's (sqz_tf.data.conlleval) on the words, from the prediction at
each word's first WordPiece.
"""

import json
import os

import numpy as np
import tensorflow as tf

from sqz_tf.data import conll
from sqz_tf.data import conlleval
from sqz_tf.data import tagging_features
from sqz_tf.errors import SqzError
from sqz_tf.models.token_classifier import SqueezeBertTokenClassifier
from sqz_tf.tasks.finetuning_task import FinetuningTask
from sqz_tf.tasks.finetuning_task import Split
from sqz_tf.tasks.finetuning_task import find_split_file
from sqz_tf.tasks.finetuning_task import random_subset
from sqz_tf.training import initialization
from sqz_tf.utils.files import atomic_output

SPLIT_FILES = {"train": ("train.txt", "eng.train"),
               "dev": ("dev.txt", "valid.txt", "eng.testa"),
               "test": ("test.txt", "eng.testb")}


def iob2_labels(entity_types):
  """The tag set of some entity types: O, then B-/I- of each, in order."""
  return ["O"] + [f"{prefix}-{kind}" for kind in entity_types
                  for prefix in ("B", "I")]


def model_labels(model):
  """A tagger's tags by id, or None for any other model."""
  if not isinstance(model, SqueezeBertTokenClassifier):
    return None
  return [model.id2label[i] for i in range(model.num_labels)]


def labels_for(model=None, entity_types=None):
  """The tags of a task starting from `model`, or None (from train).

  A tagger keeps its labels; `entity_types` (e.g. --labels=PER,LOC) must
  then give the same tags.
  """
  labels = model_labels(model)
  wanted = iob2_labels(entity_types) if entity_types else None
  if labels and wanted and labels != wanted:
    raise SqzError(
        f"the label set has {len(wanted)} labels ({', '.join(wanted)}) but "
        f"the init model tags {len(labels)} ({', '.join(labels)}); a tagger "
        "keeps its labels: to train a new head, start from an encoder or a "
        "pretraining run")
  return labels or wanted


def split_file(data_dir, split):
  """The CoNLL file of `split` in `data_dir` (see SPLIT_FILES)."""
  return find_split_file(data_dir, split, SPLIT_FILES, "tagging")


class TaggingTask(FinetuningTask):
  """Token classification over CoNLL files, scored by entity F1."""

  main_metric = "f1"
  saved_model_name = "tagger.keras"
  predictions_dir = "predictions"

  def __init__(self, model_config=None, labels=None, name="tagging"):
    super().__init__(model_config)
    self.name = name
    self.labels = list(labels) if labels else None  # tags by id

  # Data.

  def _tag_ids(self, sentences, path):
    index = {tag: i for i, tag in enumerate(self.labels)}
    ids = []
    for sentence in sentences:
      tags = conll.to_iob2(sentence.tags)
      for offset, (written, tag) in enumerate(zip(sentence.tags, tags)):
        if tag not in index:
          shown = written if written == tag else f"{written} (as {tag})"
          raise SqzError(
              f"{path}:{sentence.line_number + offset}: tag {shown} is not "
              f"in the label set: {', '.join(self.labels)}")
      ids.append([index[tag] for tag in tags])
    return ids

  def _labels_from_train(self, data_dir, sentences=None):
    if sentences is None:
      path = split_file(data_dir, "train")
      sentences = conll.read_conll(path)
      conll.tag_scheme(sentences, path)
    types = sorted({conlleval.split_tag(tag)[1] for s in sentences
                    for tag in s.tags or () if tag != "O"})
    return iob2_labels(types)

  def load_split(self, data_dir, split, tokenizer, num_examples=None,
                 seed=0):
    path = split_file(data_dir, split)
    sentences = conll.read_conll(path)
    if not sentences:
      raise SqzError(f"{path}: no sentences")
    tagged = sentences[0].tags is not None
    if not tagged and split != "test":
      raise SqzError(f"{path}: no tag column (a {split} file needs tags)")
    scheme = conll.tag_scheme(sentences, path) if tagged else "IOB2"
    if self.labels is None:
      self.labels = self._labels_from_train(
          data_dir, sentences if split == "train" else None)
    sentences = random_subset(sentences, num_examples, seed)
    tag_ids = self._tag_ids(sentences, path) if tagged else None
    features, alignment = tagging_features.words_to_features(
        [s.words for s in sentences], tag_ids, tokenizer)
    return Split(split, sentences, features,
                 extras={"alignment": alignment, "scheme": scheme,
                         "tagged": tagged})

  # Model and training objective.

  def build_model(self):
    if not self.labels:
      raise SqzError("the tagging label set is unknown: read the train "
                     "split first, or give the labels")
    return SqueezeBertTokenClassifier(self.model_config, len(self.labels),
                                      id2label=dict(enumerate(self.labels)))

  def initialize(self, model, source):
    labels = model_labels(source)
    if labels is not None and labels != self.labels:
      raise SqzError(f"the init model tags {len(labels)} labels "
                     f"({', '.join(labels)}), the task has "
                     f"{len(self.labels)} ({', '.join(self.labels)})")
    initialization.initialize_encoder_or_all(model, source)

  def build_metrics(self):
    return {"accuracy": tf.keras.metrics.SparseCategoricalAccuracy(
        "accuracy")}

  def loss_weights(self, features):
    return {"label": tf.cast(features["label"] >= 0, tf.float32)}

  def item_losses(self, features, outputs):
    # Ignored pieces (-1) get a valid class here and weight 0 in the loss.
    labels = tf.maximum(features["label"], 0)
    return {"label": tf.keras.losses.sparse_categorical_crossentropy(
        labels, tf.cast(outputs, tf.float32), from_logits=True)}

  def update_metrics(self, metrics, features, outputs):
    metrics["accuracy"].update_state(
        tf.maximum(features["label"], 0), outputs,
        sample_weight=self.loss_weights(features)["label"])

  # Scoring and outputs.

  def predicted_tags(self, split, outputs):
    """Per sentence, the predicted tag of each word, in the file's scheme."""
    logits = outputs["logits"]
    if logits.ndim != 3 or logits.shape[-1] != len(self.labels):
      raise SqzError(f"the model gives outputs of shape {list(logits.shape)}"
                     f"; {self.name} needs [rows, seq, {len(self.labels)}]")
    ids = tagging_features.word_predictions(
        logits.argmax(-1), split.extras["alignment"],
        [len(s.words) for s in split.examples])
    return [conll.in_scheme([self.labels[i] for i in sentence],
                            split.extras["scheme"]) for sentence in ids]

  def evaluate(self, split, outputs):
    if not split.extras["tagged"]:
      raise SqzError(f"the {split.name} file has no tags to score against")
    return conlleval.evaluate([s.tags for s in split.examples],
                              self.predicted_tags(split, outputs))

  def agreement(self, split, outputs, reference_outputs):
    ours = self.predicted_tags(split, outputs)
    theirs = self.predicted_tags(split, reference_outputs)
    same = [a == b for x, y in zip(ours, theirs) for a, b in zip(x, y)]
    return {"agreement": float(np.mean(same))}

  def write_predictions(self, split, outputs, output_dir):
    """`<split>.txt`: each token line + its predicted tag (conlleval's
    input when the file has gold tags); then `<split>_results.json`."""
    predicted = self.predicted_tags(split, outputs)
    path = os.path.join(output_dir, f"{split.name}.txt")
    conll.write_conll(path, split.examples, predicted)
    if not split.extras["tagged"]:
      return [path]
    results_path = os.path.join(output_dir, f"{split.name}_results.json")
    with atomic_output(results_path, overwrite=True) as temporary:
      with open(temporary, "w", encoding="utf-8") as f:
        json.dump(conlleval.evaluate([s.tags for s in split.examples],
                                     predicted), f, indent=2)
        f.write("\n")
    return [path, results_path]
