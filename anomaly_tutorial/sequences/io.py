"""Read and write event-id sessions: one session per line, space-separated integer ids.

This is the format of the HDFS benchmark files distributed with DeepLog (Du et al., 2017):
``hdfs_train``, ``hdfs_test_normal`` and ``hdfs_test_abnormal`` hold one block session per line,
each line the template ids (starting at 1) of the block's log lines in time order, sometimes
with trailing spaces. Ids may be any integers: the detectors of this package map them to their
own vocabulary and never assume a range.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["load_sessions", "save_sessions"]


def _bad_line(path: Path, line_no: int, line: str, token: str) -> ValueError:
    shown = line if len(line) <= 120 else line[:117] + "..."
    return ValueError(
        f"{path}: line {line_no}: {shown!r} is not a list of space-separated integer event ids "
        f"(bad token {token!r})"
    )


def load_sessions(path: str | os.PathLike[str], *, skip_blank: bool = False) -> list[list[int]]:
    """Read sessions of integer event ids, one session per line.

    Tokens are separated by any run of whitespace; leading and trailing whitespace (the
    trailing spaces of the DeepLog HDFS files, ``\\r\\n`` line ends) is ignored. Ids are kept
    as written: no shift from 1-based to 0-based ids is applied, because the detectors learn
    their own vocabulary.

    Parameters
    ----------
    path
        Text file (UTF-8) with one session per line.
    skip_blank
        What to do with blank lines (empty or whitespace only). ``False`` (default) keeps each
        one as an *empty session*, so that session ``i`` is always line ``i + 1`` and nothing in
        the file is dropped; ``True`` leaves them out.

    Returns
    -------
    list of list of int
        The sessions, in file order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a line holds a token that is not an integer; the message names the file, the line
        number (1-based), the line's content and the bad token.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"session file {str(file)!r} does not exist or is not a file")
    sessions: list[list[int]] = []
    with file.open(encoding="utf-8") as handle:
        for line_no, raw in enumerate(handle, start=1):
            tokens = raw.split()
            if not tokens:
                if not skip_blank:
                    sessions.append([])
                continue
            try:
                sessions.append([int(tok) for tok in tokens])
            except ValueError:
                bad = next(tok for tok in tokens if not _is_int(tok))
                raise _bad_line(file, line_no, raw.rstrip("\r\n"), bad) from None
    return sessions


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


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
