"""Precomputed flow images: de-scaling, channel order, CSV columns, missing images."""

import warnings

import numpy as np
import pytest

from dataset_fixtures import make_flow_images
from mer_lab.datasets import LoaderWarning, load_flow_images, read_flow_image


def test_corpus_and_cube(tmp_path):
    t = make_flow_images(tmp_path)
    with pytest.warns(LoaderWarning, match="skipped"):
        c = load_flow_images(t.root)
    assert c.info["kind"] == "flow"
    # CASME II clip names repeat across subjects -> <subject>/<clip>
    assert set(c.uids) == {"casme2/sub01/EP02_01f", "casme2/sub02/EP02_01f", "samm/006_1_2", "smic/s1_ne_01"}
    assert c.row("samm/006_1_2")["fps"] == 200 and c.row("smic/s1_ne_01")["fps"] == 100
    flow = c.cube("samm/006_1_2")
    assert flow.dims == ("component", "y", "x") and list(flow["component"].values) == ["u", "v", "strain"]
    assert flow.shape == (3, 28, 28)
    np.testing.assert_allclose(flow.sel(component="u").values[:, :14], 1.0)
    np.testing.assert_allclose(flow.sel(component="v").values[:, :14], -1.0)
    np.testing.assert_allclose(flow.sel(component="strain").values[:, :14], 0.2)
    np.testing.assert_allclose(flow.sel(component="u").values[:, 14:], 128 / 127.5 - 1, atol=1e-6)
    assert flow.attrs["emotion"] == "negative" and flow.attrs["uid"] == "samm/006_1_2"
    skipped = c.issues[c.issues["action"] == "skipped"]
    assert list(skipped["sample"]) == ["007_missing"] and int(skipped["row"].iloc[0]) == 6


def test_bgr_order_swaps_u_and_strain(tmp_path):
    t = make_flow_images(tmp_path)
    flow = read_flow_image(t.root / "006_1_2.png", channels="bgr")
    np.testing.assert_allclose(flow[0, :, :14], 51 / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(flow[2, :, :14], 1.0)


def test_configurable_columns_and_mapping(tmp_path):
    t = make_flow_images(tmp_path)
    text = t.csv.read_text().replace("filename", "clip_name").replace("label", "emotion_3")
    (t.root / "labels.csv").write_text(text)
    with pytest.warns(LoaderWarning):
        c = load_flow_images(t.root, columns={"sample": "clip_name", "label": "emotion_3"},
                             mapping={"negative": "neg", "positive": "pos"})
    assert set(c.labels) == {"neg", "pos"}


def test_grey_image_rejected(tmp_path):
    import cv2

    path = tmp_path / "g.png"
    cv2.imwrite(str(path), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="3 channels"):
        read_flow_image(path)


# --------------------------------------------------------------------------- MEGC 2019 releases
def _by_clip(corpus):
    s = corpus.samples
    return {(d, sub, clip): row for (d, sub, clip), row in
            zip(zip(s["dataset"], s["subject"], s["sample"].str.split("/").str[-1]), s.to_dict("records"))}


@pytest.mark.parametrize("layout", ["table", "loso"])
def test_megc_release_loads_as_published(tmp_path, layout):
    from dataset_fixtures import make_megc_flow_images, megc_flow_value

    t = make_megc_flow_images(tmp_path, layout=layout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        c = load_flow_images(t.root, label_map="megc2019")
    assert len(c) == len(t.rows) and (c.issues["action"] != "skipped").all()
    rows = _by_clip(c)
    names = {0: "negative", 1: "positive", 2: "surprise"}
    for i, (ds, sub, clip, code, _) in enumerate(t.rows):
        row = rows[(ds, sub, clip)]
        assert row["label"] == names[code] and row["emotion"] == names[code]
        uid = c.samples.index[(c.samples["dataset"] == ds) & (c.samples["path"] == row["path"])][0]
        strain = c.cube(uid).sel(component="strain").values
        np.testing.assert_allclose(strain, megc_flow_value(i) / 255, atol=1e-6)  # the row's own image
    assert c.info["layout"] == layout
    assert c.row(c.uids[0])["fps"] == 200  # casme2 recognised


def test_megc_table_fuzzy_matches_are_reported(tmp_path):
    from dataset_fixtures import make_megc_flow_images

    t = make_megc_flow_images(tmp_path, layout="table")
    with pytest.warns(LoaderWarning, match="fuzzy match"):
        c = load_flow_images(t.root, label_map="megc2019")
    fuzzy = c.issues[c.issues["action"] == "fuzzy match"]
    # every row names '<name>.jpg' while the folder holds '<name> .png'
    assert len(fuzzy) == len(t.rows)
    first = fuzzy.iloc[0]["reason"]
    assert "'sub01_EP02_01f.jpg'" in first and "'sub01_EP02_01f .png'" in first
    assert "extension .jpg -> .png" in first and "spaces" in first
    # SMIC: the table's name (s01_s1_ne_01) differs from the file (s01_s01_ne_01): matched by clip name
    smic = fuzzy[fuzzy["sample"] == "s01_ne_01"]["reason"].iloc[0]
    assert "s01_s1_ne_01.jpg" in smic and "s01_s01_ne_01 .png" in smic
    assert int(fuzzy.iloc[0]["row"]) == 2  # the CSV's line


def test_fuzzy_match_case_and_spaces(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / " Clip_A .PNG"), np.full((4, 4, 3), 128, np.uint8))
    (tmp_path / "labels.csv").write_text("subject,clip,label,image\n1,clip_a,happy,clip_a.jpg\n")
    with pytest.warns(LoaderWarning):
        c = load_flow_images(tmp_path)
    assert c.row(0)["path"].endswith(" Clip_A .PNG")
    reason = c.issues.loc[c.issues["action"] == "fuzzy match", "reason"].iloc[0]
    assert "letter case" in reason and "spaces around the name" in reason and "extension .jpg -> .PNG" in reason


def test_label_map_dict_and_unknown_code(tmp_path):
    from dataset_fixtures import make_megc_flow_images

    t = make_megc_flow_images(tmp_path, layout="table")
    text = (t.root / "combined_3_class2_for_optical_flow.csv").read_text()
    (t.root / "combined_3_class2_for_optical_flow.csv").write_text(text.replace("samm,007,007_6_1,1", "samm,007,007_6_1,7"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        c = load_flow_images(t.root, label_map={0: "neg", 1: "pos", 2: "sur"})
    assert set(c.labels) == {"neg", "pos", "sur", "7"}
    flagged = c.issues[c.issues["action"] == "kept (flagged)"]
    assert list(flagged["sample"]) == ["007_6_1"] and "not in the label map" in flagged["reason"].iloc[0]
    with pytest.raises(ValueError, match="label_map"):
        load_flow_images(t.root, label_map="megc")


def test_integer_labels_without_a_map_are_noted(tmp_path):
    from dataset_fixtures import make_megc_flow_images

    t = make_megc_flow_images(tmp_path, layout="table")
    with pytest.warns(LoaderWarning):
        c = load_flow_images(t.root)
    assert set(c.labels) == {"0", "1", "2"}
    note = c.issues[c.issues["action"] == "noted"]["reason"].iloc[0]
    assert "integer codes" in note and "label_map" in note


# --------------------------------------------------------------------------- uids
def test_casme2_flow_uids_match_load_casme2(tmp_path):
    """One naming rule: every CASME II flow row is <subject>/<clip>, recurring name or not."""
    import cv2

    from dataset_fixtures import CASME2_ROWS, make_casme2
    from mer_lab.datasets import load_casme2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        frames = load_casme2(make_casme2(tmp_path / "c2").root)
    flow_dir = tmp_path / "flow"
    flow_dir.mkdir()
    lines = ["dataset,subject,filename,label"]
    for r in CASME2_ROWS:  # subjects as integers, as the coding sheet writes them
        cv2.imwrite(str(flow_dir / f"sub{r['subject']:02d}_{r['filename']}.png"), np.full((4, 4, 3), 128, np.uint8))
        lines.append(f"casme2,{r['subject']},{r['filename']},{r['emotion']}")
    (flow_dir / "labels.csv").write_text("\n".join(lines) + "\n")
    flow = load_flow_images(flow_dir)
    assert set(frames.uids) <= set(flow.uids)  # no clip name recurs here, yet the names agree
    assert "casme2/sub01/EP02_01f" in flow.uids and flow.row("casme2/sub01/EP02_01f")["subject"] == "sub01"


def test_megc_release_uids(tmp_path):
    from dataset_fixtures import make_megc_flow_images

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        for layout in ("table", "loso"):
            c = load_flow_images(make_megc_flow_images(tmp_path / layout, layout=layout).root, label_map="megc2019")
            assert set(c.uids) == {"casme2/sub01/EP02_01f", "casme2/sub01/EP19_05f", "casme2/sub09/EP02_01f",
                                   "smic/s01_ne_01", "smic/s02_sur_01", "samm/006_1_2", "samm/007_6_1"}, layout


def test_recurring_names_in_another_dataset_prefix_all_its_samples(tmp_path):
    import cv2

    for name in ("a_x", "b_x", "b_y"):
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.full((4, 4, 3), 128, np.uint8))
    (tmp_path / "labels.csv").write_text("dataset,subject,clip,label\nmine,a,x,p\nmine,b,x,q\nmine,b,y,q\n")
    with pytest.warns(LoaderWarning, match="noted"):
        c = load_flow_images(tmp_path)
    assert set(c.uids) == {"mine/a/x", "mine/b/x", "mine/b/y"}


# --------------------------------------------------------------------------- column overrides
@pytest.mark.parametrize("field", ["dataset", "subject", "sample", "label", "image"])
def test_column_override_naming_a_missing_column_is_an_error(tmp_path, field):
    from dataset_fixtures import make_megc_flow_images

    from mer_lab.datasets import DatasetError

    t = make_megc_flow_images(tmp_path, layout="table")
    with pytest.raises(DatasetError, match=rf"columns=\{{'{field}': 'no_such'\}} names no column") as err:
        load_flow_images(t.root, columns={field: "no_such"}, label_map="megc2019")
    assert "'filename_o'" in str(err.value) and "'imagename'" in str(err.value)  # the table's columns listed
    assert "combined_3_class2_for_optical_flow.csv" in str(err.value)


def test_column_override_that_exists_is_used(tmp_path):
    from dataset_fixtures import make_megc_flow_images

    t = make_megc_flow_images(tmp_path, layout="table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        c = load_flow_images(t.root, columns={"subject": "sub_filename", "sample": "filename_o"}, label_map="megc2019")
    # sub_filename is empty in the release: the subject falls back to the clip name
    assert "samm/006_1_2" in c.uids and c.row("samm/006_1_2")["subject"] == "006_1_2"


def test_missing_named_image_falls_back_to_the_subject_specific_file(tmp_path):
    import cv2

    # the named file is missing; 'EP02_01f.png' (whose subject?) and 'sub02_EP02_01f.png' exist
    cv2.imwrite(str(tmp_path / "EP02_01f.png"), np.full((4, 4, 3), 10, np.uint8))
    cv2.imwrite(str(tmp_path / "sub02_EP02_01f.png"), np.full((4, 4, 3), 200, np.uint8))
    (tmp_path / "labels.csv").write_text("dataset,subject,filename,label,image\n"
                                         "casme2,sub02,EP02_01f,disgust,gone.jpg\n"
                                         "casme2,sub03,EP02_01f,disgust,gone2.jpg\n")
    with pytest.warns(LoaderWarning):
        c = load_flow_images(tmp_path)
    assert c.row("casme2/sub02/EP02_01f")["path"].endswith("sub02_EP02_01f.png")
    assert c.row("casme2/sub03/EP02_01f")["path"].endswith("/EP02_01f.png")


def test_two_rows_with_one_image_are_flagged(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.full((4, 4, 3), 10, np.uint8))
    (tmp_path / "labels.csv").write_text("subject,clip,label,image\n1,x,p,a.png\n2,y,q,a.png\n")
    with pytest.warns(LoaderWarning, match="kept"):
        c = load_flow_images(tmp_path)
    flagged = c.issues[c.issues["action"] == "kept (flagged)"]
    assert sorted(flagged["sample"]) == ["x", "y"] and "same image" in flagged["reason"].iloc[0]
