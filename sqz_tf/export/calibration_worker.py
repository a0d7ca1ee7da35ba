"""One calibration worker: TFLite's calibrator over a shard of examples.

Run by path, not imported through sqz_tf, so it starts in a moment: it
loads TensorFlow's TFLite calibrator extension from its file (LIBRARY, the
one TensorFlow's converter calibrates with: the same kernels, so the same
ranges to the bit) without importing TensorFlow.

    python calibration_worker.py LIBRARY MODEL.tflite SHARD.npz RANGES.npz

MODEL is a float graph that TFLite's calibrator has already run once, so it
holds a range on every tensor to log; SHARD holds arrays `input_0`, ...
(`[examples, *input shape]`, in the graph's input order). Prints the count
of examples done as it goes, then writes the logged tensors' `index`, `min`
and `max` over the shard (sqz_tf.export.parallel_calibration merges them).
"""

import importlib.util
import os
import sys

import numpy as np
from ai_edge_litert import schema_py_generated as schema


def load_library(path):
  """The calibrator extension module in the file `path`."""
  name = os.path.basename(path).split(".")[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def calibrate(library, model_bytes, inputs):
  """The calibrated model bytes over examples `inputs` (one array per input,
  examples along the first axis)."""
  calibrator = library.CalibrationWrapper(model_bytes, [], [])
  calibrator.Prepare([list(array.shape[1:]) for array in inputs])
  for example in range(len(inputs[0])):
    calibrator.FeedTensor([array[example] for array in inputs])
    print(example + 1, flush=True)
  return calibrator.Calibrate()


def logged_ranges(model_bytes):
  """(tensor indexes, mins, maxes) of the tensors holding one range."""
  subgraph = schema.Model.GetRootAs(bytearray(model_bytes), 0).Subgraphs(0)
  indexes, lows, highs = [], [], []
  for index in range(subgraph.TensorsLength()):
    quantization = subgraph.Tensors(index).Quantization()
    if quantization is not None and quantization.MinLength() == 1:
      indexes.append(index)
      lows.append(quantization.Min(0))
      highs.append(quantization.Max(0))
  return (np.array(indexes, np.int64), np.array(lows, np.float32),
          np.array(highs, np.float32))


def main(library_path, model_path, shard_path, output_path):
  library = load_library(library_path)
  with open(model_path, "rb") as f:
    model_bytes = f.read()
  with np.load(shard_path) as shard:
    inputs = [shard[f"input_{i}"] for i in range(len(shard.files))]
  indexes, lows, highs = logged_ranges(calibrate(library, model_bytes,
                                                   inputs))
  np.savez(output_path, index=indexes, min=lows, max=highs)


if __name__ == "__main__":
  main(*sys.argv[1:])
