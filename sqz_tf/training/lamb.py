"""LAMB: layer-wise adaptive moments for large-batch training (Keras 2)."""

import re

import tensorflow as tf

# Variables that get neither weight decay nor layer adaptation by default:
# LayerNorm scales/offsets and biases, as in BERT and Model Garden.
DEFAULT_EXCLUDE = ("gamma", "beta", "bias", "LayerNorm", "layer_norm")


@tf.keras.utils.register_keras_serializable(package="sqz_tf")
class LAMB(tf.keras.optimizers.Optimizer):
  """The LAMB optimizer of You et al. 2019 (arXiv 1904.00962, Algorithm 2).

  Per variable x with gradient g at step t:
    m = β1·m + (1-β1)·g          v = β2·v + (1-β2)·g²
    r = (m / (1-β1ᵗ)) / (sqrt(v / (1-β2ᵗ)) + ε)
    u = r + λ·x                  (λ = 0 for excluded variables)
    x ← x - lr · (‖x‖ / ‖u‖) · u  (trust ratio 1 if either norm is 0, or
                                   if the variable is excluded from layer
                                   adaptation)
  Exclusions are regular expressions searched in the variable name.
  tf_keras ships no LAMB and tensorflow-addons is unmaintained, hence this.

  Example:
  >>> optimizer = LAMB(learning_rate=1e-3, weight_decay_rate=0.01)
  >>> var = tf.Variable([1.0, 2.0])
  >>> _ = optimizer.apply_gradients([(tf.constant([0.1, 0.1]), var)])
  """

  def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999,
               epsilon=1e-6, weight_decay_rate=0.0,
               exclude_from_weight_decay=DEFAULT_EXCLUDE,
               exclude_from_layer_adaptation=None, name="LAMB", **kwargs):
    kwargs.pop("weight_decay", None)  # LAMB decays inside the trust ratio
    super().__init__(name=name, **kwargs)
    self._learning_rate = self._build_learning_rate(learning_rate)
    self.beta_1 = beta_1
    self.beta_2 = beta_2
    self.epsilon = epsilon
    self.weight_decay_rate = weight_decay_rate
    self.exclude_from_weight_decay_names = tuple(exclude_from_weight_decay or ())
    # As in the reference implementations: no list means the decay list.
    self.exclude_from_layer_adaptation_names = tuple(
        self.exclude_from_weight_decay_names
        if exclude_from_layer_adaptation is None
        else exclude_from_layer_adaptation)

  def build(self, var_list):
    super().build(var_list)
    if getattr(self, "_built", False):
      return
    self._built = True
    self._momentums = [self.add_variable_from_reference(var, "m")
                       for var in var_list]
    self._velocities = [self.add_variable_from_reference(var, "v")
                        for var in var_list]

  @staticmethod
  def _matches(variable, patterns):
    return any(re.search(pattern, variable.name) for pattern in patterns)

  def update_step(self, gradient, variable):
    gradient = tf.convert_to_tensor(gradient)  # the norms need it dense
    dtype = variable.dtype
    lr = tf.cast(self.learning_rate, dtype)
    step = tf.cast(self.iterations + 1, dtype)
    beta_1 = tf.constant(self.beta_1, dtype)
    beta_2 = tf.constant(self.beta_2, dtype)
    index = self._index_dict[self._var_key(variable)]
    m, v = self._momentums[index], self._velocities[index]

    m.assign(beta_1 * m + (1.0 - beta_1) * gradient)
    v.assign(beta_2 * v + (1.0 - beta_2) * tf.square(gradient))
    m_hat = m / (1.0 - tf.pow(beta_1, step))
    v_hat = v / (1.0 - tf.pow(beta_2, step))
    update = m_hat / (tf.sqrt(v_hat) + self.epsilon)
    if self.weight_decay_rate and not self._matches(
        variable, self.exclude_from_weight_decay_names):
      update += self.weight_decay_rate * variable

    ratio = tf.constant(1.0, dtype)
    if not self._matches(variable, self.exclude_from_layer_adaptation_names):
      weight_norm = tf.norm(variable)
      update_norm = tf.norm(update)
      ratio = tf.where(
          weight_norm > 0,
          tf.where(update_norm > 0, weight_norm / update_norm, 1.0), 1.0)
    variable.assign_sub(lr * ratio * update)

  def get_config(self):
    config = super().get_config()
    config.update({
        "learning_rate": self._serialize_hyperparameter(self._learning_rate),
        "beta_1": self.beta_1,
        "beta_2": self.beta_2,
        "epsilon": self.epsilon,
        "weight_decay_rate": self.weight_decay_rate,
        "exclude_from_weight_decay": list(self.exclude_from_weight_decay_names),
        "exclude_from_layer_adaptation":
            list(self.exclude_from_layer_adaptation_names),
    })
    return config
