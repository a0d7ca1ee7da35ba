"""A quantization-aware copy of a float encoder or classifier, for QAT."""

from sqz_tf.errors import SqzError


def quantization_aware_copy(model):
  """The same model with tfmot fake-quantization, holding `model`'s weights.

  Starts quantization-aware finetuning from a float finetuned model. The
  copy has the float model's trainable weights in the same order, plus the
  quantizers' ranges (non-trainable), which training learns.

  Example:
  >>> qat = quantization_aware_copy(classifier)
  >>> qat.quantization_aware
  True
  """
  if not hasattr(model, "quantization_aware"):
    raise SqzError("quantization-aware training needs an sqz_tf encoder or "
                   f"classifier, not {type(model).__name__}")
  if model.quantization_aware:
    return model
  config = model.get_config()
  config["quantization_aware"] = True
  copy = type(model).from_config(config)
  for source, target in zip(model.trainable_weights, copy.trainable_weights,
                            strict=True):
    if source.shape != target.shape:
      raise SqzError(f"cannot copy {source.name} {source.shape} into "
                     f"{target.name} {target.shape}")
    target.assign(source)
  return copy
