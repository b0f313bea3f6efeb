"""SMIC: labels from folders, varying frame-number widths, HS/VIS/NIR, raw and cropped."""

import numpy as np
import pytest

from dataset_fixtures import SMIC_CLIPS, frame_value, make_smic
from mer_lab.datasets import LoaderWarning, load_smic


def load(root, **kw):
    with pytest.warns(LoaderWarning, match="apex estimated"):
        return load_smic(root, **kw)


def test_hs_table(tmp_path):
    t = make_smic(tmp_path)
    c = load(t.root)
    hs = [clip for clip in SMIC_CLIPS if clip[0] == "HS"]
    assert len(c) == len(hs) and c.name == "smic_hs"
    assert set(c.samples["emotion"]) == {"negative", "positive", "surprise"}
    assert (c.samples["fps"] == 100).all()
    row = c.row("smic_hs/s1_ne_01")
    assert row["subject"] == "s1" and row["megc_subject"] == "s01" and row["megc_sample"] == "s01_ne_01"
    assert (row["onset"], row["offset"]) == (559757, 559763)
    assert row["apex"] == 559760 and row["apex_estimated"]
    # every clip: apex estimated, each with an issue row
    assert c.samples["apex_estimated"].all()
    assert (c.issues["action"] == "apex estimated").sum() == len(c)


def test_numeric_sort_across_widths(tmp_path):
    c = load(make_smic(tmp_path).root)
    cube = c.cube("smic_hs/s2_sur_01")
    np.testing.assert_array_equal(cube["frame"].values, np.arange(99997, 100004))
    np.testing.assert_array_equal(cube.values[:, 0, 0], [frame_value(n) for n in range(99997, 100004)])
    assert cube.attrs["apex"] == 100000


def test_label_from_folder_with_mismatch_flagged(tmp_path):
    c = load(make_smic(tmp_path).root)
    row = c.row("smic_hs/s2_po_03")
    assert row["emotion"] == "negative" and "clip name says 'positive'" in row["flags"]
    assert "kept (flagged)" in set(c.issues["action"])


@pytest.mark.parametrize("modality, n, fps", [("VIS", 2, 25), ("NIR", 1, 25)])
def test_other_modalities(tmp_path, modality, n, fps):
    c = load(make_smic(tmp_path).root, modality=modality)
    assert len(c) == n and (c.samples["fps"] == fps).all() and c.name == f"smic_{modality.lower()}"


def test_cropped_release(tmp_path):
    c = load(make_smic(tmp_path).root, frames="cropped")
    assert "SMIC_all_cropped" in c.row(0)["path"]
    assert c.cube(0).sizes["time"] == c.row(0)["n_frames"]


def test_non_micro_ignored_and_bad_modality(tmp_path):
    t = make_smic(tmp_path)
    c = load(t.root)
    assert not any("no_01" in u for u in c.uids)
    with pytest.raises(ValueError, match="modality='IR'"):
        load_smic(t.root, modality="IR")
    with pytest.raises(FileNotFoundError, match="SMIC folder not found"):
        load_smic(tmp_path / "none")
