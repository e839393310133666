"""One test against a real uvicorn server on 127.0.0.1 (started and stopped by the test)."""

from __future__ import annotations

import json

import httpx
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.data import GeneratorConfig, book_split, generate_dataset
from anomaly_tutorial.serving import DetectionPipeline
from anomaly_tutorial.serving.service import create_app, running_service


def test_a_real_server_on_localhost_scores_and_stops():
    dataset = generate_dataset(GeneratorConfig(n_events=2000, n_users=40, seed=5))
    train, validation, test = book_split().split(dataset.events)
    pipeline = DetectionPipeline().fit(train, validation)
    rows = test.loc[:, list(ocsf.FLAT_COLUMNS)].iloc[:3].to_dict("records")
    events = [ocsf.unflatten_event(row) for row in rows]
    app = create_app(pipeline, stateful=False, token="t0ken")
    auth = {"authorization": "Bearer t0ken"}

    with running_service(app) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            assert client.post("/v1/score", content=json.dumps(events)).status_code == 401
            response = client.post("/v1/score", content=json.dumps(events), headers=auth)
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            assert [r["event_id"] for r in results] == [e["metadata"]["uid"] for e in events]
            expected = pipeline.score(events)["detector_score"].tolist()
            assert [r["detector_score"] for r in results] == pytest.approx(expected, rel=1e-12)
            bad = client.post("/v1/score", content=b"[{", headers=auth)
            assert bad.status_code == 422
            metrics = client.get("/metrics", headers=auth).text
            assert 'anomaly_requests_total{route="/v1/score",status="200"} 1.0' in metrics

    # the server is gone once the block is left
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/healthz", timeout=2.0)
