r"""Per-op TFLite latency of one transformer layer's pieces, before and after.

  python tools/op_microbenchmark.py --seq_length=128 --num_threads=2 [--int8]

Where does a SqueezeBERT or BERT-base layer spend its time on this host, and
what did the export's xnnpack lowering change? Each piece of one layer
(hidden 768, 12 heads, FFN 3072) is exported alone as a TFLite model, in
the issue-7 form ("conv": the layers as written, grouped projections as
grouped CONV_2D) and in the lowered form (`sqz_tf.export.lowering`:
per-group FULLY_CONNECTED after a SPLIT, chained FFN groups, the query
scale folded into the weights; with --int8 grouped projections as
int8_mixed exports them, grouped CONV_2D), float32 or, with --int8, as
int8_mixed quantizes it (int8 projections, float GELU/softmax/LayerNorm).
A model holds
--copies independent copies of its piece on one input, so the per-invoke
overhead of a one-op model does not count against small ops. All models
run interleaved with XNNPACK; the table gives the median wall time per
copy, the process CPU time per copy (steadier than wall time on a busy
machine), GFLOP/s, and grouped GFLOP/s as a share of dense. From the pieces
it composes a layer of each model. (On a phone, whole-graph per-op times
come from tools/benchmark_on_device.py --enable_op_profiling.)
"""

import argparse
import dataclasses
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sqz_tf  # noqa: E402,F401  pylint: disable=unused-import
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sqz_tf.benchmark.round_robin import round_robin  # noqa: E402
from sqz_tf.export import calibrated_quantization  # noqa: E402
from sqz_tf.export import lowering  # noqa: E402
from sqz_tf.export import tflite  # noqa: E402

HIDDEN, HEADS, FFN, GROUPS = 768, 12, 3072, 4
FORMS = ("conv", "xnnpack")  # lowering.LOWERINGS, issue-7 form first


def _weights(rng, c_in, c_out, groups):
  return ((rng.standard_normal((c_in // groups, c_out)) * 0.03
           ).astype(np.float32), (rng.standard_normal(c_out) * 0.1
                                  ).astype(np.float32))


def _projection(form, x, kernel, bias, groups, activation=None):
  """x [1, seq, in] through one projection in `form`."""
  if form == "xnnpack":
    return lowering.project(x, kernel, bias, groups, 1, lowering.OPTIONS,
                            activation)
  # GroupedPointwiseConv1D's "conv" call, as the issue-7 export traced it.
  y = tf.squeeze(tf.nn.conv2d(tf.expand_dims(x, 1),
                              kernel[np.newaxis, np.newaxis], strides=1,
                              padding="VALID"), 1)
  y = tf.nn.bias_add(y, bias)
  return activation(y) if activation else y


def _ffn(form, x, first, second, groups):
  """Intermediate -> GELU -> output, as each form exports a block's FFN."""
  gelu = lambda y: tf.nn.gelu(y, approximate=False)  # noqa: E731
  if form == "xnnpack":
    return lowering.feed_forward(x, first, second, (groups, groups), gelu, 1,
                                 lowering.OPTIONS)
  return _projection(form, _projection(form, x, *first, groups, gelu),
                     *second, groups)


def _fused_qkv(x, weights):
  group_out = HIDDEN // GROUPS
  kernel = np.concatenate([k.reshape(-1, GROUPS, 1, group_out)
                           for k, _ in weights], 2).reshape(-1, 3 * HIDDEN)
  bias = np.concatenate([b.reshape(GROUPS, 1, group_out)
                         for _, b in weights], 1).reshape(-1)
  y = lowering.project(x, kernel, bias, GROUPS, 1, lowering.OPTIONS)
  return lowering.split_qkv_heads(y, GROUPS, HEADS, HIDDEN // HEADS, 1)


def _attention_core(form, q, k, v, mask):
  head = HIDDEN // HEADS
  scores = tf.matmul(q, k, transpose_b=True)
  if form == "conv":  # the lowering folds the scale into the query weights
    scores = scores / head ** 0.5
  scores += (1.0 - mask)[:, None, None, :] * tf.float32.min
  return tf.matmul(tf.nn.softmax(scores, -1), v)


def _tflite(build, shapes, int8, copies, rng):
  """A model of `copies` independent copies of `build(inputs, weights_rng)`,
  each with its own weights."""
  specs = [tf.TensorSpec(shape, tf.float32) for shape in shapes]

  def function(*inputs):
    return [build(inputs, np.random.default_rng(copy))
            for copy in range(copies)]
  concrete = tf.function(function).get_concrete_function(*specs)
  converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
  if not int8:
    return converter.convert()
  samples = [[rng.standard_normal(shape).astype(np.float32)
              for shape in shapes] for _ in range(8)]
  return calibrated_quantization.int8_mixed(converter, samples)


def pieces(seq, int8, copies=4):
  """{(piece, form): (tflite bytes, FLOPs per copy)}."""
  saved = lowering.OPTIONS
  if int8:  # the grouped projections' form in int8_mixed exports
    lowering.OPTIONS = dataclasses.replace(
        saved, grouped_form=saved.int8_grouped_form)
  try:
    return _pieces(seq, int8, copies)
  finally:
    lowering.OPTIONS = saved


def _pieces(seq, int8, copies):
  rng = np.random.default_rng(0)
  x_shape = [1, seq, HIDDEN]
  result = {}

  def add(name, form, build, shapes, flops):
    result[name, form] = (_tflite(build, shapes, int8, copies, rng), flops)

  for form in FORMS:
    for groups in (1, GROUPS):
      kind = "dense" if groups == 1 else "grouped"
      for c_in, c_out in ((HIDDEN, HIDDEN), (HIDDEN, FFN), (FFN, HIDDEN)):
        add(f"{kind} {c_in}->{c_out}", form,
            lambda inputs, r, c_in=c_in, c_out=c_out, groups=groups,
            form=form: _projection(form, inputs[0],
                                   *_weights(r, c_in, c_out, groups), groups),
            [[1, seq, c_in]], 2 * seq * c_in * c_out // groups)
      add(f"{kind} Q,K,V", form,
          lambda inputs, r, groups=groups, form=form: [
              lowering.heads(_projection(form, inputs[0], *_weights(
                  r, HIDDEN, HIDDEN, groups), groups), HEADS,
                             HIDDEN // HEADS, 1) for _ in range(3)],
          [x_shape], 3 * 2 * seq * HIDDEN * HIDDEN // groups)
      add(f"{kind} FFN (GELU between)", form,
          lambda inputs, r, groups=groups, form=form: _ffn(
              form, inputs[0], _weights(r, HIDDEN, FFN, groups),
              _weights(r, FFN, HIDDEN, groups), groups),
          [x_shape], 2 * 2 * seq * HIDDEN * FFN // groups)
    head_shape = [1, HEADS, seq, HIDDEN // HEADS]
    add("attention core", form,
        lambda inputs, r, form=form: _attention_core(form, *inputs),
        [head_shape] * 3 + [[1, seq]], 4 * seq * seq * HIDDEN)
  # Q, K, V as one projection, then one transpose and a split (the
  # lowering's fuse_qkv option, which it leaves off).
  add("grouped Q,K,V fused", "xnnpack", lambda inputs, r: _fused_qkv(
      inputs[0], [_weights(r, HIDDEN, HIDDEN, GROUPS) for _ in range(3)]),
      [x_shape], 3 * 2 * seq * HIDDEN * HIDDEN // GROUPS)
  norm = tf.keras.layers.LayerNormalization(epsilon=1e-12)
  norm.build(x_shape)
  add("LayerNorm", "conv", lambda inputs, r: norm(inputs[0]), [x_shape], 0)
  return result


def time_interleaved(models, threads, runs, copies):
  """{name: (median wall s, median CPU s)} per copy, interleaved."""
  calls = {}
  rng = np.random.default_rng(0)
  for name, data in models.items():
    runner = tflite.interpreter(data, num_threads=threads)
    for detail in runner.get_input_details():
      value = rng.standard_normal(detail["shape"]).astype(np.float32)
      if list(detail["shape"]) == [1, detail["shape"][-1]] and len(
          detail["shape"]) == 2:
        value = np.ones(detail["shape"], np.float32)  # the mask
      runner.set_tensor(detail["index"], value)
    calls[name] = runner.invoke  # the inputs stay set between runs
  cpu = {}
  wall = round_robin(calls, runs, cpu=cpu)
  return {name: (statistics.median(wall[name]) / copies,
                 statistics.median(cpu[name]) / copies) for name in calls}


def report(times, flops, seq, threads, runs, int8, copies):
  """The tables, as Markdown lines."""
  lines = [f"seq {seq}, batch 1, {threads} thread(s), "
           f"{'int8_mixed' if int8 else 'float32'}, XNNPACK; median of "
           f"{runs} interleaved runs, per copy ({copies} per model); CPU = "
           "process CPU time", "",
           "| piece | issue-7 ms | CPU ms | GFLOP/s | lowered ms | CPU ms | "
           "GFLOP/s |", "|---|---|---|---|---|---|---|"]
  names = sorted({name for name, _ in times}, key=lambda n: (
      "grouped" in n, "dense" not in n, n))
  for name in names:
    cells = []
    for form in FORMS:
      if (name, form) not in times:
        cells.append("| (same) | | " if name == "LayerNorm" else "| - | | ")
        continue
      wall, cpu = times[name, form]
      rate = f"{flops[name] / wall / 1e9:.0f}" if flops[name] else ""
      cells.append(f"| {wall * 1e3:.3f} | {cpu * 1e3:.3f} | {rate} ")
    lines.append(f"| {name} " + "".join(cells) + "|")
  lines += ["", "Grouped GFLOP/s as a share of dense GFLOP/s (the issue's "
            "goal: >= 85 %), from wall / CPU time:", "",
            "| projection | issue-7 | lowered |", "|---|---|---|"]
  by_wall, by_cpu = shares(times), shares(times, cpu=True)
  for shape in by_wall["xnnpack"]:
    lines.append(f"| {shape} | " + " | ".join(
        f"{by_wall[form][shape]:.0%} / {by_cpu[form][shape]:.0%}"
        for form in FORMS) + " |")
  fused = [times["dense Q,K,V", "xnnpack"][i] / GROUPS /
           times["grouped Q,K,V fused", "xnnpack"][i] for i in (0, 1)]
  lines.append(f"| Q,K,V fused (option) | - | {fused[0]:.0%} / "
               f"{fused[1]:.0%} |")
  # A layer: Q, K, V, the attention core, the post-attention projection
  # (dense in both models), LN, the FFN, LN.
  lines += ["", "| per layer (composed) | issue-7 ms | lowered ms |",
            "|---|---|---|"]
  layer = {}
  for model, kind in (("BERT-base", "dense"), ("SqueezeBERT", "grouped")):
    totals = []
    for form in FORMS:
      totals.append(sum(times[piece, form][0] for piece in (
          f"{kind} Q,K,V", "attention core", f"dense {HIDDEN}->{HIDDEN}",
          f"{kind} FFN (GELU between)")) + 2 * times["LayerNorm", "conv"][0])
    layer[model] = totals
    lines.append(f"| {model} | {totals[0] * 1e3:.3f} | {totals[1] * 1e3:.3f} |")
  lines.append("| SqueezeBERT / BERT-base | " + " | ".join(
      f"{s / b:.3f}" for s, b in zip(layer["SqueezeBERT"],
                                     layer["BERT-base"])) + " |")
  return lines


def shares(times, cpu=False):
  """{form: {projection: grouped GFLOP/s / dense GFLOP/s}} (FLOPs cancel:
  a grouped projection has 1/GROUPS of the dense one's)."""
  index = 1 if cpu else 0
  return {form: {shape: times[f"dense {shape}", form][index] / GROUPS /
                 times[f"grouped {shape}", form][index]
                 for shape in (f"{HIDDEN}->{HIDDEN}", f"{HIDDEN}->{FFN}",
                               f"{FFN}->{HIDDEN}", "Q,K,V",
                               "FFN (GELU between)")}
          for form in FORMS}


def run(seq=128, threads=2, runs=50, int8=False, copies=4):
  """Builds, times and reports; returns (lines, {(piece, form): seconds})."""
  models = pieces(seq, int8, copies)
  times = time_interleaved({key: data for key, (data, _) in models.items()},
                           threads, runs, copies)
  flops = {name: value for (name, _), (_, value) in models.items()}
  return report(times, flops, seq, threads, runs, int8, copies), times


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seq_length", type=int, default=128)
  parser.add_argument("--num_threads", type=int, default=2)
  parser.add_argument("--runs", type=int, default=50)
  parser.add_argument("--copies", type=int, default=4)
  parser.add_argument("--int8", action="store_true",
                      help="int8_mixed pieces (int8 projections)")
  args = parser.parse_args()
  lines, _ = run(args.seq_length, args.num_threads, args.runs, args.int8,
                 args.copies)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
