"""Data for SqueezeBERT: tokenizer, vocabularies, pretraining records, GLUE.

  >>> from sqz_tf.data import BertTokenizerLayer
  >>> layer = BertTokenizerLayer.from_vocab_file("vocab.txt", seq_length=128)
  >>> features = layer([texts_a, texts_b])   # input_word_ids, input_mask, ...

Modules: `tokenizer` (BertTokenizerLayer), `vocab` / `vocab_builder`
(vocab.txt), `pretraining_records` (create_pretraining_data),
`pretraining_pipeline` / `classification_pipeline` (tf.data), `glue` and
`glue_metrics`. The names below load their module on first use, so that
importing one module (say the pipeline) does not load tensorflow-text.
"""

import importlib

_EXPORTS = {
    "BertTokenizerLayer": "tokenizer",
    "load_vocab": "vocab",
    "create_pretraining_data": "pretraining_records",
    "PretrainingDataOptions": "pretraining_records",
    "pretraining_dataset": "pretraining_pipeline",
    "classification_dataset": "classification_pipeline",
    "examples_to_features": "classification_pipeline",
    "write_classification_records": "classification_pipeline",
    "RecordFormatError": "record_checks",
    "InputExample": "glue",
    "get_task": "glue",
    "read_examples": "glue",
    "compute_metrics": "glue_metrics",
}


def __getattr__(name):
  if name in _EXPORTS:
    module = importlib.import_module(f"sqz_tf.data.{_EXPORTS[name]}")
    return getattr(module, name)
  raise AttributeError(f"module 'sqz_tf.data' has no attribute {name!r}")


def __dir__():
  return sorted(list(globals()) + list(_EXPORTS))
