"""Parameter and FLOP counts, checked against built models and HF."""

import os

import pytest
import transformers

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models import model_facts
from sqz_tf.model_facts import facts_table
from tests.tiny_configs import TINY_CONFIGS
from tests.tiny_configs import tiny_config

OFFICIAL = os.path.join(os.path.dirname(__file__), "..", "official_configs")


@pytest.mark.parametrize("name", sorted(TINY_CONFIGS))
def test_parameter_formula_matches_built_model_and_hf(name):
  config = tiny_config(name)
  counted = model_facts(config, 8).parameters
  assert counted == SqueezeBertEncoder(config).count_params()
  hf = transformers.SqueezeBertModel(
      transformers.SqueezeBertConfig(**config.to_dict()))
  assert counted == hf.num_parameters()


def test_official_squeezebert_facts():
  squeeze = SqueezeBertConfig.from_json_file(
      os.path.join(OFFICIAL, "squeezebert_uncased.json"))
  bert = SqueezeBertConfig.from_json_file(
      os.path.join(OFFICIAL, "bert_base_uncased_equiv.json"))
  assert model_facts(squeeze).parameters == 51_094_272
  assert model_facts(squeeze, 128).flops_per_sequence / 1e9 == pytest.approx(
      7.4, abs=0.05)
  assert model_facts(bert, 128).flops_per_sequence / 1e9 == pytest.approx(
      22.4, abs=0.1)


def test_flops_by_hand_for_one_layer():
  config = SqueezeBertConfig(vocab_size=10, hidden_size=8,
                             num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=16, embedding_size=8,
                             q_groups=2, k_groups=2, v_groups=2,
                             post_attention_groups=1, intermediate_groups=4,
                             output_groups=4)
  seq = 5
  qkv = 3 * 2 * seq * 8 * 8 // 2
  post = 2 * seq * 8 * 8
  ffn = 2 * (2 * seq * 8 * 16 // 4)
  attention = 2 * 2 * seq * seq * 8
  pooler = 2 * 8 * 8
  assert model_facts(config, seq).flops_per_sequence == (
      qkv + post + ffn + attention + pooler)


def test_facts_table_builds_each_config():
  rows = facts_table([os.path.join(OFFICIAL, "squeezebert_uncased.json")],
                     [128])
  assert "51,094,272" in rows[-1] and "7.40" in rows[-1]
