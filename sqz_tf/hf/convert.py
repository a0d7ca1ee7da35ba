"""HF transformers checkpoint directory <-> sqz_tf Keras model.

    model, notes = hf_to_keras("squeezebert-uncased/")   # reads, checks, fills
    keras_to_hf(model, "exported/")                      # config + safetensors
"""

import json
import logging
import os

import numpy as np
import tensorflow as tf

from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.errors import ConfigError
from sqz_tf.errors import ConversionError
from sqz_tf.hf import architectures
from sqz_tf.hf import weight_map
from sqz_tf.models.pretrainer import SqueezeBertPretrainer
from sqz_tf.utils.files import atomic_output

MODEL_TYPES = architectures.MODEL_TYPES
_MAX_LISTED = 20


def _name_list(names):
  names = sorted(names)
  shown = ", ".join(names[:_MAX_LISTED])
  more = len(names) - _MAX_LISTED
  return shown + (f" (+{more} more)" if more > 0 else "")


# Reading a checkpoint directory.

def _read_safetensors(path):
  from safetensors import SafetensorError  # pylint: disable=g-import-not-at-top
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  try:
    return load_file(path)
  except (SafetensorError, OSError, ValueError, TypeError) as e:
    raise ConversionError(f"cannot read {path}: {e}") from None


def _read_torch_bin(path):
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ConversionError(
        f"{path} is a PyTorch pickle and reading it needs torch; install "
        "torch, or convert the checkpoint to model.safetensors") from None
  try:
    # weights_only: tensors and plain containers only, never arbitrary code.
    state = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # pylint: disable=broad-except
    raise ConversionError(f"cannot read {path} as a PyTorch state dict "
                          f"(weights only): {str(e).splitlines()[0]}") from None
  if not isinstance(state, dict):
    raise ConversionError(f"{path} does not hold a state dict")
  return {name: tensor.detach().float().numpy()
          for name, tensor in state.items() if isinstance(tensor, torch.Tensor)}


def _weight_files(hf_dir):
  """The weight files of `hf_dir`, safetensors preferred, shards resolved."""
  for single, index, reader in (
      ("model.safetensors", "model.safetensors.index.json", _read_safetensors),
      ("pytorch_model.bin", "pytorch_model.bin.index.json", _read_torch_bin)):
    if os.path.isfile(os.path.join(hf_dir, single)):
      return [os.path.join(hf_dir, single)], reader
    index_path = os.path.join(hf_dir, index)
    if os.path.isfile(index_path):
      try:
        with open(index_path, encoding="utf-8") as f:
          shards = sorted(set(json.load(f)["weight_map"].values()))
      except (OSError, ValueError, KeyError, AttributeError) as e:
        raise ConversionError(f"cannot read {index_path}: {e}") from None
      return [os.path.join(hf_dir, shard) for shard in shards], reader
  raise ConversionError(f"no model.safetensors or pytorch_model.bin in {hf_dir}")


def read_hf_checkpoint(hf_dir):
  """Returns (config.json dict, {tensor name: float32 array}) of `hf_dir`."""
  if not os.path.isdir(hf_dir):
    raise ConversionError(f"HF checkpoint directory not found: {hf_dir}")
  config_path = os.path.join(hf_dir, "config.json")
  if not os.path.isfile(config_path):
    raise ConversionError(f"no config.json in {hf_dir}")
  try:
    with open(config_path, encoding="utf-8") as f:
      config = json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise ConversionError(f"cannot read {config_path}: {e}") from None
  if not isinstance(config, dict):
    raise ConversionError(f"{config_path} is not a JSON object")
  paths, reader = _weight_files(hf_dir)
  tensors = {}
  for path in paths:
    if not os.path.isfile(path):
      raise ConversionError(f"weight shard missing: {path}")
    tensors.update(reader(path))
  return config, {_modern_name(name): np.asarray(array, np.float32)
                  for name, array in tensors.items()}


def _modern_name(name):
  # TF-era checkpoints called LayerNorm weights gamma/beta.
  if name.endswith(".gamma"):
    return name[:-len("gamma")] + "weight"
  if name.endswith(".beta"):
    return name[:-len("beta")] + "bias"
  return name


# HF -> Keras.

def hf_to_keras(hf_dir: str, model_type: str = "auto"):
  """Builds the sqz_tf model of an HF SqueezeBERT checkpoint directory.

  What to build comes from config.json's `architectures` (see
  `architectures.resolve`; `model_type` must agree with it, or decides when
  config.json names none).
  Strict: every checkpoint tensor must fill a model weight of the same shape
  and every model weight must be filled. Exceptions: the `position_ids`
  buffer is skipped, tied duplicates must equal their original, and a
  checkpoint without `cls.seq_relationship` gives a pretrainer whose SOP head
  keeps its fresh initialization (reported in the returned notes).

  Returns (model, notes: list of warnings for the user).
  """
  if model_type not in MODEL_TYPES:
    raise ConversionError(f"model_type must be one of {', '.join(MODEL_TYPES)}"
                          f", got {model_type!r}")
  hf_config, tensors = read_hf_checkpoint(hf_dir)
  try:
    config = SqueezeBertConfig.from_hf_dict(hf_config)
  except ConfigError as e:
    raise ConversionError(f"{os.path.join(hf_dir, 'config.json')}: {e}") from None
  architecture = architectures.resolve(hf_config, tensors, model_type)
  model_type = architecture.model_type
  model = architecture.build(config, hf_config, tensors)
  prefix = ("transformer." if any(name.startswith("transformer.")
                                  for name in tensors) else "")
  links = weight_map.model_links(model, encoder_prefix=prefix)
  notes = []

  unused = {name for name in tensors if not name.endswith(
      weight_map.IGNORED_SUFFIXES)}
  for duplicate, original in weight_map.TIED_TENSORS:
    if duplicate in tensors and original in tensors:
      if not np.array_equal(tensors[duplicate], tensors[original]):
        raise ConversionError(f"{duplicate} should be tied to {original} but "
                              "holds other values")
      unused.discard(duplicate)
  if isinstance(model, SqueezeBertPretrainer) and not any(
      name in tensors for name in weight_map.SOP_HEAD):
    links = [link for link in links if link.hf_name not in weight_map.SOP_HEAD]
    notes.append("the checkpoint has no sentence-order head "
                 "(cls.seq_relationship): the SOP head is freshly initialized")

  missing = [link.hf_name for link in links if link.hf_name not in tensors]
  unused -= {link.hf_name for link in links}
  if missing or unused:
    problems = []
    if missing:
      problems.append(f"model weights not in the checkpoint: "
                      f"{_name_list(missing)}")
    if unused:
      problems.append(f"checkpoint tensors the {model_type} does not use: "
                      f"{_name_list(unused)}")
    raise ConversionError("; ".join(problems))

  values = []
  for link in links:
    value = link.to_keras(tensors[link.hf_name])
    if tuple(value.shape) != tuple(link.variable.shape):
      raise ConversionError(
          f"shape mismatch for {link.hf_name}: checkpoint "
          f"{list(tensors[link.hf_name].shape)}, config.json implies "
          f"{list(link.to_hf(np.zeros(link.variable.shape)).shape)}")
    values.append(value)
  for link, value in zip(links, values):
    link.variable.assign(value)
  return model, notes


def save_keras_model(model, output: str, overwrite: bool = False):
  """Saves `model` to `output` (`.keras` file, else a SavedModel directory)."""
  with atomic_output(output, overwrite=overwrite) as temporary:
    model.save(temporary)


# Keras -> HF.

def hf_config_dict(model):
  config = model.model_config.to_hf_dict()
  config["architectures"] = [architectures.for_model(model).hf_name]
  config["tie_word_embeddings"] = True
  if hasattr(model, "id2label"):  # heads with labels
    config["id2label"] = {str(i): label for i, label in model.id2label.items()}
    config["label2id"] = {label: i for i, label in model.id2label.items()}
  return config


def keras_to_hf(model, output_dir: str, overwrite: bool = False):
  """Writes `output_dir` with config.json and model.safetensors for HF.

  The transformers class that `architectures` names loads it (see
  `architectures.SUPPORTED`). Tied tensors are written once, as HF's
  `save_pretrained` does; a pretrainer's SOP head is kept as
  `cls.seq_relationship.*`, which `SqueezeBertForMaskedLM` ignores.
  """
  from safetensors.numpy import save_file  # pylint: disable=g-import-not-at-top
  architectures.for_model(model)  # ours, or a one-line error
  tensors = {link.hf_name: np.ascontiguousarray(
      link.to_hf(link.variable.numpy()).astype(np.float32))
             for link in weight_map.model_links(model)}
  with atomic_output(output_dir, overwrite=overwrite) as temporary:
    os.makedirs(temporary)
    with open(os.path.join(temporary, "config.json"), "w",
              encoding="utf-8") as f:
      json.dump(hf_config_dict(model), f, indent=2)
      f.write("\n")
    save_file(tensors, os.path.join(temporary, "model.safetensors"),
              metadata={"format": "pt"})
  logging.info("Wrote %d tensors to %s", len(tensors), output_dir)


def load_sqz_model(path: str):
  """`tf.keras.models.load_model(path)` (safe mode), checked to be ours."""
  if not os.path.exists(path):
    raise ConversionError(f"Keras model not found: {path}")
  try:
    model = tf.keras.models.load_model(path, compile=False)
  except Exception as e:  # pylint: disable=broad-except
    raise ConversionError(f"cannot load Keras model {path}: "
                          f"{str(e).splitlines()[0]}") from None
  if type(model) not in {a.model_class for a in architectures.SUPPORTED}:
    raise ConversionError(f"{path} is not an sqz_tf SqueezeBERT model "
                          f"(it holds a {type(model).__name__})")
  return model
