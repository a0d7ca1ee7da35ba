"""In-process interleaved timing, for tools that compare a few TFLite models."""

import time


def round_robin(calls, runs, warmup_runs=5):
  """{name: [seconds]} of `runs` timed calls each, taken in turns.

  Every call runs once per round, so a noisy machine slows them alike;
  `warmup_runs` untimed calls of each come first.
  """
  for call in calls.values():
    for _ in range(warmup_runs):
      call()
  samples = {name: [] for name in calls}
  for _ in range(runs):
    for name, call in calls.items():
      start = time.perf_counter()
      call()
      samples[name].append(time.perf_counter() - start)
  return samples
