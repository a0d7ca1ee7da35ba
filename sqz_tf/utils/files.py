"""Writing outputs so that a failure never leaves a half-written file."""

import contextlib
import os
import shutil
import uuid

from sqz_tf.errors import SqzError


def _remove(path):
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path, ignore_errors=True)
  elif os.path.lexists(path):
    os.remove(path)


@contextlib.contextmanager
def atomic_output(path: str, overwrite: bool = False):
  """Yields a temporary sibling of `path`, moved onto `path` on success.

  Works for files and directories. The temporary name keeps the extension
  (Keras picks the format from it). If the body raises, the temporary output
  is removed and whatever was at `path` is untouched. An existing `path` is
  an error unless `overwrite`; then it is replaced only once the new output
  is complete.
  """
  path = os.path.abspath(path)
  if os.path.lexists(path) and not overwrite:
    raise SqzError(f"output already exists: {path} (pass --overwrite to "
                   "replace it)")
  parent = os.path.dirname(path)
  try:
    os.makedirs(parent, exist_ok=True)
  except OSError as e:
    raise SqzError(f"cannot create output directory {parent}: "
                   f"{e.strerror}") from None
  if not os.access(parent, os.W_OK | os.X_OK):
    raise SqzError(f"output directory is not writable: {parent}")
  stem, ext = os.path.splitext(os.path.basename(path))
  tag = uuid.uuid4().hex[:8]
  temporary = os.path.join(parent, f".{stem}.tmp-{tag}{ext}")
  try:
    yield temporary
    if not os.path.lexists(temporary):
      raise SqzError(f"nothing was written for {path}")
    if os.path.isdir(path) and not os.path.islink(path):
      # Directories cannot be swapped in one step: move the old one aside.
      backup = os.path.join(parent, f".{stem}.old-{tag}{ext}")
      os.rename(path, backup)
      os.rename(temporary, path)
      _remove(backup)
    else:
      os.replace(temporary, path)
  finally:
    _remove(temporary)
