"""CASME: 'Section A'/'Section B' folders with spaces, two apex columns, clips without metadata."""

import numpy as np
import pytest

from dataset_fixtures import make_casme
from mer_lab.datasets import LoaderWarning, load_casme


def load(root, **kw):
    with pytest.warns(LoaderWarning):
        return load_casme(root, **kw)


def test_both_sections(tmp_path):
    c = load(make_casme(tmp_path).root)
    assert len(c) == 4 and (c.samples["fps"] == 60).all()
    assert dict(zip(c.samples["sample"], c.samples["section"])) == {
        "sub01/EP01_6": "A", "sub01/EP02_3": "A", "sub08/EP01_2": "B", "sub09/EP04_1": "B"}
    assert c.row("casme/sub08/EP01_2")["emotion"] == "repression"      # lower-cased
    assert "Section A" in c.row("casme/sub01/EP01_6")["path"]


def test_second_apex_column(tmp_path):
    c = load(make_casme(tmp_path).root)
    row = c.row("casme/sub01/EP02_3")
    assert row["apex"] == 24 and not row["apex_estimated"] and "ApexF2" in row["flags"]
    assert c.row("casme/sub08/EP01_2")["apex2"] == 8 and c.row("casme/sub08/EP01_2")["apex"] == 7


def test_clip_without_metadata_listed(tmp_path):
    c = load(make_casme(tmp_path).root)
    unlisted = c.issues[c.issues["action"] == "not in sheet"]
    assert list(unlisted["sample"]) == ["sub02/EP07_1"]


def test_offset_error_repaired(tmp_path):
    c = load(make_casme(tmp_path).root)
    assert c.row("casme/sub09/EP04_1")["offset"] == 7


def test_one_section(tmp_path):
    c = load(make_casme(tmp_path).root, section="B")
    assert set(c.samples["section"]) == {"B"} and len(c) == 2
    cube = c.cube("casme/sub08/EP01_2")
    np.testing.assert_array_equal(cube["frame"].values, [5, 6, 7, 8, 9])
