"""Messy copies of the datasets: duplicates, substitutions, gaps, broken files.

Each test builds the bad input with the fixture builders and checks that the loader
reports it in ``corpus.issues`` (or refuses it with a clear error) instead of loading
it silently.
"""

from __future__ import annotations

import shutil
import warnings

import dataset_fixtures as fx
import pytest

from mer_lab.datasets.casme import load_casme
from mer_lab.datasets.casme2 import load_casme2
from mer_lab.datasets.corpus import LoaderWarning


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        return fn(*args, **kwargs)


def _issues(corpus, action):
    return corpus.issues[corpus.issues["action"] == action]


# --------------------------------------------------------------------------- 1. duplicates
def test_repeated_sheet_row_gives_one_sample_and_names_both_rows(tmp_path):
    rows = [dict(r) for r in fx.CASME2_ROWS[:3]]
    rows.append(dict(rows[0]))  # the first row again at the end of the sheet
    f = fx.make_casme2(tmp_path, rows=rows)
    corpus = _quiet(load_casme2, f.root)
    assert list(corpus.samples["sample"]).count("sub01/EP02_01f") == 1
    assert not any("#" in s for s in corpus.samples["sample"])
    dropped = _issues(corpus, "duplicate dropped")
    assert len(dropped) == 1
    reason = dropped.iloc[0]["reason"]
    assert f"row {f.rows[0]['excel_row']}" in reason and f"row {f.rows[3]['excel_row']}" in reason
    assert int(dropped.iloc[0]["row"]) == f.rows[3]["excel_row"]


def test_rows_that_disagree_on_the_label_refuse_the_clip(tmp_path):
    rows = [dict(r) for r in fx.CASME2_ROWS[:3]]
    rows.append({**rows[0], "emotion": "disgust"})
    f = fx.make_casme2(tmp_path, rows=rows)
    corpus = _quiet(load_casme2, f.root)
    assert "sub01/EP02_01f" not in set(corpus.samples["sample"])
    refused = _issues(corpus, "refused")
    assert len(refused) == 2
    assert "'happiness'" in refused.iloc[0]["reason"] and "'disgust'" in refused.iloc[0]["reason"]
    assert set(refused["row"].astype(int)) == {f.rows[0]["excel_row"], f.rows[3]["excel_row"]}
    assert len(corpus) == 2


def test_backup_copy_of_the_casme_sheet_is_not_read(tmp_path):
    f = fx.make_casme(tmp_path)
    shutil.copy(f.sheet, f.root / "CASME_coding - Copy.xlsx")
    corpus = _quiet(load_casme, f.root)
    assert not any("#" in s for s in corpus.samples["sample"])
    assert corpus.samples["sample"].is_unique
    chose = _issues(corpus, "chose file")
    assert len(chose) == 1 and "CASME_coding - Copy.xlsx" in chose.iloc[0]["reason"]
    assert corpus.info["coding_files"] == [str(f.sheet)]


def test_second_casme_sheet_with_the_same_rows_loads_each_clip_once(tmp_path):
    f = fx.make_casme(tmp_path / "copy")
    other = f.root / "extra" / "CASME_coding_2.xlsx"
    other.parent.mkdir()
    shutil.copy(f.sheet, other)
    base = _quiet(load_casme, fx.make_casme(tmp_path / "single").root)
    corpus = _quiet(load_casme, f.root)
    assert len(corpus) == len(base)
    dropped = _issues(corpus, "duplicate dropped")
    assert len(dropped) == len(base)
    reason = dropped.iloc[0]["reason"]
    assert "CASME_coding.xlsx" in reason and "CASME_coding_2.xlsx" in reason
    assert "2 coding sheets read" in _issues(corpus, "chose file").iloc[0]["reason"]


def test_several_matching_coding_files_choice_is_explicit(tmp_path):
    f = fx.make_casme2(tmp_path / "copy")
    # a backup whose name sorts last: it must not be the one read
    backup = f.root / "CASME2-coding-20140508 - Copy.xlsx"
    rows = [{**r, "emotion": "surprise"} for r in fx.CASME2_ROWS]
    fx.make_casme2(tmp_path / "b", rows=rows, coding_name=backup.name)
    shutil.copy(tmp_path / "b" / backup.name, backup)
    corpus = _quiet(load_casme2, f.root)
    assert corpus.info["coding_file"] == str(f.coding)
    assert corpus.samples.loc["casme2/sub01/EP02_01f", "emotion"] == "happiness"
    chose = _issues(corpus, "chose file")
    assert len(chose) == 1
    assert str(f.coding) in chose.iloc[0]["reason"] and backup.name in chose.iloc[0]["reason"]
    assert "coding_file=" in chose.iloc[0]["reason"]


def test_casme_sq_same_video_name_with_another_interval_stays_a_separate_expression(tmp_path):
    from mer_lab.datasets.casme_sq import load_casme_sq

    rows = [list(r) for r in fx.CASME_SQ_ROWS[:1]]
    rows.append([1, "disgust1_1", 30, 33, 36, "AU4", "negative", "micro-expression", "disgust"])  # 2nd expression
    rows.append(list(rows[0]))  # a repeated row
    f = fx.make_casme_sq(tmp_path, rows=rows)
    corpus = _quiet(load_casme_sq, f.root)
    assert sorted(corpus.samples["sample"]) == ["s15/disgust1_1", "s15/disgust1_1#2"]
    assert corpus.samples.loc["casme_sq/s15/disgust1_1#2", "onset"] == 30
    assert len(_issues(corpus, "renamed")) == 1
    assert len(_issues(corpus, "duplicate dropped")) == 1


# --------------------------------------------------------------------------- 2. no substitution
def test_smic_raw_never_falls_back_on_the_cropped_tree(tmp_path):
    from mer_lab.datasets.smic import load_smic

    f = fx.make_smic(tmp_path)
    shutil.rmtree(f.root / "SMIC_all_raw")
    with pytest.raises(FileNotFoundError) as err:
        _quiet(load_smic, f.root, frames="raw")
    msg = str(err.value)
    assert "SMIC_all_raw/HS" in msg and "frames='cropped'" in msg and "SMIC_all_cropped" in msg
    # the cropped frames still load when asked for, and say so
    corpus = _quiet(load_smic, f.root, frames="cropped")
    assert corpus.info["frames"] == "cropped" and "SMIC_all_cropped" in corpus.info["frame_dir"]


def test_smic_cropped_never_falls_back_on_the_raw_tree(tmp_path):
    from mer_lab.datasets.smic import load_smic

    f = fx.make_smic(tmp_path, cropped=False)
    with pytest.raises(FileNotFoundError, match="SMIC_all_cropped/HS"):
        _quiet(load_smic, f.root, frames="cropped")


def test_smic_root_pointing_into_the_raw_release_still_loads_raw(tmp_path):
    from mer_lab.datasets.smic import load_smic

    f = fx.make_smic(tmp_path)
    corpus = _quiet(load_smic, f.root / "SMIC_all_raw", frames="raw")
    assert corpus.info["frame_dir"].endswith("SMIC_all_raw/HS")
    with pytest.raises(FileNotFoundError, match="frames='raw'"):
        _quiet(load_smic, f.root / "SMIC_all_cropped", frames="raw")


# --------------------------------------------------------------------------- 4. gaps, key frames
def test_missing_apex_frame_is_reported_and_repaired_at_load_time(tmp_path):
    from mer_lab.cube import key_frames

    f = fx.make_casme2(tmp_path)
    (f.root / "Cropped" / "sub01" / "EP02_01f" / "reg_img49.jpg").unlink()  # the apex (49)
    corpus = _quiet(load_casme2, f.root)
    uid = "casme2/sub01/EP02_01f"
    row = corpus.samples.loc[uid]
    assert row["apex"] in (48, 50) and bool(row["apex_estimated"])
    mine = corpus.issues[corpus.issues["sample"] == "sub01/EP02_01f"]
    gap = mine[mine["action"] == "frame gap"]
    assert len(gap) == 1 and int(gap.iloc[0]["row"]) == f.rows[0]["excel_row"]
    assert "49" in gap.iloc[0]["reason"] and "EP02_01f" in gap.iloc[0]["reason"]
    apex = mine[mine["reason"].str.contains("apex frame 49 is not on disk")]
    assert len(apex) == 1 and str(f.coding) == apex.iloc[0]["file"]
    # the cube's key frames resolve (no "apex 49 is not in the clip" later)
    kf = key_frames(corpus.cube(uid))
    assert corpus.cube(uid)["frame"].values[kf["apex"]] == row["apex"]


def test_missing_onset_and_offset_frames_move_inward(tmp_path):
    f = fx.make_casme2(tmp_path)
    clip = f.root / "Cropped" / "sub01" / "EP02_01f"  # frames 44..54, onset 46, offset 52
    (clip / "reg_img46.jpg").unlink()
    (clip / "reg_img52.jpg").unlink()
    corpus = _quiet(load_casme2, f.root)
    row = corpus.samples.loc["casme2/sub01/EP02_01f"]
    assert (row["onset"], row["offset"]) == (47, 51)
    reasons = " ".join(corpus.issues["reason"])
    assert "onset frame 46 is not on disk" in reasons and "offset frame 52 is not on disk" in reasons


def test_gap_outside_the_expression_is_still_reported(tmp_path):
    f = fx.make_casme2(tmp_path)
    (f.root / "Cropped" / "sub01" / "EP02_01f" / "reg_img45.jpg").unlink()  # frames 44..54, onset 46
    corpus = _quiet(load_casme2, f.root)
    gap = _issues(corpus, "frame gap")
    assert len(gap) == 1 and gap.iloc[0]["sample"] == "sub01/EP02_01f"
    assert ": 45;" in gap.iloc[0]["reason"] and "0 of them inside onset..offset" in gap.iloc[0]["reason"]
    assert corpus.samples.loc["casme2/sub01/EP02_01f", "onset"] == 46


# --------------------------------------------------------------------------- 5. truncated images
def _truncate(path, keep=0.6):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_truncated_jpeg_skips_the_clip_with_an_issue(tmp_path):
    import cv2
    import numpy as np

    f = fx.make_casme2(tmp_path)
    frame = f.root / "Cropped" / "sub01" / "EP02_01f" / "reg_img48.jpg"
    textured = np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8)
    cv2.imwrite(str(frame), textured)
    _truncate(frame)
    assert cv2.imread(str(frame)) is not None  # the decoder itself accepts it silently
    corpus = _quiet(load_casme2, f.root)
    assert "casme2/sub01/EP02_01f" not in corpus.uids
    mine = corpus.issues[corpus.issues["sample"] == "sub01/EP02_01f"]
    assert len(mine) == 1 and mine.iloc[0]["action"] == "skipped"
    assert "truncated" in mine.iloc[0]["reason"] and str(frame) in mine.iloc[0]["reason"]
    assert int(mine.iloc[0]["row"]) == f.rows[0]["excel_row"]


def test_truncated_frames_refused_when_read_directly(tmp_path):
    import cv2
    import numpy as np

    from mer_lab.cube import read_frame, truncated_image

    img = np.random.default_rng(1).integers(0, 255, (40, 40), dtype=np.uint8)
    for ext in (".jpg", ".png", ".bmp"):
        path = tmp_path / f"img1{ext}"
        cv2.imwrite(str(path), img)
        assert truncated_image(path) is None
        read_frame(path)
        _truncate(path, keep=0.7)
        assert "truncated" in truncated_image(path)
        with pytest.raises(ValueError, match="truncated"):
            read_frame(path)


# --------------------------------------------------------------------------- 6. two emotion folders
def test_smic_clip_under_two_emotion_folders_is_refused(tmp_path):
    from mer_lab.datasets.smic import load_smic

    f = fx.make_smic(tmp_path, cropped=False)
    src = f.root / "SMIC_all_raw" / "HS" / "s1" / "micro" / "negative" / "s1_ne_01"
    shutil.copytree(src, f.root / "SMIC_all_raw" / "HS" / "s1" / "micro" / "positive" / "s1_ne_01")
    corpus = _quiet(load_smic, f.root)
    assert "s1_ne_01" not in set(corpus.samples["sample"])
    refused = _issues(corpus, "refused")
    assert len(refused) == 1
    reason = refused.iloc[0]["reason"]
    assert "2 emotion folders" in reason and "negative" in reason and "positive" in reason


def test_mmew_clip_under_two_emotion_folders_is_refused(tmp_path):
    from mer_lab.datasets.mmew import load_mmew

    f = fx.make_mmew(tmp_path)
    src = f.root / "Micro_Expression" / "happiness" / "S01-01-001"
    shutil.copytree(src, f.root / "Micro_Expression" / "surprise" / "S01-01-001")
    corpus = _quiet(load_mmew, f.root)
    assert "mmew/S01-01-001" not in corpus.uids
    refused = _issues(corpus, "refused")
    assert len(refused) == 1 and int(refused.iloc[0]["row"]) == f.rows[0]["excel_row"]
    assert "happiness" in refused.iloc[0]["reason"] and "surprise" in refused.iloc[0]["reason"]
    assert not len(_issues(corpus, "not in sheet"))


def test_gaps_in_long_videos_are_reported(tmp_path):
    from mer_lab.datasets.samm import load_samm_long

    f = fx.make_samm_long(tmp_path)
    (f.root / "SAMM_longvideos" / "006_1" / "006_1_0017.jpg").unlink()
    corpus = _quiet(load_samm_long, f.root)
    gap = _issues(corpus, "frame gap")
    assert len(gap) == 1 and gap.iloc[0]["sample"] == "006_1" and ": 17" in gap.iloc[0]["reason"]
