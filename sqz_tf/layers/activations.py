"""Activation functions by their HuggingFace names."""

import tensorflow as tf



def gelu(x):
  """Exact (erf) GELU: HF's "gelu". Keras' default approximation is not it."""
  return tf.nn.gelu(x, approximate=False)


def gelu_tanh(x):
  """The tanh approximation of GELU: HF's "gelu_new"."""
  return tf.nn.gelu(x, approximate=True)


_ACTIVATIONS = {
    "gelu": gelu,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "relu": tf.nn.relu,
    "tanh": tf.math.tanh,
    "silu": tf.nn.silu,
    "swish": tf.nn.silu,
}


ACTIVATION_NAMES = tuple(_ACTIVATIONS)


def get_activation(name: str):
  """Returns the function HF's `ACT2FN[name]` computes."""
  try:
    return _ACTIVATIONS[name]
  except KeyError:
    raise ValueError(f"unsupported activation {name!r}; known: "
                     f"{', '.join(_ACTIVATIONS)}") from None
