"""Synthetic OCSF events with ground truth: the data every chapter of the book uses.

>>> from anomaly_tutorial.data import GeneratorConfig, generate_dataset
>>> ds = generate_dataset(GeneratorConfig(n_events=5_000, days=3))  # doctest: +SKIP
"""

from anomaly_tutorial.data.anomalies import ANOMALY_TYPES, AnomalyTypeInfo, plan_incidents
from anomaly_tutorial.data.config import ALL_ANOMALY_TYPES, GeneratorConfig
from anomaly_tutorial.data.dataset import (
    OCSFDataset,
    default_dataset,
    generate_dataset,
    time_split,
)
from anomaly_tutorial.data.diagnostics import single_field_separability
from anomaly_tutorial.data.drift import DriftConfig, DriftDataset, generate_drift_dataset
from anomaly_tutorial.data.splits import BookSplit, book_split

__all__ = [
    "ALL_ANOMALY_TYPES",
    "ANOMALY_TYPES",
    "AnomalyTypeInfo",
    "BookSplit",
    "DriftConfig",
    "DriftDataset",
    "GeneratorConfig",
    "OCSFDataset",
    "book_split",
    "default_dataset",
    "generate_dataset",
    "generate_drift_dataset",
    "plan_incidents",
    "single_field_separability",
    "time_split",
]
