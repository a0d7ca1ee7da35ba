r"""Splits a SQuAD file by article, and scores the first-words baseline.

  python tools/squad_split.py --input=dev-v1.1.json --train_articles=38 \
      --output_dir=runs/squad/data

Writes train-v1.1.json (the first N articles) and dev-v1.1.json (the
rest) under --output_dir, ready for `run_squad --data_dir`: a fixed split
where no article is in both parts. That is how this repository measures
finetuning without the official training file.

It also prints a trivial baseline for the held-out part: answer every
question with the first k words of its context, k picked by F1 on the
training part. A model that learned something beats it.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=wrong-import-position
from sqz_tf.data import squad
from sqz_tf.data import squad_metrics
from sqz_tf.errors import SqzError


def first_words(examples, k):
  return {e.qas_id: " ".join(e.context.split()[:k]) for e in examples}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--input", required=True)
  parser.add_argument("--train_articles", type=int, required=True)
  parser.add_argument("--output_dir", required=True)
  parser.add_argument("--overwrite", action="store_true")
  args = parser.parse_args()
  try:
    version, data = squad.articles(args.input)
    if not 0 < args.train_articles < len(data):
      raise squad.SquadError(f"--train_articles must be within 1.."
                             f"{len(data) - 1} ({len(data)} articles)")
    version = version.lstrip("v") or "1.1"
    paths = {}
    for split, part in (("train", data[:args.train_articles]),
                        ("dev", data[args.train_articles:])):
      paths[split] = os.path.join(args.output_dir, f"{split}-v{version}.json")
      squad.write_squad(part, paths[split], version, args.overwrite)
    train = squad.read_squad(paths["train"])
    dev = squad.read_squad(paths["dev"])
  except SqzError as e:
    sys.exit(f"squad_split: error: {e}")
  print(f"train: {args.train_articles} articles, {len(train)} questions; "
        f"held out: {len(data) - args.train_articles} articles, {len(dev)} "
        "questions")
  best_k = max(range(1, 31), key=lambda k: squad_metrics.evaluate_v1(
      train, first_words(train, k))["f1"])
  result = squad_metrics.evaluate_v1(dev, first_words(dev, best_k))
  print(f"baseline (first {best_k} words of the context) on the held-out "
        f"part: EM {result['exact_match']:.2f}, F1 {result['f1']:.2f}")


if __name__ == "__main__":
  main()
