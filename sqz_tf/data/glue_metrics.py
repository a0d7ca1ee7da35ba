"""GLUE metrics, computed with scikit-learn and scipy.

  >>> compute_metrics("MRPC", predictions=[1, 0, 1], labels=[1, 1, 1])
  {'accuracy': 0.666..., 'f1': 0.8}
"""

import numpy as np
from scipy import stats
from sklearn import metrics as sk_metrics

from sqz_tf.data import glue


def compute_metrics(task_name, predictions, labels):
  """Metrics of `task_name` for predicted label ids (scores for STS-B).

  `predictions` may also be logits `[n, num_labels]`; they are argmaxed.
  The dict holds every metric of the task; `main_metric(task)` names the
  one the GLUE leaderboard ranks.
  """
  task = glue.get_task(task_name)
  predictions = np.asarray(predictions)
  labels = np.asarray(labels)
  if task.is_regression:
    predictions = predictions.reshape(-1).astype(np.float64)
    labels = labels.reshape(-1).astype(np.float64)
  elif predictions.ndim == 2:
    predictions = predictions.argmax(axis=-1)
  if predictions.shape != labels.shape:
    raise glue.GlueError(f"{predictions.shape[0]} predictions for "
                         f"{labels.shape[0]} labels")
  result = {}
  for name in task.metrics:
    if name == "accuracy":
      result[name] = float(sk_metrics.accuracy_score(labels, predictions))
    elif name == "f1":
      result[name] = float(sk_metrics.f1_score(labels, predictions))
    elif name == "matthews_corr":
      result[name] = float(sk_metrics.matthews_corrcoef(labels, predictions))
    elif name == "pearson":
      result[name] = float(stats.pearsonr(predictions, labels)[0])
    elif name == "spearman":
      result[name] = float(stats.spearmanr(predictions, labels)[0])
  return result


def main_metric(task_name):
  return glue.get_task(task_name).main_metric
