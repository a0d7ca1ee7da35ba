"""ConfiguredModel: base of the functional models built from a config."""

import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig


class ConfiguredModel(tf.keras.Model):
  """A functional model that is rebuilt from its `SqueezeBertConfig`.

  Subclasses build their graph in `__init__` and pass the config here;
  `get_config` returns the constructor arguments (`_extra_config` adds
  more), so `load_model` rebuilds the model and then loads the weights.
  """

  def __init__(self, config: SqueezeBertConfig, **kwargs):
    super().__init__(**kwargs)
    self._model_config = config

  @property
  def model_config(self) -> SqueezeBertConfig:
    return self._model_config

  def _extra_config(self):
    return {}

  def get_config(self):
    return {"config": self._model_config.to_dict(), "name": self.name,
            **self._extra_config()}

  @classmethod
  def from_config(cls, config, custom_objects=None):
    return cls(**config)
