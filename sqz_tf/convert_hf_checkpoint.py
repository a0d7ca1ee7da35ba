r"""Converts SqueezeBERT checkpoints between HF transformers and sqz_tf.

HF -> Keras (config.json + model.safetensors or pytorch_model.bin):
  python -m sqz_tf.convert_hf_checkpoint --hf_dir=squeezebert-uncased \
      --output=squeezebert_uncased.keras [--model_type=auto]

Keras -> HF (config.json + model.safetensors):
  python -m sqz_tf.convert_hf_checkpoint --to_hf \
      --keras_model=squeezebert_uncased.keras --output=exported_hf_dir
"""

from absl import flags
from absl import logging

from sqz_tf import cli
from sqz_tf.errors import SqzError
from sqz_tf.hf import convert

flags.DEFINE_string("hf_dir", None, "HF checkpoint directory to convert.")
flags.DEFINE_string("keras_model", None,
                    "With --to_hf: the sqz_tf Keras model to export.")
flags.DEFINE_string("output", None,
                    "Output: a .keras file (or SavedModel directory), or with "
                    "--to_hf an HF checkpoint directory.")
flags.DEFINE_enum("model_type", "auto", convert.MODEL_TYPES,
                  "Model to build from the HF checkpoint. auto: the one "
                  "config.json's architectures names (without it, only "
                  "checkpoints whose tensors are unambiguous: encoder, "
                  "MLM pretrainer or question answerer). Otherwise it must agree with "
                  "architectures.")
flags.DEFINE_bool("to_hf", False, "Convert a Keras model to an HF directory.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output.")
flags.mark_flag_as_required("output")

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise SqzError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.to_hf:
    if not FLAGS.keras_model or FLAGS.hf_dir:
      raise SqzError("--to_hf reads --keras_model (not --hf_dir)")
    model = convert.load_sqz_model(FLAGS.keras_model)
    convert.keras_to_hf(model, FLAGS.output, overwrite=FLAGS.overwrite)
    print(f"Wrote HF checkpoint {FLAGS.output} "
          f"({convert.hf_config_dict(model)['architectures'][0]})")
    return
  if not FLAGS.hf_dir or FLAGS.keras_model:
    raise SqzError("give --hf_dir (or --to_hf with --keras_model)")
  model, notes = convert.hf_to_keras(FLAGS.hf_dir, FLAGS.model_type)
  for note in notes:
    logging.warning("%s", note)
  convert.save_keras_model(model, FLAGS.output, overwrite=FLAGS.overwrite)
  print(f"Wrote {type(model).__name__} {FLAGS.output} "
        f"({model.count_params():,} parameters)")


if __name__ == "__main__":
  cli.run(main)
