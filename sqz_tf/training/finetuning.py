"""The finetuning run every task family shares: flags, epochs, best model.

A family's main defines its own flags, builds its `FinetuningTask` and calls
`run`; reading, training with evaluation after every epoch, keeping the best
epoch's model, writing results and predictions are spelled here once:

    define_finetuning_flags()                 # + the family's own flags
    source, config = model_source_and_config()
    task = SentencePredictionTask(FLAGS.task, model_config=config)
    run(task, source, tokenizer)

Outputs in model_dir: flags.txt, checkpoints/, train/ summaries, the best
epoch's model (`task.saved_model_name`), eval_results.json and, with
--do_predict, the task's prediction files (`task.predictions_dir`).
"""

import json
import math
import os

from absl import flags
from absl import logging

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.data import classification_pipeline
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.errors import SqzError
from sqz_tf.models.facts import model_facts
from sqz_tf.tasks.finetuning_task import predict
from sqz_tf.training import initialization
from sqz_tf.training import trainer_flags
from sqz_tf.utils.files import atomic_output

FLAGS = flags.FLAGS


def define_finetuning_flags(**trainer_defaults):
  """The flags every finetuning main shares (and the trainer's)."""
  flags.DEFINE_string("data_dir", None, "The task's data directory.")
  flags.DEFINE_string("vocab_file", None, "WordPiece vocab.txt of the model.")
  flags.DEFINE_bool("do_lower_case", True, "Uncased vocabulary.")
  flags.DEFINE_string("model_config", None, "Model config JSON; default: the "
                      "--init_checkpoint model's.")
  flags.DEFINE_integer("max_seq_length", 128, "Tokens per example.")
  flags.DEFINE_bool("do_train", False, "Finetune on the train split.")
  flags.DEFINE_bool("do_eval", False, "Evaluate on the dev split(s).")
  flags.DEFINE_bool("do_predict", False, "Write predictions for the test "
                    "split(s) under model_dir.")
  flags.DEFINE_float("num_train_epochs", 3.0, "Epochs over the train split.")
  flags.DEFINE_integer("eval_batch_size", 64, "Batch for eval and predict.")
  trainer_flags.define_trainer_flags(**{
      "optimizer": "adamw", "learning_rate": 3e-5, "train_batch_size": 32,
      "warmup_proportion": 0.1, **trainer_defaults})
  flags.mark_flag_as_required("vocab_file")


def tokenizer_from_flags():
  """The BERT tokenizer of --vocab_file at --max_seq_length."""
  return BertTokenizerLayer.from_vocab_file(
      FLAGS.vocab_file, seq_length=FLAGS.max_seq_length,
      lower_case=FLAGS.do_lower_case)


def model_source_and_config():
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


def check_actions():
  if not (FLAGS.do_train or FLAGS.do_eval or FLAGS.do_predict):
    raise SqzError("nothing to do: give --do_train, --do_eval or --do_predict")


def _evaluate(task, model, dev_sets):
  results = {}
  for split in dev_sets.values():
    outputs = predict(model, split.features, FLAGS.eval_batch_size)
    for name, value in task.evaluate(split, outputs).items():
      results[name if len(dev_sets) == 1 else f"{split.name}_{name}"] = value
  return results


def _main_value(task, metrics):
  if task.main_metric in metrics:
    return metrics[task.main_metric]
  # Several dev splits (MNLI): the first one's metric decides.
  return metrics[f"{task.eval_splits()[0]}_{task.main_metric}"]


def _write_json(path, value):
  with atomic_output(path, overwrite=True) as temporary:
    with open(temporary, "w", encoding="utf-8") as f:
      json.dump(value, f, indent=2)
      f.write("\n")


def _save_model(model, path):
  with atomic_output(path, overwrite=True) as temporary:
    model.save(temporary)


def run(task, source, tokenizer, strategy, after_training=None):
  """Trains, evaluates and predicts `task` as the shared flags say.

  `source` is what `model_source_and_config` returned; `after_training(model,
  model_dir)` saves anything beside the best model (chief only).
  """
  logging.info("SqueezeBERT: %s", model_facts(task.model_config,
                                               FLAGS.max_seq_length))
  # Read everything first: bad input fails before the model dir is touched.
  train = None
  if FLAGS.do_train:
    train = task.load_split(FLAGS.data_dir, "train", tokenizer)
    task.prepare_training(train)
  dev_sets = {}
  if FLAGS.do_eval or FLAGS.do_train:
    dev_sets = {split: task.load_split(FLAGS.data_dir, split, tokenizer)
                for split in task.eval_splits()}
  # The test files too: a bad one fails now, not after training.
  predict_sets = {}
  if FLAGS.do_predict:
    predict_sets = {split: task.load_split(FLAGS.data_dir, split, tokenizer)
                    for split in task.predict_splits()}

  steps_per_epoch = max(1, (train.num_rows if train else 0) //
                        FLAGS.train_batch_size)
  num_train_steps = max(1, math.ceil(steps_per_epoch * FLAGS.num_train_epochs))
  trainer = trainer_flags.build_trainer(task, strategy, num_train_steps)
  model = trainer.model
  if source is not None and not trainer.has_checkpoint():
    task.initialize(model, source)
  elif not FLAGS.do_train and trainer.has_checkpoint():
    trainer.restore_latest()
  trainer_flags.write_resolved_flags(strategy)
  best_path = os.path.join(FLAGS.model_dir, task.saved_model_name)
  results_path = os.path.join(FLAGS.model_dir, "eval_results.json")

  if FLAGS.do_train:
    history, best = [], None
    dataset_fn = classification_pipeline.in_memory_dataset_fn(
        train.features, FLAGS.train_batch_size, shuffle_seed=FLAGS.seed)
    for epoch in range(1, math.ceil(FLAGS.num_train_epochs) + 1):
      until = min(num_train_steps, epoch * steps_per_epoch)
      trainer.train(dataset_fn, until_step=until)
      metrics = _evaluate(task, model, dev_sets) if dev_sets else {}
      history.append({"epoch": epoch, "step": until, **metrics})
      logging.info("Epoch %d (step %d): %s", epoch, until, json.dumps(metrics))
      value = _main_value(task, metrics) if metrics else epoch
      if trainer.chief and (best is None or value > best):
        best = value
        _save_model(model, best_path)
      if until >= num_train_steps:
        break
    if trainer.chief:
      best_epoch = (max(history, key=lambda h: _main_value(task, h))
                    if dev_sets else history[-1])
      _write_json(results_path, {"task": task.name,
                                 "main_metric": task.main_metric,
                                 "best": best_epoch, "epochs": history})
    model = initialization.load_model_file(best_path)
    if trainer.chief and after_training:
      after_training(model, FLAGS.model_dir)
  elif FLAGS.do_eval:
    metrics = _evaluate(task, model, dev_sets)
    if trainer.chief:
      _write_json(results_path, {"task": task.name,
                                 "main_metric": task.main_metric,
                                 "best": metrics, "epochs": []})
  if FLAGS.do_predict and trainer.chief:
    written = []
    for data in predict_sets.values():
      written += task.write_predictions(
          data, predict(model, data.features, FLAGS.eval_batch_size),
          os.path.join(FLAGS.model_dir, task.predictions_dir))
    print(f"Wrote {', '.join(written)}")
  if (FLAGS.do_train or FLAGS.do_eval) and trainer.chief:
    with open(results_path, encoding="utf-8") as f:
      print(f.read())
  return model
