"""OCSFFeaturizer: shapes, names, train-only fitting, encodings, input forms, persistence."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from anomaly_tutorial import ocsf
from anomaly_tutorial.features import (
    CATEGORICAL_FIELDS,
    HASHED_FIELDS,
    MISSING,
    RARE,
    UNKNOWN,
    FeatureSplit,
    OCSFFeaturizer,
    hashing,
    ip_is_internal,
    ip_subnet,
    stable_hash,
    time_features,
    url_path_template,
    user_agent_family,
)

START_MS = 1_700_000_000_000


def make_flat_frame(
    n: int = 400, seed: int = 0, start_ms: int = START_MS, span_ms: int = 3 * 86_400_000
) -> pd.DataFrame:
    """A small flat OCSF frame with the FLAT_COLUMNS dtypes and the label columns."""
    rng = np.random.default_rng(seed)
    classes = rng.choice([3002, 4001, 4002, 6003], size=n, p=[0.2, 0.3, 0.4, 0.1])
    df = pd.DataFrame({c: np.full(n, None, dtype=object) for c in ocsf.FLAT_COLUMNS})
    df["event_id"] = [f"s{seed}-{i:06d}" for i in range(n)]
    df["time"] = start_ms + np.sort(rng.integers(0, span_ms, size=n))
    df["class_uid"] = classes
    df["category_uid"] = [ocsf.CATEGORY_OF_CLASS[c] for c in classes]
    activity = rng.integers(1, 3, size=n)
    df["activity_id"] = activity
    df["type_uid"] = classes * 100 + activity
    df["severity_id"] = rng.choice([1, 1, 1, 2, 3], size=n)
    df["status_id"] = rng.choice([1, 1, 1, 2], size=n)
    df["duration"] = rng.lognormal(3, 1, size=n)
    users = np.array([f"user{i}" for i in range(12)], dtype=object)[rng.integers(0, 12, size=n)]
    users[classes == ocsf.NETWORK_ACTIVITY] = None
    df["actor.user.name"] = users
    ips = [f"10.0.0.{i}" for i in range(8)] + [f"203.0.113.{i}" for i in range(4)]
    df["src_endpoint.ip"] = np.array(ips, dtype=object)[rng.integers(0, 12, size=n)]
    df["dst_endpoint.ip"] = np.where(rng.random(n) < 0.5, "10.1.2.3", "198.51.100.7")
    df["dst_endpoint.port"] = rng.choice([443, 80, 22, 5432], size=n)
    df["dst_endpoint.svc_name"] = rng.choice(["web", "api", "db"], size=n)
    df["src_endpoint.location.country"] = rng.choice(["US", "DE", "FR"], size=n)
    http = classes == ocsf.HTTP_ACTIVITY
    k = int(http.sum())
    df.loc[http, "http_request.http_method"] = rng.choice(["GET", "POST"], size=k)
    paths = ["/api/orders", "/api/items", "/login", "/rare"]
    df.loc[http, "http_request.url.path"] = rng.choice(paths, p=[0.46, 0.46, 0.07, 0.01], size=k)
    agents = ["Mozilla/5.0 (X11)", "Mozilla/5.0 (iPhone; Mobile)", "python-requests/2.31"]
    df.loc[http, "http_request.user_agent"] = rng.choice(agents, size=k)
    df.loc[http, "http_response.code"] = rng.choice([200, 200, 404, 503], size=k)
    traffic = (classes == ocsf.NETWORK_ACTIVITY) | http
    for col in (
        "traffic.bytes_in",
        "traffic.bytes_out",
        "traffic.packets_in",
        "traffic.packets_out",
    ):
        df.loc[traffic, col] = rng.integers(0, 100_000, size=int(traffic.sum()))
    df.loc[classes == ocsf.NETWORK_ACTIVITY, "connection_info.protocol_name"] = "tcp"
    auth = classes == ocsf.AUTHENTICATION
    df.loc[auth, "auth_protocol"] = rng.choice(["OAUTH2", "SAML"], size=int(auth.sum()))
    df.loc[auth, "logon_type"] = "Network"
    df.loc[auth, "is_mfa"] = rng.random(int(auth.sum())) < 0.5
    api = classes == ocsf.API_ACTIVITY
    df.loc[api, "api.operation"] = rng.choice(["GetObject", "PutObject"], size=int(api.sum()))
    is_anomaly = rng.random(n) < 0.05
    df["is_anomaly"] = is_anomaly
    df["anomaly_type"] = np.where(is_anomaly, "brute_force", "normal")
    df["anomaly_kind"] = np.where(is_anomaly, "security", "normal")
    df["incident_id"] = np.where(is_anomaly, "inc-1", None)
    dtypes = {c: ("Int64" if d == "int64" else d) for c, d in ocsf.FLAT_COLUMNS.items()}
    df = df.astype(dtypes).astype(
        {c: "int64" for c, d in ocsf.FLAT_COLUMNS.items() if d == "int64"}
    )
    return df.astype({"is_anomaly": bool, "anomaly_type": "string", "anomaly_kind": "string"})


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return make_flat_frame(600, seed=0)


@pytest.fixture(scope="module")
def test_frame(train: pd.DataFrame) -> pd.DataFrame:
    """Later events, starting one second after the last training event."""
    return make_flat_frame(200, seed=1, start_ms=int(train["time"].max()) + 1000)


@pytest.fixture(scope="module")
def fitted(train: pd.DataFrame) -> OCSFFeaturizer:
    return OCSFFeaturizer().fit(train)


def col(fz: OCSFFeaturizer, name: str) -> int:
    return list(fz.get_feature_names_out()).index(name)


def test_shapes_names_and_split(fitted: OCSFFeaturizer, test_frame: pd.DataFrame) -> None:
    X = fitted.transform(test_frame)
    names = fitted.get_feature_names_out()
    assert X.dtype == np.float32 and X.shape == (len(test_frame), len(names))
    assert len(set(names)) == len(names) == fitted.n_features_out_
    assert np.isfinite(X).all()
    for name in (
        "num__log_duration",
        "num__severity_id",
        "num__rarity_actor.user.name",
        "cat__http_request.url.path=/api/orders",
        "cat__http_request.url.path=<missing>",
        "win__src_ip_failed_auth_300s",
        "time__hour_sin",
        "ip__src_is_internal",
        "hash__src_endpoint.subnet16#0",
    ):
        assert name in names, name
    split = fitted.transform_split(test_frame)
    assert isinstance(split, FeatureSplit)
    assert split.numeric.dtype == np.float32 and split.categorical.dtype == np.int64
    assert split.numeric.shape == (len(test_frame), len(fitted.numeric_feature_names_))
    assert split.categorical.shape == (len(test_frame), len(fitted.categorical_feature_names_))
    assert len(fitted.cardinalities_) == split.categorical.shape[1]
    assert (split.categorical >= 0).all()
    assert (split.categorical < np.asarray(fitted.cardinalities_)).all()
    np.testing.assert_array_equal(split.event_ids, test_frame["event_id"].to_numpy(dtype=str))
    # the dense matrix holds the numeric block first, then exactly one 1 per categorical field
    np.testing.assert_array_equal(X[:, : split.numeric.shape[1]], split.numeric)
    onehot = X[:, split.numeric.shape[1] :]
    assert set(np.unique(onehot)) <= {0.0, 1.0}
    n_present_hashed = (split.categorical[:, len(CATEGORICAL_FIELDS) :] > 0).sum(axis=1)
    np.testing.assert_array_equal(onehot.sum(axis=1), len(CATEGORICAL_FIELDS) + n_present_hashed)


def test_fit_uses_train_statistics_only(train: pd.DataFrame, test_frame: pd.DataFrame) -> None:
    fz = OCSFFeaturizer().fit(train)
    log_duration = np.log1p(train["duration"].to_numpy(dtype=float))
    q1, med, q3 = np.quantile(log_duration, [0.25, 0.5, 0.75])
    j = fz.numeric_feature_names_.index("num__log_duration")
    assert fz.scaler_.medians[j] == pytest.approx(med)
    assert fz.scaler_.scales[j] == pytest.approx(q3 - q1)
    assert set(fz.vocabularies_["class_uid"].values) == {
        str(c) for c in train["class_uid"].unique()
    }
    assert fz.rarity_["actor.user.name"]["counts"] == {
        str(k): int(v) for k, v in train["actor.user.name"].value_counts().items()
    }
    # transforming new data (with unseen values) changes nothing in the fitted object
    before = copy.deepcopy(vars(fz))
    shifted = test_frame.assign(duration=test_frame["duration"] * 1000)
    shifted.loc[shifted.index[:3], "actor.user.name"] = "never-seen-user"
    fz.transform(shifted)
    fz.transform_split(shifted)
    fz.count_unknown(shifted)
    after = vars(fz)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, after[key])
        else:
            assert value == after[key], key
    # and the test duration is scaled with the train statistics (not re-centred)
    Xt = fz.transform(shifted)
    assert np.median(Xt[:, j]) > 3


def test_unknown_values_get_code_zero_and_are_counted(
    fitted: OCSFFeaturizer, test_frame: pd.DataFrame
) -> None:
    frame = test_frame.copy()
    http = np.flatnonzero(frame["class_uid"].to_numpy() == ocsf.HTTP_ACTIVITY)[:7]
    frame.loc[frame.index[http], "http_request.url.path"] = "/never/seen"
    frame.loc[frame.index[:3], "actor.user.name"] = "mallory"
    split = fitted.transform_split(frame)
    j = fitted.categorical_feature_names_.index("http_request.url.path")
    assert (split.categorical[http, j] == UNKNOWN).all()
    counts = fitted.count_unknown(frame)
    assert counts["http_request.url.path"] == 7
    assert counts["actor.user.name"] == 3
    assert counts["class_uid"] == 0
    assert not hasattr(fitted, "unknown_counts_")  # transform keeps no per-call state
    X = fitted.transform(frame)
    assert (X[http, col(fitted, "cat__http_request.url.path=<unknown>")] == 1).all()
    # an unseen user has training frequency 0: the lowest rarity value
    r = col(fitted, "num__rarity_actor.user.name")
    assert X[0, r] == X[:, r].min() < X[3:, r][~pd.isna(frame["actor.user.name"].iloc[3:])].min()


def test_rare_bucket_and_min_frequency(train: pd.DataFrame) -> None:
    n_rare = int((train["http_request.url.path"] == "/rare").sum())
    assert 0 < n_rare < 5
    fz = OCSFFeaturizer(min_frequency=5).fit(train)
    row = train.index[(train["http_request.url.path"] == "/rare").fillna(False).to_numpy()][0]
    j = fz.categorical_feature_names_.index("http_request.url.path")
    assert fz.transform_split(train.loc[[row]]).categorical[0, j] == RARE
    assert "/rare" in fz.vocabularies_["http_request.url.path"].rare_values
    assert fz.count_unknown(train.loc[[row]])["http_request.url.path"] == 0
    fz1 = OCSFFeaturizer(min_frequency=1).fit(train)
    assert fz1.transform_split(train.loc[[row]]).categorical[0, j] > MISSING
    # max_categories keeps the most frequent values, the others become rare
    fz2 = OCSFFeaturizer(max_categories=1).fit(train)
    assert fz2.vocabularies_["dst_endpoint.port"].cardinality == 4
    codes = fz2.transform_split(train).categorical[
        :, fz2.categorical_feature_names_.index("dst_endpoint.port")
    ]
    assert set(np.unique(codes)) == {RARE, 3}


def test_missing_is_distinct_from_unknown(fitted: OCSFFeaturizer, test_frame: pd.DataFrame) -> None:
    split = fitted.transform_split(test_frame)
    auth = test_frame["class_uid"].to_numpy() == ocsf.AUTHENTICATION
    http = test_frame["class_uid"].to_numpy() == ocsf.HTTP_ACTIVITY
    j = fitted.categorical_feature_names_.index("http_response.code")
    assert (split.categorical[auth, j] == MISSING).all()
    assert (split.categorical[http, j] > MISSING).all()
    m = fitted.categorical_feature_names_.index("is_mfa")
    assert (split.categorical[auth, m] > MISSING).all() and (
        split.categorical[~auth, m] == MISSING
    ).all()
    assert fitted.count_unknown(test_frame)["http_response.code"] == 0
    # a missing numeric value becomes the training median: 0 after scaling
    X = fitted.transform(test_frame)
    assert (X[auth, col(fitted, "num__log_traffic.bytes_in")] == 0).all()


def test_label_columns_are_never_features(fitted: OCSFFeaturizer, test_frame: pd.DataFrame) -> None:
    names = " ".join(fitted.get_feature_names_out())
    for label in ocsf.LABEL_COLUMNS:
        assert label not in names
    flipped = test_frame.assign(
        is_anomaly=~test_frame["is_anomaly"], anomaly_type="x", anomaly_kind="y", incident_id="z"
    )
    X = fitted.transform(test_frame)
    np.testing.assert_array_equal(X, fitted.transform(flipped))
    np.testing.assert_array_equal(
        X, fitted.transform(test_frame.drop(columns=list(ocsf.LABEL_COLUMNS)))
    )


def test_input_is_not_modified_and_extra_columns_are_ignored(
    fitted: OCSFFeaturizer, test_frame: pd.DataFrame
) -> None:
    frame = test_frame.assign(my_extra_column="whatever", another=1.5)
    snapshot = frame.copy(deep=True)
    X = fitted.transform(frame)
    pd.testing.assert_frame_equal(frame, snapshot)
    np.testing.assert_array_equal(X, fitted.transform(test_frame))


def test_dict_row_and_frame_give_the_same_vector(
    fitted: OCSFFeaturizer, test_frame: pd.DataFrame
) -> None:
    picks = [np.flatnonzero(test_frame["class_uid"].to_numpy() == c)[0] for c in ocsf.CLASS_NAMES]
    for i in picks:
        row = test_frame.iloc[[i]]
        expected = fitted.transform(row)
        nested = ocsf.unflatten_event(row.iloc[0].to_dict())
        flat = {k: v for k, v in row.iloc[0].to_dict().items() if not pd.isna(v)}
        np.testing.assert_array_equal(fitted.transform(nested), expected)
        np.testing.assert_array_equal(fitted.transform(flat), expected)
    # a list of nested dicts equals the whole frame, windows included
    events = [ocsf.unflatten_event(r) for r in test_frame.to_dict(orient="records")]
    np.testing.assert_array_equal(fitted.transform(events), fitted.transform(test_frame))


def test_history_provides_window_context(fitted: OCSFFeaturizer, train: pd.DataFrame) -> None:
    # 50 events in the ten minutes right after the training period
    test_frame = make_flat_frame(50, seed=2, start_ms=int(train["time"].max()), span_ms=600_000)
    both = pd.concat([train, test_frame], ignore_index=True)
    expected = fitted.transform(both)[len(train) :]
    np.testing.assert_array_equal(fitted.transform(test_frame, history=train), expected)
    without = fitted.transform(test_frame)
    w = [i for i, n in enumerate(fitted.get_feature_names_out()) if n.startswith("win__")]
    assert not np.array_equal(without[:, w], expected[:, w])


def test_save_load_round_trip(fitted: OCSFFeaturizer, test_frame: pd.DataFrame, tmp_path) -> None:
    path = tmp_path / "featurizer.json"
    fitted.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["params"]["n_hash_buckets"] == fitted.n_hash_buckets
    loaded = OCSFFeaturizer.load(path)
    np.testing.assert_array_equal(loaded.transform(test_frame), fitted.transform(test_frame))
    np.testing.assert_array_equal(loaded.get_feature_names_out(), fitted.get_feature_names_out())
    assert loaded.cardinalities_ == fitted.cardinalities_
    assert loaded.get_params() == fitted.get_params()
    with pytest.raises(ValueError, match="call fit"):
        OCSFFeaturizer().save(tmp_path / "unfitted.json")


def test_stable_hash_is_the_same_in_another_process() -> None:
    values = ["alice", "bob", "10.0.0.1", "10.0.0.0/16", "ünïcode"]
    here = [int(h) for h in stable_hash(values)]
    expected = [
        int.from_bytes(hashlib.blake2b(v.encode(), digest_size=8).digest(), "little")
        for v in values
    ]
    assert here == expected
    assert stable_hash("alice") == here[0]
    # load hashing.py by path so that the child process does not import scikit-learn
    code = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('h', sys.argv[1])\n"
        "h = importlib.util.module_from_spec(spec); spec.loader.exec_module(h)\n"
        f"values = {values!r}\n"
        "print(json.dumps([[int(x) for x in h.stable_hash(values)], hash(values[0])]))\n"
    )
    builtin = []
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, hashing.__file__],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        stable, salted = json.loads(out.stdout)
        assert stable == here
        builtin.append(salted)
    assert builtin[0] != builtin[1]  # the built-in hash() would not have been stable


def test_time_ip_and_user_agent_helpers() -> None:
    saturday_6am = int(pd.Timestamp("2024-01-06T06:00:00Z").value // 1_000_000)
    monday_noon = int(pd.Timestamp("2024-01-08T12:00:00Z").value // 1_000_000)
    feats = time_features(np.array([saturday_6am, monday_noon]))
    np.testing.assert_allclose(feats[0, :2], [1.0, 0.0], atol=1e-12)  # 06:00 is a quarter turn
    np.testing.assert_allclose(feats[1, :2], [0.0, -1.0], atol=1e-12)
    np.testing.assert_array_equal(feats[:, 4], [1.0, 0.0])
    np.testing.assert_allclose(feats[1, 2:4], [0.0, 1.0], atol=1e-12)  # Monday = angle 0
    ips = pd.Series(
        [
            "10.2.3.4",
            "172.16.0.1",
            "172.32.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "8.8.8.8",
            None,
            "fd00::1",
        ]
    )
    np.testing.assert_array_equal(ip_is_internal(ips), [1, 1, 0, 1, 1, 0, 0, 1])
    assert list(ip_subnet(ips[:2])) == ["10.2.0.0/16", "172.16.0.0/16"]
    assert ip_subnet(ips)[6] is None
    assert user_agent_family("python-requests/2.31.0") == "python-requests"
    assert user_agent_family("curl/8.4.0") == "curl"
    assert user_agent_family("Mozilla/5.0 (Linux; Android 14) Mobile") == "mobile"
    assert user_agent_family("Mozilla/5.0 (Windows NT 10.0; Win64; x64)") == "browser"
    assert user_agent_family("Go-http-client/1.1") == "other"
    assert user_agent_family(None) is None
    assert url_path_template("/api/orders/52819") == "/api/orders/{id}"
    assert url_path_template("/api/files/0123456789abcdef/download?x=1") == (
        "/api/files/{id}/download"
    )
    assert url_path_template("/u/123e4567-e89b-12d3-a456-426614174000") == "/u/{id}"
    assert url_path_template("/wp-admin/setup.php") == "/wp-admin/setup.php"
    assert url_path_template(None) is None


def test_url_paths_are_encoded_by_template(train: pd.DataFrame) -> None:
    frame = train.copy()
    http = frame.index[(frame["class_uid"] == ocsf.HTTP_ACTIVITY).to_numpy()]
    frame.loc[http[:40], "http_request.url.path"] = [f"/api/orders/{i}" for i in range(40)]
    fz = OCSFFeaturizer().fit(frame)
    assert "/api/orders/{id}" in fz.vocabularies_["http_request.url.path"].values
    probe = frame.loc[http[:1]].assign(**{"http_request.url.path": "/api/orders/999999"})
    assert fz.count_unknown(probe)["http_request.url.path"] == 0
    raw = OCSFFeaturizer(template_url_paths=False).fit(frame)
    assert raw.count_unknown(probe)["http_request.url.path"] == 1


def test_on_generator_data() -> None:
    data = pytest.importorskip("anomaly_tutorial.data")
    events = data.generate_dataset(data.GeneratorConfig(n_events=20_000, days=7)).events
    cut = np.quantile(events["time"], 0.6)
    train, test = events[events["time"] < cut], events[events["time"] >= cut]
    fz = OCSFFeaturizer().fit(train)
    X = fz.transform(test, history=train)
    assert X.shape == (len(test), fz.n_features_out_) and np.isfinite(X).all()
    split = fz.transform_split(test, history=train)
    np.testing.assert_array_equal(split.event_ids, test["event_id"].to_numpy(dtype=str))
    assert (split.categorical < np.asarray(fz.cardinalities_)).all()
    # every dense column of the training matrix is a valid number and none is all-NaN
    assert np.isfinite(fz.transform(train)).all()


def test_bad_input_gives_clear_errors(fitted: OCSFFeaturizer, test_frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'status_id'"):
        fitted.transform(test_frame.drop(columns=["status_id"]))
    bad = test_frame.astype({"duration": object})
    bad.loc[bad.index[4], "duration"] = "slow"
    with pytest.raises(ValueError, match=r"column 'duration'.*'slow'"):
        fitted.transform(bad)
    nan_time = test_frame.astype({"time": "Int64"})
    nan_time.loc[nan_time.index[[2, 5]], "time"] = pd.NA
    with pytest.raises(ValueError, match=r"column 'time': 2 values are missing \(rows 2, 5\)"):
        fitted.transform(nan_time)
    negative = test_frame.copy()
    negative.loc[negative.index[0], "duration"] = -1.0
    with pytest.raises(ValueError, match=r"'duration'.*negative"):
        fitted.transform(negative)
    bad_ip = test_frame.copy()
    bad_ip.loc[bad_ip.index[0], "src_endpoint.ip"] = "not-an-ip"
    with pytest.raises(ValueError, match=r"'src_endpoint.ip'.*not-an-ip"):
        fitted.transform(bad_ip)
    with pytest.raises(TypeError, match="DataFrame"):
        fitted.transform(42)
    with pytest.raises(ValueError, match="no events"):
        fitted.transform([])
    with pytest.raises(NotFittedError):
        OCSFFeaturizer().transform(test_frame)
    with pytest.raises(ValueError, match="n_hash_buckets"):
        OCSFFeaturizer(n_hash_buckets=0).fit(test_frame)


def test_sklearn_conventions(train: pd.DataFrame, test_frame: pd.DataFrame) -> None:
    fz = OCSFFeaturizer(min_frequency=3, n_hash_buckets=8)
    assert fz.get_params()["n_hash_buckets"] == 8
    twin = clone(fz)
    assert twin.get_params() == fz.get_params() and not hasattr(twin, "scaler_")
    pipe = make_pipeline(OCSFFeaturizer(), IsolationForest(n_estimators=20, random_state=0))
    pipe.fit(train)
    scores = pipe.score_samples(test_frame)
    assert scores.shape == (len(test_frame),) and np.isfinite(scores).all()
    np.testing.assert_array_equal(
        OCSFFeaturizer().fit_transform(train), OCSFFeaturizer().fit(train).transform(train)
    )
    assert len(HASHED_FIELDS) * 8 == sum(
        n.startswith("hash__") for n in fz.fit(train).get_feature_names_out()
    )


def test_fit_transform_is_fast_on_60k_events() -> None:
    frame = make_flat_frame(60_000, seed=5)
    start = time.perf_counter()
    X = OCSFFeaturizer().fit(frame).transform(frame)
    elapsed = time.perf_counter() - start
    assert X.shape[0] == 60_000
    assert elapsed < 30.0, f"fit+transform of 60k events took {elapsed:.1f} s"
