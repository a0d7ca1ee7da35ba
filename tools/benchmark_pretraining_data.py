r"""Benchmark: sqz_tf.create_pretraining_data vs google-research/bert's way.

Runs our tool and tools/reference_create_pretraining_data.py (a faithful
single-process re-implementation of google-research/bert's algorithm) on
the same text, interleaved, at 1x and 10x input size, and reports medians
of wall-clock tokens/s, CPU time and peak memory (PSS summed over the
process and its workers, sampled every 50 ms). Start-up (importing
TensorFlow) is measured on a tiny input and also reported separately.
Both make NSP examples (the reference has no SOP) with the same settings.
The 10x input repeats the 1x text ten times.

  python tools/benchmark_pretraining_data.py \
      --corpus_glob='../shared/data/corpus/*/*' \
      --vocab_file=../shared/data/vocab/bert-base-uncased-vocab.txt
"""

import argparse
import glob
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _process_tree(root):
  """The pid and all its descendants (one pass over /proc)."""
  children = {}
  for entry in os.listdir("/proc"):
    if entry.isdigit():
      try:
        with open(f"/proc/{entry}/stat") as f:
          stat = f.read()
      except OSError:
        continue
      ppid = int(stat[stat.rindex(")") + 2:].split()[1])
      children.setdefault(ppid, []).append(int(entry))
  tree, todo = [], [root]
  while todo:
    pid = todo.pop()
    tree.append(pid)
    todo.extend(children.get(pid, []))
  return tree


def _memory_kib(pid):
  """PSS (shared pages split between processes) or else RSS, in KiB."""
  for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
    try:
      with open(f"/proc/{pid}/{name}") as f:
        for line in f:
          if line.startswith(key):
            return int(line.split()[1])
    except OSError:
      continue
  return 0


def _children_cpu():
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def run_measured(command):
  """(wall s, peak tree memory MiB, stdout, CPU s of the tree) of a command."""
  cpu = _children_cpu()
  start = time.perf_counter()
  process = subprocess.Popen(command, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  peak = 0
  while process.poll() is None:
    peak = max(peak, sum(_memory_kib(p) for p in _process_tree(process.pid)))
    time.sleep(0.05)
  wall = time.perf_counter() - start
  stdout = process.stdout.read()
  if process.returncode:
    raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}")
  return wall, peak / 1024, stdout, _children_cpu() - cpu


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--corpus_glob", required=True)
  parser.add_argument("--vocab_file", required=True)
  parser.add_argument("--dupe_factor", type=int, default=2)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--scales", default="1,10")
  parser.add_argument("--num_workers", type=int, default=2)
  args = parser.parse_args()
  files = sorted(f for f in glob.glob(args.corpus_glob) if os.path.isfile(f))
  text = b"".join(open(f, "rb").read().rstrip(b"\n") + b"\n\n" for f in files)
  common = ["--max_seq_length=128", "--max_predictions_per_seq=20",
            "--masked_lm_prob=0.15", "--short_seq_prob=0.1",
            f"--dupe_factor={args.dupe_factor}", "--random_seed=12345"]
  print(f"input: {len(files)} files, {len(text) / 1e6:.2f} MB; "
        f"dupe_factor={args.dupe_factor}; {os.cpu_count()} CPUs")
  with tempfile.TemporaryDirectory() as tmp:
    # Start-up cost: the same commands on a few hundred lines.
    tiny = os.path.join(tmp, "tiny.txt")
    with open(tiny, "wb") as f:
      f.write(b"\n".join(text.split(b"\n")[:300]) + b"\n")
    startup = _measure(_commands(args, tmp, tiny, common), args.repeats,
                       "start-up")
    for scale in (int(s) for s in args.scales.split(",")):
      corpus = os.path.join(tmp, f"corpus{scale}.txt")
      with open(corpus, "wb") as f:
        for _ in range(scale):
          f.write(text)
      medians = _measure(_commands(args, tmp, corpus, common), args.repeats,
                         f"{scale}x")
      speed = {name: tokens / wall for name, (wall, _, tokens, _)
               in medians.items()}
      print(f"{scale}x median: ours {speed['ours']:.0f} tokens/s, peak "
            f"{medians['ours'][1]:.0f} MiB; reference "
            f"{speed['reference']:.0f} tokens/s, peak "
            f"{medians['reference'][1]:.0f} MiB; speed-up "
            f"{speed['ours'] / speed['reference']:.1f}x", flush=True)
      # Marginal throughput: what a run costs beyond starting up.
      marginal = {name: (tokens - startup[name][2]) /
                  max(wall - startup[name][0], 1e-9)
                  for name, (wall, _, tokens, _) in medians.items()}
      # CPU seconds do not depend on what else runs on the machine.
      per_cpu = {name: (tokens - startup[name][2]) /
                 max(cpu - startup[name][3], 1e-9)
                 for name, (_, _, tokens, cpu) in medians.items()}
      print(f"{scale}x without start-up: ours {marginal['ours']:.0f} "
            f"tokens/s; reference {marginal['reference']:.0f} tokens/s; "
            f"speed-up {marginal['ours'] / marginal['reference']:.1f}x",
            flush=True)
      print(f"{scale}x tokens per CPU-second without start-up: ours "
            f"{per_cpu['ours']:.0f}; reference {per_cpu['reference']:.0f}; "
            f"ratio {per_cpu['ours'] / per_cpu['reference']:.1f}x", flush=True)


def _commands(args, tmp, corpus, common):
  ours = [sys.executable, "-m", "sqz_tf.create_pretraining_data",
          f"--input_files={corpus}", f"--vocab_file={args.vocab_file}",
          f"--output_files={tmp}/ours.tfrecord", "--overwrite",
          "--sentence_task=nsp", f"--num_workers={args.num_workers}"]
  reference = [sys.executable,
               os.path.join(HERE, "reference_create_pretraining_data.py"),
               f"--input_file={corpus}", f"--vocab_file={args.vocab_file}",
               f"--output_file={tmp}/reference.tfrecord"]
  return {"ours": ours + common, "reference": reference + common}


def _measure(commands, repeats, label):
  """Median (wall, peak MiB, tokens) per tool; runs are interleaved."""
  results = {"ours": [], "reference": []}
  for _ in range(repeats):
    for name in ("reference", "ours"):
      wall, peak, stdout, cpu = run_measured(commands[name])
      tokens = int(re.search(r"(\d+) tokens", stdout).group(1))
      results[name].append((wall, peak, tokens, cpu))
      print(f"  {label} {name:9s} {wall:7.2f} s  {tokens / wall:9.0f} "
            f"tokens/s  peak {peak:7.0f} MiB  CPU {cpu:6.2f} s", flush=True)
  return {name: (statistics.median(r[0] for r in rows),
                 statistics.median(r[1] for r in rows), rows[0][2],
                 statistics.median(r[3] for r in rows))
          for name, rows in results.items()}


if __name__ == "__main__":
  main()
