"""Flattening and unflattening of OCSF events."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly_tutorial import ocsf


def _event() -> dict:
    return {
        "class_uid": ocsf.HTTP_ACTIVITY,
        "category_uid": 4,
        "activity_id": 3,
        "type_uid": ocsf.type_uid(ocsf.HTTP_ACTIVITY, 3),
        "time": 1_772_409_600_000,
        "metadata": {"uid": "evt-1", "version": ocsf.OCSF_VERSION},
        "http_request": {"http_method": "GET", "url": {"path": "/api/orders"}},
        "http_response": {"code": 200},
        "src_endpoint": {"ip": "81.2.69.160", "location": {"country": "GB"}},
    }


def test_flatten_uses_dotted_paths_and_event_id():
    flat = ocsf.flatten_event(_event())
    assert flat["event_id"] == "evt-1"
    assert "metadata.uid" not in flat
    assert flat["http_request.url.path"] == "/api/orders"
    assert flat["src_endpoint.location.country"] == "GB"


def test_round_trip():
    assert ocsf.unflatten_event(ocsf.flatten_event(_event())) == _event()


def test_unflatten_skips_missing_and_converts_numpy_scalars():
    row = {"event_id": "e", "time": np.int64(5), "duration": np.nan, "traffic.bytes_in": None}
    nested = ocsf.unflatten_event(row)
    assert nested == {"metadata": {"uid": "e"}, "time": 5}
    assert type(nested["time"]) is int
    json.dumps(nested)


def test_unflatten_rejects_a_path_that_is_both_leaf_and_object():
    with pytest.raises(ValueError, match="both a value and an object"):
        ocsf.unflatten_event({"a": 1, "a.b": 2})


def test_type_uid_and_enumerations_are_consistent():
    for class_uid, activities in ocsf.ACTIVITY_NAMES.items():
        assert class_uid in ocsf.CLASS_NAMES
        assert ocsf.CATEGORY_OF_CLASS[class_uid] in ocsf.CATEGORY_NAMES
        for activity_id in activities:
            assert ocsf.type_uid(class_uid, activity_id) // 100 == class_uid
    for method, activity_id in ocsf.HTTP_METHOD_ACTIVITY.items():
        assert ocsf.ACTIVITY_NAMES[ocsf.HTTP_ACTIVITY][activity_id].upper() == method


_keys = st.text(alphabet="abcdefgh_", min_size=1, max_size=5)
_leaves = st.one_of(st.integers(), st.text(max_size=8), st.booleans())
_nested = st.recursive(
    st.dictionaries(_keys, _leaves, min_size=1, max_size=4),
    lambda children: st.dictionaries(_keys, st.one_of(_leaves, children), min_size=1, max_size=4),
    max_leaves=12,
)


@given(_nested)
def test_round_trip_property(event):
    assert ocsf.unflatten_event(ocsf.flatten_event(event)) == event
