"""SqueezeBertConfig: the hyperparameters of a SqueezeBERT model.

The fields and their defaults are those of HuggingFace's `SqueezeBertConfig`,
so a `config.json` written by `transformers` reads directly and ours can be
read back by `transformers`:

    config = SqueezeBertConfig.from_json_file(
        "official_configs/squeezebert_uncased.json")
    config.hidden_size  # 768
    config.to_json_file("/tmp/config.json")
"""

import dataclasses
import json
import logging
from typing import Any, Mapping

from sqz_tf.errors import ConfigError
from sqz_tf.layers.activations import ACTIVATION_NAMES

# Keys that every HF `PretrainedConfig` may carry and that say nothing about
# the network itself; they are read without a warning and not kept.
_HF_GENERIC_KEYS = frozenset({
    "model_type", "architectures", "transformers_version", "torch_dtype",
    "dtype", "id2label", "label2id", "num_labels", "problem_type",
    "bos_token_id", "eos_token_id", "tie_word_embeddings", "output_attentions",
    "output_hidden_states", "return_dict", "use_return_dict", "_name_or_path",
    "finetuning_task", "is_decoder", "add_cross_attention", "chunk_size_feed_forward",
    "tokenizer_class", "prefix", "sep_token_id", "task_specific_params",
})


@dataclasses.dataclass(frozen=True)
class SqueezeBertConfig:
  """Architecture of a SqueezeBERT encoder (HF `SqueezeBertConfig` fields).

  The `*_groups` fields are the group counts of the kernel-1 convolutions:
  Q, K, V, the post-attention projection, FFN1 (`intermediate`) and FFN2
  (`output`). All groups = 1 gives BERT.
  """
  vocab_size: int = 30522
  hidden_size: int = 768
  num_hidden_layers: int = 12
  num_attention_heads: int = 12
  intermediate_size: int = 3072
  hidden_act: str = "gelu"
  hidden_dropout_prob: float = 0.1
  attention_probs_dropout_prob: float = 0.1
  max_position_embeddings: int = 512
  type_vocab_size: int = 2
  initializer_range: float = 0.02
  layer_norm_eps: float = 1e-12
  pad_token_id: int = 0
  embedding_size: int = 768
  q_groups: int = 4
  k_groups: int = 4
  v_groups: int = 4
  post_attention_groups: int = 1
  intermediate_groups: int = 4
  output_groups: int = 4

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if field.type is int and (isinstance(value, bool) or
                                not isinstance(value, int)):
        raise ConfigError(f"{field.name} must be an integer, got {value!r}")
    positive = ("vocab_size", "hidden_size", "num_hidden_layers",
                "num_attention_heads", "intermediate_size",
                "max_position_embeddings", "type_vocab_size", "embedding_size",
                "q_groups", "k_groups", "v_groups", "post_attention_groups",
                "intermediate_groups", "output_groups")
    for name in positive:
      if getattr(self, name) <= 0:
        raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
    if self.embedding_size != self.hidden_size:
      raise ConfigError(
          f"embedding_size ({self.embedding_size}) must equal hidden_size "
          f"({self.hidden_size}): SqueezeBERT has no embedding projection")
    if self.hidden_size % self.num_attention_heads:
      raise ConfigError(
          f"hidden_size ({self.hidden_size}) is not divisible by "
          f"num_attention_heads ({self.num_attention_heads})")
    for name, (c_in, c_out) in self.projection_channels().items():
      groups = getattr(self, f"{name}_groups")
      if c_in % groups or c_out % groups:
        raise ConfigError(
            f"{name}_groups ({groups}) must divide the {name} projection's "
            f"input ({c_in}) and output ({c_out}) channels")
    if self.hidden_act not in ACTIVATION_NAMES:
      raise ConfigError(f"hidden_act {self.hidden_act!r} is not one of "
                        f"{', '.join(ACTIVATION_NAMES)}")
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
      if not 0.0 <= getattr(self, name) < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
    if self.layer_norm_eps <= 0 or self.initializer_range <= 0:
      raise ConfigError("layer_norm_eps and initializer_range must be positive")
    if not 0 <= self.pad_token_id < self.vocab_size:
      raise ConfigError(f"pad_token_id {self.pad_token_id} is outside the "
                        f"vocabulary of {self.vocab_size}")

  def projection_channels(self) -> dict[str, tuple[int, int]]:
    """(input, output) channels of each grouped projection, by group name."""
    hidden, inner = self.hidden_size, self.intermediate_size
    return {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden),
            "post_attention": (hidden, hidden),
            "intermediate": (hidden, inner), "output": (inner, hidden)}

  # Dictionaries and JSON.

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: Mapping[str, Any]) -> "SqueezeBertConfig":
    """Builds a config from our own field names; unknown names are errors."""
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
      raise ConfigError(f"unknown SqueezeBertConfig fields: {', '.join(unknown)}")
    return cls(**values)

  @classmethod
  def coerce(cls, value) -> "SqueezeBertConfig":
    """Accepts a config or the dict a Keras `get_config` stored."""
    return value if isinstance(value, cls) else cls.from_dict(value)

  def to_hf_dict(self) -> dict[str, Any]:
    """The fields of an HF `config.json` (model_type first, as HF writes)."""
    return {"model_type": "squeezebert", **self.to_dict()}

  @classmethod
  def from_hf_dict(cls, values: Mapping[str, Any]) -> "SqueezeBertConfig":
    """Reads an HF config dict, checking that it describes SqueezeBERT."""
    model_type = values.get("model_type")
    if model_type != "squeezebert":
      raise ConfigError(f"not a SqueezeBERT config: model_type is {model_type!r}"
                        " (expected 'squeezebert')")
    if values.get("tie_word_embeddings") is False:
      raise ConfigError("tie_word_embeddings=false is not supported: the MLM "
                        "decoder of SqueezeBERT shares the word embeddings")
    names = {field.name for field in dataclasses.fields(cls)}
    ignored = sorted(set(values) - names - _HF_GENERIC_KEYS)
    if ignored:
      logging.warning("Ignoring config keys that SqueezeBERT does not use: %s",
                      ", ".join(ignored))
    known = {k: v for k, v in values.items() if k in names}
    return cls(**known)

  @classmethod
  def from_json_file(cls, path: str) -> "SqueezeBertConfig":
    """Reads an HF-style `config.json` (as in `official_configs/`)."""
    try:
      with open(path, encoding="utf-8") as f:
        values = json.load(f)
    except FileNotFoundError:
      raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
      raise ConfigError(f"cannot read config {path}: {e}") from None
    if not isinstance(values, dict):
      raise ConfigError(f"config {path} is not a JSON object")
    return cls.from_hf_dict(values)

  def to_json_file(self, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
      json.dump(self.to_hf_dict(), f, indent=2)
      f.write("\n")
