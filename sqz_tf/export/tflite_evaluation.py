"""A TFLite classifier's task metric next to its float Keras model's.

  features = calibration.task_features("glue/SST-2", "sst2", "vocab.txt",
                                       seq_length=128, split="dev")
  result = evaluate("sst2.tflite", "sst2", features, float_model)
  result["tflite"]["accuracy"], result["agreement"]
"""

import numpy as np

from sqz_tf.data import glue
from sqz_tf.data import glue_metrics
from sqz_tf.errors import SqzError
from sqz_tf.export import tflite
from sqz_tf.models.encoder import ENCODER_INPUTS
from sqz_tf.training.glue_finetuning import predict_logits


def _input_shape(runner):
  shapes = {tuple(d["shape"]) for d in runner.get_input_details().values()}
  if len(shapes) != 1 or len(next(iter(shapes))) != 2:
    raise SqzError(f"not an sqz_tf TFLite classifier: input shapes {shapes}")
  return next(iter(shapes))


def input_shape(tflite_bytes):
  """(batch_size, seq_length) the TFLite model was exported with."""
  return _input_shape(tflite.interpreter(tflite_bytes).get_signature_runner())


def tflite_logits(tflite_bytes, features, num_threads=2):
  """Outputs for every row of `features`, in the model's fixed batches."""
  runner = tflite.interpreter(tflite_bytes,
                              num_threads=num_threads).get_signature_runner()
  batch_size, _ = _input_shape(runner)
  rows = len(features["input_word_ids"])
  outputs = []
  for start in range(0, rows, batch_size):
    # The last batch is padded with its first row, then cut.
    index = np.arange(start, start + batch_size)
    index[index >= rows] = start
    result = runner(**{name: features[name][index].astype(np.int32)
                       for name in ENCODER_INPUTS})
    if len(result) != 1:
      raise SqzError("not a TFLite classifier: it has outputs "
                     f"{', '.join(sorted(result))}")
    outputs.append(next(iter(result.values()))[:min(batch_size,
                                                    rows - start)])
  return np.concatenate(outputs).astype(np.float32)


def _scores(task, logits, labels):
  predictions = logits[:, 0] if task.is_regression else logits.argmax(-1)
  return predictions, glue_metrics.compute_metrics(task.name, predictions,
                                                   labels)


def evaluate(tflite_bytes, task_name, features, float_model=None):
  """Task metrics of the TFLite model (and of `float_model`, and agreement)."""
  task = glue.get_task(task_name)
  logits = tflite_logits(tflite_bytes, features)
  if logits.shape[-1] != task.num_labels:
    raise SqzError(f"the TFLite model has {logits.shape[-1]} outputs, "
                   f"{task.name} needs {task.num_labels}")
  predictions, metrics = _scores(task, logits, features["label"])
  result = {"task": task.name, "examples": len(logits), "tflite": metrics}
  if float_model is not None:
    float_logits = predict_logits(float_model, features)
    float_predictions, result["float"] = _scores(task, float_logits,
                                                 features["label"])
    if task.is_regression:
      result["mean_abs_difference"] = float(
          np.abs(predictions - float_predictions).mean())
    else:
      result["agreement"] = float((predictions == float_predictions).mean())
  return result
