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

import json
import math
import os

from absl import flags
from absl import logging

from sqz_tf import cli
from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.data import classification_pipeline
from sqz_tf.data import glue
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.errors import SqzError
from sqz_tf.export.serving import save_text_classifier
from sqz_tf.models.facts import model_facts
from sqz_tf.training import glue_finetuning
from sqz_tf.training import initialization
from sqz_tf.training import trainer_flags
from sqz_tf.training.classification_task import ClassificationTask
from sqz_tf.training.classification_task import Distillation
from sqz_tf.utils.files import atomic_output

flags.DEFINE_string("task", None, "cola|sst2|mrpc|stsb|qqp|mnli|qnli|rte|"
                    "wnli|ax")
flags.DEFINE_string("data_dir", None, "The task's GLUE TSV directory.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab.txt of the model.")
flags.DEFINE_bool("do_lower_case", True, "Uncased vocabulary.")
flags.DEFINE_string("model_config", None, "Model config JSON; default: the "
                    "--init_checkpoint model's.")
flags.DEFINE_integer("max_seq_length", 128, "Tokens per example.")
flags.DEFINE_bool("do_train", False, "Finetune on train.tsv.")
flags.DEFINE_bool("do_eval", False, "Evaluate on the dev split(s).")
flags.DEFINE_bool("do_predict", False, "Write GLUE submission files.")
flags.DEFINE_float("num_train_epochs", 3.0, "Epochs over train.tsv.")
flags.DEFINE_integer("eval_batch_size", 64, "Batch for eval and predict.")
flags.DEFINE_string("teacher_model", None, "Distill from this classifier.")
flags.DEFINE_string("teacher_logits", None, "Distill from these logits (.npy).")
flags.DEFINE_float("distill_alpha", 0.5, "Weight of the hard-label loss.")
flags.DEFINE_float("distill_temperature", 1.0, "Softmax temperature.")
flags.DEFINE_bool("quantization_aware", False,
                  "Quantization-aware finetuning (tfmot fake quantization) "
                  "of the --init_checkpoint float classifier; export the "
                  "result with export_tflite --quantization=qat.")
trainer_flags.define_trainer_flags(optimizer="adamw", learning_rate=3e-5,
                                   train_batch_size=32, warmup_proportion=0.1)
flags.mark_flags_as_required(["task", "vocab_file"])

FLAGS = flags.FLAGS


def _model_and_config(task):
  """The init source (loaded once) and the config of the model to build."""
  source = None
  if FLAGS.init_checkpoint:
    source = FLAGS.init_checkpoint
    if initialization.is_model_file(source):
      source = initialization.load_model_file(source)
  if FLAGS.model_config:
    return source, SqueezeBertConfig.from_json_file(FLAGS.model_config)
  if source is None or isinstance(source, str):
    raise SqzError("--model_config is needed unless --init_checkpoint is a "
                   ".keras model")
  if not hasattr(source, "model_config"):
    raise SqzError(f"{FLAGS.init_checkpoint} is not an sqz_tf model")
  return source, source.model_config


def _distillation(task, features):
  if not (FLAGS.teacher_model or FLAGS.teacher_logits):
    return None
  if FLAGS.teacher_model and FLAGS.teacher_logits:
    raise SqzError("give --teacher_model or --teacher_logits, not both")
  teacher = (initialization.load_model_file(FLAGS.teacher_model)
             if FLAGS.teacher_model else None)
  features["teacher_logits"] = glue_finetuning.teacher_logits(
      task, features, teacher, FLAGS.teacher_logits, FLAGS.eval_batch_size)
  try:
    return Distillation(FLAGS.distill_alpha, FLAGS.distill_temperature)
  except ValueError as e:
    raise SqzError(str(e)) from None


def _evaluate(task, model, dev_sets):
  results = {}
  for split, features in dev_sets.items():
    for name, value in glue_finetuning.split_metrics(
        task, model, features, FLAGS.eval_batch_size).items():
      results[name if len(dev_sets) == 1 else f"{split}_{name}"] = value
  return results


def _save_model(model, path):
  with atomic_output(path, overwrite=True) as temporary:
    model.save(temporary)


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  if not (FLAGS.do_train or FLAGS.do_eval or FLAGS.do_predict):
    raise SqzError("nothing to do: give --do_train, --do_eval or --do_predict")
  task = glue.get_task(FLAGS.task)
  tokenizer = BertTokenizerLayer.from_vocab_file(
      FLAGS.vocab_file, seq_length=FLAGS.max_seq_length,
      lower_case=FLAGS.do_lower_case)
  strategy = trainer_flags.setup_run()
  source, config = _model_and_config(task)
  logging.info("SqueezeBERT: %s", model_facts(config, FLAGS.max_seq_length))

  # Read everything first: bad input fails before the model dir is touched.
  train_features = distillation = None
  if FLAGS.do_train:
    _, train_features = glue_finetuning.split_features(
        task, FLAGS.data_dir, "train", tokenizer)
    distillation = _distillation(task, train_features)
  dev_sets = {}
  if FLAGS.do_eval or FLAGS.do_train:
    dev_sets = {split: glue_finetuning.split_features(
        task, FLAGS.data_dir, split, tokenizer)[1]
                for split in glue_finetuning.eval_splits(task)
                if split in task.splits}

  id2label = dict(enumerate(task.label_names))
  if FLAGS.quantization_aware and source is None:
    raise SqzError("--quantization_aware starts from a finetuned float "
                   "classifier: give it as --init_checkpoint")
  classification = ClassificationTask(
      config, task.num_labels, id2label, distillation,
      quantization_aware=FLAGS.quantization_aware)
  rows = len(train_features["label"]) if train_features else 0
  steps_per_epoch = max(1, rows // FLAGS.train_batch_size)
  num_train_steps = max(1, math.ceil(steps_per_epoch * FLAGS.num_train_epochs))
  trainer = trainer_flags.build_trainer(classification, strategy,
                                        num_train_steps)
  model = trainer.model
  if source is not None and not trainer.has_checkpoint():
    initialization.initialize_classifier(model, source)
  elif not FLAGS.do_train and trainer.has_checkpoint():
    trainer.restore_latest()
  trainer_flags.write_resolved_flags(strategy)
  best_path = os.path.join(FLAGS.model_dir, "classifier.keras")
  results_path = os.path.join(FLAGS.model_dir, "eval_results.json")

  if FLAGS.do_train:
    history, best = [], None
    dataset_fn = classification_pipeline.in_memory_dataset_fn(
        train_features, FLAGS.train_batch_size, shuffle_seed=FLAGS.seed)
    for epoch in range(1, math.ceil(FLAGS.num_train_epochs) + 1):
      until = min(num_train_steps, epoch * steps_per_epoch)
      trainer.train(dataset_fn, until_step=until)
      metrics = _evaluate(task, model, dev_sets)
      main_value = metrics.get(task.main_metric,
                               metrics.get(f"dev_matched_{task.main_metric}"))
      history.append({"epoch": epoch, "step": until, **metrics})
      logging.info("Epoch %d (step %d): %s", epoch, until, json.dumps(metrics))
      if trainer.chief and (best is None or main_value > best):
        best = main_value
        _save_model(model, best_path)
      if until >= num_train_steps:
        break
    best_epoch = max(history, key=lambda h: h.get(
        task.main_metric, h.get(f"dev_matched_{task.main_metric}", -1)))
    if trainer.chief:
      with open(results_path, "w", encoding="utf-8") as f:
        json.dump({"task": task.name, "main_metric": task.main_metric,
                   "best": best_epoch, "epochs": history}, f, indent=2)
    model = initialization.load_model_file(best_path)
  if FLAGS.do_eval and not FLAGS.do_train:
    metrics = _evaluate(task, model, dev_sets)
    print(json.dumps(metrics))
    if trainer.chief:
      with open(results_path, "w", encoding="utf-8") as f:
        json.dump({"task": task.name, "main_metric": task.main_metric,
                   "best": metrics, "epochs": []}, f, indent=2)
  if trainer.chief and FLAGS.do_train:
    save_text_classifier(model, tokenizer,
                         os.path.join(FLAGS.model_dir, "serving"),
                         pair=task.is_pair)
  if FLAGS.do_predict and trainer.chief:
    written = glue_finetuning.write_predictions(
        task, model, FLAGS.data_dir, tokenizer,
        os.path.join(FLAGS.model_dir, "submission"), FLAGS.eval_batch_size)
    print(f"Wrote {', '.join(written)}")
  if FLAGS.do_train or FLAGS.do_eval:
    with open(results_path, encoding="utf-8") as f:
      print(f.read())


if __name__ == "__main__":
  cli.run(main)
