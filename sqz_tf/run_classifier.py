r"""Finetunes SqueezeBERT on a GLUE task; evaluates, predicts, distills.

  python -m sqz_tf.run_classifier --flagfile=official_configs/glue/rte.flags \
      --data_dir=glue/RTE --vocab_file=vocab.txt \
      --init_checkpoint=runs/phase2/encoder.keras --model_dir=runs/rte

--init_checkpoint: a pretraining run's encoder.keras / pretrainer.keras or its
model_dir (checkpoint; then --model_config is needed), a model made by
convert_hf_checkpoint, or a finetuned classifier (same labels: everything;
other labels, e.g. MNLI for "bells and whistles": the encoder, new head).
Distillation: --teacher_model=PATH (a Keras classifier over the same labels)
or --teacher_logits=FILE.npy (one row per training example).
Quantization-aware training: --quantization_aware with --init_checkpoint=
the float classifier.keras, a short finetune at a low learning rate; the
classifier.keras it saves exports with export_tflite --quantization=qat.

Outputs in model_dir: flags.txt, checkpoints/, train/ summaries,
classifier.keras (the best epoch by the task's main metric),
eval_results.json, serving/ (a SavedModel taking raw text) and
submission/<TASK>.tsv with --do_predict.
"""

from absl import flags

from sqz_tf import cli
from sqz_tf.data import glue
from sqz_tf.errors import SqzError
from sqz_tf.export.serving import save_text_classifier
from sqz_tf.tasks.sentence_prediction import Distillation
from sqz_tf.tasks.sentence_prediction import SentencePredictionTask
from sqz_tf.training import finetuning
from sqz_tf.training import trainer_flags

flags.DEFINE_string("task", None, "cola|sst2|mrpc|stsb|qqp|mnli|qnli|rte|"
                    "wnli|ax")
flags.DEFINE_string("teacher_model", None, "Distill from this classifier.")
flags.DEFINE_string("teacher_logits", None, "Distill from these logits (.npy).")
flags.DEFINE_float("distill_alpha", 0.5, "Weight of the hard-label loss.")
flags.DEFINE_float("distill_temperature", 1.0, "Softmax temperature.")
flags.DEFINE_bool("quantization_aware", False,
                  "Quantization-aware finetuning (tfmot fake quantization) "
                  "of the --init_checkpoint float classifier; export the "
                  "result with export_tflite --quantization=qat.")
flags.DEFINE_bool("export_serving", True,
                  "After training, also save serving/: a SavedModel that "
                  "takes raw text.")
finetuning.define_finetuning_flags()
flags.mark_flag_as_required("task")

FLAGS = flags.FLAGS


def _distillation():
  if not (FLAGS.teacher_model or FLAGS.teacher_logits):
    return None
  try:
    return Distillation(FLAGS.distill_alpha, FLAGS.distill_temperature,
                        FLAGS.teacher_model, FLAGS.teacher_logits)
  except ValueError as e:
    raise SqzError(str(e)) from None


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  finetuning.check_actions()
  glue_task = glue.get_task(FLAGS.task)
  tokenizer = finetuning.tokenizer_from_flags()
  strategy = trainer_flags.setup_run()
  source, config = finetuning.model_source_and_config()
  if FLAGS.quantization_aware and source is None:
    raise SqzError("--quantization_aware starts from a finetuned float "
                   "classifier: give it as --init_checkpoint")
  task = SentencePredictionTask(glue_task, config, _distillation(),
                                FLAGS.quantization_aware,
                                FLAGS.eval_batch_size)

  def save_serving(model, model_dir):
    save_text_classifier(model, tokenizer, f"{model_dir}/serving",
                         pair=glue_task.is_pair)

  finetuning.run(task, source, tokenizer, strategy,
                 after_training=save_serving if FLAGS.export_serving else None)


if __name__ == "__main__":
  cli.run(main)
