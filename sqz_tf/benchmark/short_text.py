"""Short text at its own length: the sentences, and the files that run them.

    sentences = sentence_ids("glue/SST-2", "vocab.txt", limit=200)
    data = multi_length_tflite(classifier, (16, 32, 64, 128))

Real apps classify short sentences, so the workload is real text: a GLUE
dev split's rows tokenized as finetuning does ([CLS] ... [SEP], at most
`max_length` tokens), each kept at its own length. Three ways to run them
(the litert_text worker, sqz_tf/benchmark/worker_runners.py):
  fixed       the usual export, every sentence padded to its length
  dynamic     `tflite.convert(..., dynamic_seq_length=True)`: one graph,
              inputs resized to each sentence
  signatures  one file with a signature per length (`multi_length_tflite`),
              each sentence padded to the shortest that holds it
The last is measured to compare, not exported by sqz_tf: benchmark_model
refuses a multi-signature file unless told which signature to run, and
MediaPipe's text tasks take only single-subgraph models.
"""

import numpy as np
import tensorflow as tf

from sqz_tf.export import calibration
from sqz_tf.export import lowering
from sqz_tf.models.encoder import ENCODER_INPUTS

SIGNATURE_LENGTHS = (16, 32, 64, 128)


def sentence_ids(data_dir, vocab_file, task="sst2", split="dev",
                 max_length=128, limit=None, seed=0):
  """Token ids (lists, [CLS] ... [SEP]) of a GLUE split's rows, at their own
  lengths; `limit` rows drawn at random (fixed seed), in file order."""
  features = calibration.load_task_split(data_dir, task, vocab_file,
                                         max_length, split, limit,
                                         seed).features
  return [row[:int(mask.sum())].tolist() for row, mask in
          zip(features["input_word_ids"], features["input_mask"])]


def multi_length_tflite(model, lengths=SIGNATURE_LENGTHS):
  """A float32 TFLite file of `model` with one fixed-length signature per
  length: `serving_default` the longest, `seq_<n>` the others.

  Built for comparison only (see the module docstring); no Keras-agreement
  check here, the caller compares predictions.
  """
  functions = []
  with lowering.lowered(model, "xnnpack", batch_size=1):
    for length in sorted(lengths, reverse=True):
      def serve(inputs):
        return model(inputs, training=False)
      # The converter names each signature after its function.
      serve.__name__ = ("serving_default" if length == max(lengths)
                        else f"seq_{length}")
      spec = {name: tf.TensorSpec([1, length], tf.int32, name=name)
              for name in ENCODER_INPUTS}
      functions.append(tf.function(serve, autograph=False)
                       .get_concrete_function(spec))
    variables = tf.Module()
    variables.held = list(model.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(functions,
                                                                variables)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def signature_keys(lengths=SIGNATURE_LENGTHS):
  """{length: signature key} of `multi_length_tflite`."""
  return {n: "serving_default" if n == max(lengths) else f"seq_{n}"
          for n in lengths}


def agreement(logits, reference):
  """(share of equal argmax, max |difference|) of two lists of logit rows."""
  logits, reference = np.asarray(logits), np.asarray(reference)
  same = float(np.mean(logits.argmax(-1) == reference.argmax(-1)))
  return same, float(np.abs(logits - reference).max())
