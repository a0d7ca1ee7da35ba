"""Test set-up: Keras 2 and a quiet TensorFlow before anything imports it."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sqz_tf  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position
