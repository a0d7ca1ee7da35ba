"""TFLite's activation-range calibration, spread over processes.

TFLite's calibrator runs the float graph one example at a time on one
thread, holding Python's lock: most of an int8 export's time. Ranges are
minimums and maximums over the examples, so calibrating shards of them apart
and merging (min of the minimums, max of the maximums) gives exactly the
ranges of one calibration over all. Each shard runs TensorFlow's own TFLite
calibrator in a worker process (`calibration_worker.py`, which loads it
without the rest of TensorFlow); the result is byte for byte the file
TFLite's converter calibrates (tests/test_parallel_calibration.py).

    converter.representative_dataset = lambda: iter(examples[:1])
    calibrated_once = converter.convert()   # with _experimental_calibrate_only
    calibrated = calibrate(calibrated_once, examples)
"""

import importlib.machinery
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from ai_edge_litert import schema_py_generated as schema
from sqz_tf.errors import SqzError
from sqz_tf.export import flatbuffer_edits

_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "calibration_worker.py")


def calibrator_library():
  """The file of TensorFlow's TFLite calibrator extension, the one its
  converter calibrates with."""
  # pylint: disable-next=g-import-not-at-top,unused-import
  from tensorflow.lite.python.optimize import _pywrap_tensorflow_lite_calibration_wrapper
  for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None) or ""
    if name.endswith("_pywrap_tensorflow_lite_calibration_wrapper") and (
        path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))):
      return path
  raise SqzError("cannot find TensorFlow's TFLite calibrator library")


def default_num_workers():
  """The CPUs this process may use."""
  return len(os.sched_getaffinity(0)) if hasattr(
      os, "sched_getaffinity") else os.cpu_count() or 1


def input_arrays(model_bytes, examples):
  """The examples as one array per graph input, in the graph's input order.

  An example is a list (already in that order, as TFLite's calibrator takes
  it) or a dict keyed by input name (a graph input `serving_default_x:0`
  takes key `x`).
  """
  subgraph = schema.Model.GetRootAs(bytearray(model_bytes), 0).Subgraphs(0)
  names = [subgraph.Tensors(subgraph.Inputs(i)).Name().decode()
           for i in range(subgraph.InputsLength())]
  if isinstance(examples[0], dict):
    keys = []
    for name in names:
      matches = [key for key in examples[0]
                 if name == key or name.split(":")[0].endswith("_" + key)]
      if len(matches) != 1:
        raise SqzError(f"the graph input {name} matches no single "
                       f"representative input ({', '.join(examples[0])})")
      keys.append(matches[0])
    examples = [[example[key] for key in keys] for example in examples]
  return [np.stack([np.asarray(example[i]) for example in examples])
          for i in range(len(names))]


def calibrate(calibrated_once, examples, num_workers=None, progress=None):
  """`calibrated_once` with TFLite's calibration ranges over `examples`.

  `calibrated_once`: TFLite's calibrate-only output for one of `examples`
  (it marks the tensors to log). `examples`: input lists or dicts (see
  `input_arrays`). `num_workers` processes (default: the CPUs) each
  calibrate a share; `progress(line)` hears how far they are.
  """
  with Calibration(calibrated_once, examples, num_workers,
                   progress) as calibration:
    return calibration.result()


class Calibration:
  """`calibrate` with the workers started on entering, so this process can
  do other work while they calibrate:

      with Calibration(calibrated_once, examples) as calibration:
        float_model = converter.convert()        # meanwhile
        calibrated = calibration.result()

  Leaving the context stops any worker still running (e.g. on Ctrl-C) and
  removes the temporary files.
  """

  def __init__(self, calibrated_once, examples, num_workers=None,
               progress=None):
    self._calibrated_once = calibrated_once
    self._inputs = input_arrays(calibrated_once, examples)
    self._total = len(examples)
    self._num_workers = min(num_workers or default_num_workers(),
                            len(examples))
    self._progress = progress or (lambda line: None)
    self._workers, self._readers, self._errors = [], [], []
    self._stopping = False
    self._done = [0] * self._num_workers

  def _path(self, name):
    return os.path.join(self._directory.name, name)

  def __enter__(self):
    library = calibrator_library()
    self._start = time.perf_counter()
    processes = "process" if self._num_workers == 1 else "processes"
    self._progress(f"Calibrating activation ranges on {self._total} "
                   f"examples ({self._num_workers} {processes})")
    self._directory = tempfile.TemporaryDirectory(prefix="sqz_calibration_")
    try:
      with open(self._path("model.tflite"), "wb") as f:
        f.write(self._calibrated_once)
      for worker in range(self._num_workers):
        np.savez(self._path(f"shard_{worker}.npz"), **{
            f"input_{i}": array[worker::self._num_workers]
            for i, array in enumerate(self._inputs)})
        # stderr to a file: a chatty worker cannot fill a pipe and stall.
        with open(self._path(f"stderr_{worker}.txt"), "w") as log:
          self._workers.append(subprocess.Popen(
              [sys.executable, _WORKER, library, self._path("model.tflite"),
               self._path(f"shard_{worker}.npz"),
               self._path(f"ranges_{worker}.npz")],
              stdout=subprocess.PIPE, stderr=log, text=True))
        reader = threading.Thread(target=self._read, args=(worker,),
                                  daemon=True)
        reader.start()
        self._readers.append(reader)
    except BaseException:
      self.__exit__()
      raise
    return self

  def __exit__(self, *unused_exception):
    self._stopping = True  # a worker killed here is not a failure
    for process in self._workers:
      if process.poll() is None:
        process.kill()
        process.wait()
    for reader in self._readers:  # before their files go
      reader.join()
    self._directory.cleanup()

  def _read(self, worker):
    process = self._workers[worker]
    for line in process.stdout:
      if line.strip().isdigit():
        self._done[worker] = int(line)
    if process.wait() != 0 and not self._stopping:
      with open(self._path(f"stderr_{worker}.txt"), encoding="utf-8",
                errors="replace") as log:
        lines = [line.strip() for line in log if line.strip()]
      self._errors.append(lines[-1] if lines else "a worker exited with "
                          f"status {process.returncode}")

  def result(self):
    """Waits for the workers (reporting progress): the calibrated model."""
    last = time.perf_counter()
    while any(reader.is_alive() for reader in self._readers):
      for reader in self._readers:
        reader.join(timeout=0.5)
      now = time.perf_counter()
      if now - last > 5 and any(r.is_alive() for r in self._readers):
        last = now
        self._progress(f"  {sum(self._done)}/{self._total} examples "
                       f"({now - self._start:.0f} s)")
    if self._errors:
      raise SqzError(f"calibration failed: {self._errors[0]}")
    shards = []
    for worker in range(self._num_workers):
      with np.load(self._path(f"ranges_{worker}.npz")) as shard:
        shards.append({key: shard[key] for key in shard.files})
    low = np.min([shard["min"] for shard in shards], axis=0)
    high = np.max([shard["max"] for shard in shards], axis=0)
    self._progress(
        f"  calibrated in {time.perf_counter() - self._start:.0f} s")
    return flatbuffer_edits.with_ranges(self._calibrated_once,
                                        shards[0]["index"], low, high)
