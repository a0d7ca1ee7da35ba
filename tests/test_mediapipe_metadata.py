"""MediaPipe Tasks runs our exports on raw text (TFLite Model Metadata).

The real MediaPipe `TextClassifier` and `TextEmbedder` (the `mediapipe`
wheel: the C++ the Android/iOS libraries run) are compared with our TFLite
path (`BertTokenizerLayer` ids into ai_edge_litert) on ASCII text.
"""

import dataclasses
import json
import os
import types

import numpy as np
import pytest
import tensorflow as tf
from mediapipe.tasks.python.core import base_options
from mediapipe.tasks.python.text import text_classifier
from mediapipe.tasks.python.text import text_embedder

from sqz_tf.data import glue
from sqz_tf.data.mediapipe_tokenizer import MediaPipeBertTokenizer
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.data.vocab import load_vocab
from sqz_tf.errors import SqzError
from sqz_tf.export import metadata
from sqz_tf.export import mediapipe_task
from sqz_tf.export import tflite
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from tests import data_fixtures
from tests.cli_runner import REPO
from tests.cli_runner import run_in_one_process
from tests.tiny_configs import toy_glue_config

SEQ = 16
ASCII_TEXTS = ["Hello, world!", "the play is long", "A token... (or two)",
               "It's a world-class play; hello again & again?",
               "x " * 30, ""]


def _classifier(model_bytes):
  return text_classifier.TextClassifier.create_from_options(
      text_classifier.TextClassifierOptions(
          base_options=base_options.BaseOptions(
              model_asset_buffer=model_bytes)))


def _embedder(model_bytes):
  return text_embedder.TextEmbedder.create_from_options(
      text_embedder.TextEmbedderOptions(
          base_options=base_options.BaseOptions(
              model_asset_buffer=model_bytes)))


def _our_outputs(tflite_bytes, vocab, texts):
  """Our TFLite path: BertTokenizerLayer ids into ai_edge_litert."""
  features = BertTokenizerLayer(vocab, seq_length=SEQ).encode(texts)
  return np.concatenate([
      tflite.run(tflite_bytes, {k: v[i:i + 1] for k, v in features.items()}
                 )["output_0"] for i in range(len(texts))])


def _config(vocab_size):
  # Large initial weights: outputs that differ from text to text by a lot
  # more than the tolerances, as a trained model's do.
  return dataclasses.replace(toy_glue_config(vocab_size),
                             initializer_range=0.5)


def _cosine(a, b):
  return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _vocab_variant(vocab, path, edit):
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(edit(list(vocab))) + "\n")
  return path


def _swap_pad_and_unk(tokens):
  tokens[0], tokens[1] = tokens[1], tokens[0]
  return tokens


# Vocabularies MediaPipe would read otherwise than we do, and the refusal.
BAD_VOCABS = {
    "empty": (lambda t: t[:10] + [""] + t[10:-1], "has empty lines"),
    "twice": (lambda t: t[:-1] + [t[10]], "twice"),
    "short": (lambda t: t[:-1], "not the model's vocabulary"),
    "no_sep": (lambda t: [x if x != "[SEP]" else "[SEPX]" for x in t],
               "lacks [SEP]"),
    "pad_not_0": (_swap_pad_and_unk, "[PAD] at id 1"),
    "cased": (lambda t: [x if x != "hello" else "Hello" for x in t],
              "is cased"),
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
  """An uncased vocab, toy SST-2, a classifier; every export_tflite run.

  One process runs the classifier and embedder exports, then each command
  line that must be refused (`refusals`: name -> (result, message)).
  """
  work = tmp_path_factory.mktemp("mediapipe")
  vocab = data_fixtures.write_vocab(str(work / "vocab.txt"), uncased=True)
  data_fixtures.write_toy_sst2(str(work / "SST-2"))
  data_fixtures.write_toy_rte(str(work / "RTE"), rows=8)
  tf.keras.utils.set_random_seed(0)
  classifier = SqueezeBertClassifier(
      _config(len(vocab)), 2, id2label={0: "negative", 1: "positive"})
  classifier.save(str(work / "classifier.keras"))
  (work / "refused").mkdir()
  model = [f"--model={work / 'classifier.keras'}", f"--seq_length={SEQ}"]
  good = model + [f"--vocab_file={work / 'vocab.txt'}"]
  refused = {name: (model + [
      "--metadata=text_classifier",
      f"--vocab_file={_vocab_variant(vocab, work / (name + '.txt'), edit)}",
      f"--output={work / 'refused' / (name + '.tflite')}"], message)
             for name, (edit, message) in BAD_VOCABS.items()}
  output = f"--output={work / 'refused' / 'x.tflite'}"
  refused.update({
      "batch": (good + ["--metadata=text_classifier", "--batch_size=2",
                        output], "--batch_size must be 1"),
      "pair task": (good + ["--metadata=text_classifier", "--task=rte",
                            f"--representative_data={work / 'RTE'}", output],
                    "RTE is a sentence-pair task"),
      "labels": (good + ["--metadata=text_classifier", "--labels=a,b,c",
                         output], "3 labels for a model with 2 outputs"),
      "no vocab": (model + ["--metadata=text_embedder", output],
                   "--metadata needs --vocab_file"),
  })
  results = run_in_one_process("sqz_tf.export_tflite", [
      good + ["--metadata=text_classifier",
              f"--output={work / 'classifier.tflite'}",
              f"--representative_data={work / 'SST-2'}", "--task=sst2"],
      good + ["--metadata=text_embedder",
              f"--output={work / 'embedder.tflite'}"],
      good + ["--metadata=text_classifier", "--dynamic_seq_length",
              f"--output={work / 'dynamic_classifier.tflite'}"],
  ] + [args for args, _ in refused.values()], str(work))
  for result in results[:3]:
    assert result["returncode"] == 0, result["stderr"][-3000:]
  return types.SimpleNamespace(
      work=work, vocab=vocab, classifier=classifier, exports=results[:2],
      refusals={name: (result, message) for (name, (_, message)), result
                in zip(refused.items(), results[3:])})


def test_metadata_reads_back(toy):
  work = toy.work
  classifier_run, embedder_run = toy.exports
  vocab_bytes = (work / "vocab.txt").read_bytes()
  written = metadata.read((work / "classifier.tflite").read_bytes())
  # Metadata i describes subgraph input i, whatever order the converter chose.
  assert dict(zip(written.input_names, written.input_tensors)) == {
      "ids": "serving_default_input_word_ids:0",
      "mask": "serving_default_input_mask:0",
      "segment_ids": "serving_default_input_type_ids:0"}
  assert written.tokenizer == "BertTokenizerOptions"
  assert written.vocab == vocab_bytes
  assert written.labels == ("negative", "positive")
  assert written.output_name == "probability"
  assert written.min_parser_version == metadata.MIN_PARSER_VERSION
  assert sorted(written.packed_files) == ["labels.txt", "vocab.txt"]
  embedder = metadata.read((work / "embedder.tflite").read_bytes())
  assert embedder.labels is None and embedder.output_name == "embedding"
  assert embedder.vocab == vocab_bytes
  assert sorted(embedder.packed_files) == ["vocab.txt"]
  # The accent gap on the toy dev split: every fifth row has "café"/"naïve".
  assert "MediaPipe tokenizes 8 of 40 SST-2 dev rows differently" in (
      classifier_run["stdout"])
  assert "strip accents" in classifier_run["stdout"]
  assert "Give --representative_data=GLUE_DIR" in embedder_run["stdout"]
  assert metadata.read(_echo_model()) is None


def test_real_text_classifier_agrees_with_our_tflite(toy):
  work, vocab, classifier = toy.work, toy.vocab, toy.classifier
  model_bytes = (work / "classifier.tflite").read_bytes()
  ours = _our_outputs(model_bytes, vocab, ASCII_TEXTS)
  keras = tf.nn.softmax(classifier(BertTokenizerLayer(
      vocab, seq_length=SEQ).encode(ASCII_TEXTS))).numpy()
  with _classifier(model_bytes) as mediapipe:
    for text, expected, keras_row in zip(ASCII_TEXTS, ours, keras):
      categories = sorted(mediapipe.classify(text).classifications[0]
                          .categories, key=lambda c: c.index)
      assert [c.category_name for c in categories] == ["negative", "positive"]
      scores = np.array([c.score for c in categories])
      np.testing.assert_allclose(scores, expected, atol=1e-5)
      np.testing.assert_allclose(scores, keras_row, atol=1e-4)
  assert np.ptp(ours[:, 0]) > 100 * 1e-5  # texts told apart


def test_real_text_classifier_runs_dynamic_length_exports(toy):
  # MediaPipe feeds a [1, -1] signature each text at its own token count,
  # not truncated to the default shape: the fixed file's scores for texts
  # that fit it, our TFLite run on all of their tokens for longer ones.
  fixed = (toy.work / "classifier.tflite").read_bytes()
  dynamic = (toy.work / "dynamic_classifier.tflite").read_bytes()
  untruncated = BertTokenizerLayer(toy.vocab, seq_length=48).encode(
      ASCII_TEXTS)
  longer = 0
  with _classifier(fixed) as padded, _classifier(dynamic) as own_length:
    for row, text in enumerate(ASCII_TEXTS):
      length = int(untruncated["input_mask"][row].sum())
      assert length < 48
      expected = (
          _scores(padded, text) if length <= SEQ else tflite.run(dynamic, {
              name: value[row:row + 1, :length]
              for name, value in untruncated.items()})["output_0"][0])
      longer += length > SEQ
      np.testing.assert_allclose(_scores(own_length, text), expected,
                                 atol=1e-5)
  assert longer == 2


def _scores(mediapipe, text):
  return [c.score for c in sorted(mediapipe.classify(text).classifications[0]
                                  .categories, key=lambda c: c.index)]


def test_real_text_embedder_agrees_with_our_tflite(toy):
  work, vocab, classifier = toy.work, toy.vocab, toy.classifier
  model_bytes = (work / "embedder.tflite").read_bytes()
  ours = _our_outputs(model_bytes, vocab, ASCII_TEXTS)
  keras = classifier.encoder(BertTokenizerLayer(vocab, seq_length=SEQ).encode(
      ASCII_TEXTS))["pooled_output"].numpy()
  with _embedder(model_bytes) as mediapipe:
    for text, expected, keras_row in zip(ASCII_TEXTS, ours, keras):
      embedding = mediapipe.embed(text).embeddings[0].embedding
      assert embedding.shape == (32,)
      assert _cosine(embedding, expected) >= 0.9999
      assert _cosine(embedding, keras_row) >= 0.9999


def test_mean_embedding_and_regression_score_in_mediapipe(toy):
  work, vocab = toy.work, toy.vocab
  vocab_file = str(work / "vocab.txt")
  config = _config(len(vocab))
  encoder = SqueezeBertEncoder(config)
  export = mediapipe_task.prepare(encoder, "text_embedder", vocab_file,
                                  pooling="mean")
  model_bytes = export.attach_metadata(tflite.convert(export.model,
                                                      seq_length=SEQ))
  features = BertTokenizerLayer(vocab, seq_length=SEQ).encode(ASCII_TEXTS)
  sequence = encoder(features)["sequence_output"].numpy()
  mask = features["input_mask"][:, :, None]
  keras_mean = (sequence * mask).sum(1) / mask.sum(1)
  with _embedder(model_bytes) as mediapipe:
    for text, expected in zip(ASCII_TEXTS, keras_mean):
      assert _cosine(mediapipe.embed(text).embeddings[0].embedding,
                     expected) >= 0.9999
  # STS-B style: one raw score, no softmax; MediaPipe reports it as the
  # score of category 0.
  regressor = SqueezeBertClassifier(config, 1, id2label={0: "similarity"})
  export = mediapipe_task.prepare(regressor, "text_classifier", vocab_file)
  model_bytes = export.attach_metadata(tflite.convert(export.model,
                                                      seq_length=SEQ))
  ours = _our_outputs(model_bytes, vocab, ASCII_TEXTS)[:, 0]
  np.testing.assert_allclose(ours, regressor(features).numpy()[:, 0],
                             atol=1e-4)
  with _classifier(model_bytes) as mediapipe:
    for text, expected in zip(ASCII_TEXTS, ours):
      category, = mediapipe.classify(text).classifications[0].categories
      assert (category.index, category.category_name) == (0, "similarity")
      assert category.score == pytest.approx(expected, abs=1e-5)
  assert np.ptp(ours) > 100 * 1e-5


TRICKY_TEXTS = [
    "Amélie is a CLICHÉ, isn't it?", "naïve café", "ÄÖÜ straße", "ﬁancé",
    "İstanbul", "Σίσυφος", "Hello\u00a0world", "\u3000wide\u3000space",
    "zero\u200bwidth", "a\vb c\fd", "tab\tnew\nline\r", "中文ok日本",
    "emoji 😀 here", "«quoted» “smart”", "It's 5$ + 3€ = ~8",
    "don't-stop", "x" * 120, "é" * 60, "long " * 40, "", "   ",
    "a\x01c", "HELLO World",
]


def _echo_model():
  """A TFLite model whose one output is its inputs: MediaPipe's ids, seen."""
  spec = {name: tf.TensorSpec([1, SEQ], tf.int32, name=name)
          for name in metadata.INPUT_NAMES}
  echo = tf.function(lambda inputs: tf.cast(tf.concat(
      [inputs["input_word_ids"], inputs["input_mask"],
       inputs["input_type_ids"]], axis=1), tf.float32))
  return tf.lite.TFLiteConverter.from_concrete_functions(
      [echo.get_concrete_function(spec)], tf.Module()).convert()


def test_tokenizer_emulation_matches_real_mediapipe(tmp_path):
  vocab_path = str(tmp_path / "vocab.txt")
  vocab = data_fixtures.write_vocab(vocab_path)  # cased tokens too: unused
  model_bytes = metadata.attach(_echo_model(), "text_embedder",
                                (tmp_path / "vocab.txt").read_bytes())
  emulated = MediaPipeBertTokenizer(vocab, SEQ).encode(TRICKY_TEXTS)
  with _embedder(model_bytes) as mediapipe:
    for row, text in enumerate(TRICKY_TEXTS):
      seen = mediapipe.embed(text).embeddings[0].embedding.astype(np.int64)
      for position, name in enumerate(metadata.INPUT_NAMES):
        np.testing.assert_array_equal(
            seen[position * SEQ:(position + 1) * SEQ], emulated[name][row],
            err_msg=f"{name} of {text!r}")
  # The emulation is not BERT's: accents and non-ASCII case differ.
  ours = BertTokenizerLayer(load_vocab(vocab_path), seq_length=SEQ).encode(
      TRICKY_TEXTS)["input_word_ids"]
  assert (ours != emulated["input_word_ids"]).any(axis=1).sum() >= 8


def test_cli_refusals_are_one_line_and_write_nothing(toy):
  assert len(toy.refusals) == 10
  for name, (result, message) in toy.refusals.items():
    assert result["returncode"] != 0, name
    lines = result["stderr"].strip().splitlines()
    assert lines[-1].startswith("export_tflite: error: "), (name, lines)
    assert message in lines[-1], (name, lines[-1])
  assert not list((toy.work / "refused").iterdir())


def test_evaluate_tflite_reads_metadata_models(toy, tmp_path):
  work = toy.work
  (tmp_path / "corrupt.tflite").write_bytes(b"TFL3 not a flatbuffer" * 10)
  common = ["--task=sst2", f"--data_dir={work / 'SST-2'}",
            f"--model={work / 'classifier.keras'}"]
  plain, mediapipe, corrupt, embedder, other_vocab = run_in_one_process(
      "sqz_tf.evaluate_tflite", [
          [f"--tflite={work / 'classifier.tflite'}", *common,
           f"--output_json={tmp_path / 'plain.json'}"],
          [f"--tflite={work / 'classifier.tflite'}", *common[:2],
           "--tokenization=mediapipe",
           f"--output_json={tmp_path / 'mediapipe.json'}"],
          [f"--tflite={tmp_path / 'corrupt.tflite'}", *common],
          [f"--tflite={work / 'embedder.tflite'}", *common[:2]],
          [f"--tflite={work / 'classifier.tflite'}", *common[:2],
           f"--vocab_file={work / 'short.txt'}"],
      ], str(tmp_path))
  assert plain["returncode"] == 0, plain["stderr"][-2000:]
  assert mediapipe["returncode"] == 0, mediapipe["stderr"][-2000:]
  ours = json.loads((tmp_path / "plain.json").read_text())["dev"]
  theirs = json.loads((tmp_path / "mediapipe.json").read_text())["dev"]
  assert ours["examples"] == theirs["examples"] == 40
  assert ours["agreement"] == 1.0  # float32 probabilities, our tokens
  assert theirs["tokenization"] == "mediapipe"
  # --tokenization=mediapipe scores what the real TextClassifier answers.
  examples = glue.read_examples("sst2", str(work / "SST-2"), "dev")
  with _classifier((work / "classifier.tflite").read_bytes()) as classifier:
    answers = [max(classifier.classify(e.text_a).classifications[0]
                   .categories, key=lambda c: c.score).index
               for e in examples]
  assert theirs["tflite"]["accuracy"] == pytest.approx(np.mean(
      [answer == int(e.label) for answer, e in zip(answers, examples)]))
  for result, message in ((corrupt, "not a valid TFLite model"),
                          (embedder, "the model has 32 outputs, SST-2 needs 2"),
                          (other_vocab, "is not the vocabulary packed")):
    assert result["returncode"] != 0
    lines = result["stderr"].strip().splitlines()
    assert lines[-1].startswith("evaluate_tflite: error: ")
    assert message in lines[-1], lines


def test_labels_default_to_id2label_and_can_be_overridden(toy):
  vocab_file = str(toy.work / "vocab.txt")
  assert mediapipe_task.prepare(toy.classifier, "text_classifier",
                                vocab_file).labels == ["negative", "positive"]
  assert mediapipe_task.prepare(toy.classifier, "text_classifier", vocab_file,
                                labels=["bad", "good"]).labels == ["bad",
                                                                   "good"]
  with pytest.raises(SqzError, match="--labels is for text_classifier"):
    mediapipe_task.prepare(toy.classifier, "text_embedder", vocab_file,
                           labels=["bad", "good"])


def test_library_checks():
  assert glue.get_task("sst2").label_names == ("negative", "positive")
  assert glue.get_task("rte").label_names == ("entailment", "not_entailment")
  assert glue.get_task("stsb").label_names == ("similarity",)
  for path in ("README.md", ".ci/run"):  # what installs mediapipe
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
      assert f"--no-deps {metadata.MEDIAPIPE_REQUIREMENT}" in f.read(), path
  tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]
  data = ("\n".join(tokens) + "\n").encode()
  assert metadata.check_vocab(data, 5) == tokens
  assert metadata.check_vocab(data.replace(b"\n", b"\r\n"), 5) == tokens
  for bad, message in ((b"\xff\n", "not UTF-8"),
                       (data.replace(b"a\n", b"a\r\r\n"), "carriage return")):
    with pytest.raises(SqzError, match=message):
      metadata.check_vocab(bad, 5)
  with pytest.raises(SqzError, match="empty or has a line break"):
    metadata.check_labels(["a", "b\nc"], 2)
  with pytest.raises(SqzError, match="labels repeat"):
    metadata.check_labels(["a", "a"], 2)
  config = toy_glue_config(5)
  with pytest.raises(SqzError, match="needs a classifier"):
    mediapipe_task.text_classifier_model(SqueezeBertEncoder(config))
  with pytest.raises(SqzError, match="one text"):
    MediaPipeBertTokenizer(tokens, 8).encode(["a"], ["b"])
