"""Exercises of the chapter "Self-supervised training" (``book/self_supervised.md``).

Expected answers are computed here with the package's own functions on the chapter's
deterministic data, never typed in.
"""

from __future__ import annotations

from functools import cache

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise ss-1: batch size and temperature of the uninformative batch.
SS1_BATCH = 64
SS1_TEMPERATURE = 0.2
#: Exercise ss-3: corruption rate and seed of the ungrouped views.
SS3_RATE = 0.2
SS3_SEED = 0


@cache
def _uninformative_loss() -> float:
    import torch

    from anomaly_tutorial.models import info_nce

    same = torch.ones(SS1_BATCH, 8)
    return float(info_nce(same, same, temperature=SS1_TEMPERATURE))


@cache
def _masked_fields_per_event() -> int:
    from anomaly_tutorial.embedding_quality import corruption_fields
    from anomaly_tutorial.models import pretrained_encoder

    encoder = pretrained_encoder("masked")
    selection, _ = corruption_fields(encoder)
    return max(1, round(encoder.config.corruption_rate * selection.n_corruptible))


@cache
def _light_ungrouped_consistency() -> float:
    from anomaly_tutorial.data import book_split, default_dataset
    from anomaly_tutorial.embedding_quality import class_consistency, corrupted_view
    from anomaly_tutorial.models import pretrained_encoder

    encoder = pretrained_encoder("contrastive")
    train, _, _ = book_split().split(default_dataset().events)
    split = encoder.featurizer.transform_split(train)
    view = corrupted_view(encoder, split, seed=SS3_SEED, group_field="", corruption_rate=SS3_RATE)
    return float(class_consistency(split, view).mean())


@exercise(
    "ss-1",
    hint="Pass the same (64, 8) tensor of ones as both views to info_nce(..., temperature=0.2).",
    why="Every candidate is equally similar, so the loss is log(64) at any temperature.",
)
def _check_ss1(answer: object) -> bool:
    return close_to(answer, _uninformative_loss(), rtol=1e-4)


@exercise(
    "ss-2",
    hint="round(corruption_rate * number of corruptible fields), at least 1.",
    why="sample_field_mask picks the same number of fields for every event.",
)
def _check_ss2(answer: object) -> bool:
    return close_to(answer, _masked_fields_per_event())


@exercise(
    "ss-3",
    hint=(
        "corrupted_view(contrastive, train_split, seed=0, group_field='', corruption_rate=0.2), "
        "then the mean of class_consistency(train_split, view)."
    ),
    why="Drawing donors from all events mixes fields of different OCSF classes.",
)
def _check_ss3(answer: object) -> bool:
    return close_to(answer, _light_ungrouped_consistency(), atol=1e-3)
