r"""A finetuned classifier in MediaPipe Tasks, on every dev sentence.

  python tools/mediapipe_report.py --glue_dir=glue/SST-2 \
      --vocab_file=vocab.txt --work_dir=runs/mediapipe_sst2 \
      [--model=runs/sst2/classifier.keras]

1. without --model, finetunes a small SqueezeBERT on SST-2 from scratch
   (hidden 128, 2 layers, 64 tokens, 2 epochs; about 20 minutes on 2 busy
   CPU cores) with `run_classifier`;
2. exports it with `export_tflite --metadata=text_classifier` (float32 and
   int8_mixed) and `--metadata=text_embedder` (pooled; both variants);
3. runs each file in the real MediaPipe `TextClassifier` / `TextEmbedder`
   on every dev sentence and compares with the Keras model fed by our
   tokenizer: accuracy, agreement, embedding cosine; counts the sentences
   MediaPipe tokenizes differently, both as `sqz_tf.data.mediapipe_tokenizer`
   predicts and as MediaPipe itself does (read back through a model whose
   output is its input ids).
Commands are printed before they run; a step whose outputs exist is
skipped. Writes report.md and report.json to --work_dir.
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import sqz_tf  # noqa: F401  (Keras 2 before TensorFlow)
import tensorflow as tf
from mediapipe.tasks.python.core.base_options import BaseOptions
from mediapipe.tasks.python.text import text_classifier
from mediapipe.tasks.python.text import text_embedder

from sqz_tf.data import glue
from sqz_tf.data.mediapipe_tokenizer import MediaPipeBertTokenizer
from sqz_tf.data.tokenizer import BertTokenizerLayer
from sqz_tf.data.vocab import load_vocab
from sqz_tf.export import metadata
from sqz_tf.export.tflite_evaluation import tflite_logits
from sqz_tf.training.initialization import load_model_file

SMALL_CONFIG = {"model_type": "squeezebert", "vocab_size": 30522,
                "hidden_size": 128, "num_hidden_layers": 2,
                "num_attention_heads": 4, "intermediate_size": 512,
                "embedding_size": 128, "max_position_embeddings": 128}
VARIANTS = ("float32", "int8_mixed")


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
    sys.exit(f"mediapipe_report: error: step failed ({result.returncode}): "
             f"{' '.join(command)}")
  print(f"[{time.time() - start:.0f} s]", flush=True)


def _mediapipe_ids(texts, vocab_bytes, seq_length):
  """The ids MediaPipe feeds a model, read back through an echo model."""
  spec = {name: tf.TensorSpec([1, seq_length], tf.int32, name=name)
          for name in metadata.INPUT_NAMES}
  echo = tf.function(lambda inputs: tf.cast(inputs["input_word_ids"],
                                            tf.float32))
  model = tf.lite.TFLiteConverter.from_concrete_functions(
      [echo.get_concrete_function(spec)], tf.Module()).convert()
  model = metadata.attach(model, "text_embedder", vocab_bytes)
  options = text_embedder.TextEmbedderOptions(
      base_options=BaseOptions(model_asset_buffer=model))
  with text_embedder.TextEmbedder.create_from_options(options) as embedder:
    return np.array([embedder.embed(t).embeddings[0].embedding
                     for t in texts]).astype(np.int64)


def _cosines(a, b):
  return (a * b).sum(1) / (np.linalg.norm(a, axis=1) *
                           np.linalg.norm(b, axis=1))


def measure(model_path, work, vocab_file, glue_dir, seq_length):
  """Every figure of the report, as a dict."""
  examples = glue.read_examples("sst2", glue_dir, "dev")
  texts = [e.text_a for e in examples]
  labels = np.array([int(e.label) for e in examples])
  vocab = load_vocab(vocab_file)
  with open(vocab_file, "rb") as f:
    vocab_bytes = f.read()
  ours = BertTokenizerLayer(vocab, seq_length=seq_length).encode(texts)
  emulated = MediaPipeBertTokenizer(vocab, seq_length).encode(texts)
  real_ids = _mediapipe_ids(texts, vocab_bytes, seq_length)
  predicted_differ = (ours["input_word_ids"] !=
                      emulated["input_word_ids"]).any(1)
  really_differ = (ours["input_word_ids"] != real_ids).any(1)
  same_text = ~really_differ
  classifier = load_model_file(model_path)
  keras_logits = classifier.predict(ours, batch_size=128, verbose=0)
  keras_predictions = keras_logits.argmax(-1)
  keras_pooled = classifier.encoder.predict(
      ours, batch_size=128, verbose=0)["pooled_output"]
  result = {
      "rows": len(texts),
      "keras_accuracy": float((keras_predictions == labels).mean()),
      "tokenization_differs_emulated": int(predicted_differ.sum()),
      "tokenization_differs_mediapipe": int(really_differ.sum()),
      "emulation_matches_mediapipe_ids": bool(
          (emulated["input_word_ids"] == real_ids).all()),
      "differing_rows": [texts[i] for i in np.flatnonzero(really_differ)],
      "classifier": {}, "embedder": {},
  }
  for variant in VARIANTS:
    path = os.path.join(work, f"sst2_classifier_{variant}.tflite")
    with open(path, "rb") as f:
      model_bytes = f.read()
    options = text_classifier.TextClassifierOptions(
        base_options=BaseOptions(model_asset_buffer=model_bytes))
    with text_classifier.TextClassifier.create_from_options(options) as c:
      scores = np.array([[x.score for x in sorted(
          c.classify(t).classifications[0].categories,
          key=lambda x: x.index)] for t in texts])
    answers = scores.argmax(-1)
    # The same file in ai_edge_litert, fed by our tokenizer.
    ours_tflite = tflite_logits(model_bytes, ours)
    agree = answers == keras_predictions
    result["classifier"][variant] = {
        "size_mb": len(model_bytes) / 1e6,
        "accuracy": float((answers == labels).mean()),
        "agreement_with_keras": int(agree.sum()),
        "agreement_same_tokens": int(agree[same_text].sum()),
        "disagreements_among_differing_tokens": int(
            (~agree[really_differ]).sum()),
        "max_abs_vs_our_tflite_same_tokens": float(np.abs(
            scores - ours_tflite)[same_text].max()),
    }
    path = os.path.join(work, f"sst2_embedder_{variant}.tflite")
    with open(path, "rb") as f:
      model_bytes = f.read()
    options = text_embedder.TextEmbedderOptions(
        base_options=BaseOptions(model_asset_buffer=model_bytes))
    with text_embedder.TextEmbedder.create_from_options(options) as e:
      vectors = np.array([e.embed(t).embeddings[0].embedding for t in texts])
    cosine = _cosines(vectors, keras_pooled)
    result["embedder"][variant] = {
        "mean_cosine": float(cosine.mean()),
        "min_cosine": float(cosine.min()),
        "min_cosine_same_tokens": float(cosine[same_text].min()),
        "rows_below_0.9999": int((cosine < 0.9999).sum()),
        "min_cosine_vs_our_tflite_same_tokens": float(_cosines(
            vectors, tflite_logits(model_bytes, ours))[same_text].min()),
    }
  return result


def markdown(result, seq_length):
  rows = result["rows"]
  lines = [
      f"SST-2 dev, {rows} sentences, {seq_length} tokens. Keras (our "
      f"tokenizer) accuracy {result['keras_accuracy']:.4f}. MediaPipe "
      f"tokenizes {result['tokenization_differs_mediapipe']} sentences "
      f"differently (emulation predicts "
      f"{result['tokenization_differs_emulated']}; ids identical to "
      f"MediaPipe's on every row: "
      f"{result['emulation_matches_mediapipe_ids']}).", "",
      "| TextClassifier | size | accuracy | agrees with Keras | same-token "
      "rows agreeing | flips among differing-token rows | max abs diff vs "
      "our TFLite run (same tokens) |",
      "|---|---|---|---|---|---|---|"]
  same = rows - result["tokenization_differs_mediapipe"]
  for variant, c in result["classifier"].items():
    lines.append(
        f"| {variant} | {c['size_mb']:.1f} MB | {c['accuracy']:.4f} | "
        f"{c['agreement_with_keras']}/{rows} | "
        f"{c['agreement_same_tokens']}/{same} | "
        f"{c['disagreements_among_differing_tokens']}/"
        f"{result['tokenization_differs_mediapipe']} | "
        f"{c['max_abs_vs_our_tflite_same_tokens']:.1e} |")
  lines += ["", "| TextEmbedder (pooled) | mean cosine vs Keras | min | min, "
            "same tokens | rows < 0.9999 | min cosine vs our TFLite run "
            "(same tokens) |", "|---|---|---|---|---|---|"]
  for variant, e in result["embedder"].items():
    lines.append(f"| {variant} | {e['mean_cosine']:.6f} | "
                 f"{e['min_cosine']:.4f} | {e['min_cosine_same_tokens']:.6f}"
                 f" | {e['rows_below_0.9999']} | "
                 f"{e['min_cosine_vs_our_tflite_same_tokens']:.6f} |")
  lines += ["", "Sentences MediaPipe tokenizes differently:"]
  lines += [f"- {text}" for text in result["differing_rows"]]
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--glue_dir", required=True, help="GLUE SST-2 dir")
  parser.add_argument("--vocab_file", required=True)
  parser.add_argument("--work_dir", default="runs/mediapipe_sst2")
  parser.add_argument("--model", help="finetuned SST-2 classifier.keras "
                      "(default: finetune a small one)")
  parser.add_argument("--seq_length", type=int, default=64)
  args = parser.parse_args()
  work = os.path.abspath(args.work_dir)
  os.makedirs(work, exist_ok=True)
  python = sys.executable
  model = args.model
  if not model:
    config = os.path.join(work, "config.json")
    if not os.path.exists(config):
      with open(config, "w") as f:
        json.dump(SMALL_CONFIG, f)
    model = os.path.join(work, "classifier", "classifier.keras")
    run([python, "-m", "sqz_tf.run_classifier", "--task=sst2",
         f"--data_dir={args.glue_dir}", f"--vocab_file={args.vocab_file}",
         f"--model_config={config}", f"--model_dir={work}/classifier",
         f"--max_seq_length={args.seq_length}", "--train_batch_size=32",
         "--learning_rate=1e-3", "--num_train_epochs=2", "--do_train",
         "--do_eval", "--log_steps=200"], [model])
  for task, name in (("text_classifier", "classifier"),
                     ("text_embedder", "embedder")):
    for variant in VARIANTS:
      output = os.path.join(work, f"sst2_{name}_{variant}.tflite")
      run([python, "-m", "sqz_tf.export_tflite", f"--model={model}",
           f"--output={output}", f"--quantization={variant}",
           f"--seq_length={args.seq_length}",
           f"--representative_data={args.glue_dir}", "--task=sst2",
           f"--vocab_file={args.vocab_file}", f"--metadata={task}"],
          [output])
  print("Running MediaPipe on the dev sentences ...", flush=True)
  result = measure(model, work, args.vocab_file, args.glue_dir,
                   args.seq_length)
  text = markdown(result, args.seq_length)
  with open(os.path.join(work, "report.json"), "w") as f:
    json.dump(result, f, indent=2)
  with open(os.path.join(work, "report.md"), "w") as f:
    f.write(text)
  print(text)


if __name__ == "__main__":
  main()
