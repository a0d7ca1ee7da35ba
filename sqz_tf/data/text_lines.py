"""Reading raw text corpora line by line, tolerating bad bytes."""


def read_lines(input_files, stats):
  """Yields each line of the files, stripped (blank lines as "").

  Lines that are not valid UTF-8 are decoded with U+FFFD and counted in
  `stats["non_utf8_lines"]`.
  """
  for path in input_files:
    with open(path, "rb") as f:
      for raw in f:
        try:
          line = raw.decode("utf-8")
        except UnicodeDecodeError:
          line = raw.decode("utf-8", errors="replace")
          stats["non_utf8_lines"] += 1
        yield line.strip()
    yield ""  # a file's end ends its last document
