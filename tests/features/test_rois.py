"""The 36 MDMO regions of interest built from 68 landmarks."""

import numpy as np
import pytest

from mer_lab.features import rois
from mer_lab.features.rois import (
    MIRROR_68,
    ROI_AUS,
    ROI_NAMES,
    STABLE_POINTS,
    draw_rois,
    face_frame,
    mdmo_rois,
    roi_label_image,
    roi_masks,
    template_landmarks,
)


def symmetric_face(size=128):
    """The template made exactly mirror-symmetric about x = size / 2."""
    pts = template_landmarks(size)
    mirrored = pts[MIRROR_68].copy()
    mirrored[:, 0] = size - mirrored[:, 0]
    return (pts + mirrored) / 2


def polygon_area(poly):
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_table_has_36_named_rois_in_pairs():
    assert len(ROI_NAMES) == 36 and len(set(ROI_NAMES)) == 36
    assert len(ROI_AUS) == 36 and all(len(a) >= 1 for a in ROI_AUS)
    for k in range(0, 36, 2):
        assert ROI_NAMES[k].endswith("_R") and ROI_NAMES[k + 1].endswith("_L")
        assert ROI_NAMES[k][:-2] == ROI_NAMES[k + 1][:-2]
    from mer_lab.preprocess import face

    assert STABLE_POINTS is face.STABLE_POINTS  # one set for registration and MDMO's alignment
    assert len(STABLE_POINTS) == 13


def test_mirror_table_is_the_ibug_left_right_correspondence():
    assert np.array_equal(MIRROR_68[MIRROR_68], np.arange(68))
    for a, b in [(0, 16), (8, 8), (17, 26), (21, 22), (30, 30), (31, 35), (36, 45), (39, 42),
                 (40, 47), (48, 54), (51, 51), (57, 57), (59, 55), (60, 64), (66, 66)]:
        assert MIRROR_68[a] == b


def test_polygons_of_a_symmetric_face_mirror_each_other():
    size = 128
    polys = mdmo_rois(symmetric_face(size))
    for k in range(0, 36, 2):
        right, left = polys[k], polys[k + 1]
        mirrored = right.copy()
        mirrored[:, 0] = size - mirrored[:, 0]
        np.testing.assert_allclose(left, mirrored, atol=1e-9, err_msg=ROI_NAMES[k])
        # the subject's right half is on the image's left
        assert right[:, 0].mean() <= size / 2 + 1e-9


def test_rois_follow_a_similarity_transform_of_the_face():
    pts = template_landmarks(128)
    angle, scale, shift = np.deg2rad(35), 1.7, np.array([40.0, -12.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = scale * pts @ rot.T + shift
    for a, b in zip(mdmo_rois(pts), mdmo_rois(moved)):
        np.testing.assert_allclose(scale * a @ rot.T + shift, b, atol=1e-9)


def test_forehead_points_lie_above_the_brows():
    pts = template_landmarks(128)
    scale, up = face_frame(pts)
    np.testing.assert_allclose(up, [0, -1], atol=0.05)     # y grows downwards: up is -y
    brow_top = pts[17:27, 1].min()
    polys = mdmo_rois(pts, brow_offset=0.35)
    for k in range(6):   # inner, middle and outer brow pairs
        assert polys[k][:, 1].min() < brow_top - 0.3 * scale
    # a larger offset reaches higher; an offset of 0 collapses the band
    assert mdmo_rois(pts, brow_offset=0.6)[0][:, 1].min() < polys[0][:, 1].min()
    assert polygon_area(mdmo_rois(pts, brow_offset=0.0)[0]) < 1e-9


def test_masks_match_polygon_areas_and_cover_no_eye_or_mouth_interior():
    pts = template_landmarks(256)
    masks = roi_masks(pts, (256, 256))
    assert masks.shape == (36, 256, 256) and masks.dtype == bool
    for k, poly in enumerate(mdmo_rois(pts)):
        area = polygon_area(poly)
        assert area > 20, ROI_NAMES[k]
        # rasterised pixels ~ polygon area (boundary pixels are counted)
        perimeter = np.sum(np.hypot(*(np.roll(poly, -1, 0) - poly).T))
        assert abs(masks[k].sum() - area) <= perimeter + 4, ROI_NAMES[k]
    union = masks.any(0)
    for centre in (pts[36:42].mean(0), pts[42:48].mean(0), pts[60:68].mean(0)):
        x, y = np.round(centre).astype(int)
        assert not union[y, x]
    # neighbours share edges but do not overlap in area
    overlap = (masks.sum(0) > 1).sum()
    assert overlap < 0.08 * union.sum()


def test_label_image_and_masks_agree():
    pts = template_landmarks(120)
    labels = roi_label_image(pts, (120, 120))
    masks = roi_masks(pts, (120, 120))
    assert set(np.unique(labels)) == set(range(37))
    for k in range(36):
        assert masks[k][labels == k + 1].all()
    assert not masks.any(0)[labels == 0].any()


def test_faces_partly_outside_the_image_are_clipped():
    pts = template_landmarks(120) - [60, 0]     # half the face leaves the image
    masks = roi_masks(pts, (120, 120))
    assert masks.shape == (36, 120, 120)
    assert 0 < masks[0::2].sum() < 0.5 * masks[1::2].sum()   # the right halves are cut off


def test_draw_rois_returns_an_rgb_figure():
    pts = template_landmarks(100)
    grey = np.full((100, 100), 50, np.uint8)
    grey[0, 0] = 0
    img = draw_rois(grey, pts, scale=3)
    assert img.shape == (300, 300, 3) and img.dtype == np.uint8
    plain = draw_rois(grey, pts, scale=3, alpha=0, numbers=False, points=False)
    inside = np.repeat(np.repeat(roi_masks(pts, (100, 100)).any(0), 3, 0), 3, 1)
    assert np.abs(img.astype(int) - plain.astype(int))[inside].mean() > 5   # filled colours
    assert (plain != plain[0, 0]).any(axis=2).sum() > 0                     # outlines drawn
    rgb = draw_rois(np.dstack([grey] * 3), pts)
    assert rgb.shape == (100, 100, 3)


@pytest.mark.parametrize("bad", [np.zeros((66, 2)), np.zeros((68, 3)), np.full((68, 2), np.nan)])
def test_bad_landmarks_are_refused_by_name(bad):
    with pytest.raises(ValueError, match="landmarks"):
        mdmo_rois(bad)


def test_bad_arguments_are_refused_by_name():
    pts = template_landmarks()
    with pytest.raises(ValueError, match="shape"):
        roi_masks(pts, (10, 10, 3))
    with pytest.raises(ValueError, match="brow_offset"):
        mdmo_rois(pts, brow_offset=-1)
    with pytest.raises(ValueError, match="landmarks"):
        mdmo_rois(np.zeros((68, 2)))       # coincident eyes
    with pytest.raises(ValueError, match="scale"):
        draw_rois(np.zeros((5, 5)), pts, scale=0)


@pytest.mark.faces
def test_rois_on_detected_landmarks_of_a_real_face():
    face = pytest.importorskip("mer_lab.preprocess.face")
    from skimage import data

    img = data.astronaut()
    try:
        pts = face.landmarks(img)
    except ImportError:
        pytest.skip("dlib or its 68-point model is not installed")
    masks = roi_masks(pts, img.shape[:2])
    assert masks.any(axis=(1, 2)).all()
    ys, xs = np.nonzero(masks.any(0))
    # everything stays on the face: within the landmarks' box widened upwards for the forehead
    assert xs.min() >= pts[:, 0].min() - 2 and xs.max() <= pts[:, 0].max() + 2
    assert ys.max() <= pts[:, 1].max() + 2
    assert ys.min() >= pts[17:27, 1].min() - 0.6 * face_frame(pts)[0]
    assert rois.draw_rois(img, pts).shape == img.shape
