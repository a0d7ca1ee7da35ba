"""What every sqz_tf command-line tool shares: one-line errors."""

import os
import sys

from absl import app

from sqz_tf.errors import SqzError


def run(main):
  """`absl.app.run(main)`, reporting `SqzError`s as one line and exit 1."""
  def guarded_main(argv):
    try:
      return main(argv)
    except SqzError as e:
      program = os.path.basename(sys.argv[0]).removesuffix(".py")
      print(f"{program}: error: {e}", file=sys.stderr)
      sys.exit(1)

  app.run(guarded_main)
