r"""Every figure of issue 15's closing note, from one bounded run.

  python tools/speed_report.py --output_dir=runs/speed \
      --data_dir=../shared/data/glue/SST-2 \
      --vocab_file=../shared/data/vocab/bert-base-uncased-vocab.txt \
      [--benchmark_binary=../shared/tools/benchmark_model-linux-x86_64] [--full]

On this host (CPU, ISA and load average recorded), for randomly initialized
SqueezeBERT and BERT-base classifiers (official_configs):
  1. export times: every TFLite file this run converts, and the CLI
     (`python -m sqz_tf.export_tflite`) exporting SqueezeBERT int8_mixed
     calibrated on 200 SST-2 train rows, end to end with its progress lines,
     calibrating in one process and then in one per CPU (the default; the
     files must be identical);
  2. the issue's table at 128 tokens, batch 1: our float32 and int8_mixed
     exports of both models, HF PyTorch SqueezeBERT fp32 and, if
     onnxruntime and onnx are installed, ONNX Runtime running the same HF
     model (skipped with a note otherwise); each in its own process,
     round-robin; --full adds the issue-7 exports (lowering "conv") and
     1 thread;
  3. per-op tables, issue-7 form against the lowered one, float32 and int8
     (tools/op_microbenchmark.py), and with --benchmark_binary the real
     benchmark_model's whole-graph op profiles and memory of both models:
     time in projections and in everything else, the projections' GFLOP/s
     and the BERT/SqueezeBERT ratio those times allow;
  4. short text: SST-2 dev sentences at their real token lengths (--full:
     all 872, else 200), SqueezeBERT float32 and int8_mixed, the fixed
     128-token file against the dynamic-length one (and, float32, a file
     with one signature per length), mean latency and prediction agreement;
  5. the goals, met or not.
Writes report.md and results.json to --output_dir (converted models are
cached under models/ there; a rerun with an unchanged exporter skips them).
Without --data_dir the text parts are skipped and calibration uses random
token ids. About 8 minutes on an idle 2-core machine; --full about 25.
"""

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, REPO)

import sqz_tf  # noqa: E402,F401  pylint: disable=unused-import
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import op_microbenchmark  # noqa: E402  (tools/, this script's directory)
import speed_report_tables  # noqa: E402
from sqz_tf.benchmark import benchmark_model_output  # noqa: E402
from sqz_tf.benchmark import device_runner  # noqa: E402
from sqz_tf.benchmark import host  # noqa: E402
from sqz_tf.benchmark import latency_worker  # noqa: E402
from sqz_tf.benchmark import report  # noqa: E402
from sqz_tf.benchmark import short_text  # noqa: E402
from sqz_tf.export import calibration  # noqa: E402
from sqz_tf.export import tflite  # noqa: E402
from sqz_tf.models import SqueezeBertClassifier  # noqa: E402
from sqz_tf.models.facts import model_facts  # noqa: E402
from sqz_tf.models.facts import projection_flops  # noqa: E402
from sqz_tf.utils.files import atomic_output  # noqa: E402


@dataclasses.dataclass
class Setting:
  rounds: int
  round_seconds: float
  op_runs: int
  sentences: int  # None: all
  threads: tuple
  before: bool  # also the issue-7 ("conv") exports


SETTINGS = {"quick": Setting(5, 0.6, 30, 200, (2,), False),
            "full": Setting(10, 1.0, 100, None, (1, 2), True),
            "tiny": Setting(2, 0.02, 0, 12, (1,), True)}  # a smoke test
SEQ = 128


def say(line):
  print(line, file=sys.stderr, flush=True)


def machine():
  info = report.machine_info()
  with open("/proc/cpuinfo") as f:
    flags = next((l.split(":", 1)[1].split() for l in f
                  if l.startswith("flags")), [])
  info["isa"] = [name for name in ("avx2", "avx512f", "avx512_vnni",
                                   "avx_vnni", "amx_int8", "amx_bf16")
                 if name in flags]
  info["load_average_start"] = os.getloadavg()
  info["onnxruntime"] = report.package_version("onnxruntime")
  return info


class Exports:
  """Converted files, cached by what makes them; conversion times kept."""

  def __init__(self, directory, models, specs, calibration_inputs):
    self.directory, self.models, self.specs = directory, models, specs
    self.calibration = calibration_inputs
    os.makedirs(directory, exist_ok=True)
    digest = hashlib.sha1(host.exporter_version().encode())
    digest.update(json.dumps([[{k: v[0].tolist() for k, v in x.items()}
                               for x in self.calibration[key]]
                              for key in sorted(self.calibration)]).encode())
    self.version = digest.hexdigest()[:10]
    self.seconds = {}

  def path(self, key, quantization, lowering="xnnpack", dynamic=False):
    name = (f"{key}-{quantization}-{lowering}{'-dynamic' if dynamic else ''}"
            f"-seq{SEQ}-{self.version}.tflite")
    path = os.path.join(self.directory, name)
    if not os.path.exists(path):
      say(f"Converting {name}")
      start = time.perf_counter()
      data = tflite.convert(self.models[key], quantization, SEQ,
                            representative_inputs=self.calibration[key],
                            lowering=lowering, dynamic_seq_length=dynamic)
      seconds = time.perf_counter() - start
      with atomic_output(path, overwrite=True) as temporary:
        with open(temporary, "wb") as f:
          f.write(data)
      with open(path + ".json", "w") as f:
        json.dump({"seconds": seconds}, f)
    with open(path + ".json") as f:
      self.seconds[os.path.basename(path)] = json.load(f)["seconds"]
    return path


def _stats(samples):
  return {**report.latency_stats(samples), "mean_s": statistics.mean(samples),
          "n": len(samples)}


def _measure(specs, threads, setting, seq=SEQ):
  """{name: stats} of worker specs run round-robin in their own processes."""
  pool = latency_worker.Pool(threads, say)
  for name, spec in specs.items():
    pool.start(name, spec)
  pool.wait_imported()
  pool.seq_length = seq
  settings = host.Settings(rounds=setting.rounds,
                           round_seconds=setting.round_seconds, min_runs=3,
                           max_runs=60, warmup_runs=3)
  measured = latency_worker.measure_round_robin(pool, settings)
  pool.close(list(pool))
  return {name: {**_stats(m["samples"]), "peak_rss_mb": m["peak_rss_mb"]}
          for name, m in measured.items()}, pool.failures


def peers(models_dir, notes, model):
  """Worker specs of HF PyTorch SqueezeBERT fp32 and ONNX Runtime on it."""
  path = os.path.join(models_dir, f"hf-{model.source.split('.')[0]}")
  spec = {"key": "squeezebert", "hf_class": model.hf_class,
          "config_class": model.hf_config_class, "config": model.hf_config,
          "path": path}
  if not all(importlib.util.find_spec(n) for n in ("torch", "transformers")):
    notes.append("HF PyTorch and ONNX Runtime peers skipped: torch or "
                 "transformers is not installed.")
    return {}
  saver = latency_worker.Worker({"kind": "torch_save", "models": [spec]}, 2)
  saver.receive()
  saver.close()
  vocab = model.config.vocab_size
  specs = {"HF PyTorch SqueezeBERT fp32 (eager)": {
      "kind": "torch", "path": path, "hf_class": model.hf_class,
      "int8": False, "vocab_size": vocab}}
  if all(importlib.util.find_spec(n) for n in ("onnxruntime", "onnx")):
    saver = latency_worker.Worker({"kind": "onnx_save", "models": [spec]}, 2)
    onnx_path = saver.receive()["paths"]["squeezebert"]
    saver.close()
    specs[f"ONNX Runtime {report.package_version('onnxruntime')}, HF "
          "SqueezeBERT fp32"] = {"kind": "onnx", "path": onnx_path,
                                 "vocab_size": vocab}
  else:
    notes.append("ONNX Runtime peer skipped: onnxruntime and onnx are not "
                 "installed (pip install onnxruntime onnx).")
  return specs


def whole_models(exports, setting, models_dir, notes):
  """The issue's table: {threads: {row: stats}}."""
  labels = {"squeezebert": "SqueezeBERT", "bert": "BERT-base-equivalent"}
  specs = {}
  for lowering in (("xnnpack", "conv") if setting.before else ("xnnpack",)):
    for key in ("squeezebert", "bert"):
      for quantization in ("float32", "int8_mixed"):
        name = f"our TFLite {labels[key]} {quantization}" + (
            " (issue-7 export)" if lowering == "conv" else "")
        specs[name] = {"kind": "litert", "path": exports.path(
            key, quantization, lowering),
                       "vocab_size": exports.models[key].model_config
                       .vocab_size}
  specs.update(peers(models_dir, notes, exports.specs["squeezebert"]))
  table = {}
  for threads in setting.threads:
    say(f"Measuring whole models, {threads} thread(s)")
    table[threads], failures = _measure(specs, threads, setting)
    notes += [f"{n} failed: {e}" for n, e in failures.items()]
  return table


def text_workload(exports, data_dir, vocab_file, setting, models_dir):
  """Short-text latency and agreement: {row: stats}, and the agreement."""
  sentences = short_text.sentence_ids(data_dir, vocab_file, max_length=SEQ,
                                      limit=setting.sentences)
  path = os.path.join(models_dir, "sentences.json")
  with open(path, "w") as f:
    json.dump(sentences, f)
  multi = os.path.join(models_dir, f"squeezebert-float32-signatures-"
                       f"{exports.version}.tflite")
  if not os.path.exists(multi):
    say("Converting the multi-signature comparison file")
    with open(multi, "wb") as f:
      f.write(short_text.multi_length_tflite(exports.models["squeezebert"]))
  specs = {}
  for quantization in ("float32", "int8_mixed"):
    for mode in ("fixed", "dynamic"):
      specs[f"{quantization} {mode}"] = {
          "kind": "litert_text", "mode": mode, "sentences": path,
          "path": exports.path("squeezebert", quantization,
                               dynamic=mode == "dynamic")}
  specs["float32 signatures"] = {
      "kind": "litert_text", "mode": "signatures", "sentences": path,
      "path": multi, "signatures": {str(n): key for n, key in
                                    short_text.signature_keys().items()}}
  pool = latency_worker.Pool(max(setting.threads), say)
  for name, spec in specs.items():
    pool.start(name, spec)
  pool.wait_imported()
  chunk = -(-len(sentences) // setting.rounds)
  measured = latency_worker.measure_round_robin(pool, host.Settings(
      rounds=setting.rounds, round_seconds=0, min_runs=chunk, max_runs=chunk,
      warmup_runs=3))
  logits = {name: worker.call("predict")["logits"]
            for name, worker in pool.items()}
  pool.close(list(pool))
  rows = {name: _stats(m["samples"]) for name, m in measured.items()}
  agree = {name: short_text.agreement(
      logits[name], logits[f"{name.split()[0]} fixed"]) for name in logits}
  lengths = [len(ids) for ids in sentences]
  return {"rows": rows, "agreement": agree, "sentences": len(sentences),
          "mean_tokens": statistics.mean(lengths), "max_tokens": max(lengths),
          "sizes_mb": {name: os.path.getsize(spec["path"]) / 1e6
                       for name, spec in specs.items()}}


_NOISE = re.compile(r"^([IWEF]\d{4}|INFO:|WARNING|\s*$)|site-packages|"
                    r"warn|^\s+(TF 2\.20|See the|for details)")


def cli_exports(models_dir, model, data_dir, vocab_file):
  """The CLI's int8_mixed export of SqueezeBERT calibrating in one process,
  then in one per CPU (the default): each `cli_export`'s result, and
  whether the two files are identical."""
  keras_path = os.path.join(models_dir, "squeezebert-classifier.keras")
  if not os.path.exists(keras_path):
    model.save(keras_path)
  runs = {}
  for workers in (1, 0):
    output = os.path.join(models_dir, f"cli-squeezebert-int8_mixed-"
                          f"workers{workers}.tflite")
    runs[workers] = cli_export(keras_path, output, data_dir, vocab_file,
                               workers)
  with open(runs[1]["output"], "rb") as one, open(runs[0]["output"],
                                                  "rb") as per_cpu:
    identical = one.read() == per_cpu.read()
  return {"one_process": runs[1], "per_cpu": runs[0],
          "identical_files": identical}


def cli_export(keras_path, output, data_dir, vocab_file, workers):
  """One CLI int8_mixed export: seconds, CPU, its lines."""
  command = [sys.executable, "-m", "sqz_tf.export_tflite",
             f"--model={keras_path}", f"--output={output}",
             "--quantization=int8_mixed", f"--seq_length={SEQ}",
             f"--representative_data={data_dir}", "--task=sst2",
             f"--vocab_file={vocab_file}", "--overwrite",
             f"--calibration_workers={workers}"]
  say("Timing the CLI export: " + " ".join(command[2:4] + command[-1:]) +
      " ...")
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  start = time.perf_counter()
  process = subprocess.Popen(command, stderr=subprocess.STDOUT, text=True,
                             stdout=subprocess.PIPE, cwd=REPO,
                             env={**os.environ, "PYTHONPATH": REPO})
  lines = []
  for line in process.stdout:  # its own lines, not TensorFlow's logging
    if not _NOISE.search(line):
      lines.append(f"{time.perf_counter() - start:6.1f} s  {line.rstrip()}")
  process.wait()
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  return {"seconds": time.perf_counter() - start, "returncode":
          process.returncode, "cpu_seconds": (after.ru_utime + after.ru_stime
                                              - before.ru_utime -
                                              before.ru_stime),
          "progress": lines[-40:], "output": output}


def binary_profiles(binary, exports, setting, models):
  """benchmark_model --enable_op_profiling of both models' files: time in
  projections and in everything else, and projection FLOPs per sequence."""
  results = {}
  for key in ("squeezebert", "bert"):
    flops = (projection_flops(models[key].model_config, SEQ) *
             models[key].model_config.num_hidden_layers)
    for quantization in ("float32", "int8_mixed"):
      lowerings = (("conv", "xnnpack") if setting.before and
                   key == "squeezebert" else ("xnnpack",))
      for lowering in lowerings:
        path = exports.path(key, quantization, lowering)
        output, _ = device_runner.run_local(path, device_runner.Options(
            num_threads=max(setting.threads), num_runs=20, warmup_runs=3,
            enable_op_profiling=True), binary=binary)
        parsed = benchmark_model_output.parse(output)
        projections, other = benchmark_model_output.projection_split(
            parsed["op_profile"])
        results[f"{key} {quantization} {lowering}"] = {
            "avg_ms": parsed["inference_avg_us"] / 1e3,
            "memory": parsed["memory"], "delegation": parsed["delegation"],
            "top_ops": parsed["op_profile"][:8], "projection_ms": projections,
            "other_ms": other, "projection_flops": flops}
  return results


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--output_dir", default="runs/speed")
  parser.add_argument("--data_dir", help="GLUE SST-2 directory")
  parser.add_argument("--vocab_file")
  parser.add_argument("--benchmark_binary")
  parser.add_argument("--full", action="store_true")
  parser.add_argument("--tiny", action="store_true",
                      help="tiny models, few runs, no op tables: a smoke test")
  args = parser.parse_args()
  name = "tiny" if args.tiny else "full" if args.full else "quick"
  setting = SETTINGS[name]
  started = time.perf_counter()
  models_dir = os.path.join(args.output_dir, "models")
  os.makedirs(models_dir, exist_ok=True)
  results = {"setting": name, "machine": machine(), "notes": [],
             "seq_length": SEQ}
  models, inputs = {}, {}
  for key, spec in host.benchmark_models(quick=args.tiny).items():
    tf.keras.utils.set_random_seed(0)
    models[key] = SqueezeBertClassifier(spec.config, num_labels=2)
    if args.data_dir:  # 50 real rows: enough for the latency files
      inputs[key] = calibration.representative_inputs(
          args.data_dir, SEQ, 50, "sst2", args.vocab_file)
    else:
      inputs[key] = [host.random_inputs(spec.config, SEQ, s)
                     for s in range(8)]
  exports = Exports(models_dir, models, host.benchmark_models(args.tiny),
                    inputs)
  if args.data_dir:
    results["cli_export"] = cli_exports(models_dir, models["squeezebert"],
                                        args.data_dir, args.vocab_file)
  results["whole_models"] = whole_models(exports, setting, models_dir,
                                         results["notes"])
  results["op_tables"], results["op_shares"] = {}, {}
  for kind, int8 in (("float32", False), ("int8", True))[
      :2 if setting.op_runs else 0]:
    say(f"Per-op micro-benchmark, {kind}")
    lines, times = op_microbenchmark.run(SEQ, max(setting.threads),
                                         setting.op_runs, int8)
    results["op_tables"][kind] = lines
    results["op_shares"][kind] = op_microbenchmark.shares(times)["xnnpack"]
  if args.benchmark_binary:
    results["binary_profiles"] = binary_profiles(args.benchmark_binary,
                                                 exports, setting, models)
  if args.data_dir:
    results["short_text"] = text_workload(exports, args.data_dir,
                                          args.vocab_file, setting,
                                          models_dir)
  else:
    results["notes"].append("Short text and the CLI export skipped: no "
                            "--data_dir.")
  results["export_seconds"] = exports.seconds
  results["load_average_end"] = os.getloadavg()
  results["notes"].append(
      f"Run took {time.perf_counter() - started:.0f} s. FLOPs per sequence "
      f"at {SEQ}: SqueezeBERT {model_facts(models['squeezebert'].model_config, SEQ).flops_per_sequence / 1e9:.2f} G, "
      f"BERT-base {model_facts(models['bert'].model_config, SEQ).flops_per_sequence / 1e9:.2f} G.")
  text = speed_report_tables.markdown(results)
  for file_name, content in (("report.md", text),
                             ("results.json", json.dumps(results, indent=1,
                                                         default=str))):
    with atomic_output(os.path.join(args.output_dir, file_name),
                       overwrite=True) as temporary:
      with open(temporary, "w") as f:
        f.write(content)
  print(text)


if __name__ == "__main__":
  main()
