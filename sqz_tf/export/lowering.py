"""Export-time lowering: sqz_tf layers as TFLite graphs XNNPACK runs fast.

    with lowered(classifier, "xnnpack", batch_size=1):
      concrete = tf.function(classifier).get_concrete_function(spec)

While a model is traced for TFLite, `lowered` swaps the `call` of its
transformer blocks and pooler for forms that compute the same function with
ops XNNPACK (and TFLite's own kernels, which calibrate int8 exports) run
fast. The Keras model, its weights, training graph and saved form are
untouched; leaving the context restores every call.

Lowerings:
  conv     the layers as written; grouped projections as grouped CONV_2D
           (the issue-7 export; what quantization-aware models get)
  xnnpack  see `Options`
"""

import contextlib
import dataclasses
import math

import tensorflow as tf

from sqz_tf.layers.grouped_pointwise_conv1d import GroupedPointwiseConv1D
from sqz_tf.layers.pooler import SqueezeBertPooler
from sqz_tf.layers.transformer_block import SqueezeBertTransformerBlock
from sqz_tf.models.classifier import SqueezeBertClassifier

LOWERINGS = ("xnnpack", "conv")
MAX_SPLIT = 4  # XNNPACK's SPLIT and CONCATENATION take 2-4 pieces


@dataclasses.dataclass
class Options:
  """What the xnnpack lowering does (each measured: tools/op_microbenchmark.py).

  grouped_form: a grouped projection as "split" (SPLIT, one
    FULLY_CONNECTED per group, CONCATENATION) or "conv" (one grouped
    CONV_2D). In float32 XNNPACK runs both at about the same speed.
    XNNPACK splits and concatenates at most MAX_SPLIT pieces; more groups
    stay a CONV_2D. "conv_twin" is the calibration twin of "conv" (below).
  int8_grouped_form: grouped_form of int8_mixed exports: "conv" (a
    full-size SqueezeBERT int8_mixed file took 14% less time than with
    "split": a third fewer ops, one QUANTIZE/DEQUANTIZE pair per
    projection instead of one per group). TFLite's own CONV_2D kernel, which calibration runs,
    has no grouped fast path, so such an export is calibrated through its
    "conv_twin": every tensor of the "conv" graph, of the same name,
    computed by SPLIT, FULLY_CONNECTED and CONCATENATION (activations
    after the concatenation), the same ranges on fast kernels.
  chain_ffn: with "split" and equal group counts, each group runs
    FC -> activation -> FC on its own slice, with no concatenation and
    re-split of the [seq, intermediate] activation in between.
  fuse_qkv: Q, K and V (equal group counts) as one projection whose
    output channels are interleaved per group ([Q_g, K_g, V_g]), one
    TRANSPOSE to [3, batch, heads, seq, head] and an even SPLIT. Off: on
    XNNPACK it measured no faster than three projections and three head
    transposes (the SPLIT copies the fused output).
  first_token_only: in a classifier, the last block computes only the
    first token (all the pooler reads): keys and values still see every
    token, the rest of the block one row.
  Always: 1/sqrt(head size) folded into the query weights (no scaling
  pass over the scores); the pooler's first-token slice without a
  shrinking STRIDED_SLICE (XNNPACK refuses it, which split the graph into
  two delegate partitions); reshapes that name every dimension but the
  sequence (the same graph serves a dynamic sequence length).
  """
  grouped_form: str = "split"
  int8_grouped_form: str = "conv"
  chain_ffn: bool = True
  fuse_qkv: bool = False
  first_token_only: bool = True


OPTIONS = Options()


@contextlib.contextmanager
def lowered(model, lowering="xnnpack", batch_size=None, options=None):
  """Within the context, `model` traces as `lowering` (see module doc).

  `batch_size` is the export's static batch (None: read at run time).
  """
  if lowering not in LOWERINGS:
    raise ValueError(f"lowering must be one of {LOWERINGS}, got {lowering!r}")
  if lowering == "xnnpack" and getattr(model, "quantization_aware", False):
    raise ValueError("quantization-aware models export with the conv "
                     "lowering: their fake-quant wrappers need the layers' "
                     "own graph")
  options = options or OPTIONS
  layers = list(model._flatten_layers())  # pylint: disable=protected-access
  convs = [layer for layer in layers
           if isinstance(layer, GroupedPointwiseConv1D)]
  saved = [layer.lowering for layer in convs]
  patched = []
  try:
    for layer in convs:
      layer.lowering = "conv"
    if lowering == "xnnpack":
      blocks = [layer for layer in layers
                if isinstance(layer, SqueezeBertTransformerBlock)]
      # A classifier's only output is its pooler's: the first token. (Taggers
      # and question answerers read every token.)
      first_token = (options.first_token_only and blocks and getattr(
          model, "reads_first_token_only",
          isinstance(model, SqueezeBertClassifier)))
      for block in blocks:
        only_first = first_token and block is blocks[-1]
        block.call = _block_call(block, batch_size, options, only_first)
        patched.append(block)
      for pooler in (layer for layer in layers
                     if isinstance(layer, SqueezeBertPooler)):
        pooler.call = _pooler_call(pooler, batch_size)
        patched.append(pooler)
    yield
  finally:
    for layer in patched:
      del layer.call  # the class's method shows through again
    for layer, value in zip(convs, saved):
      layer.lowering = value


def has_grouped_projections(model):
  """Whether any of `model`'s projections has more than one group."""
  return any(isinstance(layer, GroupedPointwiseConv1D) and layer.groups > 1
             for layer in model._flatten_layers())  # pylint: disable=protected-access


def _batch(x, batch_size):
  return batch_size if batch_size is not None else tf.shape(x)[0]


# Projections ----------------------------------------------------------------


def _weights(layer):
  """([in/G, out] kernel, [out] bias) of a GroupedPointwiseConv1D."""
  kernel = layer.kernel
  return tf.reshape(kernel, kernel.shape[-2:]), layer.bias


def _dense(rows, kernel, bias):
  """[rows, in] -> [rows, out]: a FULLY_CONNECTED with its bias."""
  return tf.nn.bias_add(tf.matmul(rows, kernel), bias)


def _group_weights(kernel, bias, groups):
  """The per-group ([in/G, out/G], [out/G]) slices of a grouped kernel."""
  group_out = kernel.shape[-1] // groups
  return [(kernel[:, g * group_out:(g + 1) * group_out],
           bias[g * group_out:(g + 1) * group_out]) for g in range(groups)]


def _splits(groups, options):
  return options.grouped_form == "split" and groups <= MAX_SPLIT


def project(x, kernel, bias, groups, batch, options, activation=None):
  """activation([batch, seq, in] -> [batch, seq, out]) through a [in/G, out]
  kernel; with "split", per group, so an activation fuses into the FCs."""
  group_in, out = kernel.shape
  channels = group_in * groups
  activation = activation or (lambda y: y)
  if groups == 1:
    y = activation(_dense(tf.reshape(x, [-1, channels]), kernel, bias))
  elif _splits(groups, options):
    pieces = tf.split(tf.reshape(x, [-1, channels]), groups, axis=-1)
    y = tf.concat([activation(_dense(piece, *weights)) for piece, weights in
                   zip(pieces, _group_weights(kernel, bias, groups))], -1)
  else:
    # A grouped CONV_2D, or its calibration twin: the same tensors, of the
    # same names, computed by FULLY_CONNECTED kernels (see Options).
    if options.grouped_form == "conv_twin":
      rows = tf.reshape(x, [-1, channels])
      with tf.name_scope("twin"):  # op names outside stay the conv form's
        # Pieces shaped as the convolution's output, [batch, 1, seq, out],
        # so the ops after it convert as in the conv graph. Concatenated
        # in 2-D, the converter folds the next RESHAPE into the residual
        # ADD, which then runs in place, and TFLite's calibrator gives the
        # ADD's overwritten input (the projection) the sum's range.
        y = [tf.reshape(_dense(piece, *weights), [batch, 1, -1, out // groups])
             for piece, weights in zip(tf.split(rows, groups, axis=-1),
                                       _group_weights(kernel, bias, groups))]
      y = tf.concat(y, -1, name="grouped_projection")
    else:
      y = tf.nn.conv2d(tf.reshape(x, [batch, 1, -1, channels]),
                       kernel[tf.newaxis, tf.newaxis], strides=1,
                       padding="VALID", name="grouped_projection")
      y = tf.nn.bias_add(y, bias)
    with tf.name_scope("grouped_activation"):
      y = activation(y)
  return tf.reshape(y, [batch, -1, out])


def feed_forward(x, first, second, groups, activation, batch, options):
  """second(activation(first(x))) for ([in/G, out] kernel, bias) pairs."""
  (inner_groups, outer_groups) = groups
  if (options.chain_ffn and inner_groups == outer_groups > 1 and
      _splits(inner_groups, options)):
    hidden = x.shape[-1]
    pieces = tf.split(tf.reshape(x, [-1, hidden]), inner_groups, axis=-1)
    outs = [_dense(activation(_dense(piece, *inner)), *outer)
            for piece, inner, outer in zip(
                pieces, _group_weights(*first, inner_groups),
                _group_weights(*second, outer_groups))]
    return tf.reshape(tf.concat(outs, -1), [batch, -1, hidden])
  y = project(x, *first, inner_groups, batch, options, activation)
  return project(y, *second, outer_groups, batch, options)


def _feed_forward(block, x, batch, options):
  inner, outer = block.intermediate, block.output_projection
  return feed_forward(x, _weights(inner), _weights(outer),
                      (inner.groups, outer.groups), block.activation, batch,
                      options)


# Attention ------------------------------------------------------------------


def fused_qkv_weights(attention, scale):
  """Q, K and V as one grouped projection: ([in/G, 3 hidden], [3 hidden]).

  Output group g holds [Q_g, K_g, V_g] (hidden/G channels each), the query
  part times `scale`.
  """
  groups, hidden = attention.q_groups, attention.hidden_size
  group_out = hidden // groups
  kernels, biases = [], []
  for layer, factor in ((attention.query, scale), (attention.key, 1.0),
                        (attention.value, 1.0)):
    kernel, bias = _weights(layer)
    kernels.append(tf.reshape(kernel * factor, [-1, groups, 1, group_out]))
    biases.append(tf.reshape(bias * factor, [groups, 1, group_out]))
  return (tf.reshape(tf.concat(kernels, axis=2), [-1, 3 * hidden]),
          tf.reshape(tf.concat(biases, axis=1), [3 * hidden]))


def split_qkv_heads(y, groups, heads, head_size, batch):
  """A fused projection's [batch, seq, 3 hidden] output (`fused_qkv_weights`
  layout) as Q, K, V [batch, heads, seq, head]: one transpose, one split."""
  # [batch, seq, G, 3, heads/G, head] -> [3, batch, G, heads/G, seq, head]
  y = tf.reshape(y, [batch, -1, groups, 3, heads // groups, head_size])
  y = tf.reshape(tf.transpose(y, [3, 0, 2, 4, 1, 5]),
                 [3, batch, heads, -1, head_size])
  return [tf.reshape(part, [batch, heads, -1, head_size])
          for part in tf.split(y, 3, axis=0)]


def heads(x, num_heads, head_size, batch):
  """[batch, seq, hidden] -> [batch, heads, seq, head]."""
  x = tf.reshape(x, [batch, -1, num_heads, head_size])
  return tf.transpose(x, [0, 2, 1, 3])


def _query_key_value(attention, hidden_states, batch, options, only_first):
  """Q (pre-scaled), K, V as [batch, heads, seq, head]."""
  scale = 1.0 / math.sqrt(attention.head_size)
  groups, num_heads = attention.q_groups, attention.num_heads
  if (options.fuse_qkv and not only_first and
      groups == attention.k_groups == attention.v_groups and
      num_heads % groups == 0):
    y = project(hidden_states, *fused_qkv_weights(attention, scale), groups,
                batch, options)
    return split_qkv_heads(y, groups, num_heads, attention.head_size, batch)
  query_input = hidden_states
  if only_first:
    query_input = tf.slice(hidden_states, [0, 0, 0],
                           [batch, 1, hidden_states.shape[-1]])
  outputs = []
  for layer, factor, x in ((attention.query, scale, query_input),
                           (attention.key, 1.0, hidden_states),
                           (attention.value, 1.0, hidden_states)):
    kernel, bias = _weights(layer)
    outputs.append(heads(project(x, kernel * factor, bias * factor,
                                 layer.groups, batch, options),
                         num_heads, attention.head_size, batch))
  return outputs


def _attention(block, hidden_states, input_mask, batch, options, only_first):
  """Self-attention and its post-attention projection: [batch, seq, hidden]."""
  attention = block.attention
  query, key, value = _query_key_value(attention, hidden_states, batch,
                                       options, only_first)
  scores = tf.matmul(query, key, transpose_b=True)
  # Padding keys get the most negative float, as the Keras layer does, in
  # its form: written as a reshape, the converter folds the float32.min
  # into the subtraction, whose full-int8 scale (1e36) XNNPACK rejects.
  padding = (1.0 - tf.cast(input_mask, tf.float32))[:, tf.newaxis,
                                                     tf.newaxis, :]
  probs = tf.nn.softmax(scores + padding * tf.float32.min, axis=-1)
  context = tf.transpose(tf.matmul(probs, value), [0, 2, 1, 3])
  context = tf.reshape(context, [batch, -1, attention.hidden_size])
  layer = block.post_attention
  return project(context, *_weights(layer), layer.groups, batch, options)


# Layer calls ----------------------------------------------------------------


def _block_call(block, batch_size, options, only_first):
  """SqueezeBertTransformerBlock.call for inference, lowered."""

  def call(hidden_states, input_mask, training=None):
    del training  # export traces inference
    batch = _batch(hidden_states, batch_size)
    residual = hidden_states
    if only_first:
      residual = tf.slice(hidden_states, [0, 0, 0],
                          [batch, 1, hidden_states.shape[-1]])
    attention_output = block.post_attention_norm(residual + _attention(
        block, hidden_states, input_mask, batch, options, only_first))
    return block.output_norm(attention_output + _feed_forward(
        block, attention_output, batch, options))

  return call


def _pooler_call(pooler, batch_size):
  """SqueezeBertPooler.call: the first token by a plain slice."""

  def call(sequence_output):
    batch = _batch(sequence_output, batch_size)
    hidden = sequence_output.shape[-1]
    first = tf.reshape(tf.slice(sequence_output, [0, 0, 0],
                                [batch, 1, hidden]), [batch, hidden])
    return pooler.activation(_dense(first, pooler.kernel, pooler.bias))

  return call
