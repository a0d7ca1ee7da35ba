"""Moving SqueezeBERT weights between HF transformers and sqz_tf."""

from sqz_tf.hf.convert import hf_to_keras
from sqz_tf.hf.convert import keras_to_hf
