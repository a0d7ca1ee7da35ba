"""benchmark_on_device --local: the memory figures are the binary's own.

benchmark_model reports the growth of its peak RSS. Started straight from a
Python process that has loaded TensorFlow, the binary inherits that peak and
reports 0.0 MB; `device_runner.fresh_process` starts it from a shell's fork.
Checked with a fake binary that measures itself the same way, and with the
real one when ../shared/tools has it (a user's clone does not).
"""

import os
import sys

import numpy as np
import pytest

from sqz_tf.benchmark import benchmark_model_output
from sqz_tf.benchmark import device_runner
from sqz_tf.export import tflite
from sqz_tf.models import SqueezeBertClassifier
from tests.tiny_configs import tiny_config

REAL_BINARY = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir,
    "shared", "tools", "benchmark_model-linux-x86_64")

# Measures its peak-RSS growth as benchmark_model does (getrusage) while it
# touches 48 MB, and prints benchmark_model's lines.
_FAKE_BINARY = """\
#!{python}
import resource
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
block = bytearray(b"x") * (48 << 20)
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024
print("INFO: Inference timings in us: Init: 10, First inference: 20, "
      "Warmup (avg): 20, Inference (avg): 20")
print("INFO: Memory footprint delta from the start of the tool (MB): "
      f"init={{grown:.4f}} overall={{grown:.4f}}")
"""


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
  path = tmp_path_factory.mktemp("model") / "tiny.tflite"
  path.write_bytes(tflite.convert(SqueezeBertClassifier(tiny_config(), 2),
                                  "float32", seq_length=16))
  return str(path)


@pytest.fixture()
def big_parent():
  """This process's peak RSS at least 300 MB above what the binaries use."""
  block = np.ones(300 << 17)  # 300 MB of float64, written
  yield
  del block


def _memory(tiny_tflite, binary):
  output, _ = device_runner.run_local(
      tiny_tflite, device_runner.Options(num_runs=2, warmup_runs=1),
      binary=binary)
  return benchmark_model_output.parse(output)["memory"]


def test_fake_binary_reports_its_own_growth(tiny_tflite, big_parent,
                                            tmp_path):
  binary = tmp_path / "benchmark_model"
  binary.write_text(_FAKE_BINARY.format(python=sys.executable))
  binary.chmod(0o755)
  memory = _memory(tiny_tflite, str(binary))
  assert 40 < memory["overall_mb"] < 120, memory


@pytest.mark.skipif(not os.path.isfile(REAL_BINARY),
                    reason="no ../shared/tools/benchmark_model-linux-x86_64")
def test_real_binary_reports_memory(tiny_tflite, big_parent):
  memory = _memory(tiny_tflite, REAL_BINARY)
  # Interpreter, XNNPACK and the model: a few MB, but not the 0.0 MB of a
  # binary that inherited this process's peak.
  assert memory["overall_mb"] > 1 and memory["init_mb"] > 0, memory
