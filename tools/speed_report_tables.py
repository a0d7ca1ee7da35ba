"""The goals and Markdown of tools/speed_report.py's results."""


def _ms(stats, field="median_s"):
  return f"{stats[field] * 1e3:.2f}"


def speedup_goal(results, quantization):
  """The BERT/SqueezeBERT time ratio the issue asks for."""
  if quantization == "float32":
    return 1 / 0.31
  return 2.5 if "amx_int8" in results["machine"]["isa"] else 2.8


def time_split(results, quantization):
  """SqueezeBERT's and BERT's whole-graph profiles (xnnpack files) and what
  they imply, or None: `f` SqueezeBERT's projection FLOPs / BERT's,
  `share` its projections' GFLOP/s / BERT's, `bound` BERT/SqueezeBERT were
  SqueezeBERT's projections at BERT's GFLOP/s, `other_needed` the ms of
  everything else (both models) that ratio would allow for the goal's
  speedup. Projection FLOPs count every layer at full length (a
  classifier's last layer computes one query row: both models alike)."""
  profiles = results.get("binary_profiles", {})
  sqz = profiles.get(f"squeezebert {quantization} xnnpack")
  bert = profiles.get(f"bert {quantization} xnnpack")
  if not (sqz and bert and sqz["projection_ms"] and bert["projection_ms"]):
    return None
  f = sqz["projection_flops"] / bert["projection_flops"]
  dense_rate = f * bert["projection_ms"]  # SqueezeBERT's at BERT's rate
  total = bert["projection_ms"] + bert["other_ms"]
  target = speedup_goal(results, quantization)
  return {"sqz": sqz, "bert": bert, "f": f, "target": target,
          "share": dense_rate / sqz["projection_ms"],
          "bound": total / (dense_rate + sqz["other_ms"]),
          "other_needed": (bert["projection_ms"] - target * dense_rate) /
                          (target - 1)}


def goals(results):
  """(goal, measured, met) lines."""
  lines = []
  ops = results.get("op_shares", {})
  for kind, shares in ops.items():
    worst = min(shares.values())
    lines.append((f"grouped projections >= 85 % of dense GFLOP/s ({kind}, "
                  "lowered, every projection shape)",
                  ", ".join(f"{k} {v:.0%}" for k, v in shares.items()),
                  worst >= 0.85))
  for quantization in ("float32", "int8_mixed"):
    split = time_split(results, quantization)
    if split:
      lines.append((f"SqueezeBERT's projections >= 85 % of BERT's GFLOP/s "
                    f"({quantization}, whole graph, benchmark_model)",
                    f"{split['share']:.0%}", split["share"] >= 0.85))
  table = results["whole_models"].get("2") or results["whole_models"].get(2)
  if table:
    def row(name):
      return table.get(f"our TFLite {name}")
    sqz, bert = row("SqueezeBERT float32"), row("BERT-base-equivalent float32")
    if sqz and bert:
      ratio = sqz["median_s"] / bert["median_s"]
      lines.append(("float32 SqueezeBERT / BERT-base <= 0.31", f"{ratio:.3f}",
                    ratio <= 0.31))
    sqz, bert = row("SqueezeBERT int8_mixed"), row(
        "BERT-base-equivalent int8_mixed")
    if sqz and bert:
      ratio = bert["median_s"] / sqz["median_s"]
      target = speedup_goal(results, quantization="int8_mixed")
      lines.append((f"int8_mixed BERT-base / SqueezeBERT >= {target}x (this "
                    "host " + ("has" if target == 2.5 else "has no") +
                    " AMX)", f"{ratio:.2f}x", ratio >= target))
  text = results.get("short_text")
  if text:
    for quantization in ("float32", "int8_mixed"):
      fixed = text["rows"][f"{quantization} fixed"]["mean_s"]
      dynamic = text["rows"][f"{quantization} dynamic"]["mean_s"]
      same, _ = text["agreement"][f"{quantization} dynamic"]
      lines.append((f"short text {quantization}: mean latency >= 2x lower "
                    "than the fixed 128-token file, identical predictions",
                    f"{fixed / dynamic:.2f}x, {same:.1%} same",
                    fixed / dynamic >= 2 and same == 1))
  cli = results.get("cli_export")
  if cli:
    run = cli["per_cpu"]
    lines.append(("int8_mixed export of the full model <= 90 s on 2 cores",
                  f"{run['seconds']:.0f} s wall, {run['cpu_seconds']:.0f} s "
                  f"CPU (one calibration process: "
                  f"{cli['one_process']['seconds']:.0f} s)",
                  run["seconds"] <= 90 and run["returncode"] == 0))
  return lines


def _time_split_section(results):
  splits = {q: time_split(results, q) for q in ("float32", "int8_mixed")}
  if not any(splits.values()):
    return []
  lines = ["", "## Where the time goes (benchmark_model op profiles)", "",
           "Projections: the FULLY_CONNECTED/CONV_2D nodes; the rest: "
           "attention products, softmax, "
           "LayerNorm, GELU, residual sums, QUANTIZE/DEQUANTIZE, "
           "reshapes.", "",
           "| file | op total ms | projections ms | everything else ms | "
           "projection GFLOP/s |", "|---|---|---|---|---|"]
  for quantization, split in splits.items():
    if not split:
      continue
    for name, profile in (("SqueezeBERT", split["sqz"]),
                          ("BERT-base-equivalent", split["bert"])):
      lines.append(
          f"| {name} {quantization} | "
          f"{profile['projection_ms'] + profile['other_ms']:.2f} | "
          f"{profile['projection_ms']:.2f} | {profile['other_ms']:.2f} | "
          f"{profile['projection_flops'] / profile['projection_ms'] / 1e6:.0f}"
          " |")
  for quantization, split in splits.items():
    if split:
      lines += ["", f"{quantization}: SqueezeBERT's projections are "
                f"{split['f']:.3f} of BERT's FLOPs and run at "
                f"{split['share']:.0%} of BERT's projection GFLOP/s. At "
                f"BERT's rate, with everything else as measured, "
                f"BERT/SqueezeBERT would be {split['bound']:.2f}x; the "
                f"goal's {split['target']:.2f}x would need "
                + (f"everything else cut to {split['other_needed']:.2f} ms "
                   f"in both models (now {split['sqz']['other_ms']:.2f} / "
                   f"{split['bert']['other_ms']:.2f} ms)."
                   if split["other_needed"] > 0 else
                   "SqueezeBERT's projections faster per FLOP than BERT's: "
                   f"their FLOP ratio alone is above 1/{split['target']:.2f}"
                   ".")]
  return lines


def markdown(results):
  machine = results["machine"]
  lines = [f"# Issue 15 speed report ({results['setting']})", "",
           f"{machine['cpu_model']}, {machine['usable_cpus']} usable CPUs, "
           f"ISA {' '.join(machine['isa'])}; load average "
           f"{machine['load_average_start'][0]:.1f} at the start, "
           f"{results['load_average_end'][0]:.1f} at the end (other jobs "
           "share the cores when it is above 0). TensorFlow "
           f"{machine['tensorflow']}, ai-edge-litert "
           f"{machine['ai_edge_litert']}, torch {machine.get('torch')}, "
           f"onnxruntime {machine['onnxruntime']}. Batch 1, {results['seq_length']} tokens "
           "unless said.", "", "## Goals", "",
           "| goal | measured | met |", "|---|---|---|"]
  lines += [f"| {goal} | {value} | {'yes' if met else '**no**'} |"
            for goal, value, met in goals(results)]
  for threads, table in results["whole_models"].items():
    lines += ["", f"## Whole models, {threads} thread(s) (median of "
              "round-robin runs, each in its own process)", "",
              "| runtime / model | median ms | p90 ms | peak RSS MB |",
              "|---|---|---|---|"]
    lines += [f"| {name} | {_ms(s)} | {_ms(s, 'p90_s')} | "
              f"{s['peak_rss_mb']:.0f} |" for name, s in table.items()]
  for kind, table in results.get("op_tables", {}).items():
    lines += ["", f"## Per op, {kind} (tools/op_microbenchmark.py)", ""]
    lines += table
  for name, profile in results.get("binary_profiles", {}).items():
    lines += ["", f"## benchmark_model, {name}: "
              f"{profile['avg_ms']:.2f} ms avg, memory "
              f"{profile['memory']}, XNNPACK "
              f"{profile['delegation'].get('execution')}", "",
              "| op type | count | avg ms | % |", "|---|---|---|---|"]
    lines += [f"| {op['node_type']} | {op['count']} | {op['avg_ms']:.3f} | "
              f"{op.get('avg_pct', 0):.1f} |" for op in profile["top_ops"]]
  lines += _time_split_section(results)
  text = results.get("short_text")
  if text:
    lines += ["", f"## Short text: {text['sentences']} SST-2 dev sentences, "
              f"{text['mean_tokens']:.1f} tokens on average (max "
              f"{text['max_tokens']}), SqueezeBERT", "",
              "| file | MB | mean ms | median ms | vs fixed | same "
              "prediction as fixed | max logit diff |",
              "|---|---|---|---|---|---|---|"]
    for name, stats in text["rows"].items():
      fixed = text["rows"][f"{name.split()[0]} fixed"]["mean_s"]
      same, diff = text["agreement"][name]
      lines.append(f"| {name} | {text['sizes_mb'][name]:.1f} | "
                   f"{_ms(stats, 'mean_s')} | {_ms(stats)} | "
                   f"{fixed / stats['mean_s']:.2f}x | {same:.1%} | "
                   f"{diff:.2g} |")
  lines += ["", "## Export times (s)", "", "| file | s |", "|---|---|"]
  lines += [f"| {name} | {seconds:.0f} |"
            for name, seconds in results["export_seconds"].items()]
  cli = results.get("cli_export")
  if cli:
    lines += ["", "CLI int8_mixed export of SqueezeBERT (200 SST-2 "
              "calibration rows), files identical: "
              f"{'yes' if cli['identical_files'] else 'NO'}"]
    for name, title in (("one_process", "calibrating in one process"),
                        ("per_cpu", "calibrating in one process per CPU")):
      run = cli[name]
      lines += ["", f"{title}: {run['seconds']:.0f} s wall, "
                f"{run['cpu_seconds']:.0f} s CPU, exit {run['returncode']}:",
                "", "```"] + run["progress"] + ["```"]
  lines += ["", "## Notes", ""] + [f"- {n}" for n in results["notes"]]
  return "\n".join(lines) + "\n"
