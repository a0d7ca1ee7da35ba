"""More runners for latency_worker: ONNX Runtime, and short text in LiteRT.

Loaded by latency_worker.py in its own process, so like it this imports no
sqz_tf or TensorFlow; every runtime is imported lazily.

  onnx         an HF model exported to ONNX, in ONNX Runtime (CPU)
  onnx_save    exports HF checkpoints to ONNX (torch.onnx, TorchScript path)
  litert_text  a .tflite classifier over real sentences, each at the length
               the file's mode gives it:
                 fixed       padded to the file's length
                 dynamic     its own length (inputs resized when it changes)
                 signatures  padded to the shortest signature that holds it
               "run n" times the next n sentences (set inputs, resize,
               invoke: what an app pays); "predict" returns every logit.
"""

import json
import os
import time

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Onnx:
  """An HF classifier exported to ONNX, run by ONNX Runtime's CPU provider."""

  def __init__(self, spec):
    import numpy as np  # pylint: disable=g-import-not-at-top
    import onnxruntime  # pylint: disable=g-import-not-at-top
    self.np, self.ort, self.spec = np, onnxruntime, spec
    self.session, self.feed, self.init = None, None, None

  def load(self, seq_length):
    if self.session is None:
      start = time.perf_counter()
      options = self.ort.SessionOptions()
      options.intra_op_num_threads = self.spec["threads"]
      options.inter_op_num_threads = 1
      self.session = self.ort.InferenceSession(
          self.spec["path"], options, providers=["CPUExecutionProvider"])
      self.init = time.perf_counter() - start
    rng = self.np.random.default_rng(0)
    self.feed = {
        "input_ids": rng.integers(1, self.spec["vocab_size"],
                                  (1, seq_length)).astype(self.np.int64),
        "attention_mask": self.np.ones((1, seq_length), self.np.int64),
        "token_type_ids": self.np.zeros((1, seq_length), self.np.int64)}
    return self.init, self.run(1)[0]

  def run(self, n):
    times = []
    for _ in range(n):
      start = time.perf_counter()
      self.session.run(None, self.feed)
      times.append(time.perf_counter() - start)
    return times


def save_onnx(spec):
  """Exports each HF checkpoint of spec["models"] to <path>.onnx (once)."""
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  paths = {}
  for model_spec in spec["models"]:
    path = model_spec["path"] + ".onnx"
    if not os.path.exists(path):
      model = getattr(transformers, model_spec["hf_class"]).from_pretrained(
          model_spec["path"]).eval()
      ids = torch.ones((1, 16), dtype=torch.long)
      temporary = f"{path}.tmp-{os.getpid()}"
      axes = {name: {1: "sequence"} for name in ONNX_INPUTS}
      torch.onnx.export(model, (ids, torch.ones_like(ids),
                                torch.zeros_like(ids)), temporary,
                        input_names=list(ONNX_INPUTS),
                        output_names=["logits"], dynamic_axes=axes,
                        opset_version=17, dynamo=False)
      os.replace(temporary, path)
    paths[model_spec["key"]] = path
  return paths


class LitertText:
  """A .tflite classifier over real sentences (see the module docstring)."""

  def __init__(self, spec):
    import numpy as np  # pylint: disable=g-import-not-at-top
    from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top
    self.np, self.lite, self.spec = np, interpreter, spec
    with open(spec["sentences"]) as f:
      self.sentences = [np.asarray(ids, np.int32) for ids in json.load(f)]
    self.interpreter, self.runners, self.next = None, {}, 0
    self.length = None  # the dynamic file's current input length

  def load(self, seq_length):
    del seq_length  # each sentence has its own
    start = time.perf_counter()
    self.interpreter = self.lite.Interpreter(
        model_path=self.spec["path"], num_threads=self.spec["threads"],
        experimental_op_resolver_type=self.lite.OpResolverType.AUTO)
    if self.spec["mode"] == "signatures":
      self.runners = {int(length): self.interpreter.get_signature_runner(key)
                      for length, key in self.spec["signatures"].items()}
    else:
      self.interpreter.allocate_tensors()
      self.inputs = {detail["name"]: detail["index"]
                     for detail in self.interpreter.get_input_details()}
      self.length = int(self.interpreter.get_input_details()[0]["shape"][1])
    init = time.perf_counter() - start
    return init, self.run(1)[0]

  def _feeds(self, ids, length):
    np = self.np
    padded = np.zeros((1, length), np.int32)
    padded[0, :len(ids)] = ids
    mask = (padded > 0).astype(np.int32)
    return {"input_word_ids": padded, "input_mask": mask,
            "input_type_ids": np.zeros_like(padded)}

  def _classify(self, ids):
    mode = self.spec["mode"]
    if mode == "signatures":
      length = min(n for n in self.runners if n >= len(ids))
      return self.runners[length](**self._feeds(ids, length))["output_0"]
    if mode == "dynamic" and len(ids) != self.length:
      for index in self.inputs.values():
        self.interpreter.resize_tensor_input(index, [1, len(ids)],
                                             strict=True)
      self.interpreter.allocate_tensors()
      self.length = len(ids)
    feeds = self._feeds(ids, self.length)
    for name, index in self.inputs.items():
      role = next(role for role in feeds if role.removeprefix("input_")
                  in name)
      self.interpreter.set_tensor(index, feeds[role])
    self.interpreter.invoke()
    return self.interpreter.get_tensor(
        self.interpreter.get_output_details()[0]["index"])

  def run(self, n):
    times = []
    for _ in range(n):
      ids = self.sentences[self.next % len(self.sentences)]
      self.next += 1
      start = time.perf_counter()
      self._classify(ids)
      times.append(time.perf_counter() - start)
    return times

  def predict(self):
    return [self._classify(ids)[0].tolist() for ids in self.sentences]


KINDS = {"onnx": Onnx, "litert_text": LitertText}
