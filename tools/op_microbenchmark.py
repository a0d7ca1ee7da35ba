r"""Per-op TFLite latency of one transformer layer's pieces.

  python tools/op_microbenchmark.py --seq_length=128 --num_threads=2 [--int8]

Where does a SqueezeBERT or BERT-base layer spend its time on this host?
Each piece of one layer (hidden 768, 12 heads, FFN 3072) is exported alone
as a TFLite model (float32; with --int8 the projections in int8 with float
in/out, as int8_mixed runs them) and timed with XNNPACK, all interleaved:
the grouped (4 groups) and dense position-wise projections, the attention
core (QKᵀ, mask, softmax, ·V), LayerNorm and GELU. From them it composes a
layer of each model (the same ops the full graphs run), the share of each
piece, and the GFLOP/s each projection reaches. (No benchmark_model binary
is needed; on a phone use tools/benchmark_on_device.py
--enable_op_profiling.)
"""

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sqz_tf  # noqa: E402,F401  pylint: disable=unused-import
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sqz_tf.layers.grouped_pointwise_conv1d import GroupedPointwiseConv1D  # noqa: E402,E501
from sqz_tf.benchmark.round_robin import round_robin  # noqa: E402
from sqz_tf.export import tflite  # noqa: E402

HIDDEN, HEADS, FFN = 768, 12, 3072


def _tflite(function, shapes, int8=False):
  specs = [tf.TensorSpec(shape, tf.float32) for shape in shapes]
  concrete = tf.function(function).get_concrete_function(*specs)
  converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
  if int8:  # int8 weights and activations, float in and out: int8_mixed's
    rng = np.random.default_rng(0)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: (
        [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
        for _ in range(8))
  return converter.convert()


def _projection(c_in, c_out, groups, seq, int8):
  layer = GroupedPointwiseConv1D(c_out, groups=groups)
  layer.build([1, seq, c_in])
  layer.lowering = "conv"  # as tflite.convert exports it
  return _tflite(layer, [[1, seq, c_in]], int8)


def _attention_core(seq):
  head = HIDDEN // HEADS

  def core(q, k, v, mask):
    scores = tf.matmul(q, k, transpose_b=True) / head ** 0.5
    scores += (1.0 - mask)[:, None, None, :] * -1e9
    return tf.matmul(tf.nn.softmax(scores, -1), v)
  shape = [1, HEADS, seq, head]
  return _tflite(core, [shape, shape, shape, [1, seq]])


def pieces(seq, int8):
  """{name: (tflite bytes, FLOPs)} of one layer's pieces."""
  result = {}
  for groups in (1, 4):
    kind = "dense" if groups == 1 else "grouped"
    for c_in, c_out in ((HIDDEN, HIDDEN), (HIDDEN, FFN), (FFN, HIDDEN)):
      result[f"{kind} {c_in}->{c_out}"] = (
          _projection(c_in, c_out, groups, seq, int8),
          2 * seq * c_in * c_out // groups)
  result["attention core"] = (_attention_core(seq), 4 * seq * seq * HIDDEN)
  norm = tf.keras.layers.LayerNormalization(epsilon=1e-12)
  norm.build([1, seq, HIDDEN])
  result["LayerNorm"] = (_tflite(norm, [[1, seq, HIDDEN]]), 0)
  result["GELU"] = (_tflite(lambda x: tf.nn.gelu(x, approximate=False),
                            [[1, seq, FFN]]), 0)
  return result


def time_interleaved(models, threads, runs):
  """{name: median seconds} of each model on random inputs, interleaved."""
  calls = {}
  for name, data in models.items():
    runner = tflite.interpreter(data, num_threads=threads)
    for detail in runner.get_input_details():
      runner.set_tensor(detail["index"], np.random.default_rng(0)
                        .standard_normal(detail["shape"]).astype(np.float32))
    calls[name] = runner.invoke  # the inputs stay set between runs
  return {name: statistics.median(s)
          for name, s in round_robin(calls, runs).items()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seq_length", type=int, default=128)
  parser.add_argument("--num_threads", type=int, default=2)
  parser.add_argument("--runs", type=int, default=50)
  parser.add_argument("--int8", action="store_true",
                      help="projections in int8 (as int8_mixed has them)")
  args = parser.parse_args()
  models = pieces(args.seq_length, args.int8)
  times = time_interleaved({k: v[0] for k, v in models.items()},
                           args.num_threads, args.runs)
  print(f"seq {args.seq_length}, batch 1, {args.num_threads} threads, "
        f"{'int8' if args.int8 else 'float32'} projections, XNNPACK, median "
        f"of {args.runs} interleaved runs\n")
  print("| piece | ms | GFLOP/s |\n|---|---|---|")
  for name, (_, flops) in models.items():
    rate = f"{flops / times[name] / 1e9:.0f}" if flops else ""
    print(f"| {name} | {times[name] * 1e3:.3f} | {rate} |")
  # Per layer: Q, K, V, post-attention, FFN in and out; the core; 2 LNs;
  # one GELU. SqueezeBERT groups all but the post-attention projection.
  shared = times["attention core"] + 2 * times["LayerNorm"] + times["GELU"]
  layers = {}
  for model, kind in (("BERT-base", "dense"), ("SqueezeBERT", "grouped")):
    projections = (3 * times[f"{kind} 768->768"] + times["dense 768->768"] +
                   times[f"{kind} 768->3072"] + times[f"{kind} 3072->768"])
    layers[model] = (projections, shared)
  print("\n| per layer | projections ms | attention core + LN + GELU ms | "
        "total ms | share not in projections |\n|---|---|---|---|---|")
  for model, (projections, rest) in layers.items():
    print(f"| {model} | {projections * 1e3:.3f} | {rest * 1e3:.3f} | "
          f"{(projections + rest) * 1e3:.3f} | "
          f"{rest / (projections + rest):.0%} |")
  ratio = sum(layers["SqueezeBERT"]) / sum(layers["BERT-base"])
  print(f"\nSqueezeBERT / BERT-base layer time: {ratio:.2f} "
        f"(projections alone: {layers['SqueezeBERT'][0] / layers['BERT-base'][0]:.2f})")


if __name__ == "__main__":
  main()
