"""One benchmarked model per process, driven over a line protocol.

The parent (`Worker`) starts this file as a script, not as `sqz_tf....`, so
the process never imports sqz_tf or TensorFlow: its memory is the runtime's
(LiteRT, PyTorch or numpy) plus the model's, as in a user's app. Messages
are JSON lines; the first line in is the spec, then commands:

  spec {"kind": "litert"|"torch"|"gemm"|"torch_save"|"onnx"|"onnx_save"|
        "litert_text", ...}         -> {"imported"} (the *_save kinds:
                                       {"sizes"} / {"paths"} and exit)
  {"cmd": "load", "seq_length": n}  -> {"init_s", "first_s"}
  {"cmd": "run", "n": k}            -> {"times": [k seconds]}
  {"cmd": "predict"}                -> {"logits": [...]} (litert_text)
  {"cmd": "peak"}                   -> {"peak_rss_mb"}
  {"cmd": "exit"}

The onnx and litert_text runners live in worker_runners.py.

The parent side: `Worker` (one process), `Pool` (the live workers of one
thread count) and `measure_round_robin` (the interleaved timing).
"""

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time


class WorkerError(Exception):
  """A worker died or reported an error; the message is one line."""


def _memory_mb(field):
  # VmHWM is the peak of this process's own address space. ru_maxrss is not:
  # Linux carries the parent's peak over into the child across exec (with
  # vfork, which subprocess uses, the parent's whole RSS).
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith(field + ":"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  import resource  # pylint: disable=g-import-not-at-top
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Litert:
  """A .tflite file in ai_edge_litert with the default delegates (XNNPACK)."""

  def __init__(self, spec):
    import numpy as np  # pylint: disable=g-import-not-at-top
    from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top
    self.np, self.lite, self.spec = np, interpreter, spec
    self.interpreter = None

  def load(self, seq_length):
    del seq_length  # fixed by the file
    start = time.perf_counter()
    self.interpreter = self.lite.Interpreter(
        model_path=self.spec["path"], num_threads=self.spec["threads"],
        experimental_op_resolver_type=self.lite.OpResolverType.AUTO)
    self.interpreter.allocate_tensors()
    init = time.perf_counter() - start
    rng = self.np.random.default_rng(0)
    for detail in self.interpreter.get_input_details():
      shape, dtype = detail["shape"], detail["dtype"]
      if dtype == self.np.float32:  # the GEMM model
        value = rng.standard_normal(shape)
      elif "word_ids" in detail["name"]:
        value = rng.integers(1, self.spec["vocab_size"], shape)
      elif "mask" in detail["name"]:
        value = self.np.ones(shape)
      else:
        value = self.np.zeros(shape)
      self.interpreter.set_tensor(detail["index"], value.astype(dtype))
    return init, self.run(1)[0]

  def run(self, n):
    times = []
    for _ in range(n):
      start = time.perf_counter()
      self.interpreter.invoke()
      times.append(time.perf_counter() - start)
    return times


class _Torch:
  """An HF transformers classifier, fp32 or dynamic int8, one process for
  every sequence length (PyTorch shapes are dynamic)."""

  def __init__(self, spec):
    import torch  # pylint: disable=g-import-not-at-top
    import transformers  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(spec["threads"])
    self.torch, self.transformers, self.spec = torch, transformers, spec
    getattr(transformers, spec["hf_class"])  # the lazy import, before timing
    self.model, self.init, self.feed = None, None, None

  def load(self, seq_length):
    torch = self.torch
    if self.model is None:
      start = time.perf_counter()
      model = getattr(self.transformers, self.spec["hf_class"]).from_pretrained(
          self.spec["path"]).eval()
      if self.spec["int8"]:
        model = quantize(torch, model)
      self.model, self.init = model, time.perf_counter() - start
    generator = torch.Generator().manual_seed(0)
    self.feed = dict(
        input_ids=torch.randint(1, self.spec["vocab_size"], (1, seq_length),
                                generator=generator),
        attention_mask=torch.ones(1, seq_length, dtype=torch.long),
        token_type_ids=torch.zeros(1, seq_length, dtype=torch.long))
    return self.init, self.run(1)[0]

  def run(self, n):
    times = []
    with self.torch.inference_mode():
      for _ in range(n):
        start = time.perf_counter()
        self.model(**self.feed)
        times.append(time.perf_counter() - start)
    return times


def quantize(torch, model):
  """What a PyTorch user reaches for: Linear weights to int8, dynamic."""
  return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear},
                                                dtype=torch.qint8)


class _Gemm:
  """Dense float32 matrix products in numpy (OpenBLAS)."""

  def __init__(self, spec):
    import numpy as np  # pylint: disable=g-import-not-at-top
    self.np, self.size = np, spec["size"]
    self.a = self.b = None

  def load(self, seq_length):
    del seq_length
    start = time.perf_counter()
    rng = self.np.random.default_rng(0)
    self.a, self.b = (rng.standard_normal((self.size, self.size), "float32")
                      for _ in range(2))
    return time.perf_counter() - start, self.run(1)[0]

  def run(self, n):
    times = []
    for _ in range(n):
      start = time.perf_counter()
      self.np.matmul(self.a, self.b)
      times.append(time.perf_counter() - start)
    return times


def gemm_tflite(size):
  """The LiteRT GEMM: one float32 [size, size] x [size, size]
  FULLY_CONNECTED (XNNPACK's kernels). Runs in the parent, with TensorFlow."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  weights = np.random.default_rng(0).standard_normal((size, size), np.float32)
  function = tf.function(lambda x: tf.matmul(x, weights), input_signature=[
      tf.TensorSpec([size, size], tf.float32, name="x")])
  return tf.lite.TFLiteConverter.from_concrete_functions(
      [function.get_concrete_function()], function).convert()


def _save_torch(spec):
  """Writes a random HF checkpoint (from_pretrained format) and its sizes."""
  import io  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  sizes = {}
  for model_spec in spec["models"]:
    path, sizes_file = model_spec["path"], model_spec["path"] + ".json"
    if not os.path.exists(sizes_file):
      torch.manual_seed(0)
      config_class = getattr(transformers, model_spec["config_class"])
      model = getattr(transformers, model_spec["hf_class"])(
          config_class(**model_spec["config"])).eval()
      temporary = f"{path}.tmp-{os.getpid()}"
      model.save_pretrained(temporary)
      shutil.rmtree(path, ignore_errors=True)
      os.replace(temporary, path)
      weights = sum(os.path.getsize(os.path.join(path, name))
                    for name in os.listdir(path) if name != "config.json")
      buffer = io.BytesIO()
      torch.save(quantize(torch, model).state_dict(), buffer)
      linear = sum(m.weight.numel() for m in model.modules()
                   if isinstance(m, torch.nn.Linear))
      projections = linear + sum(m.weight.numel() for m in model.modules()
                                 if isinstance(m, torch.nn.Conv1d))
      with open(sizes_file, "w") as f:
        json.dump({"torch_fp32": weights, "torch_int8": len(buffer.getvalue()),
                   "int8_share": linear / projections}, f)
    with open(sizes_file) as f:
      sizes[model_spec["key"]] = json.load(f)
  return sizes


_KINDS = {"litert": _Litert, "torch": _Torch, "gemm": _Gemm}


def _serve():
  # The protocol gets its own copy of stdout; fd 1 then goes to stderr, so
  # a library's print cannot corrupt a reply.
  replies = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)

  def reply(**message):
    replies.write(json.dumps(message) + "\n")
    replies.flush()

  try:
    spec = json.loads(sys.stdin.readline())
    if spec["kind"] == "torch_save":
      reply(sizes=_save_torch(spec))
      return
    import worker_runners  # pylint: disable=g-import-not-at-top
    if spec["kind"] == "onnx_save":
      reply(paths=worker_runners.save_onnx(spec))
      return
    runner = {**_KINDS, **worker_runners.KINDS}[spec["kind"]](spec)
    reply(imported=True, rss_mb=_memory_mb("VmRSS"))
    for line in sys.stdin:
      command = json.loads(line)
      if command["cmd"] == "load":
        init, first = runner.load(command["seq_length"])
        reply(init_s=init, first_s=first)
      elif command["cmd"] == "run":
        reply(times=runner.run(command["n"]))
      elif command["cmd"] == "predict":
        reply(logits=runner.predict())
      elif command["cmd"] == "peak":
        reply(peak_rss_mb=_memory_mb("VmHWM"))
      else:
        return
  except Exception as e:  # pylint: disable=broad-except
    first_line = str(e).splitlines()[0] if str(e) else ""
    reply(error=f"{type(e).__name__}: {first_line}")


class Worker:
  """Parent side: one process running this file with one spec."""

  def __init__(self, spec, threads):
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
      env[name] = str(threads)
    self._stderr = tempfile.TemporaryFile(mode="w+")
    self._process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
    self._send({**spec, "threads": threads})

  def _send(self, message):
    try:
      self._process.stdin.write(json.dumps(message) + "\n")
      self._process.stdin.flush()
    except OSError:
      pass  # it died; receive() says why

  def receive(self):
    line = self._process.stdout.readline()
    if not line:
      self._process.wait()
      self._stderr.seek(0)
      lines = [l for l in self._stderr.read().splitlines() if l.strip()]
      raise WorkerError(f"worker exited ({self._process.returncode}): "
                        f"{lines[-1] if lines else 'no message'}")
    message = json.loads(line)
    if "error" in message:
      raise WorkerError(message["error"])
    return message

  def call(self, cmd, **arguments):
    self._send({"cmd": cmd, **arguments})
    return self.receive()

  def close(self):
    if self._process.poll() is None:
      self._send({"cmd": "exit"})
      try:
        self._process.wait(timeout=30)
      except subprocess.TimeoutExpired:
        self._process.kill()
        self._process.wait()
    for stream in (self._process.stdin, self._process.stdout, self._stderr):
      stream.close()


def runs_per_round(warm_seconds, round_seconds, min_runs, max_runs):
  """How many inferences fill `round_seconds`, within [min_runs, max_runs]."""
  runs = math.ceil(round_seconds / max(warm_seconds, 1e-9))
  return max(min_runs, min(max_runs, runs))


class Pool(dict):
  """Live workers by (model, variant) for one thread count; failures logged."""

  def __init__(self, threads, log):
    super().__init__()
    self.threads, self.log, self.seq_length = threads, log, None
    self.failures, self.imported_rss = {}, {}

  def start(self, name, spec):
    self[name] = Worker(spec, self.threads)

  def wait_imported(self):
    for name in list(self):
      if name not in self.imported_rss:
        try:
          self.imported_rss[name] = self[name].receive()["rss_mb"]
        except WorkerError as e:
          self.fail(name, e)

  def fail(self, name, error):
    self.failures[name] = str(error)
    self.log(f"  {' '.join(name)}: FAILED: {error}")
    self.close([name])

  def close(self, names):
    for name in list(names):
      self.imported_rss.pop(name, None)
      if name in self:
        self.pop(name).close()


def measure_round_robin(pool, settings):
  """Loads each worker in turn, then times them round-robin: name -> dict."""
  measured = {}
  for name, worker in list(pool.items()):
    try:
      reply = worker.call("load", seq_length=pool.seq_length)
      warm = worker.call("run", n=settings.warmup_runs)["times"] or [
          reply["first_s"]]
      measured[name] = {"init_s": reply["init_s"], "first_s": reply["first_s"],
                        "samples": [], "runs": runs_per_round(
                            statistics.median(warm), settings.round_seconds,
                            settings.min_runs, settings.max_runs)}
    except WorkerError as e:
      pool.fail(name, e)
  names = list(measured)
  for round_index in range(settings.rounds):
    shift = round_index % max(len(names), 1)
    for name in names[shift:] + names[:shift]:  # no variant always first
      if name in pool:
        try:
          measured[name]["samples"] += pool[name].call(
              "run", n=measured[name]["runs"])["times"]
        except WorkerError as e:
          pool.fail(name, e)
  for name in [name for name in names if name in pool]:
    try:
      measured[name]["peak_rss_mb"] = pool[name].call("peak")["peak_rss_mb"]
      measured[name]["rss_before_load_mb"] = pool.imported_rss[name]
    except WorkerError as e:
      pool.fail(name, e)
  return {name: m for name, m in measured.items() if name in pool}


if __name__ == "__main__":
  # Run as a script, Python puts this directory first on sys.path, where
  # host.py or report.py could shadow a library's module of the same name:
  # it goes last, still reaching worker_runners.
  if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(
      os.path.abspath(__file__)):
    sys.path.append(sys.path.pop(0))
  _serve()
