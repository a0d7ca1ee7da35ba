"""TFLite `benchmark_model` output (any TFLite 2.x) → a JSON-ready dict.

    result = parse(stdout_text)
    result["inference_avg_us"]  # 145528.0

Schema (every key is always present; None or [] where the output lacks it):

  init_us, first_inference_us, warmup_avg_us, inference_avg_us: float
      From "Inference timings in us: Init: …, First inference: …,
      Warmup (avg): …, Inference (avg): …" (microseconds; averages of 1e6
      and more arrive as "1.24027e+06").
  warmup_runs, inference_runs: dict or None
      The "count=… first=… curr=… min=… max=… avg=… std=…" line of each
      phase, with "p5", "median", "p95" where the version prints them. Keys
      are the ones printed; count is an int, the rest float microseconds.
  memory: {"init_mb", "overall_mb", "peak_mb"}
      init/overall: "Memory footprint delta from the start of the tool (MB)"
      (TFLite 2.5+) or "Peak memory footprint (MB)" (older): the process's
      max RSS after init and at the end. peak: "Overall peak memory
      footprint (MB) via periodic monitoring" (--report_peak_memory_footprint).
  delegation: {"delegate", "execution", "delegate_kernels",
               "replaced_nodes", "total_nodes"}
      delegate/execution from "Explicitly applied XNNPACK delegate, and the
      model graph will be completely|partially executed …" (execution
      "full", "partial" or "none"); delegate_kernels from "… w/ N delegate
      kernels"; replaced/total nodes summed over the "Replacing N out of M
      node(s) with delegate" lines.
  model_size_mb: float or None ("The input model file size (MB)").
  op_profile: list of dicts, one per row of "Summary by node type" for the
      regular runs (--enable_op_profiling): node_type, count, avg_ms,
      avg_pct, cdf_pct, mem_kb, times_called.
  op_profile_nodes: int or None ("Number of nodes executed" in that part).

Lines may carry "INFO: " (newer versions) or nothing (older ones), or an
Android logcat prefix ("07-14 13:14:52.097 22838 22838 I tflite  : ",
"I/tflite  (22838): "). Lines starting with "# " are comments (our test
samples start with a "# source:" line); benchmark_model's own "#threads …"
line has no space after the hash.
"""

import re

from sqz_tf.errors import SqzError

_LOGCAT = re.compile(
    r"^(?:\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*:\s"
    r"|[VDIWEF]/[^:(]*(?:\(\s*\d+\))?\s*:\s"
    r"|[VDIWEF]\s+\w+\s*:\s"
    r"|\.\.\.\s+\w+\s*:\s)")
_SEVERITY = re.compile(r"^(?:INFO|VERBOSE|WARNING|WARN|ERROR|DEBUG): ")
_NUMBER = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
_TIMINGS = re.compile(
    r"^Inference timings in us: Init: " + _NUMBER + r", First inference: " +
    _NUMBER + r", Warmup \(avg\): " + _NUMBER + r", Inference \(avg\): " +
    _NUMBER)
_STATS_ITEM = re.compile(r"(\w+)=(\S+)")
_MEMORY = re.compile(
    r"^(?:Memory footprint delta from the start of the tool|"
    r"Peak memory footprint) \(MB\): init=" + _NUMBER + r" overall=" + _NUMBER)
_PEAK = re.compile(
    r"^Overall peak memory footprint \(MB\) via periodic monitoring: " +
    _NUMBER)
_MODEL_SIZE = re.compile(r"^The input model file size \(MB\): " + _NUMBER)
_APPLIED = re.compile(
    r"^Explicitly applied (\S+) delegate, and the model graph will be "
    r"(completely|partially) executed by the delegate"
    r"(?: w/ (\d+) delegate kernels)?")
_NOT_APPLIED = re.compile(
    r"^Though (\S+) delegate is explicitly applied, the model graph will not "
    r"be executed")
_REPLACING = re.compile(
    r"Replacing (\d+) out of (\d+) node\(s\) with delegate")
_NODES_EXECUTED = re.compile(r"^Number of nodes executed: (\d+)")
_PROFILE_COLUMNS = ("count", "avg_ms", "avg_pct", "cdf_pct", "mem_kb",
                    "times_called")


def _payload(line):
  """The tool's own text of one output line, without log prefixes."""
  line = line.rstrip("\r\n")
  line = _LOGCAT.sub("", line.lstrip(), count=1)
  return _SEVERITY.sub("", line.strip(), count=1)


def _stats(text):
  """count=… first=… line → dict (count int, the rest float)."""
  stats = {}
  for key, value in _STATS_ITEM.findall(text):
    try:
      number = float(value)
    except ValueError:
      continue
    stats[key] = int(number) if key == "count" else number
  return stats


def _profile_row(text):
  """One "Summary by node type" row; node types may contain spaces."""
  fields = text.split()
  if len(fields) < len(_PROFILE_COLUMNS) + 1:
    return None
  try:
    values = [float(field.rstrip("%"))
              for field in fields[-len(_PROFILE_COLUMNS):]]
  except ValueError:
    return None
  row = {"node_type": " ".join(fields[:-len(_PROFILE_COLUMNS)])}
  row.update(zip(_PROFILE_COLUMNS, values))
  row["count"] = int(row["count"])
  row["times_called"] = int(row["times_called"])
  return row


def _failure_reason(lines):
  errors = [line for line in lines
            if line.startswith(("ERROR: ", "Failed", "Benchmarking failed"))
            or "error" in line.lower()]
  if errors:
    return errors[0].removeprefix("ERROR: ")
  tail = [line for line in lines if line]
  return tail[-1] if tail else "no output"


def parse(text: str) -> dict:
  """benchmark_model's stdout+stderr → the dict described in the docstring.

  Raises SqzError when the text has no "Inference timings" line (the
  benchmark failed or was cut short), naming the first error it printed.
  """
  raw = [line for line in text.splitlines() if not line.startswith("# ")]
  # Error lines keep their severity so that the failure reason can find them.
  unprefixed = [_LOGCAT.sub("", line.lstrip(), count=1).strip()
                for line in raw]
  lines = [_payload(line) for line in raw]
  result = {
      "init_us": None, "first_inference_us": None, "warmup_avg_us": None,
      "inference_avg_us": None, "warmup_runs": None, "inference_runs": None,
      "memory": {"init_mb": None, "overall_mb": None, "peak_mb": None},
      "delegation": {"delegate": None, "execution": None,
                     "delegate_kernels": None, "replaced_nodes": None,
                     "total_nodes": None},
      "model_size_mb": None, "op_profile": [], "op_profile_nodes": None,
  }
  run_stats = []
  section = None  # "init" or "regular" profiling output
  in_summary = False
  for line in lines:
    if match := _TIMINGS.match(line):
      (result["init_us"], result["first_inference_us"],
       result["warmup_avg_us"], result["inference_avg_us"]) = (
           float(value) for value in match.groups())
      # The per-phase lines are the ones before this summary; profiling
      # tables after it repeat "Timings (microseconds): count=…" lines.
      if len(run_stats) >= 2:
        result["warmup_runs"] = run_stats[0]
      if run_stats:
        result["inference_runs"] = run_stats[-1]
      run_stats = None
    elif line.startswith("count=") and run_stats is not None:
      run_stats.append(_stats(line))
    elif match := _MEMORY.match(line):
      result["memory"]["init_mb"] = float(match.group(1))
      result["memory"]["overall_mb"] = float(match.group(2))
    elif match := _PEAK.match(line):
      result["memory"]["peak_mb"] = float(match.group(1))
    elif match := _MODEL_SIZE.match(line):
      result["model_size_mb"] = float(match.group(1))
    elif match := _APPLIED.match(line):
      delegation = result["delegation"]
      delegation["delegate"] = match.group(1)
      delegation["execution"] = ("full" if match.group(2) == "completely"
                                 else "partial")
      if match.group(3):
        delegation["delegate_kernels"] = int(match.group(3))
    elif match := _NOT_APPLIED.match(line):
      result["delegation"]["delegate"] = match.group(1)
      result["delegation"]["execution"] = "none"
    elif match := _REPLACING.search(line):
      delegation = result["delegation"]
      delegation["replaced_nodes"] = ((delegation["replaced_nodes"] or 0) +
                                      int(match.group(1)))
      delegation["total_nodes"] = ((delegation["total_nodes"] or 0) +
                                   int(match.group(2)))
    elif line.startswith("Profiling Info for Benchmark Initialization"):
      section, in_summary = "init", False
    elif line.startswith("Operator-wise Profiling Info for Regular"):
      section, in_summary = "regular", False
    elif section == "regular" and not result["op_profile"] or in_summary:
      # Only the first summary table of the regular runs: later ones (newer
      # versions add per-delegate breakdowns) would double-count.
      if match := _NODES_EXECUTED.match(line):
        result["op_profile_nodes"] = int(match.group(1))
      elif "Summary by node type" in line:
        in_summary = True
      elif in_summary and line.startswith("[Node type]"):
        continue
      elif in_summary:
        row = _profile_row(line)
        if row is None:
          in_summary, section = False, None
        else:
          result["op_profile"].append(row)
  if result["inference_avg_us"] is None:
    raise SqzError("benchmark_model printed no inference timings: "
                   f"{_failure_reason(unprefixed)}")
  return result


# Op-profile node types that multiply activations by weights: XNNPACK's
# names (dense, grouped and depthwise convolutions alike), then TFLite
# kernels'. XNNPACK's "Batch Matrix Multiply (NC, F32, QC8W)" is not one:
# it is an activation product whose int8 operand it packs at run time.
PROJECTION_NODE_TYPES = ("Fully Connected", "Convolution", "FULLY_CONNECTED",
                         "CONV_2D")


def projection_split(op_profile):
  """(ms in PROJECTION_NODE_TYPES nodes, ms in all others) of a parsed
  op_profile: where a model's time goes, projections or the rest."""
  projections = sum(row["avg_ms"] for row in op_profile
                    if row["node_type"].startswith(PROJECTION_NODE_TYPES))
  return projections, sum(row["avg_ms"] for row in op_profile) - projections
