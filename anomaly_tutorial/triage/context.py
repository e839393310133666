"""Context of an alert: which service, how critical it is, who acted and from where.

Severity (:mod:`anomaly_tutorial.triage.severity`) combines the calibrated score with what an
alert touches. This module builds that context table from flat OCSF events:

* ``service``: ``dst_endpoint.svc_name`` (``"<none>"`` when the event names no service);
* ``service_tier``: from an asset inventory (a mapping service -> tier, 1 = most critical);
* ``privileged``: the acting account (``actor.user.name``) is in a list of privileged accounts,
  for example :func:`privileged_accounts` learnt from a training period;
* ``external_source``: ``src_endpoint.ip`` is not internal
  (:func:`anomaly_tutorial.features.ip_is_internal`); a missing address counts as internal.

Public objects: :data:`PRIVILEGED_OPERATIONS`, :func:`privileged_accounts`,
:func:`external_source`, :func:`alert_context`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from anomaly_tutorial import ocsf
from anomaly_tutorial.features import ip_is_internal

#: API operations that only administrators should perform (IAM and configuration changes).
PRIVILEGED_OPERATIONS: tuple[str, ...] = (
    "ListUsers",
    "CreateUser",
    "DeleteUser",
    "AttachRolePolicy",
    "CreateAccessKey",
    "UpdateConfig",
)
NO_SERVICE = "<none>"


def _require(events: pd.DataFrame, columns: Iterable[str], argument: str = "events") -> None:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"{argument}: expected a pandas DataFrame, got {type(events).__name__}")
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise ValueError(f"{argument}: missing columns {missing}")


def privileged_accounts(
    events: pd.DataFrame,
    operations: Iterable[str] = PRIVILEGED_OPERATIONS,
    min_successes: int = 2,
) -> frozenset[str]:
    """Accounts that succeeded at privileged operations at least ``min_successes`` times.

    Learn it on a training period: it stands in for the list of administrators an identity
    provider would give. An account that succeeded only once is not counted, so a single
    successful escalation does not make its author privileged.
    """
    _require(events, ("class_uid", "status_id", "api.operation", "actor.user.name"))
    if int(min_successes) < 1:
        raise ValueError(f"min_successes: must be >= 1, got {min_successes!r}")
    ok = (
        (events["class_uid"].to_numpy() == ocsf.API_ACTIVITY)
        & (events["status_id"].to_numpy() == ocsf.STATUS_SUCCESS)
        & events["api.operation"].isin(list(operations)).fillna(False).to_numpy(dtype=bool)
    )
    counts = events.loc[ok, "actor.user.name"].dropna().astype(str).value_counts()
    return frozenset(counts.index[counts >= int(min_successes)])


def external_source(events: pd.DataFrame) -> np.ndarray:
    """Whether each event's ``src_endpoint.ip`` is outside the internal networks.

    A missing address counts as internal (not external): nothing says it came from outside.
    """
    _require(events, ("src_endpoint.ip",))
    src = events["src_endpoint.ip"].astype(object)
    return (ip_is_internal(src, "src_endpoint.ip") == 0) & src.notna().to_numpy()


def alert_context(
    events: pd.DataFrame,
    scores: np.ndarray | pd.Series,
    service_tiers: Mapping[str, int],
    privileged: Iterable[str] = (),
    default_tier: int = 3,
) -> pd.DataFrame:
    """The table :class:`~anomaly_tutorial.triage.severity.SeverityRules` classifies.

    Parameters
    ----------
    events
        Flat OCSF events of the alerts (one row per alert).
    scores
        Their 0-100 anomaly scores, same length and order.
    service_tiers
        Service name -> tier (1 = business critical); other services get ``default_tier``.
    privileged
        Names of privileged accounts.
    default_tier
        Tier of a service not in ``service_tiers``.

    Returns
    -------
    pandas.DataFrame
        Index of ``events``; columns ``event_id``, ``time``, ``score``, ``service``,
        ``service_tier``, ``user``, ``src_ip``, ``privileged``, ``external_source``.

    Raises
    ------
    ValueError
        If a column is missing, the lengths differ or a score is NaN.
    """
    _require(events, ("event_id", "time", "dst_endpoint.svc_name", "src_endpoint.ip"))
    score = np.asarray(scores, dtype="float64")
    if score.ndim != 1 or len(score) != len(events):
        raise ValueError(
            f"scores: expected one score per event ({len(events)}), got shape {score.shape}"
        )
    bad = ~np.isfinite(score)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"scores: value {score[i]} at position {i} (event "
            f"{events['event_id'].iloc[i]!r}) is not a finite number"
        )
    service = events["dst_endpoint.svc_name"].astype(object).fillna(NO_SERVICE).to_numpy()
    tiers = {str(k): int(v) for k, v in service_tiers.items()}
    user = (
        events["actor.user.name"].astype(object).to_numpy()
        if "actor.user.name" in events
        else np.full(len(events), None, dtype=object)
    )
    names = frozenset(privileged)
    src = events["src_endpoint.ip"].astype(object)
    external = external_source(events)
    return pd.DataFrame(
        {
            "event_id": events["event_id"].astype(str).to_numpy(),
            "time": events["time"].to_numpy(dtype="int64"),
            "score": score,
            "service": service,
            "service_tier": np.array([tiers.get(s, int(default_tier)) for s in service]),
            "user": user,
            "src_ip": src.to_numpy(),
            "privileged": np.array([u in names for u in user], dtype=bool),
            "external_source": external,
        },
        index=events.index,
    )
