"""The glue wrapper stores numpy scalars as plain Python numbers."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_tutorial.notebook import glue, plain


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [(np.float64(0.25), 0.25, float), (np.int64(7), 7, int), (np.bool_(True), True, bool)],
)
def test_plain_turns_numpy_scalars_into_python_scalars(value, expected, kind):
    out = plain(value)
    assert out == expected
    assert type(out) is kind
    assert repr(out) == repr(expected)


def test_plain_leaves_other_values_alone():
    arr = np.arange(3)
    assert plain(arr) is arr
    assert plain("text") == "text"


def test_glue_passes_plain_values_to_myst_nb(monkeypatch):
    myst_nb = pytest.importorskip("myst_nb")
    seen = {}

    def fake_glue(name, variable, display=True):
        seen[name] = (variable, display)

    monkeypatch.setattr(myst_nb, "glue", fake_glue)
    glue("x", np.float64(0.5), display=False)
    assert seen == {"x": (0.5, False)}
    assert type(seen["x"][0]) is float
