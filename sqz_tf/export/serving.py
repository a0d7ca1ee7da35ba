"""A SavedModel that takes raw text: in-graph tokenizer + classifier.

    save_text_classifier(classifier, tokenizer, "serving/", pair=True)
    served = tf.saved_model.load("serving/")
    served.signatures["serving_default"](
        text_a=tf.constant(["A man sleeps."]), text_b=tf.constant(["He is."]))
    # {"logits": ..., "probabilities" or "score": ...}
"""

import tensorflow as tf

from sqz_tf.utils.files import atomic_output


class _TextClassifier(tf.Module):

  def __init__(self, classifier, tokenizer):
    super().__init__()
    self.classifier = classifier
    self.tokenizer = tokenizer

  def outputs(self, texts):
    features = self.tokenizer(texts if len(texts) > 1 else texts[0])
    logits = self.classifier(features, training=False)
    if self.classifier.num_labels == 1:
      return {"logits": logits, "score": logits[:, 0]}
    return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


def save_text_classifier(classifier, tokenizer, path, pair, overwrite=True):
  """Writes a SavedModel whose `serving_default` takes strings.

  Inputs `text_a` (and `text_b` when `pair`), string `[batch]`; outputs
  `logits` and `probabilities` (or `score` for regression).
  """
  module = _TextClassifier(classifier, tokenizer)
  text_a = tf.TensorSpec([None], tf.string, name="text_a")
  if pair:
    text_b = tf.TensorSpec([None], tf.string, name="text_b")
    serve = tf.function(lambda text_a, text_b: module.outputs(
        [text_a, text_b]), input_signature=[text_a, text_b])
  else:
    serve = tf.function(lambda text_a: module.outputs([text_a]),
                        input_signature=[text_a])
  with atomic_output(path, overwrite=overwrite) as temporary:
    tf.saved_model.save(module, temporary,
                        signatures={"serving_default": serve})
