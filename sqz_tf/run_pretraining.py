r"""Pretrains SqueezeBERT with masked LM + sentence-order prediction.

  python -m sqz_tf.run_pretraining \
      --flagfile=official_configs/pretrain/phase1_seq128.flags \
      --input_files='records/train-*.tfrecord' --model_dir=runs/phase1

Flags on the command line override the flagfile; unknown flags are errors.
A run resumes from the latest checkpoint in --model_dir. Outputs:
  model_dir/flags.txt          the resolved flags (a reusable flagfile)
  model_dir/checkpoints/       tf.train checkpoints
  model_dir/train, eval/       TensorBoard summaries
  model_dir/pretrainer.keras   the final pretrainer (tf.keras.models.load_model)
  model_dir/encoder.keras      its encoder, for run_classifier --init_checkpoint
  model_dir/eval_results.json  with --mode=eval or train_and_eval

--demo_data_dir=DIR makes the data first (official_configs/pretrain/demo.flags):
a vocabulary and records from the Python standard library's docstrings.
"""

import json
import os

from absl import flags
from absl import logging
import tensorflow as tf

from sqz_tf import cli
from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.data import pretraining_pipeline
from sqz_tf.errors import SqzError
from sqz_tf.models.facts import model_facts
from sqz_tf.data import demo_corpus
from sqz_tf.training import trainer_flags
from sqz_tf.training.initialization import initialize_unless_resuming
from sqz_tf.training.pretraining_task import PretrainingTask
from sqz_tf.training.pretraining_task import SENTENCE_TASKS
from sqz_tf.training.pretraining_task import unigram_baseline_accuracy
from sqz_tf.utils.files import atomic_output

flags.DEFINE_string("model_config", None, "Model config JSON (HF format).")
flags.DEFINE_list("input_files", [], "Training record globs.")
flags.DEFINE_list("eval_input_files", [], "Held-out record globs.")
flags.DEFINE_integer("max_seq_length", 128, "Sequence length of the records.")
flags.DEFINE_integer("max_predictions_per_seq", 20,
                     "Masked positions per sequence in the records.")
flags.DEFINE_integer("num_train_steps", 1000, "Optimizer steps.")
flags.DEFINE_enum("sentence_task", "sop", SENTENCE_TASKS,
                  "Sentence-level task of the records (none: MLM only).")
flags.DEFINE_enum("mode", "train", ["train", "eval", "train_and_eval"],
                  "What to run.")
flags.DEFINE_integer("eval_batch_size", 64, "Eval batch (global).")
flags.DEFINE_integer("eval_steps", None, "Eval batches; default: all.")
flags.DEFINE_string("demo_data_dir", None,
                    "Make demo data here first (stdlib docstrings → vocab → "
                    "records) and train on it.")
flags.DEFINE_integer("demo_vocab_size", 4000, "Vocabulary size of the demo.")
trainer_flags.define_trainer_flags(optimizer="lamb", learning_rate=2.5e-3,
                                   train_batch_size=8192,
                                   warmup_proportion=0.28)
flags.mark_flag_as_required("model_config")

FLAGS = flags.FLAGS


def save_models(pretrainer, model_dir):
  """The final pretrainer and its encoder, each a `load_model`-able file."""
  for model, name in ((pretrainer, "pretrainer.keras"),
                      (pretrainer.encoder, "encoder.keras")):
    path = os.path.join(model_dir, name)
    with atomic_output(path, overwrite=True) as temporary:
      model.save(temporary)
    logging.info("Saved %s", path)


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  config = SqueezeBertConfig.from_json_file(FLAGS.model_config)
  strategy = trainer_flags.setup_run()
  input_files, eval_files = FLAGS.input_files, FLAGS.eval_input_files
  if FLAGS.demo_data_dir:
    input_files, eval_files, vocab_file = demo_corpus.prepare_demo_data(
        FLAGS.demo_data_dir, FLAGS.demo_vocab_size, FLAGS.max_seq_length,
        FLAGS.max_predictions_per_seq, FLAGS.sentence_task, FLAGS.seed)
    with open(vocab_file, encoding="utf-8") as f:
      vocab_size = sum(1 for _ in f)
    if vocab_size > config.vocab_size:
      raise SqzError(f"the demo vocabulary has {vocab_size} tokens, more than "
                     f"the model's vocab_size {config.vocab_size}")
  training = FLAGS.mode in ("train", "train_and_eval")
  if training and not input_files:
    raise SqzError("--input_files is required to train")
  if FLAGS.mode != "train" and not eval_files:
    raise SqzError("--eval_input_files is required to evaluate")
  logging.info("SqueezeBERT: %s", model_facts(config, FLAGS.max_seq_length))

  def dataset_fn(files, batch_size, is_training):
    return lambda input_context: pretraining_pipeline.pretraining_dataset(
        files, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq,
        batch_size, is_training=is_training, input_context=input_context,
        seed=FLAGS.seed)

  # Reading the first records checks them before anything is written.
  if training:
    dataset_fn(input_files, FLAGS.train_batch_size, True)(None)
  if eval_files:
    dataset_fn(eval_files, FLAGS.eval_batch_size, False)(None)

  task = PretrainingTask(config, FLAGS.sentence_task)
  trainer = trainer_flags.build_trainer(task, strategy, FLAGS.num_train_steps)
  if training:
    initialize_unless_resuming(trainer, FLAGS.init_checkpoint)
    trainer_flags.write_resolved_flags(strategy)
    trainer.train(dataset_fn(input_files, FLAGS.train_batch_size, True))
    if trainer.chief:
      save_models(trainer.model, FLAGS.model_dir)
  else:
    trainer.restore_latest()
  if eval_files:
    results = trainer.evaluate(
        dataset_fn(eval_files, FLAGS.eval_batch_size, False),
        steps=FLAGS.eval_steps)
    results["mlm_unigram_baseline_accuracy"] = (
        unigram_baseline_accuracy(
            dataset_fn(eval_files, FLAGS.eval_batch_size, False)(None)))
    results["step"] = int(trainer.optimizer.iterations.numpy())
    logging.info("Eval: %s", json.dumps(results))
    if trainer.chief:
      with open(os.path.join(FLAGS.model_dir, "eval_results.json"), "w",
                encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"eval MLM accuracy {results['mlm_accuracy']:.4f} (unigram "
          f"baseline {results['mlm_unigram_baseline_accuracy']:.4f}), "
          f"loss {results['loss']:.4f}")


if __name__ == "__main__":
  cli.run(main)
