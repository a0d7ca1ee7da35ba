"""Downstream task families over one abstraction (`FinetuningTask`).

    task = get_task("rte")            # a GLUE task: SentencePredictionTask
    split = task.load_split("glue/RTE", "dev", tokenizer)

`get_task` is how export and evaluation tools find a task by the name users
give on the command line; `model` (a loaded sqz_tf model) supplies what a
family reads from the model, such as its label names.
"""

from sqz_tf.data import glue
from sqz_tf.errors import SqzError
from sqz_tf.tasks.finetuning_task import FinetuningTask
from sqz_tf.tasks.finetuning_task import Split
from sqz_tf.tasks.finetuning_task import predict
from sqz_tf.tasks import question_answering
from sqz_tf.tasks.question_answering import QuestionAnsweringTask
from sqz_tf.tasks.sentence_prediction import SentencePredictionTask
from sqz_tf.tasks import tagging
from sqz_tf.tasks.multiple_choice import MultipleChoiceTask
from sqz_tf.tasks.tagging import TaggingTask

# Task names other than GLUE's -> factory(model or None) -> FinetuningTask.
FAMILIES = {
    "squad": question_answering.family(version_2_with_negative=False),
    "squad_v2": question_answering.family(version_2_with_negative=True),
}
# CoNLL-format tagging (NER): train/dev/test.txt or CoNLL-2003's eng.* files.
FAMILIES["tagging"] = lambda model: TaggingTask(
    labels=tagging.labels_for(model))
FAMILIES["conll2003"] = lambda model: TaggingTask(
    labels=tagging.labels_for(model), name="conll2003")
FAMILIES["swag"] = lambda model: MultipleChoiceTask()


def get_task(name, model=None) -> FinetuningTask:
  """The task users call `name`: a GLUE task or one of FAMILIES."""
  factory = FAMILIES.get(name.lower())
  if factory is not None:
    return factory(model)
  try:
    return SentencePredictionTask(glue.get_task(name))
  except glue.GlueError:
    known = [*glue.TASKS, *FAMILIES]
    raise SqzError(f"unknown task {name!r}; known: {', '.join(known)}") from None


__all__ = ["FAMILIES", "FinetuningTask", "MultipleChoiceTask",
           "QuestionAnsweringTask", "SentencePredictionTask", "Split",
           "TaggingTask", "get_task", "predict"]
