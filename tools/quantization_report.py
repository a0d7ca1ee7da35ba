r"""Every TFLite quantization of a finetuned classifier: size, metric, speed.

  python tools/quantization_report.py --model=runs/sst2/classifier.keras \
      --qat_model=runs/sst2_qat/classifier.keras --task=sst2 \
      --data_dir=glue/SST-2 --vocab_file=vocab.txt --output_dir=quant_report

For each variant of sqz_tf.export.tflite.QUANTIZATIONS (qat from
--qat_model): file size, the dev metric from TFLite outputs, agreement with
the float Keras model, and host latency (ai_edge_litert, XNNPACK, batch 1,
--num_threads, all variants interleaved in one process: median and p90 of
--runs timed runs after warm-up). With --latency_config (e.g.
official_configs/squeezebert_uncased.json) the same variants are also
exported from a randomly initialized model of that size, calibrated on the
same task text, for size and latency at full scale.

--op_study adds the per-op answer to "why is full int8 slow on x86": the
full-int8 model with one op type at a time put back in float
(sqz_tf.export.float_islands), timed in the same interleaved run, with the
ops XNNPACK leaves to TFLite's kernels in each.

Writes report.json and report.md to --output_dir.
"""

import functools
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402
from sqz_tf import cli  # noqa: E402
from sqz_tf import tasks  # noqa: E402
from sqz_tf.benchmark.report import latency_stats  # noqa: E402
from sqz_tf.benchmark.round_robin import round_robin  # noqa: E402
from sqz_tf.configs import SqueezeBertConfig  # noqa: E402
from sqz_tf.export import calibration  # noqa: E402
from sqz_tf.export import float_islands  # noqa: E402
from sqz_tf.export import tflite  # noqa: E402
from sqz_tf.export import tflite_evaluation  # noqa: E402
from sqz_tf.models import SqueezeBertClassifier  # noqa: E402
from sqz_tf.models.quantization_aware import quantization_aware_copy  # noqa: E402,E501
from sqz_tf.training.initialization import load_model_file  # noqa: E402

flags.DEFINE_string("model", None, "The float finetuned classifier.")
flags.DEFINE_string("qat_model", None, "Its quantization-aware finetune.")
flags.DEFINE_string("task", None, "GLUE task.")
flags.DEFINE_string("data_dir", None, "The task's GLUE directory.")
flags.DEFINE_string("vocab_file", None, "vocab.txt.")
flags.DEFINE_integer("seq_length", 128, "Export sequence length.")
flags.DEFINE_integer("num_calibration_examples", 200, "Calibration rows.")
flags.DEFINE_string("latency_config", None,
                    "Also time a random model of this config.")
flags.DEFINE_bool("op_study", False, "Add the per-op full-int8 study.")
flags.DEFINE_integer("num_threads", 2, "Interpreter threads.")
flags.DEFINE_integer("runs", 30, "Timed runs per variant.")
flags.DEFINE_integer("warmup_runs", 5, "Untimed runs per variant first.")
flags.DEFINE_string("output_dir", "quantization_report", "Output directory.")
flags.DEFINE_string("save_tflite_dir", None,
                    "Also write the finetuned model's variants here, as "
                    "<quantization>.tflite.")
flags.mark_flags_as_required(["model", "task", "data_dir", "vocab_file"])

FLAGS = flags.FLAGS


def log(message):
  print(message, file=sys.stderr, flush=True)


def export_all(float_model, qat_model, representative):
  files = {}
  for quantization in tflite.QUANTIZATIONS:
    model = qat_model if quantization == "qat" else float_model
    if model is None:
      continue
    log(f"exporting {quantization}")
    files[quantization] = tflite.convert(
        model, quantization, FLAGS.seq_length,
        representative_inputs=representative)
  return files


def op_study_files(int8_bytes):
  """Full int8 with each float-worthy op type (then all) put back in float."""
  files = {}
  for op in tflite.INT8_MIXED_FLOAT_OPS:
    rewritten, count = float_islands.dequantize_ops(int8_bytes, (op,))
    if count:
      files[f"int8, {op} float"] = rewritten
  files["int8, all of them float"] = float_islands.dequantize_ops(
      int8_bytes, tflite.INT8_MIXED_FLOAT_OPS)[0]
  return files


def time_interleaved(files, inputs):
  """{name: (median s, p90 s)} of each model on `inputs`, interleaved."""
  calls = {}
  for name, data in files.items():
    runner = tflite.interpreter(data, num_threads=FLAGS.num_threads
                                ).get_signature_runner()
    calls[name] = functools.partial(runner, **inputs)
  samples = round_robin(calls, FLAGS.runs, FLAGS.warmup_runs)
  return {name: tuple(latency_stats(s).values())
          for name, s in samples.items()}


def main(argv):
  del argv
  task = tasks.get_task(FLAGS.task)
  float_model = load_model_file(FLAGS.model)
  qat_model = load_model_file(FLAGS.qat_model) if FLAGS.qat_model else None
  representative = calibration.representative_inputs(
      FLAGS.data_dir, FLAGS.seq_length, FLAGS.num_calibration_examples,
      task.name, FLAGS.vocab_file)
  dev = calibration.load_task_split(FLAGS.data_dir, task, FLAGS.vocab_file,
                                   FLAGS.seq_length, "dev")
  groups = {"finetuned": export_all(float_model, qat_model, representative)}
  if FLAGS.save_tflite_dir:
    os.makedirs(FLAGS.save_tflite_dir, exist_ok=True)
    for name, data in groups["finetuned"].items():
      with open(os.path.join(FLAGS.save_tflite_dir, f"{name}.tflite"),
                "wb") as f:
        f.write(data)
  rows = {}
  for name, data in groups["finetuned"].items():
    log(f"evaluating {name}")
    result = tflite_evaluation.evaluate(data, task, dev, float_model)
    placement = tflite.op_placement(data)
    rows[("finetuned", name)] = {
        "size_mb": len(data) / 1e6, "metric": result["tflite"],
        "float_metric": result["float"],
        "agreement": result.get("agreement"),
        "tflite_kernel_ops": placement[1]}
    if name == "qat":  # also against the QAT Keras model it came from
      rows[("finetuned", name)]["agreement_with_qat_keras"] = (
          tflite_evaluation.evaluate(data, task, dev,
                                     qat_model).get("agreement"))
  if FLAGS.latency_config:
    config = SqueezeBertConfig.from_json_file(FLAGS.latency_config)
    big = SqueezeBertClassifier(config, task.num_labels)
    # Its QAT twin's ranges come from a few training-mode batches: enough
    # for size and speed, which is all this group reports.
    big_qat = quantization_aware_copy(big)
    for inputs in representative[:8]:
      big_qat(inputs, training=True)
    groups["full size"] = export_all(big, big_qat, representative)
    for name, data in groups["full size"].items():
      rows[("full size", name)] = {"size_mb": len(data) / 1e6,
                                   "tflite_kernel_ops": tflite.op_placement(
                                       data)[1]}
  if FLAGS.op_study:
    group = "full size" if FLAGS.latency_config else "finetuned"
    groups["op study"] = op_study_files(groups[group]["int8"])
    for name, data in groups["op study"].items():
      rows[("op study", name)] = {"size_mb": len(data) / 1e6,
                                  "tflite_kernel_ops": tflite.op_placement(
                                      data)[1]}
  inputs = representative[0]
  log("timing")
  timed = time_interleaved(
      {f"{group}/{name}": data for group, files in groups.items()
       for name, data in files.items()}, inputs)
  for (group, name), row in rows.items():
    row["median_ms"], row["p90_ms"] = (1e3 * t for t in timed[
        f"{group}/{name}"])
  write_report(task, rows)


def write_report(task, rows):
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  metric = task.main_metric
  lines = [f"seq {FLAGS.seq_length}, batch 1, {FLAGS.num_threads} threads, "
           f"XNNPACK; median (p90) of {FLAGS.runs} interleaved runs", "",
           f"| model | variant | size MB | dev {metric} | float {metric} | "
           "agreement | median ms (p90) | ops on TFLite kernels |",
           "|---|---|---|---|---|---|---|---|"]
  for (group, name), row in rows.items():
    def cell(key):
      value = row.get(key)
      if isinstance(value, dict):
        value = value[metric]
      return "" if value is None else f"{value:.4f}"
    kernel_ops = ", ".join(f"{k} {v}" for k, v in
                           sorted(row["tflite_kernel_ops"].items()))
    lines.append(f"| {group} | {name} | {row['size_mb']:.1f} | "
                 f"{cell('metric')} | {cell('float_metric')} | "
                 f"{cell('agreement')} | {row['median_ms']:.2f} "
                 f"({row['p90_ms']:.2f}) | {kernel_ops} |")
  qat = rows.get(("finetuned", "qat"), {}).get("agreement_with_qat_keras")
  if qat is not None:
    lines += ["", f"qat: agreement with the QAT Keras model it was exported "
              f"from: {qat:.4f} (the table compares with the float model)"]
  text = "\n".join(lines) + "\n"
  with open(os.path.join(FLAGS.output_dir, "report.md"), "w") as f:
    f.write(text)
  with open(os.path.join(FLAGS.output_dir, "report.json"), "w") as f:
    json.dump({f"{g}/{n}": row for (g, n), row in rows.items()}, f, indent=2)
  print(text)


if __name__ == "__main__":
  cli.run(main)
