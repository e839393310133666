"""Exercises of the chapter "Triage: severity, kind and explanations" (``book/triage.md``).

Expected answers are computed here with the package's own functions on the small inputs the
chapter prints, never typed in.
"""

from __future__ import annotations

from anomaly_tutorial.exercises.registry import close_to, equals_text, exercise

#: Exercise triage-1: one alert (0-100 score, service tier, privileged, external source).
SEVERITY_ALERT = {"score": 58.0, "service_tier": 1, "privileged": True, "external_source": False}

#: Exercise triage-2: failed logins of one source address (seconds) and which were flagged.
BURST_TIMES_S = (0, 60, 120, 400, 1000)
BURST_FLAGGED = (True, True, False, True, True)
BURST_EVENT = 2  # position of the event asked about
BURST_WINDOW_S = 300

#: Exercise triage-3: custom thresholds for payments and three payments alerts' scores.
PAYMENTS_THRESHOLDS = {"medium": 30.0, "high": 40.0, "critical": 55.0}
PAYMENTS_SCORES = (28.0, 38.0, 47.0)


def _severity_answer() -> str:
    from anomaly_tutorial.triage import severity_of

    return severity_of(**SEVERITY_ALERT)


def _burst_answer() -> int:
    import numpy as np
    import pandas as pd

    from anomaly_tutorial.triage import burst_size

    frame = pd.DataFrame(
        {"time": np.asarray(BURST_TIMES_S, dtype="int64") * 1000, "src_endpoint.ip": "203.0.113.7"}
    )
    sizes = burst_size(
        frame, np.asarray(BURST_FLAGGED), window_s=BURST_WINDOW_S, entities=("src_endpoint.ip",)
    )
    return int(sizes[BURST_EVENT])


def _payments_answer() -> int:
    import pandas as pd

    from anomaly_tutorial.triage import SeverityPolicy, SeverityRules

    alerts = pd.DataFrame(
        {
            "score": PAYMENTS_SCORES,
            "service_tier": 1,
            "privileged": False,
            "external_source": True,
            "service": "payments",
        }
    )
    rules = SeverityRules(domains={"payments": SeverityPolicy(thresholds=PAYMENTS_THRESHOLDS)})
    return int((rules.classify(alerts)["severity"] == "high").sum())


@exercise(
    "triage-1",
    hint="Add the context points of the default SeverityPolicy to the score, then compare the "
    "effective score with the medium, high and critical thresholds.",
    why="A privileged account on a tier-1 service adds 20 points: a 'high' score becomes critical.",
)
def _check_triage_1(answer: object) -> bool:
    return equals_text(answer, _severity_answer())


@exercise(
    "triage-2",
    hint="Count the flagged events of the same source address whose time is within 300 s of "
    "the event, on either side; the event itself counts only if it is flagged.",
)
def _check_triage_2(answer: object) -> bool:
    return close_to(answer, _burst_answer(), rtol=0.0, atol=0.0)


@exercise(
    "triage-3",
    hint="Tier 1 adds 10 points and an external source 5 under the default context points; a "
    "custom policy changes only the thresholds you give it.",
)
def _check_triage_3(answer: object) -> bool:
    return close_to(answer, _payments_answer(), rtol=0.0, atol=0.0)
