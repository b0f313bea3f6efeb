"""Precomputed flow images: de-scaling, channel order, CSV columns, missing images."""

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
