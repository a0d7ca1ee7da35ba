r"""Finetunes every GLUE task with run_classifier and packs the submission zip.

  python tools/glue_submission.py --glue_dir=glue --vocab_file=vocab.txt \
      --init_checkpoint=runs/phase2/encoder.keras --output_dir=runs/glue \
      [--tasks=cola,sst2,...] [-- extra run_classifier flags]

Each task uses official_configs/glue/<task>.flags; AX is predicted with the
MNLI model. The zip holds the leaderboard files (CoLA.tsv, SST-2.tsv, ...,
MNLI-m.tsv, MNLI-mm.tsv, AX.tsv) at its top level, as GLUE expects.
"""

import argparse
import glob
import os
import subprocess
import sys
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIRS = {"cola": "CoLA", "sst2": "SST-2", "mrpc": "MRPC", "stsb": "STS-B",
             "qqp": "QQP", "mnli": "MNLI", "qnli": "QNLI", "rte": "RTE",
             "wnli": "WNLI", "ax": "AX"}


def run_task(task, args, extra):
  model_dir = os.path.join(args.output_dir, task)
  init = args.init_checkpoint
  if task == "ax":
    init = os.path.join(args.output_dir, "mnli", "classifier.keras")
  command = [sys.executable, "-m", "sqz_tf.run_classifier",
             f"--flagfile={os.path.join(REPO, 'official_configs', 'glue', task + '.flags')}",
             f"--data_dir={os.path.join(args.glue_dir, DATA_DIRS[task])}",
             f"--vocab_file={args.vocab_file}", f"--init_checkpoint={init}",
             f"--model_dir={model_dir}", *extra]
  print(" ".join(command), flush=True)
  subprocess.run(command, check=True)
  return glob.glob(os.path.join(model_dir, "submission", "*.tsv"))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--glue_dir", required=True)
  parser.add_argument("--vocab_file", required=True)
  parser.add_argument("--init_checkpoint", required=True)
  parser.add_argument("--output_dir", required=True)
  parser.add_argument("--tasks", default=",".join(DATA_DIRS))
  args, extra = parser.parse_known_args()
  tasks = args.tasks.split(",")
  unknown = sorted(set(tasks) - set(DATA_DIRS))
  if unknown:
    sys.exit(f"glue_submission: error: unknown tasks {', '.join(unknown)}")
  if "ax" in tasks:  # needs the MNLI model
    tasks = [t for t in tasks if t != "ax"] + ["ax"]
  files = []
  for task in tasks:
    try:
      files += run_task(task, args, [e for e in extra if e != "--"])
    except subprocess.CalledProcessError as e:
      sys.exit(f"glue_submission: error: {task} failed (exit {e.returncode})")
  archive = os.path.join(args.output_dir, "submission.zip")
  with zipfile.ZipFile(archive + ".tmp", "w", zipfile.ZIP_DEFLATED) as zf:
    for path in sorted(files):
      zf.write(path, arcname=os.path.basename(path))
  os.replace(archive + ".tmp", archive)
  print(f"Wrote {archive} with {len(files)} files")


if __name__ == "__main__":
  main()
