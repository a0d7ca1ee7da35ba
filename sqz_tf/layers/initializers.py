"""Initializer helpers shared by the layers."""

import tensorflow as tf


def clone_initializer(initializer):
  """A fresh copy, so that no two weights share an initializer instance.

  Keras 2 initializers repeat their values when one instance initializes
  several weights.
  """
  initializer = tf.keras.initializers.get(initializer)
  return initializer.__class__.from_config(initializer.get_config())
