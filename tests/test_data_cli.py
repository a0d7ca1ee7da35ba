"""The data CLIs: one-line errors, exit codes, no half-written outputs.

Each run starts TensorFlow (seconds), so the runs start together in one
fixture and the tests look at their results.
"""

import os
import subprocess
import sys

import sqz_tf  # noqa: F401  pylint: disable=unused-import
import pytest

from sqz_tf.data import tokenizer as tokenizer_lib
from sqz_tf.data import vocab as vocab_lib
from sqz_tf.data import vocab_builder
from tests import data_fixtures

CPD = "sqz_tf.create_pretraining_data"


def _runs(root):
  vocab = str(root / "vocab.txt")
  corpus = str(root / "corpus.txt")
  blocked = str(root / "a_file" / "sub" / "out-{shard}.tfrecord")
  common = [f"--vocab_file={vocab}", "--dupe_factor=1"]
  return {
      "missing_input": (CPD, [f"--input_files={root}/nothing*.txt",
                              f"--output_files={root}/o1.tfrecord"] + common),
      "bad_vocab": (CPD, [f"--input_files={corpus}",
                          f"--vocab_file={root}/missing_vocab.txt",
                          f"--output_files={root}/o2.tfrecord"]),
      "short_seq": (CPD, [f"--input_files={corpus}", "--max_seq_length=2",
                          f"--output_files={root}/o3.tfrecord"] + common),
      "unwritable": (CPD, [f"--input_files={corpus}",
                           f"--output_files={blocked}"] + common),
      "empty_corpus": (CPD, [f"--input_files={root}/empty.txt",
                             f"--output_files={root}/empty_out/o.tfrecord"]
                       + common),
      "ok": (CPD, [f"--input_files={corpus}", "--num_output_shards=2",
                   f"--output_files={root}/ok/o-{{shard}}.tfrecord"]
             + common),
      "vocab_missing_input": ("sqz_tf.build_vocab", [
          f"--input_files={root}/nothing*.txt", f"--output={root}/v.txt"]),
      "vocab_unwritable": ("sqz_tf.build_vocab", [
          f"--input_files={corpus}", "--vocab_size=100",
          f"--output={root}/a_file/v.txt"]),
  }


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  root = tmp_path_factory.mktemp("cli")
  data_fixtures.write_vocab(root / "vocab.txt", numbers=600)
  data_fixtures.write_number_corpus(root / "corpus.txt", num_docs=20)
  (root / "empty.txt").write_text("\n\n")
  (root / "a_file").write_text("a file where a directory should be")
  (root / "empty_out").mkdir()
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  processes = {
      name: subprocess.Popen([sys.executable, "-m", module] + args,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
      for name, (module, args) in _runs(root).items()}
  out = {}
  for name, process in processes.items():
    stdout, stderr = process.communicate(timeout=120)
    out[name] = (process.returncode, stdout, stderr)
  return root, out


@pytest.mark.parametrize("name,program,message", [
    ("missing_input", "create_pretraining_data", "no input file matches"),
    ("bad_vocab", "create_pretraining_data", "cannot read vocab file"),
    ("short_seq", "create_pretraining_data", "max_seq_length must be at"),
    ("unwritable", "create_pretraining_data", "cannot create output dir"),
    ("empty_corpus", "create_pretraining_data", "hold no text"),
    ("vocab_missing_input", "build_vocab", "no input file matches"),
    ("vocab_unwritable", "build_vocab", "cannot create output dir"),
])
def test_errors_are_one_line_and_exit_1(results, name, program, message):
  _, out = results
  code, _, stderr = out[name]
  assert code == 1, stderr
  errors = [line for line in stderr.splitlines() if ": error: " in line]
  assert len(errors) == 1 and errors[0].startswith(f"{program}: error: ")
  assert message in errors[0]
  assert "Traceback" not in stderr


def test_no_output_left_behind_on_errors(results):
  root, _ = results
  assert not os.listdir(root / "empty_out")
  for name in ("o1.tfrecord", "o2.tfrecord", "o3.tfrecord", "v.txt"):
    assert not (root / name).exists()


def test_success_writes_all_shards_and_nothing_else(results):
  root, out = results
  code, stdout, stderr = out["ok"]
  assert code == 0, stderr
  assert "Wrote" in stdout
  assert sorted(os.listdir(root / "ok")) == ["o-0.tfrecord", "o-1.tfrecord"]


def test_learned_vocab_has_special_tokens_first_and_tokenizes(tmp_path):
  words = ["playing", "played", "player", "plays", "hello", "world",
           "worlds", "token", "tokens", "tokenizer", "naïve", "Café"]
  with open(tmp_path / "text.txt", "w", encoding="utf-8") as f:
    for i in range(300):
      f.write(" ".join(words[(i * 7 + j) % len(words)] for j in range(9))
              + ".\n")
  path = str(tmp_path / "vocab.txt")
  size = vocab_builder.build_vocab_file([str(tmp_path / "text.txt")], 200,
                                        path)
  tokens = vocab_lib.load_vocab(path, required=vocab_lib.SPECIAL_TOKENS)
  assert len(tokens) == size <= 200
  assert tokens[:5] == list(vocab_lib.SPECIAL_TOKENS)
  assert len(set(tokens)) == len(tokens)
  assert "cafe" in tokens and "Café" not in tokens  # Uncased, no accents.
  layer = tokenizer_lib.BertTokenizerLayer(tokens)
  ids = layer.tokenize_to_lists(["Playing tokenizers naive world."])[0]
  assert ids and tokens.index("[UNK]") not in ids
  with pytest.raises(sqz_tf.SqzError, match="already exists"):
    vocab_builder.build_vocab_file([str(tmp_path / "text.txt")], 200, path)
