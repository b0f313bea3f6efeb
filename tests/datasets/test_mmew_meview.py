"""MMEW (clips filed by emotion) and MEVIEW (mer_lab's documented layout: folders or videos)."""

import numpy as np
import pytest

from dataset_fixtures import make_meview, make_mmew
from mer_lab.datasets import LoaderWarning, load_meview, load_mmew


def test_mmew(tmp_path):
    t = make_mmew(tmp_path)
    with pytest.warns(LoaderWarning, match="apex estimated"):
        c = load_mmew(t.root)
    assert len(c) == 4 and (c.samples["fps"] == 90).all()
    row = c.row("mmew/S02-01-002")
    assert row["apex_estimated"] and row["apex"] == 3
    cube = c.cube("mmew/S01-01-001")                 # frames 1.jpg .. 12.jpg, onset 2 offset 11
    np.testing.assert_array_equal(cube["frame"].values, np.arange(2, 12))


def test_mmew_misfiled_clip_flagged(tmp_path):
    t = make_mmew(tmp_path)
    (t.root / "Micro_Expression" / "happiness" / "S01-01-001").rename(
        t.root / "Micro_Expression" / "surprise" / "S01-01-001")
    with pytest.warns(LoaderWarning):
        c = load_mmew(t.root)
    assert "filed under 'surprise'" in c.row("mmew/S01-01-001")["flags"]


def test_meview_frames_and_video(tmp_path):
    t = make_meview(tmp_path)
    c = load_meview(t.root)
    assert list(c.uids) == ["meview/poker01_1", "meview/tv02_3"]
    assert set(c.samples["emotion"]) == {"contempt", "surprise"}
    frames = c.cube("meview/poker01_1")
    np.testing.assert_array_equal(frames["frame"].values, np.arange(3, 9))
    video = c.cube("meview/tv02_3")
    np.testing.assert_array_equal(video["frame"].values, np.arange(2, 7))
    assert video.attrs["fps"] == 25 and c.row("meview/tv02_3")["n_frames"] == 10


def test_meview_missing_labels(tmp_path):
    (tmp_path / "clips").mkdir()
    with pytest.raises(FileNotFoundError, match="MEVIEW: no label table"):
        load_meview(tmp_path)
