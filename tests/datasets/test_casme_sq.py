"""CAS(ME)^2: headerless sheet 0 with any name, naming-rule sheets, offset 0, part A intervals."""

import numpy as np
import pytest

from dataset_fixtures import make_casme_sq
from mer_lab.datasets import DatasetError, LoaderWarning, load_casme_sq


def load(root, **kw):
    with pytest.warns(LoaderWarning):
        return load_casme_sq(root, **kw)


@pytest.mark.parametrize("sheet0", ["Sheet1 (2)", "CASME2_code"])
def test_part_b(tmp_path, sheet0):
    c = load(make_casme_sq(tmp_path, sheet0_name=sheet0).root)
    assert list(c.uids) == ["casme_sq/s15/disgust1_1", "casme_sq/s16/anger1_1", "casme_sq/s16/anger1_2"]
    row = c.row("casme_sq/s16/anger1_1")
    assert row["video"] == "16_0502anger"          # code 502 stored as a number -> '0502'
    assert (row["onset"], row["apex"], row["offset"]) == (5, 8, 12) and row["fps"] == 30
    assert row["expression_type"] == "micro-expression" and row["self_report"] == "surprise"


def test_offset_zero_uses_apex(tmp_path):
    c = load(make_casme_sq(tmp_path).root)
    row = c.row("casme_sq/s15/disgust1_1")
    assert row["offset"] == 13 == row["apex"] and "offset 0" in row["flags"]
    cube = c.cube("casme_sq/s15/disgust1_1")
    np.testing.assert_array_equal(cube["frame"].values, [10, 11, 12, 13])


def test_offset_typo_uses_typical_length(tmp_path):
    c = load(make_casme_sq(tmp_path).root, typical_length=5)
    row = c.row("casme_sq/s16/anger1_2")
    assert row["offset"] == 20 and "onset + 5" in row["flags"]


def test_participant_without_naming_rule_skipped(tmp_path):
    c = load(make_casme_sq(tmp_path).root)
    skipped = c.issues[c.issues["action"] == "skipped"]
    assert len(skipped) == 1 and int(skipped["row"].iloc[0]) == 5
    assert "naming rule1" in skipped["reason"].iloc[0]


def test_missing_naming_sheets(tmp_path):
    from dataset_fixtures import write_xlsx

    t = make_casme_sq(tmp_path)
    write_xlsx(t.sheet, {"Sheet1": t.rows})
    with pytest.raises(DatasetError, match="naming rule1"):
        load_casme_sq(t.root)


def test_part_a_long_videos(tmp_path):
    c = load(make_casme_sq(tmp_path).root, part="A")
    assert c.info["kind"] == "long_video" and c.name == "casme_sq_long"
    assert len(c) == 3                                # includes the unannotated video
    assert c.row("casme_sq_long/s15/15_0101disgustingteeth")[["n_micro", "n_macro"]].tolist() == [1, 1]
    assert c.row("casme_sq_long/s16/16_0101disgustingteeth")["flags"] == "no annotated expression"
    iv = c.info["intervals"]
    macro = iv[iv["type"] == "macro"].iloc[0]
    assert (macro["onset"], macro["apex"], macro["offset"]) == (20, 25, 30) and macro["emotion"] == "positive"


def test_cropped_frames(tmp_path):
    c = load(make_casme_sq(tmp_path).root, frames="cropped")
    assert list(c.uids) == ["casme_sq/s15/disgust1_1"]   # only s15 exists in cropped/
    assert "cropped" in c.row(0)["path"]
