"""Runs sqz_tf CLIs for the tests, as `python -m sqz_tf.<tool> args` would.

`run_in_one_process` runs one CLI on several command lines in one fresh
process: the same flag parsing, `main`, one-line errors and exit codes,
minus a TensorFlow start-up (several seconds) per command; a process per
CLI, since two CLIs' flags would clash. `run_many` does that for a mixed
list of commands; `run_module` is one plain `python -m` run.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_RUNNER = """
import contextlib, io, json, sys
import sqz_tf
from absl import flags
from absl import logging
from sqz_tf import cli
module_name, commands_path, results_path = sys.argv[1:]
module = __import__(module_name, fromlist=["main"])
results = []
for args in json.load(open(commands_path)):
  flags.FLAGS.unparse_flags()
  sys.argv = [module_name.rsplit(".", 1)[-1]] + args
  out, err = io.StringIO(), io.StringIO()
  code = 0
  # absl's handler keeps the stream it was made with: give it this command's.
  logging.get_absl_handler().python_handler.stream = err
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


def run_module(module, *args):
  """Runs `python -m module args` (or a script, `python module.py args`)."""
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  target = [module] if module.endswith(".py") else ["-m", module]
  return subprocess.run([sys.executable, *target, *map(str, args)],
                        capture_output=True, text=True, cwd=REPO, env=env,
                        check=False)


def _runs_alone(module):
  """Scripts, and packages run by their __main__, have no `main` to call."""
  return module.endswith(".py") or os.path.exists(
      os.path.join(REPO, *module.split("."), "__main__.py"))


def run_many(commands):
  """(module, *args) commands -> CompletedProcess-like results, in order.

  Two processes at a time, as commands run in no set order: a module's
  commands share two processes (`run_in_one_process`, every other one in
  each), so a long run and the quick refusals beside it cost two
  TensorFlow start-ups, not one each; scripts (`.py`) and packages run by
  their `__main__` run alone.
  """
  batches = {}
  for index, (module, *_) in enumerate(commands):
    batches.setdefault(module, []).append(index)
  batches = [batch for module, indexes in batches.items()
             for batch in ([[i] for i in indexes] if _runs_alone(module)
                           else (indexes[0::2], indexes[1::2])) if batch]

  def run_batch(indexes):
    module = commands[indexes[0]][0]
    if _runs_alone(module):
      return [(indexes[0], run_module(*commands[indexes[0]]))]
    with tempfile.TemporaryDirectory() as work_dir:
      results = run_in_one_process(
          module, [commands[i][1:] for i in indexes], work_dir)
    return [(i, subprocess.CompletedProcess(
        commands[i], r["returncode"], r["stdout"], r["stderr"]))
            for i, r in zip(indexes, results)]

  results = [None] * len(commands)
  with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    for batch in pool.map(run_batch, batches):
      for index, result in batch:
        results[index] = result
  return results
