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


def test_format_table_prints_counts_as_integers_and_rounds_floats():
    import pandas as pd

    from anomaly_tutorial.notebook import format_table

    html = format_table(
        pd.DataFrame({"n": [5000.0, 3.0], "r": [0.12345, None], "p": [0.5, 0.25]}),
        {"r": "{:.1%}"},
    ).to_html()
    assert "5,000<" in html and "5000.0" not in html
    assert "12.3%" in html and ">-<" in html and "0.250" in html


def test_format_table_refuses_unknown_columns():
    import pandas as pd
    import pytest

    from anomaly_tutorial.notebook import format_table

    with pytest.raises(ValueError, match=r"\['missing'\]"):
        format_table(pd.DataFrame({"a": [1]}), {"missing": "{:.1f}"})
