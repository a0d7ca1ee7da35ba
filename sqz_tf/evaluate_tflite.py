r"""A TFLite model's task metrics on a split, beside its float Keras model's.

  python -m sqz_tf.evaluate_tflite --tflite=sst2_int8_mixed.tflite \
      --task=sst2 --data_dir=glue/SST-2 --vocab_file=vocab.txt \
      --model=runs/sst2/classifier.keras

Featurizes the split as finetuning does, at the model's fixed sequence
length, runs every row through the TFLite model (ai_edge_litert, XNNPACK),
and prints the task's metrics; with --model also the float model's metrics
and how closely the two agree (GLUE: the share of rows where both predict
the same class; mean |difference| for STS-B; tagging: the share of words
given the same tag, next to both models' conlleval entity F1; SQuAD: the
share of questions where both give the same answer text).

  python -m sqz_tf.evaluate_tflite --tflite=squad_int8_mixed.tflite \
      --task=squad --data_dir=squad --vocab_file=vocab.txt \
      --model=runs/squad/question_answerer.keras

SQuAD (squad, squad_v2) reads dev-v1.1.json / dev-v2.0.json in --data_dir,
windows the contexts at the model's sequence length (question up to 64
tokens, windows 128 apart; less for short sequences) and scores the answers
with the official EM/F1.

A file exported with MediaPipe metadata (export_tflite --metadata) scores
the same (probabilities have the logits' argmax) and carries its vocabulary,
so --vocab_file may be left out; --tokenization=mediapipe tokenizes the
rows as MediaPipe Tasks would in an app (the float --model then gets the
same token ids).
"""

import json

from absl import flags

from sqz_tf import cli
from sqz_tf import tasks
from sqz_tf.errors import SqzError
from sqz_tf.export import calibration
from sqz_tf.export import mediapipe_task
from sqz_tf.export import tflite_evaluation
from sqz_tf.training.initialization import load_model_file
from sqz_tf.utils.files import atomic_output

flags.DEFINE_string("tflite", None, "The .tflite model.")
flags.DEFINE_string("task", None, "The task, e.g. sst2, rte (GLUE), "
                    "conll2003 (tagging), squad, squad_v2.")
flags.DEFINE_string("data_dir", None, "The task's data directory.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab.txt of the model "
                    "(default: the one packed in its MediaPipe metadata).")
flags.DEFINE_enum("tokenization", "sqz_tf", mediapipe_task.TOKENIZATIONS,
                  "Tokenize as finetuning did, or as MediaPipe Tasks would.")
flags.DEFINE_string("model", None, "The float Keras model to compare with.")
flags.DEFINE_string("split", None, "Split to score (default: the dev split"
                    "(s)).")
flags.DEFINE_string("output_json", None, "Also write the results here.")
flags.mark_flags_as_required(["tflite", "task", "data_dir"])

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    with open(FLAGS.tflite, "rb") as f:
      tflite_bytes = f.read()
  except OSError as e:
    raise SqzError(f"cannot read {FLAGS.tflite}: {e.strerror}") from None
  _, seq_length = tflite_evaluation.input_shape(tflite_bytes)
  tokenizer = mediapipe_task.evaluation_tokenizer(
      tflite_bytes, FLAGS.vocab_file, seq_length, FLAGS.tokenization)
  float_model = load_model_file(FLAGS.model) if FLAGS.model else None
  task = tasks.get_task(FLAGS.task, float_model)
  results = {}
  for split in [FLAGS.split] if FLAGS.split else task.eval_splits():
    data = calibration.load_task_split(FLAGS.data_dir, task, FLAGS.vocab_file,
                                       seq_length, split, tokenizer=tokenizer)
    results[split] = tflite_evaluation.evaluate(tflite_bytes, task, data,
                                                float_model)
    results[split]["tokenization"] = FLAGS.tokenization
  text = json.dumps(results, indent=2)
  print(text)
  if FLAGS.output_json:
    with atomic_output(FLAGS.output_json, overwrite=True) as temporary:
      with open(temporary, "w", encoding="utf-8") as f:
        f.write(text + "\n")


if __name__ == "__main__":
  cli.run(main)
