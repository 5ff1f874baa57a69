"""aeclust.report.render: figures drawn in worker processes are the same files as drawn in turn."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from aeclust.report import render


def bars(values):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(range(len(values)), values)
    return fig


def broken(_):
    raise ValueError("no figure today")


def jobs(folder):
    return [(folder / f"f{i}.png", bars, (np.arange(i + 1),)) for i in range(5)]


def test_parallel_drawing_writes_the_same_files_as_drawing_in_turn(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    render.draw_all(jobs(tmp_path / "a"), workers=1)
    render.draw_all(jobs(tmp_path / "b"), workers=2)
    for i in range(5):
        first = (tmp_path / "a" / f"f{i}.png").read_bytes()
        assert first.startswith(b"\x89PNG")
        assert first == (tmp_path / "b" / f"f{i}.png").read_bytes()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [f"f{i}.png" for i in range(5)]


def test_a_failing_figure_is_raised_and_leaves_no_file(tmp_path):
    failing = [*jobs(tmp_path), (tmp_path / "bad.png", broken, (1,))]
    with pytest.raises(ValueError, match="no figure today"):
        render.draw_all(failing, workers=2)
    assert not (tmp_path / "bad.png").exists()
    assert not list(tmp_path.glob(".bad.png*"))  # no temporary file left behind
