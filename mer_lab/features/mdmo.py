"""Main directional mean optical flow (MDMO; Liu et al. 2016).

MDMO describes a clip by one motion vector per facial region of interest (ROI): the
mean of the flow vectors that point in the region's *main direction*.

Algorithm (clip of frames ``f_1 .. f_m``)
-----------------------------------------
1. Optical flow ``V_i`` from the first frame ``f_1`` to every frame ``f_i``
   (``i = 2 .. m``; :func:`mer_lab.features.flow.flow_sequence` with
   ``reference="first"``). All flows live on the pixel grid of ``f_1``, so one set of
   landmarks, found on ``f_1``, places the 36 ROIs (:mod:`mer_lab.features.rois`) for
   every ``i``.
2. Alignment in the optical-flow domain (``align="affine"``): head motion between ``f_1``
   and ``f_i`` is modelled as an affine map ``A_i``. It is fitted by least squares to the
   13 stable landmarks ``p_j`` (:data:`~mer_lab.preprocess.face.STABLE_POINTS`: nasal
   bridge, nose base and the inner and outer eye corners; our choice, as the paper's
   figure of its 13 DRMF points cannot be matched point for point; the same points
   register frames in :func:`mer_lab.preprocess.face.register`, and the comment there
   gives the measurement behind them)
   and the positions the flow moves them to, ``p_j + V_i(p_j)`` (the flow is averaged
   over a small window around each point; :func:`mer_lab.features.flow.fit_motion`, the
   library's one flow-domain motion fit). ``align="translation"`` fits a shift only,
   ``align="none"`` skips the step. The head-motion field ``A_i x - x`` is then subtracted from
   ``V_i`` everywhere. The paper fits the transform on the same 13 points and aligns the
   frames before the flow is taken; removing it from the flow is the first-order
   equivalent and costs no second flow computation.
3. Per ROI ``R_k`` and frame ``i``: an 8-bin histogram of the flow directions, the bins
   centred on the canonical directions (bin ``b`` covers ``[(b - 1/2) pi/4, (b + 1/2)
   pi/4)``, so bin 0 is centred on 0: right, down, left and up each fall in the middle of
   a bin, as in the MDMO reference code, and a pure motion with a little noise is not
   split between two bins); the *main direction* is the bin holding the
   most vectors (ties: the lowest bin). The ROI's per-frame feature
   ``u_k^i = (rho_k^i, theta_k^i)`` is the mean of the vectors in that bin: ``rho`` the
   mean magnitude and ``theta`` the circular mean of their angles,
   ``atan2(sum sin, sum cos)``, which stays right when a bin straddles the 0 / 2 pi
   wrap (an arithmetic mean of 0.1 and 2 pi - 0.1 would give pi).
4. Frames are averaged as vectors: ``ubar_k = mean_i rho_k^i (cos theta_k^i,
   sin theta_k^i)``, so each frame's angle is weighted by its magnitude ``rho`` (never
   by ``theta``); ``rhobar_k = |ubar_k|``, ``thetabar_k = arg ubar_k`` in [0, 2 pi).
5. Magnitudes are normalised by their maximum over the 36 ROIs,
   ``rhotilde_k = rhobar_k / max_j rhobar_j``, which removes the scale of the
   expression (intensity, face size, frame rate) and keeps its spatial pattern.
6. The vector interleaves magnitude and angle per ROI (72-d, the paper's; see "Angle
   encoding" for the 108-d default) and weights them with
   ``lam``: ``(lam rhotilde_1, (1 - lam) thetabar_1, ..., lam rhotilde_36,
   (1 - lam) thetabar_36)``.

Angle encoding
--------------
The paper's vector holds the mean angle ``thetabar`` in [0, 2 pi) as a plain
coordinate, so 1 deg and 359 deg, nearly the same direction, are as far apart as two
angles can be, and an ROI whose motion points about "right" (0 deg in image axes) jumps
between the two ends of the range from clip to clip. ``angle="circular"`` (the default)
replaces ``thetabar`` by ``(cos thetabar, sin thetabar)``, 108 values instead of 72;
``angle="linear"`` is the paper's vector. The default was chosen by LOSO macro F1
(standardised features, RBF SVM, 12 subjects, 120 clips, TIM 10) on a synthetic corpus
that no figure in the documentation is reported on (``make_corpus(seed=7)``):
Farneback flow 0.567 (linear) -> 0.687 (circular), DIS flow 0.437 -> 0.476 (measured
when alignment used the face contour as stable points, before the one set of
:data:`~mer_lab.preprocess.face.STABLE_POINTS`).

How ``lam`` enters
------------------
Liu et al. balance the magnitude part and the angle part of MDMO features by a convex
combination with weight ``lambda`` (the thesis uses ``lambda = 0.9`` for every dataset
and calls it "a weight between the convex combination of the magnitude and angle"):
the distance between two MDMO features is ``lambda sum_k |rho_k - rho'_k| +
(1 - lambda) sum_k |theta_k - theta'_k|``. Scaling the components as in step 6 makes
the L1 distance between two of our vectors exactly that combination, and gives an SVM
the same balance (with ``lam = 0.9`` both parts span similar ranges: ``lam rhotilde``
in [0, 0.9] and ``(1 - lam) theta`` in [0, 0.63)). ``lam=None`` returns the unweighted
``(rhotilde, thetabar)`` pairs. Note that standardising features downstream (e.g.
``StandardScaler``) undoes any per-part weight; the thesis's polynomial-kernel SVM was
applied to the weighted vector directly. We could not check the original papers' text
on where exactly ``lambda`` is applied; this placement reproduces the stated convex
combination.

Angles follow the library's flow convention (image axes, ``v`` down): ``theta =
atan2(v, u)`` is 0 for motion to the right, pi/2 down, pi left, 3 pi/2 up, growing
clockwise on the screen (as in :mod:`mer_lab.features.hoof`).

References
----------
Liu, Y.-J., Zhang, J.-K., Yan, W.-J., Wang, S.-J., Zhao, G., Fu, X. (2016). A main
directional mean optical flow feature for spontaneous micro-expression recognition.
IEEE Transactions on Affective Computing 7(4), 299-310. doi:10.1109/TAFFC.2015.2485205
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, TransformerMixin

from .._validate import check_array, check_choice, check_int, check_number, describe
from ..cache import resolve_cache
from ..cube import META_KEYS, validate_cube
from .base import CubeFeatures
from .flow.align import MOTION_MODELS, fit_motion, motion_field
from .rois import BROW_OFFSET, ROI_NAMES, STABLE_POINTS, check_landmarks, clip_landmarks, roi_masks

__all__ = [
    "MDMO_CODE_VERSION",
    "QUANTITIES",
    "ANGLES",
    "ANGLE_DEFAULT",
    "ALIGNS",
    "direction_bins",
    "main_directions",
    "affine_from_flow",
    "align_flow",
    "mdmo_frames",
    "mdmo_pool",
    "mdmo",
    "mdmo_names",
    "MDMO",
    "MDMOFromFrames",
    "as_frames_array",
]

#: Bumped whenever a change here changes computed MDMO values (part of cache keys).
MDMO_CODE_VERSION = "3"

#: The two quantities of each ROI's motion vector.
QUANTITIES = ("rho", "theta")

#: Encodings of the mean direction in the pooled MDMO vector (module docs).
ANGLES = ("linear", "circular")

#: The default encoding of MDMO, chosen by measurement (module docs, "Angle encoding").
ANGLE_DEFAULT = "circular"

_TWO_PI = 2 * np.pi
_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

#: Accepted values of ``align``: no alignment, or the head-motion model removed.
ALIGNS = ("none",) + MOTION_MODELS


def _check_align(align) -> str:
    if isinstance(align, (bool, np.bool_)):
        raise ValueError(f"align must be one of {', '.join(map(repr, ALIGNS))}, got {align!r}: the flag became a "
                         f"choice of motion model; use align={'affine' if align else 'none'!r} "
                         f"(align=True is now align='affine', align=False is align='none')")
    return check_choice("align", align, ALIGNS)


# --------------------------------------------------------------------------- kernels
def _flows_array(flows, name="flows") -> np.ndarray:
    arr = check_array(name, flows, ndim=(3, 4))
    if arr.ndim == 3:
        arr = arr[None]
    if arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (2, H, W) or (T, 2, H, W) (u, v), got shape {arr.shape}")
    return arr


def direction_bins(theta, n_bins: int = 8) -> np.ndarray:
    """Direction bin of each angle, the bins centred on the canonical directions.

    Bin ``b`` covers ``[(b - 1/2), (b + 1/2)) * 2 pi / n_bins``: with 8 bins, bin 0 is
    centred on 0 (right), bin 2 on pi/2 (down in image axes), bin 4 on pi (left), bin 6
    on 3 pi/2 (up). A bin edge on a canonical direction (``floor(theta n / 2 pi)``) would
    split a pure motion with a little noise between two bins.

    Parameters
    ----------
    theta : array_like
        Angles in radians (any range; taken modulo 2 pi).
    n_bins : int
        Bins over the full circle.

    Returns
    -------
    ndarray of int64, same shape as ``theta``, values in ``0 .. n_bins - 1``

    Examples
    --------
    >>> import numpy as np
    >>> direction_bins(np.deg2rad([0, 20, 25, 90, 350])).tolist()
    [0, 0, 1, 2, 0]
    """
    n_bins = check_int("n_bins", n_bins, low=1)
    t = np.mod(np.asarray(theta, dtype=np.float64) + np.pi / n_bins, _TWO_PI)
    return np.minimum((t * (n_bins / _TWO_PI)).astype(np.int64), n_bins - 1)


def main_directions(flows, masks, *, n_bins: int = 8) -> np.ndarray:
    """Main-direction mean flow vector of every ROI in every flow field.

    Parameters
    ----------
    flows : array_like, shape (T, 2, H, W) or (2, H, W)
        Flow fields (u, v) in pixels.
    masks : array_like of bool, shape (R, H, W)
        ROI masks (e.g. :func:`mer_lab.features.rois.roi_masks`).
    n_bins : int
        Direction bins over the full circle, centred on the canonical directions: bin
        ``b`` covers ``[b - 1/2, b + 1/2) * 2 pi / n_bins`` (:func:`direction_bins`).

    Returns
    -------
    ndarray, shape (T, R, 2), float64
        ``[..., 0]`` = ``rho``, the mean magnitude (px) of the vectors in the bin holding
        the most vectors; ``[..., 1]`` = ``theta``, the circular mean of their angles in
        [0, 2 pi). An empty ROI gives (0, 0).

    Notes
    -----
    Ties between bins go to the lowest bin. A zero vector has angle 0 (``atan2(0, 0)``)
    and counts in bin 0, as in a plain histogram of ``atan2`` angles.

    Examples
    --------
    >>> import numpy as np
    >>> flow = np.zeros((2, 4, 4)); flow[0] = 1.0; flow[1, :, :3] = 1.0   # 12 px down-right, 4 right
    >>> out = main_directions(flow, np.ones((1, 4, 4), bool))
    >>> round(float(out[0, 0, 0]), 4), round(float(np.degrees(out[0, 0, 1])), 1)
    (1.4142, 45.0)
    """
    f = _flows_array(flows).astype(np.float64, copy=False)
    n_bins = check_int("n_bins", n_bins, low=1)
    m = np.asarray(masks)
    if m.ndim != 3 or m.shape[1:] != f.shape[2:]:
        raise ValueError(f"masks must have shape (R, H, W) matching the flows' {f.shape[2:]}, got shape {m.shape}")
    m = m.astype(bool, copy=False)
    t, r = f.shape[0], m.shape[0]
    out = np.zeros((t, r, 2))
    sizes = m.reshape(r, -1).sum(1)
    if sizes.sum() == 0:
        return out
    pix = np.concatenate([np.flatnonzero(mk) for mk in m.reshape(r, -1)])
    roi_of = np.repeat(np.arange(r), sizes)
    u = f[:, 0].reshape(t, -1)[:, pix]
    v = f[:, 1].reshape(t, -1)[:, pix]
    ang = np.mod(np.arctan2(v, u), _TWO_PI)
    mag = np.hypot(u, v)
    b = direction_bins(ang, n_bins)
    frame_off = (np.arange(t) * r)[:, None]
    cell = frame_off + roi_of[None, :]                      # (T, P): frame-ROI cell
    counts = np.bincount((cell * n_bins + b).ravel(), minlength=t * r * n_bins).reshape(t, r, n_bins)
    main = counts.argmax(axis=2)                            # (T, R)
    n_main = np.take_along_axis(counts, main[..., None], axis=2)[..., 0]
    sel = (b == main[:, roi_of]).ravel()
    cells = cell.ravel()[sel]
    sum_mag = np.bincount(cells, weights=mag.ravel()[sel], minlength=t * r).reshape(t, r)
    sum_cos = np.bincount(cells, weights=np.cos(ang).ravel()[sel], minlength=t * r).reshape(t, r)
    sum_sin = np.bincount(cells, weights=np.sin(ang).ravel()[sel], minlength=t * r).reshape(t, r)
    ok = n_main > 0
    out[..., 0] = np.where(ok, sum_mag / np.maximum(n_main, 1), 0.0)
    out[..., 1] = np.where(ok, np.mod(np.arctan2(sum_sin, sum_cos), _TWO_PI), 0.0)
    out[..., 1][out[..., 1] >= _TWO_PI] = 0.0
    return out


def affine_from_flow(flow, points, *, radius: int = 2, model: str = "affine") -> np.ndarray:
    """Least-squares affine map taking ``points`` to where ``flow`` moves them.

    The fit is the library's one flow-domain motion fit,
    :func:`mer_lab.features.flow.fit_motion` (plain least squares on the flow sampled by
    :func:`mer_lab.features.flow.sample_flow`), returned as a point map.

    Parameters
    ----------
    flow : array_like, shape (2, H, W)
        Flow (u, v) from the frame in which ``points`` were found.
    points : array_like, shape (n, 2)
        (x, y) positions; points outside the image are ignored.
    radius : int
        The flow at a point is averaged over a ``(2 radius + 1)^2`` window centred on
        the point's nearest pixel (and the fit uses the window's centroid), so an
        affine flow is recovered exactly.
    model : {"affine", "translation"}
        ``"translation"`` fits a shift only (``A[:, :2]`` is the identity).

    Returns
    -------
    ndarray, shape (2, 3)
        ``A`` with ``[x', y'] = A @ [x, y, 1]``.

    Raises
    ------
    ValueError
        If fewer points than the model needs (3 for an affine map) lie inside the image.
    """
    f = _flows_array(flow, "flow")[0]
    D = fit_motion(f, model=model, points=check_array("points", points, ndim=2, dtype=np.float64),
                   radius=radius, iterations=1)
    return D + _IDENTITY


def align_flow(flows, landmarks, *, points=STABLE_POINTS, radius: int = 2, model: str = "affine"):
    """Remove head motion from flow fields (MDMO's alignment in the optical-flow domain).

    Parameters
    ----------
    flows : array_like, shape (2, H, W) or (T, 2, H, W)
        Flows from the reference frame (where ``landmarks`` were found) to later frames.
    landmarks : array_like, shape (68, 2)
        Landmarks (x, y) of the reference frame.
    points : sequence of int
        Landmarks that expressions leave (nearly) still; default the 13 points of
        :data:`~mer_lab.preprocess.face.STABLE_POINTS`.
    radius : int
        Window radius (px) over which the flow at each point is averaged.
    model : {"affine", "translation"}
        The head-motion model (:func:`affine_from_flow`).

    Returns
    -------
    aligned : ndarray, same shape as ``flows``, float32
        ``V(x) - (A x - x)`` for every pixel ``x``.
    affine : ndarray, shape (2, 3) or (T, 2, 3)
        The fitted head motion ``A`` of each flow.

    Notes
    -----
    A flow that is exactly affine (a pure head translation, rotation, scaling or shear)
    becomes zero; motion elsewhere in the face is kept, up to how much of it the stable
    points share.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.features.rois import template_landmarks
    >>> flow = np.zeros((2, 120, 120), np.float32); flow[0] += 1.5; flow[1] -= 0.5  # head shift
    >>> aligned, A = align_flow(flow, template_landmarks())
    >>> float(np.abs(aligned).max()) < 1e-5, np.round(A[:, 2], 3).tolist()
    (True, [1.5, -0.5])
    """
    arr = check_array("flows", flows, ndim=(3, 4))
    single = arr.ndim == 3
    f = _flows_array(arr).astype(np.float64, copy=False)
    lm = check_landmarks(landmarks)
    idx = np.asarray(points, dtype=int)
    if idx.ndim != 1 or idx.size < 3 or idx.min() < 0 or idx.max() > 67:
        raise ValueError(f"points must be at least 3 landmark indices in 0..67, got {describe(points)}")
    check_choice("model", model, MOTION_MODELS)
    out = np.empty(f.shape, np.float32)
    affines = np.empty((f.shape[0], 2, 3))
    for i in range(f.shape[0]):
        a = affine_from_flow(f[i], lm[idx], radius=radius, model=model)
        affines[i] = a
        out[i] = f[i] - motion_field(a - _IDENTITY, f.shape[2:])
    return (out[0], affines[0]) if single else (out, affines)


def mdmo_pool(frames, *, lam: float | None = 0.9, angle: str = ANGLE_DEFAULT) -> np.ndarray:
    """The MDMO vector from per-frame main directions (steps 4-6 of the module docs).

    Parameters
    ----------
    frames : array_like or DataArray, shape (T, 36, 2)
        Per-frame ``(rho, theta)`` of each ROI (:func:`mdmo_frames`).
    lam : float in [0, 1] or None
        Weight of the magnitudes; the angle part gets ``1 - lam``. ``None``: unweighted.
    angle : {"linear", "circular"}
        How each ROI's mean direction enters the vector (module docs, "Angle encoding"):
        ``"linear"`` the angle ``thetabar`` in [0, 2 pi) as in the paper (72 values), or
        ``"circular"`` its cosine and sine (108 values), so that directions either side
        of 0 are close.

    Returns
    -------
    ndarray, shape (72,) or (108,), float64
        ``"linear"``: ``(lam rhotilde_k, (1-lam) thetabar_k)`` per ROI; ``"circular"``:
        ``(lam rhotilde_k, (1-lam) cos thetabar_k, (1-lam) sin thetabar_k)`` per ROI (an
        ROI without motion gets cos = sin = 0).

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.zeros((2, 36, 2))
    >>> frames[:, 0] = [[1.0, 0.1], [1.0, 2 * np.pi - 0.1]]   # ROI 1 wraps around 0
    >>> frames[:, 1] = [[0.5, 1.0], [0.5, 1.0]]
    >>> v = mdmo_pool(frames, lam=None, angle="linear")
    >>> np.round(v[:4], 3).tolist()
    [1.0, 0.0, 0.503, 1.0]
    >>> np.round(mdmo_pool(frames, lam=None, angle="circular")[:3], 3).tolist()
    [1.0, 1.0, 0.0]
    """
    arr = frames.values if isinstance(frames, xr.DataArray) else frames
    arr = check_array("frames", arr, ndim=3, dtype=np.float64)
    if arr.shape[2] != 2 or arr.shape[0] < 1:
        raise ValueError(f"frames must have shape (T, R, 2) with T >= 1 (rho, theta per ROI), got {arr.shape}")
    weights = _check_lam(lam)
    check_choice("angle", angle, ANGLES)
    rho, theta = arr[..., 0], arr[..., 1]
    mean_u = (rho * np.cos(theta)).mean(0)
    mean_v = (rho * np.sin(theta)).mean(0)
    rho_bar = np.hypot(mean_u, mean_v)
    theta_bar = np.mod(np.arctan2(mean_v, mean_u), _TWO_PI)
    theta_bar[theta_bar >= _TWO_PI] = 0.0
    top = rho_bar.max()
    rho_tilde = rho_bar / top if top > 0 else np.zeros_like(rho_bar)
    if angle == "linear":
        out = np.empty(2 * arr.shape[1])
        out[0::2] = weights[0] * rho_tilde
        out[1::2] = weights[1] * theta_bar
        return out
    moving = rho_bar > 0
    out = np.empty(3 * arr.shape[1])
    out[0::3] = weights[0] * rho_tilde
    out[1::3] = weights[1] * np.where(moving, np.cos(theta_bar), 0.0)
    out[2::3] = weights[1] * np.where(moving, np.sin(theta_bar), 0.0)
    return out


def _check_lam(lam) -> tuple[float, float]:
    if lam is None:
        return 1.0, 1.0
    lam = check_number("lam", lam, low=0, high=1)
    return lam, 1.0 - lam


def mdmo_names(*, rois=ROI_NAMES, angle: str = ANGLE_DEFAULT) -> list[str]:
    """Names of the MDMO components: ``"<roi>_rho"``, ``"<roi>_theta"`` per ROI
    (``angle="linear"``), or ``"<roi>_rho"``, ``"<roi>_cos"``, ``"<roi>_sin"``
    (``angle="circular"``)."""
    check_choice("angle", angle, ANGLES)
    parts = QUANTITIES if angle == "linear" else ("rho", "cos", "sin")
    return [f"{r}_{q}" for r in rois for q in parts]


# --------------------------------------------------------------------------- clips
def _is_flow(data) -> bool:
    return not (isinstance(data, xr.DataArray) and "component" not in data.dims)


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:24]




def _tim(cube, n_frames):
    try:
        from ..preprocess.tim import tim
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("n_frames needs the temporal interpolation model mer_lab.preprocess.tim") from exc
    return tim(cube, n_frames)


def mdmo_frames(data, *, landmarks="auto", engine: str = "tvl1", align: str = "affine",
                n_frames: int | None = None, n_bins: int = 8, brow_offset: float = BROW_OFFSET,
                cache=None, **engine_params) -> xr.DataArray:
    """Per-frame main-direction vectors of the 36 ROIs: the ``(time, 36, 2)`` MDMO matrix.

    Parameters
    ----------
    data : cube or flow sequence
        A cube, dims (time, y, x): the flow from its first frame to every later frame is
        computed with ``engine`` (and cached). Or a precomputed flow sequence
        ``(T, 2, H, W)`` (array or DataArray with dims (time, component, y, x)), each
        step a flow from the first frame; an all-zero first step (the reference frame,
        as :func:`~mer_lab.features.flow.flow_sequence` returns it) is dropped.
    landmarks : array_like, str or callable
        Landmarks of the first frame; see :func:`mer_lab.features.rois.clip_landmarks` (default ``"auto"``:
        ``attrs["landmarks"]`` when present, else dlib detection).
    engine : str
        Optical-flow engine (:func:`mer_lab.features.flow.optical_flow`); the paper used
        a robust TV-type flow, TV-L1 is the default here.
    align : {"affine", "translation", "none"}
        Remove head motion in the flow domain (module docs, step 2): the model fitted
        on the stable points, or ``"none"``. The same values as the other flow
        features' ``align``; a bool is refused (``True`` was ``"affine"``, ``False``
        ``"none"``).
    n_frames : int, optional
        Resample the clip to this many frames with TIM first (the thesis uses none for
        MDMO, 10 frames for Sparse MDMO). Cubes only.
    n_bins : int
        Direction bins of the per-ROI histogram (8 in the paper).
    brow_offset : float
        Height of the forehead ROIs (:func:`mer_lab.features.rois.mdmo_rois`).
    cache : None, bool or DiskCache
        Cache flows and the resulting matrix (cubes with ``dataset`` and ``sample``
        attrs only; keys hold every parameter, a digest of the frames and landmarks and
        the code version).
    **engine_params
        Flow-engine parameters.

    Returns
    -------
    xarray.DataArray, dims (time, roi, quantity), float64
        ``quantity = ["rho", "theta"]``: mean magnitude (px) and circular-mean angle
        (rad, [0, 2 pi), image axes) of the main-direction vectors; one time step per
        frame after the first (``time`` and ``frame`` coords of frames 2..m).

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.features.rois import template_landmarks
    >>> flows = np.zeros((3, 2, 120, 120), np.float32)
    >>> flows[1:, 1] = -0.8                                   # everything moves up ...
    >>> flows[1:, 1, 60:] = 0.0                               # ... in the upper half
    >>> m = mdmo_frames(flows, landmarks=template_landmarks(), align="none")
    >>> m.sizes["time"], round(float(m.sel(roi="inner_brow_R", quantity="rho")[0]), 2)
    (2, 0.8)
    """
    n_bins = check_int("n_bins", n_bins, low=1)
    align = _check_align(align)
    if _is_flow(data):
        if n_frames is not None:
            raise ValueError("n_frames (TIM) applies to cubes of frames, not to precomputed flows")
        lm = clip_landmarks(data, "attrs" if landmarks is None or (isinstance(landmarks, str) and landmarks == "auto")
                            else landmarks)
        return _frames_from_flows(data, lm, align=align, n_bins=n_bins, brow_offset=brow_offset,
                                  drop_first="auto")
    cube = validate_cube(data, name="data", min_frames=2)
    if cube.ndim == 4:
        from ..cube import to_grey

        cube = to_grey(cube)
    lm = clip_landmarks(cube, landmarks)
    if n_frames is not None:
        n_frames = check_int("n_frames", n_frames, low=2)
        cube = _tim(cube, n_frames)
    store = resolve_cache(cache)
    from .flow import ENGINE_DEFAULTS, ENGINES, flow_sequence

    check_choice("engine", engine, ENGINES)
    params = {**ENGINE_DEFAULTS.get(engine, {}), **engine_params}

    def compute():
        seq = flow_sequence(cube, reference="first", engine=engine, cache=store if store is not None else False,
                            **engine_params)
        return {"frames": _frames_from_flows(seq, lm, align=align, n_bins=n_bins, brow_offset=brow_offset,
                                             drop_first=True).values}

    if store is not None and cube.attrs.get("dataset") and cube.attrs.get("sample"):
        key = dict(dataset=str(cube.attrs["dataset"]), sample=str(cube.attrs["sample"]), engine=engine,
                   params=json.dumps(params, sort_keys=True, default=str), align=align, n_bins=n_bins,
                   n_frames=n_frames, brow_offset=float(brow_offset), code=MDMO_CODE_VERSION,
                   content=_digest(cube.values, np.round(lm, 3)))
        values = store.get_or_compute("mdmo_frames", key, compute, names=("frames",))["frames"]
    else:
        values = compute()["frames"]
    return _frames_dataarray(values, cube.isel(time=slice(1, None)), attrs=dict(
        _meta(cube), engine=engine, align=align, n_bins=n_bins))


def _meta(obj) -> dict:
    attrs = getattr(obj, "attrs", {})
    return {k: attrs[k] for k in META_KEYS if attrs.get(k) is not None}


def _frames_from_flows(data, lm, *, align, n_bins, brow_offset, drop_first) -> xr.DataArray:
    """``drop_first``: True drops step 0 (the reference frame), "auto" drops it when all zero."""
    from .flow import as_flow

    like = None
    if isinstance(data, xr.DataArray):
        if "time" not in data.dims:
            data = data.expand_dims("time")
        like = data
        values = as_flow(data)[0]
    else:
        values = check_array("data", data, ndim=(3, 4))
        if values.ndim == 3:
            values = values[None]
    values = _flows_array(values, "data").astype(np.float32, copy=False)
    if drop_first == "auto":
        start = 1 if values.shape[0] > 1 and not values[0].any() else 0
    else:
        start = 1 if drop_first else 0
    values = values[start:]
    if values.shape[0] == 0:
        raise ValueError("data holds no flow after the reference frame; MDMO needs at least two frames")
    masks = roi_masks(lm, values.shape[2:], brow_offset=brow_offset)
    if align != "none":
        values, _ = align_flow(values, lm, model=align)
    frames = main_directions(values, masks, n_bins=n_bins)
    ref = like.isel(time=slice(start, None)) if like is not None else None
    return _frames_dataarray(frames, ref, attrs=dict(_meta(data) if like is not None else {},
                                                     align=align, n_bins=n_bins))


def _frames_dataarray(values, ref, *, attrs) -> xr.DataArray:
    coords = {"roi": list(ROI_NAMES), "quantity": list(QUANTITIES)}
    if ref is not None and "time" in ref.coords and ref.sizes.get("time") == values.shape[0]:
        coords["time"] = ref["time"].values
        if "frame" in ref.coords:
            coords["frame"] = ("time", ref["frame"].values)
    base = {"long_name": "MDMO main-direction vectors", "units": "rho: px, theta: rad"}
    base.update(attrs)
    return xr.DataArray(np.asarray(values, np.float64), dims=("time", "roi", "quantity"), coords=coords,
                        attrs=base, name="mdmo_frames")


def mdmo(data, *, landmarks="auto", engine: str = "tvl1", lam: float | None = 0.9, angle: str = ANGLE_DEFAULT,
         align: str = "affine", n_frames: int | None = None, n_bins: int = 8, brow_offset: float = BROW_OFFSET,
         cache=None, **engine_params) -> np.ndarray:
    """The MDMO feature of a clip (Liu et al. 2016): 108 values, or the paper's 72.

    Parameters
    ----------
    data : cube or flow sequence
        See :func:`mdmo_frames`.
    landmarks, engine, align, n_frames, n_bins, brow_offset, cache, **engine_params
        See :func:`mdmo_frames` (thesis: TV-L1-type flow, alignment on, no TIM).
    lam : float in [0, 1] or None
        Weight of the magnitude part (the angle part gets ``1 - lam``); thesis 0.9.
    angle : {"linear", "circular"}
        Encoding of the mean direction (:func:`mdmo_pool`).

    Returns
    -------
    ndarray, shape (72,) or (108,), float64
        ``(lam rhotilde_k, (1 - lam) thetabar_k)`` (``angle="linear"``) or ``(lam
        rhotilde_k, (1 - lam) cos thetabar_k, (1 - lam) sin thetabar_k)`` (``"circular"``)
        for the 36 ROIs in the order of :data:`~mer_lab.features.rois.ROI_NAMES` (names:
        :func:`mdmo_names`).

    Notes
    -----
    See the module documentation for every step, the alignment and the role of ``lam``.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.features.rois import template_landmarks
    >>> flows = np.zeros((2, 2, 120, 120), np.float32); flows[1, 0, :, 60:] = 1.0  # right half
    >>> v = mdmo(flows, landmarks=template_landmarks(), align="none", lam=None, angle="linear")
    >>> v.shape, float(v[0::2].max()), float(v[1::2].max())
    ((72,), 1.0, 0.0)
    """
    frames = mdmo_frames(data, landmarks=landmarks, engine=engine, align=align, n_frames=n_frames,
                         n_bins=n_bins, brow_offset=brow_offset, cache=cache, **engine_params)
    return mdmo_pool(frames, lam=lam, angle=angle)


# --------------------------------------------------------------------------- scikit-learn
class MDMO(CubeFeatures):
    """scikit-learn transformer: the MDMO feature of each clip (:func:`mdmo`).

    ``X`` is a sequence of cubes (or of flow sequences carrying ``attrs["landmarks"]``).
    Landmarks come from ``landmarks``: ``"auto"`` (the cube's ``attrs["landmarks"]``, else
    dlib detection), ``"attrs"``, ``"detect"``, or a callable ``f(cube) -> (68, 2)`` such
    as :func:`mer_lab.features.rois.corpus_landmarks` for corpora with ground truth. ``engine_params`` is a
    dict of flow-engine parameters.

    Examples
    --------
    >>> # pipe = make_pipeline(MDMO(landmarks=corpus_landmarks(corpus), engine="farneback"), SVC())
    >>> # cross_val_predict(pipe, list(corpus.cubes()), corpus.labels, groups=corpus.groups,
    >>> #                   cv=LeaveOneGroupOut())
    """

    def __init__(self, *, landmarks="auto", engine="tvl1", lam=0.9, angle=ANGLE_DEFAULT, align="affine",
                 n_frames=None, n_bins=8, brow_offset=BROW_OFFSET, cache=None, engine_params=None):
        self.landmarks = landmarks
        self.engine = engine
        self.lam = lam
        self.angle = angle
        self.align = align
        self.n_frames = n_frames
        self.n_bins = n_bins
        self.brow_offset = brow_offset
        self.cache = cache
        self.engine_params = engine_params

    def _extract(self, cube):
        return mdmo(cube, landmarks=self.landmarks, engine=self.engine, lam=self.lam, angle=self.angle,
                    align=self.align,
                    n_frames=self.n_frames, n_bins=self.n_bins, brow_offset=self.brow_offset,
                    cache=self.cache, **(self.engine_params or {}))

    def _names(self, cube):
        return mdmo_names(angle=self.angle)


def as_frames_array(X, *, name: str = "X") -> list[np.ndarray]:
    """Per-clip ``(T, 36, 2)`` matrices from the accepted forms of precomputed MDMO frames.

    ``X`` may be a 4-D array ``(n_clips, T, 36, 2)``, a 2-D array ``(n_clips, T * 72)``
    (each row the flattened ``(T, 36, 2)`` matrix, e.g. from a feature cache), or a
    sequence of ``(T_i, 36, 2)`` arrays / DataArrays (clips may differ in length).
    """
    if isinstance(X, xr.DataArray) and X.ndim == 3:
        raise TypeError(f"{name} must hold one (T, 36, 2) matrix per clip; wrap a single clip in a list")
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 4:
            items = list(X)
        elif X.ndim == 2:
            if X.shape[1] % 72:
                raise ValueError(f"{name}: a 2-D array must hold T * 72 columns per clip, got {X.shape[1]}")
            items = list(X.reshape(X.shape[0], -1, 36, 2))
        else:
            raise ValueError(f"{name} must be (n_clips, T, 36, 2), (n_clips, T * 72) or a list of (T, 36, 2) "
                             f"arrays, got shape {X.shape}")
    else:
        items = list(X)
    if not items:
        raise ValueError(f"{name} holds no clips")
    out = []
    for i, it in enumerate(items):
        a = check_array(f"{name}[{i}]", it.values if isinstance(it, xr.DataArray) else it, dtype=np.float64)
        if a.ndim == 1 and a.size % 72 == 0:
            a = a.reshape(-1, 36, 2)
        if a.ndim != 3 or a.shape[1:] != (36, 2) or a.shape[0] < 1:
            raise ValueError(f"{name}[{i}] must have shape (T, 36, 2), got {a.shape}")
        out.append(a)
    return out


class MDMOFromFrames(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: MDMO from precomputed per-frame matrices (:func:`mdmo_pool`).

    ``X`` holds one ``(T, 36, 2)`` matrix per clip from :func:`mdmo_frames` (see
    :func:`as_frames_array` for the accepted forms), so that cached per-frame MDMO feeds
    both MDMO and Sparse MDMO without recomputing any flow. Stateless.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((4, 5, 36, 2))
    >>> MDMOFromFrames(lam=0.9).fit_transform(X).shape
    (4, 72)
    """

    def __init__(self, *, lam=0.9, angle=ANGLE_DEFAULT):
        self.lam = lam
        self.angle = angle

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False          # stateless: transform needs no fit
        return tags

    def fit(self, X, y=None):
        _check_lam(self.lam)
        check_choice("angle", self.angle, ANGLES)
        as_frames_array(X)
        self.n_features_out_ = 72 if self.angle == "linear" else 108
        return self

    def transform(self, X):
        return np.vstack([mdmo_pool(a, lam=self.lam, angle=self.angle) for a in as_frames_array(X)])

    def get_feature_names_out(self, input_features=None):
        return np.asarray(mdmo_names(angle=self.angle), dtype=object)
