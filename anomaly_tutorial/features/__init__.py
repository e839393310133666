"""Feature pipeline for OCSF events: :class:`OCSFFeaturizer` and its building blocks.

>>> from anomaly_tutorial.features import OCSFFeaturizer
>>> fz = OCSFFeaturizer().fit(train_frame)          # doctest: +SKIP
>>> X = fz.transform(test_frame)                    # doctest: +SKIP
"""

from .encoders import MISSING, RARE, UNKNOWN, CategoricalVocabulary, RobustScaler1D
from .hashing import hash_buckets, stable_hash
from .ip_features import ip_is_internal, ip_subnet
from .persistence import FeaturizerFile, SavedFileError
from .pipeline import (
    CATEGORICAL_FIELDS,
    HASHED_FIELDS,
    LOG_COLUMNS,
    REQUIRED_COLUMNS,
    FeatureSplit,
    OCSFFeaturizer,
    load_featurizer,
    save_featurizer,
    url_path_template,
    user_agent_family,
)
from .time_features import TIME_FEATURE_NAMES, time_features
from .windows import DEFAULT_WINDOWS, DERIVED_COLUMNS, WindowSpec, compute_windows

__all__ = [
    "CATEGORICAL_FIELDS",
    "DEFAULT_WINDOWS",
    "DERIVED_COLUMNS",
    "HASHED_FIELDS",
    "LOG_COLUMNS",
    "MISSING",
    "RARE",
    "REQUIRED_COLUMNS",
    "TIME_FEATURE_NAMES",
    "UNKNOWN",
    "CategoricalVocabulary",
    "FeatureSplit",
    "FeaturizerFile",
    "OCSFFeaturizer",
    "RobustScaler1D",
    "SavedFileError",
    "WindowSpec",
    "compute_windows",
    "hash_buckets",
    "ip_is_internal",
    "ip_subnet",
    "load_featurizer",
    "save_featurizer",
    "stable_hash",
    "time_features",
    "url_path_template",
    "user_agent_family",
]
