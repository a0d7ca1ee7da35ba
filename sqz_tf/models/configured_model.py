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


def label_names(num_labels, id2label=None) -> dict:
  """A head's `{id: label}`: `id2label` checked (keys may be strings, as in
  JSON), or HF's default names LABEL_0 .. LABEL_{n-1}."""
  if num_labels < 1:
    raise ValueError(f"num_labels must be at least 1, got {num_labels}")
  id2label = ({int(i): str(label) for i, label in id2label.items()}
              if id2label else {i: f"LABEL_{i}" for i in range(num_labels)})
  if sorted(id2label) != list(range(num_labels)):
    raise ValueError(f"id2label must name labels 0..{num_labels - 1}, got "
                     f"{sorted(id2label)}")
  return id2label
