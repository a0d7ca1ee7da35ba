"""WarmupPolynomialDecay: linear warmup, then polynomial decay to zero."""

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class WarmupPolynomialDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
  """Learning rate rising linearly to `peak` over `warmup_steps`, then
  decaying as `peak · (1 - progress)^power` to `end` at `total_steps`, where
  progress runs from 0 at the end of warmup to 1 at `total_steps` (no jump at
  the end of warmup).

  Example:
  >>> schedule = WarmupPolynomialDecay(1.0, warmup_steps=2, total_steps=6)
  >>> [float(schedule(step)) for step in range(7)]
  [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
  """

  def __init__(self, peak, warmup_steps, total_steps, end=0.0, power=1.0,
               name="WarmupPolynomialDecay"):
    super().__init__()
    if not 0 <= warmup_steps <= total_steps or total_steps <= 0:
      raise ValueError(f"need 0 <= warmup_steps ({warmup_steps}) <= "
                       f"total_steps ({total_steps}) and total_steps > 0")
    self.peak = peak
    self.warmup_steps = warmup_steps
    self.total_steps = total_steps
    self.end = end
    self.power = power
    self.name = name

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    warmup = float(self.warmup_steps)
    warming = self.peak * step / max(warmup, 1.0)
    progress = (step - warmup) / max(float(self.total_steps) - warmup, 1.0)
    progress = tf.clip_by_value(progress, 0.0, 1.0)
    decaying = (self.peak - self.end) * (1.0 - progress) ** self.power + self.end
    return tf.where(step < warmup, warming, decaying)

  def get_config(self):
    return {"peak": self.peak, "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps, "end": self.end,
            "power": self.power, "name": self.name}
