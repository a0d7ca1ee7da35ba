"""Puts chosen int8 ops of a converted TFLite model back in float.

TFLite's converter quantizes every op of a quantization-aware model whose
inputs and outputs both carry ranges, e.g. a GELU between two fake-quantized
projections, or softmax(scores) x V. XNNPACK has no int8 kernels for some of
these, so each one splits the delegated graph and runs on TFLite's slower
kernels. This rewrites such an op as DEQUANTIZE -> float op -> QUANTIZE,
keeping the tensors' learned quantization parameters around it: the same
graph that int8_mixed post-training quantization produces.
"""

from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils

_BUILTIN_NAMES = {code: name for name, code in vars(schema.BuiltinOperator).items()
                  if not name.startswith("_")}


def _opcode_index(model, builtin):
  for index, opcode in enumerate(model.operatorCodes):
    if flatbuffer_utils.get_builtin_code_from_operator_code(opcode) == builtin:
      return index
  opcode = schema.OperatorCodeT()
  opcode.builtinCode = builtin
  opcode.deprecatedBuiltinCode = min(builtin, 127)
  opcode.version = 1
  model.operatorCodes.append(opcode)
  return len(model.operatorCodes) - 1


def _float_twin(subgraph, index):
  """A new float32 tensor shaped like tensor `index`; returns its index."""
  source = subgraph.tensors[index]
  twin = schema.TensorT()
  twin.shape = source.shape
  twin.shapeSignature = source.shapeSignature
  twin.type = schema.TensorType.FLOAT32
  twin.buffer = 0  # the empty buffer: an activation
  twin.name = (source.name or b"") + b"_float"
  subgraph.tensors.append(twin)
  return len(subgraph.tensors) - 1


def _unary(opcode_index, input_index, output_index):
  op = schema.OperatorT()
  op.opcodeIndex = opcode_index
  op.inputs = [input_index]
  op.outputs = [output_index]
  return op


def dequantize_ops(tflite_bytes, op_names):
  """`tflite_bytes` with every int8 op named in `op_names` computed in float.

  Returns (new bytes, number of ops rewritten).
  """
  model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
  dequantize = _opcode_index(model, schema.BuiltinOperator.DEQUANTIZE)
  quantize = _opcode_index(model, schema.BuiltinOperator.QUANTIZE)
  rewritten = 0
  for subgraph in model.subgraphs:
    operators = []
    for op in subgraph.operators:
      builtin = flatbuffer_utils.get_builtin_code_from_operator_code(
          model.operatorCodes[op.opcodeIndex])
      int8 = [i for i in list(op.inputs) + list(op.outputs)
              if i >= 0 and subgraph.tensors[i].type == schema.TensorType.INT8]
      if _BUILTIN_NAMES.get(builtin) not in op_names or not int8:
        operators.append(op)
        continue
      after = []
      for position, index in enumerate(op.inputs):
        if index in int8:
          twin = _float_twin(subgraph, index)
          operators.append(_unary(dequantize, index, twin))
          op.inputs[position] = twin
      for position, index in enumerate(op.outputs):
        if index in int8:
          twin = _float_twin(subgraph, index)
          after.append(_unary(quantize, twin, index))
          op.outputs[position] = twin
      operators += [op] + after
      rewritten += 1
    subgraph.operators = operators
  return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), rewritten
