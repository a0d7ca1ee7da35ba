"""SqueezeBertConfig: HF config.json I/O, official configs, validation."""

import dataclasses
import json
import os
import re

import pytest
import transformers

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.errors import ConfigError

OFFICIAL = os.path.join(os.path.dirname(__file__), "..", "official_configs")


def test_has_every_field_of_hf_config():
  hf_fields = set(transformers.SqueezeBertConfig().to_dict())
  ours = {field.name for field in dataclasses.fields(SqueezeBertConfig)}
  architecture_fields = {
      "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
      "intermediate_size", "hidden_act", "hidden_dropout_prob",
      "attention_probs_dropout_prob", "max_position_embeddings",
      "type_vocab_size", "initializer_range", "layer_norm_eps",
      "embedding_size", "q_groups", "k_groups", "v_groups",
      "post_attention_groups", "intermediate_groups", "output_groups",
      "pad_token_id"}
  assert architecture_fields <= hf_fields
  assert architecture_fields <= ours


def test_defaults_equal_hf_defaults():
  hf = transformers.SqueezeBertConfig().to_dict()
  for key, value in SqueezeBertConfig().to_dict().items():
    assert hf[key] == value, key


def test_hf_config_json_round_trip(tmp_path):
  hf = transformers.SqueezeBertConfig(hidden_size=64, num_attention_heads=4,
                                      embedding_size=64, q_groups=2,
                                      intermediate_size=128, output_groups=8)
  hf.save_pretrained(tmp_path)
  ours = SqueezeBertConfig.from_json_file(str(tmp_path / "config.json"))
  assert (ours.hidden_size, ours.q_groups, ours.output_groups) == (64, 2, 8)

  ours.to_json_file(str(tmp_path / "config.json"))
  back = transformers.SqueezeBertConfig.from_pretrained(tmp_path)
  for key, value in ours.to_dict().items():
    assert getattr(back, key) == value, key
  assert SqueezeBertConfig.from_json_file(str(tmp_path / "config.json")) == ours


def test_official_configs():
  squeeze = SqueezeBertConfig.from_json_file(
      os.path.join(OFFICIAL, "squeezebert_uncased.json"))
  assert (squeeze.vocab_size, squeeze.num_hidden_layers, squeeze.hidden_size,
          squeeze.num_attention_heads, squeeze.intermediate_size) == (
              30528, 12, 768, 12, 3072)
  assert (squeeze.q_groups, squeeze.k_groups, squeeze.v_groups,
          squeeze.post_attention_groups, squeeze.intermediate_groups,
          squeeze.output_groups) == (4, 4, 4, 1, 4, 4)
  bert = SqueezeBertConfig.from_json_file(
      os.path.join(OFFICIAL, "bert_base_uncased_equiv.json"))
  assert dataclasses.replace(
      squeeze, q_groups=1, k_groups=1, v_groups=1, post_attention_groups=1,
      intermediate_groups=1, output_groups=1) == bert


@pytest.mark.parametrize("overrides, message", [
    (dict(q_groups=5), "q_groups (5) must divide"),
    (dict(intermediate_size=100, output_groups=8), "output_groups (8)"),
    (dict(num_attention_heads=5), "not divisible by num_attention_heads"),
    (dict(embedding_size=128), "embedding_size (128) must equal hidden_size"),
    (dict(hidden_act="mish"), "hidden_act 'mish'"),
    (dict(hidden_size=0), "hidden_size must be positive"),
    (dict(num_hidden_layers=2.0), "num_hidden_layers must be an integer"),
    (dict(hidden_dropout_prob=1.0), "hidden_dropout_prob must be in [0, 1)"),
])
def test_invalid_configs_fail_at_construction(overrides, message):
  with pytest.raises(ConfigError, match=re.escape(message)):
    SqueezeBertConfig(**overrides)


def test_rejects_other_model_types(tmp_path):
  path = tmp_path / "config.json"
  path.write_text(json.dumps({"model_type": "bert", "hidden_size": 768}))
  with pytest.raises(ConfigError, match="not a SqueezeBERT config"):
    SqueezeBertConfig.from_json_file(str(path))


def test_unknown_own_fields_are_errors():
  with pytest.raises(ConfigError, match="unknown SqueezeBertConfig fields"):
    SqueezeBertConfig.from_dict({"hiden_size": 8})
