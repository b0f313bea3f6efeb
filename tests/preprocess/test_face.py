"""Face detection, landmarks, registration and cropping.

Known truths: the face of skimage's astronaut photo (the one real photo the tests use,
never saved), warps by known similarity/affine transforms of that photo and of generated
textures, and closed-form least-squares fits.
"""

import sys

import cv2
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from mer_lab.cube import make_cube
from mer_lab.preprocess import face as F

# The astronaut's face: centre about (224, 120) (x, y), about 90 px wide.
FACE_CENTRE = np.array([224.0, 120.0])


def _has_dlib():
    try:
        import dlib  # noqa: F401

        F._landmark_model_path()
    except ImportError:
        return False
    return True


needs_dlib = pytest.mark.skipif(not _has_dlib(), reason='needs dlib and its model: pip install "mer_lab[faces]"')


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return data.astronaut()


def _similarity(angle_deg, scale, tx, ty, centre=(256.0, 256.0)):
    m = cv2.getRotationMatrix2D(centre, angle_deg, scale)
    m[:, 2] += (tx, ty)
    return m


def _texture(h, w, seed=0, sigma=3.0):
    rng = np.random.default_rng(seed)
    t = ndimage.gaussian_filter(rng.normal(size=(h, w)), sigma)
    t = (t - t.min()) / (t.max() - t.min())
    return (40 + 170 * t).astype(np.uint8)


# --------------------------------------------------------------------------- detection
@pytest.mark.parametrize("method", ["haar", "lbp", pytest.param("dlib", marks=[pytest.mark.faces, needs_dlib])])
def test_detectors_find_the_one_face_of_the_astronaut(astronaut, method):
    boxes = F.detect_faces(astronaut, method=method)
    assert boxes.shape == (1, 4)
    x, y, w, h = boxes[0]
    assert x < FACE_CENTRE[0] < x + w and y < FACE_CENTRE[1] < y + h
    assert 60 <= w <= 150 and 60 <= h <= 150
    centre = np.array([x + w / 2, y + h / 2])
    assert np.hypot(*(centre - FACE_CENTRE)) < 20


def test_detection_accepts_grey_and_float_images(astronaut):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    b_uint8 = F.detect_faces(grey)
    b_float = F.detect_faces(grey.astype(np.float64) / 255.0)
    assert b_uint8.shape == b_float.shape == (1, 4)
    assert np.abs(b_uint8 - b_float).max() <= 4


@pytest.mark.parametrize("method", ["haar", "lbp", pytest.param("dlib", marks=[pytest.mark.faces, needs_dlib])])
def test_no_face_gives_empty_boxes_and_a_clear_error(method):
    flat = _texture(200, 240, sigma=8)
    assert F.detect_faces(flat, method=method).shape == (0, 4)
    with pytest.raises(ValueError, match="no face found"):
        F.detect_face(flat, method=method)


def test_several_faces_largest_first_with_a_warning(astronaut):
    small = cv2.resize(astronaut, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 512 + small.shape[1], 3), 128, np.uint8)
    canvas[:, :512] = astronaut
    canvas[: small.shape[0], 512:] = small
    boxes = F.detect_faces(canvas, method="haar")
    assert len(boxes) >= 2
    areas = boxes[:, 2] * boxes[:, 3]
    assert np.all(np.diff(areas) <= 0)
    with pytest.warns(F.FaceDetectionWarning, match="largest"):
        box = F.detect_face(canvas, method="haar")
    assert np.array_equal(box, boxes[0])
    assert box[0] < FACE_CENTRE[0] < box[0] + box[2]  # the big face, on the left


def test_detect_rejects_bad_arguments(astronaut):
    with pytest.raises(ValueError, match="method"):
        F.detect_faces(astronaut, method="mtcnn")
    with pytest.raises(ValueError, match="image"):
        F.detect_faces(np.zeros((4, 4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="scale_factor"):
        F.detect_faces(astronaut, scale_factor=1.0)


# --------------------------------------------------------------------------- landmarks
@pytest.mark.faces
@needs_dlib
def test_landmarks_follow_the_geometry_of_a_face(astronaut):
    pts = F.landmarks(astronaut)
    assert pts.shape == (68, 2) and pts.dtype == np.float64
    box = F.detect_face(astronaut, method="dlib")
    g = {k: pts[a:b] for k, (a, b) in F.LANDMARK_GROUPS.items()}
    eye_l, eye_r = g["right_eye"].mean(0), g["left_eye"].mean(0)  # image left, image right
    nose_tip, mouth = pts[33], g["outer_lips"].mean(0)
    assert eye_l[0] < nose_tip[0] < eye_r[0]
    assert max(eye_l[1], eye_r[1]) < nose_tip[1] < mouth[1]
    assert g["right_brow"][:, 1].mean() < eye_l[1] and g["left_brow"][:, 1].mean() < eye_r[1]
    x, y, w, h = box
    eyes = np.vstack([g["right_eye"], g["left_eye"]])
    assert np.all((eyes[:, 0] > x) & (eyes[:, 0] < x + w) & (eyes[:, 1] > y) & (eyes[:, 1] < y + h))
    mouth_width = pts[54, 0] - pts[48, 0]
    interocular = eye_r[0] - eye_l[0]
    assert 0.25 * w < mouth_width < 0.7 * w
    assert 0.6 < mouth_width / interocular < 1.6
    assert pts[8, 1] > mouth[1]  # chin below the mouth


@pytest.mark.faces
@needs_dlib
def test_landmarks_with_a_given_box_and_on_grey_images(astronaut):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    box = F.detect_face(grey, method="dlib")
    a = F.landmarks(grey, box=box)
    b = F.landmarks(astronaut)
    assert np.abs(a - b).max() <= 1.0
    with pytest.raises(ValueError, match="box"):
        F.landmarks(grey, box=(10, 10, 0, 5))


@pytest.mark.faces
@needs_dlib
def test_estimate_landmarks_on_a_clip(astronaut):
    cube = make_cube(np.stack([astronaut] * 3), fps=30, frame_numbers=[7, 8, 9], sample="s")
    first = F.estimate_landmarks(cube)
    assert first.dims == ("time", "point", "coord") and first.shape == (1, 68, 2)
    assert list(first["coord"].values) == ["x", "y"] and int(first["frame"][0]) == 7
    every = F.estimate_landmarks(cube, frames="all")
    assert every.shape == (3, 68, 2)
    assert np.allclose(every.values, every.values[0])  # identical frames, identical points
    some = F.estimate_landmarks(cube, frames=[0, 2], redetect=False)
    assert list(some["frame"].values) == [7, 9]
    with pytest.raises(ValueError, match="frames"):
        F.estimate_landmarks(cube, frames=[2, 0])


def test_missing_dlib_says_how_to_install(monkeypatch, astronaut):
    F._shape_predictor.cache_clear()
    F._dlib_detector.cache_clear()
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` fail
    try:
        with pytest.raises(ImportError, match=r'mer_lab\[faces\]'):
            F.landmarks(astronaut)
        with pytest.raises(ImportError, match=r'mer_lab\[faces\]'):
            F.detect_faces(astronaut, method="dlib")
    finally:
        F._shape_predictor.cache_clear()
        F._dlib_detector.cache_clear()


# --------------------------------------------------------------------------- transforms
def test_fit_point_transform_recovers_known_transforms():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 200, (3, 13, 2))
    sim = np.array([_similarity(a, s, tx, ty) for a, s, tx, ty in [(5, 1.1, 3, -2), (-12, 0.9, 0, 7), (0, 1, 0, 0)]])
    dst = F.transform_points(src, sim)
    assert np.allclose(F.fit_point_transform(src, dst), sim, atol=1e-10)
    aff = sim.copy()
    aff[:, 0, 1] += 0.05  # a shear: not a similarity
    dst = F.transform_points(src, aff)
    assert np.allclose(F.fit_point_transform(src, dst, transform="affine"), aff, atol=1e-10)
    shift = F.fit_point_transform(src, src + [2.5, -1.0], transform="translation")
    assert np.allclose(shift, [[1, 0, 2.5], [0, 1, -1.0]])


def test_similarity_fit_is_least_squares():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 100, (20, 2))
    dst = F.transform_points(src, _similarity(8, 1.05, 4, 1)) + rng.normal(0, 0.5, (20, 2))
    m = F.fit_point_transform(src, dst)

    def cost(p):
        a, b, tx, ty = p
        mm = np.array([[a, -b, tx], [b, a, ty]])
        return ((F.transform_points(src, mm) - dst) ** 2).sum()

    p0 = np.array([m[0, 0], m[1, 0], m[0, 2], m[1, 2]])
    base = cost(p0)
    for k in range(4):
        for eps in (1e-4, -1e-4):
            p = p0.copy()
            p[k] += eps
            assert cost(p) >= base


def test_fit_point_transform_rejects_degenerate_points():
    pts = np.zeros((5, 2))
    with pytest.raises(ValueError, match="coincide"):
        F.fit_point_transform(pts, pts)
    line = np.stack([np.arange(5.0), 2 * np.arange(5.0)], 1)
    with pytest.raises(ValueError, match="collinear"):
        F.fit_point_transform(line, line, transform="affine")
    with pytest.raises(ValueError, match="transform"):
        F.fit_point_transform(line, line, transform="projective")


# --------------------------------------------------------------------------- registration
def _texture_clip(transforms, h=160, w=180, seed=3):
    """Frames = a texture warped by each transform; landmarks moved exactly alike."""
    base = _texture(h, w, seed)
    rng = np.random.default_rng(seed)
    pts0 = np.column_stack([rng.uniform(0.3 * w, 0.7 * w, 68), rng.uniform(0.3 * h, 0.7 * h, 68)])
    frames, pts = [], []
    for m in transforms:
        frames.append(cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
        pts.append(F.transform_points(pts0, m))
    cube = make_cube(np.stack(frames), fps=50, frame_numbers=range(20, 20 + len(transforms)),
                     subject="s1", sample="t", emotion="surprise", apex=21)
    return cube, np.stack(pts)


@pytest.mark.parametrize("transform", ["similarity", "affine"])
def test_register_undoes_known_transforms_of_a_texture(transform):
    truth = [np.array([[1.0, 0, 0], [0, 1, 0]]), _similarity(6, 1.04, 3.5, -2.25, (90, 80)),
             _similarity(-4, 0.97, -5.0, 4.0, (90, 80))]
    if transform == "affine":
        truth[2] = truth[2].copy()
        truth[2][0, 1] += 0.04
    cube, pts = _texture_clip(truth)
    out = F.register(cube, landmarks=pts, transform=transform)
    mats = F.registration_transforms(out).values
    for i, m in enumerate(truth):
        inverse = cv2.invertAffineTransform(m)
        assert np.allclose(mats[i], inverse, atol=1e-8)
    assert np.allclose(out.attrs["registration_residual"], 0, atol=1e-8)
    # the registered frames show the reference texture where both are defined
    core = (slice(40, 120), slice(45, 135))
    ref = cube.values[0][core].astype(float)
    for i in (1, 2):
        diff = np.abs(out.values[i][core].astype(float) - ref)
        assert diff.mean() < 2.5  # grey levels; the texture spans 40..210
        moved = np.abs(cube.values[i][core].astype(float) - ref).mean()
        assert diff.mean() < 0.2 * moved


def test_register_keeps_metadata_dtype_and_reference_frame():
    truth = [_similarity(3, 1.0, 1, 1, (90, 80)), np.array([[1.0, 0, 0], [0, 1, 0]])]
    cube, pts = _texture_clip(truth)
    out = F.register(cube, landmarks=xr.DataArray(pts, dims=("time", "point", "coord")), reference=1)
    assert out.dtype == cube.dtype and out.shape == cube.shape
    for key in ("subject", "sample", "emotion", "apex", "fps"):
        assert out.attrs[key] == cube.attrs[key]
    assert np.array_equal(out["frame"].values, cube["frame"].values)
    assert np.array_equal(out.values[1], cube.values[1])  # the reference is left alone
    assert np.allclose(F.registration_transforms(out).values[1], [[1, 0, 0], [0, 1, 0]])
    # registered landmarks land on the reference's
    moved = F.transform_points(pts, F.registration_transforms(out).values)
    assert np.allclose(moved, pts[1], atol=1e-8)


def test_register_to_a_reference_face_and_colour_cubes():
    truth = [_similarity(0, 1, 2, 0, (90, 80)), _similarity(0, 1, -3, 1, (90, 80))]
    cube, pts = _texture_clip(truth)
    rgb = make_cube(np.repeat(cube.values[..., None], 3, axis=-1), fps=50)
    reference = pts[0] - [2.0, 0.0]  # the face 2 px to the left of frame 0's
    out = F.register(rgb, landmarks=pts, reference=reference, transform="translation")
    mats = F.registration_transforms(out).values
    assert np.allclose(mats[:, :, 2], [[-2, 0], [3, -1]], atol=1e-9)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out.values[..., 0], out.values[..., 2])


def test_register_rejects_bad_landmarks():
    cube, pts = _texture_clip([np.array([[1.0, 0, 0], [0, 1, 0]])] * 2)
    with pytest.raises(ValueError, match="estimate_landmarks"):
        F.register(cube, landmarks=pts[:1])
    with pytest.raises(ValueError, match="68, 2"):
        F.register(cube, landmarks=pts[:, :60])
    with pytest.raises(ValueError, match="points"):
        F.register(cube, landmarks=pts, points=[0, 70])
    with pytest.raises(ValueError, match="reference"):
        F.register(cube, landmarks=pts, reference=5)
    with pytest.raises(ValueError, match="registration"):
        F.registration_transforms(cube)


@pytest.mark.faces
@needs_dlib
def test_register_undoes_a_known_similarity_of_the_astronaut(astronaut):
    m = _similarity(4.0, 1.03, 6.3, -4.2)
    moved = cv2.warpAffine(astronaut, m, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    cube = make_cube(np.stack([astronaut, moved]), fps=30)
    pts = F.estimate_landmarks(cube, frames="all")
    out = F.register(cube, landmarks=pts)
    est = F.registration_transforms(out).values[1]
    # where the true frame-1 positions of frame 0's landmarks are sent by the estimate
    true_1 = F.transform_points(pts.values[0], m)
    err = np.hypot(*(F.transform_points(true_1, est) - pts.values[0]).T)
    assert err[list(F.STABLE_POINTS)].max() < 1.0
    assert err.mean() < 1.0
    # landmarks found again on the registered frame agree with the reference frame's
    again = F.estimate_landmarks(out, frames="all")
    assert np.hypot(*(again.values[1] - again.values[0]).T).mean() < 1.5


# --------------------------------------------------------------------------- cropping
def test_crop_face_with_a_box_margin_and_size():
    cube, _ = _texture_clip([np.array([[1.0, 0, 0], [0, 1, 0]])] * 3)
    out = F.crop_face(cube, box=(40, 30, 50, 60), margin=0.1)
    assert out.attrs["crop_box"] == [35, 24, 60, 72]
    assert np.array_equal(out.values, cube.values[:, 24:96, 35:95])
    assert out.attrs["apex"] == 21 and out.attrs["sample"] == "t"
    resized = F.crop_face(cube, box=(40, 30, 50, 60), margin=0.1, size=(36, 30))
    assert resized.shape == (3, 36, 30) and resized.dtype == np.uint8
    assert resized.attrs["crop_scale"] == [0.5, 0.5]
    assert abs(resized.values.astype(float).mean() - out.values.astype(float).mean()) < 1.0
    square = F.crop_face(cube, box=(40, 30, 50, 60), size=64)
    assert square.shape == (3, 64, 64)


def test_crop_face_pads_boxes_that_leave_the_frame():
    cube, _ = _texture_clip([np.array([[1.0, 0, 0], [0, 1, 0]])] * 2)
    out = F.crop_face(cube, box=(-10, -5, 40, 30), margin=0)
    assert out.shape == (2, 30, 40)
    assert np.array_equal(out.values[:, 5:, 10:], cube.values[:, :25, :30])
    assert np.array_equal(out.values[:, :5, 10], np.repeat(cube.values[:, :1, 0], 5, axis=1))
    with pytest.raises(ValueError, match="outside"):
        F.crop_face(cube, box=(500, 500, 10, 10))
    with pytest.raises(ValueError, match="box"):
        F.crop_face(cube, box="face")


def test_crop_face_around_landmarks_covers_them():
    cube, pts = _texture_clip([np.array([[1.0, 0, 0], [0, 1, 0]]), _similarity(0, 1, 4, 3, (90, 80))])
    out = F.crop_face(cube, box=pts, margin=0.05)
    x, y, w, h = out.attrs["crop_box"]
    allpts = pts.reshape(-1, 2)
    assert np.all((allpts[:, 0] >= x) & (allpts[:, 0] <= x + w) & (allpts[:, 1] >= y) & (allpts[:, 1] <= y + h))
    box = F.landmark_box(pts, forehead=0.25)
    span = allpts[:, 1].max() - allpts[:, 1].min()
    assert box[1] == pytest.approx(allpts[:, 1].min() - 0.25 * span)


def test_crop_face_detects_the_astronaut(astronaut):
    cube = make_cube(np.stack([astronaut, astronaut]), fps=25)
    out = F.crop_face(cube, box="detect", size=96)
    assert out.shape == (2, 96, 96, 3)
    x, y, w, h = out.attrs["crop_box"]
    assert x < FACE_CENTRE[0] < x + w and y < FACE_CENTRE[1] < y + h
    flat = make_cube(np.stack([_texture(120, 120, sigma=8)] * 2), fps=25)
    with pytest.raises(ValueError, match="no face found"):
        F.crop_face(flat)


# --------------------------------------------------------------------------- synthetic corpus
def _synthetic():
    try:
        from mer_lab.datasets import synthetic
    except ImportError:
        return None
    return synthetic if hasattr(synthetic, "make_corpus") else None


@pytest.mark.skipif(_synthetic() is None, reason="the synthetic corpus generator is not available")
def test_register_removes_the_head_drift_of_the_synthetic_corpus():
    corpus = _synthetic().make_corpus(n_subjects=1, clips_per_subject=1, size=128, drift=6, rotation=3, seed=3)
    uid = corpus.samples.index[0]
    cube, truth = corpus.cube(uid), corpus.ground_truth(uid)
    pts = truth["landmarks"].transpose("time", "point", "coord").values.astype(np.float64)
    out = F.register(cube, landmarks=pts)
    mats = F.registration_transforms(out).values
    stable = list(F.STABLE_POINTS)
    before = np.hypot(*(pts[:, stable] - pts[:1, stable]).T).max()
    moved = F.transform_points(pts[:, stable], mats)
    after = np.hypot(*(moved - moved[:1]).T).max()
    assert before > 2.0  # the generator did move the head
    assert after < 0.05  # px: the drift is gone from the stable points
    # dense check with the generator's own head motion from onset to apex: a pixel q of
    # the onset frame goes to q + h(q) in the apex frame; registered, both must coincide
    head = truth["flow_apex_head"].transpose("component", "y", "x").values.astype(np.float64)
    onset = int(np.searchsorted(cube["frame"].values, cube.attrs["onset"]))
    apex = int(np.searchsorted(cube["frame"].values, cube.attrs["apex"]))
    yy, xx = np.mgrid[0 : head.shape[1], 0 : head.shape[2]]
    q = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float64)
    q_apex = q + np.column_stack([head[0].ravel(), head[1].ravel()])
    residual = np.hypot(*(F.transform_points(q_apex, mats[apex]) - F.transform_points(q, mats[onset])).T)
    assert np.hypot(head[0], head[1]).max() > 0.5
    assert residual.max() < 0.05
    # and the registered frames differ less from the first one than the input frames do
    diff_in = np.abs(cube.values.astype(float) - cube.values[0]).mean(axis=(1, 2)).max()
    diff_out = np.abs(out.values.astype(float) - out.values[0]).mean(axis=(1, 2)).max()
    assert diff_out < 0.5 * diff_in
