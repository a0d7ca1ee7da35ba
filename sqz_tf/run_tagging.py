r"""Finetunes SqueezeBERT to tag tokens (NER) on CoNLL-format files.

  python -m sqz_tf.run_tagging \
      --flagfile=official_configs/tagging/conll2003.flags \
      --data_dir=conll2003 --vocab_file=vocab.txt \
      --init_checkpoint=runs/phase2/encoder.keras --model_dir=runs/ner

--data_dir holds train.txt, dev.txt, test.txt (or CoNLL-2003's eng.train,
eng.testa, eng.testb): `word ... TAG` columns, IOB1 or IOB2 tags, blank
lines between sentences. The labels are the init model's when it is a
tagger (continue training or evaluate it), else --labels (entity types,
e.g. PER,ORG,LOC,MISC: tags O, B-PER, I-PER, ...), else the types of the
training file. --init_checkpoint takes what run_classifier takes: a
pretraining run's encoder.keras / pretrainer.keras or model_dir, a model
from convert_hf_checkpoint, or a finetuned tagger with the same labels.

Outputs in model_dir: flags.txt, checkpoints/, train/ summaries,
tagger.keras (the best epoch by dev entity F1), eval_results.json
(conlleval precision/recall/F1 overall and per type) and, with
--do_predict, predictions/test.txt (each token line + the predicted tag,
in the file's scheme: conlleval's input) and predictions/test_results.json.
"""

from absl import flags

from sqz_tf import cli
from sqz_tf.errors import SqzError
from sqz_tf.tasks import tagging
from sqz_tf.training import finetuning
from sqz_tf.training import trainer_flags

flags.DEFINE_list("labels", None, "Entity types to tag, e.g. PER,ORG,LOC,"
                  "MISC (default: the init tagger's, else the training "
                  "file's).")
finetuning.define_finetuning_flags(learning_rate=5e-5)

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  finetuning.check_actions()
  tokenizer = finetuning.tokenizer_from_flags()
  strategy = trainer_flags.setup_run()
  source, config = finetuning.model_source_and_config()
  task = tagging.TaggingTask(
      config, labels=tagging.labels_for(
          None if isinstance(source, str) else source, FLAGS.labels))
  finetuning.run(task, source, tokenizer, strategy)


if __name__ == "__main__":
  cli.run(main)
