"""tools/transfer_study.py without finetuning: splits, baselines, reports."""

import importlib.util
import os

from tests import data_fixtures
from tests.cli_runner import REPO


def _tool():
  spec = importlib.util.spec_from_file_location(
      "transfer_study", os.path.join(REPO, "tools", "transfer_study.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _glue(root):
  data_fixtures.write_toy_rte(root / "RTE", rows=50)
  # QNLI as here: a dev.tsv only; CoLA: no header, label in column 1.
  os.makedirs(root / "QNLI")
  rows = [f"{i}\tq {i}?\ts {i}.\t"
          f"{'entailment' if i % 3 else 'not_entailment'}" for i in range(40)]
  (root / "QNLI" / "dev.tsv").write_text(
      "\n".join(["index\tquestion\tsentence\tlabel"] + rows) + "\n")
  os.makedirs(root / "CoLA")
  for split, rows in (("train", 30), ("dev", 12)):
    (root / "CoLA" / f"{split}.tsv").write_text("".join(
        f"src\t{int(i % 4 != 0)}\t\tsentence {i} .\n" for i in range(rows)))


def test_splits_are_capped_seeded_subsets_with_headers(tmp_path):
  tool = _tool()
  _glue(tmp_path / "glue")
  out = tmp_path / "study"
  rte = tool.prepare_task_data(str(tmp_path / "glue"), "rte", str(out), 20, 100)
  assert rte == {"train_rows": 20, "dev_rows": 80, "train_rows_available": 50,
                 "dev_rows_available": 80, "train_source": "train.tsv"}
  original = (tmp_path / "glue" / "RTE" / "train.tsv").read_text().splitlines()
  train = (out / "RTE" / "train.tsv").read_text().splitlines()
  assert train[0] == original[0] and len(train) == 21
  assert [original.index(line) for line in train[1:]] == sorted(
      original.index(line) for line in train[1:])  # a subset, in order
  again = tool.prepare_task_data(str(tmp_path / "glue"), "rte",
                                 str(tmp_path / "again"), 20, 100)
  assert (tmp_path / "again" / "RTE" / "train.tsv").read_text() == "\n".join(
      train) + "\n"
  assert again == rte

  qnli = tool.prepare_task_data(str(tmp_path / "glue"), "qnli", str(out), 100,
                                15)
  assert (qnli["train_rows"], qnli["dev_rows"]) == (25, 15)
  dev = set((out / "QNLI" / "dev.tsv").read_text().splitlines()[1:])
  train = set((out / "QNLI" / "train.tsv").read_text().splitlines()[1:])
  assert not dev & train and len(dev | train) == 40

  cola = tool.prepare_task_data(str(tmp_path / "glue"), "cola", str(out), 10,
                                100)
  assert cola["train_rows"] == 10
  assert len((out / "CoLA" / "train.tsv").read_text().splitlines()) == 10


def test_majority_baseline_predicts_the_most_frequent_training_label(tmp_path):
  tool = _tool()
  _glue(tmp_path / "glue")
  # CoLA training labels are 3/4 "1": always 1 has no correlation.
  assert tool.majority_baseline("cola", str(tmp_path / "glue" / "CoLA")) == {
      "matthews_corr": 0.0}
  rte_dir = tmp_path / "glue" / "RTE"
  labels = {split: [line.split("\t")[3] for line in (
      rte_dir / f"{split}.tsv").read_text().splitlines()[1:]]
            for split in ("train", "dev")}
  majority = max(set(labels["train"]), key=labels["train"].count)
  expected = labels["dev"].count(majority) / len(labels["dev"])
  assert tool.majority_baseline("rte", str(rte_dir)) == {"accuracy": expected}


def test_table_and_plot_from_runs(tmp_path):
  tool = _tool()
  runs = [{"task": "rte", "arm": arm, "seed": seed, "final": value}
          for arm, seed, value in (("random", 1, 0.5), ("random", 2, 0.54),
                                   ("pretrained", 1, 0.6))]
  runs += [{"task": "stsb", "arm": "pretrained", "seed": 1, "final": 0.3}]
  rows = tool.summarize(
      ["rte", "stsb"], runs,
      {"rte": {"accuracy": 0.52}, "stsb": {"pearson": None}},
      {"rte": {"train_rows": 20, "dev_rows": 80},
       "stsb": {"train_rows": 30, "dev_rows": 10}})
  assert rows[0]["random"]["mean"] == 0.52
  assert rows[0]["random"]["values"] == [0.5, 0.54]
  table = tool.markdown_table(rows).splitlines()
  assert table[2] == ("| RTE | accuracy | 20 | 80 | 0.520 | 0.520 ± 0.028 "
                      "(n=2) | 0.600 (n=1) | +0.080 |")
  assert table[3] == ("| STS-B | pearson | 30 | 10 | n/a | n/a | 0.300 "
                      "(n=1) | n/a |")
  tool.plot(rows, str(tmp_path / "results.png"))
  assert (tmp_path / "results.png").read_bytes()[:4] == b"\x89PNG"
