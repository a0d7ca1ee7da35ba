"""Runs one sqz_tf CLI on several command lines in one fresh process.

What `python -m sqz_tf.<tool> args` does for each argument list (the same
flag parsing, `main`, one-line errors and exit codes), minus a TensorFlow
start-up per command; a process per CLI, since two CLIs' flags would clash.
"""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_RUNNER = """
import contextlib, io, json, sys
import sqz_tf
from absl import flags
from sqz_tf import cli
module_name, commands_path, results_path = sys.argv[1:]
module = __import__(module_name, fromlist=["main"])
results = []
for args in json.load(open(commands_path)):
  flags.FLAGS.unparse_flags()
  sys.argv = [module_name.rsplit(".", 1)[-1]] + args
  out, err = io.StringIO(), io.StringIO()
  code = 0
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      cli.run(module.main)
    except SystemExit as e:
      code = e.code or 0
  results.append({"returncode": code, "stdout": out.getvalue(),
                  "stderr": err.getvalue()})
json.dump(results, open(results_path, "w"))
"""


def run_in_one_process(module, commands, work_dir):
  """`module`'s CLI on each argument list: [{returncode, stdout, stderr}]."""
  commands_path = os.path.join(work_dir, "cli_commands.json")
  results_path = os.path.join(work_dir, "cli_results.json")
  with open(commands_path, "w") as f:
    json.dump([list(map(str, args)) for args in commands], f)
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  result = subprocess.run([sys.executable, "-c", _RUNNER, module,
                           commands_path, results_path], capture_output=True,
                          text=True, cwd=REPO, env=env, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(results_path) as f:
    return json.load(f)
