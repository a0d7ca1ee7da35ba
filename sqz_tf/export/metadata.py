"""TFLite Model Metadata for MediaPipe Tasks: the app passes raw text.

MediaPipe's `TextClassifier` and `TextEmbedder` run a BERT-style `.tflite`
on a string when the file carries TFLite Model Metadata (MediaPipe's
metadata schema, file identifier "M001"): input tensor metadata named
`ids`, `mask` and `segment_ids`, a BertTokenizer input process unit whose
vocabulary is packed into the file and, for classifiers, a labels file on
the output. Packed files travel as a zip archive appended to the flatbuffer,
where MediaPipe's metadata extractor looks for them.

  tflite_bytes = attach(tflite_bytes, "text_classifier", vocab_bytes,
                        labels=["negative", "positive"])
  read(tflite_bytes).labels        # ("negative", "positive")

The metadata is built with the schema's flatbuffers module that ships in the
`mediapipe` wheel (the schema its runtime is compiled from); the model is
rewritten with ai_edge_litert's TFLite schema. mediapipe's own metadata
writer cannot be imported from its current wheels (it needs a compiled
module they lack), hence this small writer.
"""

import dataclasses
import io
import re
import zipfile
from typing import Optional, Tuple

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tflite_schema
from ai_edge_litert.tools import flatbuffer_utils

from sqz_tf.data import vocab as vocab_lib
from sqz_tf.errors import SqzError

TASKS = ("text_classifier", "text_embedder")
# Installed with --no-deps (its absl-py pin clashes with tfmot's; setup.py).
MEDIAPIPE_REQUIREMENT = "mediapipe==1.2.3"
METADATA_BUFFER_NAME = b"TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
VOCAB_FILE = "vocab.txt"
LABELS_FILE = "labels.txt"
# The newest schema members written are the input process units and the
# BertTokenizer options, both of schema 1.1.0 (older parsers must refuse).
MIN_PARSER_VERSION = "1.1.0"
# Our signature input -> the name MediaPipe's BERT preprocessor looks for.
INPUT_NAMES = {"input_word_ids": "ids", "input_mask": "mask",
               "input_type_ids": "segment_ids"}
_INPUT_DESCRIPTIONS = {
    "ids": "Token ids of [CLS] text [SEP], padded with 0.",
    "mask": "1 for real tokens, 0 for padding.",
    "segment_ids": "Token type ids; MediaPipe sets them all to 0.",
}
_OUTPUTS = {  # task -> (output name, description)
    "text_classifier": ("probability", "Probability of each label (softmax)."),
    "text_regressor": ("score", "The predicted score (raw regression output)."),
    "text_embedder": ("embedding", "Text embedding, one vector per text."),
}


class MetadataError(SqzError):
  """A model, vocabulary or label list that cannot be served this way."""


@dataclasses.dataclass(frozen=True)
class TextModelMetadata:
  """What a `.tflite` file's MediaPipe metadata says (see `read`)."""
  name: str
  description: str
  min_parser_version: str
  input_names: Tuple[str, ...]  # metadata names, in the model's input order
  input_tensors: Tuple[str, ...]  # the TFLite tensor names, same order
  tokenizer: str  # the input process unit's options type
  vocab: bytes  # the packed vocabulary file
  output_name: str
  labels: Optional[Tuple[str, ...]]  # None for embedders
  packed_files: Tuple[str, ...]

  @property
  def vocab_tokens(self):
    return vocab_lines(self.vocab)


def _metadata_schema():
  try:
    # pylint: disable-next=g-import-not-at-top
    from mediapipe.tasks.metadata import metadata_schema_py_generated
  except ImportError as e:
    raise MetadataError(
        f"MediaPipe metadata needs the mediapipe package ({e}): install "
        "sqz_tf's mediapipe extra, then pip install --no-deps "
        f"{MEDIAPIPE_REQUIREMENT}") from None
  return metadata_schema_py_generated


# Vocabulary and labels -------------------------------------------------------

def vocab_lines(data):
  """The lines of vocabulary bytes, less one trailing CR each (as MediaPipe)."""
  lines = data.decode("utf-8").split("\n")
  if lines and lines[-1] == "":
    lines.pop()
  return [line[:-1] if line.endswith("\r") else line for line in lines]


def check_vocab(data, vocab_size, path="vocab"):
  """The tokens of vocabulary bytes that MediaPipe reads as we do.

  MediaPipe skips empty lines (every later id would shift) and lets the last
  of duplicate tokens win (we take the first); it pads with id 0 and
  lower-cases ASCII text, so [PAD] must be id 0 and the vocabulary uncased.
  """
  try:
    tokens = vocab_lines(data)
  except UnicodeDecodeError as e:
    raise MetadataError(f"{path} is not UTF-8 text (byte {e.start})") from None
  empty = [i + 1 for i, token in enumerate(tokens) if not token.strip()]
  if empty:
    raise MetadataError(f"{path} has empty lines (line {empty[0]}): MediaPipe "
                        "skips them, so every later token id would shift")
  if any("\r" in token for token in tokens):
    raise MetadataError(f"{path} has a carriage return inside a token")
  seen = {}
  for i, token in enumerate(tokens):
    if token in seen:
      raise MetadataError(f"{path} lists {token!r} twice (lines "
                          f"{seen[token] + 1} and {i + 1}): MediaPipe would "
                          "use the last id, our tokenizer the first")
    seen[token] = i
  if len(tokens) != vocab_size:
    raise MetadataError(f"{path} has {len(tokens)} tokens, the model's "
                        f"embedding table {vocab_size}: not the model's "
                        "vocabulary")
  missing = [t for t in (vocab_lib.CLS, vocab_lib.SEP, vocab_lib.UNK,
                         vocab_lib.PAD) if t not in seen]
  if missing:
    raise MetadataError(f"{path} lacks {', '.join(missing)}, which "
                        "MediaPipe's BERT tokenizer needs")
  if seen[vocab_lib.PAD] != 0:
    raise MetadataError(f"{path} has [PAD] at id {seen[vocab_lib.PAD]}: "
                        "MediaPipe pads with id 0")
  cased = [t for t in tokens if re.search("[A-Z]", t)
           and not (t.startswith("[") and t.endswith("]"))]
  if cased:
    raise MetadataError(
        f"{path} is cased (it has tokens like {cased[0]!r}): MediaPipe "
        "lower-cases ASCII text and has no switch to keep case")
  return tokens


def check_labels(labels, num_outputs):
  labels = [str(label) for label in labels]
  if len(labels) != num_outputs:
    raise MetadataError(f"{len(labels)} labels for a model with "
                        f"{num_outputs} outputs")
  for label in labels:
    if not label.strip() or "\n" in label or "\r" in label:
      raise MetadataError(f"label {label!r} is empty or has a line break")
  if len(set(labels)) != len(labels):
    raise MetadataError(f"labels repeat: {', '.join(labels)}")
  return labels


# Writing ---------------------------------------------------------------------

def _signature_inputs(model):
  """Our input names in the order of the subgraph's input tensors."""
  if len(model.subgraphs) != 1 or len(model.signatureDefs or []) != 1:
    raise MetadataError("expected a TFLite model with one subgraph and one "
                        "signature, as export_tflite writes")
  by_tensor = {entry.tensorIndex: entry.name.decode()
               for entry in model.signatureDefs[0].inputs}
  subgraph = model.subgraphs[0]
  names = [by_tensor.get(index) for index in subgraph.inputs]
  if sorted(map(str, names)) != sorted(INPUT_NAMES):
    raise MetadataError(f"the model's inputs are {names}, not "
                        f"{', '.join(INPUT_NAMES)}")
  for index in subgraph.inputs:
    tensor = subgraph.tensors[index]
    if tensor.type != tflite_schema.TensorType.INT32:
      raise MetadataError("MediaPipe feeds int32 token ids; the model's "
                          "inputs have another type")
    if len(tensor.shape) != 2 or tensor.shape[0] != 1:
      raise MetadataError(f"inputs of shape {list(tensor.shape)}: MediaPipe "
                          "feeds one text at a time (export with "
                          "--batch_size=1)")
  if len(subgraph.outputs) != 1:
    raise MetadataError(f"the model has {len(subgraph.outputs)} outputs; "
                        "MediaPipe text tasks need exactly one")
  return names, [subgraph.tensors[i].name.decode() for i in subgraph.inputs]


def _output_shape(model):
  subgraph = model.subgraphs[0]
  return list(subgraph.tensors[subgraph.outputs[0]].shape)


def _feature_content(fb):
  content = fb.ContentT()
  content.contentPropertiesType = fb.ContentProperties.FeatureProperties
  content.contentProperties = fb.FeaturePropertiesT()
  return content


def _file(fb, name, description, file_type):
  packed = fb.AssociatedFileT()
  packed.name, packed.description, packed.type = name, description, file_type
  return packed


def _tensor(fb, name, description, files=None):
  tensor = fb.TensorMetadataT()
  tensor.name, tensor.description = name, description
  tensor.content = _feature_content(fb)
  tensor.associatedFiles = files
  return tensor


def _metadata_bytes(task, input_order, name, description, labels):
  fb = _metadata_schema()
  subgraph = fb.SubGraphMetadataT()
  subgraph.inputTensorMetadata = [
      _tensor(fb, INPUT_NAMES[n], _INPUT_DESCRIPTIONS[INPUT_NAMES[n]])
      for n in input_order]
  tokenizer = fb.ProcessUnitT()
  tokenizer.optionsType = fb.ProcessUnitOptions.BertTokenizerOptions
  tokenizer.options = fb.BertTokenizerOptionsT()
  tokenizer.options.vocabFile = [_file(
      fb, VOCAB_FILE, "WordPiece vocabulary, one token per line, id = line.",
      fb.AssociatedFileType.VOCABULARY)]
  subgraph.inputProcessUnits = [tokenizer]
  output_name, output_description = _OUTPUTS[task]
  files = None
  if labels is not None:
    files = [_file(fb, LABELS_FILE, "One label per output, in order.",
                   fb.AssociatedFileType.TENSOR_AXIS_LABELS)]
  subgraph.outputTensorMetadata = [
      _tensor(fb, output_name, output_description, files)]
  metadata = fb.ModelMetadataT()
  metadata.name, metadata.description = name, description
  metadata.subgraphMetadata = [subgraph]
  metadata.minParserVersion = MIN_PARSER_VERSION
  builder = flatbuffers.Builder(1024)
  builder.Finish(metadata.Pack(builder), METADATA_IDENTIFIER)
  return bytes(builder.Output())


def _zip(files):
  archive = io.BytesIO()
  # Stored, not deflated: MediaPipe maps the files straight from the model.
  with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
    for name, data in files.items():
      info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
      z.writestr(info, data)
  return archive.getvalue()


def attach(tflite_bytes, task, vocab_bytes, labels=None, name=None,
           description=""):
  """`tflite_bytes` with MediaPipe metadata and its packed files.

  `task` is "text_classifier" (one `[1, num_labels]` output of
  probabilities, or `[1, 1]` scores for regression; `labels` names them) or
  "text_embedder" (one `[1, hidden]` output). `vocab_bytes` is the
  vocabulary file exactly as the model was trained with: it is packed
  byte for byte. Check it first with `check_vocab`.
  """
  if task not in TASKS:
    raise MetadataError(f"task must be one of {', '.join(TASKS)}")
  model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
  input_order, _ = _signature_inputs(model)
  if any(m.name == METADATA_BUFFER_NAME for m in model.metadata or []):
    raise MetadataError("the model already carries TFLite metadata")
  if any((buffer.offset or 0) > 1 for buffer in model.buffers):
    raise MetadataError("the model keeps its weights outside the flatbuffer "
                        "(over 2 GB); MediaPipe metadata is not supported")
  shape = _output_shape(model)
  if len(shape) != 2 or shape[0] != 1:
    raise MetadataError(f"the output has shape {shape}; MediaPipe needs "
                        "[1, n]")
  files = {VOCAB_FILE: bytes(vocab_bytes)}
  if task == "text_classifier":
    labels = check_labels(labels or [], shape[1])
    files[LABELS_FILE] = ("\n".join(labels) + "\n").encode("utf-8")
    kind = "text_regressor" if shape[1] == 1 else task
  else:
    if labels:
      raise MetadataError("an embedder has no labels")
    labels, kind = None, task
  name = name or ("SqueezeBERT " + task.replace("_", " "))
  metadata = _metadata_bytes(kind, input_order, name, description, labels)
  buffer = tflite_schema.BufferT()
  buffer.data = np.frombuffer(metadata, np.uint8)
  model.buffers.append(buffer)
  entry = tflite_schema.MetadataT()
  entry.name = METADATA_BUFFER_NAME
  entry.buffer = len(model.buffers) - 1
  model.metadata = list(model.metadata or []) + [entry]
  return (bytes(flatbuffer_utils.convert_object_to_bytearray(model)) +
          _zip(files))


# Reading ---------------------------------------------------------------------

def _metadata_buffer(tflite_bytes):
  try:
    model = tflite_schema.Model.GetRootAs(tflite_bytes, 0)
    for i in range(model.MetadataLength()):
      entry = model.Metadata(i)
      if entry.Name() == METADATA_BUFFER_NAME:
        return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
  except Exception:  # pylint: disable=broad-except
    raise MetadataError("not a valid TFLite model") from None
  return None


def _packed_files(tflite_bytes):
  try:
    with zipfile.ZipFile(io.BytesIO(tflite_bytes)) as z:
      return {name: z.read(name) for name in z.namelist()}
  except zipfile.BadZipFile:
    return {}


def _text(value):
  return value.decode("utf-8") if isinstance(value, bytes) else (value or "")


def read(tflite_bytes):
  """The file's MediaPipe text-model metadata, or None if it has none."""
  data = _metadata_buffer(bytes(tflite_bytes))
  if data is None:
    return None
  fb = _metadata_schema()
  if not fb.ModelMetadata.ModelMetadataBufferHasIdentifier(data, 0):
    raise MetadataError("the TFLITE_METADATA buffer is not MediaPipe "
                        "metadata (identifier M001)")
  metadata = fb.ModelMetadataT.InitFromObj(
      fb.ModelMetadata.GetRootAs(data, 0))
  subgraph = metadata.subgraphMetadata[0]
  files = _packed_files(bytes(tflite_bytes))
  units = subgraph.inputProcessUnits or []
  tokenizer = next((k for k, v in vars(fb.ProcessUnitOptions).items()
                    if units and v == units[0].optionsType), "NONE")
  vocab_name = (_text(units[0].options.vocabFile[0].name)
                if tokenizer == "BertTokenizerOptions" else None)
  output = subgraph.outputTensorMetadata[0]
  labels = None
  for packed in output.associatedFiles or []:
    if packed.type == fb.AssociatedFileType.TENSOR_AXIS_LABELS:
      labels = tuple(files[_text(packed.name)].decode("utf-8").splitlines())
  model = tflite_schema.Model.GetRootAs(bytes(tflite_bytes), 0)
  graph = model.Subgraphs(0)
  input_tensors = tuple(graph.Tensors(graph.Inputs(i)).Name().decode()
                        for i in range(graph.InputsLength()))
  return TextModelMetadata(
      name=_text(metadata.name), description=_text(metadata.description),
      min_parser_version=_text(metadata.minParserVersion),
      input_names=tuple(_text(t.name) for t in subgraph.inputTensorMetadata),
      input_tensors=input_tensors, tokenizer=tokenizer,
      vocab=files.get(vocab_name, b""), output_name=_text(output.name),
      labels=labels, packed_files=tuple(files))
