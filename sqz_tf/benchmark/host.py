"""Host latency of SqueezeBERT and BERT-base TFLite exports, and HF PyTorch's.

    models = benchmark_models(quick=False)
    results = run_benchmark(models, Settings(), "runs/benchmark")

Every TFLite variant of `tflite.QUANTIZATIONS` (but QAT) is converted once
per sequence length and cached; then, one (sequence length, threads) cell at
a time, each variant runs in its own worker process (`latency_worker`), so
its peak RSS is its own. Workers import in parallel but load one at a time
(init times do not contend), then run round-robin for several rounds so
that machine noise hits every variant alike. Float32 GEMMs (numpy and
LiteRT/XNNPACK) run in the same rounds; the faster is the peak that
achieved GFLOP/s are compared with.
"""

import concurrent.futures
import dataclasses
import hashlib
import importlib.util
import json
import multiprocessing
import os
import time

import numpy as np

from sqz_tf.benchmark import latency_worker
from sqz_tf.benchmark import report
from sqz_tf.configs import SqueezeBertConfig
from sqz_tf.errors import SqzError
from sqz_tf.export import tflite
from sqz_tf.models.facts import model_facts
from sqz_tf.utils.files import atomic_output

_OFFICIAL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "official_configs")
# Variants that cannot be benchmarked from a randomly initialized model.
SKIPPED_VARIANTS = {"qat": "QAT is skipped: its graph is that of a "
                           "quantization-aware-trained model, which needs "
                           "training first"}
TORCH_VARIANTS = ("torch_fp32", "torch_int8")
CALIBRATION_SAMPLES = 8
_GROUP_FIELDS = ("q_groups", "k_groups", "v_groups", "post_attention_groups",
                 "intermediate_groups", "output_groups")


@dataclasses.dataclass(frozen=True)
class BenchmarkModel:
  """One benchmarked architecture and its HF transformers counterpart."""
  key: str  # "squeezebert" or "bert": the roles the ratios compare
  label: str
  config: SqueezeBertConfig
  source: str
  hf_class: str
  hf_config_class: str
  hf_config: dict


def benchmark_models(quick=False):
  """SqueezeBERT and BERT-base (or tiny stand-ins), keyed by role."""
  if quick:
    sqz = SqueezeBertConfig.from_json_file(
        os.path.join(_OFFICIAL, "squeezebert_tiny.json"))
    bert = dataclasses.replace(sqz, **{name: 1 for name in _GROUP_FIELDS})
    sources = ("squeezebert_tiny.json", "squeezebert_tiny.json, groups 1")
    labels = ("SqueezeBERT-tiny", "BERT-tiny")
    shape = ("vocab_size", "hidden_size", "num_hidden_layers",
             "num_attention_heads", "intermediate_size", "hidden_act",
             "max_position_embeddings", "type_vocab_size", "layer_norm_eps")
    bert_hf = {name: getattr(bert, name) for name in shape}
  else:
    sources = ("squeezebert_uncased.json", "bert_base_uncased_equiv.json")
    sqz, bert = (SqueezeBertConfig.from_json_file(os.path.join(_OFFICIAL, name))
                 for name in sources)
    labels = ("SqueezeBERT", "BERT-base")
    bert_hf = {}  # transformers.BertConfig() is bert-base-uncased's shape
  return {
      "squeezebert": BenchmarkModel(
          "squeezebert", labels[0], sqz, sources[0],
          "SqueezeBertForSequenceClassification", "SqueezeBertConfig",
          {**sqz.to_dict(), "num_labels": 2}),
      "bert": BenchmarkModel(
          "bert", labels[1], bert, sources[1], "BertForSequenceClassification",
          "BertConfig", {**bert_hf, "num_labels": 2}),
  }


@dataclasses.dataclass(frozen=True)
class Settings:
  seq_lengths: tuple = (64, 128, 256, 512)
  threads: tuple = (1, 2)
  rounds: int = 5
  round_seconds: float = 0.5  # per variant per round
  min_runs: int = 2
  max_runs: int = 50
  warmup_runs: int = 2
  conversion_workers: int = 2
  gemm_size: int = 1024
  torch: bool = True


QUICK_SETTINGS = Settings(seq_lengths=(16, 32), threads=(1,), rounds=3,
                          round_seconds=0.02, min_runs=2, max_runs=10,
                          warmup_runs=1, conversion_workers=1)


def litert_variants():
  return [q for q in tflite.QUANTIZATIONS if q not in SKIPPED_VARIANTS]


def check_settings(models, settings):
  """Raises SqzError for settings no model can run."""
  limit = min(m.config.max_position_embeddings for m in models.values())
  for n in settings.seq_lengths:
    if not 0 < n <= limit:
      raise SqzError(f"sequence length {n} is outside 1..{limit} "
                     "(max_position_embeddings)")
  for name in ("threads", "seq_lengths"):
    values = getattr(settings, name)
    if not values or len(set(values)) != len(values) or min(values) < 1:
      raise SqzError(f"{name} must be distinct positive integers, got "
                     f"{','.join(map(str, values))}")
  for name in ("rounds", "min_runs", "conversion_workers", "gemm_size"):
    if getattr(settings, name) < 1:
      raise SqzError(f"{name} must be positive, got {getattr(settings, name)}")
  if settings.max_runs < settings.min_runs or settings.warmup_runs < 0:
    raise SqzError("need max_runs >= min_runs and warmup_runs >= 0")
  if not settings.round_seconds >= 0:
    raise SqzError(f"round_seconds must be >= 0, got {settings.round_seconds}")


def random_inputs(config, seq_length, seed):
  """Random token ids, a padded tail of random length: calibration inputs."""
  rng = np.random.default_rng(seed)
  mask = np.ones((1, seq_length), np.int32)
  mask[:, rng.integers(seq_length // 2, seq_length + 1):] = 0
  ids = rng.integers(1, config.vocab_size, (1, seq_length)) * mask
  return {"input_word_ids": ids.astype(np.int32), "input_mask": mask,
          "input_type_ids": np.zeros((1, seq_length), np.int32)}


def _config_hash(values):
  text = json.dumps(values, sort_keys=True)
  return hashlib.sha1(text.encode()).hexdigest()[:10]


def exporter_version():
  """A digest of the exporter's source: what a converted file depends on."""
  digest = hashlib.sha1()
  directory = os.path.dirname(tflite.__file__)
  for name in sorted(os.listdir(directory)):
    if name.endswith(".py"):
      with open(os.path.join(directory, name), "rb") as f:
        digest.update(f.read())
  return digest.hexdigest()


def tflite_paths(models, variants, seq_lengths, model_dir):
  """(model key, variant, seq) -> cache file, named after what changes the
  file: the config, the exporter's source and TensorFlow (weights are random
  anyway). Named once per run: the exporter may be edited meanwhile."""
  exporter = exporter_version()
  paths = {}
  for m in models.values():
    key = _config_hash({**m.config.to_dict(), "exporter": exporter,
                        "tensorflow": report.package_version("tensorflow")})
    for variant in variants:
      for n in seq_lengths:
        paths[m.key, variant, n] = os.path.join(
            model_dir, f"{m.key}-{variant}-seq{n}-{key}.tflite")
  return paths


def conversion_jobs(models, paths, gemm_file, gemm_size):
  """The conversions whose file is not cached yet, longest first; the last
  is the GEMM model (`seq_length` is its size)."""
  jobs = [{"key": key, "config": models[key].config.to_dict(),
           "variant": variant, "seq_length": n, "path": path}
          for (key, variant, n), path in sorted(
              paths.items(), key=lambda item: -item[0][2])]
  jobs.append({"key": "gemm", "variant": "float32", "seq_length": gemm_size,
               "path": gemm_file})
  return [job for job in jobs if not os.path.exists(job["path"])]


_BUILT = {}  # model key -> Keras classifier, per conversion process


def _convert(job):
  """Runs in a conversion process: random-init classifier → .tflite file."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from sqz_tf.models import SqueezeBertClassifier  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  if job["key"] == "gemm":
    data = latency_worker.gemm_tflite(job["seq_length"])
  else:
    config = SqueezeBertConfig(**job["config"])
    if job["key"] not in _BUILT:
      tf.keras.utils.set_random_seed(0)  # latency does not depend on weights
      _BUILT[job["key"]] = SqueezeBertClassifier(config, num_labels=2)
    calibration = None
    if job["variant"] in tflite.NEEDS_REPRESENTATIVE_DATA:
      calibration = [random_inputs(config, job["seq_length"], seed)
                     for seed in range(CALIBRATION_SAMPLES)]
    data = tflite.convert(_BUILT[job["key"]], job["variant"],
                          job["seq_length"], batch_size=1,
                          representative_inputs=calibration)
  with atomic_output(job["path"], overwrite=True) as temporary:
    with open(temporary, "wb") as f:
      f.write(data)
  return time.perf_counter() - start


def _converted(jobs, processes):
  """(job, seconds or exception) as each finishes."""
  if not jobs:
    return
  if processes == 1:  # no process start-up (a TensorFlow import each)
    for job in jobs:
      try:
        yield job, _convert(job)
      except Exception as e:  # pylint: disable=broad-except
        yield job, e
    _BUILT.clear()
    return
  context = multiprocessing.get_context("spawn")
  with concurrent.futures.ProcessPoolExecutor(
      min(processes, len(jobs)), mp_context=context) as pool:
    futures = {pool.submit(_convert, job): job for job in jobs}
    for future in concurrent.futures.as_completed(futures):
      yield futures[future], future.exception() or future.result()


def convert_all(jobs, processes, log):
  """Converts in `processes` processes (1: this one); returns {path: error}."""
  failures, start = {}, time.perf_counter()
  if jobs:
    log(f"Converting {len(jobs)} TFLite models in {processes} process(es) "
        "(cached files are reused on a rerun)")
  for done, (job, outcome) in enumerate(_converted(jobs, processes), 1):
    name = (f"{job['key']} {job['variant']} seq {job['seq_length']}"
            if job["key"] != "gemm" else f"GEMM {job['seq_length']}²")
    if isinstance(outcome, Exception):
      failures[job["path"]] = (str(outcome).splitlines()[0] if str(outcome)
                               else repr(outcome))
      log(f"  [{done}/{len(jobs)}] {name}: FAILED: {failures[job['path']]}")
    else:
      log(f"  [{done}/{len(jobs)}] {name}: {outcome:.1f} s, "
          f"{os.path.getsize(job['path']) / 1e6:.1f} MB "
          f"({time.perf_counter() - start:.0f} s elapsed)")
  return failures


class _Benchmark:
  """One run: conversions, then every (threads, seq) cell, then results."""

  def __init__(self, models, settings, output_dir, log):
    self.models, self.settings, self.log = models, settings, log
    self.model_dir = os.path.join(output_dir, "models")
    self.variants = litert_variants()
    self.paths = tflite_paths(models, self.variants, settings.seq_lengths,
                              self.model_dir)
    self.gemm_file = os.path.join(self.model_dir,
                                  f"gemm-{settings.gemm_size}.tflite")
    self.notes = [SKIPPED_VARIANTS[q] + "." for q in tflite.QUANTIZATIONS
                  if q in SKIPPED_VARIANTS]
    self.entries, self.gemm, self.torch_specs, self.torch_sizes = [], [], [], {}
    self.first_pool = None

  def note(self, text):
    self.notes.append(text)
    self.log(text)

  def prepare(self):
    """Converts what is not cached; meanwhile writes the HF checkpoints and
    the first thread count's torch workers import torch (seconds each)."""
    os.makedirs(self.model_dir, exist_ok=True)
    saver = None
    if self.settings.torch:
      if all(importlib.util.find_spec(n) for n in ("torch", "transformers")):
        self.torch_specs = [{
            "key": m.key, "hf_class": m.hf_class,
            "config_class": m.hf_config_class, "config": m.hf_config,
            "path": os.path.join(self.model_dir,
                                 f"hf-{m.key}-{_config_hash(m.hf_config)}")}
                            for m in self.models.values()]
        saver = latency_worker.Worker(
            {"kind": "torch_save", "models": self.torch_specs}, 2)
      else:
        self.note("HF PyTorch references skipped: torch/transformers are not "
                  "importable (pip install -e \".[test]\").")
    self.first_pool = self._torch_pool(self.settings.threads[0])
    jobs = conversion_jobs(self.models, self.paths, self.gemm_file,
                           self.settings.gemm_size)
    for path, error in convert_all(jobs, self.settings.conversion_workers,
                                   self.log).items():
      self.notes.append(f"Conversion failed, {os.path.basename(path)}: {error}")
    if saver is not None:
      try:
        self.torch_sizes = saver.receive()["sizes"]
      except latency_worker.WorkerError as e:
        self.torch_specs = []
        self.first_pool.close(list(self.first_pool))
        self.note(f"HF PyTorch references skipped: {e}")
      saver.close()

  def _torch_pool(self, threads):
    """A pool holding the torch workers: one process for every length."""
    pool = latency_worker.Pool(threads, self.log)
    for spec in self.torch_specs:
      for variant in TORCH_VARIANTS:
        pool.start((spec["key"], variant), {
            "kind": "torch", "path": spec["path"],
            "hf_class": spec["hf_class"], "int8": variant == "torch_int8",
            "vocab_size": self.models[spec["key"]].config.vocab_size})
    return pool

  def measure(self):
    seqs, counts = sorted(self.settings.seq_lengths), self.settings.threads
    for index, threads in enumerate(counts):
      pool = self.first_pool if index == 0 else self._torch_pool(threads)
      torch_names = set(pool)
      for position, seq in enumerate(seqs):  # ascending: see the torch notes
        self.log(f"Measuring {seq} tokens, {threads} thread(s) (cell "
                 f"{index * len(seqs) + position + 1} of "
                 f"{len(counts) * len(seqs)})")
        pool.seq_length = seq
        self._start_cell_workers(pool, seq)
        pool.wait_imported()
        measured = latency_worker.measure_round_robin(pool, self.settings)
        self.notes += [f"{' '.join(name)} failed at {seq} tokens, {threads} "
                       f"thread(s): {error}"
                       for name, error in pool.failures.items()]
        pool.failures.clear()
        pool.close([name for name in pool if name not in torch_names])
        self._record(measured, seq, threads)
      pool.close(list(pool))

  def _start_cell_workers(self, pool, seq):
    pool.start(("gemm", "numpy"), {"kind": "gemm",
                                   "size": self.settings.gemm_size})
    if os.path.exists(self.gemm_file):
      pool.start(("gemm", "litert"), {"kind": "litert",
                                      "path": self.gemm_file})
    for model in self.models.values():
      for variant in self.variants:
        path = self.paths[model.key, variant, seq]
        if not os.path.exists(path):
          self.note(f"{model.key} {variant} at {seq} tokens: not measured, "
                    f"{os.path.basename(path)} is missing")
        else:
          pool.start((model.key, variant), {
              "kind": "litert", "path": path,
              "vocab_size": model.config.vocab_size})

  def _record(self, measured, seq, threads):
    cell = {"seq_length": seq, "threads": threads}
    gemm = [report.gemm_row(engine, measured.pop(("gemm", engine)),
                            self.settings.gemm_size, cell)
            for engine in ("numpy", "litert") if ("gemm", engine) in measured]
    if not gemm:
      raise SqzError("the GEMM reference failed; see the messages above")
    self.gemm += gemm
    peak = max(row["gflops_per_s"] for row in gemm)
    for (key, variant), m in measured.items():
      torch = variant in TORCH_VARIANTS
      size = (self.torch_sizes[key][variant] if torch
              else os.path.getsize(self.paths[key, variant, seq]))
      self.entries.append(report.entry(
          {"model": key, "variant": variant,
           "runtime": "torch" if torch else "litert", **cell}, m,
          model_facts(self.models[key].config, seq).flops_per_sequence,
          size, peak))

  def results(self):
    machine = report.machine_info()
    machine["gemm_gflops"] = report.gemm_peaks(self.gemm)
    seq, threads = report.pick_cell(self.settings.seq_lengths,
                                    self.settings.threads)
    labels = {key: m.label for key, m in self.models.items()}
    return {
        "machine": machine,
        "settings": {**dataclasses.asdict(self.settings), "batch_size": 1,
                     "calibration_samples": CALIBRATION_SAMPLES},
        "models": {key: {"label": m.label, "config_source": m.source,
                         "config": m.config.to_dict(), "hf_class": m.hf_class,
                         "parameters": model_facts(m.config).parameters}
                   for key, m in self.models.items()},
        "entries": self.entries, "gemm": self.gemm,
        "notes": self.notes + report.method_notes(self.torch_sizes, labels),
        "ratio_cell": {"seq_length": seq, "threads": threads},
        "ratios": report.ratios(self.entries, seq, threads, labels),
    }


def run_benchmark(models, settings, output_dir, log=print):
  """Converts, measures every cell; returns the results (see report.py)."""
  check_settings(models, settings)
  benchmark = _Benchmark(models, settings, output_dir, log)
  benchmark.prepare()
  benchmark.measure()
  return benchmark.results()
