r"""Finetunes SqueezeBERT for multiple choice on SWAG-format CSV files.

  python -m sqz_tf.run_multiple_choice \
      --flagfile=official_configs/multiple_choice/swag.flags \
      --data_dir=swag --vocab_file=vocab.txt \
      --init_checkpoint=runs/phase2/encoder.keras --model_dir=runs/swag

--data_dir holds train.csv, val.csv (or dev.csv) and test.csv in SWAG's
layout (sent1, sent2, ending0.., label). --init_checkpoint takes what
run_classifier takes: a pretraining run's encoder.keras / pretrainer.keras
or model_dir, a model from convert_hf_checkpoint, or a finetuned
multiple-choice model. Each choice is `[CLS] sent1 [SEP] sent2 ending
[SEP]` of --max_seq_length tokens.

Outputs in model_dir: flags.txt, checkpoints/, train/ summaries,
multiple_choice.keras (the best epoch by dev accuracy), eval_results.json
and, with --do_predict, predictions/test.csv (id, chosen ending, each
ending's probability).
"""

from absl import flags

from sqz_tf import cli
from sqz_tf.errors import SqzError
from sqz_tf.tasks.multiple_choice import MultipleChoiceTask
from sqz_tf.training import finetuning
from sqz_tf.training import trainer_flags

finetuning.define_finetuning_flags(learning_rate=5e-5, train_batch_size=16)

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  finetuning.check_actions()
  tokenizer = finetuning.tokenizer_from_flags()
  strategy = trainer_flags.setup_run()
  source, config = finetuning.model_source_and_config()
  finetuning.run(MultipleChoiceTask(config), source, tokenizer, strategy)


if __name__ == "__main__":
  cli.run(main)
