"""Validation of OCSF events against :mod:`anomaly_tutorial.io.schema`, with readable reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from anomaly_tutorial import ocsf
from anomaly_tutorial.io.errors import BadRecord
from anomaly_tutorial.io.errors import quote as _short
from anomaly_tutorial.io.frame import LeafProblem, flatten_checked, paused_gc, python_values
from anomaly_tutorial.io.schema import EVENTS_ADAPTER, INT64_MAX, INT64_MIN, OCSF_ERROR

_JSON_KIND = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _found(value: Any) -> str:
    """``'443' (a string)``: the value and its JSON kind, for type errors."""
    kind = _JSON_KIND.get(type(value), f"a {type(value).__name__}")
    return f"found {_short(value)} ({kind})"


def _named(values: Mapping[int, str]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in values.items())


def _describe_literal(field: str, value: Any, class_uid: Any) -> str:
    leaf = field.rsplit(".", 1)[-1]
    class_name = ocsf.CLASS_NAMES.get(class_uid, "?")
    if field == "category_uid":
        expected = ocsf.CATEGORY_OF_CLASS.get(class_uid)
        return (
            f"{_short(value)} does not match class_uid {class_uid} ({class_name}): "
            f"expected category_uid {expected}"
        )
    if field == "activity_id":
        valid = _named(ocsf.ACTIVITY_NAMES.get(class_uid, {}))
        return (
            f"{_short(value)} is not a valid activity_id for class_uid {class_uid} "
            f"({class_name}); valid: {valid}"
        )
    if leaf == "severity_id":
        return f"{_short(value)} is not a valid severity_id; valid: {_named(ocsf.SEVERITY_NAMES)}"
    if leaf == "status_id":
        return f"{_short(value)} is not a valid status_id; valid: {_named(ocsf.STATUS_NAMES)}"
    return f"{_short(value)} is not one of the allowed values"


def _describe(error: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[str | None, str]:
    """Turn one pydantic error into ``(dotted field path, problem)``.

    ``error["loc"]`` is ``(index, class_uid, *path)`` for errors inside a class model and
    ``(index,)`` for errors of the discriminator itself.
    """
    kind = error["type"]
    loc = error["loc"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    class_uid = event.get("class_uid")

    if kind == "union_tag_not_found":
        return "class_uid", "required field is missing"
    if kind == "union_tag_invalid":
        hint = " (a string; class_uid must be an integer)" if isinstance(class_uid, str) else ""
        return "class_uid", (
            f"{_short(class_uid)} is not a supported OCSF class{hint}; "
            f"supported: {_named(ocsf.CLASS_NAMES)}"
        )

    path = [str(part) for part in loc[2:]]
    if kind == OCSF_ERROR:
        if "field" in ctx:
            path.append(str(ctx["field"]))
        return (".".join(path) or None), str(ctx["problem"])
    field = ".".join(path) or None

    ge, le = ctx.get("ge"), ctx.get("le")
    if kind in ("greater_than_equal", "less_than_equal") and isinstance(value, int):
        if (kind == "greater_than_equal" and ge == INT64_MIN) or (
            kind == "less_than_equal" and le == INT64_MAX
        ):
            return field, f"{_short(value)} does not fit in a signed 64-bit integer"
    found = _found(value)
    problems = {
        "missing": "required field is missing",
        "int_type": f"expected an integer, {found}",
        "int_parsing": f"expected an integer, {found}",
        "int_from_float": f"expected an integer, {found}",
        "float_type": f"expected a number, {found}",
        "float_parsing": f"expected a number, {found}",
        "finite_number": f"expected a finite number, found {_short(value)}",
        "string_type": f"expected a string, {found}",
        "bool_type": f"expected a boolean (true or false), {found}",
        "bool_parsing": f"expected a boolean (true or false), {found}",
        "greater_than_equal": f"{_short(value)} must be >= {ge}",
        "less_than_equal": f"{_short(value)} must be <= {le}",
        "model_type": f"expected an object, {found}",
        "model_attributes_type": f"expected an object, {found}",
        "dict_type": f"expected an object, {found}",
        "typed_dict_type": f"expected an object, {found}",
    }
    if kind == "literal_error":
        return field, _describe_literal(field or "", value, class_uid)
    return field, problems.get(kind, f"{_short(value)}: {_short(error['msg'], 200)}")


def validate_numbered(
    events: Sequence[Any],
    record_numbers: Sequence[int],
    raws: Sequence[str | dict[str, Any]] | None = None,
    *,
    flatten: bool = False,
    check_values: bool = True,
) -> tuple[list[int], list[dict[str, Any]], list[BadRecord]]:
    """Validate events that carry their own record numbers.

    An event is valid when it passes its class schema and every value can go into the flat
    frame (:func:`~anomaly_tutorial.io.frame.flatten_checked`: finite floats, integers within
    int64, valid Unicode, bounded nesting), fields outside the schema included.

    Parameters
    ----------
    events
        Parsed events (anything that is not a mapping is reported as a bad record).
    record_numbers
        Record number of each event, used in the reports.
    raws
        What to keep as :attr:`BadRecord.raw` for each event; defaults to the event itself.
    flatten
        Return the valid events flattened (as rows of the flat frame) instead of nested.
    check_values
        Run the value checks of :func:`~anomaly_tutorial.io.frame.flatten_checked`; ``False``
        only for callers that have checked every value already (the parquet reader checks
        whole columns at once).

    Returns
    -------
    positions
        Positions (in ``events``) of the valid events, in order.
    valid
        The valid events as new nested dicts (or flat rows with ``flatten=True``).
    bad
        One :class:`BadRecord` per invalid event, in record order.
    """
    problems: dict[int, list[tuple[str | None, str]]] = {}
    candidates: list[Mapping[str, Any]] = []
    candidate_pos: list[int] = []
    for pos, event in enumerate(events):
        if isinstance(event, Mapping):
            candidates.append(event)
            candidate_pos.append(pos)
        else:
            problems[pos] = [(None, f"expected a JSON object, got {type(event).__name__}")]

    try:
        with paused_gc():
            valid = EVENTS_ADAPTER.validate_python(candidates)
        good = list(range(len(candidates)))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            j = error["loc"][0]
            problems.setdefault(candidate_pos[j], []).append(_describe(error, candidates[j]))
        good = [j for j in range(len(candidates)) if candidate_pos[j] not in problems]
        with paused_gc():
            valid = EVENTS_ADAPTER.validate_python([candidates[j] for j in good])
    positions: list[int] = []
    checked: list[dict[str, Any]] = []
    if check_values or flatten:
        with paused_gc():
            for j, event in zip(good, valid, strict=True):
                try:
                    flat = flatten_checked(event)
                except LeafProblem as exc:
                    problems[candidate_pos[j]] = [(exc.field, exc.problem)]
                    continue
                positions.append(candidate_pos[j])
                checked.append(flat if flatten else event)
    else:
        positions = [candidate_pos[j] for j in good]
        checked = list(valid)

    bad: list[BadRecord] = []
    for pos in sorted(problems):
        (field, problem), *rest = problems[pos]
        raw = raws[pos] if raws is not None else events[pos]
        if isinstance(raw, Mapping) and not isinstance(raw, dict):
            raw = dict(raw)
        others = tuple(f"field {f!r}: {p}" if f is not None else p for f, p in rest)
        bad.append(BadRecord(record_numbers[pos], field, problem, raw, others))
    return positions, checked, bad


def validate_events(
    events: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[BadRecord]]:
    """Validate nested OCSF events against the class schemas.

    Parameters
    ----------
    events
        Nested OCSF events (``dict``). ``class_uid`` chooses the model: Authentication (3002),
        Network Activity (4001), HTTP Activity (4002) or API Activity (6003).

    Returns
    -------
    valid
        The valid events, in input order, as new nested dicts. Values are checked strictly
        (``"5"`` and ``True`` are not integers); numpy scalars are first turned into Python
        values (``numpy.int64(5)`` becomes ``5``). Fields the schemas do not know are kept as
        given.
    bad
        One :class:`BadRecord` per invalid event; ``record_number`` is the 1-based position in
        ``events``. Nothing is dropped: ``len(valid) + len(bad)`` is the number of events.
    """
    items = [python_values(event) if isinstance(event, Mapping) else event for event in events]
    _, valid, bad = validate_numbered(items, range(1, len(items) + 1))
    return valid, bad
