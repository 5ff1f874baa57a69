import json

import numpy as np
import pytest

from aeclust.errors import DataError
from aeclust.io.storage import atomic_path, load_array, load_json, save_array, save_json


def strict_json(text):
    """Parse as standard JSON: NaN and Infinity are refused."""

    def refuse(constant):
        raise ValueError(f"not standard JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_save_json_writes_standard_json_with_null_for_nan_and_infinity(tmp_path):
    path = tmp_path / "scores.json"
    data = {
        "acc": 0.5,
        "inertia": float("nan"),
        "runs": [{"silhouette": float("inf")}, -float("inf"), np.float64("nan"), 2],
        "pair": (1.0, float("nan")),
        "name": "cnn+dec",
    }
    save_json(path, data)
    assert strict_json(path.read_text()) == {
        "acc": 0.5,
        "inertia": None,
        "runs": [{"silhouette": None}, None, None, 2],
        "pair": [1.0, None],
        "name": "cnn+dec",
    }
    assert load_json(path)["inertia"] is None


def test_load_json_still_reads_nan_written_by_older_versions(tmp_path):
    path = tmp_path / "old.json"
    path.write_text('{"inertia": NaN}')
    assert np.isnan(load_json(path)["inertia"])


def test_a_failed_write_leaves_the_last_good_file_and_no_temporary(tmp_path):
    path = tmp_path / "out" / "metrics.json"
    save_json(path, {"acc": 0.9})
    with pytest.raises(TypeError):
        save_json(path, {"acc": object()})  # not serialisable: fails mid-write
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert load_json(path) == {"acc": 0.9}
    assert sorted(p.name for p in path.parent.iterdir()) == ["metrics.json"]


def test_arrays_round_trip_and_pickles_are_refused(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]  # not contiguous
    save_array(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(load_array(tmp_path / "a.npy"), array)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a plain numeric"):
        load_array(tmp_path / "obj.npy")
    with pytest.raises(DataError, match="file not found"):
        load_array(tmp_path / "missing.npy")
