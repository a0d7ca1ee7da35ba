"""What every sqz_tf command-line tool shares: strict flags, one-line errors."""

import os
import sys

from absl import app
from absl import flags

from sqz_tf.errors import SqzError


def _program():
  return os.path.basename(sys.argv[0]).removesuffix(".py")


def _fail(message, code=1):
  print(f"{_program()}: error: {message}", file=sys.stderr)
  sys.exit(code)


def _parse_flags(argv):
  # absl already rejects unknown flags (google-research/bert's scripts did
  # not); this only makes the report one line.
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    _fail(str(e).splitlines()[0].removeprefix("ERROR:: "), code=2)


def run(main):
  """`absl.app.run(main)`, reporting flag and `SqzError`s as one line."""
  def guarded_main(argv):
    try:
      return main(argv)
    except SqzError as e:
      _fail(e)

  app.run(guarded_main, flags_parser=_parse_flags)


def sqz_flags_as_flagfile() -> str:
  """The resolved values of every sqz_tf flag, as a reusable flagfile."""
  lines = []
  for module, module_flags in sorted(flags.FLAGS.flags_by_module_dict().items()):
    # The main module registers under its file path; libraries by name.
    if not module.startswith(("absl", "tensorflow", "tf_keras", "keras")):
      lines += [flag.serialize() for flag in module_flags
                if flag.serialize()]
  return "\n".join(sorted(lines)) + "\n"
