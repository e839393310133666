"""Exercises of the chapter "From ResNet to TabularResNet" (``book/tabular_resnet.md``).

Expected answers are computed here with the package's own functions on the chapter's
deterministic data, never typed in.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise tr-1: the small TabularResNet whose parameters the reader counts.
TR1_MODEL = {
    "n_numeric": 10,
    "cardinalities": [5, 7, 3],
    "d_embed_cat": 4,
    "width": 32,
    "depth": 2,
    "d_out": 8,
}

#: The chapter's depth experiment: sampled training events, width, steps, seed.
DEPTH_SAMPLE = 3000
DEPTH_WIDTH = 64
DEPTH_STEPS = 150
#: Exercise tr-2: depth of the shallow plain network.
TR2_DEPTH = 4


@cache
def _small_model_parameters() -> int:
    from anomaly_tutorial.models import TabularResNet, count_parameters

    return count_parameters(TabularResNet(**TR1_MODEL))


@cache
def depth_experiment_data() -> tuple[np.ndarray, np.ndarray]:
    """Inputs and service labels of the chapter's depth experiment (as in the chapter)."""
    from anomaly_tutorial.data import book_split, default_dataset
    from anomaly_tutorial.models import depth_experiment_inputs, pretrained_encoder

    train, _, _ = book_split().split(default_dataset().events)
    featurizer = pretrained_encoder("contrastive").featurizer
    X, y, _ = depth_experiment_inputs(train, featurizer, n_events=DEPTH_SAMPLE, random_state=0)
    return X, y


@cache
def _shallow_plain_loss() -> float:
    from anomaly_tutorial.models import train_depth_experiment

    X, y = depth_experiment_data()
    run = train_depth_experiment(
        X,
        y,
        depth=TR2_DEPTH,
        width=DEPTH_WIDTH,
        steps=DEPTH_STEPS,
        residual=False,
        task="classification",
        seed=0,
    )
    return run.final_loss


@cache
def _embedding_parameters() -> int:
    from anomaly_tutorial.models import pretrained_encoder

    model = pretrained_encoder("contrastive").model
    return int(sum(model.cardinalities) * model.d_embed_cat)


@exercise(
    "tr-1",
    hint=(
        "Add up numeric projection (weights + biases), embedding tables, input projection, "
        "per block a LayerNorm (2 * width) and two Linear layers, then output LayerNorm and head."
    ),
    why="count_parameters sums p.numel() over model.parameters().",
)
def _check_tr1(answer: object) -> bool:
    return close_to(answer, _small_model_parameters())


@exercise(
    "tr-2",
    hint="Call train_depth_experiment with depth=4, residual=False and read .final_loss.",
    why="With few layers the plain network learns: depth, not the layers, starves the gradient.",
)
def _check_tr2(answer: object) -> bool:
    # Float arithmetic may differ slightly between machines and thread counts.
    return close_to(answer, _shallow_plain_loss(), rtol=0.02, atol=0.005)


@exercise(
    "tr-3",
    hint="Each field has cardinality * d_embed_cat embedding parameters; add them up.",
    why="One learned vector of d_embed_cat numbers per code of every categorical field.",
)
def _check_tr3(answer: object) -> bool:
    return close_to(answer, _embedding_parameters())
