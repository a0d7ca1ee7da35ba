"""Keras layers of SqueezeBERT (channels-last `[batch, seq, channels]`)."""

from sqz_tf.layers.activations import get_activation
from sqz_tf.layers.embeddings import SqueezeBertEmbeddings
from sqz_tf.layers.grouped_pointwise_conv1d import GroupedPointwiseConv1D
from sqz_tf.layers.masked_lm_head import MaskedLMHead
from sqz_tf.layers.pooler import SqueezeBertPooler
from sqz_tf.layers.self_attention import SqueezeBertSelfAttention
from sqz_tf.layers.transformer_block import SqueezeBertTransformerBlock
