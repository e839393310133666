"""Fixtures shared by several test modules.

``periods`` and ``pipeline`` are the book's default dataset cut by ``book_split()`` and the
default :class:`~anomaly_tutorial.serving.DetectionPipeline` fitted on its train and validation
periods. Fitting takes seconds, so it happens once per test session (once per xdist worker);
nothing a test does changes a fitted pipeline (scoring never alters it). A module that needs
other data defines fixtures of the same name, which take precedence.
"""

from __future__ import annotations

import pytest

from anomaly_tutorial.data import book_split, default_dataset


@pytest.fixture(scope="session")
def periods():
    events = default_dataset().events
    return dict(zip(("train", "validation", "test"), book_split().split(events), strict=True))


@pytest.fixture(scope="session")
def pipeline(periods):
    from anomaly_tutorial.serving import DetectionPipeline

    return DetectionPipeline().fit(periods["train"], periods["validation"])
