"""scikit-learn's estimator checks on every detector of ``anomaly_tutorial.detectors``.

What runs and what does not, and why:

* The detectors do **not** declare scikit-learn's outlier-detector estimator type, because
  their conventions are the opposite of ``OutlierMixin``'s: ``score_samples`` is higher = more
  anomalous and ``predict`` returns 1 = anomaly, 0 = normal (scikit-learn: higher = more normal,
  predict -1/+1). The outlier-specific checks (``check_outliers_train``,
  ``check_outliers_fit_predict``, ``check_outlier_contamination``,
  ``check_outlier_corruption``) therefore do not run; they would fail on the sign and label
  conventions by design. ``tests/test_detectors.py`` tests the same properties under our
  conventions (shape and dtype of scores and labels, the contamination share of flagged
  training rows, an explicit threshold).
* Every other check of the generic estimator suite runs and must pass: ``expected_failed_checks``
  is empty for every detector.
* ``check_array_api_input`` is skipped by scikit-learn itself unless ``SCIPY_ARRAY_API=1`` is
  set; the detectors work on NumPy arrays only.
* DBSCAN and HDBSCAN are checked with parameters that suit the checks' small random data
  (``eps=5, min_samples=2``; ``min_cluster_size=2``): with their defaults every row of that data
  is noise, and the detectors then raise a clear ``ValueError`` on purpose (tested in
  ``tests/test_detectors.py``).
* Isolation Forest (alone and inside the ensemble) runs with 10 trees to keep the suite fast;
  the number of trees changes no property the checks test.
"""

from __future__ import annotations

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from anomaly_tutorial.detectors import (
    EnsembleDetector,
    IsolationForestDetector,
    KNNDetector,
    available_detectors,
    make_detector,
)

_SMALL_MEMBERS = [
    ("iforest", IsolationForestDetector(n_estimators=10)),
    ("knn", KNNDetector()),
]
_CHECK_PARAMS = {
    "iforest": {"n_estimators": 10},
    "dbscan": {"eps": 5.0, "min_samples": 2},
    "hdbscan": {"min_cluster_size": 2},
    "ensemble": {"detectors": _SMALL_MEMBERS},
}

ESTIMATORS = [make_detector(name, **_CHECK_PARAMS.get(name, {})) for name in available_detectors()]
ESTIMATORS.append(KNNDetector(index="faiss"))
ESTIMATORS.append(
    EnsembleDetector(detectors=_SMALL_MEMBERS, normalization="robust_z", combination="mean")
)
ESTIMATORS.append(EnsembleDetector(detectors=_SMALL_MEMBERS, combination="vote"))


def _expected_failed_checks(estimator) -> dict[str, str]:
    # No generic check is expected to fail; see the module docstring for what is not run.
    return {}


def test_every_detector_is_checked():
    checked = {type(est).__name__ for est in ESTIMATORS}
    built = {type(make_detector(name)).__name__ for name in available_detectors()}
    assert built <= checked


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_detector(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        check(estimator)


@pytest.mark.parametrize("name", available_detectors())
def test_not_declared_outlier_detector(name):
    tags = make_detector(name).__sklearn_tags__()
    assert tags.estimator_type is None
