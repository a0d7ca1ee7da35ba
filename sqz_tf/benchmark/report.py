"""Statistics, ratios, Markdown and the plot of a host benchmark's results.

Pure functions over the entries that `host.run_benchmark` records, each a dict
with `model`, `variant`, `runtime`, `seq_length`, `threads`, `median_s`, ...
"""

import importlib.metadata
import json
import math
import os
import platform
import statistics

from sqz_tf.utils.files import atomic_output

TARGET_CELL = (128, 2)  # (tokens, threads) where the issue sets its targets


def latency_stats(samples):
  """Median and 90th percentile (interpolated) of per-inference seconds."""
  if not samples:
    raise ValueError("no samples")
  if len(samples) == 1:
    return {"median_s": samples[0], "p90_s": samples[0]}
  return {"median_s": statistics.median(samples),
          "p90_s": statistics.quantiles(samples, n=10, method="inclusive")[8]}


def entry(names, measured, flops, size_bytes, gemm_peak):
  """One variant's row in results.json: `names` (model, variant, runtime,
  seq_length, threads), what its worker measured, its FLOPs and file size."""
  stats = latency_stats(measured["samples"])
  gflops = flops / stats["median_s"] / 1e9
  return {**names, "init_s": measured["init_s"],
          "first_inference_s": measured["first_s"], **stats,
          "num_samples": len(measured["samples"]),
          "samples_s": measured["samples"],
          "peak_rss_mb": measured["peak_rss_mb"],
          "rss_before_load_mb": measured["rss_before_load_mb"],
          "file_size_bytes": size_bytes, "flops_per_sequence": flops,
          "gflops_per_s": gflops, "fraction_of_gemm": gflops / gemm_peak}


def gemm_row(engine, measured, size, cell):
  """A GEMM's GFLOP/s in one cell (a size² x size² product: 2 size³ FLOPs)."""
  stats = latency_stats(measured["samples"])
  return {"engine": engine, **cell,
          "gflops_per_s": 2 * size**3 / stats["median_s"] / 1e9, **stats}


def gemm_peaks(rows):
  """engine -> threads -> the best cell's GFLOP/s."""
  peaks = {}
  for row in rows:
    best = peaks.setdefault(row["engine"], {})
    key = str(row["threads"])
    best[key] = max(best.get(key, 0), row["gflops_per_s"])
  return peaks


def is_int8_family(variant):
  """LiteRT variants with int8 weights (dynamic range, full-integer, mixed)."""
  return variant == "dynamic" or variant.startswith("int8")


def pick_cell(seq_lengths, threads, preferred=TARGET_CELL):
  """The preferred (seq, threads) cell, else the nearest one measured."""
  seq = min(seq_lengths, key=lambda n: (abs(n - preferred[0]), -n))
  count = min(threads, key=lambda n: (abs(n - preferred[1]), -n))
  return seq, count


def _find(entries, model, seq, threads, variants):
  rows = [e for e in entries if e["model"] == model and e["seq_length"] == seq
          and e["threads"] == threads and e["variant"] in variants]
  return min(rows, key=lambda e: e["median_s"]) if rows else None


def _ratio(name, top, bottom, top_label, bottom_label, speedup=False):
  if top is None or bottom is None:
    missing = top_label if top is None else bottom_label
    return {"name": name, "value": None, "text": f"{name}: n/a ({missing} "
                                                 "not measured)"}
  value = top["median_s"] / bottom["median_s"]
  text = (f"{name}: {value:.2f} ({top_label} {_ms(top['median_s'])} ms"
          f" / {bottom_label} {_ms(bottom['median_s'])} ms)")
  if speedup:
    text += f", {1 / value:.2f}x faster"
  return {"name": name, "value": value, "text": text}


def ratios(entries, seq, threads, labels):
  """The issue's target ratios at one cell; `labels` maps model key -> name."""
  sqz, bert = labels["squeezebert"], labels["bert"]
  int8 = sorted({e["variant"] for e in entries if e["runtime"] == "litert"
                 and is_int8_family(e["variant"])})
  found = {key: {"fp32": _find(entries, key, seq, threads, ["float32"]),
                 "int8": _find(entries, key, seq, threads, int8),
                 "torch": _find(entries, key, seq, threads, ["torch_fp32"])}
           for key in labels}

  def best(key):
    row = found[key]["int8"]
    return f"best int8-family {labels[key]} ({row['variant'] if row else '-'})"

  lines = [
      _ratio(f"fp32 {sqz} / fp32 {bert} latency (LiteRT)",
             found["squeezebert"]["fp32"], found["bert"]["fp32"],
             f"fp32 {sqz}", f"fp32 {bert}"),
      _ratio(f"{best('squeezebert')} / {best('bert')} latency",
             found["squeezebert"]["int8"], found["bert"]["int8"],
             best("squeezebert"), best("bert")),
      _ratio(f"{best('squeezebert')} / HF torch fp32 {sqz} latency",
             found["squeezebert"]["int8"], found["squeezebert"]["torch"],
             best("squeezebert"), f"torch fp32 {sqz}", speedup=True),
  ]
  for key in labels:
    for kind in ("fp32", "int8"):
      row = found[key][kind]
      if row is not None:
        name = f"{'fp32 ' + labels[key] if kind == 'fp32' else best(key)}"
        lines.append({
            "name": f"{name} GFLOP/s", "value": row["fraction_of_gemm"],
            "text": (f"{name}: {row['gflops_per_s']:.1f} GFLOP/s = "
                     f"{row['fraction_of_gemm']:.2f} of the GEMM peak, "
                     f"{row['file_size_bytes'] / 1e6:.1f} MB")})
  return lines


def package_version(package):
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return None


def machine_info():
  """CPU, core counts and the versions of every runtime measured."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      cpu = next((l.split(":", 1)[1].strip() for l in f
                  if l.startswith("model name")), cpu)
  except OSError:
    pass
  return {"cpu_model": cpu, "cpus": os.cpu_count(),
          "usable_cpus": len(os.sched_getaffinity(0))
                         if hasattr(os, "sched_getaffinity") else None,
          "platform": platform.platform(), "python": platform.python_version(),
          **{name.replace("-", "_"): package_version(name) for name in (
              "tensorflow", "ai-edge-litert", "numpy", "torch",
              "transformers")}}


def method_notes(torch_sizes, labels):
  """How to read the numbers; `torch_sizes` is empty without torch."""
  notes = []
  for key, sizes in torch_sizes.items():
    if sizes["int8_share"] < 0.5:
      notes.append(
          f"HF torch_int8 {labels[key]}: quantize_dynamic converts nn.Linear "
          "only; this model's projections are nn.Conv1d, so only "
          f"{sizes['int8_share']:.0%} of its projection weights are int8.")
  if torch_sizes:
    notes.append("HF torch workers load once per thread count and serve the "
                 "sequence lengths in ascending order: their init time is "
                 "that one load, their peak RSS the peak up to that length.")
  notes.append("GFLOP/s count a multiply-add as 2 FLOPs, matrix products "
               "only (sqz_tf.model_facts); int8 arithmetic can exceed the "
               "float32 GEMM peak.")
  notes.append("Peak RSS is each worker process's own high-water mark "
               "(VmHWM): runtime, model and buffers; rss_before_load_mb in "
               "results.json is the runtime alone.")
  return notes


def _ms(seconds):
  """Milliseconds to 3 significant digits, without an exponent."""
  if seconds is None:
    return "-"
  ms = seconds * 1e3
  return f"{ms:.{max(0, 2 - math.floor(math.log10(max(ms, 1e-9))))}f}"


def _rows(entries, models):
  """(model, variant) pairs in a stable order: models, then LiteRT, torch."""
  order = {key: i for i, key in enumerate(models)}
  pairs = {(e["model"], e["variant"], e["runtime"]) for e in entries}
  return sorted(pairs, key=lambda p: (order.get(p[0], 99), p[2] != "litert",
                                      p[1]))


def latency_table(entries, models, threads):
  """Markdown: rows model/variant, a column of median ms per sequence length."""
  entries = [e for e in entries if e["threads"] == threads]
  seqs = sorted({e["seq_length"] for e in entries})
  lines = ["| model | variant | size (MB) | " +
           " | ".join(f"{n} tokens" for n in seqs) + " |",
           "|---|---|---|" + "---|" * len(seqs)]
  for model, variant, runtime in _rows(entries, models):
    cells = {e["seq_length"]: e for e in entries
             if e["model"] == model and e["variant"] == variant}
    size = next(iter(cells.values()))["file_size_bytes"] / 1e6
    name = variant if runtime == "litert" else f"HF {variant.replace('_', ' ')}"
    lines.append(f"| {models[model]} | {name} | {size:.1f} | " + " | ".join(
        _ms(cells[n]["median_s"]) if n in cells else "-" for n in seqs) + " |")
  return lines


def detail_table(entries, models, seq, threads):
  """Markdown: every measurement of one (seq, threads) cell."""
  entries = [e for e in entries
             if e["seq_length"] == seq and e["threads"] == threads]
  lines = ["| model | variant | init (ms) | first (ms) | median (ms) | "
           "p90 (ms) | peak RSS (MB) | GFLOP/s | of GEMM | samples |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  for model, variant, _ in _rows(entries, models):
    e = next(e for e in entries
             if e["model"] == model and e["variant"] == variant)
    lines.append(
        f"| {models[model]} | {variant} | {_ms(e['init_s'])} | "
        f"{_ms(e['first_inference_s'])} | {_ms(e['median_s'])} | "
        f"{_ms(e['p90_s'])} | {e['peak_rss_mb']:.0f} | "
        f"{e['gflops_per_s']:.1f} | {e['fraction_of_gemm']:.2f} | "
        f"{e['num_samples']} |")
  return lines


def _gemm_line(gemm_gflops, settings):
  engines = {"numpy": "numpy (OpenBLAS)", "litert": "LiteRT (XNNPACK)"}
  per_threads = "; ".join(
      f"{t} thread(s): " + ", ".join(
          f"{engines.get(e, e)} {values[str(t)]:.1f}"
          for e, values in gemm_gflops.items() if str(t) in values)
      for t in settings["threads"])
  return (f"Float32 GEMM {settings['gemm_size']}² in the same rounds, "
          f"GFLOP/s (the peak is the faster engine, per cell): {per_threads}.")


def markdown(results):
  """The whole results.md text."""
  machine, models = results["machine"], results["models"]
  labels = {key: spec["label"] for key, spec in models.items()}
  cell = results["ratio_cell"]
  lines = ["# Host latency benchmark", "",
           f"{machine['cpu_model']}, {machine['cpus']} CPUs; TensorFlow "
           f"{machine['tensorflow']}, ai-edge-litert "
           f"{machine['ai_edge_litert']} (XNNPACK), torch "
           f"{machine.get('torch') or '-'}; batch 1.", "",
           _gemm_line(machine["gemm_gflops"], results["settings"]), "",
           f"## Ratios at {cell['seq_length']} tokens, {cell['threads']} "
           "thread(s)", ""]
  if (cell["seq_length"], cell["threads"]) != TARGET_CELL:
    lines += [f"(The targets are at {TARGET_CELL[0]} tokens, "
              f"{TARGET_CELL[1]} threads, which this run did not measure.)",
              ""]
  lines += [f"- {line['text']}" for line in results["ratios"]]
  for threads in results["settings"]["threads"]:
    lines += ["", f"## Median latency (ms), {threads} thread(s)", ""]
    lines += latency_table(results["entries"], labels, threads)
  lines += ["", "## Details", ""]
  for threads in results["settings"]["threads"]:
    for seq in sorted(results["settings"]["seq_lengths"]):
      lines += [f"{seq} tokens, {threads} thread(s):", ""]
      lines += detail_table(results["entries"], labels, seq, threads) + [""]
  if results["notes"]:
    lines += ["## Notes", ""] + [f"- {note}" for note in results["notes"]]
  return "\n".join(lines) + "\n"


def plot(results, path):
  """latency.png: median latency vs sequence length, a panel per thread
  count."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  labels = {key: spec["label"] for key, spec in results["models"].items()}
  threads = results["settings"]["threads"]
  figure, axes = pyplot.subplots(1, len(threads),
                                 figsize=(5 * len(threads) + 3, 5),
                                 sharey=True, squeeze=False)
  # Colour says the variant, the line the model: same recipe, same colour.
  variants = sorted({e["variant"] for e in results["entries"]})
  colours = {v: pyplot.get_cmap("tab10")(i % 10)
             for i, v in enumerate(variants)}
  styles = {"squeezebert": "-", "bert": "--"}
  for axis, count in zip(axes[0], threads):
    entries = [e for e in results["entries"] if e["threads"] == count]
    for model, variant, runtime in _rows(entries, labels):
      points = sorted((e["seq_length"], e["median_s"] * 1e3) for e in entries
                      if e["model"] == model and e["variant"] == variant)
      axis.plot(*zip(*points), styles.get(model, ":"), color=colours[variant],
                marker="o" if runtime == "litert" else "x",
                label=f"{labels[model]} {variant}")
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xticks(results["settings"]["seq_lengths"],
                    [str(n) for n in results["settings"]["seq_lengths"]])
    axis.set_xlabel("sequence length (tokens)")
    axis.set_title(f"{count} thread(s), batch 1")
    axis.grid(True, which="both", alpha=0.3)
  axes[0][0].set_ylabel("median latency (ms)")
  handles, names = axes[0][0].get_legend_handles_labels()
  figure.legend(handles, names, fontsize=7, loc="center right")
  figure.tight_layout(rect=(0, 0, 1 - 2.6 / (5 * len(threads) + 3), 1))
  with atomic_output(path, overwrite=True) as temporary:
    figure.savefig(temporary, format="png", dpi=110)
  pyplot.close(figure)


def write_outputs(results, output_dir):
  """results.json, results.md and latency.png; returns the Markdown."""
  text = markdown(results)
  for name, content in (("results.json", json.dumps(results, indent=1)),
                        ("results.md", text)):
    with atomic_output(os.path.join(output_dir, name), overwrite=True) as tmp:
      with open(tmp, "w") as f:
        f.write(content)
  plot(results, os.path.join(output_dir, "latency.png"))
  return text
