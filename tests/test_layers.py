"""Layers: numerics against PyTorch, config round trips, Keras-2 details."""

import numpy as np
import pytest
import tensorflow as tf
import torch

from sqz_tf import layers
from sqz_tf.layers.activations import get_activation


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_grouped_conv_matches_torch_conv1d(groups):
  conv = layers.GroupedPointwiseConv1D(filters=16, groups=groups)
  x = np.random.default_rng(groups).normal(size=(2, 5, 24)).astype(np.float32)
  ours = conv(x).numpy()
  assert conv.kernel.shape == (1, 24 // groups, 16)

  torch_conv = torch.nn.Conv1d(24, 16, kernel_size=1, groups=groups)
  with torch.no_grad():
    torch_conv.weight.copy_(torch.from_numpy(
        np.transpose(conv.kernel.numpy(), (2, 1, 0))))
    torch_conv.bias.copy_(torch.from_numpy(conv.bias.numpy()))
    reference = torch_conv(torch.from_numpy(x).permute(0, 2, 1))
  np.testing.assert_allclose(ours, reference.permute(0, 2, 1).numpy(),
                             atol=1e-5)


def test_grouped_conv_is_block_diagonal():
  conv = layers.GroupedPointwiseConv1D(filters=8, groups=4)
  x = np.zeros((1, 1, 8), np.float32)
  x[..., 0] = 1.0  # a channel of group 0 ...
  out = conv(x).numpy() - conv.bias.numpy()
  assert np.any(out[..., :2] != 0)
  np.testing.assert_array_equal(out[..., 2:], 0)  # ... reaches only group 0


def test_grouped_conv_rejects_indivisible_channels_and_other_kernels():
  with pytest.raises(ValueError, match="not divisible by groups=4"):
    layers.GroupedPointwiseConv1D(filters=8, groups=4)(tf.zeros([1, 2, 6]))
  with pytest.raises(ValueError, match="fixes kernel_size"):
    layers.GroupedPointwiseConv1D(filters=8, kernel_size=3)


def _round_trip(layer, *inputs):
  """Rebuilds `layer` from its config; same config, same output on same weights."""
  out = layer(*inputs)
  config = layer.get_config()
  clone = layer.__class__.from_config(config)
  clone(*inputs)
  clone.set_weights(layer.get_weights())
  assert clone.get_config() == config
  np.testing.assert_allclose(clone(*inputs).numpy(), out.numpy(), atol=1e-6)
  return config


def test_layer_configs_round_trip():
  hidden = tf.random.normal([2, 5, 8])
  mask = tf.constant([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
  _round_trip(layers.GroupedPointwiseConv1D(filters=12, groups=4), hidden)
  _round_trip(layers.SqueezeBertSelfAttention(
      hidden_size=8, num_heads=2, q_groups=2, k_groups=4, v_groups=1),
              hidden, mask)
  config = _round_trip(layers.SqueezeBertTransformerBlock(
      hidden_size=8, num_heads=2, intermediate_size=16, q_groups=2,
      k_groups=2, v_groups=2, post_attention_groups=1, intermediate_groups=4,
      output_groups=4, hidden_act="gelu", layer_norm_eps=1e-12), hidden, mask)
  assert config["layer_norm_eps"] == 1e-12
  ids = tf.constant([[3, 4, 5, 0, 0]])
  _round_trip(layers.SqueezeBertEmbeddings(vocab_size=10, hidden_size=8,
                                           max_position_embeddings=7),
              ids, tf.zeros_like(ids))
  _round_trip(layers.SqueezeBertPooler(units=8), hidden)


def test_layer_norms_use_bert_epsilon_not_keras_default():
  block = layers.SqueezeBertTransformerBlock(hidden_size=8, num_heads=2,
                                             intermediate_size=16)
  assert block.post_attention_norm.epsilon == 1e-12
  assert block.output_norm.epsilon == 1e-12
  assert layers.SqueezeBertEmbeddings(10, 8, 7).layer_norm.epsilon == 1e-12


def test_gelu_is_exact_erf_form():
  x = np.linspace(-4, 4, 101).astype(np.float32)
  reference = torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
  np.testing.assert_allclose(get_activation("gelu")(x).numpy(), reference,
                             atol=1e-6)
  tanh_form = get_activation("gelu_new")(x).numpy()
  assert np.abs(tanh_form - reference).max() > 1e-5


def test_attention_ignores_padding_keys():
  attention = layers.SqueezeBertSelfAttention(hidden_size=8, num_heads=2)
  hidden = np.random.default_rng(0).normal(size=(1, 5, 8)).astype(np.float32)
  mask = tf.constant([[1, 1, 1, 0, 0]])
  out = attention(hidden, mask).numpy()
  changed = hidden.copy()
  changed[:, 3:] += 10.0  # padding positions only
  out_changed = attention(changed, mask).numpy()
  np.testing.assert_allclose(out[:, :3], out_changed[:, :3], atol=1e-5)


def test_masked_lm_head_shares_the_word_embeddings():
  embeddings = layers.SqueezeBertEmbeddings(10, 8, max_position_embeddings=7)
  ids = tf.constant([[3, 4, 5]])
  embeddings(ids, tf.zeros_like(ids))
  head = layers.MaskedLMHead(embeddings)
  logits = head(tf.random.normal([1, 3, 8]), tf.constant([[0, 2]]))
  assert logits.shape == (1, 2, 10)
  assert all(weight is not embeddings.word_embeddings
             for weight in head.weights)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(head(tf.random.normal([1, 3, 8]),
                              tf.constant([[1, 2]])))
  assert tape.gradient(loss, embeddings.word_embeddings) is not None


def test_matmul_and_conv_lowerings_agree():
  conv = layers.GroupedPointwiseConv1D(filters=12, groups=4)
  x = tf.random.normal([2, 7, 8])
  assert conv.lowering == "matmul"
  by_matmul = conv(x).numpy()
  conv.lowering = "conv"
  np.testing.assert_allclose(conv(x).numpy(), by_matmul, atol=1e-5)
  assert layers.GroupedPointwiseConv1D(filters=4, groups=1).lowering == "conv"
