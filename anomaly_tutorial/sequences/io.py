"""Read and write event-id sessions: one session per line, space-separated integer ids.

This is the format of the HDFS benchmark files distributed with DeepLog (Du et al., 2017):
``hdfs_train``, ``hdfs_test_normal`` and ``hdfs_test_abnormal`` hold one block session per line,
each line the template ids (starting at 1) of the block's log lines in time order, sometimes
with trailing spaces. Ids may be any integers: the detectors of this package map them to their
own vocabulary and never assume a range.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, overload

__all__ = ["load_sessions", "save_sessions"]

#: An event id: optional minus sign and ASCII digits only (no ``1_000``, no full-width digits).
_EVENT_ID = re.compile(r"-?[0-9]+", re.ASCII)
#: A session id: printable ASCII without spaces or commas (UUIDs, ``blk_-1608...``, numbers).
_SESSION_ID = re.compile(r"[!-+\--~]+", re.ASCII)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _shown(text: str) -> str:
    return text if len(text) <= 120 else text[:117] + "..."


def _bad_line(path: Path, line_no: int, line: str, token: str, problem: str) -> ValueError:
    return ValueError(
        f"{path}: line {line_no}: {_shown(line)!r}: {problem} (bad token {_shown(token)!r})"
    )


def _parse_events(path: Path, line_no: int, line: str, text: str) -> list[int]:
    events = []
    for tok in text.split():
        if not _EVENT_ID.fullmatch(tok):
            raise _bad_line(
                path,
                line_no,
                line,
                tok,
                "event ids must be integers written with ASCII digits 0-9 only "
                "(space-separated, no '_', no other digits)",
            )
        value = int(tok)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _bad_line(path, line_no, line, tok, "event id is outside the int64 range")
        events.append(value)
    return events


@overload
def load_sessions(
    path: str | os.PathLike[str],
    *,
    skip_blank: bool = ...,
    session_ids: Literal[False] = ...,
) -> list[list[int]]: ...


@overload
def load_sessions(
    path: str | os.PathLike[str],
    *,
    skip_blank: bool = ...,
    session_ids: Literal[True],
) -> tuple[list[str], list[list[int]]]: ...


def load_sessions(
    path: str | os.PathLike[str],
    *,
    skip_blank: bool = False,
    session_ids: bool = False,
) -> list[list[int]] | tuple[list[str], list[list[int]]]:
    """Read sessions of integer event ids, one session per line.

    Two layouts are read: DeepLog's (``hdfs_train``: the event ids only) and Landauer et al.'s
    (``openstack_train``: ``<session id>,<event ids>``, with ``session_ids=True``). Tokens are
    separated by any run of whitespace; leading and trailing whitespace (the trailing spaces
    of the DeepLog HDFS files, ``\\r\\n`` line ends) is ignored. Ids are kept as written: no
    shift from 1-based to 0-based ids is applied, because the detectors learn their own
    vocabulary.

    Parameters
    ----------
    path
        Text file (UTF-8) with one session per line.
    skip_blank
        What to do with blank lines (empty or whitespace only). ``False`` (default) keeps each
        one as an *empty session*, so that session ``i`` is always line ``i + 1`` and nothing in
        the file is dropped; ``True`` leaves them out. With ``session_ids=True`` a blank line
        is an error (it has no id).
    session_ids
        Each line starts with a session id and a comma. The ids are kept as strings, exactly
        as written (``"1_000"`` stays ``"1_000"``, never becomes 1000), must be printable ASCII
        without spaces or commas, and must be unique.

    Returns
    -------
    list of list of int, or (list of str, list of list of int)
        The sessions in file order; with ``session_ids=True``, the ids and the sessions.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a line is not valid UTF-8, holds a token that is not an event id (ASCII digits with
        an optional minus sign), an id outside the int64 range, or (with ``session_ids``) lacks
        or repeats a session id; the message names the file, the line number (1-based), the
        line's content and the bad token.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"session file {str(file)!r} does not exist or is not a file")
    sessions: list[list[int]] = []
    ids: list[str] = []
    seen: dict[str, int] = {}
    with file.open("rb") as handle:
        for line_no, raw_bytes in enumerate(handle, start=1):
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as err:
                bad = raw_bytes[err.start : err.end]
                raise ValueError(
                    f"{file}: line {line_no}: not valid UTF-8 text: byte {bad!r} at column "
                    f"{err.start + 1} ({err.reason})"
                ) from None
            line = raw.rstrip("\r\n")
            if not session_ids:
                if not line.strip():
                    if not skip_blank:
                        sessions.append([])
                    continue
                sessions.append(_parse_events(file, line_no, line, line))
                continue
            if not line.strip():
                raise ValueError(
                    f"{file}: line {line_no}: blank line, expected '<session id>,<event ids>'"
                )
            head, comma, tail = line.partition(",")
            head = head.strip()
            if not comma:
                raise _bad_line(
                    file, line_no, line, line, "expected '<session id>,<event ids>' (no comma)"
                )
            if not _SESSION_ID.fullmatch(head):
                raise _bad_line(
                    file,
                    line_no,
                    line,
                    head,
                    "session id must be printable ASCII without spaces or commas",
                )
            if head in seen:
                raise _bad_line(
                    file, line_no, line, head, f"session id repeats the one of line {seen[head]}"
                )
            seen[head] = line_no
            ids.append(head)
            sessions.append(_parse_events(file, line_no, line, tail))
    if session_ids:
        return ids, sessions
    return sessions


def save_sessions(sessions: Iterable[Sequence[int]], path: str | os.PathLike[str]) -> Path:
    """Write sessions in the format read by :func:`load_sessions` and return the path.

    Parameters
    ----------
    sessions
        Sequences of integer event ids; an empty session becomes a blank line.
    path
        Destination file; its parent folder must exist.
    """
    file = Path(path)
    lines = []
    for i, session in enumerate(sessions):
        try:
            lines.append(" ".join(str(int(v)) for v in session))
        except (TypeError, ValueError) as err:
            raise ValueError(f"session {i}: event ids must be integers ({err})") from None
    file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return file
