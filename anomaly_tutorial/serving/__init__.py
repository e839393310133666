"""Deployment: the detection pipeline, model bundles, streaming, batch and distributed scoring.

* :mod:`~anomaly_tutorial.serving.pipeline`: :class:`DetectionPipeline`, raw OCSF events to
  scores, alerts and Detection Findings; every entry point below calls it.
* :mod:`~anomaly_tutorial.serving.bundle`: :func:`save_bundle` / :func:`load_bundle`, a
  verified folder with a manifest, no pickle.
* :mod:`~anomaly_tutorial.serving.streaming`: :class:`StreamingScorer`, events one at a time
  or in micro-batches with exactly the batch scores.
* :mod:`~anomaly_tutorial.serving.batch`: :func:`score_files` (JSONL / parquet files in
  chunks, bad records quarantined, a summary) and :func:`train_bundle`.
* :mod:`~anomaly_tutorial.serving.distributed`: :func:`score_parquet_dataset`, a partitioned
  parquet dataset on a Dask cluster with the one-machine scores (import it on its own: it
  imports Dask when called).

The REST service lives in :mod:`anomaly_tutorial.serving.service` (imported on its own, so
that importing this package does not import FastAPI); :mod:`.distributed` imports Dask only
when called.
"""

from anomaly_tutorial.serving.batch import BatchSummary, score_files, train_bundle
from anomaly_tutorial.serving.bundle import BundleError, load_bundle, read_manifest, save_bundle
from anomaly_tutorial.serving.pipeline import (
    BOOK_SERVICE_TIERS,
    SCORE_COLUMNS,
    DetectionPipeline,
    as_event_frame,
    data_fingerprint,
    detector_choice,
    empty_scores,
)
from anomaly_tutorial.serving.streaming import LateEventError, StreamingScorer

__all__ = [
    "BOOK_SERVICE_TIERS",
    "SCORE_COLUMNS",
    "BatchSummary",
    "BundleError",
    "DetectionPipeline",
    "LateEventError",
    "StreamingScorer",
    "as_event_frame",
    "data_fingerprint",
    "detector_choice",
    "empty_scores",
    "load_bundle",
    "read_manifest",
    "save_bundle",
    "score_files",
    "train_bundle",
]
