r"""Latency of an exported .tflite model on a phone, by TFLite benchmark_model.

  python tools/benchmark_on_device.py --tflite=rte.tflite \
      --benchmark_binary=android_aarch64_benchmark_model \
      [--serial=R58M123] [--num_threads=2] [--num_runs=50] [--warmup_runs=5] \
      [--use_xnnpack=true] [--enable_op_profiling] [--taskset_mask=f0] \
      [--vocab_size=N] --output_json=rte_pixel.json
  python tools/benchmark_on_device.py --local --tflite=rte.tflite \
      --benchmark_binary=path/to/host/benchmark_model

On a phone: pushes the model (and --benchmark_binary, if given; otherwise
/data/local/tmp/benchmark_model must already be there) with adb, runs it
(under `taskset <mask>` with --taskset_mask) with token-id inputs over the
model's vocabulary, parses the output and writes it as JSON (schema:
sqz_tf/benchmark/benchmark_model_output.py, plus a "run" block with the
device and command). --local runs a host binary instead.
"""

import json

from absl import flags

from sqz_tf import cli
from sqz_tf.benchmark import benchmark_model_output
from sqz_tf.benchmark import device_runner
from sqz_tf.errors import SqzError
from sqz_tf.utils.files import atomic_output

flags.DEFINE_string("tflite", None, "The .tflite model (sqz_tf.export_tflite).")
flags.DEFINE_string("serial", None,
                    "adb serial of the phone; needed with several phones.")
flags.DEFINE_string("benchmark_binary", None,
                    "benchmark_model to push (phone) or run (--local).")
flags.DEFINE_bool("local", False, "Run a host binary instead of a phone.")
flags.DEFINE_integer("num_threads", 2, "Interpreter threads.", lower_bound=1)
flags.DEFINE_integer("num_runs", 50, "Timed runs.", lower_bound=1)
flags.DEFINE_integer("warmup_runs", 5, "Untimed runs before them.",
                     lower_bound=0)
flags.DEFINE_bool("use_xnnpack", True, "Apply the XNNPACK delegate.")
flags.DEFINE_bool("enable_op_profiling", False, "Per-op-type timings too.")
flags.DEFINE_string("taskset_mask", None,
                    "Hex CPU mask to pin the run to, e.g. f0 for the big "
                    "cores of a 4+4 SoC (check /sys/devices/system/cpu).")
flags.DEFINE_integer("vocab_size", None,
                     "input_word_ids range is 0..vocab_size-1 (default: read "
                     "from the model's embedding table).", lower_bound=1)
flags.DEFINE_string("output_json", None, "Where to write the parsed results.")
flags.DEFINE_string("adb", "adb", "adb executable.")
flags.DEFINE_string("device_dir", device_runner.DEVICE_DIR,
                    "Writable directory on the phone.")
flags.mark_flag_as_required("tflite")

FLAGS = flags.FLAGS


def _summary(result):
  runs = result["inference_runs"] or {}
  parts = [f"inference {result['inference_avg_us'] / 1000:.2f} ms avg"]
  if "std" in runs:
    parts[0] += (f" (std {runs['std'] / 1000:.2f} ms, "
                 f"{runs.get('count')} runs)")
  parts.append(f"init {result['init_us'] / 1000:.1f} ms")
  memory = result["memory"]
  if memory["overall_mb"] is not None:
    parts.append(f"memory {memory['overall_mb']:.1f} MB")
  delegation = result["delegation"]
  if delegation["delegate"]:
    parts.append(f"{delegation['delegate']}: {delegation['execution']}")
  return "; ".join(parts)


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  options = device_runner.Options(
      num_threads=FLAGS.num_threads, num_runs=FLAGS.num_runs,
      warmup_runs=FLAGS.warmup_runs, use_xnnpack=FLAGS.use_xnnpack,
      enable_op_profiling=FLAGS.enable_op_profiling,
      taskset_mask=FLAGS.taskset_mask, vocab_size=FLAGS.vocab_size)
  if FLAGS.local:
    if FLAGS.serial:
      raise SqzError("--serial names a phone; it cannot go with --local")
    output, run = device_runner.run_local(
        FLAGS.tflite, options, binary=FLAGS.benchmark_binary)
  else:
    output, run = device_runner.run_on_device(
        FLAGS.tflite, options, serial=FLAGS.serial,
        binary=FLAGS.benchmark_binary, adb=FLAGS.adb,
        device_dir=FLAGS.device_dir)
  result = benchmark_model_output.parse(output)
  result["run"] = {"tflite": FLAGS.tflite, **run}
  print(_summary(result))
  if FLAGS.output_json:
    # Re-running a benchmark is the normal way to refresh its numbers.
    with atomic_output(FLAGS.output_json, overwrite=True) as temporary:
      with open(temporary, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"Wrote {FLAGS.output_json}")


if __name__ == "__main__":
  cli.run(main)
