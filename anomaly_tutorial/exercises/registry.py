"""Registry of exercise checkers and the helpers checkers are written with.

A chapter registers its checkers in its own module ``anomaly_tutorial/exercises/<slug>.py``::

    from anomaly_tutorial.exercises.registry import close_to, exercise

    @exercise("ocsf-1", hint="Filter class_uid 3002 and status_id 2, then count per IP.")
    def _check(answer) -> bool:
        expected = ...  # computed with package functions on deterministic data
        return close_to(answer, expected, rtol=0.01)

and readers call :func:`check`. Every submodule of :mod:`anomaly_tutorial.exercises` is
imported on first use, so no shared file needs editing. Expected answers are never printed.

Who is to blame for an error matters. An answer of the wrong kind is the reader's problem and
gets a "Not quite" that says what kind of answer is expected: the helpers below raise
:class:`AnswerTypeError` for it, and a checker that converts the answer itself does so inside
:func:`reading_answer`. Any other exception raised by a checker is a bug in the checker; it
propagates (with a note naming the checker) instead of being reported as a wrong answer, so a
broken exercise fails the chapter's execution rather than telling every reader "Not quite".
"""

from __future__ import annotations

import difflib
import importlib
import numbers
import pkgutil
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

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

Checker = Callable[[object], bool]

_PACKAGE = "anomaly_tutorial.exercises"
_NOT_CHAPTER_MODULES = frozenset({"registry"})


class AnswerTypeError(TypeError):
    """The answer has the wrong type or shape; the message is shown to the reader.

    Messages must describe what kind of answer is expected, never the expected value.
    """


@contextmanager
def reading_answer(expected_kind: str) -> Iterator[None]:
    """Treat a ``TypeError`` or ``ValueError`` raised inside the block as the answer's fault.

    Wrap only the lines that convert or take apart the reader's answer; the checker's own
    computations stay outside, so their bugs propagate.

    Parameters
    ----------
    expected_kind : str
        What the answer should be, for the message ("a number", "a list of type names").

    Raises
    ------
    AnswerTypeError
        From a ``TypeError`` or ``ValueError`` raised in the block; the original error is
        chained as ``__cause__``.

    Examples
    --------
    >>> with reading_answer("a whole number of windows"):
    ...     n = int(answer)  # doctest: +SKIP
    """
    try:
        yield
    except AnswerTypeError:
        raise
    except (TypeError, ValueError) as err:
        raise AnswerTypeError(f"expected {expected_kind} ({type(err).__name__}: {err})") from err


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its id, checker, hint and optional explanation."""

    exercise_id: str
    checker: Checker
    hint: str
    why: str | None
    origin: str


_REGISTRY: dict[str, Exercise] = {}
_loaded = False


def exercise(
    exercise_id: str, *, hint: str, why: str | None = None
) -> Callable[[Checker], Checker]:
    """Register the decorated function as the checker of ``exercise_id``.

    Parameters
    ----------
    exercise_id : str
        Id readers pass to :func:`check`, e.g. ``"ocsf-1"`` (chapter slug + number).
    hint : str
        Shown after a wrong answer; must not give the answer away.
    why : str, optional
        Short explanation shown after a correct answer.

    Returns
    -------
    callable
        The decorator; the checker (answer -> bool) is returned unchanged.

    Raises
    ------
    ValueError
        Empty id or hint, or an id already registered by a different function.
    """
    if not isinstance(exercise_id, str) or not exercise_id.strip():
        raise ValueError(f"exercise_id must be a non-empty string, got {exercise_id!r}")
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError(f"exercise {exercise_id!r}: hint must be a non-empty string")

    def register(checker: Checker) -> Checker:
        if not callable(checker):
            raise TypeError(f"exercise {exercise_id!r}: the checker must be callable")
        origin = f"{checker.__module__}.{checker.__qualname__}"
        known = _REGISTRY.get(exercise_id)
        if known is not None and known.origin != origin:
            raise ValueError(
                f"exercise id {exercise_id!r} is already registered by {known.origin}; "
                f"pick another id for {origin}"
            )
        _REGISTRY[exercise_id] = Exercise(exercise_id, checker, hint, why, origin)
        return checker

    return register


def unregister(exercise_id: str) -> None:
    """Remove an exercise (for tests that register a temporary one)."""
    _REGISTRY.pop(exercise_id, None)


def load_all() -> None:
    """Import every chapter module of :mod:`anomaly_tutorial.exercises` once."""
    global _loaded
    if _loaded:
        return
    package = importlib.import_module(_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in _NOT_CHAPTER_MODULES:
            continue
        module = f"{_PACKAGE}.{info.name}"
        try:
            importlib.import_module(module)
        except Exception as err:
            raise ImportError(f"could not load exercise module {module}: {err}") from err
    _loaded = True


def list_exercises() -> list[str]:
    """Sorted ids of all registered exercises."""
    load_all()
    return sorted(_REGISTRY)


def _lookup(exercise_id: str) -> Exercise:
    load_all()
    if exercise_id in _REGISTRY:
        return _REGISTRY[exercise_id]
    known = sorted(_REGISTRY)
    close = difflib.get_close_matches(str(exercise_id), known, n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    raise KeyError(
        f"unknown exercise id {exercise_id!r}.{suggestion} Known ids: {', '.join(known)}"
    )


def check(exercise_id: str, answer: object, *, quiet: bool = False) -> bool:
    """Tell the reader whether ``answer`` solves exercise ``exercise_id``.

    Prints ``"Correct!"`` (with a short explanation when the exercise has one) or
    ``"Not quite. Hint: ..."``; the expected answer is never printed. An answer of the wrong
    type (an :class:`AnswerTypeError` from the checker) gets a "Not quite" that says what kind
    of answer is expected.

    Parameters
    ----------
    exercise_id : str
        Id shown next to the exercise in the book.
    answer : object
        The reader's answer.
    quiet : bool, default False
        Return the verdict without printing.

    Returns
    -------
    bool
        Whether the answer is right.

    Raises
    ------
    KeyError
        Unknown exercise id (the message lists the known ids and a close match).
    Exception
        Whatever the checker raised other than :class:`AnswerTypeError`: a bug in the
        checker, not a wrong answer. A note on the exception names the checker.
    """
    entry = _lookup(exercise_id)
    problem = None
    try:
        correct = bool(entry.checker(answer))
    except AnswerTypeError as err:
        correct, problem = False, str(err)
    except Exception as err:
        err.add_note(
            f"raised by {entry.origin}, the checker of exercise {exercise_id!r}: a bug in the "
            f"checker, not in the answer"
        )
        raise
    if not quiet:
        if correct:
            print(f"Correct! {entry.why}" if entry.why else "Correct!")
        elif problem:
            print(f"Not quite: {problem}. Hint: {entry.hint}")
        else:
            print(f"Not quite. Hint: {entry.hint}")
    return correct


def _numeric_array(value: object, role: str) -> np.ndarray:
    """``value`` as floats: a bad answer is the reader's error, a bad expected the checker's."""
    if role == "expected":
        if isinstance(value, str | bytes):
            raise TypeError(f"the checker's expected value is text, not numbers: {value!r}")
        array = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(array)):
            raise ValueError("the checker's expected value is not finite")
        return array
    if isinstance(value, str | bytes | bool | np.bool_):
        raise AnswerTypeError(f"expected a number or numbers, got {type(value).__name__}")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AnswerTypeError(f"expected a number or numbers, got {type(value).__name__}") from None


def close_to(answer: object, expected: object, *, rtol: float = 1e-6, atol: float = 0.0) -> bool:
    """Whether a number (or array of numbers) matches ``expected`` within tolerances.

    Uses ``|answer - expected| <= atol + rtol * |expected|`` element-wise. A different shape
    is a wrong answer; a non-numeric answer raises :class:`AnswerTypeError`.
    """
    got = _numeric_array(answer, "answer")
    want = _numeric_array(expected, "expected")
    if got.shape != want.shape:
        if want.ndim == 0:
            raise AnswerTypeError(f"expected a single number, got an array of shape {got.shape}")
        return False
    return bool(np.all(np.isfinite(got)) and np.allclose(got, want, rtol=rtol, atol=atol))


def _norm_text(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(value))
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def same_items(answer: object, expected: Iterable[object]) -> bool:
    """Whether ``answer`` holds the same items as ``expected``, in any order.

    Items are compared as normalised text (stripped, case-folded, whole numbers without a
    decimal point), counting repeats. A single string or a non-iterable answer raises
    :class:`AnswerTypeError`.
    """
    if isinstance(answer, str | bytes) or not isinstance(answer, Iterable):
        raise AnswerTypeError(
            f"expected a collection of items (list, set, Series), got {type(answer).__name__}"
        )
    if isinstance(answer, dict):
        raise AnswerTypeError("expected a collection of items (list, set, Series), got a dict")
    with reading_answer("a collection of items (list, set, Series)"):
        given = Counter(map(_norm_text, answer))
    return given == Counter(map(_norm_text, expected))


def equals_text(answer: object, expected: str) -> bool:
    """Whether the text ``answer`` equals ``expected`` ignoring case and runs of whitespace."""
    if not isinstance(answer, str):
        raise AnswerTypeError(f"expected text (a str), got {type(answer).__name__}")
    return _norm_text(answer) == _norm_text(expected)


def in_range(answer: object, lo: float, hi: float) -> bool:
    """Whether a single number ``answer`` lies in ``[lo, hi]``."""
    value = _numeric_array(answer, "answer")
    if value.ndim != 0:
        raise AnswerTypeError(f"expected a single number, got an array of shape {value.shape}")
    return bool(lo <= float(value) <= hi)
