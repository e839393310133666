"""Severity of an alert: the calibrated score combined with what is at stake.

An analyst reads ``critical`` before ``low``. The severity of an alert here is the 0-100
anomaly score (:func:`anomaly_tutorial.thresholds.anomaly_score_0_100`, a monotone function of
the conformal p-value) plus *context points* for what the alert touches:

* the **service tier** of the destination (tier 1 = business critical, e.g. payments or auth);
* a **privileged account** (an administrator);
* an **external source** (the source address is not in the company's networks).

The sum, the *effective score*, is cut into ``low < medium < high < critical`` by the
thresholds of a :class:`SeverityPolicy`; each tier has an OCSF ``severity_id``
(:data:`anomaly_tutorial.ocsf.TRIAGE_SEVERITY_IDS`: 2 Low, 3 Medium, 4 High, 5 Critical).
:class:`SeverityRules` holds a default policy and custom policies per *domain* (a service, or
any label the caller puts in the ``domain`` column), for example a stricter one for payments.

Classification is vectorised (``numpy`` only, one pass per policy), so a million alerts take
seconds at most; :func:`severity_of` is the same rule for one alert, written plainly, and
the tests check that both agree.

Public objects: :data:`SEVERITY_LEVELS`, :class:`SeverityPolicy`, :class:`SeverityRules`,
:func:`severity_of`, :data:`CONTEXT_COLUMNS`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial import ocsf

#: Tiers from least to most severe.
SEVERITY_LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")
#: Columns :meth:`SeverityRules.classify` reads.
CONTEXT_COLUMNS: tuple[str, ...] = ("score", "service_tier", "privileged", "external_source")


def _default_thresholds() -> dict[str, float]:
    return {"medium": 45.0, "high": 60.0, "critical": 75.0}


def _default_tier_points() -> dict[int, float]:
    return {1: 10.0, 2: 5.0}


@dataclass(frozen=True)
class SeverityPolicy:
    """Thresholds and context points that turn a 0-100 score into a severity tier.

    Parameters
    ----------
    thresholds
        Smallest effective score of ``medium``, ``high`` and ``critical``; below ``medium`` an
        alert is ``low``. Must be non-decreasing in that order. Names other than these three
        are refused (``low`` has no threshold: it is everything below ``medium``).
    tier_points
        Points added for the destination's service tier (tiers not listed add 0).
    privileged_points
        Points added when the account is privileged.
    external_points
        Points added when the source address is external.

    Notes
    -----
    The defaults are a policy, not a fit: with calibration on about 10,000 validation scores,
    the smallest p-value is about ``1e-4`` (score 67), so an alert with no context reaches
    ``high`` at most, and ``critical`` needs context. Change them per domain with
    :class:`SeverityRules`.
    """

    thresholds: Mapping[str, float] = field(default_factory=_default_thresholds)
    tier_points: Mapping[int, float] = field(default_factory=_default_tier_points)
    privileged_points: float = 10.0
    external_points: float = 5.0

    def __post_init__(self) -> None:
        thresholds = dict(self.thresholds)
        unknown = sorted(set(thresholds) - set(SEVERITY_LEVELS[1:]))
        if unknown:
            raise ValueError(
                f"thresholds: unknown severity names {unknown}; expected keys among "
                f"{list(SEVERITY_LEVELS[1:])} ('low' is everything below 'medium')"
            )
        missing = [name for name in SEVERITY_LEVELS[1:] if name not in thresholds]
        if missing:
            raise ValueError(f"thresholds: missing severity names {missing}")
        for name, value in thresholds.items():
            if not np.isfinite(float(value)):
                raise ValueError(f"thresholds[{name!r}]: must be a finite number, got {value!r}")
        ordered = [float(thresholds[name]) for name in SEVERITY_LEVELS[1:]]
        if any(b < a for a, b in itertools.pairwise(ordered)):
            raise ValueError(
                "thresholds: must not decrease from medium to high to critical, got "
                f"{dict(zip(SEVERITY_LEVELS[1:], ordered, strict=True))}"
            )
        for name in ("privileged_points", "external_points"):
            if not np.isfinite(float(getattr(self, name))):
                raise ValueError(f"{name}: must be a finite number, got {getattr(self, name)!r}")
        for tier, points in dict(self.tier_points).items():
            if not np.isfinite(float(points)):
                raise ValueError(f"tier_points[{tier!r}]: must be a finite number, got {points!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON."""
        return {
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "tier_points": {int(k): float(v) for k, v in self.tier_points.items()},
            "privileged_points": float(self.privileged_points),
            "external_points": float(self.external_points),
        }


def _context_points(policy: SeverityPolicy, tier: Any, privileged: bool, external: bool) -> float:
    points = float(dict(policy.tier_points).get(int(tier), 0.0))
    if privileged:
        points += float(policy.privileged_points)
    if external:
        points += float(policy.external_points)
    return points


def severity_of(
    score: float,
    service_tier: int,
    privileged: bool,
    external_source: bool,
    policy: SeverityPolicy | None = None,
) -> str:
    """Severity tier of one alert (the reference, row-by-row form of the rule).

    Parameters
    ----------
    score
        The alert's 0-100 anomaly score.
    service_tier, privileged, external_source
        Its context (see the module docstring).
    policy
        The policy; :class:`SeverityPolicy` defaults when omitted.

    Returns
    -------
    str
        One of :data:`SEVERITY_LEVELS`.
    """
    policy = SeverityPolicy() if policy is None else policy
    if not np.isfinite(float(score)):
        raise ValueError(f"score: must be a finite number, got {score!r}")
    effective = float(score) + _context_points(policy, service_tier, privileged, external_source)
    level = "low"
    for name in SEVERITY_LEVELS[1:]:
        if effective >= float(policy.thresholds[name]):
            level = name
    return level


def _check_context(alerts: pd.DataFrame, domain_column: str | None) -> None:
    if not isinstance(alerts, pd.DataFrame):
        raise TypeError(f"alerts: expected a pandas DataFrame, got {type(alerts).__name__}")
    needed = list(CONTEXT_COLUMNS) + ([domain_column] if domain_column else [])
    missing = [c for c in needed if c not in alerts.columns]
    if missing:
        raise ValueError(f"alerts: missing columns {missing}; needed: {needed}")
    for column in CONTEXT_COLUMNS:
        values = alerts[column]
        if values.isna().any():
            row = alerts.index[np.flatnonzero(values.isna().to_numpy())[0]]
            raise ValueError(f"alerts: column {column!r} is missing a value at row {row!r}")
    score = pd.to_numeric(alerts["score"], errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(score)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"alerts: column 'score' must hold finite numbers; row {alerts.index[i]!r} has "
            f"{alerts['score'].iloc[i]}"
        )


class SeverityRules:
    """A default :class:`SeverityPolicy` and custom policies per domain.

    Parameters
    ----------
    default
        Policy for alerts whose domain has no policy of its own.
    domains
        Domain name -> policy, for example ``{"payments": SeverityPolicy(...)}``.
    domain_column
        Column of the alerts frame that names the domain (the destination service by
        default).

    Examples
    --------
    >>> strict = SeverityPolicy(thresholds={"medium": 35, "high": 50, "critical": 65})
    >>> rules = SeverityRules(domains={"payments": strict})
    >>> rules.classify(alerts)  # doctest: +SKIP
    """

    def __init__(
        self,
        default: SeverityPolicy | None = None,
        domains: Mapping[str, SeverityPolicy] | None = None,
        domain_column: str = "service",
    ) -> None:
        self.default = SeverityPolicy() if default is None else default
        self.domains = dict(domains or {})
        self.domain_column = domain_column
        if "default" in self.domains:
            raise ValueError("domains: 'default' names the default policy; pass it as default=")
        for name, policy in [("default", self.default), *self.domains.items()]:
            if not isinstance(policy, SeverityPolicy):
                raise TypeError(
                    f"policy for {name!r}: expected a SeverityPolicy, got {type(policy).__name__}"
                )

    def policy_for(self, domain: Any) -> SeverityPolicy:
        """The policy that applies to ``domain``."""
        return self.domains.get(domain, self.default)

    def classify(self, alerts: pd.DataFrame) -> pd.DataFrame:
        """Severity of every alert, vectorised.

        Parameters
        ----------
        alerts
            One row per alert with the columns :data:`CONTEXT_COLUMNS` (``score`` 0-100,
            integer ``service_tier``, boolean ``privileged`` and ``external_source``) and,
            when custom domain policies exist, the ``domain_column``.

        Returns
        -------
        pandas.DataFrame
            Same index: ``effective_score``, ``severity`` (one of :data:`SEVERITY_LEVELS`),
            ``severity_id`` (OCSF) and ``policy`` (the domain whose policy applied, or
            ``"default"``).

        Raises
        ------
        ValueError
            If a column is missing, or a context value is missing or a score is not finite;
            the message names the column and the row.
        """
        domain_column = self.domain_column if self.domains else None
        _check_context(alerts, domain_column)
        n = len(alerts)
        score = pd.to_numeric(alerts["score"]).to_numpy(dtype="float64")
        tier = alerts["service_tier"].to_numpy().astype("int64")
        privileged = alerts["privileged"].to_numpy().astype(bool)
        external = alerts["external_source"].to_numpy().astype(bool)
        if domain_column:
            domain = alerts[domain_column].astype(object).to_numpy()
            custom = {name: domain == name for name in self.domains}
        else:
            custom = {}
        default_rows = np.ones(n, dtype=bool)
        for rows in custom.values():
            default_rows &= ~rows
        effective = np.empty(n)
        level = np.zeros(n, dtype=np.int8)
        applied = np.zeros(n, dtype=np.int16)
        policies = [("default", self.default, default_rows)] + [
            (name, self.domains[name], rows) for name, rows in custom.items()
        ]
        for code, (_, policy, rows) in enumerate(policies):
            if not rows.any():
                continue
            tiers = dict(policy.tier_points)
            keys = np.array(sorted(tiers), dtype="int64")
            points = np.zeros(rows.sum())
            if keys.size:
                values = np.array([tiers[k] for k in keys], dtype="float64")
                t = tier[rows]
                pos = np.clip(np.searchsorted(keys, t), 0, keys.size - 1)
                points = np.where(keys[pos] == t, values[pos], 0.0)
            points = points + privileged[rows] * float(policy.privileged_points)
            points = points + external[rows] * float(policy.external_points)
            eff = score[rows] + points
            cuts = np.array([float(policy.thresholds[k]) for k in SEVERITY_LEVELS[1:]])
            effective[rows] = eff
            level[rows] = (eff[:, None] >= cuts[None, :]).sum(axis=1)
            applied[rows] = code
        ids = np.array([ocsf.TRIAGE_SEVERITY_IDS[s] for s in SEVERITY_LEVELS])[level]
        return pd.DataFrame(
            {
                "effective_score": effective,
                "severity": pd.Categorical.from_codes(level, SEVERITY_LEVELS, ordered=True),
                "severity_id": ids,
                "policy": pd.Categorical.from_codes(applied, ["default", *custom]),
            },
            index=alerts.index,
        )


def severity_ids(names: Any) -> np.ndarray:
    """OCSF ``severity_id`` of each severity name; unknown names raise ``ValueError``."""
    values = np.asarray(pd.Series(names).astype(object))
    unknown = sorted({str(v) for v in values if v not in ocsf.TRIAGE_SEVERITY_IDS})
    if unknown:
        raise ValueError(
            f"severity: unknown names {unknown}; expected one of {list(SEVERITY_LEVELS)}"
        )
    return np.array([ocsf.TRIAGE_SEVERITY_IDS[v] for v in values], dtype="int64")
