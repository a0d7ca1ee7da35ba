"""In-process interleaved timing, for tools that compare a few TFLite models."""

import time


def round_robin(calls, runs, warmup_runs=5, cpu=None):
  """{name: [seconds]} of `runs` timed calls each, taken in turns.

  Every call runs once per round, so a noisy machine slows them alike;
  `warmup_runs` untimed calls of each come first. A dict given as `cpu`
  receives {name: [process CPU seconds]} of the same calls (all threads:
  steadier than wall time when other jobs share the cores).
  """
  for call in calls.values():
    for _ in range(warmup_runs):
      call()
  samples = {name: [] for name in calls}
  cpu = {} if cpu is None else cpu
  cpu.update({name: [] for name in calls})
  for _ in range(runs):
    for name, call in calls.items():
      start, start_cpu = time.perf_counter(), time.process_time()
      call()
      samples[name].append(time.perf_counter() - start)
      cpu[name].append(time.process_time() - start_cpu)
  return samples
