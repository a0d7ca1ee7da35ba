r"""Builds SqueezeBERT encoders and prints their parameter and FLOP counts.

  python -m sqz_tf.model_facts \
      --model_configs=official_configs/squeezebert_uncased.json,official_configs/bert_base_uncased_equiv.json \
      --seq_lengths=128,512
"""

import os

from absl import flags

from sqz_tf import cli
from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.errors import SqzError
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.facts import model_facts

_OFFICIAL = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "official_configs")

flags.DEFINE_list(
    "model_configs",
    [os.path.join(_OFFICIAL, "squeezebert_uncased.json"),
     os.path.join(_OFFICIAL, "bert_base_uncased_equiv.json")],
    "Model config JSON files (HF config.json format).")
flags.DEFINE_list("seq_lengths", ["128"], "Sequence lengths for FLOPs.")

FLAGS = flags.FLAGS


def facts_table(config_paths, seq_lengths):
  """Markdown table rows: config, parameters (built model), GFLOPs per length."""
  header = ("| config | parameters | " +
            " | ".join(f"GFLOPs @ {n}" for n in seq_lengths) + " |")
  rows = [header, "|" + "---|" * (2 + len(seq_lengths))]
  for path in config_paths:
    config = SqueezeBertConfig.from_json_file(path)
    built = SqueezeBertEncoder(config).count_params()
    counted = model_facts(config, seq_lengths[0]).parameters
    if built != counted:
      raise AssertionError(f"{path}: built model has {built} parameters, "
                           f"the formula says {counted}")
    flops = [model_facts(config, n).flops_per_sequence / 1e9
             for n in seq_lengths]
    rows.append(f"| {os.path.basename(path)} | {built:,} | " +
                " | ".join(f"{value:.2f}" for value in flops) + " |")
  return rows


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    seq_lengths = [int(n) for n in FLAGS.seq_lengths]
  except ValueError:
    raise SqzError(f"--seq_lengths must be integers, got "
                   f"{','.join(FLAGS.seq_lengths)}") from None
  try:
    rows = facts_table(FLAGS.model_configs, seq_lengths)
  except ValueError as e:
    raise SqzError(str(e)) from None
  print("\n".join(rows))


if __name__ == "__main__":
  cli.run(main)
