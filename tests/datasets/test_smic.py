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


# --------------------------------------------------------------------------- apex estimation
def _write_moving_clip(folder, numbers, peak_index):
    """A textured face whose lower-left patch moves down and back, most at ``peak_index``."""
    import cv2
    from scipy import ndimage as ndi

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(numbers))
    base = ndi.gaussian_filter(rng.random((64, 64)), 1.5)
    base = (base - base.min()) / (base.max() - base.min()) * 200 + 20
    for i, n in enumerate(numbers):
        shift = 2.5 * np.exp(-0.5 * ((i - peak_index) / 1.2) ** 2)
        frame = base.copy()
        frame[30:60, 4:34] = ndi.shift(base, (shift, 0), order=1, mode="nearest")[30:60, 4:34]
        assert cv2.imwrite(str(folder / f"image{n}.bmp"), np.clip(frame, 0, 255).astype(np.uint8))


SMIC_MOVING = [("HS", "s1", "negative", "s1_ne_01", range(500, 513), 3),     # 13 frames, apex at 503
               ("HS", "s2", "positive", "s2_po_01", range(70, 81), 8)]       # 11 frames, apex at 78


def test_apex_of_smic_clips_is_estimated_from_the_flow_peak_and_flagged(tmp_path):
    for mod, subj, emo, clip, frames, peak in SMIC_MOVING:
        _write_moving_clip(tmp_path / "SMIC_all_raw" / mod / subj / "micro" / emo / clip, frames, peak)
    middle = load(tmp_path)
    assert (middle.samples["apex_source"] == "middle").all()
    assert middle.row("smic_hs/s1_ne_01")["apex"] == 506 and middle.row("smic_hs/s2_po_01")["apex"] == 75
    with pytest.warns(LoaderWarning):
        est = load_smic(tmp_path, apex="estimate", apex_params={"cache": False})
    truth = {"smic_hs/s1_ne_01": 503, "smic_hs/s2_po_01": 78}
    for uid, apex in truth.items():
        row = est.row(uid)
        assert abs(int(row["apex"]) - apex) <= 1, (uid, row["apex"])
        assert row["apex_source"] == "estimated" and row["apex_estimated"]
        assert "flow-magnitude peak" in row["flags"] and "middle frame" in row["flags"]
        assert est.cube(uid).attrs["apex"] == row["apex"] and est.cube(uid).attrs["apex_source"] == "estimated"
    assert (est.issues["reason"].str.contains("flow-magnitude peak")).sum() == 2
    # the same on an already loaded corpus, and back to the middle frame
    again = middle.with_apex("estimate", cache=False)
    assert again.samples["apex"].tolist() == est.samples["apex"].tolist()
    back = again.with_apex("middle")
    assert back.samples["apex"].tolist() == middle.samples["apex"].tolist()
    assert (back.samples["apex_source"] == "middle").all()
    with pytest.raises(ValueError, match="apex"):
        load_smic(tmp_path, apex="peak")


def test_annotated_apexes_are_kept_when_a_composite_is_estimated(tmp_path):
    from mer_lab.datasets import composite
    from mer_lab.datasets.synthetic import make_corpus

    for mod, subj, emo, clip, frames, peak in SMIC_MOVING:
        _write_moving_clip(tmp_path / "SMIC_all_raw" / mod / subj / "micro" / emo / clip, frames, peak)
    smic = load(tmp_path)
    synth = make_corpus(n_subjects=2, clips_per_subject=2, size=32, fps=30, classes=["happiness", "surprise"])
    both = composite([smic, synth]).with_apex("estimate", cache=False)
    src = both.samples.set_index("dataset", append=True)["apex_source"]
    assert (both.samples.loc[both.samples["dataset"] == "synthetic", "apex_source"] == "annotated").all()
    assert (both.samples.loc[both.samples["dataset"] == "smic_hs", "apex_source"] == "estimated").all()
    np.testing.assert_array_equal(both.samples.loc[both.samples["dataset"] == "synthetic", "apex"].to_numpy(),
                                  synth.samples["apex"].to_numpy())
    assert len(src) == 6
