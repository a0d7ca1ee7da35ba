"""Tokenizer: id parity with transformers.BertTokenizer, Keras round trips."""

import sqz_tf  # noqa: F401  pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf
import transformers

from sqz_tf.data import tokenizer as tokenizer_lib
from sqz_tf.data import vocab as vocab_lib
from tests import data_fixtures

TEXTS = [
    "Hello, World!", "Héllo wörld ÀÉÎÕÜ café naïve Straße", "ΣΑΣ σας",
    "中文 and 日本語 mixed中文text", "emoji 😀👍🏽 hello", "!!!...---???,,,",
    "a\x00b\ufffdc\td\u200be\u200df\x7fg\x1bh", "tab\tnew\nline\rcr",
    "x" * 100, "x" * 101, "é" * 101, "", "   ", " \t\n\u3000\u00a0 ",
    "unaffable playing played tokenizers", "don't stop-believing (ok)",
    "\u2028line\u2029para\u00a0nbsp", "ﬁ ＡＢＣ ǅ ı İ", "ÉCOLE École",
    "hello" * 25, "x" * 60 + "é" * 40, "$100.00 #1 @home {x} [y] <z> ~ ^",
]

PAIRS = [("Hello, World!", "the long token"),
         ("playing " * 9, "hello"), ("a", "playing " * 9),
         ("hello " * 6, "world " * 6), ("hello " * 6, "world " * 7),
         ("hello " * 7, "world " * 6), ("中文" * 5, "café " * 5),
         ("x" * 101, "!!!"), ("", "hello world")]


# transformers 5's BertTokenizer is the Rust one (4.x: BertTokenizerFast),
# whose per-character lower-casing and "longest_first" we match.
HF_TOKENIZER = getattr(transformers, "BertTokenizerFast",
                       transformers.BertTokenizer)


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
  path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
  data_fixtures.write_vocab(path)
  return str(path)


@pytest.mark.parametrize("lower_case", [True, False])
def test_single_texts_match_hf(vocab_file, lower_case):
  hf = HF_TOKENIZER(vocab_file, do_lower_case=lower_case)
  layer = tokenizer_lib.BertTokenizerLayer.from_vocab_file(
      vocab_file, seq_length=16, lower_case=lower_case)
  ours = layer.tokenize_to_lists(TEXTS)
  for text, ids in zip(TEXTS, ours):
    assert ids == hf(text, add_special_tokens=False)["input_ids"], text
  # The test vocabulary must exercise more than [UNK]s.
  assert len({i for ids in ours for i in ids}) > 30


@pytest.mark.parametrize("seq_length", [8, 13, 16, 64])
def test_pairs_and_truncation_match_hf(vocab_file, seq_length):
  hf = HF_TOKENIZER(vocab_file, do_lower_case=True)
  layer = tokenizer_lib.BertTokenizerLayer.from_vocab_file(
      vocab_file, seq_length=seq_length)
  firsts = [a for a, _ in PAIRS] + TEXTS
  seconds = [b for _, b in PAIRS] + TEXTS[::-1]
  # HF treats an empty second text as no second segment: compare the rest.
  keep = [i for i, b in enumerate(seconds) if b]
  ours = layer.encode([firsts[i] for i in keep], [seconds[i] for i in keep])
  theirs = hf([firsts[i] for i in keep], [seconds[i] for i in keep],
              max_length=seq_length, truncation="longest_first",
              padding="max_length", return_tensors="np")
  np.testing.assert_array_equal(ours["input_word_ids"], theirs["input_ids"])
  np.testing.assert_array_equal(ours["input_mask"], theirs["attention_mask"])
  np.testing.assert_array_equal(ours["input_type_ids"],
                                theirs["token_type_ids"])
  singles = layer.encode(TEXTS)
  theirs = hf(TEXTS, max_length=seq_length, truncation=True,
              padding="max_length", return_tensors="np")
  np.testing.assert_array_equal(singles["input_word_ids"],
                                theirs["input_ids"])
  assert all(v.dtype == np.int32 for v in singles.values())


def test_empty_second_segment_keeps_both_separators(vocab_file):
  layer = tokenizer_lib.BertTokenizerLayer.from_vocab_file(vocab_file,
                                                           seq_length=6)
  vocab = vocab_lib.load_vocab(vocab_file)
  out = layer.encode(["hello"], [""])
  assert [vocab[i] for i in out["input_word_ids"][0]] == [
      "[CLS]", "hello", "[SEP]", "[SEP]", "[PAD]", "[PAD]"]
  assert out["input_type_ids"][0].tolist() == [0, 0, 0, 1, 0, 0]


def test_layer_saves_and_reloads_inside_a_model(vocab_file, tmp_path):
  layer = tokenizer_lib.BertTokenizerLayer.from_vocab_file(vocab_file,
                                                           seq_length=12)
  a = tf.keras.Input(shape=(), dtype=tf.string)
  b = tf.keras.Input(shape=(), dtype=tf.string)
  model = tf.keras.Model([a, b], layer([a, b]))
  texts = [tf.constant(["Hello, World!", "中文 café"]),
           tf.constant(["playing", ""])]
  expected = model(texts)
  path = str(tmp_path / "tokenizer.keras")
  model.save(path)
  # The vocab file is not needed any more: the config holds the vocabulary.
  reloaded = tf.keras.models.load_model(path)
  for name, value in reloaded(texts).items():
    np.testing.assert_array_equal(value.numpy(), expected[name].numpy())
  clone = tokenizer_lib.BertTokenizerLayer.from_config(layer.get_config())
  assert clone.vocab == layer.vocab and clone.seq_length == 12


def test_layer_runs_in_a_graph(vocab_file):
  layer = tokenizer_lib.BertTokenizerLayer.from_vocab_file(vocab_file,
                                                           seq_length=8)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def encode(texts):
    return layer(texts)

  out = encode(tf.constant(["hello world", "x"]))
  assert out["input_word_ids"].shape == (2, 8)
  assert out["input_mask"].numpy().sum(axis=1).tolist() == [4, 3]


def test_bad_vocabularies_are_clear_errors(tmp_path):
  with pytest.raises(vocab_lib.VocabError, match="cannot read vocab"):
    vocab_lib.load_vocab(str(tmp_path / "missing.txt"))
  path = tmp_path / "vocab.txt"
  path.write_text("[PAD]\nhello\n")
  with pytest.raises(vocab_lib.VocabError, match=r"lacks .*\[UNK\]"):
    vocab_lib.load_vocab(str(path))
  path.write_bytes(b"\xff\xfe\n")
  with pytest.raises(vocab_lib.VocabError, match="not UTF-8"):
    vocab_lib.load_vocab(str(path))
  with pytest.raises(sqz_tf.SqzError, match="seq_length"):
    tokenizer_lib.BertTokenizerLayer(data_fixtures.SPECIAL, seq_length=2)
