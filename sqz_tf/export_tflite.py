r"""Exports an sqz_tf encoder or task model to TFLite and checks the file.

  python -m sqz_tf.export_tflite --model=runs/sst2/classifier.keras \
      --output=sst2.tflite --quantization=int8_mixed --seq_length=128 \
      --representative_data=glue/SST-2 --task=sst2 --vocab_file=vocab.txt

Fixed shapes (batch 1 by default); inputs `input_word_ids`, `input_mask`,
`input_type_ids` int32, float outputs; builtin ops only. Quantization:
float32, float16, dynamic (int8 weights), int8 (full integer), int8_mixed
(int8 projections, float LayerNorm/softmax/GELU/attention products; the
recommended phone recipe) and qat (a model finetuned with
`run_classifier --quantization_aware`). int8 and int8_mixed calibrate on
`--representative_data`: a task's data directory (its train split, with
`--task` and `--vocab_file`: a GLUE task, conll2003/tagging, or squad /
squad_v2 for a question answerer) or classification TFRecords.

Before writing, the exporter lists the model's ops, which of them XNNPACK
runs and which fall to TFLite's own kernels, the file size, and the largest
difference from the Keras model on sample inputs (real ones when
representative data is given). Nothing is written if a check fails.
"""

import sys

from absl import flags

from sqz_tf import cli
from sqz_tf.errors import SqzError
from sqz_tf.export import calibration
from sqz_tf.export import mediapipe_task
from sqz_tf.export import tflite
from sqz_tf.training.initialization import load_model_file
from sqz_tf.utils.files import atomic_output

flags.DEFINE_string("model", None, "A .keras model that load_model opens.")
flags.DEFINE_string("output", None, "The .tflite file to write.")
flags.DEFINE_enum("quantization", "float32", tflite.QUANTIZATIONS,
                  "Weight/activation types (see the module docstring).")
flags.DEFINE_integer("seq_length", 128, "Fixed sequence length.")
flags.DEFINE_integer("batch_size", 1, "Fixed batch size.")
flags.DEFINE_string("representative_data", None,
                    "Task data directory (its train split; with --task) or "
                    "classification TFRecord pattern for calibration (int8, "
                    "int8_mixed).")
flags.DEFINE_string("task", None, "Task of --representative_data, e.g. "
                    "sst2 (GLUE), conll2003 (tagging), squad.")
flags.DEFINE_string("vocab_file", None,
                    "vocab.txt to tokenize a --representative_data "
                    "directory.")
flags.DEFINE_integer("num_calibration_examples", 200,
                     "Examples drawn (fixed seed) for calibration.")
flags.DEFINE_integer("calibration_workers", 0,
                     "Processes that calibrate (int8, int8_mixed), each on a "
                     "share of the examples; 0: one per CPU. The file is "
                     "the same for any count.", lower_bound=0)
flags.DEFINE_string("float_model", None,
                    "With --quantization=qat: the float model to compare with "
                    "(default: the QAT model itself).")
flags.DEFINE_enum("metadata", None, mediapipe_task.TASKS,
                  "Add TFLite Model Metadata for this MediaPipe Tasks task "
                  "(raw text in); needs --vocab_file.")
flags.DEFINE_list("labels", None, "With --metadata=text_classifier: the "
                  "label names in output order (default: the model's "
                  "id2label).")
flags.DEFINE_enum("embedding", "pooled", mediapipe_task.POOLINGS,
                  "With --metadata=text_embedder: the pooled output or the "
                  "mean of the last layer over real tokens.")
flags.DEFINE_bool("dynamic_seq_length", False,
                  "Inputs of any length up to max_position_embeddings (shape "
                  "signature [batch, -1]; default shape [batch, "
                  "--seq_length]): short text runs at its own length.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output.")
flags.mark_flags_as_required(["model", "output"])

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.metadata:
    mediapipe_task.check_request(FLAGS.metadata, FLAGS.vocab_file,
                                 FLAGS.batch_size, FLAGS.task)
  print(f"Loading {FLAGS.model}", file=sys.stderr, flush=True)
  model = load_model_file(FLAGS.model)
  config = getattr(model, "model_config", None)
  reference = load_model_file(FLAGS.float_model) if FLAGS.float_model else None
  app = None
  if FLAGS.metadata:
    app = mediapipe_task.prepare(model, FLAGS.metadata, FLAGS.vocab_file,
                                 FLAGS.labels, FLAGS.embedding,
                                 FLAGS.batch_size, FLAGS.task, reference)
    model, reference = app.model, app.reference
  representative = None
  if FLAGS.representative_data:
    representative = calibration.representative_inputs(
        FLAGS.representative_data, FLAGS.seq_length,
        FLAGS.num_calibration_examples, FLAGS.task, FLAGS.vocab_file,
        FLAGS.batch_size, model=model)
  tflite_bytes = tflite.convert(
      model, FLAGS.quantization, FLAGS.seq_length, FLAGS.batch_size,
      representative, dynamic_seq_length=FLAGS.dynamic_seq_length,
      progress=lambda line: print(line, file=sys.stderr, flush=True),
      calibration_workers=FLAGS.calibration_workers or None)
  # Random ids check shapes and ops; real text checks what users will see.
  checks = [calibration.sample_inputs(config, FLAGS.batch_size, length)
            for length in ([FLAGS.seq_length, FLAGS.seq_length // 4 + 1]
                           if FLAGS.dynamic_seq_length
                           else [FLAGS.seq_length])]
  checks += (representative or [])[:4]
  print("Checking the TFLite model against Keras", file=sys.stderr, flush=True)
  report = tflite.check(tflite_bytes, model, checks, FLAGS.quantization,
                        reference)
  if app:
    tflite_bytes = app.attach_metadata(tflite_bytes)
    gap = mediapipe_task.tokenization_report(
        FLAGS.representative_data, FLAGS.task, app.vocab, FLAGS.seq_length)
  with atomic_output(FLAGS.output, overwrite=FLAGS.overwrite) as temporary:
    with open(temporary, "wb") as f:
      f.write(tflite_bytes)
  print(f"Wrote {FLAGS.output} ({FLAGS.quantization}): {report.summary()}")
  if app:
    print(f"MediaPipe {FLAGS.metadata} metadata: {app.description}")
    print(gap)


if __name__ == "__main__":
  cli.run(main)
