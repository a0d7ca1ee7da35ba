"""Edits of converted TFLite flatbuffers that the converter cannot make.

    data = with_default_input_shape(data, [1, 128])   # dims of [1, -1] inputs
    calibrated = with_ranges_of(float_model, calibrated_twin)
    calibrated = with_ranges(calibrated, tensor_indexes, mins, maxes)
"""

from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils


def with_default_input_shape(tflite_bytes, shape):
  """The model with its inputs' default shape set to `shape`.

  A dynamic dimension is -1 in an input's shape signature and 1 in its
  shape, which is what `benchmark_model` runs and what MediaPipe takes as
  the maximum length; the signature keeps its -1. Edited in place (a
  vector of the same length), so even a large model costs nothing.
  """
  data = bytearray(tflite_bytes)
  subgraph = schema.Model.GetRootAs(data, 0).Subgraphs(0)
  for position in range(subgraph.InputsLength()):
    tensor = subgraph.Tensors(subgraph.Inputs(position))
    tensor.ShapeAsNumpy()[:] = shape
  return bytes(data)


def with_ranges_of(float_model, calibrated):
  """`float_model` carrying the calibrated activation ranges of the tensors
  of the same name in `calibrated` (a calibrated twin, e.g. the same graph
  at a fixed length); the quantizer then gives both the same int8 scales.

  A CONV_2D's output, which the converter names after the op and so after
  its filter, takes the range of the twin's tensor named as the filter:
  `lowering`'s "conv_twin" computes a grouped convolution by other ops and
  gives their result the convolution's name. A RESHAPE output the twin
  lacks (it may fold the reshape into the next op) takes its input's.
  """
  model = flatbuffer_utils.convert_bytearray_to_object(bytearray(float_model))
  source = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
  ranges = {tensor.name: tensor.quantization
            for tensor in source.subgraphs[0].tensors
            if tensor.quantization is not None and
            tensor.quantization.min is not None}
  tensors = model.subgraphs[0].tensors
  for tensor in tensors:
    if tensor.name in ranges:
      tensor.quantization = ranges[tensor.name]
  ops = {index: max(code.builtinCode, code.deprecatedBuiltinCode)
         for index, code in enumerate(model.operatorCodes)}
  for op in model.subgraphs[0].operators:  # in order: ranges flow on
    output = tensors[op.outputs[0]]
    if output.name in ranges:
      continue
    if ops[op.opcodeIndex] == schema.BuiltinOperator.CONV_2D:
      source = ranges.get(tensors[op.inputs[1]].name)
    elif ops[op.opcodeIndex] == schema.BuiltinOperator.RESHAPE:
      source = tensors[op.inputs[0]].quantization  # the same values
    else:
      continue
    if source is not None and source.min is not None:
      output.quantization = source
  return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def with_ranges(model_bytes, index, low, high):
  """The model with tensor `index[i]`'s one-value range set to
  (`low[i]`, `high[i]`), edited in place (same vector lengths)."""
  data = bytearray(model_bytes)
  subgraph = schema.Model.GetRootAs(data, 0).Subgraphs(0)
  for tensor, minimum, maximum in zip(index, low, high):
    quantization = subgraph.Tensors(int(tensor)).Quantization()
    quantization.MinAsNumpy()[:] = minimum
    quantization.MaxAsNumpy()[:] = maximum
  return bytes(data)
