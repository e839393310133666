"""Choose encoder settings with a validation metric: a small, honest hyper-parameter sweep.

:func:`sweep_encoders` trains one encoder per setting on a *fit* part of the training period
and scores every encoder on a later *validation* part, never on the test period (the book's
coordinate search over the cached encoders' settings,
:func:`anomaly_tutorial.models.selection.select_encoder_settings`, calls it for every run):

* ``val_pr_auc`` / ``val_roc_auc``: k-NN-distance detection (fit on the embeddings of the fit
  part, scored on the validation part) against the validation labels, the metric the book
  cares about;
* ``alignment`` and ``uniformity`` (Wang & Isola 2020) on the validation part, which need no
  labels;
* ``val_loss``: the objective's own validation loss. It is *not* comparable across
  temperatures (the temperature rescales the loss), which is why it is not the selection
  metric.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .compare import knn_distance_scores
from .views import view_alignment

__all__ = ["sweep_encoders"]


def sweep_encoders(
    fit_data: Any,
    val_data: Any,
    val_is_anomaly: Any,
    settings: Sequence[Mapping[str, Any]],
    *,
    k: int = 10,
    reference_data: Any = None,
    stop_on_validation: bool = True,
    **common: Any,
) -> pd.DataFrame:
    """Train one encoder per setting and score each on a validation period.

    Parameters
    ----------
    fit_data
        Training data of every encoder (``FeatureSplit`` or frame, see
        :func:`~anomaly_tutorial.models.train_encoder`).
    val_data
        Later events used for early stopping and for scoring (``FeatureSplit``).
    val_is_anomaly
        Labels of ``val_data`` rows (0/1 or bool), in row order.
    settings
        One mapping of ``train_encoder`` arguments per run, e.g.
        ``[{"temperature": 0.1}, {"temperature": 0.5}]``.
    k
        Neighbours of the k-NN-distance detector.
    reference_data
        Rows the validation events are compared with by the k-NN detector; default
        ``fit_data`` (use the whole training period when ``fit_data`` is a sample of it).
    stop_on_validation
        Early stopping on the objective's loss on ``val_data`` (``True``) or on a random
        ``val_fraction`` of ``fit_data`` (``False``, as :func:`~anomaly_tutorial.models.
        pretrained_encoder` trains, so the validation period is used for scoring only).
    **common
        Arguments shared by every run (``epochs``, ``featurizer`` ...); ``progress`` defaults
        to ``False``.

    Returns
    -------
    pandas.DataFrame
        One row per setting: the setting's values, ``best_epoch``, ``epochs_run``,
        ``val_loss`` (the objective's early-stopping loss of the best epoch), ``val_pr_auc``,
        ``val_roc_auc``, ``alignment``, ``uniformity``, ``seconds``.
    """
    from anomaly_tutorial.evaluate import pr_auc, roc_auc
    from anomaly_tutorial.models import train_encoder

    if not settings:
        raise ValueError("settings: expected at least one mapping of train_encoder arguments")
    y = np.asarray(val_is_anomaly).astype(bool)
    n_val = np.asarray(val_data.numeric).shape[0]
    if y.shape != (n_val,):
        raise ValueError(f"val_is_anomaly: has shape {y.shape}, val_data has {n_val} rows")
    if y.all() or not y.any():
        raise ValueError("val_is_anomaly: the validation part needs normal and anomalous rows")
    common.setdefault("progress", False)
    rows = []
    for setting in settings:
        overlap = set(setting) & set(common)
        if overlap:
            raise ValueError(f"settings and common arguments both set {sorted(overlap)}")
        start = time.perf_counter()
        encoder = train_encoder(
            fit_data, val_data if stop_on_validation else None, **setting, **common
        )
        seconds = time.perf_counter() - start
        reference = encoder.features(fit_data if reference_data is None else reference_data)
        scores = knn_distance_scores(encoder.embed(reference), encoder.embed(val_data), k)
        geometry = view_alignment(encoder, val_data)
        best = min(encoder.history, key=lambda h: h["val_loss"])
        rows.append(
            {
                **setting,
                "best_epoch": encoder.best_epoch,
                "epochs_run": len(encoder.history),
                "val_loss": best["val_loss"],
                "val_pr_auc": pr_auc(y, scores),
                "val_roc_auc": roc_auc(y, scores),
                "alignment": geometry["alignment"],
                "uniformity": geometry["uniformity"],
                "seconds": seconds,
            }
        )
    return pd.DataFrame(rows)
