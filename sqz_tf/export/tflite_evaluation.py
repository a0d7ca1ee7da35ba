"""A TFLite model's task metrics next to its float Keras model's.

  task = tasks.get_task("sst2")
  dev = calibration.load_task_split("glue/SST-2", task, "vocab.txt",
                                    seq_length=128, split="dev")
  result = evaluate(tflite_bytes, task, dev, float_model)
  result["tflite"]["accuracy"], result["agreement"]

The task (`FinetuningTask`) scores both models' outputs the same way, so
this serves every task family.
"""

import numpy as np

from sqz_tf.errors import SqzError
from sqz_tf.export import tflite
from sqz_tf.models.encoder import ENCODER_INPUTS
from sqz_tf.tasks.finetuning_task import predict


def _input_shape(runner):
  shapes = {tuple(d["shape"]) for d in runner.get_input_details().values()}
  if len(shapes) != 1 or len(next(iter(shapes))) != 2:
    raise SqzError(f"not an sqz_tf TFLite model: input shapes {shapes}")
  return next(iter(shapes))


def input_shape(tflite_bytes):
  """(batch_size, seq_length) the TFLite model was exported with."""
  return _input_shape(tflite.interpreter(tflite_bytes).get_signature_runner())


def tflite_outputs(tflite_bytes, features, num_threads=2):
  """Every output for every row of `features`, in the model's fixed batches.

  Named as `predict` names a Keras model's outputs: a single output is
  `logits`, several keep their names.
  """
  runner = tflite.interpreter(tflite_bytes,
                              num_threads=num_threads).get_signature_runner()
  batch_size, _ = _input_shape(runner)
  rows = len(features["input_word_ids"])
  parts = []
  for start in range(0, rows, batch_size):
    # The last batch is padded with its first row, then cut.
    index = np.arange(start, start + batch_size)
    index[index >= rows] = start
    result = runner(**{name: features[name][index].astype(np.int32)
                       for name in ENCODER_INPUTS})
    if len(result) == 1:
      result = {"logits": next(iter(result.values()))}
    parts.append({name: value[:min(batch_size, rows - start)]
                  for name, value in result.items()})
  return {name: np.concatenate([part[name] for part in parts]).astype(
      np.float32) for name in parts[0]}


def evaluate(tflite_bytes, task, split, float_model=None):
  """Task metrics of the TFLite model (and of `float_model`, and agreement)."""
  outputs = tflite_outputs(tflite_bytes, split.features)
  result = {"task": task.name, "examples": len(split.examples),
            "tflite": task.evaluate(split, outputs)}
  if float_model is not None:
    reference = predict(float_model, split.features)
    result["float"] = task.evaluate(split, reference)
    result.update(task.agreement(split, outputs, reference))
  return result
