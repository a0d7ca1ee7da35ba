"""LAMB against a NumPy transcription of the paper; the LR schedule."""

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.training.lamb import LAMB
from sqz_tf.training.schedules import WarmupPolynomialDecay


def numpy_lamb(weights, gradients, lr, beta_1, beta_2, epsilon, decay,
               decayed, adapted):
  """You et al. 2019, Algorithm 2 (with Adam's bias correction), verbatim."""
  weights = {name: w.copy() for name, w in weights.items()}
  m = {name: np.zeros_like(w) for name, w in weights.items()}
  v = {name: np.zeros_like(w) for name, w in weights.items()}
  for t, step_gradients in enumerate(gradients, start=1):
    for name, g in step_gradients.items():
      m[name] = beta_1 * m[name] + (1 - beta_1) * g
      v[name] = beta_2 * v[name] + (1 - beta_2) * g * g
      m_hat = m[name] / (1 - beta_1 ** t)
      v_hat = v[name] / (1 - beta_2 ** t)
      r = m_hat / (np.sqrt(v_hat) + epsilon)
      u = r + (decay * weights[name] if name in decayed else 0.0)
      ratio = 1.0
      if name in adapted:
        w_norm, u_norm = np.linalg.norm(weights[name]), np.linalg.norm(u)
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
      weights[name] = weights[name] - lr * ratio * u
  return weights


def test_lamb_matches_paper_update_rule():
  rng = np.random.default_rng(0)
  shapes = {"dense/kernel": (4, 3), "dense/bias": (3,),
            "norm/gamma": (3,), "zero/kernel": (2, 2)}
  weights = {name: rng.normal(size=shape).astype(np.float64)
             for name, shape in shapes.items()}
  weights["zero/kernel"][:] = 0.0  # trust ratio falls back to 1
  gradients = [{name: rng.normal(size=shape) for name, shape in shapes.items()}
               for _ in range(5)]
  # lr is a float32 variable in Keras: pick one that float32 holds exactly.
  hparams = dict(lr=2.0**-7, beta_1=0.9, beta_2=0.99, epsilon=1e-6, decay=0.1)

  variables = {name: tf.Variable(w, name=name, dtype=tf.float64)
               for name, w in weights.items()}
  optimizer = LAMB(learning_rate=hparams["lr"], beta_1=hparams["beta_1"],
                   beta_2=hparams["beta_2"], epsilon=hparams["epsilon"],
                   weight_decay_rate=hparams["decay"])
  for step_gradients in gradients:
    optimizer.apply_gradients(
        [(tf.constant(step_gradients[name]), variables[name])
         for name in shapes])

  expected = numpy_lamb(weights, gradients, **hparams,
                        decayed={"dense/kernel", "zero/kernel"},
                        adapted={"dense/kernel", "zero/kernel"})
  for name in shapes:
    np.testing.assert_allclose(variables[name].numpy(), expected[name],
                               rtol=1e-10, atol=1e-12, err_msg=name)
  # The exclusions mattered: without them the bias would move differently.
  unexcluded = numpy_lamb(weights, gradients, **hparams,
                          decayed=set(shapes), adapted=set(shapes))
  assert not np.allclose(unexcluded["dense/bias"], expected["dense/bias"])


def test_lamb_handles_sparse_gradients_and_round_trips_config():
  table = tf.Variable(np.ones((5, 2), np.float32), name="embeddings")
  optimizer = LAMB(learning_rate=0.1, weight_decay_rate=0.01)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(tf.gather(table, [1, 3]))
  gradient = tape.gradient(loss, table)
  assert isinstance(gradient, tf.IndexedSlices)
  optimizer.apply_gradients([(gradient, table)])
  moved = np.any(table.numpy() != 1.0, axis=1)
  assert moved[1] and moved[3]
  clone = LAMB.from_config(optimizer.get_config())
  assert clone.get_config() == optimizer.get_config()


def test_warmup_then_polynomial_decay_to_zero():
  schedule = WarmupPolynomialDecay(2.5e-3, warmup_steps=28, total_steps=100)
  rates = np.array([float(schedule(step)) for step in range(101)])
  assert rates[0] == 0.0
  np.testing.assert_allclose(rates[14], 2.5e-3 / 2, rtol=1e-6)
  assert rates.argmax() == 28
  assert np.all(np.diff(rates[28:]) < 0)
  assert rates[100] == pytest.approx(0.0, abs=1e-12)
  squared = WarmupPolynomialDecay(1.0, 0, 10, power=2.0)
  assert float(squared(5)) == pytest.approx(0.25)
  clone = WarmupPolynomialDecay.from_config(schedule.get_config())
  assert float(clone(50)) == pytest.approx(float(schedule(50)))
