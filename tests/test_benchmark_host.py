"""Host benchmark: the --quick run end to end, and its pure functions."""

import json
import math

import pytest

from sqz_tf.benchmark import host
from sqz_tf.benchmark import latency_worker
from sqz_tf.benchmark import report
from sqz_tf.export import tflite
from tests.cli_runner import run_many
from tests.cli_runner import run_module

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RATIO_LINES = ("fp32 SqueezeBERT-tiny / fp32 BERT-tiny latency",
               "best int8-family SqueezeBERT-tiny (",
               "/ HF torch fp32 SqueezeBERT-tiny latency", "of the GEMM peak")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
  output_dir = tmp_path_factory.mktemp("benchmark")
  result = run_module("sqz_tf.benchmark", "--quick",
                      f"--output_dir={output_dir}")
  assert result.returncode == 0, result.stderr[-3000:]
  return output_dir, result


def test_quick_run_measures_every_variant(quick_run):
  output_dir, _ = quick_run
  results = json.loads((output_dir / "results.json").read_text())
  variants = [q for q in tflite.QUANTIZATIONS if q != "qat"]
  assert variants == host.litert_variants()
  expected = {(model, variant, seq, 1)
              for model in ("squeezebert", "bert")
              for variant in variants + list(host.TORCH_VARIANTS)
              for seq in (16, 32)}
  found = {(e["model"], e["variant"], e["seq_length"], e["threads"])
           for e in results["entries"]}
  assert found == expected
  for entry in results["entries"]:
    for field in ("init_s", "first_inference_s", "median_s", "p90_s",
                  "peak_rss_mb", "file_size_bytes", "gflops_per_s",
                  "fraction_of_gemm", "flops_per_sequence"):
      assert math.isfinite(entry[field]) and entry[field] > 0, (entry, field)
    assert entry["p90_s"] >= entry["median_s"]
    assert entry["num_samples"] == len(entry["samples_s"]) >= 3 * 2
    assert entry["peak_rss_mb"] >= entry["rss_before_load_mb"] > 0
  assert {(g["engine"], g["seq_length"]) for g in results["gemm"]} == {
      (engine, seq) for engine in ("numpy", "litert") for seq in (16, 32)}
  machine = results["machine"]
  assert machine["cpus"] > 0 and machine["tensorflow"] and machine["torch"]
  assert machine["gemm_gflops"]["litert"]["1"] > 0
  if "qat" in tflite.QUANTIZATIONS:
    assert any("QAT is skipped" in note for note in results["notes"])


def test_quick_run_writes_table_ratios_and_plot(quick_run):
  output_dir, result = quick_run
  text = (output_dir / "results.md").read_text()
  for line in RATIO_LINES:
    assert line in text, line
  assert "## Ratios at 32 tokens, 1 thread(s)" in text
  assert "| SqueezeBERT-tiny | float32 |" in text
  assert "| BERT-tiny | HF torch fp32 |" in text
  assert text in result.stdout  # the Markdown is printed too
  assert (output_dir / "latency.png").read_bytes().startswith(PNG_MAGIC)
  # Converted models are cached for a rerun.
  assert len(list((output_dir / "models").glob("*.tflite"))) == (
      2 * 2 * len(host.litert_variants()) + 1)


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
  out = tmp_path / "out"
  results = run_many([
      ("sqz_tf.benchmark", "--seq_lengths=128,9999", f"--output_dir={out}"),
      ("sqz_tf.benchmark", "--quick", "--num_threads=0",
       f"--output_dir={out}"),
      ("sqz_tf.benchmark", "--seq_lengths=12x", f"--output_dir={out}"),
  ])
  messages = ["sequence length 9999 is outside 1..512",
              "threads must be distinct positive integers, got 0",
              "--seq_lengths must be integers"]
  for result, message in zip(results, messages):
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert message in last, last
    assert last.startswith("sqz_tf.benchmark: error:"), last
    assert "Traceback" not in result.stderr
  assert not out.exists()


def test_latency_stats():
  stats = report.latency_stats([float(n) for n in range(10, 0, -1)])
  assert stats["median_s"] == 5.5
  assert stats["p90_s"] == pytest.approx(9.1)
  assert report.latency_stats([0.5]) == {"median_s": 0.5, "p90_s": 0.5}
  with pytest.raises(ValueError):
    report.latency_stats([])


def test_runs_per_round_and_cells():
  assert latency_worker.runs_per_round(0.1, 0.5, 2, 50) == 5
  assert latency_worker.runs_per_round(1.0, 0.5, 2, 50) == 2
  assert latency_worker.runs_per_round(1e-6, 0.5, 2, 50) == 50
  assert report.pick_cell([64, 128, 256, 512], [1, 2]) == (128, 2)
  assert report.pick_cell([16, 32], [1]) == (32, 1)
  assert report.pick_cell([96, 160], [4]) == (160, 4)
  assert [v for v in ("float32", "float16", "dynamic", "int8", "int8_mixed")
          if report.is_int8_family(v)] == ["dynamic", "int8", "int8_mixed"]


def _entry(model, variant, ms, seq=128, threads=2, size_mb=10.0):
  return {"model": model, "variant": variant, "seq_length": seq,
          "threads": threads,
          "runtime": "torch" if variant.startswith("torch") else "litert",
          "median_s": ms / 1e3, "p90_s": ms / 1e3 * 1.1, "init_s": 0.2,
          "first_inference_s": ms / 1e3 * 2, "peak_rss_mb": 100.0,
          "gflops_per_s": 50.0, "fraction_of_gemm": 0.25,
          "file_size_bytes": size_mb * 1e6, "num_samples": 10}


LABELS = {"squeezebert": "SqueezeBERT", "bert": "BERT-base"}
ENTRIES = [
    _entry("squeezebert", "float32", 10), _entry("squeezebert", "dynamic", 6),
    _entry("squeezebert", "int8", 20), _entry("squeezebert", "int8_mixed", 4),
    _entry("squeezebert", "torch_fp32", 30), _entry("bert", "float32", 25),
    _entry("bert", "dynamic", 12), _entry("bert", "int8_mixed", 15),
    _entry("squeezebert", "float32", 40, seq=512),
    _entry("bert", "float32", 1, threads=1),
]


def test_ratios_pick_each_models_best_int8_recipe():
  lines = report.ratios(ENTRIES, 128, 2, LABELS)
  by_name = {line["name"]: line for line in lines}
  fp32 = by_name["fp32 SqueezeBERT / fp32 BERT-base latency (LiteRT)"]
  assert fp32["value"] == pytest.approx(0.4)
  int8 = by_name["best int8-family SqueezeBERT (int8_mixed) / best "
                 "int8-family BERT-base (dynamic) latency"]
  assert int8["value"] == pytest.approx(4 / 12)
  torch_line = by_name["best int8-family SqueezeBERT (int8_mixed) / HF torch "
                       "fp32 SqueezeBERT latency"]
  assert torch_line["value"] == pytest.approx(4 / 30)
  assert "7.50x faster" in torch_line["text"]
  assert "4.00 ms" in torch_line["text"] and "30.0 ms" in torch_line["text"]
  assert any("0.25 of the GEMM peak" in line["text"] for line in lines)


def test_ratios_say_what_is_missing():
  entries = [e for e in ENTRIES if e["runtime"] == "litert"]
  lines = report.ratios(entries, 128, 2, LABELS)
  assert lines[2]["value"] is None
  assert "n/a (torch fp32 SqueezeBERT not measured)" in lines[2]["text"]


def test_tables():
  table = report.latency_table(ENTRIES, LABELS, threads=2)
  assert table[0] == "| model | variant | size (MB) | 128 tokens | 512 tokens |"
  assert "| SqueezeBERT | float32 | 10.0 | 10.0 | 40.0 |" in table
  assert "| SqueezeBERT | HF torch fp32 | 10.0 | 30.0 | - |" in table
  rows = [line.split(" | ")[:2] for line in table[2:]]
  assert rows[0] == ["| SqueezeBERT", "dynamic"]  # models, LiteRT first
  assert rows[-1] == ["| BERT-base", "int8_mixed"]
  detail = report.detail_table(ENTRIES, LABELS, 128, 2)
  assert len(detail) == 2 + 8
  assert "| BERT-base | dynamic | 200 | 24.0 | 12.0 | 13.2 | 100 |" in (
      "\n".join(detail))


def test_conversion_jobs_skip_cached_files(tmp_path, monkeypatch):
  models = host.benchmark_models(quick=True)
  variants = host.litert_variants()
  paths = host.tflite_paths(models, variants, (16, 32), str(tmp_path))
  jobs = host.conversion_jobs(models, paths, str(tmp_path / "g.tflite"), 64)
  assert len(jobs) == 2 * 2 * len(variants) + 1
  assert [job["seq_length"] for job in jobs[:-1]] == sorted(
      (job["seq_length"] for job in jobs[:-1]), reverse=True)
  assert "qat" not in {job["variant"] for job in jobs}
  with open(jobs[0]["path"], "wb"):
    pass
  again = host.conversion_jobs(models, paths, str(tmp_path / "g.tflite"), 64)
  assert jobs[0] not in again and len(again) == len(jobs) - 1
  assert models["bert"].config.q_groups == 1  # groups 1: BERT
  assert len(set(paths.values())) == len(paths)
  # A changed exporter (or config) converts anew.
  exporter = tmp_path / "tflite.py"
  exporter.write_text("# another exporter\n")
  monkeypatch.setattr(tflite, "__file__", str(exporter))
  changed = host.tflite_paths(models, variants, (16, 32), str(tmp_path))
  assert not set(changed.values()) & set(paths.values())


def test_worker_errors_are_one_line(tmp_path):
  worker = latency_worker.Worker(
      {"kind": "litert", "path": str(tmp_path / "missing.tflite"),
       "vocab_size": 10}, threads=1)
  try:
    assert worker.receive()["rss_mb"] > 0
    with pytest.raises(latency_worker.WorkerError) as error:
      worker.call("load", seq_length=8)
    assert "\n" not in str(error.value) and "missing.tflite" in str(
        error.value)
  finally:
    worker.close()
