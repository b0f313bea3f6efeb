"""CASME II on fixture trees in the owners' layout (raw and cropped, coding xlsx)."""

import numpy as np
import pytest

from dataset_fixtures import CASME2_ROWS, frame_value, make_casme2
from mer_lab.datasets import LoaderWarning, load_casme2


@pytest.fixture
def tree(tmp_path):
    return make_casme2(tmp_path / "CASME2")


def load(root, **kw):
    with pytest.warns(LoaderWarning):
        return load_casme2(root, **kw)


def issue(corpus, sample):
    return corpus.issues[corpus.issues["sample"] == sample]


def test_table_and_columns(tree):
    c = load(tree.root)
    # 9 sheet rows, one clip folder missing
    assert len(c) == 8
    assert set(c.samples["subject"]) == {"sub01", "sub02", "sub03", "sub05"}
    row = c.row("casme2/sub01/EP02_01f")
    assert (row["onset"], row["apex"], row["offset"]) == (46, 49, 52)
    assert row["emotion"] == "happiness" and row["fps"] == 200
    assert row["n_frames"] == 11 and row["first_frame"] == 44 and row["last_frame"] == 54
    assert row["action_units"] == "12" and row["sheet_row"] == 2 and row["clip"] == "EP02_01f"
    assert row["path"].endswith("Cropped/sub01/EP02_01f")
    assert not row["apex_estimated"] and row["flags"] == ""


def test_missing_apex_slash_and_blank(tree):
    c = load(tree.root)
    for uid, sample, mid in (("casme2/sub01/EP03_02", "sub01/EP03_02", 23), ("casme2/sub02/EP01_11f", "sub02/EP01_11f", 33)):
        row = c.row(uid)
        assert row["apex"] == mid and row["apex_estimated"]
        assert "apex not annotated" in row["flags"]
        iss = issue(c, sample)
        assert list(iss["action"]) == ["apex estimated"]
        expected_row = next(r["excel_row"] for r in tree.rows if f"sub{r['subject']:02d}/{r['filename']}" == sample)
        assert int(iss["row"].iloc[0]) == expected_row


def test_offset_typos_repaired(tree):
    c = load(tree.root)
    before = c.row("casme2/sub02/EP19_06x")          # offset 9 < onset 30
    assert before["offset"] == 37 and "before the onset" in before["flags"]
    beyond = c.row("casme2/sub03/EP05_02")           # offset 140 > last frame 105
    assert beyond["offset"] == 105 and "beyond the last frame" in beyond["flags"]
    assert set(issue(c, "sub02/EP19_06x")["action"]) == {"repaired"}


def test_onset_equals_apex_kept_and_flagged(tree):
    c = load(tree.root)
    row = c.row("casme2/sub03/EP02_04")
    assert row["onset"] == row["apex"] == 10 and not row["apex_estimated"]
    assert "onset equals apex" in row["flags"]
    assert list(issue(c, "sub03/EP02_04")["action"]) == ["noted"]


def test_missing_folder_skipped_with_reason_and_unlisted_folder_reported(tree):
    c = load(tree.root)
    skipped = issue(c, "sub04/EP10_01")
    assert list(skipped["action"]) == ["skipped"]
    assert "clip folder not found" in skipped["reason"].iloc[0] and "sub04" in skipped["reason"].iloc[0]
    assert int(skipped["row"].iloc[0]) == next(r["excel_row"] for r in tree.rows if r["filename"] == "EP10_01")
    assert "not in sheet" in set(issue(c, "sub05/EP99_99")["action"])


def test_warning_summarises(tree):
    with pytest.warns(LoaderWarning, match="casme2: .*skipped.*see corpus.issues"):
        load_casme2(tree.root)


def test_cube_frames_in_numeric_order(tree):
    c = load(tree.root)
    cube = c.cube("casme2/sub03/EP05_02")            # frames 96..105 cross 99 -> 100
    np.testing.assert_array_equal(cube["frame"].values, np.arange(96, 106))
    values = cube.values[:, 0, 0].astype(int)
    np.testing.assert_allclose(values, [frame_value(n) for n in range(96, 106)], atol=2)
    assert cube.attrs["dataset"] == "casme2" and cube.attrs["subject"] == "sub03"
    assert cube.attrs["onset"] == 96 and cube.attrs["apex"] == 99 and cube.attrs["offset"] == 105
    assert cube.attrs["fps"] == 200 and cube.attrs["emotion"] == "surprise"
    np.testing.assert_allclose(cube["time"].values, np.arange(10) / 200)


def test_span_folder_and_raw_frames(tree):
    c = load(tree.root, frames="raw", span="folder")
    cube = c.cube("casme2/sub01/EP02_01f")
    np.testing.assert_array_equal(cube["frame"].values, np.arange(44, 55))
    assert c.row("casme2/sub01/EP02_01f")["path"].endswith("CASME2_RAW_selected/sub01/EP02_01f")
    grey = load(tree.root).cube(0)
    colour = load(tree.root, grey=False).cube(0)
    assert grey.dims == ("time", "y", "x") and colour.dims == ("time", "y", "x", "channel")


def test_missing_root_names_path_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)CASME II folder not found: .*nowhere.*CASME2_RAW_selected"):
        load_casme2(tmp_path / "nowhere")


def test_missing_frame_tree(tmp_path):
    t = make_casme2(tmp_path, cropped=False)
    with pytest.raises(FileNotFoundError, match="no cropped frame folder"):
        load_casme2(t.root)


def test_header_not_on_first_row_is_found(tmp_path):
    t = make_casme2(tmp_path, title_rows=3)
    c = load(t.root)
    assert len(c) == 8
    assert c.row("casme2/sub01/EP02_01f")["sheet_row"] == 5


def test_headerless_sheet_is_an_error_naming_the_file(tmp_path):
    from mer_lab.datasets import DatasetError

    t = make_casme2(tmp_path, header=False)
    with pytest.raises(DatasetError, match="CASME2-coding-20140508.xlsx"):
        load_casme2(t.root)


def test_zero_byte_frame_skips_clip_with_reason(tmp_path):
    t = make_casme2(tmp_path, zero_byte={"EP02_01f": (48,)})
    c = load(t.root)
    assert "casme2/sub01/EP02_01f" not in c.uids
    reason = issue(c, "sub01/EP02_01f")["reason"].iloc[0]
    assert "0 bytes" in reason and "reg_img48.jpg" in reason
    assert len(c) == 7                                  # nothing else lost


def test_zero_byte_frame_outside_expression_only_matters_for_folder_span(tmp_path):
    t = make_casme2(tmp_path, zero_byte={"EP02_01f": (44,)})   # before the onset 46
    assert "casme2/sub01/EP02_01f" in load(t.root).uids
    assert "casme2/sub01/EP02_01f" not in load(t.root, span="folder").uids


def test_frames_of_different_sizes_fail_at_read_naming_the_file(tmp_path):
    t = make_casme2(tmp_path, odd_size={"EP02_01f": (50,)})
    c = load(t.root)
    with pytest.raises(ValueError, match="reg_img50.jpg.*all frames of a clip must share one size"):
        c.cube("casme2/sub01/EP02_01f")
    assert c.cube("casme2/sub01/EP03_02").sizes["time"] == 7   # other clips unaffected


def test_undecodable_frame_fails_at_read(tmp_path):
    t = make_casme2(tmp_path)
    (t.root / "Cropped/sub01/EP02_01f/reg_img47.jpg").write_bytes(b"not a jpeg")
    c = load(t.root)
    with pytest.raises(ValueError, match="reg_img47.jpg"):
        c.cube("casme2/sub01/EP02_01f")


def test_unknown_emotion_kept_and_flagged(tmp_path):
    rows = [dict(CASME2_ROWS[0], emotion="Bewildered")]
    t = make_casme2(tmp_path, rows=rows, unlisted=())
    c = load(t.root)
    row = c.row(0)
    assert row["emotion"] == "bewildered" and "unknown emotion label" in row["flags"]
    assert list(c.issues["action"]) == ["kept (flagged)"]


def test_newest_coding_file_and_explicit_choice(tmp_path):
    t = make_casme2(tmp_path)
    make_casme2(tmp_path, rows=[CASME2_ROWS[0]], coding_name="CASME2-coding-20190701.xlsx", unlisted=())
    newest = load(t.root)
    assert newest.info["coding_file"].endswith("20190701.xlsx") and len(newest) == 1
    older = load(t.root, coding_file="CASME2-coding-20140508.xlsx")
    assert len(older) == 8


def test_mappings(tree):
    c = load(tree.root, mapping="casme2_5")
    assert set(c.labels) <= {"happiness", "disgust", "repression", "surprise", "others"}
    assert len(c) == 6                                  # fear and sadness left out ...
    assert (c.issues["action"] == "excluded by mapping").sum() == 2   # ... and counted


def test_bad_options(tree):
    with pytest.raises(ValueError, match="frames='faces' is not accepted"):
        load_casme2(tree.root, frames="faces")
    with pytest.raises(ValueError, match="span="):
        load_casme2(tree.root, span="apex")


def test_apex_outside_clip_and_onset_after_offset(tmp_path):
    rows = [dict(CASME2_ROWS[0], apex=300),                          # apex outside onset..offset
            dict(CASME2_ROWS[0], filename="EP02_02", onset=52, apex=49, offset=46)]   # onset > offset
    t = make_casme2(tmp_path, rows=rows, unlisted=())
    c = load(t.root)
    outside = c.row("casme2/sub01/EP02_01f")
    assert outside["apex"] == 49 and outside["apex_estimated"]
    assert "apex 300 is outside onset..offset (46..52)" in outside["flags"]
    swapped = c.row("casme2/sub01/EP02_02")
    assert (swapped["onset"], swapped["offset"]) == (52, 54)           # offset repaired to the last frame
    assert swapped["apex_estimated"] and swapped["apex"] == 53         # 49 no longer inside
    assert len(c) == 2 and set(c.issues["sample"]) == {"sub01/EP02_01f", "sub01/EP02_02"}
