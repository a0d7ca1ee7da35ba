"""Calibration in worker processes gives TFLite's own calibration, exactly."""

import os

import numpy as np
import pytest
import tensorflow as tf

from sqz_tf.errors import SqzError
from sqz_tf.export import lowering
from sqz_tf.export import parallel_calibration
from sqz_tf.export import tflite
from sqz_tf.export.calibration import sample_inputs
from sqz_tf.models import SqueezeBertClassifier
from tests.tiny_configs import tiny_config

SEQ_LENGTH = 16


@pytest.fixture(scope="module")
def classifier():
  tf.keras.utils.set_random_seed(0)
  return SqueezeBertClassifier(tiny_config("squeezebert_groups"),
                               num_labels=3)


def _examples(classifier, count=7):
  return [{name: value.astype(np.int32) for name, value in sample_inputs(
      classifier.model_config, 1, SEQ_LENGTH, seed=seed).items()}
          for seed in range(count)]


def _in_process(classifier, examples):
  """TFLite's converter, calibrating on `examples` in process (the
  reference)."""
  with lowering.lowered(classifier, "xnnpack", 1):
    converter = tflite._converter(classifier, 1, SEQ_LENGTH)  # pylint: disable=protected-access
  converter.optimizations = [tf.lite.Optimize.DEFAULT]
  converter.representative_dataset = lambda: iter(examples)
  return converter


def _calibrate_only(classifier, examples):
  converter = _in_process(classifier, examples)
  converter.experimental_mlir_quantizer = True
  converter._experimental_calibrate_only = True  # pylint: disable=protected-access
  return converter.convert()


def test_workers_give_tflites_calibration_byte_for_byte(classifier):
  examples = _examples(classifier)
  reference = _calibrate_only(classifier, examples)
  once = _calibrate_only(classifier, examples[:1])
  assert once != reference  # one example's ranges are not all examples'
  for workers in (1, 3):
    lines = []
    calibrated = parallel_calibration.calibrate(once, examples, workers,
                                                progress=lines.append)
    assert calibrated == reference, workers
  assert lines[0] == "Calibrating activation ranges on 7 examples (3 processes)"
  assert lines[-1].startswith("  calibrated in ")


def test_int8_mixed_export_equals_the_in_process_calibration(classifier,
                                                            monkeypatch):
  from tensorflow.lite.python import convert as lite_convert  # pylint: disable=g-import-not-at-top
  # The export's graph itself calibrated (not a twin: test_export_lowering).
  monkeypatch.setattr(lowering, "OPTIONS",
                      lowering.Options(int8_grouped_form="split"))
  examples = _examples(classifier)
  exported = tflite.convert(classifier, "int8_mixed", SEQ_LENGTH,
                            representative_inputs=examples)
  reference = lite_convert.mlir_quantize(
      _calibrate_only(classifier, examples),
      denylisted_ops=list(tflite.INT8_MIXED_FLOAT_OPS))
  assert exported == reference


def test_full_int8_export_is_tflites_converter_byte_for_byte(classifier):
  examples = _examples(classifier)
  converter = _in_process(classifier, examples)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
  reference = converter.convert()
  lines = []
  exported = tflite.convert(classifier, "int8", SEQ_LENGTH,
                            representative_inputs=examples,
                            progress=lines.append, calibration_workers=2)
  assert exported == reference
  assert "Calibrating activation ranges on 7 examples (2 processes)" in lines


def test_inputs_go_in_the_graphs_order(classifier):
  once = _calibrate_only(classifier, _examples(classifier, 1))
  example = {"input_mask": np.full([1, 4], 1), "input_type_ids": np.full(
      [1, 4], 2), "input_word_ids": np.full([1, 4], 3)}
  arrays = parallel_calibration.input_arrays(once, [example, example])
  order = [tflite.interpreter(once).get_input_details()[i]["name"]
           for i in range(3)]
  for name, array in zip(order, arrays):
    key = next(k for k in example if k in name)
    np.testing.assert_array_equal(array, [example[key]] * 2)
  with pytest.raises(SqzError, match="matches no single"):
    parallel_calibration.input_arrays(once, [{"input_ids": example[
        "input_word_ids"]}])


def test_a_failing_worker_is_one_line_of_error(classifier):
  once = _calibrate_only(classifier, _examples(classifier, 1))
  wrong = [{name: np.zeros([1, SEQ_LENGTH + 3], np.float32)
            for name in tflite.ENCODER_INPUTS}] * 2
  with pytest.raises(SqzError, match="^calibration failed: ") as error:
    parallel_calibration.calibrate(once, wrong, 2)
  assert "\n" not in str(error.value)


# A killed worker's reader thread must neither read its removed files nor
# report the kill as a failure.
@pytest.mark.filterwarnings(
    "error::pytest.PytestUnhandledThreadExceptionWarning")
def test_leaving_early_stops_the_workers_and_removes_their_files(classifier):
  examples = _examples(classifier)
  once = _calibrate_only(classifier, examples[:1])
  with parallel_calibration.Calibration(once, examples, 2) as calibration:
    workers = list(calibration._workers)  # pylint: disable=protected-access
    readers = list(calibration._readers)  # pylint: disable=protected-access
    directory = calibration._directory.name  # pylint: disable=protected-access
    assert os.path.isdir(directory)
  assert all(process.poll() is not None for process in workers)
  assert not any(reader.is_alive() for reader in readers)
  assert not calibration._errors  # pylint: disable=protected-access
  assert not os.path.exists(directory)
