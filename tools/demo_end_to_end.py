r"""The whole sqz_tf path on a fresh machine, no download, ~10 minutes on 2 CPUs.

  python tools/demo_end_to_end.py --work_dir=runs/e2e

1. pretrain the demo SqueezeBERT (official_configs/pretrain/demo.flags:
   stdlib docstrings -> vocab -> MLM+SOP records -> tiny model);
2. build a small pair task from the same corpus (does sentence 2 follow
   sentence 1 in a docstring, or come from another module; GLUE RTE
   layout) and finetune a classifier on it (dev accuracy ~0.64 vs 0.5
   chance: the demo model is tiny and briefly pretrained);
3. quantization-aware finetuning of that classifier;
4. export every TFLite variant (float32 ... int8_mixed, qat) to
   work_dir/tflite/, score each on the task's dev split and time them on
   this host (tools/quantization_report.py);
5. the host benchmark (`python -m sqz_tf.benchmark`): --quick by default,
   or the full-size SqueezeBERT/BERT-base comparison at 128 tokens with
   --full_size_benchmark (adds ~10 minutes).
Each step is one of the commands a user would run, printed before it runs;
a step whose outputs exist is skipped, so an interrupted demo resumes.
"""

import argparse
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command, outputs):
  """Runs one step unless `outputs` all exist already."""
  if all(os.path.exists(path) for path in outputs):
    print(f"[skip] {outputs[0]} exists", flush=True)
    return
  print("$ " + " ".join(command), flush=True)
  start = time.time()
  result = subprocess.run(command, cwd=REPO, check=False,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  if result.returncode:
    sys.exit(f"demo_end_to_end: error: step failed ({result.returncode}): "
             f"{' '.join(command)}")
  print(f"[{time.time() - start:.0f} s]", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--work_dir", default="runs/e2e")
  parser.add_argument("--full_size_benchmark", action="store_true")
  args = parser.parse_args()
  work = os.path.abspath(args.work_dir)
  data, task = os.path.join(work, "data"), os.path.join(work, "task")
  vocab = os.path.join(data, "vocab.txt")
  python = sys.executable
  start = time.time()

  run([python, "-m", "sqz_tf.run_pretraining",
       "--flagfile=official_configs/pretrain/demo.flags",
       f"--demo_data_dir={data}", f"--model_dir={work}/pretrain"],
      [f"{work}/pretrain/encoder.keras"])
  run([python, "-c", "from sqz_tf.data.demo_corpus import "
       "write_next_sentence_task as w; "
       f"print(w({data + '/stdlib_docstrings_train.txt'!r}, {task!r}))"],
      [f"{task}/train.tsv", f"{task}/dev.tsv"])
  finetune = [python, "-m", "sqz_tf.run_classifier", "--task=rte",
              f"--data_dir={task}", f"--vocab_file={vocab}",
              "--max_seq_length=64", "--train_batch_size=32",
              "--do_train", "--do_eval", "--log_steps=50"]
  run(finetune + [f"--init_checkpoint={work}/pretrain/encoder.keras",
                  f"--model_dir={work}/classifier", "--learning_rate=1e-3",
                  "--num_train_epochs=2"],
      [f"{work}/classifier/classifier.keras"])
  run(finetune + [f"--init_checkpoint={work}/classifier/classifier.keras",
                  f"--model_dir={work}/classifier_qat", "--learning_rate=1e-4",
                  "--num_train_epochs=1", "--quantization_aware"],
      [f"{work}/classifier_qat/classifier.keras"])
  run([python, "tools/quantization_report.py",
       f"--model={work}/classifier/classifier.keras",
       f"--qat_model={work}/classifier_qat/classifier.keras", "--task=rte",
       f"--data_dir={task}", f"--vocab_file={vocab}", "--seq_length=64",
       f"--save_tflite_dir={work}/tflite", f"--output_dir={work}/report"],
      [f"{work}/report/report.md"])
  benchmark = [python, "-m", "sqz_tf.benchmark",
               f"--output_dir={work}/benchmark"]
  benchmark += (["--seq_lengths=128", "--num_threads=2"]
                if args.full_size_benchmark else ["--quick"])
  run(benchmark, [f"{work}/benchmark/results.md"])

  print(f"\nDone in {(time.time() - start) / 60:.1f} min. TFLite files: "
        f"{work}/tflite/; quantization report: {work}/report/report.md; "
        f"host benchmark: {work}/benchmark/results.md")
  with open(f"{work}/report/report.md", encoding="utf-8") as f:
    print(f.read())


if __name__ == "__main__":
  main()
