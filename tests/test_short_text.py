"""Short text at its own length: the sentences and the files that run them.

The litert_text runner (sqz_tf/benchmark/worker_runners.py) runs real
sentences through a fixed-length file (padded), a dynamic-length one (each
at its length) or one with a signature per length; all three must predict
what Keras does. The ONNX Runtime runner is checked when onnxruntime and
onnx are installed (they are optional).
"""

import importlib.util
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.benchmark import short_text
from sqz_tf.benchmark import worker_runners
from sqz_tf.export import tflite
from sqz_tf.models import SqueezeBertClassifier
from tests import data_fixtures
from tests.tiny_configs import tiny_config


def _write_sst2(directory, rows=12):
  os.makedirs(directory)
  words = ["hello", "world", "playing", "the", "a", "is", "token", "long"]
  rng = np.random.default_rng(0)
  for split in ("train", "dev"):
    with open(os.path.join(directory, f"{split}.tsv"), "w") as f:
      f.write("sentence\tlabel\n")
      for row in range(rows):
        words_in_row = rng.choice(words, rng.integers(1, 12))
        f.write(" ".join(words_in_row) + f"\t{row % 2}\n")


def test_sentences_keep_their_own_length(tmp_path):
  vocab = data_fixtures.write_vocab(str(tmp_path / "vocab.txt"))
  _write_sst2(str(tmp_path / "SST-2"))
  sentences = short_text.sentence_ids(str(tmp_path / "SST-2"),
                                      str(tmp_path / "vocab.txt"),
                                      max_length=16, limit=10)
  assert len(sentences) == 10
  assert len({len(ids) for ids in sentences}) > 3  # not padded to one length
  for ids in sentences:
    assert ids[0] == vocab.index("[CLS]") and ids[-1] == vocab.index("[SEP]")
    assert 0 not in ids and len(ids) <= 16


@pytest.fixture(scope="module")
def classifier_and_files(tmp_path_factory):
  work = tmp_path_factory.mktemp("short_text")
  tf.keras.utils.set_random_seed(0)
  classifier = SqueezeBertClassifier(tiny_config(), num_labels=3)
  classifier.head.kernel.assign(classifier.head.kernel * 300)
  files = {"fixed": tflite.convert(classifier, "float32", 32),
           "dynamic": tflite.convert(classifier, "float32", 32,
                                     dynamic_seq_length=True),
           "signatures": short_text.multi_length_tflite(classifier,
                                                        (8, 16, 32))}
  for mode, data in files.items():
    (work / f"{mode}.tflite").write_bytes(data)
  rng = np.random.default_rng(1)
  sentences = [rng.integers(1, tiny_config().vocab_size, n).tolist()
               for n in (3, 30, 9, 16, 17, 9, 5)]
  (work / "sentences.json").write_text(json.dumps(sentences))
  return classifier, work, sentences


@pytest.mark.parametrize("mode", ["fixed", "dynamic", "signatures"])
def test_every_mode_predicts_what_keras_does(classifier_and_files, mode):
  classifier, work, sentences = classifier_and_files
  runner = worker_runners.LitertText({
      "mode": mode, "path": str(work / f"{mode}.tflite"), "threads": 1,
      "sentences": str(work / "sentences.json"),
      "signatures": {str(n): key for n, key in
                     short_text.signature_keys((8, 16, 32)).items()}})
  init, first = runner.load(None)
  assert init > 0 and first > 0
  times = runner.run(len(sentences) + 2)  # wraps around
  assert len(times) == len(sentences) + 2 and min(times) > 0
  logits = runner.predict()
  expected = [classifier({"input_word_ids": np.array([ids], np.int32),
                          "input_mask": np.ones((1, len(ids)), np.int32),
                          "input_type_ids": np.zeros((1, len(ids)), np.int32)}
                         )[0].numpy() for ids in sentences]
  same, difference = short_text.agreement(logits, expected)
  assert same == 1.0 and difference < 1e-4 * np.abs(expected).max()


@pytest.mark.skipif(not all(importlib.util.find_spec(name) for name in (
    "onnxruntime", "onnx", "torch", "transformers")),
                    reason="onnxruntime, onnx, torch or transformers missing")
def test_onnx_runner_runs_an_exported_hf_model(tmp_path):
  import transformers  # pylint: disable=g-import-not-at-top
  config = transformers.SqueezeBertConfig(
      vocab_size=99, hidden_size=32, num_hidden_layers=1,
      num_attention_heads=4, intermediate_size=64, embedding_size=32)
  path = str(tmp_path / "hf")
  transformers.SqueezeBertForSequenceClassification(config).save_pretrained(
      path)
  spec = {"key": "tiny", "path": path,
          "hf_class": "SqueezeBertForSequenceClassification"}
  paths = worker_runners.save_onnx({"models": [spec]})
  runner = worker_runners.Onnx({"path": paths["tiny"], "threads": 1,
                                "vocab_size": 99})
  for length in (8, 20):  # a dynamic sequence axis
    init, first = runner.load(length)
    assert init > 0 and first > 0 and min(runner.run(3)) > 0
