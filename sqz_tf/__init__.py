"""sqz_tf: SqueezeBERT (arXiv 2006.11316) in TensorFlow / Keras 2.

Importing this package switches `tf.keras` to Keras 2 (`tf_keras`), which
tensorflow-model-optimization needs for QAT, and registers every sqz_tf layer
and model so that `tf.keras.models.load_model` can open saved models:

    import sqz_tf
    import tensorflow as tf
    model = tf.keras.models.load_model("model.keras")
"""

import os
import sys

__version__ = "0.1.0"


def _use_keras2():
  """Makes `tf.keras` resolve to tf_keras, or fails if that is too late."""
  if "tensorflow" not in sys.modules:
    # TensorFlow's C++ start-up chatter; a user's own setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  # TensorFlow reads this when `tf.keras` is first touched, which may be after
  # TensorFlow itself was imported.
  os.environ["TF_USE_LEGACY_KERAS"] = "1"
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not tf.keras.__name__.startswith("tf_keras"):
    raise ImportError(
        "sqz_tf needs Keras 2 (tf_keras), but TensorFlow was already imported "
        f"with `tf.keras` bound to {tf.keras.__name__!r}. Import sqz_tf before "
        "tensorflow, or set TF_USE_LEGACY_KERAS=1 before starting Python.")


_use_keras2()

# pylint: disable=g-import-not-at-top,wrong-import-position
from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.errors import SqzError
from sqz_tf import layers
# Registers BertTokenizerLayer, so saved models that take raw text load.
from sqz_tf.data import tokenizer as _tokenizer
from sqz_tf import models
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models import SqueezeBertMultipleChoice
from sqz_tf.models import SqueezeBertPretrainer
from sqz_tf.models import SqueezeBertTokenClassifier
from sqz_tf.models import SqueezeBertQuestionAnswerer
from sqz_tf.models import model_facts
