"""The 36 regions of interest (ROIs) of MDMO, built from 68 facial landmarks.

Liu et al. (2016) partition the face into 36 polygons, each covering the skin moved
by at least one action unit (AU), and compute one main-direction motion vector per
polygon. The paper built them from the 66 points of the DRMF landmark detector; here
they are rebuilt from the corresponding points of the iBUG-68 / dlib layout (the 68-point
layout adds the two inner mouth corners 60 and 64 and otherwise matches the 66-point
shape point for point). The face has no landmarks above the brows, so the polygons that
cover the lower forehead use brow points moved *upward* (perpendicular to the line
through the eye centres, towards the brows) by a fraction of the inter-ocular distance.

The landmarks of a clip come from :func:`clip_landmarks` (an array, the clip's
``attrs["landmarks"]``, dlib detection, or a callable such as :func:`corpus_landmarks`
for corpora with ground truth); MDMO, Sparse MDMO and the experiment layer resolve them
here.

Every ROI is defined for the subject's right half of the face (image left for a frontal
camera view; points 0-8, 17-21, 31-32, 36-41, 48-50, 58-60 ...) and mirrored to the left
half through the iBUG-68 left/right point correspondence, so the 36 ROIs are 18
symmetric pairs. Sides follow FACS (and the datasets' AU codes such as ``R12``): ``R``
is the subject's right, ``L`` the subject's left.

ROI table
---------
Vertices are landmark indices (0-based, iBUG-68 order) or derived points:
``up(i, f)`` is point ``i`` moved upward by ``f`` times the inter-ocular distance ``s``;
``mix(a, b, t)`` is the point ``a + t (b - a)`` on the segment from ``a`` to ``b``.
``F`` = :data:`BROW_OFFSET` (0.35 by default). Subject's right side shown; the left
side uses the mirrored indices (:data:`MIRROR_68`).

==  ==================  ==================================================  =========  =====================================
#   name                vertices (right side)                               AUs        facial area
==  ==================  ==================================================  =========  =====================================
1   inner_brow          21, 20, up(20,F), up(21,F)                          1, 4       lower forehead above the inner brow
3   mid_brow            20, 19, 18, up(18,F), up(19,F), up(20,F)            1, 2       lower forehead above the brow middle
5   outer_brow          18, 17, up(17,F), up(18,F)                          2          lower forehead above the brow tail
7   glabella            27, 21, up(21,F), mix(up(21,F), up(22,F), .5)       4          between the brows (half)
9   inner_lid_fold      21, 39, 38, 20                                      4, 7       inner skin between brow and upper lid
11  outer_lid_fold      20, 38, 37, 36, 17, 18, 19                          4, 7       outer skin between brow and upper lid
13  eye_corner          17, 36, mix(36,1,.5), 0                             6          outer eye corner (crow's feet)
15  lower_lid           36, 41, 40, 39, mix(39,31,.3), mix(36,3,.25)        6, 7       band under the lower lid
17  nose_side           27, 28, 29, mix(39,31,.3), 39                       9          side of the nasal bridge
19  infraorbital        mix(39,31,.3), 29, 30, 31, mix(36,3,.25)            6, 9       cheek below the eye, beside the nose
21  outer_cheek         0, mix(36,1,.5), mix(36,3,.25), 3, 2, 1             6, 12      lateral cheek (cheekbone)
23  nose_wing           31, 30, 32                                          9, 10      nostril wing and nose base
25  nasolabial          mix(36,3,.25), 31, 49, 48, 3                        10, 12     nasolabial fold, cheek above mouth
27  upper_lip           31, 32, 33, 51, 50, 49                              10, 11     upper lip skin beside the philtrum
29  lip_corner          48, 59, mix(48,5,.6), 4, 3                          12, 15     around the mouth corner
31  lower_lip           59, 58, 57, mix(57,8,.45), mix(59,6,.45)            16, 17     skin just below the lower lip
33  chin                mix(59,6,.45), mix(57,8,.45), 8, 7, 6               17         chin (half)
35  mouth_jaw           48, mix(48,5,.6), 5, 6, mix(59,6,.45), 59           15, 14     below the mouth corner, jaw line
==  ==================  ==================================================  =========  =====================================

ROI ``2k-1`` is the subject's right and ``2k`` the subject's left member of a pair;
:data:`ROI_NAMES` lists all 36 as ``"<name>_R"``, ``"<name>_L"``. The eyes themselves
and the red of the lips are left out (blinks and lip texture give large, unrelated
motion), as in the paper. The polygons are our reconstruction from the paper's
description (AU-based regions, 36 of them, none covering the eyes); the paper's own
figure numbers them differently.

References
----------
Liu, Y.-J., Zhang, J.-K., Yan, W.-J., Wang, S.-J., Zhao, G., Fu, X. (2016). A main
directional mean optical flow feature for spontaneous micro-expression recognition.
IEEE Transactions on Affective Computing 7(4), 299-310. doi:10.1109/TAFFC.2015.2485205
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from .._validate import check_array, check_choice, check_number, describe
from ..preprocess.face import STABLE_POINTS  # the one set, shared with register; chosen there by measurement

__all__ = [
    "BROW_OFFSET",
    "MIRROR_68",
    "ROI_SPECS",
    "ROI_NAMES",
    "ROI_AUS",
    "ROI_AREAS",
    "STABLE_POINTS",
    "check_landmarks",
    "clip_landmarks",
    "corpus_landmarks",
    "face_frame",
    "mdmo_rois",
    "roi_masks",
    "roi_label_image",
    "draw_rois",
    "template_landmarks",
]

#: Default upward offset of the forehead points, as a fraction of the inter-ocular distance.
BROW_OFFSET = 0.35


def _mirror_table() -> np.ndarray:
    m = np.arange(68)
    pairs = [(i, 16 - i) for i in range(8)]                       # jaw line
    pairs += [(17 + i, 26 - i) for i in range(5)]                  # brows
    pairs += [(31, 35), (32, 34)]                                   # nose base
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]     # outer lip
    pairs += [(60, 64), (61, 63), (65, 67)]                         # inner lip
    for a, b in pairs:
        m[a], m[b] = b, a
    return m


#: Index of each iBUG-68 point's mirror image across the facial midline.
MIRROR_68 = _mirror_table()



def _up(i):
    # the factor None stands for the ``brow_offset`` argument of :func:`mdmo_rois`
    return ("up", i, None)


def _mix(a, b, t):
    return ("mix", a, b, t)


_A = _mix(39, 31, 0.3)      # below the inner eye corner
_B = _mix(36, 3, 0.25)      # below the outer eye corner
_C = _mix(36, 1, 0.5)       # between outer eye corner and face contour
_D = _mix(59, 6, 0.45)      # below the lower lip, lateral
_E = _mix(57, 8, 0.45)      # below the lower lip, centre
_G = _mix(48, 5, 0.6)       # below-lateral of the mouth corner

# (name, AUs, facial area, vertices of the subject's right member)
_RIGHT = [
    ("inner_brow", (1, 4), "lower forehead above the inner brow", [21, 20, _up(20), _up(21)]),
    ("mid_brow", (1, 2), "lower forehead above the brow middle", [20, 19, 18, _up(18), _up(19), _up(20)]),
    ("outer_brow", (2,), "lower forehead above the brow tail", [18, 17, _up(17), _up(18)]),
    ("glabella", (4,), "between the brows (half)", [27, 21, _up(21), _mix(_up(21), _up(22), 0.5)]),
    ("inner_lid_fold", (4, 7), "inner skin between brow and upper lid", [21, 39, 38, 20]),
    ("outer_lid_fold", (4, 7), "outer skin between brow and upper lid", [20, 38, 37, 36, 17, 18, 19]),
    ("eye_corner", (6,), "outer eye corner (crow's feet)", [17, 36, _C, 0]),
    ("lower_lid", (6, 7), "band under the lower lid", [36, 41, 40, 39, _A, _B]),
    ("nose_side", (9,), "side of the nasal bridge", [27, 28, 29, _A, 39]),
    ("infraorbital", (6, 9), "cheek below the eye, beside the nose", [_A, 29, 30, 31, _B]),
    ("outer_cheek", (6, 12), "lateral cheek (cheekbone)", [0, _C, _B, 3, 2, 1]),
    ("nose_wing", (9, 10), "nostril wing and nose base", [31, 30, 32]),
    ("nasolabial", (10, 12), "nasolabial fold, cheek above the mouth", [_B, 31, 49, 48, 3]),
    ("upper_lip", (10, 11), "upper lip skin beside the philtrum", [31, 32, 33, 51, 50, 49]),
    ("lip_corner", (12, 15), "around the mouth corner", [48, 59, _G, 4, 3]),
    ("lower_lip", (16, 17), "skin just below the lower lip", [59, 58, 57, _E, _D]),
    ("chin", (17,), "chin (half)", [_D, _E, 8, 7, 6]),
    ("mouth_jaw", (14, 15), "below the mouth corner, jaw line", [48, _G, 5, 6, _D, 59]),
]


def _mirror_spec(v):
    if isinstance(v, (int, np.integer)):
        return int(MIRROR_68[v])
    if v[0] == "up":
        return ("up", _mirror_spec(v[1]), v[2])
    return ("mix", _mirror_spec(v[1]), _mirror_spec(v[2]), v[3])


def _build_specs():
    specs, names, aus, areas = [], [], [], []
    for name, au, area, verts in _RIGHT:
        for side, vs in (("R", verts), ("L", [_mirror_spec(v) for v in verts])):
            specs.append(vs)
            names.append(f"{name}_{side}")
            aus.append(au)
            areas.append(area + (" (subject's right)" if side == "R" else " (subject's left)"))
    return specs, names, aus, areas


_SPECS, _NAMES, _AUS, _AREAS = _build_specs()
#: Vertex specifications of the 36 ROIs (ints are landmark indices; see the module docs).
ROI_SPECS: tuple = tuple(tuple(s) for s in _SPECS)
#: Names of the 36 ROIs in feature order (pairs: subject's right then left).
ROI_NAMES: tuple[str, ...] = tuple(_NAMES)
#: Action units whose motion each ROI covers.
ROI_AUS: tuple[tuple[int, ...], ...] = tuple(_AUS)
#: Plain-language facial area of each ROI.
ROI_AREAS: tuple[str, ...] = tuple(_AREAS)


def check_landmarks(landmarks, *, name: str = "landmarks") -> np.ndarray:
    """Return ``landmarks`` as a float64 ``(68, 2)`` array of (x, y), or raise a ValueError."""
    arr = check_array(name, landmarks, ndim=2, dtype=np.float64)
    if arr.shape != (68, 2):
        raise ValueError(f"{name} must have shape (68, 2) (iBUG-68 points as x, y), got shape {arr.shape}")
    return arr


def face_frame(landmarks) -> tuple[float, np.ndarray]:
    """Scale and upward direction of a face.

    Returns
    -------
    scale : float
        Distance (px) between the two eye centres (means of points 36-41 and 42-47).
    up : ndarray, shape (2,)
        Unit (x, y) vector perpendicular to the line through the eye centres, pointing
        from the mouth towards the brows (so it stays correct for tilted faces).
    """
    pts = check_landmarks(landmarks)
    right_eye, left_eye = pts[36:42].mean(0), pts[42:48].mean(0)
    axis = left_eye - right_eye
    scale = float(np.hypot(*axis))
    if not scale > 0:
        raise ValueError("landmarks: the two eye centres coincide; these are not face landmarks")
    up = np.array([axis[1], -axis[0]]) / scale
    if np.dot(up, pts[17:27].mean(0) - pts[48:68].mean(0)) < 0:
        up = -up
    return scale, up


def _resolve(v, pts, scale, up, offset):
    if isinstance(v, (int, np.integer)):
        return pts[v]
    if v[0] == "up":
        f = offset if v[2] is None else v[2]
        return _resolve(v[1], pts, scale, up, offset) + f * scale * up
    a, b = _resolve(v[1], pts, scale, up, offset), _resolve(v[2], pts, scale, up, offset)
    return a + v[3] * (b - a)


def mdmo_rois(landmarks, *, brow_offset: float = BROW_OFFSET) -> list[np.ndarray]:
    """The 36 MDMO regions of interest as polygons.

    Parameters
    ----------
    landmarks : array_like, shape (68, 2)
        iBUG-68 / dlib facial landmarks as (x, y) pixel coordinates.
    brow_offset : float
        How far above the brows the forehead ROIs reach, as a fraction of the
        inter-ocular distance (default 0.35, about the height of a brow above the eye).

    Returns
    -------
    list of 36 ndarray, each shape (k, 2), float64
        Polygon vertices (x, y) in the order of :data:`ROI_NAMES`.

    Notes
    -----
    See the module documentation for the table of ROIs, their landmarks, the AUs and the
    facial areas they cover. Vertices may fall outside the image for faces at the
    border; :func:`roi_masks` clips them.

    Examples
    --------
    >>> from mer_lab.features.rois import mdmo_rois, template_landmarks, ROI_NAMES
    >>> polys = mdmo_rois(template_landmarks())
    >>> len(polys), ROI_NAMES[0], polys[0].shape
    (36, 'inner_brow_R', (4, 2))
    """
    pts = check_landmarks(landmarks)
    brow_offset = check_number("brow_offset", brow_offset, low=0, high=2)
    scale, up = face_frame(pts)
    return [np.array([_resolve(v, pts, scale, up, brow_offset) for v in spec], dtype=np.float64)
            for spec in ROI_SPECS]


def _check_shape(shape):
    try:
        h, w = (int(s) for s in tuple(shape))
    except (TypeError, ValueError):
        raise ValueError(f"shape must be the image size (H, W), got {describe(shape)}") from None
    if h < 1 or w < 1:
        raise ValueError(f"shape must be positive (H, W), got {describe(shape)}")
    return h, w


def roi_masks(landmarks, shape, *, brow_offset: float = BROW_OFFSET) -> np.ndarray:
    """Boolean masks of the 36 ROIs, rasterised with ``cv2.fillPoly``.

    Parameters
    ----------
    landmarks : array_like, shape (68, 2)
        Facial landmarks (x, y) in pixels.
    shape : tuple (H, W)
        Image size (rows, columns).
    brow_offset : float
        See :func:`mdmo_rois`.

    Returns
    -------
    ndarray, shape (36, H, W), bool
        One mask per ROI (ROIs may touch; a pixel on a shared edge may belong to both).
        Polygons are filled with sub-pixel vertex precision (4 fractional bits).

    Examples
    --------
    >>> from mer_lab.features.rois import roi_masks, template_landmarks
    >>> masks = roi_masks(template_landmarks(), (120, 120))
    >>> masks.shape, bool(masks.any(axis=(1, 2)).all())
    ((36, 120, 120), True)
    """
    import cv2

    h, w = _check_shape(shape)
    polys = mdmo_rois(landmarks, brow_offset=brow_offset)
    out = np.zeros((len(polys), h, w), dtype=np.uint8)
    for k, poly in enumerate(polys):
        pts = np.round(poly * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(out[k], [pts], 1, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


def roi_label_image(landmarks, shape, *, brow_offset: float = BROW_OFFSET) -> np.ndarray:
    """An ``(H, W)`` int image: 0 outside the ROIs, ``k + 1`` inside ROI ``k``
    (where ROIs overlap, the later one wins). Handy for figures."""
    masks = roi_masks(landmarks, shape, brow_offset=brow_offset)
    labels = np.zeros(masks.shape[1:], np.int32)
    for k in range(masks.shape[0]):
        labels[masks[k]] = k + 1
    return labels


def _palette(n: int) -> np.ndarray:
    import colorsys

    cols = [colorsys.hsv_to_rgb((0.13 + 0.618034 * k) % 1.0, 0.75, 0.95) for k in range(n)]
    return (np.array(cols) * 255).astype(np.uint8)


def draw_rois(image, landmarks, *, brow_offset: float = BROW_OFFSET, alpha: float = 0.35,
              numbers: bool = True, points: bool = True, scale: int = 1) -> np.ndarray:
    """Draw the 36 ROIs over a face: a teaching figure as an RGB array.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
        The face (grey or RGB; any numeric dtype, rescaled to 0-255 for display).
    landmarks : array_like, shape (68, 2)
        Its landmarks (x, y).
    brow_offset : float
        See :func:`mdmo_rois`.
    alpha : float
        Opacity of the filled ROIs (0 = outlines only).
    numbers : bool
        Write each ROI's number (1-36, the order of :data:`ROI_NAMES`) at its centre.
    points : bool
        Mark the 68 landmarks (the 13 stable alignment points in white).
    scale : int
        Upsampling factor of the figure (small faces read better at 2-4).

    Returns
    -------
    ndarray, shape (H * scale, W * scale, 3), uint8
        RGB image; show it with ``holoviews.RGB(img)`` or save it with OpenCV.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.features.rois import draw_rois, template_landmarks
    >>> img = draw_rois(np.zeros((120, 120)), template_landmarks(), scale=2)
    >>> img.shape, img.dtype
    ((240, 240, 3), dtype('uint8'))
    """
    import cv2

    pts = check_landmarks(landmarks)
    alpha = check_number("alpha", alpha, low=0, high=1)
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {describe(scale)}")
    img = check_array("image", image, ndim=(2, 3)).astype(np.float64)
    if img.ndim == 3 and img.shape[2] not in (3, 4):
        raise ValueError(f"image must be (H, W) grey or (H, W, 3) RGB, got shape {img.shape}")
    if img.ndim == 3:
        img = img[..., :3]
    lo, hi = float(img.min()), float(img.max())
    img = (img - lo) / (hi - lo) * 255 if hi > lo else np.full_like(img, 128.0)
    img = img.astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if scale > 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    img = np.ascontiguousarray(img)
    polys = [p * scale for p in mdmo_rois(pts, brow_offset=brow_offset)]
    colours = _palette(len(polys))
    ints = [np.round(p * 16).astype(np.int32).reshape(-1, 1, 2) for p in polys]
    if alpha > 0:
        fill = img.copy()
        for poly, col in zip(ints, colours):
            cv2.fillPoly(fill, [poly], tuple(int(c) for c in col), lineType=cv2.LINE_AA, shift=4)
        img = cv2.addWeighted(fill, alpha, img, 1 - alpha, 0)
    for poly, col in zip(ints, colours):
        cv2.polylines(img, [poly], True, tuple(int(c) for c in col), 1, lineType=cv2.LINE_AA, shift=4)
    if points:
        stable = set(STABLE_POINTS)
        for i, (x, y) in enumerate(pts * scale):
            col = (255, 255, 255) if i in stable else (255, 60, 60)
            cv2.circle(img, (int(round(x * 16)), int(round(y * 16))), 16 * max(1, scale // 2), col,
                       -1, lineType=cv2.LINE_AA, shift=4)
    if numbers:
        font_scale = 0.25 * max(1, scale) / 1.5
        for k, poly in enumerate(polys):
            cx, cy = poly.mean(0)
            text = str(k + 1)
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            cv2.putText(img, text, (int(cx - tw / 2), int(cy + th / 2)), cv2.FONT_HERSHEY_SIMPLEX,
                        font_scale, (0, 0, 0), 1, lineType=cv2.LINE_AA)
    return img


def template_landmarks(size: int = 120) -> np.ndarray:
    """A plausible frontal iBUG-68 face filling a ``size`` x ``size`` image.

    A hand-made, mean-like shape (not measured from any photograph) for examples,
    figures and tests. Returns a float64 ``(68, 2)`` array of (x, y).
    """
    size = check_number("size", size, low=8)
    return np.array(_TEMPLATE, dtype=np.float64) * (size / 128.0)


# A mean-like frontal iBUG-68 shape in a 128x128 frame (made for examples; not measured
# from any photograph).
_TEMPLATE = [
    [22, 44], [23, 56], [25, 68], [27, 80], [31, 91], [38, 101], [47, 109], [57, 115], [64, 117],
    [71, 115], [81, 109], [90, 101], [97, 91], [101, 80], [103, 68], [105, 56], [106, 44],
    [30, 34], [36, 30], [43, 29], [50, 30], [57, 33], [71, 33], [78, 30], [85, 29], [92, 30],
    [98, 34], [64, 43], [64, 51], [64, 58], [64, 66], [56, 71], [60, 72], [64, 73], [68, 72],
    [72, 71], [38, 44], [43, 41], [49, 41], [54, 45], [49, 46], [43, 46], [74, 45], [79, 41],
    [85, 41], [90, 44], [85, 46], [79, 46], [50, 87], [55, 84], [60, 82], [64, 83], [68, 82],
    [73, 84], [78, 87], [73, 92], [68, 94], [64, 95], [60, 94], [55, 92], [52, 87], [60, 86],
    [64, 86], [68, 86], [76, 87], [68, 89], [64, 90], [60, 89],
]


# --------------------------------------------------------------------------- landmarks of a clip
def _landmark_value(value, name) -> np.ndarray:
    if isinstance(value, xr.DataArray):
        value = value.values
    arr = np.asarray(value, dtype=np.float64)
    if arr.size % 136 != 0 or arr.size == 0:
        raise ValueError(f"{name} must hold (68, 2) or (T, 68, 2) landmarks, got shape {arr.shape}")
    return check_landmarks(arr.reshape(-1, 68, 2)[0], name=name)


def clip_landmarks(cube, landmarks="auto") -> np.ndarray:
    """The ``(68, 2)`` landmarks of a clip's first frame (where MDMO places its ROIs).

    Parameters
    ----------
    cube : xarray.DataArray
        A cube (or a flow sequence carrying landmarks in ``attrs``).
    landmarks : array_like, {"auto", "attrs", "detect"}, None or callable
        * an array ``(68, 2)`` (or ``(T, 68, 2)``, of which the first frame is used);
        * ``"attrs"``: ``cube.attrs["landmarks"]`` (same shapes; may be flattened);
        * ``"detect"``: dlib's 68-point model on the first frame
          (:func:`mer_lab.preprocess.face.landmarks`; optional extra ``mer_lab[faces]``);
        * ``"auto"`` (or ``None``): ``"attrs"`` when present, otherwise ``"detect"``;
        * a callable ``f(cube) -> (68, 2)``, e.g. :func:`corpus_landmarks`.

    Returns
    -------
    ndarray, shape (68, 2), float64
    """
    if landmarks is None:
        landmarks = "auto"
    if callable(landmarks):
        return _landmark_value(landmarks(cube), "landmarks (returned by the callable)")
    if isinstance(landmarks, str):
        check_choice("landmarks", landmarks, ("auto", "attrs", "detect"))
        attrs = getattr(cube, "attrs", {}) or {}
        if landmarks in ("auto", "attrs") and attrs.get("landmarks") is not None:
            return _landmark_value(attrs["landmarks"], "cube.attrs['landmarks']")
        if landmarks == "attrs":
            raise ValueError(f"landmarks='attrs' but clip {attrs.get('sample')!r} has no 'landmarks' "
                             "attribute; pass an array, a callable (e.g. corpus_landmarks(corpus)) or 'detect'")
        if not isinstance(cube, xr.DataArray) or "component" in cube.dims:
            raise ValueError("landmarks='detect' needs a cube of frames; a precomputed flow must come "
                             "with landmarks (an array or attrs['landmarks'])")
        try:
            from ..preprocess.face import landmarks as detect
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("landmark detection needs mer_lab.preprocess.face and dlib "
                              "(pip install 'mer_lab[faces]'), or pass landmarks explicitly") from exc
        return check_landmarks(detect(np.asarray(cube.isel(time=0).values)), name="detected landmarks")
    return _landmark_value(landmarks, "landmarks")


def corpus_landmarks(corpus) -> Callable:
    """A ``landmarks`` callable reading a corpus's ground-truth landmarks.

    For cubes loaded from ``corpus`` (with ``dataset`` and ``sample`` attrs), the callable
    returns the ground-truth landmarks (``corpus.ground_truth(uid)["landmarks"]``) at the
    cube's first frame (matched by frame number when the ground truth has a ``frame``
    coordinate, otherwise its first time step). Works for the synthetic corpus, whose
    ground truth carries landmarks.

    Examples
    --------
    >>> # MDMO(landmarks=corpus_landmarks(corpus)).fit_transform(list(corpus.cubes()))
    """
    def lookup(cube):
        uid = f"{cube.attrs.get('dataset')}/{cube.attrs.get('sample')}"
        truth = corpus.ground_truth(uid)
        if truth is None or "landmarks" not in truth:
            raise ValueError(f"the corpus has no ground-truth landmarks for {uid!r}")
        lm = truth["landmarks"]
        if "time" in lm.dims:
            first = int(cube["frame"].values[0]) if "frame" in cube.coords else None
            if first is not None and "frame" in lm.coords:
                frames = np.asarray(lm["frame"].values)
                pos = np.flatnonzero(frames == first)
                lm = lm.isel(time=int(pos[0]) if pos.size else 0)
            else:
                lm = lm.isel(time=0)
        if "coord" in lm.dims:
            lm = lm.transpose(..., "coord")
        return np.asarray(lm.values, dtype=np.float64)

    return lookup
