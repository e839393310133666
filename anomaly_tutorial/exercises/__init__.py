"""Self-check exercises for the book's chapters.

Readers call ``check("<exercise-id>", answer)``; chapter authors register checkers in their own
module of this package with :func:`~anomaly_tutorial.exercises.registry.exercise`. See
:mod:`anomaly_tutorial.exercises.registry`. A checker's own exception (a bug in the checker)
propagates; only :class:`AnswerTypeError` turns into "Not quite".
"""

from anomaly_tutorial.exercises.registry import (
    AnswerTypeError,
    check,
    close_to,
    equals_text,
    exercise,
    in_range,
    list_exercises,
    reading_answer,
    same_items,
)

__all__ = [
    "AnswerTypeError",
    "check",
    "close_to",
    "equals_text",
    "exercise",
    "in_range",
    "list_exercises",
    "reading_answer",
    "same_items",
]
