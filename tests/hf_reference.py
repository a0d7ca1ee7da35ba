"""HF PyTorch reference models, and loading converted models in a fresh process."""

import json
import os
import subprocess
import sys

import numpy as np
import torch
import transformers

HF_CLASSES = {
    "encoder": transformers.SqueezeBertModel,
    "pretrainer": transformers.SqueezeBertForMaskedLM,
    "classifier": transformers.SqueezeBertForSequenceClassification,
    "token_classifier": transformers.SqueezeBertForTokenClassification,
    "multiple_choice": transformers.SqueezeBertForMultipleChoice,
    "question_answerer": transformers.SqueezeBertForQuestionAnswering,
}
# Heads whose output count is fixed: HF builds them from num_labels.
FIXED_NUM_LABELS = {"question_answerer": 2}
# Heads whose logits come straight out of the HF model.
_LOGITS_HEADS = (transformers.SqueezeBertForSequenceClassification,
                 transformers.SqueezeBertForTokenClassification,
                 transformers.SqueezeBertForMultipleChoice)


def as_choices(inputs, num_choices=3):
  """[rows, seq] inputs regrouped as [rows / num_choices, num_choices, seq],
  the multiple-choice layout."""
  return {name: value.reshape(-1, num_choices, value.shape[-1])
          for name, value in inputs.items()}


def inputs_for(model, inputs):
  """`inputs` as `model` (HF or sqz_tf) takes them."""
  multiple_choice = isinstance(model, transformers.SqueezeBertForMultipleChoice
                               ) or type(model).__name__ == (
                                   "SqueezeBertMultipleChoice")
  return as_choices(inputs) if multiple_choice else inputs


def random_hf_model(config_values, head, seed, num_labels=3):
  """An HF SqueezeBERT with every weight random (LayerNorms and biases too)."""
  torch.manual_seed(seed)
  config = transformers.SqueezeBertConfig(
      **config_values, num_labels=FIXED_NUM_LABELS.get(head, num_labels))
  model = HF_CLASSES[head](config).eval()
  with torch.no_grad():
    for parameter in model.parameters():  # tied parameters appear once
      parameter.add_(torch.randn_like(parameter) * 0.1)
  return model


def hf_outputs(model, inputs, positions=None, sop_head=None):
  """The reference outputs, named as sqz_tf names them."""
  feed = dict(input_ids=torch.from_numpy(inputs["input_word_ids"]).long(),
              attention_mask=torch.from_numpy(inputs["input_mask"]).long(),
              token_type_ids=torch.from_numpy(inputs["input_type_ids"]).long())
  with torch.no_grad():
    if isinstance(model, transformers.SqueezeBertModel):
      out = model(**feed)
      return {"sequence_output": out.last_hidden_state.numpy(),
              "pooled_output": out.pooler_output.numpy()}
    if isinstance(model, _LOGITS_HEADS):
      return {"logits": model(**feed).logits.numpy()}
    if isinstance(model, transformers.SqueezeBertForQuestionAnswering):
      out = model(**feed)
      return {"start_logits": out.start_logits.numpy(),
              "end_logits": out.end_logits.numpy()}
    logits = model(**feed).logits.numpy()
    outputs = {"mlm_logits": np.take_along_axis(logits, positions[..., None],
                                                axis=1)}
    if sop_head is not None:
      pooled = model.transformer(**feed).pooler_output
      outputs["sop_logits"] = (pooled @ sop_head[0].T + sop_head[1]).numpy()
    return outputs


def save_as_torch_bin(model, directory, extra_tensors=None):
  """The layout of the published checkpoints: config.json + a state-dict pickle."""
  os.makedirs(directory, exist_ok=True)
  # save_pretrained names the class in config.json; published files do too.
  model.config.architectures = [type(model).__name__]
  model.config.save_pretrained(directory)
  state = dict(model.state_dict())  # keeps tied duplicates, as old files do
  state.update(extra_tensors or {})
  torch.save(state, os.path.join(directory, "pytorch_model.bin"))


# Run in a fresh process: loads each model as a user would and saves outputs.
_LOADER = """
import json, sys
import numpy as np
import sqz_tf
import tensorflow as tf
for job in json.load(open(sys.argv[1])):
  model = tf.keras.models.load_model(job["model"])
  inputs = dict(np.load(job["inputs"]))
  out = model(inputs, training=False)
  out = out if isinstance(out, dict) else {"logits": out}
  np.savez(job["outputs"], **{k: v.numpy() for k, v in out.items()})
"""


def outputs_in_fresh_process(jobs, work_dir):
  """jobs: (keras model path, inputs dict) → list of output dicts."""
  spec = []
  for index, (model_path, inputs) in enumerate(jobs):
    inputs_path = os.path.join(work_dir, f"inputs_{index}.npz")
    np.savez(inputs_path, **inputs)
    spec.append({"model": model_path, "inputs": inputs_path,
                 "outputs": os.path.join(work_dir, f"outputs_{index}.npz")})
  spec_path = os.path.join(work_dir, "jobs.json")
  with open(spec_path, "w") as f:
    json.dump(spec, f)
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  env.pop("TF_USE_LEGACY_KERAS", None)
  result = subprocess.run([sys.executable, "-c", _LOADER, spec_path],
                          capture_output=True, text=True, cwd=work_dir,
                          env=env, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return [dict(np.load(job["outputs"])) for job in spec]
