"""Optimizers by flag value: LAMB or AdamW, warmup + decay, loss scaling."""

import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.training.lamb import DEFAULT_EXCLUDE
from sqz_tf.training.lamb import LAMB
from sqz_tf.training.schedules import WarmupPolynomialDecay

OPTIMIZERS = ("lamb", "adamw")


def warmup_steps(num_train_steps, warmup_proportion=None, num_warmup_steps=None):
  """`num_warmup_steps` if given, else the proportion of the training steps."""
  if num_warmup_steps is not None:
    if not 0 <= num_warmup_steps <= num_train_steps:
      raise SqzError(f"num_warmup_steps ({num_warmup_steps}) must be within "
                     f"0..num_train_steps ({num_train_steps})")
    return num_warmup_steps
  if not 0.0 <= (warmup_proportion or 0.0) <= 1.0:
    raise SqzError(f"warmup_proportion must be in [0, 1], got "
                   f"{warmup_proportion}")
  return int(num_train_steps * (warmup_proportion or 0.0))


def build_optimizer(name, learning_rate, num_train_steps, num_warmup_steps,
                    weight_decay=0.01, precision="float32"):
  """The optimizer for a run; LayerNorm and bias weights are not decayed."""
  schedule = WarmupPolynomialDecay(learning_rate, num_warmup_steps,
                                   num_train_steps)
  if name == "lamb":
    optimizer = LAMB(schedule, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
                     weight_decay_rate=weight_decay)
  elif name == "adamw":
    optimizer = tf.keras.optimizers.AdamW(
        schedule, weight_decay=weight_decay, beta_1=0.9, beta_2=0.999,
        epsilon=1e-6)
    optimizer.exclude_from_weight_decay(var_names=list(DEFAULT_EXCLUDE))
  else:
    raise SqzError(f"unknown optimizer {name!r}; one of {', '.join(OPTIMIZERS)}")
  if precision == "mixed_float16":
    optimizer = tf.keras.mixed_precision.LossScaleOptimizer(optimizer)
  return optimizer
