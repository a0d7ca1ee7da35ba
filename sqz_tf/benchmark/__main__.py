r"""Host latency of SqueezeBERT vs BERT-base TFLite variants and HF PyTorch.

  python -m sqz_tf.benchmark --output_dir=runs/benchmark \
      [--seq_lengths=64,128,256,512] [--num_threads=1,2] [--quick]

Converts every quantization of `sqz_tf.export.tflite` (randomly initialized
classifiers; cached under OUTPUT_DIR/models), runs each in its own process
with ai_edge_litert + XNNPACK next to HF transformers' PyTorch models (fp32
and dynamic int8) and float32 GEMMs, and writes results.json, results.md
and latency.png. `--quick` uses tiny models (a CI smoke test).
"""

import dataclasses
import os
import sys
import time

from absl import flags
from absl import logging

import sqz_tf  # noqa: F401  pylint: disable=unused-import
from sqz_tf import cli
from sqz_tf.benchmark import host
from sqz_tf.benchmark import report
from sqz_tf.errors import SqzError

if __name__ == "__main__":
  # Errors and --help name the command, not "__main__"; absl files this
  # module's flags under argv[0] as they are defined, so rename first.
  sys.argv[0] = "sqz_tf.benchmark"

_DEFAULTS = host.Settings()

flags.DEFINE_string("output_dir", "runs/benchmark",
                    "Results and the cache of converted models.")
flags.DEFINE_list("seq_lengths", [str(n) for n in _DEFAULTS.seq_lengths],
                  "Sequence lengths (batch 1). --quick: 16,32.")
flags.DEFINE_list("num_threads", [str(n) for n in _DEFAULTS.threads],
                  "Thread counts of every runtime. --quick: 1.")
flags.DEFINE_bool("quick", False,
                  "Tiny SqueezeBERT and BERT-like models, few runs: a smoke "
                  "test that finishes in well under a minute.")
_QUICK = host.QUICK_SETTINGS


def _default(name):
  return (f" (default {getattr(_DEFAULTS, name)}; --quick: "
          f"{getattr(_QUICK, name)})")


flags.DEFINE_integer("rounds", None,
                     "Round-robin rounds per cell." + _default("rounds"))
flags.DEFINE_float("round_seconds", None,
                   "Time each variant runs per round, within --min_runs.."
                   "--max_runs inferences." + _default("round_seconds"))
flags.DEFINE_integer("min_runs", None, "Fewest inferences per variant per "
                     "round." + _default("min_runs"))
flags.DEFINE_integer("max_runs", None, "Most inferences per variant per "
                     "round." + _default("max_runs"))
flags.DEFINE_integer("warmup_runs", None, "Untimed inferences after the "
                     "first." + _default("warmup_runs"))
flags.DEFINE_integer("conversion_workers", None,
                     "Processes converting models in parallel (1: this "
                     "one)." + _default("conversion_workers"))
flags.DEFINE_integer("gemm_size", _DEFAULTS.gemm_size,
                     "Side of the square float32 GEMM that measures the peak.")
flags.DEFINE_bool("torch", True, "Include the HF PyTorch references (if "
                  "torch and transformers are installed).")

FLAGS = flags.FLAGS


def _ints(name):
  try:
    return tuple(int(value) for value in FLAGS[name].value)
  except ValueError:
    raise SqzError(f"--{name} must be integers, got "
                   f"{','.join(FLAGS[name].value)}") from None


def settings_from_flags():
  """Settings: the defaults (or --quick's), then each flag given."""
  base = host.QUICK_SETTINGS if FLAGS.quick else _DEFAULTS
  values = {"gemm_size": FLAGS.gemm_size, "torch": FLAGS.torch}
  for field, flag in (("seq_lengths", "seq_lengths"),
                      ("threads", "num_threads")):
    if FLAGS[flag].present or not FLAGS.quick:
      values[field] = _ints(flag)
  for name in ("rounds", "round_seconds", "min_runs", "max_runs",
               "warmup_runs", "conversion_workers"):
    if FLAGS[name].value is not None:
      values[name] = FLAGS[name].value
  return dataclasses.replace(base, **values)


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  start = time.perf_counter()
  if not FLAGS["verbosity"].present:  # TensorFlow's converter chatter
    logging.set_verbosity(logging.WARNING)
  settings = settings_from_flags()
  models = host.benchmark_models(FLAGS.quick)
  host.check_settings(models, settings)  # before anything is written
  results = host.run_benchmark(
      models, settings, FLAGS.output_dir,
      log=lambda line: print(line, file=sys.stderr, flush=True))
  text = report.write_outputs(results, FLAGS.output_dir)
  print(text)
  print(f"Wrote {os.path.join(FLAGS.output_dir, 'results.{json,md}')} and "
        f"latency.png in {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
  cli.run(main)
