"""tf.distribute strategies and mixed-precision policies by flag value."""

import tensorflow as tf

from sqz_tf.errors import SqzError

STRATEGIES = ("off", "one_device", "mirrored", "multi_worker_mirrored", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def get_strategy(name: str, num_gpus: int = 0, tpu: str = ""):
  """Returns the `tf.distribute.Strategy` named by `--distribution_strategy`.

  `mirrored` uses `num_gpus` GPUs, or every logical CPU device when there
  are none (tests split the CPU into logical devices). `multi_worker_mirrored`
  reads the cluster from `TF_CONFIG`. `tpu` connects to `tpu` (a name or
  grpc:// address; empty means the local TPU).
  """
  if name == "off":
    return tf.distribute.get_strategy()
  if name == "one_device":
    return tf.distribute.OneDeviceStrategy("/gpu:0" if num_gpus else "/cpu:0")
  if name == "mirrored":
    if num_gpus:
      devices = [f"/gpu:{index}" for index in range(num_gpus)]
    else:
      devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)
  if name == "multi_worker_mirrored":
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == "tpu":
    try:
      resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
      tf.config.experimental_connect_to_cluster(resolver)
      tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as e:
      raise SqzError(f"cannot reach TPU {tpu!r}: {str(e).splitlines()[0]}"
                     ) from None
    return tf.distribute.TPUStrategy(resolver)
  raise SqzError(f"unknown distribution strategy {name!r}; one of "
                 f"{', '.join(STRATEGIES)}")


def set_precision(policy: str):
  """Sets the global Keras policy; the models keep their float32 islands."""
  if policy not in PRECISIONS:
    raise SqzError(f"unknown precision {policy!r}; one of {', '.join(PRECISIONS)}")
  tf.keras.mixed_precision.set_global_policy(policy)


def is_chief(strategy) -> bool:
  """Whether this worker writes the model directory (others write scratch)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or (
      resolver is None or not resolver.task_type):
    return True
  return resolver.task_type == "chief" or (
      resolver.task_type == "worker" and resolver.task_id == 0 and
      "chief" not in resolver.cluster_spec().as_dict())
