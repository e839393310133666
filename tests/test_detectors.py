"""Behaviour of the detectors in ``anomaly_tutorial.detectors`` under the package's conventions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from anomaly_tutorial.detectors import (
    DBSCANDetector,
    ECODDetector,
    EnsembleDetector,
    HBOSDetector,
    HDBSCANDetector,
    IsolationForestDetector,
    KNNDetector,
    LOFDetector,
    MahalanobisDetector,
    PCADetector,
    available_detectors,
    chi2_threshold,
    default_detector,
    make_detector,
    normalize_scores,
)
from anomaly_tutorial.stats import MAD_TO_SD

# Parameters that suit the toy data below (unit-variance blobs); 25 trees keep the tests fast.
SMALL_MEMBERS = [
    ("iforest", IsolationForestDetector(n_estimators=25)),
    ("knn", KNNDetector()),
]
TOY_PARAMS = {
    "dbscan": {"eps": 1.0},
    "hdbscan": {"min_cluster_size": 10},
    "iforest": {"n_estimators": 25},
    "ensemble": {"detectors": SMALL_MEMBERS},
}
ALL = available_detectors()


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(400, 3))
    test_normal = rng.normal(size=(100, 3))
    test_outlier = rng.normal(size=(10, 3)) * 0.5 + 6.0
    X_test = np.vstack([test_normal, test_outlier])
    y_test = np.r_[np.zeros(100), np.ones(10)]
    return train, X_test, y_test


def build(name: str, **extra):
    return make_detector(name, **{**TOY_PARAMS.get(name, {}), **extra})


def test_available_detectors_cover_the_issue():
    expected = {
        "lof", "iforest", "knn", "mahalanobis", "kmeans", "dbscan", "hdbscan", "ocsvm",
        "ecod", "pca", "hbos", "ensemble",
    }  # fmt: skip
    assert set(ALL) == expected


@pytest.mark.parametrize("name", ALL)
def test_higher_score_means_more_anomalous(name, toy):
    train, X_test, y_test = toy
    det = build(name).fit(train)
    scores = det.score_samples(X_test)
    assert scores.shape == (len(X_test),)
    assert scores.dtype == np.float64
    assert np.isfinite(scores).all()
    assert roc_auc_score(y_test, scores) > 0.97


@pytest.mark.parametrize("name", ALL)
def test_predict_labels_and_contamination(name, toy):
    train, X_test, _ = toy
    det = build(name, contamination=0.05).fit(train)
    labels = det.predict(X_test)
    assert set(np.unique(labels)) <= {0, 1}
    assert labels.dtype == np.int64
    # The far-away cluster (last 10 rows) is flagged.
    assert labels[-10:].sum() >= 9
    if name != "ensemble":  # a max of ranks has ties at 1.0, so the share can be lower
        share = float((det.training_scores_ > det.threshold_).mean())
        assert share == pytest.approx(0.05, abs=0.02)
    np.testing.assert_array_equal(det.decision_function(X_test) > 0, labels == 1)


@pytest.mark.parametrize("name", ALL)
def test_explicit_threshold_overrides_contamination(name, toy):
    train, X_test, _ = toy
    det = build(name, threshold=1e12).fit(train)
    assert det.threshold_ == 1e12
    assert det.predict(X_test).sum() == 0


@pytest.mark.parametrize("name", ALL)
def test_deterministic(name, toy):
    train, X_test, _ = toy
    a = build(name).fit(train).score_samples(X_test)
    b = build(name).fit(train).score_samples(X_test)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ALL)
def test_errors_nan_inf_width_unfitted(name, toy):
    train, X_test, _ = toy
    det = build(name)
    with pytest.raises(NotFittedError, match="not fitted"):
        det.score_samples(X_test)
    bad = train.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        build(name).fit(bad)
    det.fit(train)
    bad_test = X_test.copy()
    bad_test[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        det.score_samples(bad_test)
    with pytest.raises(ValueError, match=r"X has 2 features, but .* is expecting 3 features"):
        det.score_samples(X_test[:, :2])


@pytest.mark.parametrize("value", [0.0, 0.7, -0.1, "a lot", True])
def test_bad_contamination_is_named(value, toy):
    with pytest.raises(ValueError, match="contamination"):
        make_detector("knn", contamination=value).fit(toy[0])


def test_make_detector_errors():
    with pytest.raises(ValueError, match=r"unknown detector 'nope'; available: iforest"):
        make_detector("nope")
    with pytest.raises(ValueError, match="has no parameter\\(s\\) n_trees"):
        make_detector("iforest", n_trees=3)
    det = make_detector("knn", n_neighbors=7)
    assert det.get_params()["n_neighbors"] == 7
    assert det.set_params(method="mean").method == "mean"


def test_knn_exact_and_faiss_agree(toy):
    train, X_test, _ = toy
    for method in ("largest", "mean"):
        exact = KNNDetector(method=method).fit(train)
        fast = KNNDetector(method=method, index="faiss").fit(train)
        np.testing.assert_allclose(
            exact.score_samples(X_test), fast.score_samples(X_test), atol=1e-4
        )
        np.testing.assert_allclose(exact.training_scores_, fast.training_scores_, atol=1e-4)


def test_knn_scores_by_hand():
    train = np.array([[0.0], [1.0], [3.0], [7.0]])
    det = KNNDetector(n_neighbors=2).fit(train)
    # Training rows exclude themselves: row 0 -> neighbours 1, 3; row 2 -> neighbours 1, 0.
    np.testing.assert_allclose(det.training_scores_, [3.0, 2.0, 3.0, 6.0])
    np.testing.assert_allclose(det.score_samples([[2.0], [10.0]]), [1.0, 7.0])
    mean = KNNDetector(n_neighbors=2, method="mean").fit(train)
    np.testing.assert_allclose(mean.score_samples([[2.0]]), [1.0])
    assert KNNDetector(n_neighbors=10).fit(train).n_neighbors_ == 3


def test_lof_on_duplicates_is_huge():
    rng = np.random.default_rng(1)
    train = np.vstack([np.zeros((30, 2)), rng.normal(size=(50, 2))])
    det = LOFDetector(n_neighbors=20).fit(train)
    near = det.score_samples([[0.01, 0.0]])[0]
    assert near > 1e3  # the duplicated rows have infinite density: LOF's known failure mode


def test_mahalanobis_chi2_threshold_and_robustness():
    rng = np.random.default_rng(2)
    d = 4
    normal = rng.normal(size=(5000, d))
    det = MahalanobisDetector(covariance="empirical", threshold=chi2_threshold(d, 0.975))
    det.fit(normal)
    share = det.predict(normal).mean()
    assert share == pytest.approx(0.025, abs=0.006)
    # 20 % far outliers in training: MCD still finds them, the empirical covariance masks them.
    train = np.vstack([rng.normal(size=(400, 2)), rng.normal(size=(100, 2)) * 0.3 + 5.0])
    probe = np.array([[5.0, 5.0]])
    robust = MahalanobisDetector(covariance="mcd").fit(train).score_samples(probe)[0]
    plain = MahalanobisDetector(covariance="empirical").fit(train).score_samples(probe)[0]
    assert robust > chi2_threshold(2, 0.999) > plain
    with pytest.raises(ValueError, match="covariance must be one of"):
        MahalanobisDetector(covariance="oas").fit(train)
    with pytest.raises(ValueError, match="level"):
        chi2_threshold(2, 1.5)


def test_ledoit_wolf_handles_more_features_than_rows():
    rng = np.random.default_rng(3)
    det = MahalanobisDetector(covariance="ledoit_wolf").fit(rng.normal(size=(20, 50)))
    assert np.isfinite(det.score_samples(rng.normal(size=(5, 50)))).all()


def test_dbscan_threshold_one_is_noise_rule():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(200, 2)) * 0.3, [[5.0, 5.0], [-4.0, 3.0]]])
    det = DBSCANDetector(eps=0.3, min_samples=5, threshold=1.0).fit(X)
    np.testing.assert_array_equal(det.predict(X), (det.labels_ == -1).astype(int))
    assert det.predict([[5.0, 5.0]])[0] == 1
    with pytest.raises(ValueError, match=r"no core sample.*increase eps"):
        DBSCANDetector(eps=1e-6).fit(X)


def test_hdbscan_scores_in_unit_interval_and_noise_is_high():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(150, 2)) * 0.3, rng.normal(size=(150, 2)) * 0.3 + 4.0])
    det = HDBSCANDetector(min_cluster_size=15).fit(X)
    scores = det.score_samples(np.array([[0.0, 0.0], [4.0, 4.0], [2.0, 2.0], [9.0, -9.0]]))
    assert ((scores >= 0) & (scores < 1)).all()
    assert scores[3] > scores[2] > max(scores[0], scores[1])
    assert set(np.unique(det.labels_)) >= {0, 1}
    with pytest.raises(ValueError, match="noise"):
        HDBSCANDetector(min_cluster_size=200, allow_single_cluster=False).fit(X[:250])


def test_ecod_by_hand():
    train = np.arange(1.0, 10.0)[:, None]  # 1..9, symmetric: skewness 0 -> right tail
    det = ECODDetector().fit(train)
    # For x = 9: left tail (9+1)/10, right tail (1+1)/10.
    expected = max(-np.log(10 / 10), -np.log(2 / 10))
    np.testing.assert_allclose(det.score_samples([[9.0]]), [expected])
    # Beyond the training range the score is finite and maximal.
    far = det.score_samples([[100.0], [-100.0], [5.0]])
    assert np.isfinite(far).all() and far[0] == far[1] == -np.log(1 / 10) > far[2]


def test_hbos_by_hand():
    train = np.array([[0.0], [1.0], [1.0], [1.0]])
    det = HBOSDetector(n_bins=2, alpha=0.1, tol=0.5).fit(train)
    # np.histogram density: bin [0, .5) holds 1/4 -> density 0.5, bin [.5, 1] 3/4 -> 1.5.
    low_bin, high_bin = -np.log2(0.6), -np.log2(1.6)
    scores = det.score_samples([[0.0], [1.0], [1.2], [5.0]])
    # 1.2 is 0.2 above the range, within tol * bin width = 0.25: it gets the edge bin's
    # density; 5.0 is beyond it and gets the lowest density of the feature.
    np.testing.assert_allclose(scores, [low_bin, high_bin, high_bin, low_bin])
    assert scores[2] < scores[3]
    strict = HBOSDetector(n_bins=2, alpha=0.1, tol=0.0).fit(train)
    np.testing.assert_allclose(strict.score_samples([[1.0], [1.2]]), [high_bin, low_bin])


def test_pca_weighted_is_mahalanobis_and_reconstruction_is_offplane():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(500, 3)) @ np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]])
    weighted = PCADetector(method="weighted", standardize=False).fit(X)
    maha = MahalanobisDetector(covariance="empirical").fit(X)
    probe = rng.normal(size=(20, 3))
    ratio = weighted.score_samples(probe) / maha.score_samples(probe)
    np.testing.assert_allclose(ratio, (len(X) - 1) / len(X), rtol=1e-6)
    recon = PCADetector(method="reconstruction", n_components=2, standardize=False).fit(X)
    along = recon.pca_.components_[0] * 3 + recon.pca_.mean_
    across = recon.pca_.components_[2] * 3 + recon.pca_.mean_
    s = recon.score_samples(np.vstack([along, across]))
    np.testing.assert_allclose(s, [0.0, 9.0], atol=1e-9)
    with pytest.raises(ValueError, match="method must be one of"):
        PCADetector(method="svd").fit(X)


def test_normalize_scores():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(normalize_scores([0.0, 2.5, 9.0], ref, "rank"), [0.0, 0.5, 1.0])
    z = normalize_scores([2.5, 4.0], ref, "robust_z")
    np.testing.assert_allclose(z, [0.0, 1.5 / (MAD_TO_SD * 1.0)])
    with pytest.raises(ValueError, match="normalization"):
        normalize_scores([1.0], ref, "minmax")


def test_ensemble_vote_is_majority(toy):
    train, X_test, _ = toy
    members = [
        ("knn", KNNDetector(contamination=0.05)),
        ("iforest", IsolationForestDetector(n_estimators=25, contamination=0.05)),
        ("ecod", ECODDetector(contamination=0.05)),
    ]
    vote = EnsembleDetector(detectors=members, combination="vote").fit(train)
    assert vote.threshold_ == 0.5
    votes = np.column_stack([m.predict(X_test) for _, m in vote.detectors_])
    np.testing.assert_array_equal(vote.predict(X_test), (votes.sum(axis=1) >= 2).astype(int))
    np.testing.assert_allclose(vote.score_samples(X_test), votes.mean(axis=1))
    # The unfitted members given by the user are left untouched (cloned).
    assert not hasattr(members[0][1], "threshold_")


def test_ensemble_max_and_mean_of_ranks(toy):
    train, X_test, _ = toy
    ens = EnsembleDetector(detectors=SMALL_MEMBERS, combination="max").fit(train)
    per = ens.member_scores(X_test)
    assert set(per) == {"iforest", "knn"}
    np.testing.assert_allclose(ens.score_samples(X_test), np.maximum(per["iforest"], per["knn"]))
    mean = EnsembleDetector(detectors=SMALL_MEMBERS, combination="mean").fit(train)
    np.testing.assert_allclose(mean.score_samples(X_test), (per["iforest"] + per["knn"]) / 2.0)
    with pytest.raises(ValueError, match="combination must be one of"):
        EnsembleDetector(combination="median").fit(train)
    with pytest.raises(ValueError, match="at least one"):
        EnsembleDetector(detectors=[]).fit(train)


def test_default_detector_is_the_selected_configuration():
    from anomaly_tutorial.detectors import DEFAULT_CONFIGURATION

    det = default_detector(contamination=0.02)
    names, normalization, combination = DEFAULT_CONFIGURATION.split("/")
    assert det.contamination == 0.02
    assert [name for name, _ in det.detectors] == names.split("+")
    assert (det.normalization, det.combination) == (normalization, combination)
    # Its score is the combination rule applied to the members' normalised scores.
    rng = np.random.default_rng(11)
    train, probe = rng.normal(size=(300, 4)), rng.normal(size=(40, 4)) * 2
    det.fit(train)
    members = np.column_stack(
        [
            normalize_scores(m.score_samples(probe), m.training_scores_, normalization)
            for _, m in det.detectors_
        ]
    )
    combine = np.max if combination == "max" else np.mean
    np.testing.assert_allclose(det.score_samples(probe), combine(members, axis=1))


def test_knn_training_scores_exclude_the_row_by_index_not_by_position():
    from anomaly_tutorial.detectors.neighbors import knn_distances

    class Index:  # an approximate index that sometimes misses the row itself
        def kneighbors(self, X, n_neighbors):
            dist = np.array([[0.0, 0.0, 1.0], [0.0, 2.0, 3.0]])
            ind = np.array([[1, 0, 2], [0, 2, 3]])  # row 0: its copy first; row 1: not found
            return dist[:, :n_neighbors], ind[:, :n_neighbors]

    got = knn_distances(Index(), np.zeros((2, 1)), n_neighbors=2, exclude_self=True)
    # row 0 drops its own entry (index 0), keeping its copy at 0; row 1 keeps its 2 nearest.
    np.testing.assert_allclose(got, [[0.0, 1.0], [0.0, 2.0]])


def test_faiss_hnsw_training_scores_with_duplicate_rows_match_exact():
    rng = np.random.default_rng(12)
    base = rng.normal(size=(150, 3))
    X = np.vstack([base, base[:40], base[:40], base[:10]])  # many rows present 2-4 times
    for k in (1, 3, 5):
        exact = KNNDetector(n_neighbors=k).fit(X)
        hnsw = KNNDetector(n_neighbors=k, index="faiss", faiss_factory="HNSW32").fit(X)
        np.testing.assert_allclose(hnsw.training_scores_, exact.training_scores_, atol=1e-4)
    # a row with no copy has a positive score; rows with >= k copies score 0 for small k
    one = KNNDetector(n_neighbors=1, index="faiss", faiss_factory="HNSW32").fit(X)
    assert (one.training_scores_[:40] == 0).all() and (one.training_scores_[40:150] > 0).all()


def test_toy_data_and_score_grid():
    from anomaly_tutorial.detectors import score_grid, toy_data

    X, y = toy_data(n=100, seed=1)
    assert X.shape == (105, 2) and y.sum() == 5
    np.testing.assert_array_equal(toy_data(n=100, seed=1)[0], X)
    det = KNNDetector().fit(X)
    xx, yy, zz = score_grid(det, resolution=12)
    assert xx.shape == yy.shape == zz.shape == (12, 12)
    # The grid corner is far from every row: more anomalous than the tight cluster's centre.
    assert zz[0, 0] > det.score_samples([[3.0, 2.0]])[0]
    with pytest.raises(ValueError, match="2-D data"):
        score_grid(KNNDetector().fit(np.zeros((5, 3)) + np.arange(5)[:, None]))


def test_bundled_outlier_tasks():
    from anomaly_tutorial.benchmarks.bundled import evaluate_on_task, outlier_task, split_task

    X, y = outlier_task("breast_cancer", anomaly_fraction=0.05, seed=0)
    assert X.shape == (376, 30)  # 357 benign + 19 malignant
    assert y.sum() == 19 and (y[:357] == 0).all()
    X_train, X_test, _, y_test = split_task(X, y, seed=0)
    assert X_train.min() == 0.0 and X_train.max() == pytest.approx(1.0) and len(X_test) == 113
    assert y_test.sum() in (5, 6)
    table = evaluate_on_task({"iforest": IsolationForestDetector}, "wine", seeds=(0, 1))
    assert list(table["seed"]) == [0, 1]
    assert (table["roc_auc"] > 0.8).all()
    with pytest.raises(ValueError, match="name must be one of"):
        outlier_task("iris")
    with pytest.raises(ValueError, match="normal_class 7"):
        outlier_task("wine", normal_class=7)


def test_fit_and_score_fits_each_detector_on_its_rows():
    from anomaly_tutorial.detectors import fit_and_score

    rng = np.random.default_rng(13)
    X_train, X_test = rng.normal(size=(200, 3)), rng.normal(size=(30, 3))
    rows = np.arange(50)
    run = fit_and_score(
        {"knn": (KNNDetector(), rows), "hbos": (HBOSDetector(), np.arange(200))},
        X_train, X_test, np.arange(100, 130), contamination=0.05,
    )  # fmt: skip
    alone = KNNDetector(contamination=0.05).fit(X_train[rows])
    np.testing.assert_allclose(run.scores["knn"].to_numpy(), alone.score_samples(X_test))
    assert list(run.scores["knn"].index) == list(range(100, 130))
    assert run.timing.loc["knn", "train_rows"] == 50 and run.timing["train_rows"].dtype == "int64"
    # the evaluate functions flag score >= threshold: the same rows as predict
    flagged = run.scores["hbos"] >= run.thresholds["hbos"]
    np.testing.assert_array_equal(flagged.to_numpy(), run.fitted["hbos"].predict(X_test) == 1)
    with pytest.raises(ValueError, match="one per row"):
        fit_and_score({"knn": (KNNDetector(), rows)}, X_train, X_test, np.arange(3))
