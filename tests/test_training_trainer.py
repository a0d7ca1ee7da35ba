"""The training loop: accumulation, resume, divergence, evaluation."""

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.training.lamb import LAMB
from sqz_tf.training.trainer import NonFiniteLossError
from tests.tiny_configs import tiny_config
from tests.training_fixtures import dataset_fn_of
from tests.training_fixtures import make_trainer
from tests.training_fixtures import synthetic_pretraining_examples


def _weights(trainer):
  return [w.numpy() for w in trainer.model.weights]


@pytest.mark.parametrize("optimizer", ["sgd", "lamb"])
def test_accumulated_micro_steps_equal_one_big_step(tmp_path, optimizer):
  config = tiny_config(hidden_dropout_prob=0.0,
                       attention_probs_dropout_prob=0.0)
  examples = synthetic_pretraining_examples(config, count=8)
  optimizer_fn = {"sgd": lambda: tf.keras.optimizers.SGD(1.0),
                  "lamb": lambda: LAMB(1e-2, weight_decay_rate=0.01)}[optimizer]
  results = {}
  for accumulation in (1, 4):
    tf.keras.utils.set_random_seed(0)
    trainer = make_trainer(config, tmp_path / str(accumulation), optimizer_fn,
                           num_train_steps=2, global_batch_size=8,
                           gradient_accumulation_steps=accumulation)
    initial = _weights(trainer)
    trainer.train(dataset_fn_of(examples, 8))
    results[accumulation] = (initial, _weights(trainer))
  for before, one, four in zip(results[1][0], results[1][1], results[4][1]):
    assert np.any(one != before)  # every weight was trained
    np.testing.assert_allclose(four, one, rtol=1e-5, atol=1e-6)


def test_resumed_training_equals_uninterrupted_training(tmp_path):
  config = tiny_config(hidden_dropout_prob=0.1)  # dropout on: RNG must match
  examples = synthetic_pretraining_examples(config, count=40)
  dataset_fn = dataset_fn_of(examples, 8, shuffle_seed=3)

  def run(model_dir, steps):
    tf.keras.utils.set_random_seed(0)
    trainer = make_trainer(config, model_dir, lambda: LAMB(1e-3),
                           num_train_steps=steps, seed=7)
    trainer.train(dataset_fn)
    return trainer

  uninterrupted = _weights(run(tmp_path / "a", 6))
  run(tmp_path / "b", 4)  # "killed" after its step-4 checkpoint
  resumed = run(tmp_path / "b", 6)
  assert int(resumed.optimizer.iterations.numpy()) == 6
  for a, b in zip(uninterrupted, _weights(resumed)):
    np.testing.assert_array_equal(a, b)


def test_diverging_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  config = tiny_config()
  examples = synthetic_pretraining_examples(config)
  trainer = make_trainer(config, tmp_path, lambda: tf.keras.optimizers.SGD(
      1e30), num_train_steps=20, save_checkpoints_steps=1)
  with pytest.raises(NonFiniteLossError, match=r"loss became nan at step \d"):
    trainer.train(dataset_fn_of(examples, 8))
  latest = tf.train.latest_checkpoint(trainer.checkpoint_dir)
  assert latest is not None
  reader = tf.train.load_checkpoint(latest)
  model_weights = [name for name in reader.get_variable_to_shape_map()
                   if name.startswith("model/")]
  assert model_weights
  for name in model_weights:
    assert np.isfinite(reader.get_tensor(name)).all(), name


def test_training_learns_and_evaluation_reports(tmp_path):
  config = tiny_config(hidden_dropout_prob=0.0,
                       attention_probs_dropout_prob=0.0)
  examples = synthetic_pretraining_examples(config, count=16)
  tf.keras.utils.set_random_seed(0)
  trainer = make_trainer(config, tmp_path, lambda: LAMB(2e-2),
                         num_train_steps=40, save_checkpoints_steps=40,
                         log_steps=10)
  before = trainer.evaluate(dataset_fn_of(examples, 8), steps=2)
  trainer.train(dataset_fn_of(examples, 8))
  after = trainer.evaluate(dataset_fn_of(examples, 8), steps=2)
  assert after["mlm_loss"] < before["mlm_loss"] - 1.0
  assert after["mlm_accuracy"] > before["mlm_accuracy"]
  assert set(after) >= {"loss", "mlm_loss", "sentence_loss", "mlm_accuracy",
                        "sop_accuracy"}
  assert tf.io.gfile.glob(str(tmp_path / "train" / "events.out.tfevents.*"))


@pytest.mark.parametrize("policy, jit", [("mixed_float16", False),
                                         ("mixed_bfloat16", False),
                                         ("float32", True)])
def test_mixed_precision_and_xla_steps_train(tmp_path, policy, jit):
  config = tiny_config()
  examples = synthetic_pretraining_examples(config, count=16)

  def optimizer_fn():
    optimizer = LAMB(1e-2)
    if policy == "mixed_float16":
      optimizer = tf.keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer

  tf.keras.mixed_precision.set_global_policy(policy)
  try:
    trainer = make_trainer(config, tmp_path, optimizer_fn, num_train_steps=4,
                           jit_compile=jit, gradient_accumulation_steps=2)
    initial = _weights(trainer)
    log = trainer.train(dataset_fn_of(examples, 8))
  finally:
    tf.keras.mixed_precision.set_global_policy("float32")
  assert np.isfinite(log["loss"])
  assert all(w.dtype == np.float32 for w in _weights(trainer))
  assert any(np.any(a != b) for a, b in zip(initial, _weights(trainer)))
