r"""Pretraining throughput: sqz_tf's training step vs HF PyTorch's, interleaved.

  python tools/benchmark_pretraining.py --configs=tiny,base --seq_length=128 \
      --batch_size=8 --rounds=5 --steps_per_round=3 --output=bench.json

For each config, times one MLM(+SOP) training step (forward, backward,
optimizer update) of:
  tf_fp32, tf_xla, tf_bf16, tf_fp16   sqz_tf Trainer step (LAMB), variants
  torch_fp32                          transformers.SqueezeBertForMaskedLM +
                                      torch.optim.AdamW (MLM only: less work)
Variants run round-robin (each round times every variant) so machine noise
hits them alike; reported: median sequences/s over rounds and the ratio to
torch_fp32. Both frameworks use the same number of threads.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import sqz_tf  # noqa: E402
import tensorflow as tf  # noqa: E402

from sqz_tf.configs import SqueezeBertConfig  # noqa: E402
from sqz_tf.training.lamb import LAMB  # noqa: E402
from sqz_tf.training.pretraining_task import PretrainingTask  # noqa: E402
from sqz_tf.training.trainer import Trainer  # noqa: E402
from sqz_tf.training.trainer import TrainerOptions  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "tiny": dict(vocab_size=8000, hidden_size=128, num_hidden_layers=2,
                 num_attention_heads=4, intermediate_size=512,
                 embedding_size=128),
    "base": os.path.join(REPO, "official_configs", "squeezebert_uncased.json"),
    "bert_base": os.path.join(REPO, "official_configs",
                              "bert_base_uncased_equiv.json"),
}


def load_config(name):
  spec = CONFIGS[name]
  if isinstance(spec, str):
    return SqueezeBertConfig.from_json_file(spec)
  return SqueezeBertConfig(**spec)


def batch(config, batch_size, seq_length, predictions, seed=0):
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, config.vocab_size, (batch_size, seq_length))
  positions = np.sort(rng.choice(seq_length, (batch_size, predictions)), 1)
  return {
      "input_word_ids": ids.astype(np.int32),
      "input_mask": np.ones((batch_size, seq_length), np.int32),
      "input_type_ids": np.zeros((batch_size, seq_length), np.int32),
      "masked_lm_positions": positions.astype(np.int32),
      "masked_lm_ids": np.take_along_axis(ids, positions, 1).astype(np.int32),
      "masked_lm_weights": np.ones((batch_size, predictions), np.float32),
      "next_sentence_labels": rng.integers(0, 2, (batch_size, 1)).astype(
          np.int32),
  }


class TfVariant:
  """One sqz_tf configuration: a Trainer's step on a repeated batch."""

  def __init__(self, config, features, precision, jit):
    tf.keras.mixed_precision.set_global_policy(precision)
    try:
      trainer = Trainer(
          PretrainingTask(config), tf.distribute.get_strategy(),
          TrainerOptions(model_dir=tempfile.mkdtemp(), num_train_steps=10**9,
                         global_batch_size=len(features["input_word_ids"]),
                         jit_compile=jit),
          optimizer_fn=lambda: self._optimizer(precision))
      self.step = trainer._make_train_step()  # pylint: disable=protected-access
    finally:
      tf.keras.mixed_precision.set_global_policy("float32")
    dataset = tf.data.Dataset.from_tensors(features).repeat()
    self.iterator = iter(dataset)

  @staticmethod
  def _optimizer(precision):
    optimizer = LAMB(1e-4, weight_decay_rate=0.01)
    if precision == "mixed_float16":
      optimizer = tf.keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer

  def run(self, steps):
    for _ in range(steps):
      loss = self.step(self.iterator)
    float(loss)


class TorchVariant:
  """HF transformers' SqueezeBertForMaskedLM training step on the same batch."""

  def __init__(self, config, features, threads):
    import torch  # pylint: disable=g-import-not-at-top
    import transformers  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(threads)
    self.torch = torch
    self.model = transformers.SqueezeBertForMaskedLM(
        transformers.SqueezeBertConfig(**config.to_dict())).train()
    self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
    labels = np.full(features["input_word_ids"].shape, -100, np.int64)
    np.put_along_axis(labels, features["masked_lm_positions"],
                      features["masked_lm_ids"], 1)
    self.feed = dict(
        input_ids=torch.from_numpy(features["input_word_ids"]).long(),
        attention_mask=torch.from_numpy(features["input_mask"]).long(),
        token_type_ids=torch.from_numpy(features["input_type_ids"]).long(),
        labels=torch.from_numpy(labels))

  def run(self, steps):
    for _ in range(steps):
      self.optimizer.zero_grad()
      self.model(**self.feed).loss.backward()
      self.optimizer.step()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--configs", default="tiny,base")
  parser.add_argument("--variants",
                      default="tf_fp32,tf_xla,tf_bf16,tf_fp16,torch_fp32")
  parser.add_argument("--seq_length", type=int, default=128)
  parser.add_argument("--batch_size", type=int, default=8)
  parser.add_argument("--predictions", type=int, default=20)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--steps_per_round", type=int, default=3)
  parser.add_argument("--warmup_steps", type=int, default=2)
  parser.add_argument("--threads", type=int, default=os.cpu_count())
  parser.add_argument("--output", default=None)
  args = parser.parse_args()
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)

  results = {"machine": {"cpus": os.cpu_count(), "threads": args.threads,
                         "tensorflow": tf.__version__},
             "seq_length": args.seq_length, "batch_size": args.batch_size,
             "configs": {}}
  for config_name in args.configs.split(","):
    config = load_config(config_name)
    features = batch(config, args.batch_size, args.seq_length,
                     args.predictions)
    builders = {
        "tf_fp32": lambda: TfVariant(config, features, "float32", False),
        "tf_xla": lambda: TfVariant(config, features, "float32", True),
        "tf_bf16": lambda: TfVariant(config, features, "mixed_bfloat16",
                                     False),
        "tf_fp16": lambda: TfVariant(config, features, "mixed_float16", False),
        "torch_fp32": lambda: TorchVariant(config, features, args.threads),
    }
    variants = {}
    for name in args.variants.split(","):
      try:
        variants[name] = builders[name]()
        variants[name].run(args.warmup_steps)
      except Exception as e:  # pylint: disable=broad-except
        print(f"{config_name}/{name}: failed: {str(e).splitlines()[0]}")
        variants.pop(name, None)
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
      for name, variant in variants.items():
        start = time.perf_counter()
        variant.run(args.steps_per_round)
        times[name].append((time.perf_counter() - start) /
                           args.steps_per_round)
    rows = {}
    for name, samples in times.items():
      median = statistics.median(samples)
      rows[name] = {"median_step_s": median,
                    "sequences_per_s": args.batch_size / median,
                    "step_s_samples": samples}
    if "torch_fp32" in rows:
      for row in rows.values():
        row["speed_vs_torch"] = (rows["torch_fp32"]["median_step_s"] /
                                 row["median_step_s"])
    results["configs"][config_name] = rows
    print(f"\n{config_name} (seq {args.seq_length}, batch {args.batch_size}, "
          f"{args.threads} threads)")
    print("| variant | median step (s) | sequences/s | vs torch_fp32 |")
    print("|---|---|---|---|")
    for name, row in rows.items():
      print(f"| {name} | {row['median_step_s']:.4f} | "
            f"{row['sequences_per_s']:.1f} | "
            f"{row.get('speed_vs_torch', float('nan')):.2f}x |")
  if args.output:
    with open(args.output, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
