"""Trains a tiny pretrainer under a strategy and saves its final weights.

Run as a process of its own by the distribution tests:
  python -m tests.distributed_worker STRATEGY MODEL_DIR OUT.npz
(`mirrored` splits the CPU into two logical devices; `multi_worker_mirrored`
reads TF_CONFIG.)
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import sqz_tf  # noqa: E402,F401
import tensorflow as tf  # noqa: E402

from sqz_tf.training.distribution import get_strategy  # noqa: E402
from sqz_tf.training.lamb import LAMB  # noqa: E402
from tests.tiny_configs import tiny_config  # noqa: E402
from tests.training_fixtures import dataset_fn_of  # noqa: E402
from tests.training_fixtures import make_trainer  # noqa: E402
from tests.training_fixtures import synthetic_pretraining_examples  # noqa: E402

STEPS = 3


def main(strategy_name, model_dir, output):
  if strategy_name == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
  strategy = get_strategy(strategy_name)
  config = tiny_config(hidden_dropout_prob=0.0,
                       attention_probs_dropout_prob=0.0)
  examples = synthetic_pretraining_examples(config, count=32)
  tf.keras.utils.set_random_seed(0)
  trainer = make_trainer(config, model_dir, lambda: LAMB(1e-2),
                         strategy=strategy, num_train_steps=STEPS,
                         global_batch_size=8, save_checkpoints_steps=STEPS)
  trainer.train(dataset_fn_of(examples, 8))
  np.savez(output, replicas=strategy.num_replicas_in_sync,
           steps=int(trainer.optimizer.iterations.numpy()),
           **{f"w{index}": w.numpy()
              for index, w in enumerate(trainer.model.weights)})


if __name__ == "__main__":
  main(*sys.argv[1:])
