"""benchmark_model on a phone: Bazel files, output parser, adb/host runner, CLI.

Parser tests use genuine outputs of several TFLite versions
(tests/data/benchmark_model/*.txt, each citing its source in its first
line); the expected numbers were read off those files by hand. Runner and
CLI tests use a fake `adb` and a fake `benchmark_model` (Python scripts put
first on PATH) that log their arguments and print one of those outputs.
"""

import ast
import json
import os
import re
import subprocess
import sys

import pytest
import tensorflow as tf

from sqz_tf.benchmark import benchmark_model_output
from sqz_tf.benchmark import device_runner
from sqz_tf.errors import SqzError
from sqz_tf.export import tflite
from sqz_tf.models import SqueezeBertClassifier
from tests.tiny_configs import tiny_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO, "tests", "data", "benchmark_model")
TOOL = os.path.join(REPO, "tools", "benchmark_on_device.py")


def sample(name):
  with open(os.path.join(SAMPLES, name)) as f:
    return f.read()


def parse(name):
  return benchmark_model_output.parse(sample(name))



def _calls(path):
  """Top-level calls of a Starlark file (Python syntax) as (name, node)."""
  with open(os.path.join(REPO, path)) as f:
    tree = ast.parse(f.read(), filename=path)
  return tree, [(node.value.func.id, node.value) for node in tree.body
                if isinstance(node, ast.Expr) and
                isinstance(node.value, ast.Call)]


def _kwargs(call):
  return {k.arg: k.value for k in call.keywords}


def test_workspace_pins_our_tensorflow_and_runs_tf_init_in_order():
  tree, calls = _calls("WORKSPACE")
  version = next(node.value.value for node in tree.body
                 if isinstance(node, ast.Assign)
                 and node.targets[0].id == "TF_VERSION")
  assert version.split(".")[:2] == tf.__version__.split(".")[:2]
  archives = {ast.literal_eval(_kwargs(call)["name"]): _kwargs(call)
              for name, call in calls if name == "http_archive"}
  tf_archive = archives["org_tensorflow"]
  assert "sha256" not in tf_archive or re.fullmatch(
      "[0-9a-f]{64}", ast.literal_eval(tf_archive["sha256"]))
  names = [name for name, _ in calls]
  order = [names.index(name) for name in
           ("tf_workspace3", "python_init_rules", "python_init_repositories",
            "python_init_toolchains", "python_init_pip", "install_deps",
            "tf_workspace2", "tf_workspace1", "tf_workspace0",
            "cuda_configure", "nccl_configure")]
  assert order == sorted(order)
  # Each macro is loaded before it is called.
  for name, call in calls:
    if name.startswith(("tf_workspace", "python_init")):
      loads = [i for i, (n, c) in enumerate(calls) if n == "load" and any(
          isinstance(a, ast.Constant) and a.value == name for a in c.args)]
      assert loads and loads[0] < names.index(name), name
  # The Android repositories come from TF's android_configure (env vars).
  assert not {"android_sdk_repository", "android_ndk_repository"} & set(names)


def test_build_alias_and_bazelrc_android_config():
  _, calls = _calls("tools/BUILD")
  (name, call), = calls
  kwargs = {k: ast.literal_eval(v) for k, v in _kwargs(call).items()}
  assert name == "alias" and kwargs == {
      "name": "benchmark_model",
      "actual": "@org_tensorflow//tensorflow/lite/tools/benchmark:"
                "benchmark_model",
      "visibility": ["//visibility:public"]}
  with open(os.path.join(REPO, ".bazelrc")) as f:
    lines = [line.split() for line in f if line.strip()
             and not line.startswith("#")]
  options = {}
  for command, *flags in lines:
    assert re.fullmatch(r"(common|build|try-import)(:\w+)?", command)
    options.setdefault(command, []).extend(flags)
  assert {"--config=android", "--cpu=arm64-v8a",
          "--fat_apk_cpu=arm64-v8a"} <= set(options["build:android_arm64"])
  assert ("--crosstool_top=//external:android/crosstool"
          in options["build:android"])
  assert "--noenable_bzlmod" in options["common"]



def test_parses_recent_output_with_info_prefix_and_percentiles():
  result = parse("ti_sdk_tflite2.18_cpu.txt")
  assert (result["init_us"], result["first_inference_us"],
          result["warmup_avg_us"], result["inference_avg_us"]) == (
              5579, 1357602, 1.3576e6, 1.24027e6)
  assert result["warmup_runs"] == {"count": 1, "curr": 1357602,
                                   "p5": 1357602, "median": 1357602,
                                   "p95": 1357602}
  assert result["inference_runs"] == {
      "count": 50, "first": 1249964, "curr": 1240143, "min": 1238588,
      "max": 1252566, "avg": 1.24027e6, "std": 2565, "p5": 1238753,
      "median": 1239807, "p95": 1247415}
  assert result["memory"] == {"init_mb": 6.36328, "overall_mb": 109.832,
                              "peak_mb": None}
  assert result["model_size_mb"] == 67.3128
  assert result["delegation"]["delegate"] is None
  assert result["op_profile"] == []


def test_parses_partial_xnnpack_delegation():
  result = parse("ti_sdk_tflite2.18_xnnpack.txt")
  assert result["delegation"] == {
      "delegate": "XNNPACK", "execution": "partial", "delegate_kernels": 1,
      "replaced_nodes": None, "total_nodes": None}
  assert result["inference_avg_us"] == 899641
  assert result["init_us"] == 614333
  assert result["memory"]["overall_mb"] == 150.141


def test_parses_old_output_without_prefix():
  result = parse("tf2.4.0_android_nnapi_fp16.txt")
  assert (result["init_us"], result["first_inference_us"],
          result["warmup_avg_us"], result["inference_avg_us"]) == (
              365972, 120877, 108605, 92571.2)
  # Only the regular runs' line was pasted.
  assert result["warmup_runs"] is None
  assert result["inference_runs"] == {
      "count": 50, "first": 96719, "curr": 90158, "min": 89745,
      "max": 96719, "avg": 92571.2, "std": 1638}
  # TFLite 2.4 called the same max-RSS numbers "Peak memory footprint".
  assert result["memory"] == {"init_mb": 6.90625, "overall_mb": 61.0547,
                              "peak_mb": None}


def test_parses_op_profiling_and_scientific_notation():
  result = parse("meta_tflite_riscv_op_profiling.txt")
  assert result["inference_avg_us"] == 2.95034e6
  assert result["warmup_avg_us"] == 3.51239e6
  assert result["warmup_runs"] == {"count": 1, "curr": 3512391}
  # Not the "Timings (microseconds): count=50 … avg=2.9499e+06" line of the
  # profiling tables.
  assert result["inference_runs"]["avg"] == 2.95034e6
  assert result["inference_runs"]["std"] == 109798
  assert result["memory"]["overall_mb"] == 46.0859
  assert result["op_profile_nodes"] == 31
  # The regular runs' summary, not the initialisation one (AllocateTensors).
  assert [row["node_type"] for row in result["op_profile"]] == [
      "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "SOFTMAX",
      "SQUEEZE"]
  assert result["op_profile"][0] == {
      "node_type": "CONV_2D", "count": 15, "avg_ms": 2651.853,
      "avg_pct": 89.897, "cdf_pct": 89.897, "mem_kb": 0.0,
      "times_called": 15}
  assert result["op_profile"][-1]["cdf_pct"] == 100.0
  projections, other = benchmark_model_output.projection_split(
      result["op_profile"])
  # CONV_2D is a projection; DEPTHWISE_CONV_2D, pooling, softmax are not.
  assert projections == pytest.approx(2651.853)
  assert other == pytest.approx(296.919 + 0.869 + 0.232 + 0.016)


def test_parses_logcat_prefixes_and_skips_source_line():
  result = parse("tf_docs_measurement_logcat.txt")
  assert (result["init_us"], result["first_inference_us"],
          result["warmup_avg_us"], result["inference_avg_us"]) == (
              5685, 18535, 14462.3, 14575.2)
  # The same genuine lines behind `adb logcat` (threadtime and brief formats).
  lines = [line for line in sample("ti_sdk_tflite2.18_cpu.txt").splitlines()
           if not line.startswith("# ")]
  plain = parse("ti_sdk_tflite2.18_cpu.txt")
  for prefix in ("07-14 13:14:52.097 22838 22838 I tflite  : ",
                 "I/tflite  (22838): "):
    logcat = "\n".join(prefix + line.removeprefix("INFO: ") for line in lines)
    assert benchmark_model_output.parse(logcat) == plain
  # With --report_peak_memory_footprint (line format of benchmark_model.cc;
  # no genuine sample with it is in tests/data).
  peak = benchmark_model_output.parse("\n".join(lines + [
      "INFO: Overall peak memory footprint (MB) via periodic monitoring: "
      "93.2383"]))
  assert peak["memory"] == {**plain["memory"], "peak_mb": 93.2383}


def test_failed_benchmark_is_one_clear_error():
  with pytest.raises(SqzError, match="^benchmark_model printed no inference "
                     "timings: NN API returned error ANEURALNETWORKS_OP_"):
    parse("tf2.4.0_android_nnapi_failed.txt")
  with pytest.raises(SqzError, match="no output"):
    benchmark_model_output.parse("")


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
  path = tmp_path_factory.mktemp("model") / "tiny.tflite"
  path.write_bytes(tflite.convert(SqueezeBertClassifier(tiny_config(), 2),
                                  "float32", seq_length=16))
  return str(path)


_FAKE_ADB = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as f:
  f.write(json.dumps(["adb"] + args) + "\\n")
if args[:1] == ["-s"]:
  args = args[2:]
if args == ["devices"]:
  print("List of devices attached")
  for device in os.environ.get("FAKE_DEVICES", "").split(";"):
    if device:
      print(device.replace(":", "\\t"))
elif args[0] == "push":
  print("1 file pushed")
elif args[0] == "shell" and "--graph=" in args[-1]:
  sys.stdout.write(open(os.environ["FAKE_OUTPUT"]).read())
  sys.exit(int(os.environ.get("FAKE_RC", "0")))
"""

_FAKE_BINARY = """\
#!{python}
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as f:
  f.write(json.dumps(sys.argv) + "\\n")
sys.stdout.write(open(os.environ["FAKE_OUTPUT"]).read())
"""


@pytest.fixture()
def fakes(tmp_path):
  """PATH with a fake adb first, and the env the fakes read."""
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  for name, script in (("adb", _FAKE_ADB), ("benchmark_model", _FAKE_BINARY)):
    path = bin_dir / name
    path.write_text(script.format(python=sys.executable))
    path.chmod(0o755)
  log = tmp_path / "log.jsonl"
  env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
         "FAKE_LOG": str(log), "FAKE_DEVICES": "R58M123:device",
         "FAKE_OUTPUT": os.path.join(SAMPLES, "ti_sdk_tflite2.18_xnnpack.txt")}
  binary = tmp_path / "android_aarch64_benchmark_model"
  binary.write_bytes(b"\x7fELF not really")

  def calls():
    with open(log) as f:
      return [json.loads(line) for line in f]
  return env, str(binary), calls, bin_dir


def test_tiny_model_inputs_and_vocabulary(tiny_tflite):
  spec = device_runner.inspect_model(tiny_tflite)
  # The converter orders the inputs its own way; flags must follow it.
  assert sorted(spec.roles) == sorted(device_runner.ROLES)
  assert spec.shapes == [[1, 16]] * 3
  assert spec.vocab_size == 99  # tiny_config(): vocab_size=99


def test_device_run_pushes_chmods_and_runs_exact_command(tiny_tflite, fakes):
  env, binary, calls, _ = fakes
  spec = device_runner.inspect_model(tiny_tflite)
  options = device_runner.Options(num_threads=4, num_runs=30, warmup_runs=3,
                                  enable_op_profiling=True, taskset_mask="f0")
  output, run = device_runner.run_on_device(tiny_tflite, options,
                                            binary=binary, env=env)
  assert output == sample("ti_sdk_tflite2.18_xnnpack.txt")
  ranges = {"input_word_ids": "0,98", "input_mask": "1,1",
            "input_type_ids": "0,0"}
  remote = (
      "taskset f0 /data/local/tmp/android_aarch64_benchmark_model "
      "--graph=/data/local/tmp/tiny.tflite --num_threads=4 --num_runs=30 "
      "--warmup_runs=3 --min_secs=0 --use_xnnpack=true "
      f"--input_layer={','.join(spec.roles)} "
      "--input_layer_shape=1,16:1,16:1,16 --input_layer_value_range=" +
      ":".join(f"{role},{ranges[role]}" for role in spec.roles) +
      " --enable_op_profiling=true")
  assert calls() == [
      ["adb", "devices"],
      ["adb", "-s", "R58M123", "push", tiny_tflite,
       "/data/local/tmp/tiny.tflite"],
      ["adb", "-s", "R58M123", "push", binary,
       "/data/local/tmp/android_aarch64_benchmark_model"],
      ["adb", "-s", "R58M123", "shell",
       "chmod +x /data/local/tmp/android_aarch64_benchmark_model"],
      ["adb", "-s", "R58M123", "shell", remote]]
  assert run["device"] == "R58M123" and run["command"] == remote
  assert run["vocab_size"] == 99


def test_device_choice_serial_override_and_vocab_override(tiny_tflite, fakes):
  env, _, calls, _ = fakes
  env["FAKE_DEVICES"] = "emulator-5554:device;R58M123:device"
  options = device_runner.Options(vocab_size=30522, use_xnnpack=False)
  with pytest.raises(SqzError, match=r"several devices connected "
                     r"\(emulator-5554 \(device\), R58M123 \(device\)\): "
                     "choose one with --serial"):
    device_runner.run_on_device(tiny_tflite, options, env=env)
  _, run = device_runner.run_on_device(tiny_tflite, options,
                                       serial="emulator-5554", env=env)
  shell = calls()[-1]
  assert shell[:4] == ["adb", "-s", "emulator-5554", "shell"]
  # No --benchmark_binary: the one already on the phone, nothing pushed.
  assert calls()[-3] == ["adb", "devices"]
  assert [call[3] for call in calls()[-2:]] == ["push", "shell"]
  assert shell[4].startswith("/data/local/tmp/benchmark_model --graph=")
  assert "input_word_ids,0,30521" in shell[4]
  assert "--use_xnnpack=false" in shell[4] and "taskset" not in shell[4]
  assert run["vocab_size"] == 30522
  env["FAKE_DEVICES"] = "R58M123:unauthorized"
  with pytest.raises(SqzError, match="the only device, R58M123 "
                     r"\(unauthorized\), is not ready"):
    device_runner.run_on_device(tiny_tflite, options, env=env)
  env["FAKE_DEVICES"] = ""
  with pytest.raises(SqzError, match="no Android device connected"):
    device_runner.run_on_device(tiny_tflite, options, env=env)
  with pytest.raises(SqzError, match="device X1 is not connected"):
    device_runner.run_on_device(tiny_tflite, options, serial="X1", env=env)


def test_device_errors(tiny_tflite, fakes, tmp_path):
  env, binary, _, _ = fakes
  options = device_runner.Options()
  with pytest.raises(SqzError, match="TFLite model not found: .*nope.tflite"):
    device_runner.run_on_device(str(tmp_path / "nope.tflite"), options,
                                env=env)
  with pytest.raises(SqzError, match="benchmark binary not found"):
    device_runner.run_on_device(tiny_tflite, options, binary="/no/such",
                                env=env)
  with pytest.raises(SqzError, match="hex CPU mask"):
    device_runner.run_on_device(
        tiny_tflite, device_runner.Options(taskset_mask="big"), env=env)
  no_adb = {**env, "PATH": str(tmp_path)}
  with pytest.raises(SqzError, match="adb not found on PATH"):
    device_runner.run_on_device(tiny_tflite, options, env=no_adb)
  env["FAKE_OUTPUT"] = os.path.join(SAMPLES, "tf2.4.0_android_nnapi_failed.txt")
  env["FAKE_RC"] = "1"
  with pytest.raises(SqzError, match=r"benchmark_model failed \(exit 1\): "
                     "ERROR: NN API returned error"):
    device_runner.run_on_device(tiny_tflite, options, binary=binary, env=env)


def test_local_run_and_its_errors(tiny_tflite, fakes, tmp_path):
  env, _, calls, bin_dir = fakes
  env["FAKE_OUTPUT"] = os.path.join(SAMPLES,
                                    "meta_tflite_riscv_op_profiling.txt")
  output, run = device_runner.run_local(tiny_tflite, device_runner.Options(),
                                        env=env)
  binary = str(bin_dir / "benchmark_model")
  (call,) = calls()
  assert call[0] == binary and call[1] == f"--graph={tiny_tflite}"
  assert "--num_threads=2" in call and "--num_runs=50" in call
  assert run["device"] == "local"
  assert benchmark_model_output.parse(output)["op_profile_nodes"] == 31
  plain = tmp_path / "plain_file"
  plain.write_text("")
  with pytest.raises(SqzError, match="benchmark binary is not executable"):
    device_runner.run_local(tiny_tflite, device_runner.Options(),
                            binary=str(plain), env=env)
  with pytest.raises(SqzError, match="benchmark_model is not on PATH"):
    device_runner.run_local(tiny_tflite, device_runner.Options(),
                            env={**env, "PATH": str(tmp_path)})


def _cli(env, *args):
  return subprocess.run([sys.executable, TOOL, *args], capture_output=True,
                        text=True, env=env, cwd=REPO, check=False)


def test_cli_writes_json_and_reports_errors_in_one_line(tiny_tflite, fakes,
                                                        tmp_path):
  env, binary, calls, _ = fakes
  out = tmp_path / "result.json"
  ok = _cli(env, f"--tflite={tiny_tflite}", f"--benchmark_binary={binary}",
            "--serial=R58M123", "--taskset_mask=f0", f"--output_json={out}")
  assert ok.returncode == 0, ok.stderr[-2000:]
  assert "inference 899.64 ms avg" in ok.stdout
  result = json.loads(out.read_text())
  assert result["inference_avg_us"] == 899641
  assert result["inference_runs"]["p95"] == 904305
  assert result["delegation"]["execution"] == "partial"
  assert result["run"]["device"] == "R58M123"
  assert result["run"]["tflite"] == tiny_tflite
  assert result["run"]["command"] == calls()[-1][-1]
  assert result["run"]["command"].startswith("taskset f0 ")
  env["FAKE_DEVICES"] = "A1:device;B2:device"
  several = _cli(env, f"--tflite={tiny_tflite}")
  missing = _cli(env, f"--tflite={tmp_path / 'missing.tflite'}")
  for result, message in (
      (several, "several devices connected (A1 (device), B2 (device)): "
                "choose one with --serial"),
      (missing, "TFLite model not found: "
                f"{tmp_path / 'missing.tflite'}")):
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"benchmark_on_device: error: {message}")
