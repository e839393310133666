"""Exercises of the chapter "Is the embedding any good?" (``book/embedding_quality.md``).

Expected answers are computed here with the package's own functions on the chapter's
deterministic data, never typed in.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from anomaly_tutorial.exercises.registry import AnswerTypeError, close_to, equals_text, exercise

#: The chapter's test sample: every test anomaly plus normal events up to this size.
SAMPLE_SIZE = 2000
SAMPLE_SEED = 0
#: Exercise eq-1: neighbours of the agreement.
EQ1_K = 5
#: Exercise eq-3: neighbours of the agreement.
EQ3_K = 10
#: Exercise eq-3: only anomaly types with at least this many events in the test sample.
EQ3_MIN_EVENTS = 20


@cache
def test_sample_embeddings() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Embeddings of the chapter's test sample (days 11-14 of the book split) by both pretrained
    encoders, and their anomaly types."""
    from anomaly_tutorial.data import book_split, default_dataset
    from anomaly_tutorial.embedding_quality import quality_sample
    from anomaly_tutorial.models import pretrained_encoder

    dataset = default_dataset()
    _, validation, test = book_split().split(dataset.events)
    labels = dataset.labels.set_index("event_id").loc[test["event_id"]]
    rows = quality_sample(labels["is_anomaly"].to_numpy(dtype=bool), SAMPLE_SIZE, SAMPLE_SEED)
    split = pretrained_encoder("contrastive").featurizer.transform_split(test, history=validation)
    embeddings = {
        name: pretrained_encoder(name).embed(split)[rows] for name in ("contrastive", "masked")
    }
    return embeddings, labels["anomaly_type"].astype(str).to_numpy()[rows]


@cache
def _masked_agreement_k5() -> float:
    from anomaly_tutorial.embedding_quality import knn_agreement

    embeddings, types = test_sample_embeddings()
    return knn_agreement(embeddings["masked"], types, k=EQ1_K).anomalous


@cache
def _objective_cka() -> float:
    from anomaly_tutorial.embedding_quality import linear_cka

    embeddings, _ = test_sample_embeddings()
    return linear_cka(embeddings["contrastive"], embeddings["masked"])


@cache
def _hardest_type() -> str:
    from anomaly_tutorial.embedding_quality import knn_agreement

    embeddings, types = test_sample_embeddings()
    table = knn_agreement(embeddings["contrastive"], types, k=EQ3_K).per_label
    table = table.drop(index="normal")
    return str(table[table["n"] >= EQ3_MIN_EVENTS]["agreement"].idxmin())


@exercise(
    "eq-1",
    hint="eq.knn_agreement(embedded['masked'][1][rows], types[rows], k=5).anomalous",
    why="Closer neighbours are more likely to share the anomaly type.",
)
def _check_eq1(answer: object) -> bool:
    return close_to(answer, _masked_agreement_k5(), rtol=1e-3, atol=1e-3)


@exercise(
    "eq-2",
    hint="eq.linear_cka on the two test-sample embeddings (same rows, same order).",
    why="Linear CKA compares geometries up to rotation and scale.",
)
def _check_eq2(answer: object) -> bool:
    return close_to(answer, _objective_cka(), rtol=1e-3, atol=1e-4)


@exercise(
    "eq-3",
    hint="Take knn_agreement(...).per_label, drop 'normal', keep n >= 20, find the minimum.",
    why="Types with few, dissimilar events have no group to join.",
)
def _check_eq3(answer: object) -> bool:
    if not isinstance(answer, str):
        raise AnswerTypeError(f"expected an anomaly type name (a str), got {type(answer).__name__}")
    return equals_text(answer, _hardest_type())
