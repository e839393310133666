"""Tests of the validation search of the cached encoders' settings (models/selection.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from anomaly_tutorial.models import PRETRAINED_CONFIGS
from anomaly_tutorial.models.selection import (
    SEARCH_BASES,
    SEARCH_SPACES,
    SELECTION_DIR,
    load_selection_table,
    select_encoder_settings,
    selected_config,
)

torch.set_num_threads(1)


def test_every_search_space_contains_the_base_value() -> None:
    """The starting point (e.g. the package's temperature) is always among the candidates."""
    for objective, space in SEARCH_SPACES.items():
        for name, values in space:
            assert getattr(SEARCH_BASES[objective], name) in values, (objective, name)


def test_cached_encoders_use_the_committed_validation_selection() -> None:
    data = json.loads((SELECTION_DIR / "selected.json").read_text(encoding="utf-8"))
    for objective, config in PRETRAINED_CONFIGS.items():
        assert config == selected_config(objective)
        settings = data["selected"][objective]["settings"]
        assert {name: getattr(config, name) for name in settings} == settings
        for name, value in settings.items():
            assert value in dict(SEARCH_SPACES[objective])[name]


def test_committed_table_is_a_coordinate_search() -> None:
    """Each step keeps its best value, and the next step starts from it."""
    table = load_selection_table()
    for objective, space in SEARCH_SPACES.items():
        runs = table[table["objective"] == objective]
        names = [name for name, _ in space]
        current = {name: getattr(SEARCH_BASES[objective], name) for name in names}
        for name, values in space:
            step = runs[runs["step"] == name]
            assert len(step) == len(values)
            for other in names:
                if other != name:
                    assert (step[other].astype(str) == str(current[other])).all()
            best = step.iloc[int(np.argmax(step["val_pr_auc"].to_numpy()))]
            current[name] = type(values[0])(best[name])
        chosen = runs[runs["selected"]]
        assert len(chosen) == 1
        assert {n: type(current[n])(chosen.iloc[0][n]) for n in names} == current
        assert chosen.iloc[0]["val_pr_auc"] == runs["val_pr_auc"].max()


@pytest.fixture(scope="module")
def small_periods():
    from anomaly_tutorial.data import GeneratorConfig, book_split, generate_dataset

    dataset = generate_dataset(GeneratorConfig(n_events=3_000, days=7, n_users=40, seed=3))
    train, validation, test = book_split(dataset.config).split(dataset.events)
    return dataset, train, validation, test


def test_search_on_a_small_dataset_reads_only_validation_labels(small_periods) -> None:
    from anomaly_tutorial.features import OCSFFeaturizer

    dataset, train, validation, _ = small_periods
    labels = dataset.labels.set_index("event_id").loc[validation["event_id"]].reset_index()
    featurizer = OCSFFeaturizer().fit(train)
    before = featurizer.transform(validation.head(50), history=train)
    base = replace(SEARCH_BASES["masked"], width=16, d_out=8, epochs=1, batch_size=256)
    space = [("width", (16, 8)), ("corrupt", ("categorical", "all"))]
    result = select_encoder_settings(
        "masked", train, validation, labels, base=base, search_space=space, featurizer=featurizer
    )
    table = result.table
    assert list(table["step"]) == ["width", "width", "corrupt", "corrupt"]
    best_width = table.iloc[int(np.argmax(table["val_pr_auc"].to_numpy()[:2]))]["width"]
    assert (table.loc[2:, "width"] == best_width).all()
    assert result.config.width == best_width
    assert table["selected"].sum() == 1
    assert table.loc[table["selected"], "val_pr_auc"].iloc[0] == table["val_pr_auc"].max()
    assert set(result.settings) == {"width", "corrupt"}
    # the featurizer passed in, fitted on the training period, is used as it is
    assert np.array_equal(featurizer.transform(validation.head(50), history=train), before)


def test_bad_arguments(small_periods) -> None:
    dataset, train, validation, test = small_periods
    with pytest.raises(ValueError, match="objective must be one of"):
        select_encoder_settings("autoencoder", train, validation, dataset.labels)
    with pytest.raises(ValueError, match="'wdth' is not an EncoderConfig setting"):
        select_encoder_settings(
            "masked", train, validation, dataset.labels, search_space=[("wdth", (8,))]
        )
    with pytest.raises(ValueError, match="no values given for 'width'"):
        select_encoder_settings(
            "masked", train, validation, dataset.labels, search_space=[("width", ())]
        )
    only_test = dataset.labels[dataset.labels["event_id"].isin(test["event_id"])]
    with pytest.raises(ValueError, match="validation events have no label"):
        select_encoder_settings(
            "masked", train, validation, only_test, search_space=[("width", (8,))]
        )
    with pytest.raises(ValueError, match="not 'contrastive'"):
        select_encoder_settings(
            "contrastive", train, validation, dataset.labels, base=SEARCH_BASES["masked"]
        )
