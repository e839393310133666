"""The REST service: good requests are scored as the pipeline scores them; bad ones get 4xx.

Uses FastAPI's TestClient (no network) and a pipeline fitted on a small generated dataset.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from anomaly_tutorial import ocsf
from anomaly_tutorial.data import GeneratorConfig, book_split, generate_dataset
from anomaly_tutorial.serving import DetectionPipeline
from anomaly_tutorial.serving.service import TOKEN_ENV_VAR, create_app, parse_events

SCORE_FIELDS = ("detector_score", "p_value", "score", "alert", "severity")


@pytest.fixture(scope="module")
def periods():
    dataset = generate_dataset(GeneratorConfig(n_events=3000, n_users=50, seed=3))
    return book_split().split(dataset.events)


@pytest.fixture(scope="module")
def pipeline(periods):
    train, validation, _ = periods
    return DetectionPipeline().fit(train, validation)


@pytest.fixture(scope="module")
def events(periods):
    """The test period as nested OCSF dicts, in time order (no ground truth)."""
    _, _, test = periods
    rows = test.loc[:, list(ocsf.FLAT_COLUMNS)].to_dict("records")
    return [ocsf.unflatten_event(row) for row in rows]


@pytest.fixture
def client(pipeline):
    return TestClient(create_app(pipeline, stateful=False, token=None))


def _body(value) -> bytes:
    return json.dumps(value).encode()


def test_one_event_is_scored_as_the_pipeline_scores_it(client, pipeline, events):
    response = client.post("/v1/score", content=_body(events[0]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["n_events"] == 1 and answer["schema_hash"] == pipeline.schema_hash()
    (result,) = answer["results"]
    expected = pipeline.score([events[0]]).iloc[0]
    assert result["index"] == 0 and result["event_id"] == events[0]["metadata"]["uid"]
    assert result["time"] == events[0]["time"]
    assert result["detector_score"] == pytest.approx(expected["detector_score"], rel=1e-12)
    assert result["p_value"] == pytest.approx(expected["p_value"], rel=1e-12)
    assert 0.0 <= result["score"] <= 100.0 and 0.0 < result["p_value"] <= 1.0
    assert result["alert"] == bool(expected["alert"])


def test_a_list_is_answered_in_request_order(client, pipeline, events):
    batch = events[:40][::-1]  # not in time order
    response = client.post("/v1/score", content=_body(batch))
    assert response.status_code == 200, response.text
    results = pd.DataFrame(response.json()["results"])
    expected = pipeline.score(batch)
    assert results["index"].tolist() == list(range(len(batch)))
    assert results["event_id"].tolist() == [e["metadata"]["uid"] for e in batch]
    np.testing.assert_allclose(results["detector_score"], expected["detector_score"], rtol=1e-12)
    assert results["alert"].tolist() == expected["alert"].tolist()
    assert response.json()["n_alerts"] == int(expected["alert"].sum())


def test_alerts_returns_one_detection_finding_per_alert(client, pipeline, events):
    scores = pipeline.score(events)
    flagged = [e for e, a in zip(events, scores["alert"], strict=True) if a][:3]
    quiet = [e for e, a in zip(events, scores["alert"], strict=True) if not a][:3]
    assert flagged, "the small dataset's test period should have alerts"
    response = client.post("/v1/alerts", content=_body(flagged + quiet))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["n_events"] == len(flagged) + len(quiet)
    assert answer["n_alerts"] == len(answer["findings"]) == len(flagged)
    finding = answer["findings"][0]
    assert finding["class_uid"] == 2004
    related = {f["finding_info"]["related_events"][0]["uid"] for f in answer["findings"]}
    assert related == {e["metadata"]["uid"] for e in flagged}


def test_an_empty_list_gets_an_empty_answer(client):
    response = client.post("/v1/score", content=b"[]")
    assert response.status_code == 200
    assert response.json()["n_events"] == 0 and response.json()["results"] == []


def test_malformed_json_is_422_with_where(client):
    response = client.post("/v1/score", content=b'{"class_uid": 3002,')
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "json_invalid" and "not valid JSON" in problem["msg"]
    assert "line 1 column" in problem["msg"]


def test_not_utf8_and_not_an_object_are_422(client):
    assert client.post("/v1/score", content=b"\xff\xfe").json()["detail"][0]["type"] == (
        "utf8_invalid"
    )
    response = client.post("/v1/score", content=b"42")
    assert response.status_code == 422
    assert "found a JSON number" in response.json()["detail"][0]["msg"]
    assert (
        "found a JSON null" in client.post("/v1/score", content=b"null").json()["detail"][0]["msg"]
    )
    response = client.post("/v1/score", content=b"[1]")
    assert response.status_code == 422
    assert response.json()["detail"][0]["index"] == 0


def test_every_problem_is_listed_with_its_index_and_field(client, events):
    wrong_type = copy.deepcopy(events[1])
    wrong_type["severity_id"] = "3"
    missing = copy.deepcopy(events[3])
    del missing["time"]
    body = [events[0], wrong_type, events[2], missing]
    response = client.post("/v1/score", content=_body(body))
    assert response.status_code == 422
    detail = response.json()["detail"]
    found = {(p["index"], p["field"]) for p in detail}
    assert found == {(1, "severity_id"), (3, "time")}
    by_index = {p["index"]: p for p in detail}
    assert "expected an integer" in by_index[1]["msg"] and "'3'" in by_index[1]["msg"]
    assert by_index[3]["msg"] == "required field is missing"
    assert by_index[1]["loc"] == ["body", 1, "severity_id"]


def test_two_problems_of_one_event_are_both_listed(client, events):
    event = copy.deepcopy(events[0])
    event["severity_id"] = "3"
    event["status_id"] = "x"
    detail = client.post("/v1/score", content=_body([event])).json()["detail"]
    assert {p["field"] for p in detail} == {"severity_id", "status_id"}


def test_nan_and_infinity_are_422_naming_the_field(client, events):
    # Python's JSON parser reads NaN and Infinity; the value check refuses them.
    event = dict(events[1])
    event["duration"] = float("nan")
    text = json.dumps([events[0], event])
    assert "NaN" in text
    response = client.post("/v1/score", content=text.encode())
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["index"] == 1 and problem["field"] == "duration"
    assert "finite" in problem["msg"]
    event["duration"] = float("inf")
    response = client.post("/v1/score", content=json.dumps(event).encode())
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "duration"


def test_unseen_categories_are_scored_not_refused(client, pipeline, events):
    event = copy.deepcopy(next(e for e in events if e.get("actor", {}).get("user")))
    event["actor"]["user"]["name"] = "never-seen-user-0001"
    event["src_endpoint"]["ip"] = "198.51.100.77"
    event["metadata"]["uid"] = "evt-unseen"
    response = client.post("/v1/score", content=_body(event))
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert np.isfinite(result["detector_score"]) and result["event_id"] == "evt-unseen"
    expected = pipeline.score([event]).iloc[0]
    assert result["detector_score"] == pytest.approx(expected["detector_score"], rel=1e-12)


def test_a_body_over_the_limit_is_413_by_length_and_by_bytes(pipeline, events):
    client = TestClient(create_app(pipeline, stateful=False, max_body_bytes=10_000))
    body = _body(events[:40])
    assert len(body) > 10_000
    response = client.post("/v1/score", content=body)
    assert response.status_code == 413 and "10000 bytes" in response.json()["detail"]

    def chunks():  # no Content-Length: the service must count the bytes it reads
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = client.post("/v1/score", content=chunks())
    assert response.status_code == 413 and "stopped reading" in response.json()["detail"]
    assert client.post("/v1/score", content=_body(events[0])).status_code == 200


def test_too_many_events_is_413_saying_the_limit(pipeline, events):
    client = TestClient(create_app(pipeline, stateful=False, max_events=5))
    response = client.post("/v1/score", content=_body(events[:6]))
    assert response.status_code == 413
    assert "6 events" in response.json()["detail"] and "limit is 5" in response.json()["detail"]
    assert client.post("/v1/score", content=_body(events[:5])).status_code == 200


def test_unauthorised_requests_are_401_except_healthz(pipeline, events):
    client = TestClient(create_app(pipeline, stateful=False, token="s3cret-token"))
    for method, path in (("POST", "/v1/score"), ("POST", "/v1/alerts"), ("GET", "/v1/model"),
                         ("GET", "/metrics")):  # fmt: skip
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "s3cret-token"}):
            response = client.request(method, path, content=_body(events[0]), headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
    good = {"authorization": "Bearer s3cret-token"}
    assert client.post("/v1/score", content=_body(events[0]), headers=good).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_token_can_come_from_the_environment(pipeline, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV_VAR, "from-env")
    client = TestClient(create_app(pipeline, stateful=False))
    assert client.get("/v1/model").status_code == 401
    assert client.get("/v1/model", headers={"authorization": "Bearer from-env"}).status_code == 200
    monkeypatch.delenv(TOKEN_ENV_VAR)
    assert TestClient(create_app(pipeline, stateful=False)).get("/v1/model").status_code == 200


def test_metrics_count_requests_latency_and_alerts(pipeline, events):
    client = TestClient(create_app(pipeline, stateful=False))
    scores = pipeline.score(events)
    flagged = [e for e, a in zip(events, scores["alert"], strict=True) if a][:2]
    severities = scores.loc[scores["alert"], "severity"].iloc[:2]
    assert client.post("/v1/score", content=_body(flagged)).status_code == 200
    assert client.post("/v1/score", content=b"{").status_code == 422
    text = client.get("/metrics").text
    assert 'anomaly_requests_total{route="/v1/score",status="200"} 1.0' in text
    assert 'anomaly_requests_total{route="/v1/score",status="422"} 1.0' in text
    assert 'anomaly_request_duration_seconds_count{route="/v1/score"} 2.0' in text
    assert "anomaly_events_scored_total 2.0" in text
    for severity, count in severities.value_counts().items():
        assert f'anomaly_alerts_total{{severity="{severity}"}} {float(count)}' in text
    # a second app has its own registry: nothing counted there yet
    other = TestClient(create_app(pipeline, stateful=False)).get("/metrics").text
    assert 'route="/v1/score"' not in other


def test_parse_events_reports_what_the_readers_report(events):
    rows, single = parse_events(_body(events[0]), max_events=10)
    assert single and len(rows) == 1 and rows[0]["event_id"] == events[0]["metadata"]["uid"]
    rows, single = parse_events(_body(events[:3]), max_events=10)
    assert not single and [r["event_id"] for r in rows] == [
        e["metadata"]["uid"] for e in events[:3]
    ]


def test_bad_parameters_are_refused_with_their_name(pipeline):
    with pytest.raises(ValueError, match="max_events"):
        create_app(pipeline, max_events=0)
    with pytest.raises(ValueError, match="max_body_bytes"):
        create_app(pipeline, max_body_bytes=-1)
    with pytest.raises(TypeError, match="bundle_or_pipeline"):
        create_app(object())


# --- state across requests -------------------------------------------------------------------
def _burst(events, n=6, step_ms=20_000):
    """``n`` failed logons from one address, ``step_ms`` apart, after the test period's start."""
    failed = next(
        e for e in events if e["class_uid"] == ocsf.AUTHENTICATION and e["status_id"] == 2
    )
    burst = []
    for i in range(n):
        event = copy.deepcopy(failed)
        event["metadata"]["uid"] = f"evt-burst-{i}"
        event["time"] = failed["time"] + i * step_ms
        burst.append(event)
    return burst


def test_stateful_requests_one_by_one_get_the_batch_scores(pipeline, events):
    stream = sorted(events[:60] + _burst(events), key=lambda e: e["time"])
    client = TestClient(create_app(pipeline, stateful=True))
    one_by_one = [client.post("/v1/score", content=_body(e)).json() for e in stream]
    got = [answer["results"][0]["detector_score"] for answer in one_by_one]
    assert not any(answer["results"][0]["late"] for answer in one_by_one)
    batch = pipeline.score(stream)["detector_score"].to_numpy()
    np.testing.assert_array_equal(got, batch)
    # the stateless service scores each event alone: the burst's window features are lost
    alone = TestClient(create_app(pipeline, stateful=False))
    burst_ids = {e["metadata"]["uid"] for e in _burst(events)}
    stateless = [
        alone.post("/v1/score", content=_body(e)).json()["results"][0]["detector_score"]
        for e in stream
        if e["metadata"]["uid"] in burst_ids
    ]
    in_burst = [g for g, e in zip(got, stream, strict=True) if e["metadata"]["uid"] in burst_ids]
    assert stateless[-1] < in_burst[-1]  # the sixth failure in two minutes is more unusual


def test_a_late_event_is_scored_flagged_and_counted(pipeline, events):
    client = TestClient(create_app(pipeline, stateful=True))
    ordered = sorted(events[:20], key=lambda e: e["time"])
    assert client.post("/v1/score", content=_body(ordered[10:])).json()["n_late"] == 0
    answer = client.post("/v1/score", content=_body(ordered[:10] + ordered[10:11])).json()
    assert answer["n_late"] == 11 and all(r["late"] for r in answer["results"])
    # scored with the events the service still holds: the last window_s_ seconds of the stream
    kept = [e for e in ordered[10:] if e["time"] >= ordered[-1]["time"] - pipeline.window_s_ * 1e3]
    expected = pipeline.score(ordered[:11], history=kept)
    got = [r["detector_score"] for r in answer["results"]]
    np.testing.assert_allclose(got, expected["detector_score"], rtol=1e-12)
    assert "anomaly_late_events_total 11.0" in client.get("/metrics").text
    # the stream goes on: a later event is not late
    later = copy.deepcopy(ordered[-1])
    later["metadata"]["uid"], later["time"] = "evt-later", later["time"] + 1000
    assert client.post("/v1/score", content=_body(later)).json()["n_late"] == 0


def test_stateful_alerts_match_the_batch_alerts(pipeline, events):
    scores = pipeline.score(events)
    first = int(np.flatnonzero(scores["alert"].to_numpy())[0])
    stream = events[max(0, first - 30) : first + 5]
    client = TestClient(create_app(pipeline, stateful=True))
    found = []
    for start in range(0, len(stream), 7):
        answer = client.post("/v1/alerts", content=_body(stream[start : start + 7])).json()
        found += [f["finding_info"]["related_events"][0]["uid"] for f in answer["findings"]]
    expected = pipeline.score(stream).query("alert")["event_id"].tolist()
    assert found == expected and expected
    # and the scores of a later request see the events of these alert requests
    later = copy.deepcopy(stream[-1])
    later["metadata"]["uid"], later["time"] = "evt-after", later["time"] + 1000
    got = client.post("/v1/score", content=_body(later)).json()["results"][0]
    assert got["detector_score"] == pytest.approx(
        pipeline.score([*stream, later])["detector_score"].iloc[-1], rel=1e-12
    )


def test_waiting_requests_are_scored_together_with_the_batch_scores(pipeline, periods):
    """Group scoring: requests queued behind a busy scorer get one push, and batch scores."""
    import threading

    _, _, test = periods
    day = test.iloc[:200].reset_index(drop=True)
    app = create_app(pipeline, stateful=True)
    engine = app.state.engine
    flat = day.loc[:, list(ocsf.FLAT_COLUMNS)].astype(object)
    rows = flat.where(flat.notna(), None).to_dict("records")
    engine.score(rows[:190])  # earlier traffic: the queued events have window history
    singles = [day.iloc[[i]] for i in range(190, 200)]
    answers: dict[int, pd.DataFrame] = {}

    def submit(i: int) -> None:
        answers[i] = engine.score([rows[190 + i]])[1]

    with engine.lock:  # scoring is busy: every request below has to queue
        threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(singles))]
        for thread in threads:
            thread.start()
        while len(engine.queue) < len(singles):
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join(timeout=60)
    assert engine.group_sizes[-1] == len(singles)  # one push for all ten
    expected = pipeline.score(day.iloc[190:], history=day.iloc[:190])
    for i, frame in enumerate(singles):
        (got,) = answers[i].itertuples()
        assert got.event_id == frame["event_id"].iloc[0]
        assert got.detector_score == expected["detector_score"].iloc[i]
    text = TestClient(app).get("/metrics").text
    assert "anomaly_score_group_requests_count 2.0" in text
