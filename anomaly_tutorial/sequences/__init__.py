"""Sequences of events: per-entity sessions, next-event prediction and counting baselines.

* :func:`load_sessions` / :func:`save_sessions` read and write sessions of integer event ids,
  one per line (the DeepLog HDFS format);
* :class:`NextEventDetector` is DeepLog's LSTM next-event detector (Du et al., 2017);
* :class:`NGramDetector` and :class:`NewEventDetector` are the counting baselines
  (Forrest et al., 1996);
* :class:`SessionLengthDetector`, :class:`EventCountVectorDetector`,
  :class:`EditDistanceDetector` and :class:`CombinedSessionDetector` complete the simple session
  detectors of Landauer et al. (2024), each with a threshold learned from training sessions;
* :func:`cross_validate_detectors` validates detectors on held-out training sessions and
  corrupted copies of them (:data:`CORRUPTIONS`), so that choices need no test data;
* :func:`event_type_keys`, :class:`EventTypeVocabulary` and :func:`build_sessions` turn the flat
  OCSF frame into per-entity sessions of integer event types;
* :class:`EventSequenceModel` scores sessions with a next-event model over event types and
  event features (LSTM or small Transformer), :func:`session_features` builds those features;
* :func:`make_block_sessions` generates a small HDFS-like benchmark with labelled anomalies.
"""

from anomaly_tutorial.sequences.baselines import NewEventDetector, NGramDetector
from anomaly_tutorial.sequences.io import load_sessions, save_sessions
from anomaly_tutorial.sequences.next_event import (
    SURPRISE_CAP,
    NextEventDetector,
    NextEventLSTM,
    train_next_event_model,
)
from anomaly_tutorial.sequences.sequence_model import (
    SESSION_FEATURE_NAMES,
    EventSequenceModel,
    SequenceNet,
    session_features,
)
from anomaly_tutorial.sequences.session_detectors import (
    CombinedSessionDetector,
    EditDistanceDetector,
    EventCountVectorDetector,
    SessionLengthDetector,
    edit_distances,
)
from anomaly_tutorial.sequences.sessions import (
    UNKNOWN_TYPE,
    EventSessions,
    EventTypeVocabulary,
    build_sessions,
    event_type_keys,
)
from anomaly_tutorial.sequences.synthetic import (
    ANOMALY_KINDS,
    ERROR_EVENTS,
    EVENT_NAMES,
    SyntheticLogBenchmark,
    make_block_sessions,
)
from anomaly_tutorial.sequences.validation import (
    CORRUPTIONS,
    corrupt_session,
    cross_validate_detectors,
    detection_rates,
)

__all__ = [
    "ANOMALY_KINDS",
    "CORRUPTIONS",
    "ERROR_EVENTS",
    "EVENT_NAMES",
    "SESSION_FEATURE_NAMES",
    "SURPRISE_CAP",
    "UNKNOWN_TYPE",
    "CombinedSessionDetector",
    "EditDistanceDetector",
    "EventCountVectorDetector",
    "EventSequenceModel",
    "EventSessions",
    "EventTypeVocabulary",
    "NGramDetector",
    "NewEventDetector",
    "NextEventDetector",
    "NextEventLSTM",
    "SequenceNet",
    "SessionLengthDetector",
    "SyntheticLogBenchmark",
    "build_sessions",
    "corrupt_session",
    "cross_validate_detectors",
    "detection_rates",
    "edit_distances",
    "event_type_keys",
    "load_sessions",
    "make_block_sessions",
    "save_sessions",
    "session_features",
    "train_next_event_model",
]
