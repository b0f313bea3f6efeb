"""SAMM and SAMM long videos on fixture trees (preamble rows, 4/5-digit frame padding)."""

import numpy as np
import pytest

from dataset_fixtures import SAMM_ROWS, frame_value, make_samm, make_samm_long
from mer_lab.datasets import LoaderWarning, load_samm, load_samm_long


def load(root, **kw):
    with pytest.warns(LoaderWarning):
        return load_samm(root, **kw)


def test_header_after_preamble_and_rows(tmp_path):
    t = make_samm(tmp_path)
    c = load(t.root)
    assert c.info["header_row"] == 14
    assert len(c) == len(SAMM_ROWS) - 1              # one clip folder missing
    row = c.row("samm/006_1_2")
    assert row["subject"] == "006" and row["emotion"] == "contempt" and row["fps"] == 200
    assert row["sheet_row"] == next(r["excel_row"] for r in t.rows if r["filename"] == "006_1_2")
    assert row["objective_class"] == "I" and row["action_units"] == "R12"
    assert set(c.samples["emotion"]) >= {"anger", "other", "happiness", "surprise", "fear", "sadness", "disgust"}


def test_header_found_wherever_it_is(tmp_path):
    t = make_samm(tmp_path, preamble=5)
    assert load(t.root).info["header_row"] == 6


@pytest.mark.parametrize("sample, first, last", [("006_1_2", 5562, 5570), ("006_1_3", 217, 224)])
def test_frames_with_4_or_5_digit_padding(tmp_path, sample, first, last):
    t = make_samm(tmp_path)
    cube = load(t.root).cube(f"samm/{sample}")
    np.testing.assert_array_equal(cube["frame"].values, np.arange(first, last + 1))
    np.testing.assert_allclose(cube.values[:, 0, 0], [frame_value(n) for n in range(first, last + 1)], atol=2)
    assert cube.attrs["subject"] == "006" and cube.attrs["sample"] == sample


def test_quirks(tmp_path):
    t = make_samm(tmp_path)
    c = load(t.root)
    apex = c.row("samm/007_6_1")
    assert apex["apex_estimated"] and apex["apex"] == 43
    off = c.row("samm/007_7_2")
    assert off["offset"] == 56 and "5739" in off["flags"]
    unknown = c.row("samm/021_2_1")
    assert unknown["emotion"] == "confused" and "unknown emotion" in unknown["flags"]
    actions = c.issues.set_index("sample")["action"]
    assert actions["007_6_1"] == "apex estimated" and actions["007_7_2"] == "repaired"
    assert actions["021_2_1"] == "kept (flagged)" and actions["022_3_3"] == "skipped"


def test_samm_5_mapping(tmp_path):
    c = load(make_samm(tmp_path).root, mapping="samm_5")
    assert set(c.labels) == {"anger", "contempt", "happiness", "surprise", "other"}


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)SAMM folder not found.*SAMM_Micro_FACS_Codes"):
        load_samm(tmp_path / "absent")


def test_long_videos_table_and_intervals(tmp_path):
    t = make_samm_long(tmp_path)
    with pytest.warns(LoaderWarning):
        c = load_samm_long(t.root)
    assert c.info["kind"] == "long_video"
    assert list(c.uids) == ["samm_long/006_1", "samm_long/007_2"]
    assert list(c.samples["n_micro"]) == [1, 1] and list(c.samples["n_macro"]) == [1, 0]
    iv = c.info["intervals"]
    assert list(iv["type"]) == ["micro", "macro", "micro"]
    micro = iv[iv["name"] == "006_1_1"].iloc[0]
    assert (micro["onset"], micro["apex"], micro["offset"]) == (10, 12, 15)
    est = iv[iv["name"] == "007_2_1"].iloc[0]
    assert est["apex_estimated"] and est["apex"] == 7
    assert "008_1" in set(c.issues.loc[c.issues["action"] == "skipped", "sample"])
    cube = c.cube("samm_long/007_2")
    assert cube.sizes["time"] == 20 and int(cube["frame"][0]) == 1
