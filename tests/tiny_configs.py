"""Tiny SqueezeBERT configs and inputs that the tests share."""

import numpy as np

from sqz_tf.configs import SqueezeBertConfig

# Small but exercising: grouped and ungrouped projections, several head,
# layer and width counts, three token types.
TINY_CONFIGS = {
    "squeezebert_groups": dict(
        vocab_size=99, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=64, embedding_size=32,
        max_position_embeddings=40),
    "bert_like": dict(
        vocab_size=57, hidden_size=24, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=48, embedding_size=24,
        max_position_embeddings=16, q_groups=1, k_groups=1, v_groups=1,
        post_attention_groups=1, intermediate_groups=1, output_groups=1),
    "mixed_groups": dict(
        vocab_size=120, hidden_size=64, num_hidden_layers=3,
        num_attention_heads=8, intermediate_size=128, embedding_size=64,
        max_position_embeddings=24, q_groups=2, k_groups=8, v_groups=1,
        post_attention_groups=2, intermediate_groups=4, output_groups=8,
        hidden_act="gelu_new"),
    "one_head": dict(
        vocab_size=40, hidden_size=16, num_hidden_layers=4,
        num_attention_heads=1, intermediate_size=24, embedding_size=16,
        max_position_embeddings=20, type_vocab_size=3, q_groups=4,
        k_groups=2, v_groups=4, post_attention_groups=4,
        intermediate_groups=2, output_groups=1, hidden_act="relu"),
}


def tiny_config(name="squeezebert_groups", **overrides) -> SqueezeBertConfig:
  return SqueezeBertConfig(**{**TINY_CONFIGS[name], **overrides})


def toy_glue_config(vocab_size) -> SqueezeBertConfig:
  """The classifier config of the toy GLUE tasks (data_fixtures)."""
  return SqueezeBertConfig(
      vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
      num_attention_heads=4, intermediate_size=64, embedding_size=32,
      max_position_embeddings=64)


def tiny_inputs(config: SqueezeBertConfig, batch=3, seq_length=11, seed=0):
  """Token ids with padding in the mask and more than one token type."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(1, config.vocab_size, size=(batch, seq_length))
  mask = np.ones((batch, seq_length), np.int32)
  for row in range(1, batch):
    mask[row, seq_length - 2 * row - 1:] = 0
  ids = np.where(mask == 1, ids, 0)
  types = np.zeros((batch, seq_length), np.int32)
  types[:, seq_length // 2:] = rng.integers(1, config.type_vocab_size,
                                            size=(batch, 1))
  types = np.where(mask == 1, types, 0)
  return {"input_word_ids": ids.astype(np.int32), "input_mask": mask,
          "input_type_ids": types}


def masked_positions(batch=3, count=4, seq_length=11, seed=1):
  rng = np.random.default_rng(seed)
  return rng.integers(0, seq_length, size=(batch, count)).astype(np.int32)
