"""Models: outputs, save → load_model round trips, Keras-2 switch."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.models import SqueezeBertClassifier
from sqz_tf.models import SqueezeBertEncoder
from sqz_tf.models import SqueezeBertMultipleChoice
from sqz_tf.models import SqueezeBertPretrainer
from sqz_tf.models import SqueezeBertTokenClassifier
from sqz_tf.training.initialization import load_model_file
from tests.tiny_configs import masked_positions
from tests.tiny_configs import tiny_config
from tests.tiny_configs import tiny_inputs


def _build(kind, config):
  if kind == "encoder":
    return SqueezeBertEncoder(config)
  if kind == "pretrainer":
    return SqueezeBertPretrainer(config)
  if kind == "token_classifier":
    return SqueezeBertTokenClassifier(config, num_labels=3,
                                      id2label=TAGS)
  if kind == "multiple_choice":
    return SqueezeBertMultipleChoice(config)
  return SqueezeBertClassifier(config, num_labels=3, id2label=LABELS)


LABELS = {0: "neg", 1: "neutral", 2: "pos"}
TAGS = {0: "O", 1: "B-PER", 2: "I-PER"}


def _feed(kind, config):
  if kind == "multiple_choice":  # 2 questions x 3 choices
    return {name: value.reshape(2, 3, -1) for name, value in
            tiny_inputs(config, batch=6, seq_length=16).items()}
  inputs = tiny_inputs(config)
  if kind == "pretrainer":
    inputs["masked_lm_positions"] = masked_positions()
  return inputs


def _outputs(model, inputs):
  out = model(inputs, training=False)
  return {k: v.numpy() for k, v in out.items()} if isinstance(
      out, dict) else {"logits": out.numpy()}


def test_output_shapes():
  config = tiny_config()
  encoder_out = _outputs(SqueezeBertEncoder(config), _feed("encoder", config))
  assert encoder_out["sequence_output"].shape == (3, 11, 32)
  assert encoder_out["pooled_output"].shape == (3, 32)
  pretrainer_out = _outputs(SqueezeBertPretrainer(config),
                            _feed("pretrainer", config))
  assert pretrainer_out["mlm_logits"].shape == (3, 4, 99)
  assert pretrainer_out["sop_logits"].shape == (3, 2)
  regressor = SqueezeBertClassifier(config, num_labels=1)
  assert _outputs(regressor, _feed("encoder", config))["logits"].shape == (3, 1)
  tagger = _build("token_classifier", config)
  assert _outputs(tagger, _feed("token_classifier", config))[
      "logits"].shape == (3, 11, 3)
  chooser = _build("multiple_choice", config)
  assert _outputs(chooser, _feed("multiple_choice", config))[
      "logits"].shape == (2, 3)


def test_multiple_choice_scores_each_choice_alone():
  config = tiny_config()
  model = SqueezeBertMultipleChoice(config)
  inputs = _feed("multiple_choice", config)
  scores = _outputs(model, inputs)["logits"]
  # A choice's score is the head on that row's pooled output, whatever the
  # other choices are.
  pooled = model.encoder({name: value.reshape(6, -1) for name, value in
                          inputs.items()})["pooled_output"]
  np.testing.assert_allclose(scores.reshape(6),
                             model.head(pooled).numpy()[:, 0], atol=1e-5)


def test_sequence_length_is_dynamic():
  config = tiny_config()
  encoder = SqueezeBertEncoder(config)
  for seq_length in (5, 17, config.max_position_embeddings):
    out = encoder(tiny_inputs(config, seq_length=seq_length))
    assert out["sequence_output"].shape == (3, seq_length, 32)


def test_dropout_only_in_training():
  config = tiny_config()
  classifier = SqueezeBertClassifier(config, num_labels=2)
  inputs = _feed("classifier", config)
  np.testing.assert_array_equal(classifier(inputs).numpy(),
                                classifier(inputs).numpy())
  assert not np.allclose(classifier(inputs, training=True).numpy(),
                         classifier(inputs).numpy())


# The heads that only add a dense layer save like the classifier: .keras only.
@pytest.mark.parametrize("kind, file_name", [
    (kind, file_name) for kind in ("encoder", "pretrainer", "classifier")
    for file_name in ("model.keras", "saved_model")] + [
        ("token_classifier", "model.keras"),
        ("multiple_choice", "model.keras")])
def test_save_and_load_model_round_trip(tmp_path, kind, file_name):
  config = tiny_config("mixed_groups")
  model = _build(kind, config)
  inputs = _feed(kind, config)
  expected = _outputs(model, inputs)
  path = str(tmp_path / file_name)
  model.save(path)

  loaded = tf.keras.models.load_model(path)  # safe mode
  assert type(loaded) is type(model)
  assert loaded.get_config() == model.get_config()
  assert loaded.model_config == config
  for key, value in _outputs(loaded, inputs).items():
    np.testing.assert_array_equal(value, expected[key])
  if kind in ("classifier", "token_classifier"):
    assert loaded.id2label == (LABELS if kind == "classifier" else TAGS)


def test_pretrainer_decoder_is_tied_after_loading(tmp_path):
  model = SqueezeBertPretrainer(tiny_config())
  model.save(str(tmp_path / "p.keras"))
  loaded = tf.keras.models.load_model(str(tmp_path / "p.keras"))
  table = loaded.encoder.embeddings.word_embeddings
  assert loaded.masked_lm.embeddings.word_embeddings is table
  assert sum(w is table for w in loaded.weights) == 1


@pytest.mark.parametrize("kind", ["pretrainer", "classifier",
                                  "token_classifier"])
def test_load_model_file_equals_load_model(tmp_path, kind):
  # load_model_file reads .keras archives its own (fast) way: same model.
  config = tiny_config("mixed_groups")
  model = _build(kind, config)
  path = str(tmp_path / "model.keras")
  model.save(path)
  fast = load_model_file(path)
  reference = tf.keras.models.load_model(path, compile=False)
  assert type(fast) is type(reference) is type(model)
  assert fast.get_config() == reference.get_config()
  assert [w.name for w in fast.weights] == [w.name for w in reference.weights]
  for mine, theirs in zip(fast.weights, reference.weights):
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
  if kind == "pretrainer":
    table = fast.encoder.embeddings.word_embeddings
    assert fast.masked_lm.embeddings.word_embeddings is table
  with open(tmp_path / "broken.keras", "wb") as f:
    f.write(open(path, "rb").read()[:1000])
  with pytest.raises(SqzError, match="cannot load"):
    load_model_file(str(tmp_path / "broken.keras"))


def _python(code):
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  env.pop("TF_USE_LEGACY_KERAS", None)
  return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                        capture_output=True, text=True, env=env,
                        cwd=os.path.dirname(os.path.dirname(__file__)))


def test_import_makes_tf_keras_mean_keras2():
  result = _python("""
      import sqz_tf
      import tensorflow as tf
      import tf_keras
      assert tf.keras.layers.Dense is tf_keras.layers.Dense
      print("keras2 ok")
  """)
  assert "keras2 ok" in result.stdout, result.stderr[-2000:]


def test_import_after_keras3_fails_clearly():
  result = _python("""
      import tensorflow as tf
      tf.keras.layers.Dense  # binds tf.keras to Keras 3
      import sqz_tf
  """)
  assert result.returncode != 0
  assert "sqz_tf needs Keras 2 (tf_keras)" in result.stderr
  assert "TF_USE_LEGACY_KERAS=1" in result.stderr


def test_import_after_tensorflow_but_before_keras_works():
  result = _python("""
      import tensorflow as tf
      import sqz_tf
      assert tf.keras.__name__.startswith("tf_keras")
      print("keras2 ok")
  """)
  assert "keras2 ok" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_float32_islands(policy):
  tf.keras.mixed_precision.set_global_policy(policy)
  try:
    config = tiny_config()
    pretrainer = SqueezeBertPretrainer(config)
    out = pretrainer(_feed("pretrainer", config), training=False)
    block = pretrainer.encoder.transformer_blocks[0]
    assert block.post_attention.compute_dtype == policy.split("_")[1]
    assert block.output_norm.compute_dtype == "float32"
    assert all(v.dtype == tf.float32 for v in pretrainer.weights)
  finally:
    tf.keras.mixed_precision.set_global_policy("float32")
  assert out["mlm_logits"].dtype == tf.float32
  assert out["sop_logits"].dtype == tf.float32
  assert np.isfinite(out["mlm_logits"].numpy()).all()
