"""Trainer: the custom training loop that pretraining and finetuning share.

A task says what to build and how to score it; the trainer owns the loop:

    trainer = Trainer(task, strategy, options)
    trainer.train(dataset_fn)          # resumes from the latest checkpoint
    metrics = trainer.evaluate(eval_dataset_fn)

What the loop guarantees:
- Gradient accumulation: each step's per-replica batch is split into
  `gradient_accumulation_steps` micro-batches whose gradients are summed
  before one optimizer update. Losses are normalized by the count over the
  whole global step (all micro-batches, all replicas), so N micro-steps of
  batch b give the update of one step of batch N·b.
- Checkpoints (`tf.train.CheckpointManager`: model and optimizer) every
  `save_checkpoints_steps`. The data position is the step: on resume each
  input pipeline skips the batches already trained on (reading, not
  training them), so pipelines must be deterministic for a given seed. TensorFlow writes the checkpoint files first
  and then renames the index into place, so a crash mid-write leaves the
  previous checkpoint as the latest. A restart resumes from it.
- Determinism across restarts: random ops (dropout) are re-seeded from
  (seed, step) at every checkpoint boundary, so a resumed run draws the same
  numbers as an uninterrupted one.
- A loss that turns NaN/Inf stops training before the next checkpoint is
  written (mixed_float16 tolerates the occasional overflow that loss scaling
  skips).
"""

import dataclasses
import math
import os
import time
from typing import Callable, Protocol

from absl import logging
import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.training.distribution import is_chief


class Task(Protocol):
  """What a trainer needs from a task (pretraining, classification)."""

  def build_model(self) -> tf.keras.Model:
    ...

  def build_metrics(self) -> dict:
    """Keras metrics by name, updated by `update_metrics`."""

  def loss_weights(self, features) -> dict:
    """Per-item weights of each loss term (e.g. masked_lm_weights)."""

  def item_losses(self, features, outputs) -> dict:
    """Per-item losses, shaped like `loss_weights`."""

  def update_metrics(self, metrics, features, outputs) -> None:
    ...


@dataclasses.dataclass
class TrainerOptions:
  model_dir: str
  num_train_steps: int
  global_batch_size: int
  gradient_accumulation_steps: int = 1
  save_checkpoints_steps: int = 1000
  keep_checkpoint_max: int = 5
  log_steps: int = 100
  jit_compile: bool = False
  seed: int = 0
  # mixed_float16 skips steps whose gradients overflow; this many in a row
  # means training diverged.
  max_nonfinite_steps: int = 1


class NonFiniteLossError(SqzError):
  """Training diverged; the last good checkpoint is kept."""


def _global_batch(features):
  return tf.shape(tf.nest.flatten(features)[0])[0]


class Trainer:
  """Runs a task's training loop under a `tf.distribute` strategy."""

  def __init__(self, task: Task, strategy, options: TrainerOptions,
               optimizer_fn: Callable[[], tf.keras.optimizers.Optimizer]):
    self.task = task
    self.strategy = strategy
    self.options = options
    with strategy.scope():
      self.model = task.build_model()
      self.optimizer = optimizer_fn()
      # Built now, not inside the first trace: a resumed run must trace the
      # same graph as an uninterrupted one (random op seeds depend on it).
      self.optimizer.build(self.model.trainable_variables)
      self.metrics = task.build_metrics()
    self.chief = is_chief(strategy)

  # Paths.

  @property
  def checkpoint_dir(self):
    if self.chief:
      return os.path.join(self.options.model_dir, "checkpoints")
    # Every MultiWorkerMirrored worker must save; only the chief's is kept.
    return os.path.join(self.options.model_dir, ".worker_scratch",
                        str(self.strategy.cluster_resolver.task_id))

  # One training step.

  def _model_inputs(self, features):
    return {name: features[name] for name in self.model.input_names}

  def _replica_step(self, features):
    accumulation = self.options.gradient_accumulation_steps
    variables = self.model.trainable_variables
    context = tf.distribute.get_replica_context()
    counts = {name: tf.reduce_sum(tf.cast(weights, tf.float32))
              for name, weights in self.task.loss_weights(features).items()}
    counts = context.all_reduce(tf.distribute.ReduceOp.SUM, counts)
    micro_batch = _global_batch(features) // accumulation
    scaling = isinstance(self.optimizer,
                         tf.keras.mixed_precision.LossScaleOptimizer)

    gradients = [tf.zeros_like(variable) for variable in variables]
    total_loss = tf.constant(0.0)
    for index in tf.range(accumulation):
      part = tf.nest.map_structure(
          lambda x: x[index * micro_batch:(index + 1) * micro_batch],
          features)
      with tf.GradientTape() as tape:
        outputs = self.model(self._model_inputs(part), training=True)
        losses = self.task.item_losses(part, outputs)
        weights = self.task.loss_weights(part)
        loss = tf.add_n([
            tf.math.divide_no_nan(
                tf.reduce_sum(tf.cast(losses[name], tf.float32) *
                              tf.cast(weights[name], tf.float32)),
                counts[name]) for name in sorted(losses)])
        scaled = self.optimizer.get_scaled_loss(loss) if scaling else loss
      part_gradients = tape.gradient(scaled, variables)
      if scaling:
        part_gradients = self.optimizer.get_unscaled_gradients(part_gradients)
      gradients = [
          total if gradient is None else total + tf.convert_to_tensor(gradient)
          for total, gradient in zip(gradients, part_gradients)]
      total_loss += loss
      self.task.update_metrics(self.metrics, part, outputs)
    self.optimizer.apply_gradients(zip(gradients, variables))
    return total_loss

  def _make_train_step(self):
    replica_step = self._replica_step
    if self.options.jit_compile:
      replica_step = tf.function(replica_step, jit_compile=True)

    @tf.function
    def train_step(iterator):
      per_replica_loss = self.strategy.run(replica_step, args=(next(iterator),))
      return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss,
                                  axis=None)

    return train_step

  def _reseed(self, step):
    # Fresh kernels with seeds fixed by (seed, step): see module docstring.
    tf.keras.utils.set_random_seed(self.options.seed * 1_000_003 + step)

  # Checkpoints.

  def _checkpoint_manager(self, init_fn=None):
    checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)
    return tf.train.CheckpointManager(
        checkpoint, self.checkpoint_dir,
        max_to_keep=self.options.keep_checkpoint_max,
        step_counter=self.optimizer.iterations, init_fn=init_fn)

  def has_checkpoint(self) -> bool:
    return tf.train.latest_checkpoint(self.checkpoint_dir) is not None

  def restore_latest(self) -> int:
    """Restores the latest checkpoint (e.g. to evaluate); returns its step."""
    manager = self._checkpoint_manager()
    if not manager.latest_checkpoint:
      raise SqzError(f"no checkpoint to restore in {self.checkpoint_dir}")
    manager.checkpoint.restore(manager.latest_checkpoint).expect_partial()
    return int(self.optimizer.iterations.numpy())

  # The loop.

  def train(self, dataset_fn, init_fn=None, on_log=None, until_step=None):
    """Trains to `until_step` (default `num_train_steps`), resuming from the
    latest checkpoint; the learning-rate schedule spans `num_train_steps`.

    dataset_fn(input_context) -> per-replica batched tf.data.Dataset.
    init_fn() initializes the model when there is no checkpoint to resume.
    on_log(step, metrics) is called at every log step.
    Returns the metrics of the last log window.
    """
    options = self.options
    manager = self._checkpoint_manager(init_fn)
    restored = manager.restore_or_initialize()
    step = int(self.optimizer.iterations.numpy())
    if restored:
      logging.info("Resumed from %s at step %d; fast-forwarding the input "
                   "pipeline by %d batches", restored, step, step)

    def resumed_dataset_fn(input_context):
      # Distributed iterators cannot be checkpointed, so the data position is
      # the step: every step takes one batch from each input pipeline, and
      # the pipelines are deterministic.
      return dataset_fn(input_context).skip(step)

    iterator = iter(
        self.strategy.distribute_datasets_from_function(resumed_dataset_fn))
    writer = (tf.summary.create_file_writer(
        os.path.join(options.model_dir, "train")) if self.chief
              else tf.summary.create_noop_writer())

    train_step = None
    window_losses, window_start, window_step = [], time.time(), step
    nonfinite_run = 0
    last_log = {}
    target = min(until_step or options.num_train_steps,
                 options.num_train_steps)
    while step < target:
      if train_step is None or step % options.save_checkpoints_steps == 0:
        self._reseed(step)
        train_step = self._make_train_step()
      window_losses.append(train_step(iterator))
      step += 1
      boundary = (step % options.save_checkpoints_steps == 0 or
                  step == target)
      if step % options.log_steps == 0 or boundary:
        losses = [float(loss) for loss in window_losses]
        for offset, loss in enumerate(losses):
          nonfinite_run = 0 if math.isfinite(loss) else nonfinite_run + 1
          if nonfinite_run >= options.max_nonfinite_steps:
            raise NonFiniteLossError(
                f"loss became {loss} at step {step - len(losses) + offset + 1}"
                f"; stopped, last good checkpoint: "
                f"{manager.latest_checkpoint or 'none'}")
        finite = [loss for loss in losses if math.isfinite(loss)]
        elapsed = time.time() - window_start
        last_log = self._log(step, sum(finite) / max(len(finite), 1),
                             (step - window_step) / max(elapsed, 1e-9), writer)
        if on_log:
          on_log(step, last_log)
        window_losses, window_start, window_step = [], time.time(), step
      if boundary:
        manager.save(checkpoint_number=step)
    return last_log

  def _log(self, step, loss, steps_per_second, writer):
    values = {"loss": loss}
    values.update({name: float(metric.result())
                   for name, metric in self.metrics.items()})
    for metric in self.metrics.values():
      metric.reset_state()
    schedule = getattr(self.optimizer, "_learning_rate", None)
    values["learning_rate"] = float(
        schedule(step) if isinstance(
            schedule, tf.keras.optimizers.schedules.LearningRateSchedule)
        else tf.keras.backend.get_value(self.optimizer.learning_rate))
    remaining = (self.options.num_train_steps - step) / max(steps_per_second,
                                                            1e-9)
    examples = steps_per_second * self.options.global_batch_size
    logging.info(
        "step %d/%d  %s  %.1f examples/s  ETA %s", step,
        self.options.num_train_steps,
        "  ".join(f"{name} {value:.4g}" for name, value in values.items()),
        examples, time.strftime("%H:%M:%S", time.gmtime(remaining)))
    with writer.as_default(step=step):
      for name, value in values.items():
        tf.summary.scalar(name, value)
      tf.summary.scalar("examples_per_second", examples)
    return values

  # Evaluation.

  def evaluate(self, dataset_fn, steps=None):
    """Each loss term's weighted mean, their sum and the task metrics."""
    dataset = self.strategy.distribute_datasets_from_function(dataset_fn)
    for metric in self.metrics.values():
      metric.reset_state()
    with self.strategy.scope():
      sums = {}

    @tf.function
    def eval_step(features):
      def replica_fn(features):
        outputs = self.model(self._model_inputs(features), training=False)
        weights = self.task.loss_weights(features)
        for name, losses in self.task.item_losses(features, outputs).items():
          weight = tf.cast(weights[name], tf.float32)
          sums[name][0].update_state(
              tf.reduce_sum(tf.cast(losses, tf.float32) * weight))
          sums[name][1].update_state(tf.reduce_sum(weight))
        self.task.update_metrics(self.metrics, features, outputs)
      self.strategy.run(replica_fn, args=(features,))

    for index, features in enumerate(dataset):
      if steps is not None and index >= steps:
        break
      if not sums:  # metric variables must exist before the first trace
        with self.strategy.scope():
          for name in self.task.loss_weights(
              self.strategy.experimental_local_results(features)[0]):
            sums[name] = (tf.keras.metrics.Sum(), tf.keras.metrics.Sum())
      eval_step(features)
    results = {name: float(metric.result())
               for name, metric in self.metrics.items()}
    for name, (loss_sum, weight_sum) in sums.items():
      weight = float(weight_sum.result())
      results[f"{name}_loss"] = (float(loss_sum.result()) / weight
                                 if weight else 0.0)
    results["loss"] = sum(results[f"{name}_loss"] for name in sums)
    return results
