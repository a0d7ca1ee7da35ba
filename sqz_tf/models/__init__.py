"""SqueezeBERT Keras models: encoder, pretrainer, task models; size facts."""

from sqz_tf.models.classifier import SqueezeBertClassifier
from sqz_tf.models.encoder import SqueezeBertEncoder
from sqz_tf.models.facts import ModelFacts
from sqz_tf.models.facts import model_facts
from sqz_tf.models.multiple_choice import SqueezeBertMultipleChoice
from sqz_tf.models.pretrainer import SqueezeBertPretrainer
from sqz_tf.models.token_classifier import SqueezeBertTokenClassifier
from sqz_tf.models.question_answerer import SqueezeBertQuestionAnswerer
