"""Parameter and FLOP counts of a SqueezeBERT encoder, from its config."""

import dataclasses

from sqz_tf.configs import SqueezeBertConfig


@dataclasses.dataclass(frozen=True)
class ModelFacts:
  """Size and cost of one encoder at one sequence length."""
  parameters: int
  flops_per_sequence: int  # multiply-add = 2 FLOPs
  seq_length: int

  def __str__(self):
    return (f"{self.parameters:,} parameters, "
            f"{self.flops_per_sequence / 1e9:.2f} GFLOPs per sequence of "
            f"{self.seq_length} tokens")


def encoder_parameters(config: SqueezeBertConfig) -> int:
  """Weights of `SqueezeBertEncoder` (HF's `SqueezeBertModel`), pooler included."""
  hidden = config.hidden_size
  embeddings = (config.vocab_size + config.max_position_embeddings +
                config.type_vocab_size) * hidden + 2 * hidden
  per_layer = 2 * 2 * hidden  # two LayerNorms
  for name, (c_in, c_out) in config.projection_channels().items():
    per_layer += c_in * c_out // getattr(config, f"{name}_groups") + c_out
  pooler = hidden * hidden + hidden
  return embeddings + config.num_hidden_layers * per_layer + pooler


def projection_flops(config: SqueezeBertConfig, seq_length: int) -> int:
  """FLOPs of one layer's six projections (grouped or dense) on a sequence."""
  return sum(
      2 * seq_length * c_in * c_out // getattr(config, f"{name}_groups")
      for name, (c_in, c_out) in config.projection_channels().items())


def encoder_flops(config: SqueezeBertConfig, seq_length: int) -> int:
  """FLOPs of the encoder on one sequence: projections, attention, pooler.

  Counts the matrix products (a multiply-add is 2 FLOPs), which are nearly
  all of the work; element-wise ops (LayerNorm, softmax, GELU, additions) and
  embedding lookups are left out, as is usual for transformer FLOP counts.
  """
  hidden = config.hidden_size
  # Q·Kᵀ and probabilities·V, over all heads together.
  attention = 2 * (2 * seq_length * seq_length * hidden)
  pooler = 2 * hidden * hidden
  return config.num_hidden_layers * (
      projection_flops(config, seq_length) + attention) + pooler


def model_facts(config: SqueezeBertConfig, seq_length: int = 128) -> ModelFacts:
  """Parameters and FLOPs per sequence of the encoder of `config`.

  Example:
  >>> facts = model_facts(SqueezeBertConfig(vocab_size=30528))
  >>> facts.parameters
  51094272
  """
  if not 0 < seq_length <= config.max_position_embeddings:
    raise ValueError(f"seq_length {seq_length} is outside 1.."
                     f"{config.max_position_embeddings}")
  return ModelFacts(parameters=encoder_parameters(config),
                    flops_per_sequence=encoder_flops(config, seq_length),
                    seq_length=seq_length)
