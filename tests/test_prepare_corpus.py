"""prepare_corpus: WikiText articles and book chapters -> sentence lines."""

import json
import os
import subprocess
import sys

import pytest

from sqz_tf.data import corpus_preparation as cp
from sqz_tf.errors import SqzError
from tests.cli_runner import REPO

WIKI = """ 
 = First Article = 
 
 The tower was built in 1 @,@ 200 AD . It is 30 @.@ 5 m tall . 
 
 = = History = = 
 
 A well @-@ known monk lived there . He left in 1300 . 
 
 = Second Article = 
 
 Mr. Smith visited the U.S. Army base at 3 p.m. on Monday . Then he left . 
"""

BOOK = """The Project Gutenberg eBook of a Test Book
This licence text must not be read as prose, whatever it says.
*** START OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***

A Test Book

Contents

 CHAPTER I.     The Start
 CHAPTER II.    The End

[Illustration: a frontispiece

CHAPTER I.]

CHAPTER I.
The Start Of Everything


It was a _very_ dark night. The wind
howled over the hills, and nobody slept.

[Illustration:

“A lamp in the window”

[_Copyright 1900._]]

“Who is there?” asked the keeper. Nobody answered.

CHAPTER II.

Morning came at last! The keeper went out to look.

THE END

*** END OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***
More licence text that must be dropped as well.
"""


def _write(path, text):
  path.write_text(text, encoding="utf-8")
  return str(path)


def _documents(path):
  blocks = path.read_text(encoding="utf-8").split("\n\n")
  return [block.split("\n") for block in blocks if block]


def test_wikitext_articles_become_documents_of_sentences(tmp_path):
  path = _write(tmp_path / "wiki.raw", WIKI)
  assert cp.file_documents(path) == [
      ["The tower was built in 1,200 AD .", "It is 30.5 m tall .",
       "A well-known monk lived there .", "He left in 1300 ."],
      ["Mr. Smith visited the U.S. Army base at 3 p.m. on Monday .",
       "Then he left ."]]


def test_book_chapters_without_licence_front_matter_or_furniture(tmp_path):
  path = _write(tmp_path / "book.txt", BOOK)
  assert cp.file_documents(path) == [
      ["It was a very dark night.",
       "The wind howled over the hills, and nobody slept.",
       "“Who is there?” asked the keeper.", "Nobody answered."],
      ["Morning came at last!", "The keeper went out to look."]]


def test_chapter_words_inside_a_paragraph_do_not_start_a_chapter():
  text = ("CHAPTER 1\n\nShe read the plan.\nPart 2 was lost, she said.\n\n"
          "CHAPTER 2\n\nIt ended there.\n")
  assert cp.book_documents(text) == [
      ["She read the plan. Part 2 was lost, she said."], ["It ended there."]]


def test_book_without_chapters_is_cut_into_paragraph_groups(tmp_path):
  paragraphs = [f"Paragraph number {i} is here. It has two sentences."
                for i in range(5)]
  path = _write(tmp_path / "essay.txt", "\n\n".join(paragraphs) + "\n")
  documents = cp.file_documents(path, "book", paragraphs_per_document=2)
  assert [len(d) for d in documents] == [4, 4, 2]
  assert documents[2] == ["Paragraph number 4 is here.",
                          "It has two sentences."]


def test_format_auto_and_forced(tmp_path):
  path = _write(tmp_path / "wiki.txt", WIKI)
  assert cp.file_documents(path, "auto") == cp.file_documents(path, "wikitext")
  # Read as a book, the title lines are dropped as short title-like lines
  # and the three paragraphs make one paragraph group.
  assert len(cp.file_documents(path, "book")) == 1
  with pytest.raises(SqzError, match="unknown format"):
    cp.file_documents(path, "html")


def test_prepare_corpus_holds_out_every_nth_document(tmp_path):
  wiki = "".join(f" = Article {i} = \n \n Sentence one of {i} . Sentence two "
                 f"of {i} . \n" for i in range(6))
  _write(tmp_path / "wiki.test.raw", wiki)
  _write(tmp_path / "book.txt", BOOK)
  out = tmp_path / "out"
  stats = cp.prepare_corpus([str(tmp_path / "*.raw"), str(tmp_path / "*.txt")],
                            str(out), heldout_from=["*.test.raw"],
                            heldout_every=3)
  heldout = _documents(out / "heldout.txt")
  train = _documents(out / "train.txt")
  assert [d[0] for d in heldout] == ["Sentence one of 2 .",
                                     "Sentence one of 5 ."]
  assert len(train) == 4 + 2  # four articles, two chapters
  assert stats.total("heldout")["documents"] == 2
  saved = json.loads((out / "corpus_stats.json").read_text())
  assert saved["train"]["sentences"] == sum(len(d) for d in train)
  assert saved["files"]["book.txt"]["train"]["documents"] == 2


def test_failures_leave_nothing_and_keep_existing_output(tmp_path):
  _write(tmp_path / "empty.txt", "\n\nTHE END\n")
  with pytest.raises(SqzError, match="no sentences"):
    cp.prepare_corpus([str(tmp_path / "empty.txt")], str(tmp_path / "out"))
  assert not os.path.exists(tmp_path / "out")
  with pytest.raises(SqzError, match="no input file matches"):
    cp.prepare_corpus([str(tmp_path / "none*.txt")], str(tmp_path / "out"))
  with pytest.raises(SqzError, match="heldout_from"):
    cp.prepare_corpus([str(tmp_path / "empty.txt")], str(tmp_path / "out"),
                      heldout_from=["*.raw"], heldout_every=2)
  (tmp_path / "kept").mkdir()
  with pytest.raises(SqzError, match="already exists"):
    cp.prepare_corpus([str(tmp_path / "empty.txt")], str(tmp_path / "kept"))


def test_cli_writes_output_and_reports_errors_in_one_line(tmp_path):
  book = _write(tmp_path / "book.txt", BOOK)
  (tmp_path / "kept").mkdir()
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  command = [sys.executable, "-m", "sqz_tf.prepare_corpus",
             f"--input_files={book}"]
  # Both start at once: each pays for a Python + TensorFlow start-up.
  ok, refused = (subprocess.Popen(
      command + [f"--output_dir={tmp_path / name}"], env=env, cwd=REPO,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for name in ("out", "kept"))
  ok_out, ok_err = ok.communicate(timeout=300)
  _, refused_err = refused.communicate(timeout=300)
  assert ok.returncode == 0, ok_err
  assert "train: 2 documents, 6 sentences" in ok_out
  assert _documents(tmp_path / "out" / "train.txt")[1] == [
      "Morning came at last!", "The keeper went out to look."]
  assert refused.returncode == 1
  assert refused_err.strip().splitlines()[-1] == (
      f"prepare_corpus: error: output already exists: {tmp_path / 'kept'} "
      "(pass --overwrite to replace it)")
