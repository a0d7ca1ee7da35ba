"""The small pretraining recipe (official_configs/pretrain/small_*.flags) at a
tiny size: prepare_corpus -> create_pretraining_data -> run_pretraining."""

import json
import os
import random
import subprocess
import sys

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.data import corpus_preparation
from sqz_tf.models import SqueezeBertEncoder
from tests import data_fixtures
from tests.cli_runner import REPO

RECIPE = os.path.join(REPO, "official_configs", "pretrain")
WORDS = ("the keeper lamp night wind hill sea ship light storm morning door "
         "road river town bell").split()


def _flagfile_values(name):
  with open(os.path.join(RECIPE, name), encoding="utf-8") as f:
    pairs = [line.strip()[2:].split("=", 1) for line in f
             if line.startswith("--")]
  return dict(pairs)


def _book(num_chapters=8, seed=0):
  """A made-up book with chapter lines, wrapped prose and a licence."""
  rng = random.Random(seed)
  lines = ["*** START OF THE PROJECT GUTENBERG EBOOK A MADE UP BOOK ***", ""]
  for chapter in range(1, num_chapters + 1):
    lines += [f"CHAPTER {chapter}.", ""]
    for _ in range(6):
      sentences = [
          " ".join(rng.choices(WORDS, k=rng.randint(4, 12))).capitalize() + "."
          for _ in range(rng.randint(2, 5))]
      lines += [" ".join(sentences), ""]
  return "\n".join(lines + ["*** END OF THE PROJECT GUTENBERG EBOOK ***"])


def test_recipe_flagfiles_name_the_small_model_and_bert_vocab():
  training = _flagfile_values("small_seq128.flags")
  data = _flagfile_values("small_data.flags")
  config = SqueezeBertConfig.from_json_file(
      os.path.join(REPO, training["model_config"]))
  assert config.vocab_size == 30522  # bert-base-uncased's vocab.txt
  assert (config.hidden_size, config.num_hidden_layers) == (256, 4)
  assert (config.q_groups, config.intermediate_groups,
          config.post_attention_groups) == (4, 4, 1)
  for name in ("max_seq_length", "max_predictions_per_seq", "sentence_task"):
    assert training[name] == data[name], name
  assert training["optimizer"] == "lamb"


def test_recipe_runs_end_to_end_at_a_tiny_size(tmp_path):
  (tmp_path / "book.txt").write_text(_book(), encoding="utf-8")
  corpus_preparation.prepare_corpus(
      [str(tmp_path / "book.txt")], str(tmp_path / "text"))
  vocab = data_fixtures.write_vocab(tmp_path / "vocab.txt")
  config = SqueezeBertConfig(
      vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
      num_attention_heads=4, intermediate_size=64, embedding_size=32,
      max_position_embeddings=32)
  config.to_json_file(str(tmp_path / "tiny.json"))
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  sizes = ["--max_seq_length=32", "--max_predictions_per_seq=5"]
  records = subprocess.run(
      [sys.executable, "-m", "sqz_tf.create_pretraining_data",
       f"--flagfile={RECIPE}/small_data.flags",
       f"--input_files={tmp_path}/text/train.txt",
       f"--vocab_file={tmp_path}/vocab.txt", "--num_output_shards=2",
       f"--output_files={tmp_path}/records/train-{{shard}}.tfrecord", *sizes],
      env=env, cwd=REPO, capture_output=True, text=True, check=False)
  assert records.returncode == 0, records.stderr[-2000:]
  model_dir = tmp_path / "model"
  training = subprocess.run(
      [sys.executable, "-m", "sqz_tf.run_pretraining",
       f"--flagfile={RECIPE}/small_seq128.flags",
       f"--model_config={tmp_path}/tiny.json",
       f"--input_files={tmp_path}/records/train-*.tfrecord",
       f"--eval_input_files={tmp_path}/records/train-1.tfrecord",
       f"--model_dir={model_dir}", "--train_batch_size=8",
       "--eval_batch_size=8", "--num_train_steps=4",
       "--save_checkpoints_steps=2", *sizes],
      env=env, cwd=REPO, capture_output=True, text=True, check=False)
  assert training.returncode == 0, training.stderr[-2000:]
  resolved = (model_dir / "flags.txt").read_text()
  assert "--optimizer=lamb" in resolved and "--sentence_task=sop" in resolved
  results = json.loads((model_dir / "eval_results.json").read_text())
  assert results["step"] == 4
  assert 0 < results["mlm_unigram_baseline_accuracy"] < 1
  assert "sop_accuracy" in results
  encoder = tf.keras.models.load_model(str(model_dir / "encoder.keras"))
  assert isinstance(encoder, SqueezeBertEncoder)
  assert tf.io.gfile.glob(str(model_dir / "train" / "events.out.tfevents.*"))
