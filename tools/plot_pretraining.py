r"""Pretraining curves from a run's TensorBoard scalars, as one PNG.

  python tools/plot_pretraining.py --model_dir=runs/small_pretrain \
      --output=runs/small_pretrain/curves.png

Plots loss, MLM accuracy and SOP/NSP accuracy over the steps of
model_dir/train/ (run_pretraining's summaries, one point per --log_steps
window). When model_dir/eval_results.json exists, its held-out MLM accuracy
and the unigram baseline (always the most frequent masked token) are drawn
on the accuracy panel. Also writes the scalars as OUTPUT.json.
"""

import argparse
import glob
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=wrong-import-position,unused-import
import sqz_tf  # noqa: E402,F401  (Keras 2 before TensorFlow)
import tensorflow as tf  # noqa: E402


def read_scalars(summary_dir):
  """{tag: [(step, value), ...]} from every event file, last write wins."""
  scalars = {}
  for path in sorted(glob.glob(os.path.join(summary_dir, "events.out.*"))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        number = (float(tf.make_ndarray(value.tensor)) if value.HasField(
            "tensor") else value.simple_value)
        scalars.setdefault(value.tag, {})[event.step] = number
  return {tag: sorted(points.items()) for tag, points in scalars.items()}


def plot_curves(scalars, evaluation, output):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  figure, (loss_ax, accuracy_ax) = pyplot.subplots(1, 2, figsize=(10, 3.8))
  for tag, ax in (("loss", loss_ax), ("mlm_accuracy", accuracy_ax),
                  ("sop_accuracy", accuracy_ax), ("nsp_accuracy", accuracy_ax)):
    if tag in scalars:
      steps, values = zip(*scalars[tag])
      ax.plot(steps, values, label=f"train {tag}")
  if evaluation:
    step = evaluation.get("step")
    accuracy_ax.scatter([step], [evaluation["mlm_accuracy"]], color="red",
                        zorder=3, label="held-out mlm_accuracy")
    accuracy_ax.axhline(evaluation["mlm_unigram_baseline_accuracy"],
                        color="gray", linestyle="--",
                        label="held-out unigram baseline")
  loss_ax.set_title("loss (MLM + sentence order)")
  accuracy_ax.set_title("accuracy")
  for ax in (loss_ax, accuracy_ax):
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(output + ".tmp.png", dpi=120)
  os.replace(output + ".tmp.png", output)
  pyplot.close(figure)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model_dir", required=True)
  parser.add_argument("--output", required=True)
  args = parser.parse_args()
  scalars = read_scalars(os.path.join(args.model_dir, "train"))
  if not scalars:
    sys.exit(f"plot_pretraining: error: no summaries in {args.model_dir}/train")
  evaluation = None
  results = os.path.join(args.model_dir, "eval_results.json")
  if os.path.exists(results):
    with open(results, encoding="utf-8") as f:
      evaluation = json.load(f)
  plot_curves(scalars, evaluation, args.output)
  with open(os.path.splitext(args.output)[0] + ".json", "w",
            encoding="utf-8") as f:
    json.dump({"scalars": scalars, "eval": evaluation}, f, indent=1)
  print(f"Wrote {args.output}")


if __name__ == "__main__":
  main()
