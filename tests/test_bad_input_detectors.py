"""Bad input for every detector and for the feature pipeline: outcome and message words per case.

Outcome classes: ``error`` (a ``ValueError``/``TypeError`` whose message contains the listed
words, raised before the algorithm can return garbage) or ``handled`` (finite scores and a
finite ``threshold_``). No case may end in a NaN or infinite score, a NaN threshold or an error
from deep inside numpy or scikit-learn.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from anomaly_tutorial.detectors import available_detectors, make_detector
from anomaly_tutorial.features import OCSFFeaturizer
from tests.test_features import make_flat_frame

RNG = np.random.default_rng(0)
NORMAL = RNG.normal(size=(40, 3))
HUGE = NORMAL * 1e200
FAST = {"iforest": {"n_estimators": 20}, "ocsvm": {"max_iter": 2000}}

#: Detectors whose arithmetic is scale-free, so magnitudes near 1e200 are fine.
SCALE_FREE = {"ecod"}

ERROR, HANDLED = "error", "handled"


def _case(outcome: str, *words: str) -> tuple[str, tuple[str, ...]]:
    return outcome, words


def expected(case: str, name: str) -> tuple[str, tuple[str, ...]]:
    """The outcome each detector must give on each case (a table, stated once)."""
    if case == "n/a-cell":
        return _case(ERROR, "row 1", "column 0", "'n/a'", "not a number")
    if case == "none-cell":
        return _case(ERROR, "row 2", "column 1", "None", "not a number")
    if case == "ragged-rows":
        return _case(ERROR, "row 1 has 1 values", "same number of columns")
    if case == "nan-cell":
        return _case(ERROR, "row 3", "column 2", "NaN")
    if case == "inf-cell":
        return _case(ERROR, "row 0", "column 0", "inf")
    if case in ("values-1e200", "score-values-1e200"):
        if name in SCALE_FREE:
            return _case(HANDLED)
        return _case(ERROR, "beyond the", "Rescale the features")
    if case == "score-n/a-cell":
        return _case(ERROR, "row 0", "'n/a'", "not a number")
    if case == "identical-rows":
        if name in ("mahalanobis", "pca"):
            return _case(ERROR, "all 40 training rows are identical")
        return _case(HANDLED)
    if case == "two-rows":
        if name == "hdbscan":
            return _case(ERROR, "needs at least 5 training rows", "got 2")
        if name == "dbscan":
            return _case(ERROR, "no core sample")
        if name == "mahalanobis":
            return _case(ERROR, "covariance is singular")
        return _case(HANDLED)
    if case == "constant-column":
        if name == "mahalanobis":
            return _case(ERROR, "covariance is singular", "columns [1] are constant", "ledoit_wolf")
        return _case(HANDLED)
    if case == "one-row":
        return _case(ERROR, "1 sample")
    raise AssertionError(case)


def _with(values, i, j, cell):
    rows = [list(map(float, row)) for row in values]
    rows[i][j] = cell
    return rows


TRAIN = {
    "n/a-cell": _with(NORMAL, 1, 0, "n/a"),
    "none-cell": _with(NORMAL, 2, 1, None),
    "ragged-rows": [[1.0, 2.0, 3.0], [4.0], *NORMAL[2:].tolist()],
    "nan-cell": _with(NORMAL, 3, 2, float("nan")),
    "inf-cell": _with(NORMAL, 0, 0, float("inf")),
    "values-1e200": HUGE,
    "identical-rows": np.ones((40, 3)),
    "two-rows": NORMAL[:2],
    "constant-column": np.column_stack([NORMAL[:, 0], np.zeros(40), NORMAL[:, 2]]),
    "one-row": NORMAL[:1],
}
SCORE = {"score-n/a-cell": [["n/a", 0.0, 0.0]], "score-values-1e200": HUGE[:3]}
CASES = [*TRAIN, *SCORE]
DETECTORS = [n for n in available_detectors() if n != "ensemble"] + ["ensemble"]


def _make(name: str):
    if name == "dbscan":
        return make_detector(name, eps=3.0, min_samples=2)
    if name == "hdbscan":
        return make_detector(name)
    return make_detector(name, **FAST.get(name, {}))


@pytest.mark.parametrize("name", DETECTORS)
@pytest.mark.parametrize("case", CASES)
def test_detector_case(case: str, name: str, request) -> None:
    outcome, words = expected(case, name)
    request.node.user_properties.append(("outcome", outcome))
    if case == "two-rows" and name == "dbscan":
        detector = make_detector("dbscan")  # the default eps: no row has a neighbour
    else:
        detector = _make(name)
    if case in TRAIN:
        action = lambda: detector.fit(TRAIN[case])  # noqa: E731
        data = TRAIN[case]
    else:
        detector.fit(NORMAL if case != "score-values-1e200" or name not in SCALE_FREE else HUGE)
        action = lambda: detector.score_samples(SCORE[case])  # noqa: E731
        data = SCORE[case]
    if outcome == ERROR:
        with pytest.raises((ValueError, TypeError)) as info:
            action()
        message = str(info.value)
        for word in words:
            assert word in message, (word, message)
        return
    if case == "identical-rows" and name == "kmeans":
        # a valid result (every distance is 0), and scikit-learn says why it found one cluster
        with pytest.warns(ConvergenceWarning, match="distinct clusters"):
            result = action()
    else:
        result = action()
    if case in TRAIN:
        scores = detector.score_samples(np.asarray(data, dtype=float))
        assert np.isfinite(detector.threshold_)
        assert np.isfinite(detector.training_scores_).all()
    else:
        scores = result
    assert np.isfinite(scores).all()


def test_hdbscan_on_1e200_is_refused_before_it_can_exhaust_memory() -> None:
    """Run under a 3 GB address-space limit: it used to grow to 24 GB."""
    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
        import numpy as np
        from anomaly_tutorial.detectors import HDBSCANDetector
        X = np.random.default_rng(0).normal(size=(300, 3)) * 1e200
        try:
            HDBSCANDetector().fit(X)
        except ValueError as error:
            print("refused:", error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: HDBSCANDetector: X: row" in done.stdout
    assert "beyond the 1e+100" in done.stdout


def test_detector_with_a_dataframe_names_the_column() -> None:
    frame = pd.DataFrame(NORMAL, columns=["latency_ms", "bytes", "errors"])
    frame.loc[4, "bytes"] = float("nan")
    with pytest.raises(ValueError, match=r"row 4, column 1 \('bytes'\) is NaN"):
        make_detector("knn").fit(frame)


def test_degenerate_scores_are_never_returned_silently() -> None:
    """A detector whose algorithm produces NaN raises instead of returning it."""
    from anomaly_tutorial.detectors import KNNDetector

    class Broken(KNNDetector):
        def _score(self, X):
            scores = super()._score(X)
            scores[1] = np.nan
            return scores

    detector = Broken().fit(NORMAL)
    with pytest.raises(ValueError, match=r"1 of 3 scores are NaN or infinite \(rows 1\)"):
        detector.score_samples(NORMAL[:3])


# --- the feature pipeline ----------------------------------------------------------------------

BASE = make_flat_frame(120, seed=3)
FITTED = OCSFFeaturizer().fit(BASE)


def _frame_with(column: str, position: int, value, dtype=None) -> pd.DataFrame:
    frame = BASE.copy()
    if dtype is not None:
        frame[column] = frame[column].astype(dtype)
    frame.loc[frame.index[position], column] = value
    return frame


FEATURIZER_CASES = {
    # name: (frame, words)
    "time-in-seconds": (
        BASE.assign(time=BASE["time"] // 1000),
        ("time", "looks like seconds", "expected milliseconds"),
    ),
    "time-in-microseconds": (BASE.assign(time=BASE["time"] * 1000), ("time", "microseconds")),
    "time-in-nanoseconds": (BASE.assign(time=BASE["time"] * 1_000_000), ("nanoseconds",)),
    "time-inf": (_frame_with("time", 3, np.inf, "float64"), ("time", "not finite", "rows 3")),
    "time-fraction": (_frame_with("time", 2, 1.7e12 + 0.5, "float64"), ("whole number",)),
    "time-datetimes": (
        BASE.assign(time=pd.to_datetime(BASE["time"], unit="ms", utc=True)),
        ("datetimes", "epoch milliseconds"),
    ),
    "duration-inf": (_frame_with("duration", 5, np.inf), ("duration", "not finite", "rows 5")),
    "duration-n/a": (
        _frame_with("duration", 6, "n/a", object),
        ("duration", "non-numeric", "'n/a'"),
    ),
    "duration-negative": (_frame_with("duration", 7, -3.0), ("duration", "negative")),
    "port-true": (
        _frame_with("dst_endpoint.port", 1, True, object),
        ("dst_endpoint.port", "boolean"),
    ),
    "severity-bool-column": (BASE.assign(severity_id=True), ("severity_id", "boolean")),
    "bad-ip": (
        _frame_with("src_endpoint.ip", 0, "10.0.0.999", object),
        ("src_endpoint.ip", "not an IP address"),
    ),
    "missing-required": (
        BASE.drop(columns="status_id"),
        ("missing required column", "'status_id'"),
    ),
    "no-rows": (BASE.iloc[:0], ("no rows",)),
    "bytes-inf": (
        _frame_with("traffic.bytes_out", 4, np.inf, "float64"),
        ("traffic.bytes_out", "not finite"),
    ),
}


@pytest.mark.parametrize(
    "name", sorted(FEATURIZER_CASES), ids=[f"error-{n}" for n in sorted(FEATURIZER_CASES)]
)
@pytest.mark.parametrize("step", ["fit", "transform"])
def test_featurizer_case(name: str, step: str) -> None:
    frame, words = FEATURIZER_CASES[name]
    with pytest.raises((ValueError, TypeError)) as info:
        if step == "fit":
            OCSFFeaturizer().fit(frame)
        else:
            FITTED.transform(frame)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_handled_featurizer_output_is_finite_and_transform_changes_nothing() -> None:
    before = {k: repr(v) for k, v in vars(FITTED).items()}
    X = FITTED.transform(make_flat_frame(60, seed=9))
    assert np.isfinite(X).all()
    assert {k: repr(v) for k, v in vars(FITTED).items()} == before
