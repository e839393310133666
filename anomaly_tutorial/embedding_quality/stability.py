"""Stability of learned embeddings across training seeds.

An embedding worth building on should not depend much on the seed of its training run. The
functions here compare two embeddings of the *same events* with linear CKA (Kornblith et al.
2019) and with the overlap of their k-nearest-neighbour sets; :func:`seed_stability` really
trains one encoder per seed with :func:`anomaly_tutorial.models.train_encoder` and compares
their embeddings of held-out events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_embeddings, as_positive_int, subsample_rows
from .geometry import linear_cka
from .neighbors import knn_overlap

__all__ = ["SeedStability", "embedding_stability", "seed_stability"]


def embedding_stability(
    embeddings_a: ArrayLike,
    embeddings_b: ArrayLike,
    *,
    k: int = 10,
    sample_size: int | None = 5000,
    random_state: int = 0,
) -> dict[str, float]:
    """Linear CKA and k-NN overlap between two embeddings of the same rows.

    Parameters
    ----------
    embeddings_a, embeddings_b
        ``(n, d_a)`` and ``(n, d_b)``, the same rows in the same order.
    k
        Neighbours for the overlap.
    sample_size, random_state
        One seeded subsample of rows used for both measures; ``None`` for all rows.

    Returns
    -------
    dict
        ``cka``, ``knn_overlap``, ``knn_overlap_chance`` (``k / (n - 1)``, the overlap of
        unrelated embeddings), ``n``.
    """
    A = as_embeddings(embeddings_a, "embeddings_a")
    B = as_embeddings(embeddings_b, "embeddings_b")
    if A.shape[0] != B.shape[0]:
        raise ValueError(
            f"embeddings_a has {A.shape[0]} rows but embeddings_b has {B.shape[0]}; "
            "both must embed the same rows in the same order"
        )
    k = as_positive_int(k, "k")
    rows = subsample_rows(A.shape[0], sample_size, random_state)
    A, B = A[rows], B[rows]
    return {
        "cka": linear_cka(A, B),
        "knn_overlap": knn_overlap(A, B, k, sample_size=None),
        "knn_overlap_chance": k / (rows.size - 1),
        "n": int(rows.size),
    }


@dataclass
class SeedStability:
    """Result of :func:`seed_stability`.

    Attributes
    ----------
    seeds
        The training seeds.
    pairs
        One dict per pair of seeds: ``seed_a``, ``seed_b`` and the measures of
        :func:`embedding_stability`.
    embeddings
        Seed -> embeddings of the evaluation rows.
    encoders
        Seed -> the :class:`~anomaly_tutorial.models.TrainedEncoder`.
    """

    seeds: tuple[int, ...]
    pairs: list[dict[str, float]]
    embeddings: dict[int, np.ndarray] = field(repr=False)
    encoders: dict[int, Any] = field(repr=False)

    @property
    def cka(self) -> float:
        """Mean linear CKA over the pairs."""
        return float(np.mean([p["cka"] for p in self.pairs]))

    @property
    def knn_overlap(self) -> float:
        """Mean k-NN overlap over the pairs."""
        return float(np.mean([p["knn_overlap"] for p in self.pairs]))


def seed_stability(
    train: Any,
    evaluate: Any,
    *,
    seeds: Sequence[int] = (0, 1),
    k: int = 10,
    sample_size: int | None = 5000,
    random_state: int = 0,
    history: Any = None,
    **train_kwargs: Any,
) -> SeedStability:
    """Train one encoder per seed and measure how much their embeddings agree.

    Parameters
    ----------
    train
        Training data for :func:`~anomaly_tutorial.models.train_encoder` (a ``FeatureSplit``
        or a flat OCSF frame).
    evaluate
        Held-out data embedded by every encoder (``FeatureSplit`` or frame).
    seeds
        At least two distinct training seeds.
    k, sample_size, random_state
        See :func:`embedding_stability`.
    history
        Window context passed to ``TrainedEncoder.embed`` when ``evaluate`` is a frame.
    **train_kwargs
        Settings passed to every ``train_encoder`` call (``objective``, ``width``,
        ``epochs``, ``featurizer`` ...); ``seed`` is set per run and ``progress`` defaults
        to ``False``.

    Returns
    -------
    SeedStability
    """
    from anomaly_tutorial.models import train_encoder

    seeds = tuple(seeds)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: need at least two distinct seeds, got {seeds}")
    if "seed" in train_kwargs:
        raise ValueError("pass the training seeds with seeds=..., not seed=")
    train_kwargs.setdefault("progress", False)
    encoders, embeddings = {}, {}
    for seed in seeds:
        encoder = train_encoder(train, seed=int(seed), **train_kwargs)
        encoders[seed] = encoder
        embeddings[seed] = encoder.embed(evaluate, history=history)
    pairs = []
    for i, a in enumerate(seeds):
        for b in seeds[i + 1 :]:
            measures = embedding_stability(
                embeddings[a],
                embeddings[b],
                k=k,
                sample_size=sample_size,
                random_state=random_state,
            )
            pairs.append({"seed_a": a, "seed_b": b, **measures})
    return SeedStability(seeds=seeds, pairs=pairs, embeddings=embeddings, encoders=encoders)
