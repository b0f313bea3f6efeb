"""Face detection, 68-point landmarks, registration and cropping.

Everything here works offline with what ships inside the installed packages:

* face detection with OpenCV's Haar cascade (``method="haar"``), scikit-image's LBP
  cascade (``method="lbp"``) or dlib's HOG + linear SVM detector (``method="dlib"``);
* 68 facial landmarks (iBUG-68 / dlib order) with dlib's shape predictor and the model
  file of the ``face_recognition_models`` package (optional extra
  ``pip install "mer_lab[faces]"``; the model was trained on the iBUG 300-W data, whose
  licence allows non-commercial research use only);
* registration of every frame of a clip to a reference face by a similarity (or affine,
  or translation) transform fitted on stable landmarks, and cropping to the face.

Conventions
-----------
* A face box is ``(x, y, w, h)`` in pixels: column and row of the top-left corner, width
  and height.
* Landmarks are float arrays of shape ``(68, 2)`` holding ``(x, y)``; sequences
  ``(time, 68, 2)``; :func:`estimate_landmarks` returns them as a DataArray with dims
  ``("time", "point", "coord")`` and ``coord = ["x", "y"]``.
* A 2-D transform is a ``(2, 3)`` matrix ``M`` mapping a point ``p = (x, y)`` to
  ``M[:, :2] @ p + M[:, 2]`` (the matrix :func:`cv2.warpAffine` takes).
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .._validate import check_array, check_choice, check_int, check_number, describe
from ..cube import like, validate_cube

__all__ = [
    "FaceDetectionWarning",
    "LANDMARK_GROUPS",
    "STABLE_POINTS",
    "detect_faces",
    "detect_face",
    "landmarks",
    "estimate_landmarks",
    "fit_point_transform",
    "transform_points",
    "register",
    "registration_transforms",
    "crop_face",
    "landmark_box",
]

FACES_EXTRA_HINT = 'pip install "mer_lab[faces]"'

#: Index ranges (0-based, end exclusive) of the iBUG-68 landmark groups. "right"/"left"
#: are the subject's: the subject's right eye appears on the left of a frontal image.
LANDMARK_GROUPS: dict[str, tuple[int, int]] = {
    "jaw": (0, 17),
    "right_brow": (17, 22),
    "left_brow": (22, 27),
    "nose_bridge": (27, 31),
    "nose_base": (31, 36),
    "right_eye": (36, 42),
    "left_eye": (42, 48),
    "outer_lips": (48, 60),
    "inner_lips": (60, 68),
}

#: The 13 landmarks on which head motion is fitted, by :func:`register` (frames warped
#: onto a reference face) and by MDMO's alignment in the flow domain
#: (:func:`mer_lab.features.mdmo.align_flow`): the four nose-bridge points (27-30), the
#: five points of the nose base (31-35) and the outer and inner corners of both eyes
#: (36, 39, 42, 45). They sit on bone or cartilage and are found reliably by landmark
#: detectors; the wide spread of the eye corners fixes rotation and scale, the nose the
#: vertical position.
#:
#: Chosen by measurement over the other candidate, the face contour at eye level with the
#: nasal ridge, subnasale and inner eye corners (0-2, 14-16, 27-30, 33, 39, 42). On exact
#: landmarks (synthetic corpus, ``make_corpus(n_subjects=6, clips_per_subject=5,
#: seed=7)``, mean residual in px between fitted and true onset -> apex head motion over
#: the landmarks' box) the contour set does better, because the synthetic AUs move the
#: nose wings and outer eye corners a little: ``register`` 0.023 here vs 0.0001, MDMO
#: alignment of Farneback flow 0.173 vs 0.134. With landmarks *detected* by dlib (the
#: case of every real dataset) the contour points are the least reliable ones and the
#: contour set is not robust: undoing a known similarity of a test image (rotation 4 deg,
#: scale 1.03, shift (6.3, -4.2) px) it errs by up to 1.31 px (mean 0.76 px over the 68
#: points) against 0.76 px (mean 0.40) here; over three such similarities the worst error
#: is 1.31 vs 0.83 px. The errors of detection, up to a pixel, outweigh the hundredths of
#: a pixel of expression leakage. Downstream, MDMO aligned on this set also classifies
#: better: LOSO macro F1 0.566 vs 0.516 (``make_corpus(n_subjects=12, clips_per_subject=10,
#: seed=7)``, Farneback flow, TIM 10, standardised features, RBF SVM). So this set is kept.
STABLE_POINTS: tuple[int, ...] = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)

_REGISTRATION_ATTR = "registration_transforms"
_REGISTRATION_RESIDUAL_ATTR = "registration_residual"


class FaceDetectionWarning(UserWarning):
    """A detector found several faces (the largest is used) or lost the face in a frame."""


# --------------------------------------------------------------------------- images
def _image_array(image, name: str = "image") -> np.ndarray:
    """A 2-D grey or 3-D (y, x, channel) array from an ndarray or a DataArray frame."""
    if isinstance(image, xr.DataArray):
        image = image.values
    arr = check_array(name, image, ndim=(2, 3))
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"{name} must be grey (y, x) or colour (y, x, 3|4 channels in RGB order), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr


def _grey_uint8(image, name: str = "image") -> np.ndarray:
    """Grey uint8 version of an image for the detectors.

    uint8 images are used as they are (colour ones converted with the BT.601 weights);
    any other dtype is first scaled linearly from its own [min, max] to [0, 255].
    """
    arr = _image_array(image, name)
    if arr.ndim == 3:
        if arr.shape[2] == 1:
            arr = arr[..., 0]
        else:
            was_uint8 = arr.dtype == np.uint8
            arr = arr[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            if was_uint8:
                return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    arr = arr.astype(np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, np.uint8)
    return np.clip(np.rint((arr - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- detectors
@functools.lru_cache(maxsize=None)
def _haar_cascade(filename: str):
    import cv2

    path = cv2.data.haarcascades + filename
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV could not load the Haar cascade {path}; OpenCV 4.x (<5) ships it")
    return cascade


@functools.lru_cache(maxsize=None)
def _lbp_cascade():
    from skimage import data
    from skimage.feature import Cascade

    return Cascade(data.lbp_frontal_face_cascade_filename())


def _import_dlib():
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            f"dlib is needed for the dlib face detector and the 68-point landmarks; install it with {FACES_EXTRA_HINT}"
        ) from exc
    return dlib


@functools.lru_cache(maxsize=None)
def _dlib_detector():
    return _import_dlib().get_frontal_face_detector()


def _landmark_model_path() -> str:
    """The 68-point model file inside the installed ``face_recognition_models`` package.

    The file is found without importing the package: its ``__init__`` imports
    ``pkg_resources``, which current setuptools releases no longer ship.
    """
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "models" / "shape_predictor_68_face_landmarks.dat"
        if path.is_file():
            return str(path)
    raise ImportError("the 68-point landmark model comes with the package face_recognition_models "
                      f"(models/shape_predictor_68_face_landmarks.dat); install it with {FACES_EXTRA_HINT}")


@functools.lru_cache(maxsize=None)
def _shape_predictor():
    dlib = _import_dlib()
    path = _landmark_model_path()
    try:
        return dlib.shape_predictor(path)
    except RuntimeError as exc:  # pragma: no cover - broken installation
        raise ImportError(f"the 68-point landmark model at {path} cannot be loaded ({exc}); reinstall it with {FACES_EXTRA_HINT}") from exc


def _default_min_size(grey: np.ndarray) -> int:
    return int(max(24, min(grey.shape) // 10))


def detect_faces(
    image,
    *,
    method: str = "haar",
    scale_factor: float = 1.1,
    min_neighbors: int | None = None,
    min_size: int | None = None,
    upsample: int = 0,
) -> np.ndarray:
    """Detect frontal faces in one image.

    Parameters
    ----------
    image : array_like, shape (y, x) or (y, x, 3)
        Grey or RGB image (a DataArray frame is accepted). uint8 images are used as they
        are; other dtypes are scaled from their own [min, max] to [0, 255].
    method : {"haar", "lbp", "dlib"}
        ``"haar"``: OpenCV's Viola-Jones cascade ``haarcascade_frontalface_default.xml``
        (shipped with OpenCV 4.x). ``"lbp"``: scikit-image's :class:`skimage.feature.Cascade`
        with its LBP frontal-face cascade. ``"dlib"``: dlib's HOG + linear SVM detector
        (needs ``pip install "mer_lab[faces]"``); its boxes are the ones the 68-point model
        was trained with, so prefer it before :func:`landmarks`.
    scale_factor : float
        Step between detection scales (> 1) for the cascades.
    min_neighbors : int, optional
        Overlapping detections needed to accept a face (cascades); default 5 for
        ``"haar"`` (OpenCV's usual value) and 8 for ``"lbp"``, whose cascade yields more
        false positives (with 4, it finds a second "face" on the astronaut photo).
    min_size : int, optional
        Smallest face side in pixels for the cascades; default ``max(24, min(y, x) // 10)``.
    upsample : int
        dlib only: times the image is doubled before detection (dlib finds faces of about
        80 px and larger; use 1 for smaller faces, at four times the cost).

    Returns
    -------
    numpy.ndarray, shape (n, 4), int64
        Boxes ``(x, y, w, h)``, largest first; ``n = 0`` when no face is found.

    See Also
    --------
    detect_face : the single (largest) face, with an error when there is none.

    References
    ----------
    P. Viola, M. Jones, "Robust real-time face detection", IJCV 57 (2004),
    doi:10.1023/B:VISI.0000013087.49260.fb.
    N. Dalal, B. Triggs, "Histograms of oriented gradients for human detection",
    CVPR 2005, doi:10.1109/CVPR.2005.177.

    Examples
    --------
    >>> from skimage import data
    >>> boxes = detect_faces(data.astronaut(), method="haar")
    >>> boxes.shape
    (1, 4)
    """
    check_choice("method", method, ["haar", "lbp", "dlib"])
    grey = _grey_uint8(image)
    if method in ("haar", "lbp"):
        scale_factor = check_number("scale_factor", scale_factor, low=1, low_open=True)
        if min_neighbors is None:
            min_neighbors = 5 if method == "haar" else 8
        min_neighbors = check_int("min_neighbors", min_neighbors, low=0)
        min_size = _default_min_size(grey) if min_size is None else check_int("min_size", min_size, low=1)
    if method == "haar":
        found = _haar_cascade("haarcascade_frontalface_default.xml").detectMultiScale(
            grey, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(min_size, min_size)
        )
        boxes = np.asarray(found, np.int64).reshape(-1, 4)
    elif method == "lbp":
        side = min(grey.shape)
        if side < min_size:
            boxes = np.zeros((0, 4), np.int64)
        else:
            found = _lbp_cascade().detect_multi_scale(
                img=grey, scale_factor=scale_factor, step_ratio=1, min_size=(min_size, min_size),
                max_size=(side, side), min_neighbor_number=min_neighbors,
            )
            boxes = np.array([(d["c"], d["r"], d["width"], d["height"]) for d in found], np.int64).reshape(-1, 4)
    else:
        upsample = check_int("upsample", upsample, low=0, high=3)
        rects = _dlib_detector()(grey, upsample)
        boxes = _clip_boxes(np.array([_rect_to_box(r) for r in rects], np.int64).reshape(-1, 4), grey.shape)
    if len(boxes) > 1:
        order = np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")
        boxes = boxes[order]
    return boxes


def detect_face(image, *, method: str = "haar", **options) -> np.ndarray:
    """The largest face of an image as a box ``(x, y, w, h)``.

    Takes the options of :func:`detect_faces`. When several faces are found the largest
    is returned and a :class:`FaceDetectionWarning` says how many there were.

    Raises
    ------
    ValueError
        If no face is found.
    """
    boxes = detect_faces(image, method=method, **options)
    if len(boxes) == 0:
        shape = np.shape(image)
        raise ValueError(
            f"no face found in the image ({shape[1]}x{shape[0]} px) by method={method!r}; try another "
            "method, upsample=1 for small faces (dlib), a smaller min_size, or pass the face box yourself"
        )
    if len(boxes) > 1:
        warnings.warn(
            f"{len(boxes)} faces found by method={method!r}; using the largest, {tuple(int(v) for v in boxes[0])} (x, y, w, h)",
            FaceDetectionWarning, stacklevel=2,
        )
    return boxes[0]


def _rect_to_box(rect) -> tuple[int, int, int, int]:
    return rect.left(), rect.top(), rect.right() - rect.left() + 1, rect.bottom() - rect.top() + 1


def _clip_boxes(boxes: np.ndarray, shape) -> np.ndarray:
    """Clip (x, y, w, h) boxes to an image of the given (rows, cols) shape."""
    if len(boxes) == 0:
        return boxes
    h_img, w_img = shape[:2]
    x0 = np.clip(boxes[:, 0], 0, w_img - 1)
    y0 = np.clip(boxes[:, 1], 0, h_img - 1)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 1, w_img)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 1, h_img)
    return np.stack([x0, y0, np.maximum(x1 - x0, 1), np.maximum(y1 - y0, 1)], axis=1)


def _check_box(box, name: str = "box") -> np.ndarray:
    arr = check_array(name, box, ndim=1)
    if arr.shape != (4,) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a face box (x, y, w, h) of 4 numbers, got {describe(box)}")
    if arr[2] <= 0 or arr[3] <= 0:
        raise ValueError(f"{name} must have a positive width and height, got {describe(box)}")
    return arr.astype(np.float64)


# --------------------------------------------------------------------------- landmarks
def landmarks(image, *, box=None, upsample: int = 0) -> np.ndarray:
    """The 68 facial landmarks of the (largest) face in an image.

    Parameters
    ----------
    image : array_like, shape (y, x) or (y, x, 3)
        Grey or RGB image (see :func:`detect_faces` for dtypes).
    box : array_like of 4 numbers, optional
        The face box ``(x, y, w, h)``. Default: detected with dlib's HOG detector (the
        boxes the model was trained with; boxes of the Haar or LBP cascades are larger and
        give slightly worse points).
    upsample : int
        Passed to the dlib detector when ``box`` is None.

    Returns
    -------
    numpy.ndarray, shape (68, 2), float64
        ``(x, y)`` pixel coordinates in the iBUG-68 order: jaw 0-16, brows 17-26, nose
        27-35, eyes 36-47 (the subject's right eye, on the image's left, first), lips 48-67.
        See :data:`LANDMARK_GROUPS`.

    Raises
    ------
    ImportError
        If dlib or the model package is missing (``pip install "mer_lab[faces]"``).
    ValueError
        If ``box`` is None and no face is found.

    Notes
    -----
    dlib's shape predictor is an ensemble of regression trees (Kazemi & Sullivan 2014)
    refining a mean shape placed in the box. The model file is the one shipped in the PyPI
    package ``face_recognition_models``; it was trained on the iBUG 300-W data set, whose
    licence permits non-commercial use only. The loaded model is cached.

    References
    ----------
    V. Kazemi, J. Sullivan, "One millisecond face alignment with an ensemble of regression
    trees", CVPR 2014, doi:10.1109/CVPR.2014.241.
    C. Sagonas et al., "300 Faces in-the-wild challenge", ICCVW 2013,
    doi:10.1109/ICCVW.2013.59.

    Examples
    --------
    (needs ``pip install "mer_lab[faces]"``)

    >>> from skimage import data
    >>> pts = landmarks(data.astronaut())  # doctest: +SKIP
    >>> pts.shape  # doctest: +SKIP
    (68, 2)
    """
    predictor = _shape_predictor()
    grey = _grey_uint8(image)
    if box is None:
        box = detect_face(grey, method="dlib", upsample=upsample)
    return _predict(predictor, grey, _check_box(box))


def _predict(predictor, grey: np.ndarray, box: np.ndarray) -> np.ndarray:
    dlib = _import_dlib()
    x, y, w, h = (int(round(v)) for v in box)
    rect = dlib.rectangle(x, y, x + w - 1, y + h - 1)
    shape = predictor(grey, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], np.float64)


def estimate_landmarks(cube: xr.DataArray, *, frames="first", box=None, upsample: int = 0,
                       redetect: bool = True) -> xr.DataArray:
    """68-point landmarks of a clip: on its first frame, on every frame, or on chosen ones.

    Parameters
    ----------
    cube : xarray.DataArray
        A grey or colour cube.
    frames : {"first", "all"} or sequence of int
        Which frames to process: the first one, every frame, or the given positions (indices
        along ``time``, increasing).
    box : array_like of 4 numbers, optional
        Face box ``(x, y, w, h)`` of the first processed frame; default: dlib's detector.
    upsample : int
        Passed to the dlib detector.
    redetect : bool
        For the frames after the first processed one: ``True`` detects the face again
        (dlib) and keeps the detection nearest the previous box (the head may move);
        ``False`` reuses the first box (faster; fine for a still head). When re-detection
        finds no face near the previous one, the previous box is kept and a
        :class:`FaceDetectionWarning` names the frames.

    Returns
    -------
    xarray.DataArray, dims ("time", "point", "coord")
        Landmarks of the processed frames with the cube's ``time`` and ``frame`` coords,
        ``point = 0..67`` and ``coord = ["x", "y"]``; ``attrs["boxes"]`` holds the face box
        used on each processed frame (shape (time, 4)).

    Examples
    --------
    (needs ``pip install "mer_lab[faces]"``)

    >>> import numpy as np
    >>> from skimage import data
    >>> from mer_lab.cube import make_cube
    >>> clip = make_cube(np.stack([data.astronaut()] * 2), fps=30)
    >>> pts = estimate_landmarks(clip, frames="all")  # doctest: +SKIP
    >>> pts.dims, pts.shape  # doctest: +SKIP
    (('time', 'point', 'coord'), (2, 68, 2))
    >>> registered = register(clip, landmarks=pts)  # doctest: +SKIP
    """
    validate_cube(cube)
    n = cube.sizes["time"]
    if isinstance(frames, str):
        check_choice("frames", frames, ["first", "all"])
        positions = np.array([0]) if frames == "first" else np.arange(n)
    else:
        positions = check_array("frames", frames, ndim=1)
        if positions.size == 0 or not np.issubdtype(positions.dtype, np.integer):
            raise ValueError(f"frames must be 'first', 'all' or a non-empty sequence of frame positions (int), got {describe(frames)}")
        if positions.min() < 0 or positions.max() >= n or np.any(np.diff(positions) <= 0):
            raise ValueError(f"frames must be increasing positions in 0..{n - 1}, got {describe(frames)}")
    predictor = _shape_predictor()
    values = cube.values
    out = np.empty((positions.size, 68, 2), np.float64)
    boxes = np.empty((positions.size, 4), np.float64)
    lost = []
    current = None
    for k, pos in enumerate(positions):
        grey = _grey_uint8(values[pos], name=f"cube frame {pos}")
        if k == 0:
            current = _check_box(box) if box is not None else detect_face(grey, method="dlib", upsample=upsample).astype(np.float64)
        elif redetect:
            found = _redetect(grey, current, upsample)
            if found is None:
                lost.append(int(cube["frame"].values[pos]))
            else:
                current = found
        boxes[k] = current
        out[k] = _predict(predictor, grey, current)
    if lost:
        warnings.warn(
            f"the face was not re-detected in frames {lost[:10]}{' ...' if len(lost) > 10 else ''}; the previous box was used there",
            FaceDetectionWarning, stacklevel=2,
        )
    sel = cube.isel(time=positions)
    return xr.DataArray(
        out, dims=("time", "point", "coord"),
        coords={"time": sel["time"].values, "frame": ("time", sel["frame"].values),
                "point": np.arange(68), "coord": ["x", "y"]},
        attrs={"long_name": "facial landmarks", "units": "px", "model": "dlib 68-point shape predictor (iBUG 300-W)",
               "boxes": boxes, "sample": cube.attrs.get("sample")},
        name="landmarks",
    )


def _redetect(grey: np.ndarray, previous: np.ndarray, upsample: int):
    """Detect faces in the whole frame and keep the one whose centre is nearest the previous box's.

    Detecting in the whole frame (not a window around the previous box) keeps the result
    independent of the previous frames: identical frames give identical boxes, no drift.
    """
    rects = _dlib_detector()(grey, upsample)
    if len(rects) == 0:
        return None
    x, y, w, h = previous
    boxes = np.array([_rect_to_box(r) for r in rects], np.float64)
    dist = np.hypot(boxes[:, 0] + boxes[:, 2] / 2 - (x + w / 2), boxes[:, 1] + boxes[:, 3] / 2 - (y + h / 2))
    best = int(np.argmin(dist))
    if dist[best] > 0.5 * max(w, h):
        return None  # another face, not this one
    return boxes[best]


# --------------------------------------------------------------------------- transforms
def fit_point_transform(src, dst, *, transform: str = "similarity") -> np.ndarray:
    """Least-squares 2-D transform(s) mapping points ``src`` onto ``dst``.

    Parameters
    ----------
    src, dst : array_like, shape (..., n, 2)
        Corresponding ``(x, y)`` points; leading dimensions (e.g. time) are broadcast.
    transform : {"similarity", "affine", "translation"}
        ``"similarity"``: rotation, isotropic scale and translation (4 parameters, n >= 2);
        ``"affine"``: a general affine map (6 parameters, n >= 3, not all collinear);
        ``"translation"``: a shift (2 parameters).

    Returns
    -------
    numpy.ndarray, shape (..., 2, 3)
        ``M`` with ``dst ~ src @ M[:, :2].T + M[:, 2]``.

    Notes
    -----
    With centred points ``s = src - mean(src)`` and ``d = dst - mean(dst)``, the
    least-squares similarity is ``[[a, -b], [b, a]]`` with
    ``a = sum(s_x d_x + s_y d_y) / sum|s|^2`` and ``b = sum(s_x d_y - s_y d_x) / sum|s|^2``;
    the affine part is ``(d^T s)(s^T s)^-1``; the translation then maps the centroids.
    Closed forms, no random sampling: the result is deterministic.
    """
    check_choice("transform", transform, ["similarity", "affine", "translation"])
    src = check_array("src", src, ndim=None).astype(np.float64)
    dst = check_array("dst", dst, ndim=None).astype(np.float64)
    if src.ndim < 2 or src.shape[-1] != 2:
        raise ValueError(f"src must have shape (..., n, 2) of (x, y) points, got {src.shape}")
    if dst.ndim < 2 or dst.shape[-1] != 2:
        raise ValueError(f"dst must have shape (..., n, 2) of (x, y) points, got {dst.shape}")
    src, dst = np.broadcast_arrays(src, dst)
    n_points = src.shape[-2]
    need = {"similarity": 2, "affine": 3, "translation": 1}[transform]
    if n_points < need:
        raise ValueError(f"transform={transform!r} needs at least {need} point pairs, got {n_points}")
    mu_s = src.mean(axis=-2)
    mu_d = dst.mean(axis=-2)
    s = src - mu_s[..., None, :]
    d = dst - mu_d[..., None, :]
    if transform == "translation":
        lin = np.broadcast_to(np.eye(2), src.shape[:-2] + (2, 2)).copy()
    elif transform == "similarity":
        norm = (s**2).sum(axis=(-2, -1))
        if np.any(norm <= 1e-12):
            raise ValueError("the source points coincide; a similarity transform cannot be fitted")
        a = (s[..., 0] * d[..., 0] + s[..., 1] * d[..., 1]).sum(axis=-1) / norm
        b = (s[..., 0] * d[..., 1] - s[..., 1] * d[..., 0]).sum(axis=-1) / norm
        lin = np.stack([np.stack([a, -b], -1), np.stack([b, a], -1)], -2)
    else:
        sts = np.swapaxes(s, -1, -2) @ s  # (..., 2, 2)
        if np.any(np.abs(np.linalg.det(sts)) <= 1e-9 * np.maximum(np.trace(sts, axis1=-2, axis2=-1), 1e-12) ** 2):
            raise ValueError("the source points are collinear; an affine transform cannot be fitted (use 'similarity')")
        dts = np.swapaxes(d, -1, -2) @ s
        lin = dts @ np.linalg.inv(sts)
    shift = mu_d - (lin @ mu_s[..., None])[..., 0]
    return np.concatenate([lin, shift[..., None]], axis=-1)


def transform_points(points, matrix) -> np.ndarray:
    """Apply ``(2, 3)`` transform(s) to ``(x, y)`` points.

    ``points`` (..., n, 2) and ``matrix`` (..., 2, 3) broadcast over the leading dims, so a
    (time, 68, 2) landmark sequence and the (time, 2, 3) transforms of
    :func:`registration_transforms` give the registered landmarks.
    """
    pts = check_array("points", points).astype(np.float64)
    mat = check_array("matrix", matrix).astype(np.float64)
    if pts.ndim < 2 or pts.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., n, 2), got {pts.shape}")
    if mat.ndim < 2 or mat.shape[-2:] != (2, 3):
        raise ValueError(f"matrix must have shape (..., 2, 3), got {mat.shape}")
    return pts @ np.swapaxes(mat[..., :, :2], -1, -2) + mat[..., None, :, 2]


def _landmark_array(value, name: str = "landmarks") -> np.ndarray:
    arr = check_array(name, value.values if isinstance(value, xr.DataArray) else value, ndim=(2, 3))
    if arr.shape[-2:] != (68, 2):
        raise ValueError(f"{name} must have shape (68, 2) or (time, 68, 2) of (x, y) points, got {arr.shape}")
    return arr.astype(np.float64)


# --------------------------------------------------------------------------- warping
_CV_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


def _to_cv(arr: np.ndarray):
    """Cast to a dtype OpenCV warps/resizes, and a function casting results back."""
    if arr.dtype in _CV_DTYPES:
        return arr, lambda a: a
    dtype = arr.dtype
    work = arr.astype(np.float64)

    def back(a):
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return np.clip(np.rint(a), info.min, info.max).astype(dtype)
        if dtype == bool:
            return a >= 0.5
        return a.astype(dtype)

    return work, back


def _per_frame(values: np.ndarray, func) -> np.ndarray:
    """Apply an OpenCV frame function to every frame (and channel groups of <= 4)."""
    work, back = _to_cv(values)
    frames = []
    for frame in work:
        if frame.ndim == 3 and frame.shape[2] > 4:
            res = np.stack([func(np.ascontiguousarray(frame[..., c])) for c in range(frame.shape[2])], axis=-1)
        else:
            res = func(np.ascontiguousarray(frame))
            if frame.ndim == 3 and res.ndim == 2:
                res = res[..., None]
        frames.append(res)
    return back(np.stack(frames))


def register(cube: xr.DataArray, *, landmarks, reference=0, transform: str = "similarity",
             points: Sequence[int] = STABLE_POINTS) -> xr.DataArray:
    """Register every frame of a clip to a reference face by landmarks.

    For every frame a transform is fitted (least squares) that maps the frame's stable
    landmarks onto those of the reference; the frame is then warped with it
    (:func:`cv2.warpAffine`, bilinear interpolation, replicated border), so that the face
    sits where the reference face is in every frame.

    Parameters
    ----------
    cube : xarray.DataArray
        Grey or colour cube.
    landmarks : array_like or xarray.DataArray, shape (time, 68, 2)
        Landmarks of every frame, e.g. ``estimate_landmarks(cube, frames="all")`` or the
        ground truth of the synthetic corpus.
    reference : int or array_like of shape (68, 2)
        Position (index along ``time``) of the reference frame (default the first), or the
        landmarks of a reference face (e.g. a mean face shared by all clips).
    transform : {"similarity", "affine", "translation"}
        The model fitted (see :func:`fit_point_transform`); MDMO uses an affine map.
    points : sequence of int
        Landmark indices used for the fit; default :data:`STABLE_POINTS` (13 points of the
        nose and eye corners).

    Returns
    -------
    xarray.DataArray
        The registered cube with the input's dtype and metadata, plus
        ``attrs["registration_transforms"]`` (time, 2, 3): the matrix that maps each input
        frame's pixel coordinates to the registered ones (read it with
        :func:`registration_transforms`; apply it to landmarks with
        :func:`transform_points`), and ``attrs["registration_residual"]`` (time,): RMS
        distance in px between the transformed points and the reference points.

    Notes
    -----
    MDMO (Liu et al. 2016) fits an affine transform between the first frame's and the
    i-th frame's 13 feature points. A similarity is the default here because it cannot
    shear the face, which 13 noisy points may otherwise suggest.

    References
    ----------
    Y.-J. Liu et al., "A main directional mean optical flow feature for spontaneous
    micro-expression recognition", IEEE TAC 7(4) (2016), doi:10.1109/TAFFC.2015.2485205.

    Examples
    --------
    On the synthetic corpus, whose ground truth holds the landmarks of every frame:

    >>> from mer_lab.datasets.synthetic import make_corpus
    >>> corpus = make_corpus(n_subjects=1, clips_per_subject=1, drift=4)
    >>> cube, truth = corpus.cube(0), corpus.ground_truth(0)
    >>> out = register(cube, landmarks=truth["landmarks"])
    >>> registration_transforms(out).shape == (cube.sizes["time"], 2, 3)
    True

    With landmarks found by dlib: ``register(cube, landmarks=estimate_landmarks(cube,
    frames="all"))``.
    """
    import cv2

    validate_cube(cube)
    n = cube.sizes["time"]
    lms = _landmark_array(landmarks)
    if lms.ndim == 2 or lms.shape[0] != n:
        raise ValueError(
            f"landmarks must hold one (68, 2) set per frame, shape ({n}, 68, 2), got {lms.shape}; "
            "use estimate_landmarks(cube, frames='all')"
        )
    idx = np.asarray(list(points), dtype=np.int64)
    if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() > 67:
        raise ValueError(f"points must be landmark indices in 0..67, got {describe(points)}")
    if np.isscalar(reference) or (isinstance(reference, np.ndarray) and reference.ndim == 0):
        ref_pos = check_int("reference", reference, low=-n, high=n - 1)
        ref = lms[ref_pos]
    else:
        ref = _landmark_array(reference, "reference")
        if ref.ndim != 2:
            raise ValueError(f"reference must be a frame position or one (68, 2) landmark set, got shape {ref.shape}")
    mats = fit_point_transform(lms[:, idx], ref[idx][None], transform=transform)
    moved = transform_points(lms[:, idx], mats)
    residual = np.sqrt(((moved - ref[idx][None]) ** 2).sum(-1).mean(-1))
    h, w = cube.sizes["y"], cube.sizes["x"]
    values = cube.values
    out = np.empty_like(values)
    for i in range(n):
        out[i] = _per_frame(values[i : i + 1], lambda f, m=mats[i]: cv2.warpAffine(
            f, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))[0]
    return like(cube, out, **{_REGISTRATION_ATTR: mats, _REGISTRATION_RESIDUAL_ATTR: residual,
                              "registration": f"{transform} on landmarks {list(map(int, idx))}"})


def registration_transforms(cube: xr.DataArray) -> xr.DataArray:
    """The per-frame transforms :func:`register` applied, as a DataArray (time, row, col).

    ``M[i]`` (2, 3) maps pixel coordinates ``(x, y)`` of input frame ``i`` to the registered
    frame. Raises a ValueError if the cube was not registered or has been resampled in
    time since (the transforms then no longer match its frames).
    """
    validate_cube(cube)
    mats = cube.attrs.get(_REGISTRATION_ATTR)
    if mats is None:
        raise ValueError("the cube carries no registration transforms; it was not made by mer_lab.preprocess.register")
    mats = np.asarray(mats, np.float64)
    if mats.shape != (cube.sizes["time"], 2, 3):
        raise ValueError(f"the cube's registration transforms have shape {mats.shape}, not ({cube.sizes['time']}, 2, 3): "
                         "the clip was resampled after registration")
    return xr.DataArray(mats, dims=("time", "row", "col"),
                        coords={"time": cube["time"].values, "frame": ("time", cube["frame"].values)},
                        name="registration_transforms")


# --------------------------------------------------------------------------- cropping
def landmark_box(points, *, forehead: float = 0.25) -> np.ndarray:
    """A face box ``(x, y, w, h)`` around landmarks, raised to include the forehead.

    Takes the bounding box of the points (over all frames for a (time, 68, 2) sequence)
    and extends it upwards by ``forehead`` times its height: the 68 points stop at the
    brows, while micro-expressions also move the forehead (AU1, AU2).
    """
    pts = _landmark_array(points, "landmarks").reshape(-1, 2)
    forehead = check_number("forehead", forehead, low=0)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    h = y1 - y0
    y0 -= forehead * h
    return np.array([x0, y0, x1 - x0, y1 - y0], np.float64)


def crop_face(cube: xr.DataArray, *, box=None, margin: float = 0.1, size=None, method: str = "haar",
              frame: int = 0) -> xr.DataArray:
    """Crop a clip to the face with one box for all frames, optionally resized.

    Parameters
    ----------
    cube : xarray.DataArray
        Grey or colour cube.
    box : None, "detect", array_like of 4 numbers, or landmarks
        ``None`` or ``"detect"``: detect the face on frame ``frame`` with ``method``;
        ``(x, y, w, h)``: this box; landmarks (68, 2) or (time, 68, 2) (array or DataArray):
        the box of :func:`landmark_box` around them (over all frames).
    margin : float
        Fraction of the box's width/height added on each side (>= 0).
    size : int or (int, int), optional
        Output frame size: a side for square frames or ``(rows, cols)``; default: the
        box's own size. Resizing uses area averaging to shrink and bilinear to enlarge.
    method : {"haar", "lbp", "dlib"}
        Detector when the box is detected (see :func:`detect_faces`).
    frame : int
        Position of the frame the face is detected on.

    Returns
    -------
    xarray.DataArray
        The cropped cube (same dtype and metadata), with ``attrs["crop_box"]`` the box
        ``[x, y, w, h]`` cut from the input frames (margin included, in input pixels) and
        ``attrs["crop_scale"]`` ``[sx, sy]`` the resize factors (1 without ``size``); an
        input point ``(x, y)`` lands at ``((x - bx) * sx, (y - by) * sy)``.

    Notes
    -----
    One box for the whole clip keeps the face motion intact: cropping every frame around
    its own detection would add the detector's jitter to the clip. Parts of the box
    outside the frame are filled by repeating the border pixels. No face found raises a
    ValueError; several faces use the largest with a :class:`FaceDetectionWarning`.

    Examples
    --------
    >>> from mer_lab.datasets.synthetic import make_corpus
    >>> corpus = make_corpus(n_subjects=1, clips_per_subject=1)
    >>> cube, truth = corpus.cube(0), corpus.ground_truth(0)
    >>> out = crop_face(cube, box=truth["landmarks"].isel(time=0), size=(64, 56))
    >>> out.sizes["y"], out.sizes["x"], out.attrs["sample"] == cube.attrs["sample"]
    (64, 56, True)
    """
    import cv2

    validate_cube(cube)
    margin = check_number("margin", margin, low=0)
    n, h_img, w_img = cube.sizes["time"], cube.sizes["y"], cube.sizes["x"]
    if box is None or (isinstance(box, str) and box == "detect"):
        frame = check_int("frame", frame, low=0, high=n - 1)
        face = detect_face(cube.values[frame], method=method).astype(np.float64)
    elif isinstance(box, str):
        raise ValueError(f"box={box!r} is not accepted; pass None, 'detect', (x, y, w, h) or landmarks")
    else:
        arr = np.asarray(box.values if isinstance(box, xr.DataArray) else box)
        face = landmark_box(arr) if arr.ndim >= 2 else _check_box(arr)
    x, y, w, h = face
    x0 = int(np.floor(x - margin * w))
    y0 = int(np.floor(y - margin * h))
    x1 = int(np.ceil(x + w + margin * w))
    y1 = int(np.ceil(y + h + margin * h))
    if x1 <= 0 or y1 <= 0 or x0 >= w_img or y0 >= h_img:
        raise ValueError(f"the face box {[x0, y0, x1 - x0, y1 - y0]} (x, y, w, h) lies outside the {w_img}x{h_img} frames")
    values = cube.values
    pad = [(0, 0), (max(0, -y0), max(0, y1 - h_img)), (max(0, -x0), max(0, x1 - w_img))] + [(0, 0)] * (values.ndim - 3)
    if any(p != (0, 0) for p in pad):
        values = np.pad(values, pad, mode="edge")
    ys, xs = y0 + pad[1][0], x0 + pad[2][0]
    out = values[:, ys : ys + (y1 - y0), xs : xs + (x1 - x0)]
    scale = [1.0, 1.0]
    if size is not None:
        if np.isscalar(size):
            rows = cols = check_int("size", size, low=1)
        else:
            if len(size) != 2:
                raise ValueError(f"size must be an int or (rows, cols), got {describe(size)}")
            rows, cols = (check_int("size", s, low=1) for s in size)
        shrink = rows * cols < out.shape[1] * out.shape[2]
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        scale = [cols / out.shape[2], rows / out.shape[1]]
        out = _per_frame(out, lambda f: cv2.resize(f, (cols, rows), interpolation=interp))
    else:
        out = np.ascontiguousarray(out)
    return like(cube, out, crop_box=[x0, y0, x1 - x0, y1 - y0], crop_scale=scale)
