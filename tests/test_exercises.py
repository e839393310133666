"""Tests of the exercise registry and the evaluation_basics exercises."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from anomaly_tutorial.evaluate import precision_at_k
from anomaly_tutorial.exercises import (
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
from anomaly_tutorial.exercises import evaluation_basics as eb
from anomaly_tutorial.exercises.registry import unregister

SECRET = 4817.25


@pytest.fixture
def secret_exercise() -> Iterator[str]:
    exercise_id = "test-secret-1"

    @exercise(exercise_id, hint="Add the two numbers.", why="4800 + 17.25.")
    def _check(answer: object) -> bool:
        return close_to(answer, SECRET, rtol=1e-9)

    yield exercise_id
    unregister(exercise_id)


def test_registered_exercise_is_listed(secret_exercise: str) -> None:
    ids = list_exercises()
    assert secret_exercise in ids
    assert {"evaluation-basics-1", "evaluation-basics-2"} <= set(ids)
    assert ids == sorted(ids)


def test_correct_and_incorrect_answers(
    secret_exercise: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(secret_exercise, 4817.25) is True
    assert capsys.readouterr().out.strip() == "Correct! 4800 + 17.25."
    assert check(secret_exercise, 4817.0) is False
    out = capsys.readouterr().out
    assert out.startswith("Not quite. Hint: Add the two numbers.")
    assert "4817.25" not in out


@pytest.mark.parametrize("answer", ["4817.25", None, {"a": 1}, [1.0, 2.0], True, object()])
def test_wrong_type_is_a_hint_not_a_traceback(
    secret_exercise: str, answer: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(secret_exercise, answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not quite")
    assert "Hint: Add the two numbers." in out
    assert "4817" not in out


@pytest.fixture
def buggy_exercise() -> Iterator[str]:
    """A checker with a bug of its own: it divides by an empty count."""
    exercise_id = "test-buggy-1"

    @exercise(exercise_id, hint="Any number.")
    def _check(answer: object) -> bool:
        counts: list[int] = []
        return close_to(answer, 1.0 / len(counts))

    yield exercise_id
    unregister(exercise_id)


@pytest.fixture
def converting_exercise() -> Iterator[str]:
    """A checker that converts the answer itself, inside ``reading_answer``."""
    exercise_id = "test-converting-1"

    @exercise(exercise_id, hint="A whole number of windows.")
    def _check(answer: object) -> bool:
        with reading_answer("a whole number of windows"):
            n_windows = int(answer)
        return n_windows == 12

    yield exercise_id
    unregister(exercise_id)


@pytest.mark.parametrize("answer", [4817.25, "4817.25", None])
def test_a_bug_in_a_checker_propagates_instead_of_saying_not_quite(
    buggy_exercise: str, answer: object, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ZeroDivisionError) as info:
        check(buggy_exercise, answer)
    assert capsys.readouterr().out == ""  # no "Not quite" for the reader
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "test-buggy-1" in notes and "bug in the checker" in notes
    assert "_check" in notes  # names the checker function


def test_a_checker_whose_expected_value_is_broken_raises() -> None:
    @exercise("test-nan-expected-1", hint="Any number.")
    def _check(answer: object) -> bool:
        return close_to(answer, float("nan"))

    try:
        with pytest.raises(ValueError, match="expected value is not finite"):
            check("test-nan-expected-1", 1.0)
        with pytest.raises(TypeError, match="expected value is text"):
            close_to(1.0, "1.0")
    finally:
        unregister("test-nan-expected-1")


@pytest.mark.parametrize("answer", ["twelve", None, [1, 2]])
def test_conversion_of_the_answer_inside_reading_answer_is_the_answers_fault(
    converting_exercise: str, answer: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(converting_exercise, answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not quite: expected a whole number of windows")
    assert out.rstrip().endswith("Hint: A whole number of windows.")
    assert check(converting_exercise, "12", quiet=True) is True


def test_reading_answer_leaves_other_errors_alone() -> None:
    with pytest.raises(KeyError), reading_answer("a number"):
        raise KeyError("a bug")
    with pytest.raises(AnswerTypeError, match=r"expected a number \(ValueError: "), reading_answer(
        "a number"
    ):
        float("x")


def test_quiet_prints_nothing(secret_exercise: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(secret_exercise, SECRET, quiet=True) is True
    assert check(secret_exercise, 1.0, quiet=True) is False
    assert capsys.readouterr().out == ""


def test_unknown_id_lists_known_ids_and_close_match() -> None:
    with pytest.raises(KeyError) as info:
        check("evaluation-basic-1", 0.5)
    message = str(info.value)
    assert "Did you mean 'evaluation-basics-1'" in message
    assert "evaluation-basics-2" in message


def test_duplicate_id_from_another_function_is_refused(secret_exercise: str) -> None:
    with pytest.raises(ValueError, match="already registered"):

        @exercise(secret_exercise, hint="other")
        def _other(answer: object) -> bool:
            return True


def test_close_to() -> None:
    assert close_to(1.0 + 1e-9, 1.0)
    assert not close_to(1.1, 1.0, rtol=0.05)
    assert close_to(1.04, 1.0, rtol=0.05)
    assert close_to([1, 2, 3], np.array([1.0, 2.0, 3.0]))
    assert not close_to([1, 2], [1, 2, 3])
    assert not close_to(float("nan"), 1.0)
    with pytest.raises(AnswerTypeError):
        close_to("1.0", 1.0)
    with pytest.raises(AnswerTypeError, match="single number"):
        close_to([1.0, 1.0], 1.0)


def test_same_items_equals_text_in_range() -> None:
    assert same_items(["10.0.0.2", " 10.0.0.1"], {"10.0.0.1", "10.0.0.2"})
    assert same_items([3, 1.0], ["1", "3"])
    assert not same_items(["a", "a", "b"], ["a", "b"])
    assert not same_items(["a"], ["a", "b"])
    with pytest.raises(AnswerTypeError):
        same_items("ab", ["a", "b"])

    def broken_items():
        yield "a"
        raise ValueError("the reader's generator broke")

    with pytest.raises(AnswerTypeError, match="collection of items"):
        same_items(broken_items(), ["a"])
    assert equals_text("  Brute   FORCE ", "brute force")
    assert not equals_text("brute", "brute force")
    with pytest.raises(AnswerTypeError):
        equals_text(3, "3")
    assert in_range(0.3, 0.2, 0.4)
    assert not in_range(0.5, 0.2, 0.4)
    with pytest.raises(AnswerTypeError):
        in_range([0.3], 0.2, 0.4)


def test_evaluation_basics_answers(capsys: pytest.CaptureFixture[str]) -> None:
    prevalence = sum(eb.BASE_RATE_LABELS) / len(eb.BASE_RATE_LABELS)
    assert check("evaluation-basics-1", prevalence)
    assert not check("evaluation-basics-1", 0.5)
    # The tie rule matters: stable order takes the two normal rows scored 0.7 first.
    stable = precision_at_k(np.array(eb.TOP_K_LABELS), np.array(eb.TOP_K_SCORES), eb.TOP_K_K)
    assert stable == pytest.approx(1 / 3)
    assert check("evaluation-basics-2", stable)
    assert not check("evaluation-basics-2", 2 / 3)
    out = capsys.readouterr().out
    for line in out.splitlines():
        if line.startswith("Not quite"):
            assert "0.1875" not in line and "0.333" not in line
