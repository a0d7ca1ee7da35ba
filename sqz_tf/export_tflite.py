r"""Exports an sqz_tf encoder or classifier to TFLite and checks the file.

  python -m sqz_tf.export_tflite --model=runs/rte/classifier.keras \
      --output=rte.tflite --quantization=dynamic --seq_length=128

Fixed shapes (batch 1 by default); inputs `input_word_ids`, `input_mask`,
`input_type_ids` int32; builtin ops only. After writing it prints the op
list and size, and compares the TFLite outputs with Keras on sample inputs.
Quantization so far: float32, float16, dynamic (int8 weights). Full-integer
int8, int8_mixed and QAT are not built yet.
"""

from absl import flags
import numpy as np

from sqz_tf import cli
from sqz_tf.errors import SqzError
from sqz_tf.export import tflite
from sqz_tf.training.initialization import load_model_file
from sqz_tf.utils.files import atomic_output

flags.DEFINE_string("model", None, "A .keras model that load_model opens.")
flags.DEFINE_string("output", None, "The .tflite file to write.")
flags.DEFINE_enum("quantization", "float32", tflite.QUANTIZATIONS,
                  "Weight/activation types.")
flags.DEFINE_integer("seq_length", 128, "Fixed sequence length.")
flags.DEFINE_integer("batch_size", 1, "Fixed batch size.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output.")
flags.mark_flags_as_required(["model", "output"])

FLAGS = flags.FLAGS


def sample_inputs(config, batch_size, seq_length, seed=0):
  """Random token ids with a padded tail, for the Keras/TFLite comparison."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(1, config.vocab_size, (batch_size, seq_length))
  mask = np.ones((batch_size, seq_length), np.int32)
  mask[:, seq_length * 3 // 4:] = 0
  return {"input_word_ids": (ids * mask).astype(np.int32),
          "input_mask": mask,
          "input_type_ids": np.zeros((batch_size, seq_length), np.int32)}


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  model = load_model_file(FLAGS.model)
  tflite_bytes = tflite.convert(model, FLAGS.quantization, FLAGS.seq_length,
                                FLAGS.batch_size)
  inputs = sample_inputs(getattr(model, "model_config"), FLAGS.batch_size,
                         FLAGS.seq_length)
  report = tflite.check(tflite_bytes, model, inputs, FLAGS.quantization)
  with atomic_output(FLAGS.output, overwrite=FLAGS.overwrite) as temporary:
    with open(temporary, "wb") as f:
      f.write(tflite_bytes)
  print(f"Wrote {FLAGS.output}: {report.size_bytes / 1e6:.2f} MB, "
        f"{sum(report.ops.values())} ops "
        f"({', '.join(f'{k} {v}' for k, v in sorted(report.ops.items()))}); "
        f"max |TFLite - Keras| {report.max_abs_difference:.2e}")


if __name__ == "__main__":
  cli.run(main)
