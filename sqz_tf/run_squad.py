r"""Finetunes SqueezeBERT for extractive question answering (SQuAD v1.1/v2.0).

  python -m sqz_tf.run_squad --flagfile=official_configs/squad/v1.1.flags \
      --data_dir=squad --vocab_file=vocab.txt \
      --init_checkpoint=runs/phase2/encoder.keras --model_dir=runs/squad

--data_dir holds the official files (train-v1.1.json and dev-v1.1.json;
train-v2.0.json and dev-v2.0.json with --version_2_with_negative), or give
them as --train_file and --predict_file. The predict file is evaluated
after every epoch (the best epoch by F1 is kept) and, with --do_predict,
answered: predictions.json ({question id: answer}, what the official
evaluate-v1.1.py / evaluate-v2.0.py read), nbest_predictions.json and, for
v2.0, null_odds.json (their --na-prob-file) under model_dir/predictions/.

v2.0: the answer is "" when the null score beats the best span by more
than --null_score_diff_threshold; eval_results.json reports best_f1_thresh,
the threshold that maximizes F1 on the predict file.

--init_checkpoint as for run_classifier: a pretraining run's encoder.keras /
pretrainer.keras or model_dir, a converted HF model, or a finetuned question
answerer (all of it). Outputs in model_dir: flags.txt, checkpoints/,
train/ summaries, question_answerer.keras (the best epoch),
eval_results.json, predictions/.
"""

from absl import flags

from sqz_tf import cli
from sqz_tf.data import squad_features
from sqz_tf.errors import SqzError
from sqz_tf.tasks.question_answering import QuestionAnsweringTask
from sqz_tf.training import finetuning
from sqz_tf.training import trainer_flags

flags.DEFINE_string("train_file", None, "SQuAD JSON to train on (default: "
                    "train-v1.1.json or train-v2.0.json in --data_dir).")
flags.DEFINE_string("predict_file", None, "SQuAD JSON to evaluate and "
                    "predict (default: dev-v1.1.json / dev-v2.0.json in "
                    "--data_dir).")
flags.DEFINE_bool("version_2_with_negative", False,
                  "SQuAD v2.0: questions may have no answer (is_impossible).")
flags.DEFINE_integer("max_query_length", None, "Question tokens kept "
                     "(default 64, at most a quarter of max_seq_length).")
flags.DEFINE_integer("doc_stride", None, "Tokens between the starts of "
                     "successive context windows (default 128, at most half "
                     "the context window).")
flags.DEFINE_integer("n_best_size", 20, "Candidate starts and ends per window, "
                     "and answers in nbest_predictions.json.")
flags.DEFINE_integer("max_answer_length", 30, "Longest answer, in tokens.")
flags.DEFINE_float("null_score_diff_threshold", 0.0,
                   "v2.0: answer \"\" when null score - best span score is "
                   "above this.")
finetuning.define_finetuning_flags()

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  finetuning.check_actions()
  if FLAGS.n_best_size < 1 or FLAGS.max_answer_length < 1:
    raise SqzError("n_best_size and max_answer_length must be at least 1")
  squad_features.check_lengths(FLAGS.max_seq_length, *(
      squad_features.default_lengths(FLAGS.max_seq_length,
                                     FLAGS.max_query_length,
                                     FLAGS.doc_stride)))
  tokenizer = finetuning.tokenizer_from_flags()
  strategy = trainer_flags.setup_run()
  source, config = finetuning.model_source_and_config()
  task = QuestionAnsweringTask(
      config, FLAGS.version_2_with_negative,
      files={"train": FLAGS.train_file, "dev": FLAGS.predict_file},
      max_query_length=FLAGS.max_query_length, doc_stride=FLAGS.doc_stride,
      n_best_size=FLAGS.n_best_size,
      max_answer_length=FLAGS.max_answer_length,
      null_score_diff_threshold=FLAGS.null_score_diff_threshold)
  finetuning.run(task, source, tokenizer, strategy)


if __name__ == "__main__":
  cli.run(main)
