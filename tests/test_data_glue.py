"""GLUE readers on self-written samples (malformed rows too), and metrics."""

import sqz_tf  # noqa: F401  pylint: disable=unused-import
import numpy as np
import pytest

from sqz_tf.data import demo_corpus
from sqz_tf.data import glue
from sqz_tf.data import glue_metrics

# task -> {file: text}. Each labelled file has one good row per label plus
# malformed rows: too few columns, an unknown label (or a bad score).
SAMPLES = {
    "CoLA": {
        "train.tsv": "gj04\t1\t\tThe sailors rode.\ngj04\t0\t*\tRode the.\n"
                     "gj04\t1\n" "gj04\tx\t\tBad label.\n",
        "test.tsv": "index\tsentence\n0\tBill whistled.\n1\tThe car.\n",
    },
    "SST-2": {
        "train.tsv": "sentence\tlabel\nit 's charming . \t1\nbleak \t0\n"
                     "no label\n" "odd\t2\n",
        "test.tsv": "index\tsentence\n0\tuneasy mishmash .\n",
    },
    "MRPC": {
        "train.tsv": "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                     "1\t1\t2\tHe said \"yes\".\tHe agreed.\n"
                     "0\t3\t4\tA cat.\tA dog.\n" "1\t5\t6\tonly one\n",
        "test.tsv": "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                    "0\t1\t2\tFirst.\tSecond.\n",
    },
    "STS-B": {
        "train.tsv": "index\tgenre\tfilename\tyear\told_index\tsource1\t"
                     "source2\tsentence1\tsentence2\tscore\n"
                     "0\tg\tf\t2012\t1\tn\tn\tA plane.\tAn air plane.\t5.000\n"
                     "1\tg\tf\t2012\t2\tn\tn\tA man.\tA flute.\t3.8\n"
                     "2\tg\tf\t2012\t3\tn\tn\tBad.\tScore.\tfive\n",
        "test.tsv": "index\tgenre\tfilename\tyear\told_index\tsource1\t"
                    "source2\tsentence1\tsentence2\n"
                    "0\tg\tf\t2012\t1\tn\tn\tA girl.\tA woman.\n",
    },
    "QQP": {
        "train.tsv": "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
                     "0\t1\t2\tHow?\tWhy?\t0\n1\t3\t4\tWhat?\tWhat!\t1\n"
                     "2\t5\t6\tBroken row\n"
                     # A line break splits a row in two bad ones.
                     "3\t7\t8\tA question with a\nline break\t0\n",
        "test.tsv": "id\tquestion1\tquestion2\n0\tQ1?\tQ2?\n",
    },
    "MNLI": {
        "train.tsv": "\t".join(f"c{i}" for i in range(12)) + "\n" +
                     "\t".join(["0", "1", "2", "fiction", "p", "p", "p", "p",
                                "The premise.", "The hypothesis.", "neutral",
                                "neutral"]) + "\n" +
                     "\t".join(["1", "1", "2", "fiction", "p", "p", "p", "p",
                                "P2.", "H2.", "entailment", "contradiction"])
                     + "\n" + "\t".join(["2"] * 12) + "\n",
        "dev_matched.tsv": "\t".join(f"c{i}" for i in range(16)) + "\n" +
                           "\t".join(["0"] * 8 + ["P.", "H."] +
                                     ["neutral"] * 5 + ["entailment"]) + "\n",
        "dev_mismatched.tsv": "\t".join(f"c{i}" for i in range(16)) + "\n" +
                              "\t".join(["0"] * 8 + ["P.", "H."] +
                                        ["neutral"] * 6) + "\n",
        "test_matched.tsv": "\t".join(f"c{i}" for i in range(10)) + "\n" +
                            "\t".join(["7"] * 8 + ["P.", "H."]) + "\n",
        "test_mismatched.tsv": "\t".join(f"c{i}" for i in range(10)) + "\n" +
                               "\t".join(["9"] * 8 + ["P.", "H."]) + "\n",
    },
    "QNLI": {
        "train.tsv": "index\tquestion\tsentence\tlabel\n"
                     "0\tWhat?\tThis.\tentailment\n"
                     "1\tWho?\tThat.\tnot_entailment\n" "2\tWhy?\tNo.\tmaybe\n",
        "test.tsv": "index\tquestion\tsentence\n0\tQ?\tS.\n",
    },
    "RTE": {
        "train.tsv": "index\tsentence1\tsentence2\tlabel\n"
                     "0\tNo weapons.\tWeapons.\tnot_entailment\n"
                     "1\tA place.\tA place!\tentailment\n",
        "test.tsv": "index\tsentence1\tsentence2\n0\tMangla.\tShukla.\n",
    },
    "WNLI": {
        "train.tsv": "index\tsentence1\tsentence2\tlabel\n"
                     "0\tI stuck a pin.\tThe carrot.\t1\n"
                     "1\tJohn.\tBilly.\t0\n",
        "test.tsv": "index\tsentence1\tsentence2\n0\tMaude.\tDora.\n",
    },
    "AX": {
        "diagnostic.tsv": "index\tsentence1\tsentence2\n"
                          "0\tThe cat sat.\tThe cat did not sit.",
    },
}
# (split, good rows, skipped rows) per task.
EXPECTED = {"CoLA": ("train", 2, 2), "SST-2": ("train", 2, 2),
            "MRPC": ("train", 2, 1), "STS-B": ("train", 2, 1),
            "QQP": ("train", 2, 3), "MNLI": ("train", 2, 1),
            "QNLI": ("train", 2, 1), "RTE": ("train", 2, 0),
            "WNLI": ("train", 2, 0)}


@pytest.fixture(scope="module")
def glue_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp("glue")
  for task, files in SAMPLES.items():
    (root / task).mkdir()
    for name, text in files.items():
      (root / task / name).write_text(text, encoding="utf-8")
  return root


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_train_files_keep_good_rows_and_count_bad(glue_dir, task, caplog):
  split, good, bad = EXPECTED[task]
  examples = glue.read_examples(task, str(glue_dir / task), split)
  assert len(examples) == good
  spec = glue.get_task(task)
  labels = [spec.label_id(e.label) for e in examples]
  if spec.is_regression:
    assert labels == [5.0, 3.8]
  else:
    assert all(0 <= i < spec.num_labels for i in labels)
  if bad:
    assert f"skipped {bad} malformed rows" in caplog.text
  assert all(e.text_a for e in examples)


def test_columns_and_segment_order(glue_dir):
  mrpc = glue.read_examples("MRPC", str(glue_dir / "MRPC"), "train")
  # QUOTE_NONE: quotes are text, as in GLUE.
  assert (mrpc[0].text_a, mrpc[0].text_b, mrpc[0].label) == (
      'He said "yes".', "He agreed.", "1")
  mnli = glue.read_examples("MNLI", str(glue_dir / "MNLI"), "train")
  assert (mnli[1].text_a, mnli[1].text_b, mnli[1].label) == (
      "P2.", "H2.", "contradiction")
  dev = glue.read_examples("MNLI", str(glue_dir / "MNLI"), "dev_matched")
  assert dev[0].label == "entailment"
  qnli = glue.read_examples("qnli", str(glue_dir / "QNLI"), "train")
  assert (qnli[0].text_a, qnli[0].text_b) == ("What?", "This.")
  cola = glue.read_examples("cola", str(glue_dir / "CoLA"), "train")
  assert (cola[1].text_a, cola[1].label, cola[1].text_b) == (
      "Rode the.", "0", None)


@pytest.mark.parametrize("task,split,index,text", [
    ("CoLA", "test", "1", "The car."), ("SST-2", "test", "0", "uneasy "
                                        "mishmash ."),
    ("MRPC", "test", "0", "First."), ("STS-B", "test", "0", "A girl."),
    ("QQP", "test", "0", "Q1?"), ("MNLI", "test_matched", "7", "P."),
    ("MNLI", "test_mismatched", "9", "P."), ("QNLI", "test", "0", "Q?"),
    ("RTE", "test", "0", "Mangla."), ("WNLI", "test", "0", "Maude."),
    ("AX", "test", "0", "The cat sat.")])
def test_test_splits_have_index_and_no_label(glue_dir, task, split, index,
                                             text):
  examples = glue.read_examples(task, str(glue_dir / task), split)
  assert examples[-1].index == index and examples[-1].text_a == text
  assert all(e.label is None for e in examples)


def test_unknown_task_split_and_missing_file(glue_dir, tmp_path):
  with pytest.raises(glue.GlueError, match="unknown GLUE task"):
    glue.get_task("SQuAD")
  with pytest.raises(glue.GlueError, match="no split 'dev'"):
    glue.read_examples("MNLI", str(glue_dir / "MNLI"), "dev")
  with pytest.raises(glue.GlueError, match="cannot read"):
    glue.read_examples("RTE", str(tmp_path), "dev")


def test_submission_file(glue_dir, tmp_path):
  examples = glue.read_examples("CoLA", str(glue_dir / "CoLA"), "test")
  path = tmp_path / "CoLA.tsv"
  glue.write_submission("CoLA", examples, [1, 0], str(path))
  assert path.read_text() == "index\tprediction\n0\t1\n1\t0\n"
  glue.write_submission("STS-B", examples, [5.7, 1.23456], str(path))
  assert path.read_text().splitlines()[1:] == ["0\t5.000", "1\t1.235"]
  glue.write_submission("MNLI", examples, [2, 0], str(path))
  assert path.read_text().splitlines()[1:] == ["0\tneutral",
                                               "1\tcontradiction"]


def test_metrics_match_their_definitions():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 2, 200)
  preds = np.where(rng.random(200) < 0.8, labels, 1 - labels)
  tp = np.sum((preds == 1) & (labels == 1))
  tn = np.sum((preds == 0) & (labels == 0))
  fp = np.sum((preds == 1) & (labels == 0))
  fn = np.sum((preds == 0) & (labels == 1))
  mcc = (tp * tn - fp * fn) / np.sqrt(
      float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
  assert glue_metrics.compute_metrics("CoLA", preds, labels) == pytest.approx(
      {"matthews_corr": mcc})
  accuracy = (tp + tn) / 200
  f1 = 2 * tp / (2 * tp + fp + fn)
  assert glue_metrics.compute_metrics("QQP", preds, labels) == pytest.approx(
      {"accuracy": accuracy, "f1": f1})
  logits = np.eye(2)[preds] * 3.0
  assert glue_metrics.compute_metrics("MRPC", logits, labels)["f1"] == (
      pytest.approx(f1))
  for task in ("SST-2", "QNLI", "RTE", "WNLI", "MNLI"):
    assert glue_metrics.compute_metrics(task, preds, labels) == (
        pytest.approx({"accuracy": accuracy}))

  scores = rng.uniform(0, 5, 100)
  predicted = scores + rng.normal(0, 1, 100)
  pearson = np.corrcoef(predicted, scores)[0, 1]
  rank = lambda x: np.argsort(np.argsort(x))  # No ties in random floats.
  spearman = np.corrcoef(rank(predicted), rank(scores))[0, 1]
  assert glue_metrics.compute_metrics("STS-B", predicted, scores) == (
      pytest.approx({"pearson": pearson, "spearman": spearman}))
  assert glue_metrics.main_metric("STS-B") == "pearson"
  assert glue_metrics.main_metric("CoLA") == "matthews_corr"


def test_demo_next_sentence_task_reads_as_rte(tmp_path):
  documents = [[f"Doc {d} sentence {s}." for s in range(6)] for d in range(8)]
  (tmp_path / "corpus.txt").write_text(
      "\n\n".join("\n".join(doc) for doc in documents) + "\n\n")
  counts = demo_corpus.write_next_sentence_task(
      str(tmp_path / "corpus.txt"), str(tmp_path / "task"), dev_rows=7)
  assert counts == (8 * 5 - 7, 7)
  seen = set()
  for split, count in (("train", 33), ("dev", 7)):
    examples = glue.read_examples("RTE", str(tmp_path / "task"), split,
                                  strict_labels=True)
    assert len(examples) == count
    for example in examples:
      doc_a, sentence_a = (int(w.rstrip(".")) for w in
                           example.text_a.split()[1::2])
      doc_b, sentence_b = (int(w.rstrip(".")) for w in
                           example.text_b.split()[1::2])
      if example.label == "entailment":
        assert (doc_b, sentence_b) == (doc_a, sentence_a + 1)
      else:
        assert doc_b != doc_a  # another module's sentence
      seen.add((doc_a, sentence_a))
  assert len(seen) == 40  # every pair once: train and dev are disjoint
  labels = [e.label for e in glue.read_examples("RTE", str(tmp_path / "task"),
                                                "train")]
  assert 5 <= labels.count("entailment") <= 28
