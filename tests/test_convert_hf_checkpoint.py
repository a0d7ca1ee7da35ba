"""convert_hf_checkpoint: exact parity with HF PyTorch, both directions.

Random HF models are saved as users get them (`save_pretrained` safetensors,
or the state-dict pickle of the published checkpoints), converted by the CLI,
loaded with `tf.keras.models.load_model` in a fresh process and compared with
PyTorch.
"""

import json
import os
import shutil

import numpy as np
import pytest
import safetensors.numpy
import tensorflow as tf
import torch
import transformers

from sqz_tf.errors import ConversionError
from sqz_tf.hf import architectures
from sqz_tf.hf import convert
from tests import hf_reference
from tests.cli_runner import run_many
from tests.tiny_configs import TINY_CONFIGS
from tests.tiny_configs import masked_positions
from tests.tiny_configs import tiny_config
from tests.tiny_configs import tiny_inputs

TOLERANCE = 1e-4
CLI = "sqz_tf.convert_hf_checkpoint"
HEADS = ("encoder", "pretrainer", "classifier", "token_classifier",
         "multiple_choice", "question_answerer")
# The heads that only add a dense layer go through fewer configs (each CLI
# run costs seconds): mixed_groups as safetensors, squeezebert_groups as
# .bin; the encoder under them is checked on all.
_DENSE_HEAD_CONFIGS = {"token_classifier": ("mixed_groups",),
                       "multiple_choice": ("mixed_groups",),
                       "question_answerer": ("mixed_groups",)}


def _cases():
  cases = [(name, head, "safetensors") for name in sorted(TINY_CONFIGS)
           for head in HEADS
           if name in _DENSE_HEAD_CONFIGS.get(head, TINY_CONFIGS)]
  cases += [("squeezebert_groups", head, "bin") for head in HEADS]
  return cases


def _inputs(head, config, seed):
  if head == "multiple_choice":  # 2 questions x 3 choices
    return hf_reference.as_choices(tiny_inputs(config, batch=6,
                                               seq_length=16, seed=seed))
  return tiny_inputs(config, seed=seed)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
  """Every case converted by the CLI; outputs of HF and of the loaded model."""
  work = tmp_path_factory.mktemp("convert")
  cases, commands = [], []
  for index, (name, head, fmt) in enumerate(_cases()):
    num_labels = 1 if name == "one_head" else 3  # one_head: a regressor
    if head == "token_classifier":
      num_labels = 5  # O and B-/I- of two types
    model = hf_reference.random_hf_model(TINY_CONFIGS[name], head, seed=index,
                                         num_labels=num_labels)
    hf_dir = str(work / f"hf_{index}")
    sop_head = None
    if fmt == "safetensors":
      model.save_pretrained(hf_dir)
    else:
      # The published pretraining checkpoints carry a position_ids buffer
      # and an SOP head; HF's SqueezeBertForMaskedLM has neither.
      extra = {"transformer.embeddings.position_ids":
                   torch.arange(model.config.max_position_embeddings)[None]}
      if head == "pretrainer":
        sop_head = (torch.randn(2, model.config.hidden_size),
                    torch.randn(2))
        extra["cls.seq_relationship.weight"] = sop_head[0]
        extra["cls.seq_relationship.bias"] = sop_head[1]
      if head == "encoder":
        extra = {"embeddings.position_ids": extra.popitem()[1]}
      hf_reference.save_as_torch_bin(model, hf_dir, extra)
    config = tiny_config(name)
    inputs = _inputs(head, config, seed=index)
    positions = masked_positions(seed=index)
    expected = hf_reference.hf_outputs(model, inputs, positions, sop_head)
    if head == "pretrainer":
      inputs["masked_lm_positions"] = positions
    keras_path = str(work / f"model_{index}.keras")
    commands.append((CLI, f"--hf_dir={hf_dir}", f"--output={keras_path}"))
    cases.append(dict(name=name, head=head, fmt=fmt, hf_dir=hf_dir,
                      keras_path=keras_path, inputs=inputs, expected=expected,
                      hf_model=model))
  for case, result in zip(cases, run_many(commands)):
    assert result.returncode == 0, result.stderr[-3000:]
    case["cli"] = result
  outputs = hf_reference.outputs_in_fresh_process(
      [(case["keras_path"], case["inputs"]) for case in cases], str(work))
  for case, output in zip(cases, outputs):
    case["outputs"] = output
  return cases


def _case_id(case):
  name, head, fmt = case
  return f"{name}-{head}-{fmt}"


@pytest.mark.parametrize("index", range(len(_cases())),
                         ids=[_case_id(case) for case in _cases()])
def test_cli_conversion_matches_hf_in_fresh_process(converted, index):
  case = converted[index]
  expected, outputs = case["expected"], case["outputs"]
  if case["head"] == "pretrainer" and case["fmt"] == "safetensors":
    # HF's SqueezeBertForMaskedLM has no SOP head: fresh, and said so.
    assert "sop_logits" in outputs and "sop_logits" not in expected
    assert "SOP head is freshly initialized" in case["cli"].stderr
  for key, value in expected.items():
    assert outputs[key].shape == value.shape, key
    difference = np.abs(outputs[key] - value).max()
    assert difference <= TOLERANCE, f"{key}: max |difference| {difference}"


@pytest.mark.parametrize("head", ["classifier", "token_classifier"])
def test_heads_keep_labels(converted, head):
  case = next(c for c in converted if c["head"] == head)
  model = tf.keras.models.load_model(case["keras_path"])
  assert model.id2label == {int(k): v for k, v in
                            case["hf_model"].config.id2label.items()}


@pytest.fixture(scope="module")
def exported_to_hf(converted, tmp_path_factory):
  """head -> (case, HF directory written by `--to_hf` from its Keras model)."""
  work = tmp_path_factory.mktemp("to_hf")
  cases = {head: next(c for c in converted if c["head"] == head and
                      c["name"] == "mixed_groups") for head in HEADS}
  results = run_many([
      (CLI, "--to_hf", f"--keras_model={case['keras_path']}",
       f"--output={work / head}") for head, case in cases.items()])
  return {head: (case, str(work / head), result)
          for (head, case), result in zip(cases.items(), results)}


@pytest.mark.parametrize("head", HEADS)
def test_to_hf_round_trip(exported_to_hf, head):
  case, out_dir, result = exported_to_hf[head]
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(out_dir, "config.json")) as f:
    assert json.load(f)["architectures"] == [
        type(case["hf_model"]).__name__]

  exported = safetensors.numpy.load_file(os.path.join(out_dir,
                                                      "model.safetensors"))
  original = safetensors.numpy.load_file(os.path.join(case["hf_dir"],
                                                      "model.safetensors"))
  shared = set(original)
  if head == "pretrainer":  # ours also keeps the SOP head
    assert set(exported) - shared == {"cls.seq_relationship.weight",
                                      "cls.seq_relationship.bias"}
  else:
    assert set(exported) == shared
  for name in shared:
    np.testing.assert_array_equal(exported[name], original[name], name)

  reloaded = hf_reference.HF_CLASSES[head].from_pretrained(out_dir).eval()
  inputs = {k: v for k, v in case["inputs"].items()
            if k != "masked_lm_positions"}
  again = hf_reference.hf_outputs(reloaded, inputs,
                                  case["inputs"].get("masked_lm_positions"))
  for key, value in case["expected"].items():
    np.testing.assert_array_equal(again[key], value)


# Bad input: one line of error, non-zero exit, nothing written or destroyed.

def _expect_error(result, phrase, output):
  assert result.returncode != 0
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith("convert_hf_checkpoint: error: "), result.stderr
  assert phrase in last_line, last_line
  assert "Traceback" not in result.stderr
  if output is not None:
    assert not os.path.exists(output)
    leftovers = [f for f in os.listdir(os.path.dirname(output)) if ".tmp-" in f]
    assert not leftovers


def _edited_copy(source, target, config_edit=None, tensor_edit=None):
  shutil.copytree(source, target)
  if config_edit:
    path = os.path.join(target, "config.json")
    with open(path) as f:
      config = json.load(f)
    config_edit(config)
    with open(path, "w") as f:
      json.dump(config, f)
  if tensor_edit:
    path = os.path.join(target, "model.safetensors")
    tensors = safetensors.numpy.load_file(path)
    tensor_edit(tensors)
    safetensors.numpy.save_file(tensors, path, metadata={"format": "pt"})
  return target


def test_bad_inputs(converted, tmp_path):
  encoder_dir = next(c for c in converted if c["head"] == "encoder" and
                     c["fmt"] == "safetensors")["hf_dir"]
  mlm_dir = next(c for c in converted if c["head"] == "pretrainer" and
                 c["fmt"] == "safetensors")["hf_dir"]
  no_weights = tmp_path / "no_weights"
  no_weights.mkdir()
  shutil.copy(os.path.join(encoder_dir, "config.json"), no_weights)
  plain_keras = str(tmp_path / "plain.keras")
  tf.keras.Sequential([tf.keras.Input([3]), tf.keras.layers.Dense(2)]).save(
      plain_keras)

  def bigger_ffn(config):
    config["intermediate_size"] *= 2

  def bert_config(config):
    config["model_type"] = "bert"

  def no_arch(config):
    del config["architectures"]

  def two_arch(config):
    config["architectures"] = ["SqueezeBertForMaskedLM", "SqueezeBertModel"]

  def bert_arch(config):
    config["architectures"] = ["BertForMaskedLM"]

  def extra_tensor(tensors):
    tensors["encoder.layers.0.extra.weight"] = np.zeros([3], np.float32)

  cases = [
      ([f"--hf_dir={tmp_path / 'missing'}"], "directory not found"),
      ([f"--hf_dir={no_weights}"], "no model.safetensors or pytorch_model.bin"),
      ([f"--hf_dir={_edited_copy(encoder_dir, tmp_path / 'shape', bigger_ffn)}"],
       "shape mismatch for encoder.layers.0.intermediate.conv1d.weight"),
      ([f"--hf_dir={_edited_copy(encoder_dir, tmp_path / 'bert', bert_config)}"],
       "not a SqueezeBERT config: model_type is 'bert'"),
      ([f"--hf_dir={_edited_copy(encoder_dir, tmp_path / 'extra', None, extra_tensor)}"],
       "checkpoint tensors the encoder does not use: "
       "encoder.layers.0.extra.weight"),
      ([f"--hf_dir={mlm_dir}", "--model_type=encoder"],
       "config.json's architectures is SqueezeBertForMaskedLM, which "
       "converts to a pretrainer, not the --model_type=encoder asked for"),
      ([f"--hf_dir={_edited_copy(mlm_dir, tmp_path / 'noarch', no_arch)}",
        "--model_type=encoder"],
       "checkpoint tensors the encoder does not use: cls.predictions.bias"),
      ([f"--hf_dir={_edited_copy(mlm_dir, tmp_path / 'noarch2', no_arch)}",
        "--model_type=classifier"],
       "model weights not in the checkpoint: classifier.bias, "
       "classifier.weight"),
      ([f"--hf_dir={_edited_copy(mlm_dir, tmp_path / 'two', two_arch)}"],
       "config.json's architectures should name one model class"),
      ([f"--hf_dir={_edited_copy(mlm_dir, tmp_path / 'bertarch', bert_arch)}"],
       "config.json's architectures is 'BertForMaskedLM', not a supported "
       "SqueezeBERT model"),
  ]
  commands, outputs = [], []
  for index, (args, _) in enumerate(cases):
    output = str(tmp_path / f"out_{index}.keras")
    outputs.append(output)
    commands.append((CLI, *args, f"--output={output}"))
  to_hf_output = str(tmp_path / "hf_out")
  commands.append((CLI, "--to_hf", f"--keras_model={plain_keras}",
                   f"--output={to_hf_output}"))
  for (_, phrase), output, result in zip(
      cases, outputs, run_many(commands)):
    _expect_error(result, phrase, output)
  _expect_error(run_many(commands[-1:])[0],
                "is not an sqz_tf SqueezeBERT model", to_hf_output)


def test_existing_output_is_never_destroyed(converted, tmp_path):
  encoder_dir = next(c for c in converted if c["head"] == "encoder")["hf_dir"]
  output = tmp_path / "model.keras"
  output.write_text("the user's file")
  bad_dir = _edited_copy(encoder_dir, tmp_path / "bad",
                         lambda config: config.update(model_type="bert"))
  refused, failed = run_many([
      (CLI, f"--hf_dir={encoder_dir}", f"--output={output}"),
      (CLI, f"--hf_dir={bad_dir}", f"--output={output}", "--overwrite"),
  ])
  _expect_error(refused, "output already exists", None)
  _expect_error(failed, "not a SqueezeBERT config", None)
  assert output.read_text() == "the user's file"
  assert not [f for f in os.listdir(tmp_path) if ".tmp-" in f]


# What to build: config.json's architectures decides, for every HF class.

def _hf_model_classes():
  return sorted(
      (name for name in dir(transformers) if name.startswith("SqueezeBert")
       and isinstance(getattr(transformers, name), type)
       and issubclass(getattr(transformers, name),
                      transformers.SqueezeBertPreTrainedModel)
       and name != "SqueezeBertPreTrainedModel"))


def _saved_hf_model(hf_class, directory, seed=0, num_labels=3):
  torch.manual_seed(seed)
  if hf_class == "SqueezeBertForQuestionAnswering":
    num_labels = 2  # start and end
  config = transformers.SqueezeBertConfig(
      **TINY_CONFIGS["squeezebert_groups"], num_labels=num_labels)
  model = getattr(transformers, hf_class)(config).eval()
  model.save_pretrained(directory)
  return model


@pytest.mark.parametrize("hf_class", _hf_model_classes())
def test_every_hf_class_converts_to_its_model_or_is_refused(tmp_path,
                                                            hf_class):
  hf_model = _saved_hf_model(hf_class, str(tmp_path))
  supported = {a.hf_name: a for a in architectures.SUPPORTED}
  if hf_class not in supported:
    with pytest.raises(ConversionError, match=f"{hf_class} checkpoints are "
                       "not supported yet; supported: SqueezeBertModel"):
      convert.hf_to_keras(str(tmp_path))
    return
  model, _ = convert.hf_to_keras(str(tmp_path))
  assert type(model) is supported[hf_class].model_class
  if hf_class == "SqueezeBertForMaskedLM":
    return  # MLM parity needs positions: the CLI cases above cover it
  inputs = hf_reference.inputs_for(hf_model, tiny_inputs(tiny_config()))
  expected = hf_reference.hf_outputs(hf_model, inputs)
  outputs = model(inputs, training=False)
  outputs = outputs if isinstance(outputs, dict) else {"logits": outputs}
  for key, value in expected.items():
    np.testing.assert_allclose(outputs[key].numpy(), value, atol=TOLERANCE)
  assert convert.hf_config_dict(model)["architectures"] == [hf_class]


def test_classifier_tensors_without_architectures_are_ambiguous(tmp_path):
  _saved_hf_model("SqueezeBertForSequenceClassification", str(tmp_path))
  _edited_copy(str(tmp_path), tmp_path / "noarch",
               lambda config: config.pop("architectures"))
  with pytest.raises(ConversionError, match=r"config.json names no "
                     r"architectures and the head tensors \(classifier\) fit "
                     "several models; give --model_type"):
    convert.hf_to_keras(str(tmp_path / "noarch"))
  model, _ = convert.hf_to_keras(str(tmp_path / "noarch"), "classifier")
  assert type(model).__name__ == "SqueezeBertClassifier"


def test_question_answering_head_needs_no_architectures_but_two_outputs(
    tmp_path):
  _saved_hf_model("SqueezeBertForQuestionAnswering", str(tmp_path / "qa"))
  _edited_copy(str(tmp_path / "qa"), tmp_path / "noarch",
               lambda config: config.pop("architectures"))
  model, _ = convert.hf_to_keras(str(tmp_path / "noarch"))  # qa_outputs.*
  assert type(model).__name__ == "SqueezeBertQuestionAnswerer"
  _edited_copy(str(tmp_path / "qa"), tmp_path / "three", None,
               lambda tensors: tensors.update({
                   "qa_outputs.weight": np.zeros([3, 32], np.float32),
                   "qa_outputs.bias": np.zeros([3], np.float32)}))
  with pytest.raises(ConversionError, match="a question-answering head has 2 "
                     "outputs .start, end.; this checkpoint's qa_outputs has 3"):
    convert.hf_to_keras(str(tmp_path / "three"))
