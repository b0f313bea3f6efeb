"""Optical-flow engines: one interface, :func:`optical_flow`, over six methods.

Flows follow the convention of :mod:`mer_lab.features.flow` (``(2, H, W)`` float32,
``(u, v)`` in pixels from ``frame0`` to ``frame1``).

Engines
-------
``"tvl1"``
    OpenCV's dual TV-L1 (Zach, Pock & Bischof 2007; Wedel et al. 2009), the
    de-facto standard of micro-expression work. Slow (about 0.35 s per 280x340 pair).
``"farneback"``
    OpenCV's polynomial-expansion method (Farnebäck 2003); fast and accurate on smooth
    textures.
``"dis"``
    OpenCV's dense inverse search (Kroeger et al. 2016) with a speed preset; the fastest.
``"tvl1_skimage"``
    scikit-image's ``optical_flow_tvl1`` (a TV-L1 written in numpy).
``"ilk"``
    scikit-image's iterative Lucas-Kanade ``optical_flow_ilk``.
``"lucas_kanade"``
    :func:`lucas_kanade`, the from-scratch least-squares solver of the thesis (eq. 1-2),
    small enough to read; for teaching.

Every engine is called so that the result follows the library convention (scikit-image
returns ``(v, u)`` in row/column order and OpenCV returns ``(H, W, 2)``; both are
converted here). The parameters of each engine and their defaults are in
:data:`ENGINE_DEFAULTS` and documented in :func:`optical_flow`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from ..._validate import check_array, check_choice, check_int, check_number

__all__ = ["ENGINES", "ENGINE_DEFAULTS", "FLOW_CODE_VERSION", "optical_flow", "lucas_kanade"]

#: Bumped whenever a change in this module changes computed flow fields (part of cache keys).
FLOW_CODE_VERSION = "1"

#: Engine name -> its parameters and default values (see :func:`optical_flow`).
ENGINE_DEFAULTS: dict[str, dict] = {
    "tvl1": dict(tau=0.25, lambda_=0.15, theta=0.3, n_scales=5, n_warps=5, epsilon=0.01,
                 inner_iterations=30, outer_iterations=10, scale_step=0.8, gamma=0.0,
                 median_filtering=5),
    "farneback": dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
                      poly_sigma=1.2, gaussian=False),
    "dis": dict(preset="medium", finest_scale=None, patch_size=None, patch_stride=None,
                gradient_descent_iterations=None, variational_refinement_iterations=None,
                variational_refinement_alpha=None, variational_refinement_delta=None,
                variational_refinement_gamma=None, use_mean_normalization=None,
                use_spatial_propagation=None),
    "tvl1_skimage": dict(attachment=15.0, tightness=0.3, num_warp=5, num_iter=10, tol=1e-4,
                         prefilter=False),
    "ilk": dict(radius=7, num_warp=10, gaussian=False, prefilter=False),
    "lucas_kanade": dict(window=15, iterations=1, min_eigenvalue=1e-3),
}
ENGINES = tuple(ENGINE_DEFAULTS)
_DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


# --------------------------------------------------------------------------- frames
def _check_frames(frame0, frame1):
    if isinstance(frame0, xr.DataArray):
        frame0 = frame0.values
    if isinstance(frame1, xr.DataArray):
        frame1 = frame1.values
    a = check_array("frame0", frame0, ndim=2)
    b = check_array("frame1", frame1, ndim=2)
    if a.shape != b.shape:
        raise ValueError(
            f"frame0 and frame1 must have the same size, got frame0 {a.shape[1]}x{a.shape[0]} "
            f"and frame1 {b.shape[1]}x{b.shape[0]} (width x height); resample or crop them to one size"
        )
    if min(a.shape) < 2:
        raise ValueError(f"frames must be at least 2x2 pixels, got shape {a.shape}")
    if a.dtype == bool or not np.issubdtype(a.dtype, np.number) or not np.issubdtype(b.dtype, np.number):
        raise ValueError(f"frames must be numeric (uint8 or float), got {a.dtype} and {b.dtype}")
    return a, b


def _unit_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both frames as float32 on the scale [0, 1] (about), with one mapping for the two.

    uint8 frames are divided by 255. Floating frames whose values all lie within
    [-1, 2] are taken to be on the [0, 1] scale already (interpolation overshoot is
    kept). Other frames within [-64, 320] are grey levels (divided by 255); anything
    else (e.g. 12-bit data) is min-max rescaled jointly.
    """
    if a.dtype == np.uint8 and b.dtype == np.uint8:
        return a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0
    is_float = np.issubdtype(a.dtype, np.floating) or np.issubdtype(b.dtype, np.floating)
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    lo = min(float(a.min()), float(b.min()))
    hi = max(float(a.max()), float(b.max()))
    if is_float and lo >= -1.0 and hi <= 2.0:
        return a, b
    if lo >= -64.0 and hi <= 320.0:
        return a / 255.0, b / 255.0
    span = hi - lo if hi > lo else 1.0
    return (a - lo) / span, (b - lo) / span


def _uint8_pair(a, b, unit):
    if a.dtype == np.uint8 and b.dtype == np.uint8:
        return a, b
    return tuple(np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8) for x in unit)


# --------------------------------------------------------------------------- engines
def _resolve_params(engine: str, params: Mapping) -> dict:
    check_choice("engine", engine, ENGINES)
    defaults = ENGINE_DEFAULTS[engine]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for engine={engine!r}; "
            f"accepted: {', '.join(defaults)}"
        )
    out = dict(defaults)
    out.update(params)
    if engine == "dis":
        check_choice("preset", out["preset"], tuple(_DIS_PRESETS))
    return out


def _tvl1_cv(a, b, unit, p):
    import cv2

    algo = cv2.optflow.DualTVL1OpticalFlow_create(
        tau=float(p["tau"]), lambda_=float(p["lambda_"]), theta=float(p["theta"]),
        nscales=int(p["n_scales"]), warps=int(p["n_warps"]), epsilon=float(p["epsilon"]),
        innnerIterations=int(p["inner_iterations"]), outerIterations=int(p["outer_iterations"]),
        scaleStep=float(p["scale_step"]), gamma=float(p["gamma"]),
        medianFiltering=int(p["median_filtering"]), useInitialFlow=False,
    )
    if a.dtype == np.uint8 and b.dtype == np.uint8:
        f = algo.calc(a, b, None)
    else:  # OpenCV's TV-L1 multiplies float input by 255: it expects [0, 1]
        f = algo.calc(unit[0], unit[1], None)
    return np.moveaxis(f, -1, 0)


def _farneback(a, b, unit, p):
    import cv2

    # Farneback accepts float input on the grey-level scale (0..255), not [0, 1]
    flags = cv2.OPTFLOW_FARNEBACK_GAUSSIAN if p["gaussian"] else 0
    f = cv2.calcOpticalFlowFarneback(unit[0] * 255.0, unit[1] * 255.0, None, float(p["pyr_scale"]),
                                     int(p["levels"]), int(p["winsize"]), int(p["iterations"]),
                                     int(p["poly_n"]), float(p["poly_sigma"]), flags)
    return np.moveaxis(f, -1, 0)


_DIS_SETTERS = {
    "finest_scale": ("setFinestScale", int), "patch_size": ("setPatchSize", int),
    "patch_stride": ("setPatchStride", int),
    "gradient_descent_iterations": ("setGradientDescentIterations", int),
    "variational_refinement_iterations": ("setVariationalRefinementIterations", int),
    "variational_refinement_alpha": ("setVariationalRefinementAlpha", float),
    "variational_refinement_delta": ("setVariationalRefinementDelta", float),
    "variational_refinement_gamma": ("setVariationalRefinementGamma", float),
    "use_mean_normalization": ("setUseMeanNormalization", bool),
    "use_spatial_propagation": ("setUseSpatialPropagation", bool),
}


def _dis(a, b, unit, p):
    import cv2

    algo = cv2.DISOpticalFlow_create(_DIS_PRESETS[p["preset"]])
    for name, (setter, kind) in _DIS_SETTERS.items():
        if p[name] is not None:
            getattr(algo, setter)(kind(p[name]))
    a8, b8 = _uint8_pair(a, b, unit)  # DIS works on 8-bit frames only
    f = algo.calc(a8, b8, None)
    return np.moveaxis(f, -1, 0)


def _tvl1_skimage(a, b, unit, p):
    from skimage.registration import optical_flow_tvl1

    vu = optical_flow_tvl1(unit[0], unit[1], attachment=float(p["attachment"]),
                           tightness=float(p["tightness"]), num_warp=int(p["num_warp"]),
                           num_iter=int(p["num_iter"]), tol=float(p["tol"]),
                           prefilter=bool(p["prefilter"]), dtype=np.float32)
    return vu[::-1]  # scikit-image returns (v, u): rows first


def _ilk(a, b, unit, p):
    from skimage.registration import optical_flow_ilk

    vu = optical_flow_ilk(unit[0], unit[1], radius=int(p["radius"]), num_warp=int(p["num_warp"]),
                          gaussian=bool(p["gaussian"]), prefilter=bool(p["prefilter"]), dtype=np.float32)
    return vu[::-1]


def _lk_engine(a, b, unit, p):
    return lucas_kanade(unit[0], unit[1], window=p["window"], iterations=p["iterations"],
                        min_eigenvalue=p["min_eigenvalue"])


_ENGINE_FUNCS = {"tvl1": _tvl1_cv, "farneback": _farneback, "dis": _dis,
                 "tvl1_skimage": _tvl1_skimage, "ilk": _ilk, "lucas_kanade": _lk_engine}


def optical_flow(frame0, frame1, *, engine: str = "tvl1", **engine_params) -> np.ndarray:
    """Dense optical flow from ``frame0`` to ``frame1`` with the chosen engine.

    Parameters
    ----------
    frame0, frame1 : array_like, shape (H, W)
        Grey frames of one size, uint8 or floating. uint8 is used as is; other dtypes
        are mapped to the [0, 1] scale with one mapping for both frames: floating frames
        within [-1, 2] are taken as [0, 1] intensities, other frames within [-64, 320]
        as grey levels (divided by 255), anything else (e.g. 12-bit data) is min-max
        rescaled jointly.
    engine : {"tvl1", "farneback", "dis", "tvl1_skimage", "ilk", "lucas_kanade"}
        The flow method (see the module docstring).
    **engine_params
        Parameters of the engine; unknown names raise a ValueError. Defaults
        (:data:`ENGINE_DEFAULTS`):

        * ``tvl1`` (OpenCV ``DualTVL1OpticalFlow``): ``tau=0.25`` time step,
          ``lambda_=0.15`` data-term weight (smaller = smoother), ``theta=0.3`` coupling,
          ``n_scales=5`` pyramid levels, ``n_warps=5`` warps per level, ``epsilon=0.01``
          stopping threshold, ``inner_iterations=30``, ``outer_iterations=10``,
          ``scale_step=0.8`` pyramid ratio, ``gamma=0.0`` (illumination term off),
          ``median_filtering=5``.
        * ``farneback``: ``pyr_scale=0.5``, ``levels=3``, ``winsize=15`` averaging window,
          ``iterations=3`` per level, ``poly_n=5`` neighbourhood of the polynomial
          expansion, ``poly_sigma=1.2``, ``gaussian=False`` (Gaussian instead of box window).
        * ``dis``: ``preset`` one of ``"ultrafast"``, ``"fast"``, ``"medium"`` (default
          ``"medium"``); any of ``finest_scale``, ``patch_size``, ``patch_stride``,
          ``gradient_descent_iterations``, ``variational_refinement_iterations``,
          ``variational_refinement_alpha``, ``variational_refinement_delta``,
          ``variational_refinement_gamma``, ``use_mean_normalization``,
          ``use_spatial_propagation`` overrides the preset (``None`` keeps it).
        * ``tvl1_skimage``: ``attachment=15`` data weight, ``tightness=0.3``,
          ``num_warp=5``, ``num_iter=10``, ``tol=1e-4``, ``prefilter=False``.
        * ``ilk``: ``radius=7`` window radius, ``num_warp=10``, ``gaussian=False``,
          ``prefilter=False``.
        * ``lucas_kanade``: ``window=15``, ``iterations=3``, ``min_eigenvalue=1e-3``
          (see :func:`lucas_kanade`).

    Returns
    -------
    numpy.ndarray, shape (2, H, W), float32
        ``(u, v)`` in pixels with ``frame0(y, x) ~ frame1(y + v, x + u)``.

    Notes
    -----
    Brightness constancy ``I(x, y, t) = I(x + dx, y + dy, t + dt)`` linearised gives
    ``I_x u + I_y v + I_t = 0`` (thesis eq. 1-2): one equation for two unknowns per
    pixel; every engine adds a different assumption (local constancy, smoothness) to
    solve it. OpenCV's TV-L1 expects float frames in [0, 1] and Farneback float frames in
    [0, 255]; DIS accepts only uint8. The scaling above hands each engine what it expects.

    References
    ----------
    Zach, Pock & Bischof, "A duality based approach for realtime TV-L1 optical flow",
    DAGM 2007, doi:10.1007/978-3-540-74936-3_22.
    Farnebäck, "Two-frame motion estimation based on polynomial expansion", SCIA 2003,
    doi:10.1007/3-540-45103-X_50.
    Kroeger et al., "Fast optical flow using dense inverse search", ECCV 2016,
    doi:10.1007/978-3-319-46493-0_29.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> rng = np.random.default_rng(0)
    >>> f0 = ndi.gaussian_filter(rng.random((64, 64)), 2)
    >>> f1 = ndi.shift(f0, (0, 1), mode="wrap")     # content moves 1 px to the right
    >>> flow = optical_flow(f0, f1, engine="farneback")
    >>> flow.shape, round(float(np.median(flow[0])), 1), round(float(np.median(flow[1])), 1)
    ((2, 64, 64), 1.0, 0.0)
    """
    params = _resolve_params(engine, engine_params)
    a, b = _check_frames(frame0, frame1)
    unit = _unit_pair(a, b)
    flow = _ENGINE_FUNCS[engine](a, b, unit, params)
    return np.ascontiguousarray(flow, dtype=np.float32)


# --------------------------------------------------------------------------- Lucas-Kanade
def lucas_kanade(frame0, frame1, *, window: int = 15, points=None, iterations: int = 1,
                 min_eigenvalue: float = 1e-3) -> np.ndarray:
    """Lucas-Kanade flow by least squares over a square window (thesis eq. 1-2).

    Parameters
    ----------
    frame0, frame1 : array_like, shape (H, W)
        Grey frames (any real scale; float recommended).
    window : int
        Side of the square window (odd, >= 3) over which the flow is assumed constant.
    points : array_like, shape (N, 2), optional
        ``(x, y)`` pixel positions where the flow is wanted; default every pixel.
    iterations : int
        Gauss-Newton steps: after each, ``frame1`` is warped back by the current flow and
        the residual motion is solved again (1 = the textbook single step).
    min_eigenvalue : float
        Windows whose structure tensor's smaller eigenvalue is below this fraction of
        the largest such eigenvalue in the image are ill-conditioned (flat or
        one-dimensional texture: the aperture problem); their flow is set to 0.

    Returns
    -------
    numpy.ndarray
        ``(2, H, W)`` float32 dense flow, or ``(2, N)`` at ``points``.

    Notes
    -----
    With ``I_x, I_y`` the spatial gradients and ``I_t = frame1 - frame0``, every pixel of
    the window gives one equation ``I_x u + I_y v = -I_t``. The least-squares solution
    solves the 2x2 normal equations

    .. math:: \\begin{pmatrix} \\sum I_x^2 & \\sum I_x I_y \\\\ \\sum I_x I_y & \\sum I_y^2 \\end{pmatrix}
              \\begin{pmatrix} u \\\\ v \\end{pmatrix} = -\\begin{pmatrix} \\sum I_x I_t \\\\ \\sum I_y I_t \\end{pmatrix}

    The window sums are box filters (one pass over the image each) and the 2x2 systems
    are solved for all pixels at once by Cramer's rule. Valid for small motions (about
    a pixel); the pyramidal engines handle larger ones.

    References
    ----------
    Lucas & Kanade, "An iterative image registration technique with an application to
    stereo vision", IJCAI 1981.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> f0 = ndi.gaussian_filter(np.random.default_rng(1).random((48, 48)), 3)
    >>> f1 = ndi.shift(f0, (0.0, 0.5), mode="wrap")
    >>> flow = lucas_kanade(f0, f1, window=11, iterations=3)
    >>> round(float(np.median(flow[0])), 1)
    0.5
    """
    import cv2

    a, b = _check_frames(frame0, frame1)
    window = check_int("window", window, low=3)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    iterations = check_int("iterations", iterations, low=1)
    min_eigenvalue = check_number("min_eigenvalue", min_eigenvalue, low=0)
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    h, w = a.shape
    flow = np.zeros((2, h, w), np.float32)
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    iy, ix = np.gradient(a)  # gradients of the reference frame (rows first)
    box = lambda img: cv2.boxFilter(img, -1, (window, window), normalize=True,  # noqa: E731
                                    borderType=cv2.BORDER_REFLECT)
    sxx, syy, sxy = box(ix * ix), box(iy * iy), box(ix * iy)
    det = sxx * syy - sxy * sxy
    # smallest eigenvalue of [[sxx, sxy], [sxy, syy]]
    lam_min = 0.5 * (sxx + syy) - np.sqrt(0.25 * (sxx - syy) ** 2 + sxy ** 2)
    ok = lam_min > min_eigenvalue * max(float(lam_min.max()), np.finfo(np.float32).tiny)
    safe_det = np.where(ok, det, 1.0)
    for _ in range(iterations):
        warped = cv2.remap(b, grid_x + flow[0], grid_y + flow[1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
        it = warped - a
        sxt, syt = box(ix * it), box(iy * it)
        du = (-syy * sxt + sxy * syt) / safe_det
        dv = (sxy * sxt - sxx * syt) / safe_det
        flow[0] += np.where(ok, du, 0.0)
        flow[1] += np.where(ok, dv, 0.0)
    if points is None:
        return flow
    pts = check_array("points", points, ndim=2)
    if pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2) of (x, y), got {pts.shape}")
    xs = np.clip(np.rint(pts[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.rint(pts[:, 1]).astype(int), 0, h - 1)
    return flow[:, ys, xs]
