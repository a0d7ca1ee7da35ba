"""SqueezeBertPooler: tanh dense layer on the first ([CLS]) token."""

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class SqueezeBertPooler(tf.keras.layers.Dense):
  """`tanh(W · sequence_output[:, 0] + b)`, as HF's `SqueezeBertPooler`.

  Example:
  >>> pooler = SqueezeBertPooler(units=4)
  >>> pooler(tf.zeros([2, 3, 4])).shape
  TensorShape([2, 4])
  """

  def __init__(self, units, activation="tanh", **kwargs):
    super().__init__(units, activation=activation, **kwargs)

  def build(self, input_shape):
    super().build(tf.TensorShape(input_shape)[:1].concatenate(
        tf.TensorShape(input_shape)[-1:]))

  def call(self, sequence_output):
    return super().call(sequence_output[:, 0])
