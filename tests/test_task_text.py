"""tools/task_text.py: a task's training text as pretraining text."""

import json

from tests.cli_runner import run_many

CONLL = """-DOCSTART- -X- -X- O

Peter NNP B-NP B-PER
runs VBZ B-VP O

in IN B-PP O
Rome NNP B-NP B-LOC
. . O O

-DOCSTART- -X- -X- O

Acme NNP B-NP B-ORG
wins VBZ B-VP O
"""

SQUAD = {"version": "1.1", "data": [
    {"title": "A", "paragraphs": [
        {"context": "The tower is tall. It was built in 1200.",
         "qas": [{"id": "1", "question": "How tall is the tower?",
                  "answers": [{"text": "tall", "answer_start": 13}]}]},
        {"context": "Monks lived there.", "qas": []}]},
    {"title": "B", "paragraphs": [{"context": "Rain fell on Monday.",
                                   "qas": []}]}]}


def _documents(path):
  return [block.split("\n") for block in
          path.read_text().strip("\n").split("\n\n")]


def test_conll_and_squad_text_and_refusals(tmp_path):
  (tmp_path / "train.conll").write_text(CONLL)
  (tmp_path / "train.json").write_text(json.dumps(SQUAD))
  (tmp_path / "broken.json").write_text('{"data": [')
  (tmp_path / "kept.txt").write_text("the user's file\n")
  tool = "tools/task_text.py"
  ok, exists, broken, missing = run_many([
      (tool, f"--conll={tmp_path / 'train.conll'}",
       f"--squad={tmp_path / 'train.json'}",
       f"--output={tmp_path / 'out.txt'}"),
      (tool, f"--conll={tmp_path / 'train.conll'}",
       f"--output={tmp_path / 'kept.txt'}"),
      (tool, f"--squad={tmp_path / 'broken.json'}",
       f"--output={tmp_path / 'broken.txt'}"),
      (tool, f"--conll={tmp_path / 'missing.conll'}",
       f"--output={tmp_path / 'missing.txt'}")])
  assert ok.returncode == 0, ok.stderr[-3000:]
  assert _documents(tmp_path / "out.txt") == [
      ["Peter runs", "in Rome ."], ["Acme wins"],
      ["The tower is tall.", "It was built in 1200.", "Monks lived there."],
      ["Rain fell on Monday."]]
  counts = json.loads(ok.stdout)["files"]
  assert counts[str(tmp_path / "train.conll")] == {"documents": 2,
                                                   "sentences": 3}
  for result, phrase in ((exists, "output already exists"),
                         (broken, "broken.json"), (missing, "missing.conll")):
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("task_text: error: ") and phrase in last, last
    assert "Traceback" not in result.stderr
  assert (tmp_path / "kept.txt").read_text() == "the user's file\n"
  assert not (tmp_path / "broken.txt").exists()
  assert not (tmp_path / "missing.txt").exists()
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      "broken.json", "kept.txt", "out.txt", "train.conll", "train.json"]
