"""The flags both trainers share, and turning them into a Trainer.

run_pretraining and run_classifier call `define_trainer_flags` (with their
own defaults) and then `setup_run` / `build_trainer`, so strategy, precision,
optimizer and checkpoint handling are spelled once.
"""

import os

from absl import flags
from absl import logging
import tensorflow as tf

from sqz_tf import cli
from sqz_tf.errors import SqzError
from sqz_tf.training import distribution
from sqz_tf.training import optimizers
from sqz_tf.training.trainer import Trainer
from sqz_tf.training.trainer import TrainerOptions

FLAGS = flags.FLAGS


def define_trainer_flags(optimizer="lamb", learning_rate=1e-4,
                         train_batch_size=32, warmup_proportion=0.1):
  """Defines the shared flags; arguments are the trainer's own defaults."""
  flags.DEFINE_string("model_dir", None, "Where checkpoints, summaries and "
                      "the final models go; a run resumes from it.")
  flags.DEFINE_string("init_checkpoint", None,
                      "Initial weights: a .keras model, a checkpoint prefix or "
                      "an earlier run's model_dir. Ignored when model_dir "
                      "already has a checkpoint (the run resumes instead).")
  flags.DEFINE_integer("train_batch_size", train_batch_size,
                       "Global batch per optimizer step (all replicas and "
                       "accumulation micro-steps).")
  flags.DEFINE_integer("gradient_accumulation_steps", 1,
                       "Micro-steps whose gradients make one update.")
  flags.DEFINE_float("learning_rate", learning_rate, "Peak learning rate.")
  flags.DEFINE_enum("optimizer", optimizer, optimizers.OPTIMIZERS, "Optimizer.")
  flags.DEFINE_float("weight_decay", 0.01, "Decoupled weight decay (not on "
                     "LayerNorm or bias weights).")
  flags.DEFINE_float("warmup_proportion", warmup_proportion,
                     "Share of the steps with linear warmup.")
  flags.DEFINE_integer("num_warmup_steps", None,
                       "Warmup steps; overrides --warmup_proportion.")
  flags.DEFINE_integer("save_checkpoints_steps", 1000, "Checkpoint interval.")
  flags.DEFINE_integer("keep_checkpoint_max", 5, "Checkpoints kept.")
  flags.DEFINE_integer("log_steps", 100, "Log and summary interval.")
  flags.DEFINE_enum("distribution_strategy", "off", distribution.STRATEGIES,
                    "tf.distribute strategy.")
  flags.DEFINE_string("tpu", "", "TPU name or grpc:// address (tpu strategy).")
  flags.DEFINE_integer("num_gpus", 0, "GPUs for one_device/mirrored.")
  flags.DEFINE_enum("mixed_precision", "float32", distribution.PRECISIONS,
                    "Keras mixed-precision policy.")
  flags.DEFINE_bool("jit_compile", False, "XLA-compile the training step.")
  flags.DEFINE_integer("seed", 42, "Seed of initialization, data order and "
                       "dropout.")
  flags.DEFINE_bool("deterministic", False,
                    "Deterministic ops (reproducible, slower on GPU).")
  flags.mark_flag_as_required("model_dir")


def setup_run():
  """Seeds, precision, determinism and the strategy."""
  if FLAGS.gradient_accumulation_steps < 1:
    raise SqzError("gradient_accumulation_steps must be at least 1")
  if FLAGS.deterministic:
    tf.config.experimental.enable_op_determinism()
  tf.keras.utils.set_random_seed(FLAGS.seed)
  distribution.set_precision(FLAGS.mixed_precision)
  strategy = distribution.get_strategy(FLAGS.distribution_strategy,
                                       num_gpus=FLAGS.num_gpus, tpu=FLAGS.tpu)
  replicas = strategy.num_replicas_in_sync
  if FLAGS.train_batch_size % (replicas * FLAGS.gradient_accumulation_steps):
    raise SqzError(
        f"train_batch_size ({FLAGS.train_batch_size}) must divide evenly "
        f"into {replicas} replica(s) x {FLAGS.gradient_accumulation_steps} "
        "accumulation step(s)")
  logging.info("Strategy %s with %d replica(s), precision %s",
               type(strategy).__name__, replicas, FLAGS.mixed_precision)
  return strategy


def write_resolved_flags(strategy):
  """Writes model_dir/flags.txt; called once the inputs have been checked."""
  if not distribution.is_chief(strategy):
    return
  try:
    os.makedirs(FLAGS.model_dir, exist_ok=True)
    with open(os.path.join(FLAGS.model_dir, "flags.txt"), "w",
              encoding="utf-8") as f:
      f.write(cli.sqz_flags_as_flagfile())
  except OSError as e:
    raise SqzError(f"cannot write to model_dir {FLAGS.model_dir}: "
                   f"{e.strerror}") from None


def build_trainer(task, strategy, num_train_steps):
  """A Trainer for `task` configured by the shared flags."""
  if num_train_steps < 1:
    raise SqzError("num_train_steps must be at least 1")
  warmup = optimizers.warmup_steps(num_train_steps, FLAGS.warmup_proportion,
                                   FLAGS.num_warmup_steps)
  options = TrainerOptions(
      model_dir=FLAGS.model_dir, num_train_steps=num_train_steps,
      global_batch_size=FLAGS.train_batch_size,
      gradient_accumulation_steps=FLAGS.gradient_accumulation_steps,
      save_checkpoints_steps=FLAGS.save_checkpoints_steps,
      keep_checkpoint_max=FLAGS.keep_checkpoint_max,
      log_steps=FLAGS.log_steps, jit_compile=FLAGS.jit_compile,
      seed=FLAGS.seed,
      max_nonfinite_steps=20 if FLAGS.mixed_precision == "mixed_float16" else 1)
  return Trainer(task, strategy, options, optimizer_fn=lambda: (
      optimizers.build_optimizer(FLAGS.optimizer, FLAGS.learning_rate,
                                 num_train_steps, warmup, FLAGS.weight_decay,
                                 FLAGS.mixed_precision)))
