"""Sphinx labels must be unique across the book: a repeated one is a -W build failure."""

import collections
import re
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1] / "book"
LABEL = re.compile(r"^(?::label:\s*(\S+)|\(([\w.-]+)\)=)\s*$", re.M)


def test_no_label_is_defined_in_two_places():
    where = collections.defaultdict(list)
    for chapter in sorted(BOOK.glob("*.md")):
        for option, target in LABEL.findall(chapter.read_text(encoding="utf-8")):
            where[option or target].append(chapter.name)
    repeated = {label: files for label, files in where.items() if len(files) > 1}
    assert not repeated, f"labels defined more than once: {repeated}"
    assert where, "no label found: the pattern no longer matches the chapters"
