"""Raw English text -> google-research/bert's pretraining text format.

create_pretraining_data wants one sentence per line and a blank line between
documents. This module makes that from two kinds of raw text:

- WikiText (`wikitext`): one article per ` = Title = ` line; section
  headings (` = = ... = = `) are dropped, each other line is a paragraph,
  and WikiText's `@-@`, `@,@`, `@.@` joiners become `-`, `,`, `.`.
- Books (`book`, e.g. Project Gutenberg): the licence header and footer are
  cut at the `*** START OF` / `*** END OF` lines when present; a document
  is a chapter (a line such as `CHAPTER IV.`, `Chapter 4` or `Letter 2` at
  the start of a line, after a blank line); text before the first chapter
  (title page, contents, preface) is dropped. A book with fewer than two
  chapter lines is cut into documents of `paragraphs_per_document`
  paragraphs instead.
  `[Illustration: ...]` blocks, `_italics_` marks, lines without a lowercase
  letter (`THE END`) and short title-like lines are removed; wrapped lines
  are joined into paragraphs.

Paragraphs are split into sentences by `sentencex` (Wikimedia's rule-based
segmenter: no model, no download). `--format=auto` takes a file with
WikiText title lines for WikiText and anything else for a book.

  >>> docs = book_documents("Chapter 1\\n\\nIt was late. We left.\\n\\n"
  ...                       "Chapter 2\\n\\nMorning came.\\n")
  >>> [split_sentences(" ".join(d)) for d in docs]
  [['It was late.', 'We left.'], ['Morning came.']]
"""

import dataclasses
import fnmatch
import glob
import json
import os
import re

import sentencex

from sqz_tf.errors import SqzError
from sqz_tf.utils.files import atomic_output

FORMATS = ("auto", "wikitext", "book")

# WikiText -------------------------------------------------------------------
_WIKI_TITLE = re.compile(r"^ = ([^=].*) = $")
_WIKI_HEADING = re.compile(r"^ (= )+.*( =)+ $")
_WIKI_JOINER = re.compile(r" @([-,.])@ ")

# Books ----------------------------------------------------------------------
_START = re.compile(r"^\*{3} *START OF (THE|THIS) PROJECT GUTENBERG", re.I)
_END = re.compile(r"^\*{3} *END OF (THE|THIS) PROJECT GUTENBERG", re.I)
_CHAPTER = re.compile(
    r"^\[?(CHAPTER|Chapter|LETTER|Letter|BOOK|Book|PART|Part|STAVE|Stave)"
    r" +([IVXLCDM]+|\d+)\b.*$")
# One level of nesting covers `[Illustration: ... [_Copyright ..._]]`.
_ILLUSTRATION = re.compile(r"\[Illustration(?:[^\[\]]|\[[^\[\]]*\])*\]")
_ITALICS = re.compile(r"(?<!\w)_|_(?!\w)")
_TERMINAL = tuple(".!?:;\"'”’)")


def is_wikitext(text):
  return any(_WIKI_TITLE.match(line) for line in text.splitlines())


def wikitext_documents(text):
  """Yields (title, paragraphs) per WikiText article."""
  title, paragraphs = None, []
  for line in text.splitlines():
    match = _WIKI_TITLE.match(line)
    if match:
      if title is not None or paragraphs:
        yield title, paragraphs
      title, paragraphs = match.group(1).strip(), []
    elif line.strip() and not _WIKI_HEADING.match(line):
      paragraphs.append(_WIKI_JOINER.sub(r"\1", line).strip())
  if title is not None or paragraphs:
    yield title, paragraphs


def _strip_licence(lines):
  start = next((i for i, l in enumerate(lines) if _START.match(l)), None)
  end = next((i for i, l in enumerate(lines) if _END.match(l)), None)
  return lines[(start + 1 if start is not None else 0):end]


def _paragraphs(lines):
  """Prose paragraphs of a run of lines: unwrapped, cleaned, filtered."""
  text = _ILLUSTRATION.sub("\n\n", "\n".join(lines))
  for block in re.split(r"\n[ \t]*\n", text):
    paragraph = " ".join(_ITALICS.sub("", block).split())
    if not any(c.islower() for c in paragraph):
      continue  # headings, "THE END", page furniture
    if len(paragraph.split()) < 10 and not paragraph.endswith(_TERMINAL):
      continue  # a chapter's title line
    yield paragraph


def book_documents(text, paragraphs_per_document=20):
  """Lists of paragraphs: one per chapter, or fixed-size groups."""
  lines = _strip_licence(text.splitlines())
  # A chapter line follows a blank line: "Part 2 of ..." inside a wrapped
  # paragraph is prose.
  starts = [i for i, line in enumerate(lines) if _CHAPTER.match(line) and (
      i == 0 or not lines[i - 1].strip())]
  if len(starts) >= 2:
    bounds = zip(starts, starts[1:] + [len(lines)])
    documents = [list(_paragraphs(lines[a + 1:b])) for a, b in bounds]
    return [d for d in documents if d]
  paragraphs = list(_paragraphs(lines))
  n = max(1, paragraphs_per_document)
  return [paragraphs[i:i + n] for i in range(0, len(paragraphs), n)]


def split_sentences(paragraph):
  """English sentences of one paragraph (sentencex), whitespace collapsed."""
  sentences = (" ".join(s.split()) for s in sentencex.segment("en", paragraph))
  return [s for s in sentences if any(c.isalnum() for c in s)]


# Whole corpora ----------------------------------------------------------------
@dataclasses.dataclass
class CorpusStats:
  """What went where: per file and split, documents / sentences / chars."""
  files: dict = dataclasses.field(default_factory=dict)

  def add(self, path, split, sentences):
    entry = self.files.setdefault(os.path.basename(path), {}).setdefault(
        split, {"documents": 0, "sentences": 0, "characters": 0})
    entry["documents"] += 1
    entry["sentences"] += len(sentences)
    entry["characters"] += sum(len(s) for s in sentences)

  def total(self, split):
    return {key: sum(f.get(split, {}).get(key, 0) for f in self.files.values())
            for key in ("documents", "sentences", "characters")}


def file_documents(path, text_format="auto", paragraphs_per_document=20):
  """Documents of one file as lists of sentences (empty ones dropped)."""
  if text_format not in FORMATS:
    raise SqzError(f"unknown format {text_format!r}; known: "
                   f"{', '.join(FORMATS)}")
  try:
    with open(path, encoding="utf-8", errors="replace") as f:
      text = f.read()
  except OSError as e:
    raise SqzError(f"cannot read {path}: {e.strerror}") from None
  if text_format == "wikitext" or (text_format == "auto" and is_wikitext(text)):
    paragraph_lists = [p for _, p in wikitext_documents(text)]
  else:
    paragraph_lists = book_documents(text, paragraphs_per_document)
  documents = ([s for p in paragraphs for s in split_sentences(p)]
               for paragraphs in paragraph_lists)
  return [d for d in documents if d]


def _expand(patterns):
  paths = []
  for pattern in patterns:
    matches = sorted(glob.glob(pattern))
    if not matches:
      raise SqzError(f"no input file matches {pattern}")
    paths += [m for m in matches if m not in paths]
  return paths


def prepare_corpus(input_files, output_dir, text_format="auto",
                   heldout_from=(), heldout_every=0,
                   paragraphs_per_document=20, overwrite=False):
  """Writes output_dir/train.txt, heldout.txt and corpus_stats.json.

  Every `heldout_every`-th document of the files whose path matches one of
  the `heldout_from` patterns (fnmatch; default none) goes to heldout.txt,
  the rest to train.txt. The folder appears complete or not at all.
  Returns the CorpusStats.
  """
  paths = _expand(input_files)
  if heldout_every < 0:
    raise SqzError("heldout_every must be 0 (none) or more")
  if heldout_every and not any(fnmatch.fnmatch(p, pattern) for p in paths
                               for pattern in heldout_from):
    raise SqzError(f"no input file matches --heldout_from "
                   f"{','.join(heldout_from) or '(empty)'}")
  stats = CorpusStats()
  with atomic_output(output_dir, overwrite=overwrite) as temporary:
    os.makedirs(temporary)
    outputs = {split: open(os.path.join(temporary, f"{split}.txt"), "w",
                           encoding="utf-8") for split in ("train", "heldout")}
    with outputs["train"], outputs["heldout"]:
      for path in paths:
        holds_out = heldout_every and any(
            fnmatch.fnmatch(path, pattern) for pattern in heldout_from)
        documents = file_documents(path, text_format, paragraphs_per_document)
        for index, sentences in enumerate(documents):
          split = ("heldout" if holds_out and
                   index % heldout_every == heldout_every - 1 else "train")
          outputs[split].write("\n".join(sentences) + "\n\n")
          stats.add(path, split, sentences)
    if not stats.total("train")["sentences"]:
      raise SqzError("no sentences found for train.txt in "
                     f"{', '.join(paths)}")
    if not heldout_every:
      os.remove(os.path.join(temporary, "heldout.txt"))
    with open(os.path.join(temporary, "corpus_stats.json"), "w",
              encoding="utf-8") as f:
      json.dump({"files": stats.files, "train": stats.total("train"),
                 "heldout": stats.total("heldout")}, f, indent=2)
  return stats
