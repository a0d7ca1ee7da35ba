"""tf.distribute: mirrored on two logical CPUs, two multi-worker processes."""

import json
import os
import socket
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _start(strategy, model_dir, output, tf_config=None):
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  if tf_config:
    env["TF_CONFIG"] = json.dumps(tf_config)
  return subprocess.Popen(
      [sys.executable, "-m", "tests.distributed_worker", strategy,
       str(model_dir), str(output)],
      cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True)


def _finish(process, timeout=300):
  _, stderr = process.communicate(timeout=timeout)
  assert process.returncode == 0, stderr[-3000:]


def _weights(path):
  data = np.load(path)
  return data, [data[f"w{i}"] for i in range(len(data.files) - 2)]


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def test_mirrored_two_cpus_matches_one_device(tmp_path):
  single = _start("off", tmp_path / "single", tmp_path / "single.npz")
  _finish(single)
  mirrored = _start("mirrored", tmp_path / "mirrored", tmp_path / "mirrored.npz")
  _finish(mirrored)
  single_data, single_weights = _weights(tmp_path / "single.npz")
  mirrored_data, mirrored_weights = _weights(tmp_path / "mirrored.npz")
  assert int(mirrored_data["replicas"]) == 2
  assert int(mirrored_data["steps"]) == int(single_data["steps"]) == 3
  for a, b in zip(single_weights, mirrored_weights):
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_multi_worker_mirrored_two_processes(tmp_path):
  ports = _free_ports(2)
  cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
  workers = [
      _start("multi_worker_mirrored", tmp_path / "model",
             tmp_path / f"worker{index}.npz",
             {"cluster": cluster, "task": {"type": "worker", "index": index}})
      for index in range(2)]
  for worker in workers:
    _finish(worker)
  data0, weights0 = _weights(tmp_path / "worker0.npz")
  data1, weights1 = _weights(tmp_path / "worker1.npz")
  assert int(data0["replicas"]) == int(data1["replicas"]) == 2
  assert int(data0["steps"]) == int(data1["steps"]) == 3
  for a, b in zip(weights0, weights1):
    np.testing.assert_array_equal(a, b)
  # Only the chief's checkpoints stay in the model directory.
  assert os.listdir(tmp_path / "model" / "checkpoints")
