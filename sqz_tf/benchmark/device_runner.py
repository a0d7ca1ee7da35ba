"""Runs TFLite's `benchmark_model` on an sqz_tf model, on a phone or the host.

    spec = inspect_model("model.tflite")            # inputs, vocabulary size
    flags = benchmark_flags("/data/local/tmp/model.tflite", spec, options)
    output, run = run_on_device("model.tflite", options, serial=None)

On a phone (through adb): push the model (and the binary, if given) to
/data/local/tmp, `chmod +x` the binary, run it with `adb shell`, optionally
under `taskset <mask>` to pin it to the big cores. On the host: run the binary
directly. Every failure is a one-line SqzError.

The run info returned next to the output (the JSON's "run" block): device
(adb serial, or "local"), command (the benchmark command line as run, on the
phone's shell or the host), vocab_size, and the Options fields.

Inputs: benchmark_model fills integer inputs with random values in 0..99 by
default, which is wrong for token ids (and a mask of random 0..99 is not a
mask), so each input gets an explicit range: word ids over the whole
vocabulary, mask all ones, type ids 0. The vocabulary size comes from the
embedding table in the .tflite file (the GATHER that reads input_word_ids).
"""

import dataclasses
import os
import re
import shlex
import shutil
import subprocess

from sqz_tf.errors import SqzError

DEVICE_DIR = "/data/local/tmp"
ROLES = ("input_word_ids", "input_mask", "input_type_ids")


@dataclasses.dataclass
class ModelSpec:
  roles: list  # ROLES entries in the model's input order
  shapes: list  # one shape (list of ints) per input, same order
  vocab_size: int  # None when the model does not show it


@dataclasses.dataclass
class Options:
  num_threads: int = 2
  num_runs: int = 50
  warmup_runs: int = 5
  use_xnnpack: bool = True
  enable_op_profiling: bool = False
  taskset_mask: str = None  # hex CPU mask, e.g. "f0" (big cores on many SoCs)
  vocab_size: int = None  # overrides the one read from the model


def _role(name):
  for role in ROLES:
    if role.removeprefix("input_") in name:
      return role
  raise SqzError(f"unexpected model input {name!r} (expected "
                 f"{', '.join(ROLES)}: export with sqz_tf.export_tflite)")


def inspect_model(path: str) -> ModelSpec:
  """Input roles, shapes and vocabulary size of an sqz_tf .tflite file."""
  if not os.path.isfile(path):
    raise SqzError(f"TFLite model not found: {path}")
  # As in sqz_tf.export.tflite: the runtime is needed only to read models.
  from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  try:
    interpreter = Interpreter(model_path=path)
  except (ValueError, RuntimeError) as e:
    raise SqzError(f"cannot read {path} as a TFLite model: "
                   f"{str(e).splitlines()[0]}") from None
  inputs = interpreter.get_input_details()
  roles = [_role(detail["name"]) for detail in inputs]
  if sorted(roles) != sorted(ROLES):
    raise SqzError(f"model inputs {[d['name'] for d in inputs]} are not one "
                   f"each of {', '.join(ROLES)}")
  shapes = [[int(dim) for dim in detail["shape"]] for detail in inputs]
  if any(dim <= 0 for shape in shapes for dim in shape):
    raise SqzError(f"model inputs have unknown dimensions {shapes}: export "
                   "with a fixed --seq_length and --batch_size")
  word_ids = inputs[roles.index("input_word_ids")]["index"]
  shapes_by_index = {t["index"]: t["shape"]
                     for t in interpreter.get_tensor_details()}
  vocab_size = None
  for op in interpreter._get_ops_details():  # pylint: disable=protected-access
    # GATHER(params, indices); EMBEDDING_LOOKUP(ids, table).
    table, ids = {"GATHER": (0, 1), "EMBEDDING_LOOKUP": (1, 0)}.get(
        op["op_name"], (None, None))
    if table is not None and int(op["inputs"][ids]) == word_ids:
      vocab_size = int(shapes_by_index[int(op["inputs"][table])][0])
      break
  return ModelSpec(roles=roles, shapes=shapes, vocab_size=vocab_size)


def _vocab_size(spec, options):
  vocab_size = options.vocab_size or spec.vocab_size
  if not vocab_size:
    raise SqzError("the vocabulary size is not visible in the model (no "
                   "GATHER reads input_word_ids): pass --vocab_size")
  return vocab_size


def _run_info(device, command, spec, options):
  """The "run" block of the JSON: where and how the numbers were taken."""
  return {**dataclasses.asdict(options), "device": device, "command": command,
          "vocab_size": _vocab_size(spec, options)}


def benchmark_flags(graph: str, spec: ModelSpec, options: Options) -> list:
  """benchmark_model's command-line flags for one model."""
  vocab_size = _vocab_size(spec, options)
  ranges = {"input_word_ids": (0, vocab_size - 1), "input_mask": (1, 1),
            "input_type_ids": (0, 0)}
  # benchmark_model pairs --input_layer entries with the model's inputs by
  # position (a differing name only logs a warning), and its value-range
  # syntax (name,lo,hi:name,lo,hi) cannot carry TFLite's "name:0" tensor
  # names, so we pass our role names in the model's input order.
  return [
      f"--graph={graph}",
      f"--num_threads={options.num_threads}",
      f"--num_runs={options.num_runs}",
      f"--warmup_runs={options.warmup_runs}",
      "--min_secs=0",  # exactly num_runs runs, comparable across models
      f"--use_xnnpack={str(options.use_xnnpack).lower()}",
      f"--input_layer={','.join(spec.roles)}",
      "--input_layer_shape=" + ":".join(
          ",".join(str(dim) for dim in shape) for shape in spec.shapes),
      "--input_layer_value_range=" + ":".join(
          f"{role},{ranges[role][0]},{ranges[role][1]}" for role in spec.roles),
  ] + (["--enable_op_profiling=true"] if options.enable_op_profiling else [])


def _check_mask(mask):
  if mask is not None and not re.fullmatch(r"(0x)?[0-9a-fA-F]+", mask):
    raise SqzError(f"--taskset_mask must be a hex CPU mask such as f0, "
                   f"not {mask!r}")


def _run(command, env, what):
  try:
    result = subprocess.run(command, capture_output=True, text=True,
                            env=env, check=False)
  except OSError as e:
    raise SqzError(f"cannot run {command[0]}: {e.strerror}") from None
  if result.returncode != 0:
    lines = [line for line in (result.stderr + result.stdout).splitlines()
             if line.strip()]
    errors = [line for line in lines if "error" in line.lower()
              or "failed" in line.lower()]
    reason = (errors or lines or ["no output"])[0].strip()
    raise SqzError(f"{what} failed (exit {result.returncode}): {reason}")
  return result.stdout + result.stderr


def find_adb(adb: str, env) -> str:
  path = shutil.which(adb, path=(env or os.environ).get("PATH"))
  if path is None:
    raise SqzError(f"{adb} not found on PATH (install Android SDK "
                   "platform-tools, or run on the host with --local)")
  return path


def choose_device(adb: str, serial: str, env) -> str:
  """The serial to use: the one asked for, or the only device connected."""
  listing = _run([adb, "devices"], env, "adb devices")
  devices = {}
  for line in listing.splitlines():
    fields = line.split()
    if (len(fields) >= 2 and not line.startswith(("List of devices", "*"))):
      devices[fields[0]] = fields[1]
  ready = [name for name, state in devices.items() if state == "device"]
  described = ", ".join(f"{name} ({state})" for name, state in devices.items())
  if serial:
    if serial not in devices:
      raise SqzError(f"device {serial} is not connected (adb devices: "
                     f"{described or 'none'})")
    if devices[serial] != "device":
      raise SqzError(f"device {serial} is {devices[serial]}, not ready "
                     "(unlock it and accept the USB debugging prompt)")
    return serial
  if not devices:
    raise SqzError("no Android device connected (adb devices lists none); "
                   "enable USB debugging, or run on the host with --local")
  if len(devices) > 1:
    raise SqzError(f"several devices connected ({described}): choose one "
                   "with --serial")
  if not ready:
    raise SqzError(f"the only device, {described}, is not ready (unlock it "
                   "and accept the USB debugging prompt)")
  return ready[0]


def run_on_device(tflite: str, options: Options, serial: str = None,
                  binary: str = None, adb: str = "adb",
                  device_dir: str = DEVICE_DIR, env=None):
  """Benchmarks `tflite` on a phone; returns (output text, run info).

  Without `binary`, runs `<device_dir>/benchmark_model` already there.
  """
  _check_mask(options.taskset_mask)
  spec = inspect_model(tflite)
  if binary is not None and not os.path.isfile(binary):
    raise SqzError(f"benchmark binary not found: {binary}")
  adb = find_adb(adb, env)
  serial = choose_device(adb, serial, env)
  base = [adb, "-s", serial]
  remote_model = f"{device_dir}/{os.path.basename(tflite)}"
  remote_binary = (f"{device_dir}/"
                   f"{os.path.basename(binary or 'benchmark_model')}")
  _run(base + ["push", tflite, remote_model], env, "adb push (model)")
  if binary is not None:
    _run(base + ["push", binary, remote_binary], env, "adb push (binary)")
    _run(base + ["shell", f"chmod +x {shlex.quote(remote_binary)}"], env,
         "adb shell chmod")
  command = ((["taskset", options.taskset_mask] if options.taskset_mask
              else []) + [remote_binary] +
             benchmark_flags(remote_model, spec, options))
  # adb joins its arguments into one remote shell line; quote it ourselves.
  remote = shlex.join(command)
  output = _run(base + ["shell", remote], env, "benchmark_model")
  return output, _run_info(serial, remote, spec, options)


def run_local(tflite: str, options: Options, binary: str = None, env=None):
  """Benchmarks `tflite` with a host binary; returns (output, run info)."""
  _check_mask(options.taskset_mask)
  spec = inspect_model(tflite)
  path = (env or os.environ).get("PATH")
  if binary is None:
    binary = shutil.which("benchmark_model", path=path)
    if binary is None:
      raise SqzError("benchmark_model is not on PATH: pass --benchmark_binary "
                     "(bazel-bin/external/org_tensorflow/tensorflow/lite/"
                     "tools/benchmark/benchmark_model after a host build)")
  if not os.path.isfile(binary):
    raise SqzError(f"benchmark binary not found: {binary}")
  if not os.access(binary, os.X_OK):
    raise SqzError(f"benchmark binary is not executable: {binary} "
                   "(chmod +x it)")
  prefix = []
  if options.taskset_mask:
    taskset = shutil.which("taskset", path=path)
    if taskset is None:
      raise SqzError("taskset not found on PATH (util-linux), needed for "
                     "--taskset_mask")
    prefix = [taskset, options.taskset_mask]
  command = prefix + [binary] + benchmark_flags(os.path.abspath(tflite), spec,
                                                options)
  output = _run(fresh_process(command), env, "benchmark_model")
  return output, _run_info("local", shlex.join(command), spec, options)


def fresh_process(command):
  """`command` run as a child forked by a small shell.

  benchmark_model reports memory as the growth of its peak RSS (getrusage),
  and Linux carries a peak across exec: the parent's whole peak when Python
  starts a child with vfork, its current RSS with a plain fork. From a
  Python that has loaded TensorFlow or a model, the binary's start then
  already exceeds its own use, and memory reads 0.0 MB. A shell's fork
  starts near zero, as `adb shell` does on a phone.
  """
  return ["/bin/sh", "-c", '"$@" & wait $!', "sh"] + list(command)
