"""What the benchmark scripts share on the command line."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that reproduces this run, as the results' README records it."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python -m", module, *args])


def progress_printer() -> Callable[[str], None]:
    """A progress callback that prints each line with the seconds since it was made."""
    t0 = time.perf_counter()

    def show(line: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {line}", flush=True)

    return show
