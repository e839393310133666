"""Deployment: the detection pipeline, model bundles, streaming, batch and distributed scoring.

* :mod:`~anomaly_tutorial.serving.pipeline`: :class:`DetectionPipeline`, raw OCSF events to
  scores, alerts and Detection Findings; every entry point below calls it.

The REST service lives in :mod:`anomaly_tutorial.serving.service` (imported on its own, so
that importing this package does not import FastAPI); :mod:`.distributed` imports Dask only
when called.
"""

from anomaly_tutorial.serving.pipeline import (
    BOOK_SERVICE_TIERS,
    SCORE_COLUMNS,
    DetectionPipeline,
    as_event_frame,
    data_fingerprint,
)

__all__ = [
    "BOOK_SERVICE_TIERS",
    "SCORE_COLUMNS",
    "DetectionPipeline",
    "as_event_frame",
    "data_fingerprint",
]
