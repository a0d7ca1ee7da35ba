r"""What pretraining buys: GLUE from random init vs a pretrained encoder.

  python tools/transfer_study.py --glue_dir=glue \
      --vocab_file=bert-base-uncased-vocab.txt \
      --pretrained=runs/small_pretrain/encoder.keras \
      --model_config=official_configs/squeezebert_small.json \
      --output_dir=runs/transfer_study [--seeds=1,2] [-- run_classifier flags]

For every task and seed it finetunes the same architecture (--model_config)
twice with `python -m sqz_tf.run_classifier` and identical flags: from
random weights and from the pretrained encoder (`--init_checkpoint`:
encoder.keras, or a pretraining checkpoint prefix).
Training sets are capped at --max_train_rows rows drawn with a fixed seed
and dev sets at --max_dev_rows (QNLI, which has no train.tsv here, is split
from its dev.tsv: --max_dev_rows rows for dev, the rest for training). The
split files go to output_dir/data/, so every run of every arm sees the same
rows. The majority-class baseline (scikit-learn's DummyClassifier: the most
frequent training label) comes from the same splits; for STS-B a constant
prediction has no correlation, so its baseline is n/a.

Outputs in output_dir: results.json (every run, every epoch), results.md
(the table: final-epoch dev metric, mean and spread over seeds) and
results.png. Each finished run leaves study_result.json in its folder and is
skipped on a rerun, so an interrupted study resumes (run_classifier resumes
a half-finished run from its checkpoint). --arms runs one arm only;
--report_only tabulates what has finished.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn import dummy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=wrong-import-position
from sqz_tf.data import glue  # noqa: E402
from sqz_tf.data import glue_metrics  # noqa: E402

TASK_DIRS = {"sst2": "SST-2", "cola": "CoLA", "stsb": "STS-B", "rte": "RTE",
             "qnli": "QNLI", "wnli": "WNLI"}
ARMS = ("random", "pretrained")


# Data -----------------------------------------------------------------------
def _lines(path):
  with open(path, encoding="utf-8", newline="") as f:
    return f.read().splitlines()


def _write_lines(path, lines):
  with open(path + ".tmp", "w", encoding="utf-8", newline="") as f:
    f.write("\n".join(lines) + "\n")
  os.replace(path + ".tmp", path)


def _sample(rows, limit, rng):
  if len(rows) <= limit:
    return rows
  return [rows[i] for i in sorted(rng.sample(range(len(rows)), limit))]


def prepare_task_data(glue_dir, task_key, output_dir, max_train_rows,
                      max_dev_rows, seed=0):
  """Writes the study's train.tsv/dev.tsv of one task; returns their sizes.

  Rows are copied verbatim (GLUE rows are single lines), headers kept.
  Rows beyond `max_train_rows` / `max_dev_rows` are dropped at random
  (fixed `seed`, original order kept); a task without train.tsv (QNLI here)
  is split from dev.tsv first.
  """
  task = glue.get_task(task_key)
  source = os.path.join(glue_dir, TASK_DIRS[task_key])
  target = os.path.join(output_dir, TASK_DIRS[task_key])
  has_header = task.splits["train"][1].header
  info_path = os.path.join(target, "split.json")
  if os.path.exists(info_path):
    with open(info_path, encoding="utf-8") as f:
      return json.load(f)

  def body(lines):
    return [l for l in (lines[1:] if has_header else lines) if l.strip()]

  header = _lines(os.path.join(source, "dev.tsv"))[:1] if has_header else []
  rng = random.Random(seed)
  dev = body(_lines(os.path.join(source, "dev.tsv")))
  train_path = os.path.join(source, "train.tsv")
  if os.path.exists(train_path):
    train, origin = body(_lines(train_path)), "train.tsv"
  else:  # Split dev in two: dev rows first, training rows from the rest.
    rng.shuffle(dev)
    dev, train = dev[:max_dev_rows], dev[max_dev_rows:]
    origin = "dev.tsv rows not in the study's dev split"
  available = {"train": len(train), "dev": len(dev)}
  train, dev = _sample(train, max_train_rows, rng), _sample(dev, max_dev_rows,
                                                              rng)
  os.makedirs(target, exist_ok=True)
  _write_lines(os.path.join(target, "train.tsv"), header + train)
  _write_lines(os.path.join(target, "dev.tsv"), header + dev)
  info = {"train_rows": len(train), "dev_rows": len(dev),
          "train_rows_available": available["train"],
          "dev_rows_available": available["dev"], "train_source": origin}
  _write_lines(info_path, [json.dumps(info)])
  return info


def majority_baseline(task_key, data_dir):
  """Dev metrics of always predicting the most frequent training label.

  None for regression (STS-B): a constant prediction has no correlation.
  """
  task = glue.get_task(task_key)
  if task.is_regression:
    return {name: None for name in task.metrics}
  labels = {split: [task.label_id(e.label) for e in glue.read_examples(
      task.name, data_dir, split)] for split in ("train", "dev")}
  estimator = dummy.DummyClassifier(strategy="most_frequent")
  estimator.fit(np.zeros((len(labels["train"]), 1)), labels["train"])
  predictions = estimator.predict(np.zeros((len(labels["dev"]), 1)))
  return glue_metrics.compute_metrics(task.name, predictions, labels["dev"])


# Runs -----------------------------------------------------------------------
def run_command(args, task_key, arm, seed, data_dir, model_dir, extra):
  command = [sys.executable, "-m", "sqz_tf.run_classifier",
             f"--task={task_key}", f"--data_dir={data_dir}",
             f"--vocab_file={args.vocab_file}", f"--model_dir={model_dir}",
             "--do_train", "--do_eval", "--noexport_serving",
             f"--max_seq_length={args.max_seq_length}",
             f"--train_batch_size={args.train_batch_size}",
             f"--learning_rate={args.learning_rate}",
             f"--num_train_epochs={args.num_train_epochs}",
             f"--warmup_proportion={args.warmup_proportion}",
             f"--seed={seed}", "--log_steps=50",
             f"--model_config={args.model_config}"]
  if arm == "pretrained":
    command.append(f"--init_checkpoint={args.pretrained}")
  return command + extra


def run_one(args, task_key, arm, seed, data_dir, extra, start_runs=True):
  """Finetunes one (task, arm, seed) unless done; returns its result.

  A run that run_classifier finished is collected; with `start_runs` False
  an unfinished one is left alone (None).
  """
  model_dir = os.path.join(args.output_dir, "runs", task_key, arm,
                           f"seed{seed}")
  result_path = os.path.join(model_dir, "study_result.json")
  if os.path.exists(result_path):
    with open(result_path, encoding="utf-8") as f:
      return json.load(f)
  evaluation_path = os.path.join(model_dir, "eval_results.json")
  start, seconds = time.time(), None
  # run_classifier writes eval_results.json once the last epoch is scored.
  if not os.path.exists(evaluation_path):
    if not start_runs:
      return None
    command = run_command(args, task_key, arm, seed, data_dir, model_dir,
                          extra)
    print("$ " + " ".join(command), flush=True)
    completed = subprocess.run(command, cwd=REPO, check=False,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if completed.returncode:
      sys.exit(f"transfer_study: error: {task_key} {arm} seed {seed} failed "
               f"(exit {completed.returncode}); rerun to resume")
    seconds = round(time.time() - start, 1)
  with open(evaluation_path, encoding="utf-8") as f:
    evaluation = json.load(f)
  metric = evaluation["main_metric"]
  result = {"task": task_key, "arm": arm, "seed": seed, "metric": metric,
            "settings": " ".join(run_command(args, task_key, arm, seed,
                                             data_dir, model_dir, extra)[3:]),
            "final": evaluation["epochs"][-1][metric],
            "best_epoch": evaluation["best"][metric],
            "epochs": evaluation["epochs"],
            "seconds": seconds}
  if not args.keep_models:  # the study needs the numbers, not the weights
    for name in ("serving", "checkpoints"):
      shutil.rmtree(os.path.join(model_dir, name), ignore_errors=True)
    if os.path.exists(os.path.join(model_dir, "classifier.keras")):
      os.remove(os.path.join(model_dir, "classifier.keras"))
  _write_lines(result_path, [json.dumps(result, indent=2)])
  print(f"[{seconds} s] {task_key} {arm} seed {seed}: {metric} "
        f"{result['final']:.4f}", flush=True)
  return result


# Summary --------------------------------------------------------------------
def _mean_spread(values):
  if not values:
    return None, None
  return (statistics.fmean(values),
          statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(tasks, runs, baselines, splits):
  """Rows of the table: per task the metric, baseline and both arms."""
  rows = []
  for task_key in tasks:
    metric = glue.get_task(task_key).main_metric
    row = {"task": glue.get_task(task_key).name, "metric": metric,
           "train_rows": splits[task_key]["train_rows"],
           "dev_rows": splits[task_key]["dev_rows"],
           "majority": baselines[task_key][metric]}
    for arm in ARMS:
      values = [r["final"] for r in runs
                if r["task"] == task_key and r["arm"] == arm]
      mean, spread = _mean_spread(values)
      row[arm] = {"mean": mean, "std": spread, "seeds": len(values),
                  "values": values}
    rows.append(row)
  return rows


def _cell(value, spread=None, seeds=None):
  if value is None:
    return "n/a"
  return (f"{value:.3f}" + (f" ± {spread:.3f}" if spread else "") +
          (f" (n={seeds})" if seeds else ""))


def markdown_table(rows):
  lines = ["| task | metric | train rows | dev rows | majority class | "
           "random init | pretrained | difference |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
  for row in rows:
    arms = [row[arm] for arm in ARMS]
    difference = (None if None in [arm["mean"] for arm in arms]
                  else arms[1]["mean"] - arms[0]["mean"])
    cells = [_cell(arm["mean"], arm["std"], arm["seeds"]) for arm in arms]
    lines.append(
        f"| {row['task']} | {row['metric']} | {row['train_rows']:,} | "
        f"{row['dev_rows']:,} | {_cell(row['majority'])} | {cells[0]} | "
        f"{cells[1]} | "
        f"{'n/a' if difference is None else f'{difference:+.3f}'} |")
  return "\n".join(lines) + "\n"


def plot(rows, path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  figure, axes = pyplot.subplots(1, len(rows), figsize=(2.6 * len(rows), 3.4),
                                 squeeze=False)
  colors = {"majority": "#bbbbbb", "random": "#e8a33d",
            "pretrained": "#3d7be8"}
  for ax, row in zip(axes[0], rows):
    for x, key in enumerate(("majority",) + ARMS):
      value = row[key] if key == "majority" else row[key]["mean"]
      if value is not None:
        ax.bar(x, value, color=colors[key], width=0.7)
      if key in ARMS:
        ax.scatter([x] * len(row[key]["values"]), row[key]["values"],
                   color="black", s=8, zorder=3)
    ax.set_xticks(range(3), ["majority", "random", "pretrained"],
                  rotation=30, fontsize=8)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_title(f"{row['task']} ({row['metric']})", fontsize=9)
  figure.suptitle("Dev metric after finetuning (bars: mean over seeds, "
                  "dots: seeds)", fontsize=10)
  figure.tight_layout()
  figure.savefig(path + ".tmp.png", dpi=120)
  os.replace(path + ".tmp.png", path)
  pyplot.close(figure)


def write_reports(args, rows, runs, baselines, splits):
  settings = {k: getattr(args, k) for k in (
      "max_train_rows", "max_dev_rows", "max_seq_length", "train_batch_size",
      "learning_rate", "num_train_epochs", "warmup_proportion", "seeds",
      "pretrained", "model_config")}
  _write_lines(os.path.join(args.output_dir, "results.json"), [json.dumps(
      {"settings": settings, "table": rows, "baselines": baselines,
       "splits": splits, "runs": runs}, indent=2)])
  table = markdown_table(rows)
  _write_lines(os.path.join(args.output_dir, "results.md"), [
      "Final-epoch dev metric: mean ± standard deviation over the finished "
      f"seeds (n); settings: {json.dumps(settings)}", "", table])
  plot(rows, os.path.join(args.output_dir, "results.png"))
  print(table)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--glue_dir", required=True)
  parser.add_argument("--vocab_file", required=True)
  parser.add_argument("--pretrained", required=True,
                      help="encoder.keras of a pretraining run, or one of "
                      "its checkpoints (prefix)")
  parser.add_argument("--model_config", required=True,
                      help="the same architecture, for the random-init arm")
  parser.add_argument("--output_dir", required=True)
  parser.add_argument("--tasks", default=",".join(TASK_DIRS))
  parser.add_argument("--arms", default=",".join(ARMS))
  parser.add_argument("--seeds", default="1,2")
  parser.add_argument("--max_train_rows", type=int, default=2000)
  parser.add_argument("--max_dev_rows", type=int, default=500)
  parser.add_argument("--data_seed", type=int, default=0)
  parser.add_argument("--max_seq_length", type=int, default=64)
  parser.add_argument("--train_batch_size", type=int, default=32)
  parser.add_argument("--learning_rate", type=float, default=3e-4)
  parser.add_argument("--num_train_epochs", type=float, default=3)
  parser.add_argument("--warmup_proportion", type=float, default=0.1)
  parser.add_argument("--keep_models", action="store_true")
  parser.add_argument("--report_only", action="store_true",
                      help="tabulate the finished runs, start none")
  args, extra = parser.parse_known_args()
  extra = [e for e in extra if e != "--"]
  tasks, arms = args.tasks.split(","), args.arms.split(",")
  seeds = [int(s) for s in args.seeds.split(",")]
  unknown = sorted(set(tasks) - set(TASK_DIRS)) + sorted(set(arms) - set(ARMS))
  if unknown:
    sys.exit(f"transfer_study: error: unknown tasks/arms {', '.join(unknown)}")
  if "pretrained" in arms and not args.report_only and not (
      os.path.exists(args.pretrained) or
      os.path.exists(args.pretrained + ".index")):
    sys.exit(f"transfer_study: error: no pretrained model {args.pretrained}")

  data_root = os.path.join(args.output_dir, "data")
  splits = {t: prepare_task_data(args.glue_dir, t, data_root,
                                 args.max_train_rows, args.max_dev_rows,
                                 args.data_seed) for t in tasks}
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    baselines = {t: majority_baseline(t, os.path.join(data_root, TASK_DIRS[t]))
                 for t in tasks}
  # Seeds outermost: an interrupted study has whole seeds to report.
  for seed in seeds:
    for task_key in tasks:
      for arm in arms:
        run_one(args, task_key, arm, seed,
                os.path.join(data_root, TASK_DIRS[task_key]), extra,
                start_runs=not args.report_only)
  # The table holds every finished run, including other --arms invocations.
  runs = []
  for task_key in tasks:
    for arm in ARMS:
      for seed in seeds:
        path = os.path.join(args.output_dir, "runs", task_key, arm,
                            f"seed{seed}", "study_result.json")
        if os.path.exists(path):
          with open(path, encoding="utf-8") as f:
            runs.append(json.load(f))
  write_reports(args, summarize(tasks, runs, baselines, splits), runs,
                baselines, splits)


if __name__ == "__main__":
  main()
