"""Dense optical flow: one interface over several engines, flow of clips, optical strain.

Convention
----------
A flow field is a float32 array of shape ``(2, H, W)``: component 0 is ``u``
(horizontal, positive to the right, along columns ``x``), component 1 is ``v``
(vertical, positive downwards, along rows ``y``), in pixels, from the earlier frame
``frame0`` to the later frame ``frame1``::

    frame0(y, x) ~ frame1(y + v, x + u)

so a texture that moves one pixel to the right between the two frames has ``u = +1``,
``v = 0``. As a DataArray a flow has dims ``("component", "y", "x")`` with
``component = ["u", "v"]``; sequences add a leading ``"time"`` dimension. Flow images
shared by other groups add a third component ``"strain"``.

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

import hashlib
import json
from collections.abc import Mapping

import numpy as np
import xarray as xr

from .._validate import check_array, check_choice, check_int, check_number, describe
from ..cache import resolve_cache
from ..cube import frame_position, key_frames, to_grey, validate_cube

__all__ = [
    "ENGINES",
    "ENGINE_DEFAULTS",
    "FLOW_CODE_VERSION",
    "optical_flow",
    "lucas_kanade",
    "flow_pair",
    "flow_sequence",
    "flow_dataarray",
    "strain_components",
    "optical_strain",
    "flow_magnitude",
    "flow_angle",
    "flow_to_rgb",
    "global_motion",
    "remove_global_motion",
    "class_average_apex_flow",
    "as_flow",
    "pair_flow_and_strain",
    "sequence_flow",
]

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


# --------------------------------------------------------------------------- strain & helpers
def _flow_array(flow, name="flow") -> np.ndarray:
    if isinstance(flow, xr.DataArray):
        if "component" in flow.dims:
            flow = flow.transpose(..., "component", "y", "x")
            comps = [str(c) for c in flow["component"].values] if "component" in flow.coords else None
            if comps is not None and "u" in comps and "v" in comps:
                flow = flow.sel(component=["u", "v"])
        flow = flow.values
    arr = check_array(name, flow, ndim=(3, 4))
    if arr.shape[-3] != 2:
        raise ValueError(f"{name} must have shape (2, H, W) (u, v first), got {arr.shape}")
    return arr


def strain_components(flow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Components ``(e_xx, e_yy, e_xy)`` of the optical strain tensor.

    Parameters
    ----------
    flow : array_like or DataArray, shape (2, H, W)
        Flow in the library convention.

    Returns
    -------
    e_xx, e_yy, e_xy : numpy.ndarray, shape (H, W), float32
        ``e_xx = du/dx``, ``e_yy = dv/dy``, ``e_xy = (du/dy + dv/dx) / 2``; derivatives by
        central differences (one-sided at the border).
    """
    f = _flow_array(flow).astype(np.float32, copy=False)
    du_dy, du_dx = np.gradient(f[0])
    dv_dy, dv_dx = np.gradient(f[1])
    return du_dx, dv_dy, 0.5 * (du_dy + dv_dx)


def optical_strain(flow):
    """Optical strain magnitude of a flow field.

    Parameters
    ----------
    flow : array_like or DataArray, shape (2, H, W)

    Returns
    -------
    numpy.ndarray or DataArray, shape (H, W), float32
        ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)``; a DataArray (y, x) when ``flow`` is one.

    Notes
    -----
    The strain tensor of a displacement field ``(u, v)`` is
    ``e = [[du/dx, (du/dy + dv/dx)/2], [(du/dy + dv/dx)/2, dv/dy]]``; its Frobenius norm
    is ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)``. Note that the shear term enters as the
    square of the *sum* ``(du/dy + dv/dx)``, not as the sum of the two squares.

    References
    ----------
    Shreve et al., "Macro- and micro-expression spotting in long videos using
    spatio-temporal strain", FG 2011, doi:10.1109/FG.2011.5771451.

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[0:16, 0:16].astype(np.float32)
    >>> flow = np.stack([0.1 * x, 0.0 * y])           # uniform stretch along x
    >>> round(float(optical_strain(flow)[8, 8]), 3)
    0.1
    """
    exx, eyy, exy = strain_components(flow)
    mag = np.sqrt(exx * exx + eyy * eyy + 2.0 * exy * exy).astype(np.float32)
    if isinstance(flow, xr.DataArray):
        coords = {k: flow.coords[k] for k in ("y", "x") if k in flow.coords}
        return xr.DataArray(mag, dims=("y", "x"), coords=coords, attrs={
            **{k: v for k, v in flow.attrs.items() if k not in ("units", "long_name")},
            "units": "1", "long_name": "optical strain"})
    return mag


def flow_magnitude(flow) -> np.ndarray:
    """Per-pixel length ``sqrt(u^2 + v^2)`` (px) of a flow (``(2, ...)`` -> ``(...)``)."""
    f = _flow_array(flow)
    return np.hypot(f[0], f[1]).astype(np.float32)


def flow_angle(flow) -> np.ndarray:
    """Per-pixel direction ``atan2(v, u)`` in radians, in (-pi, pi].

    Image axes: 0 = right, +pi/2 = down, +-pi = left, -pi/2 = up (``v`` grows downwards).
    """
    f = _flow_array(flow)
    return np.arctan2(f[1], f[0]).astype(np.float32)


def flow_to_rgb(flow, *, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-wheel picture of a flow: hue = direction, brightness = magnitude.

    Parameters
    ----------
    flow : array_like, shape (2, H, W)
    max_magnitude : float, optional
        Magnitude shown at full brightness; default the largest in ``flow``.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8 RGB
        Hue follows the direction on the image (0 deg = right red, 90 deg = down,
        180 deg = left, 270 deg = up), saturation is full, value is the magnitude.
    """
    import cv2

    f = _flow_array(flow)
    mag = np.hypot(f[0], f[1])
    ang = np.degrees(np.arctan2(f[1], f[0])) % 360.0
    top = float(mag.max()) if max_magnitude is None else check_number("max_magnitude", max_magnitude, low=0, low_open=True)
    hsv = np.empty(mag.shape + (3,), np.uint8)
    hsv[..., 0] = np.rint(ang / 2.0).astype(np.uint8) % 180  # OpenCV hue runs 0..179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(np.rint(255.0 * mag / top), 0, 255).astype(np.uint8) if top > 0 else 0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


# --------------------------------------------------------------------------- alignment
_MOTION_MODELS = ("translation", "affine")


def _sample_flow(f, pts):
    """Bilinear samples of a (2, H, W) flow at (K, 2) (x, y) points -> (K, 2) (u, v)."""
    from scipy import ndimage as ndi

    coords = [pts[:, 1], pts[:, 0]]
    return np.stack([ndi.map_coordinates(f[c], coords, order=1, mode="nearest") for c in (0, 1)], axis=1)


def global_motion(flow, *, model: str = "affine", points=None, displacements=None,
                  trim: float = 0.25, iterations: int = 3, step: int = 2) -> np.ndarray:
    """The global (head) motion in a flow field, as a ``(2, H, W)`` flow.

    Parameters
    ----------
    flow : array_like, shape (2, H, W)
    model : {"translation", "affine"}
        ``"translation"``: one displacement for the whole face; ``"affine"``: the
        displacement ``d(x, y) = A [x, y, 1]^T`` with a 2x3 matrix ``A`` (shift,
        rotation, scale and shear of the head).
    points : array_like, shape (K, 2), optional
        ``(x, y)`` positions of stable points (e.g. the inner eye corners and the nose,
        which micro-expressions hardly move). The model is fitted on the flow sampled
        there (or on ``displacements``). Default: fitted on all pixels.
    displacements : array_like, shape (K, 2), optional
        Known ``(dx, dy)`` of the points (e.g. tracked landmarks of frame i minus those of
        the reference frame) instead of the flow at the points.
    trim : float
        Robust fit: after each fit, the fraction ``trim`` of samples with the largest
        residuals (the expression's own motion) is left out of the next fit.
    iterations : int
        Number of fits (1 = plain least squares).
    step : int
        Pixel stride of the samples when fitting on all pixels (speed).

    Returns
    -------
    numpy.ndarray, shape (2, H, W), float32
        The fitted global motion; subtract it to align (:func:`remove_global_motion`).

    Notes
    -----
    The fit solves ``min_A sum_i ||A [x_i, y_i, 1]^T - d_i||^2`` by least squares (the
    two rows of ``A`` independently); MDMO and FDM align faces this way in the flow
    domain instead of warping the frames.
    """
    f = _flow_array(flow).astype(np.float64)
    if f.ndim != 3:
        raise ValueError(f"flow must be one field (2, H, W), got {f.shape}")
    check_choice("model", model, _MOTION_MODELS)
    trim = check_number("trim", trim, low=0, high=1, high_open=True)
    iterations = check_int("iterations", iterations, low=1)
    step = check_int("step", step, low=1)
    _, h, w = f.shape
    if points is None:
        if displacements is not None:
            raise ValueError("displacements need the points they belong to; pass points= too")
        ys, xs = np.mgrid[0:h:step, 0:w:step]
        xy = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        d = np.stack([f[0][::step, ::step].ravel(), f[1][::step, ::step].ravel()], axis=1)
    else:
        xy = check_array("points", points, ndim=2).astype(np.float64)
        if xy.shape[1] != 2:
            raise ValueError(f"points must have shape (K, 2) of (x, y), got {xy.shape}")
        if displacements is None:
            d = _sample_flow(f, xy)
        else:
            d = check_array("displacements", displacements, ndim=2).astype(np.float64)
            if d.shape != xy.shape:
                raise ValueError(f"displacements must have the shape of points {xy.shape}, got {d.shape}")
    need = 1 if model == "translation" else 3
    if len(xy) < need:
        raise ValueError(f"model={model!r} needs at least {need} points, got {len(xy)}")
    design = np.ones((len(xy), 1)) if model == "translation" else np.column_stack([xy, np.ones(len(xy))])
    keep = np.ones(len(xy), bool)
    for it in range(iterations):
        coef, *_ = np.linalg.lstsq(design[keep], d[keep], rcond=None)  # (p, 2)
        if it == iterations - 1 or trim == 0:
            break
        resid = np.hypot(*(design @ coef - d).T)
        n_keep = max(need, int(round(len(xy) * (1 - trim))))
        keep = np.zeros(len(xy), bool)
        keep[np.argsort(resid, kind="stable")[:n_keep]] = True
    if model == "translation":
        out = np.broadcast_to(coef[0][:, None, None], (2, h, w))
    else:
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
        out = np.stack([coef[0, c] * gx + coef[1, c] * gy + coef[2, c] for c in (0, 1)])
    return np.ascontiguousarray(out, dtype=np.float32)


def remove_global_motion(flow, **kwargs):
    """Align a flow in the flow domain: ``flow - global_motion(flow, **kwargs)``.

    Accepts a ``(2, H, W)`` field or a ``(T, 2, H, W)`` sequence (each step fitted
    separately; ``points`` may then be ``(T, K, 2)``, e.g. tracked landmarks, and
    ``displacements`` likewise). DataArrays keep their coordinates and attrs.
    """
    da = flow if isinstance(flow, xr.DataArray) else None
    f = _flow_array(flow)
    if f.ndim == 3:
        out = f - global_motion(f, **kwargs)
    else:
        out = np.empty_like(f, dtype=np.float32)
        for t in range(f.shape[0]):
            kw = dict(kwargs)
            for k in ("points", "displacements"):
                if kw.get(k) is not None and np.ndim(kw[k]) == 3:
                    kw[k] = np.asarray(kw[k])[t]
            out[t] = f[t] - global_motion(f[t], **kw)
    if da is not None and da.sizes.get("component") == 2:
        da = da.transpose(..., "component", "y", "x")
        return da.copy(data=out.astype(np.float32)).assign_attrs(aligned=kwargs.get("model", "affine"))
    return out.astype(np.float32)


# --------------------------------------------------------------------------- clips
_META = ("dataset", "subject", "sample", "emotion", "onset", "apex", "offset", "fps")


def _grey_cube(cube, name="cube"):
    validate_cube(cube, name=name, min_frames=2)
    return to_grey(cube) if cube.ndim == 4 else cube




def _resolve_frame(cube, which, *, name, positions, kf):
    """Position along time of ``which`` (None, key-frame name, frame number or position)."""
    n = cube.sizes["time"]
    if isinstance(which, str):
        check_choice(name, which, ("onset", "apex", "offset", "first", "last"))
        if which == "first":
            return 0
        if which == "last":
            return n - 1
        return kf()[which]
    if isinstance(which, bool) or not isinstance(which, (int, np.integer)):
        raise ValueError(f"{name} must be None, 'onset', 'apex', 'offset', 'first', 'last' or an integer "
                         f"frame number, got {describe(which)}")
    which = int(which)
    if positions:
        if not -n <= which < n:
            raise ValueError(f"{name} position {which} is outside the clip, which has {n} frames")
        return which % n
    return frame_position(cube, which, name=name)


def _pair_key(cube, p0, p1, engine, params, frames):
    import cv2
    import skimage

    digest = hashlib.sha256()
    for f in frames:
        digest.update(np.ascontiguousarray(f).tobytes())
        digest.update(str(f.dtype).encode())
        digest.update(str(f.shape).encode())
    return dict(
        dataset=str(cube.attrs.get("dataset")), sample=str(cube.attrs.get("sample")),
        start=int(cube["frame"].values[p0]), end=int(cube["frame"].values[p1]),
        engine=engine, params=params, code=FLOW_CODE_VERSION,
        backend=cv2.__version__ if engine in ("tvl1", "farneback", "dis") else skimage.__version__,
        content=digest.hexdigest()[:24],
    )


def _has_identity(cube) -> bool:
    return bool(cube.attrs.get("dataset")) and bool(cube.attrs.get("sample"))


def _pair_values(cube, p0, p1, engine, params, store):
    """Flow (2, H, W) between positions p0 and p1, from the cache when possible."""
    vals = cube.values
    f0, f1 = vals[p0], vals[p1]
    if p0 == p1:
        return np.zeros((2,) + f0.shape, np.float32)
    if store is None or not _has_identity(cube):
        return optical_flow(f0, f1, engine=engine, **params)
    key = _pair_key(cube, p0, p1, engine, params, (f0, f1))
    out = store.get_or_compute("flow", key, lambda: {"flow": optical_flow(f0, f1, engine=engine, **params)},
                               names=("flow",))
    flow = out.get("flow")
    if flow is None or flow.shape != (2,) + f0.shape:  # a foreign or stale entry: recompute
        flow = optical_flow(f0, f1, engine=engine, **params)
        store.save("flow", key, {"flow": flow})
    return flow.astype(np.float32, copy=False)


def _flow_attrs(cube, engine, params, **extra):
    attrs = {k: cube.attrs.get(k) for k in _META if k in cube.attrs}
    for k in ("apex_estimated", "apex_method"):
        if k in cube.attrs:
            attrs[k] = cube.attrs[k]
    attrs.update(engine=engine, engine_params=json.dumps(params, sort_keys=True),
                 units="px", long_name="optical flow")
    attrs.update(extra)
    return attrs


def flow_dataarray(flow, *, like=None, attrs=None) -> xr.DataArray:
    """Wrap a ``(2, H, W)`` (or ``(T, 2, H, W)``) array as a flow DataArray.

    ``like`` (a cube or flow DataArray) supplies the ``y``/``x`` coordinates.
    """
    arr = _flow_array(flow)
    dims = ("component", "y", "x") if arr.ndim == 3 else ("time", "component", "y", "x")
    coords = {"component": ["u", "v"]}
    if like is not None:
        for k in ("y", "x"):
            if k in like.coords and like.sizes[k] == arr.shape[dims.index(k)]:
                coords[k] = like.coords[k].values
    base = {"units": "px", "long_name": "optical flow"}
    base.update(attrs or {})
    return xr.DataArray(arr, dims=dims, coords=coords, attrs=base, name="flow")


def flow_pair(cube, *, start=None, end=None, positions: bool = False, engine: str = "tvl1",
              cache=True, **engine_params) -> xr.DataArray:
    """Optical flow between two frames of a clip (default onset -> apex).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x) or (time, y, x, channel)
        A clip (colour clips are converted to grey).
    start, end : int or str, optional
        The two frames: dataset frame numbers (the ``frame`` coordinate), or positions
        along ``time`` when ``positions=True``, or one of ``"onset"``, ``"apex"``,
        ``"offset"``, ``"first"``, ``"last"``. Defaults: ``start="onset"``,
        ``end="apex"`` (missing key frames default as in :func:`mer_lab.cube.key_frames`:
        onset = first frame, apex = middle of onset..offset).
    positions : bool
        Read integer ``start``/``end`` as positions (negative counts from the end).
    engine : str
        See :func:`optical_flow`.
    cache : bool or DiskCache
        ``True`` uses :func:`mer_lab.cache.default_cache`, a DiskCache uses that folder,
        ``False`` computes every time. Only clips with ``dataset`` and ``sample`` attrs
        are cached; keys hold the dataset, sample, frame numbers, engine, every engine
        parameter, the code and library versions and a digest of the two frames (so a
        cropped or resampled clip never reuses the flow of the raw one).
    **engine_params
        Engine parameters (see :func:`optical_flow`).

    Returns
    -------
    xarray.DataArray, dims (component, y, x), float32
        The flow, with the clip's metadata and ``start``, ``end`` (frame numbers),
        ``engine``, ``engine_params`` (JSON) in ``attrs``.

    Raises
    ------
    ValueError
        If a frame is not in the clip (e.g. an annotated apex outside it).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> from mer_lab.cube import make_cube
    >>> f0 = ndi.gaussian_filter(np.random.default_rng(0).random((48, 48)), 2)
    >>> frames = np.stack([ndi.shift(f0, (0, s), mode="wrap") for s in (0, 0.5, 1)])
    >>> cube = make_cube(frames, fps=100, onset=0, apex=2, offset=2)
    >>> flow = flow_pair(cube, engine="farneback", cache=False)
    >>> flow.dims, round(float(flow.sel(component="u").median()), 1)
    (('component', 'y', 'x'), 1.0)
    """
    cube = _grey_cube(cube)
    params = _resolve_params(engine, engine_params)
    store = resolve_cache(cache)
    kf_cache = {}

    def kf():
        if not kf_cache:
            kf_cache.update(key_frames(cube))
        return kf_cache

    p0 = _resolve_frame(cube, "onset" if start is None else start, name="start", positions=positions, kf=kf)
    p1 = _resolve_frame(cube, "apex" if end is None else end, name="end", positions=positions, kf=kf)
    flow = _pair_values(cube, p0, p1, engine, params, store)
    frames = cube["frame"].values
    return flow_dataarray(flow, like=cube, attrs=_flow_attrs(
        cube, engine, params, start=int(frames[p0]), end=int(frames[p1])))


def flow_sequence(cube, *, reference: str = "first", engine: str = "tvl1", cache=True,
                  n_jobs: int = 1, **engine_params) -> xr.DataArray:
    """Optical flow from a reference frame to every frame of a clip.

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
    reference : {"first", "onset", "offset", "previous"}
        ``"first"``: from the clip's first frame to frame i (MDMO, thesis Figure 3);
        ``"onset"``: from the onset frame to frame i (frames before the onset get the
        backward flow); ``"offset"``: from the offset frame to frame i;
        ``"previous"``: from frame i-1 to frame i (frame 0 gets zeros).
    engine, cache, **engine_params
        As in :func:`flow_pair`; pairs are cached individually, so a sequence shares
        entries with :func:`flow_pair` calls on the same frames.
    n_jobs : int
        Threads computing pairs concurrently (OpenCV releases the GIL); 1 = serial.

    Returns
    -------
    xarray.DataArray, dims (time, component, y, x), float32
        With the cube's ``time`` and ``frame`` coordinates; the reference frame's flow
        is zero. ``attrs`` hold the metadata, ``reference``, ``engine``, ``engine_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> from mer_lab.cube import make_cube
    >>> f0 = ndi.gaussian_filter(np.random.default_rng(0).random((48, 48)), 2)
    >>> cube = make_cube(np.stack([ndi.shift(f0, (0.3 * t, 0), mode="wrap") for t in range(4)]), fps=30)
    >>> seq = flow_sequence(cube, engine="farneback", cache=False)
    >>> [round(float(seq.isel(time=t).sel(component="v").median()), 1) for t in range(4)]
    [0.0, 0.3, 0.6, 0.9]
    """
    cube = _grey_cube(cube)
    check_choice("reference", reference, ("first", "onset", "offset", "previous"))
    params = _resolve_params(engine, engine_params)
    n_jobs = check_int("n_jobs", n_jobs, low=1)
    store = resolve_cache(cache)
    n = cube.sizes["time"]
    if reference == "first":
        pairs = [(0, i) for i in range(n)]
    elif reference in ("onset", "offset"):
        r = key_frames(cube)[reference]
        pairs = [(r, i) for i in range(n)]
    else:
        pairs = [(max(i - 1, 0), i) for i in range(n)]

    def one(pair):
        return _pair_values(cube, pair[0], pair[1], engine, params, store)

    if n_jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_jobs) as pool:
            flows = list(pool.map(one, pairs))
    else:
        flows = [one(p) for p in pairs]
    out = flow_dataarray(np.stack(flows), like=cube, attrs=_flow_attrs(cube, engine, params, reference=reference))
    return out.assign_coords(time=cube["time"].values, frame=("time", cube["frame"].values))


# --------------------------------------------------------------------------- inputs of features
def as_flow(data) -> tuple[np.ndarray, np.ndarray | None]:
    """Split a precomputed flow into ``(flow (2, ..., H, W), strain or None)``.

    Accepts a ``(2, H, W)`` array, a ``(3, H, W)`` array read as ``(u, v, strain)``, a
    DataArray with a ``component`` dim whose coords include ``"u"``, ``"v"`` and
    optionally ``"strain"`` (the precomputed flow images loader), or a flow sequence
    ``(time, component, y, x)``.
    """
    strain = None
    if isinstance(data, xr.DataArray):
        if "component" not in data.dims:
            raise ValueError(f"a flow DataArray needs a 'component' dim, got dims {data.dims}")
        lead = ("time",) if "time" in data.dims else ()
        data = data.transpose(*lead, "component", "y", "x")
        comps = [str(c) for c in data["component"].values] if "component" in data.coords else ["u", "v", "strain"][: data.sizes["component"]]
        if "u" not in comps or "v" not in comps:
            raise ValueError(f"a flow DataArray needs components 'u' and 'v', got {comps}")
        vals = data.values
        flow = np.stack([vals[..., comps.index("u"), :, :], vals[..., comps.index("v"), :, :]], axis=-3)
        if "strain" in comps:
            strain = vals[..., comps.index("strain"), :, :]
        return check_array("flow", flow).astype(np.float32, copy=False), strain
    arr = check_array("flow", data, ndim=(3, 4))
    if arr.shape[-3] == 3:
        strain = arr[..., 2, :, :]
        arr = arr[..., :2, :, :]
    elif arr.shape[-3] != 2:
        raise ValueError(f"a flow array must have shape (2, H, W) or (3, H, W) (u, v[, strain]), got {arr.shape}")
    return arr.astype(np.float32, copy=False), strain


def _is_cube(data) -> bool:
    return isinstance(data, xr.DataArray) and "component" not in data.dims and "time" in data.dims


def pair_flow_and_strain(data, *, align: str = "none", engine: str = "tvl1", cache=True, **engine_params):
    """``(flow (2, H, W), strain (H, W))`` of a feature's input.

    ``data`` is a cube (onset -> apex flow computed with ``engine``; strain from it) or a
    precomputed flow (see :func:`as_flow`; its strain channel is used when present,
    otherwise the strain is computed from ``u`` and ``v``). ``align`` (``"none"``,
    ``"translation"``, ``"affine"``) removes the global motion first
    (:func:`remove_global_motion`); the strain is then computed from the aligned flow
    (a precomputed strain channel is kept as it is).
    """
    check_choice("align", align, ("none",) + _MOTION_MODELS)
    if _is_cube(data):
        flow = flow_pair(data, engine=engine, cache=cache, **engine_params).values
        strain = None
    else:
        flow, strain = as_flow(data)
        if flow.ndim != 3:
            raise ValueError(f"expected one flow field (2, H, W), got shape {flow.shape}; "
                             "select one time step of a flow sequence")
    if align != "none":
        flow = remove_global_motion(flow, model=align)
    if strain is None:
        strain = optical_strain(flow)
    return flow, np.asarray(strain, np.float32)


def sequence_flow(data, *, reference: str = "first", align: str = "none", engine: str = "tvl1", cache=True,
                  **engine_params) -> np.ndarray:
    """``(T, 2, H, W)`` flow of a feature's input: a cube (computed) or a precomputed
    sequence; a single ``(2, H, W)`` flow is read as a one-step sequence. ``align`` as in
    :func:`pair_flow_and_strain`, per time step."""
    check_choice("align", align, ("none",) + _MOTION_MODELS)
    if _is_cube(data):
        seq = flow_sequence(data, reference=reference, engine=engine, cache=cache, **engine_params).values
    else:
        seq, _ = as_flow(data)
        seq = seq[None] if seq.ndim == 3 else seq
    if align != "none":
        seq = np.stack([remove_global_motion(f, model=align) if f.any() else f for f in seq])
    return seq


# --------------------------------------------------------------------------- corpus averages
def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity transform (rotation, uniform scale, shift) src -> dst."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    U, S, Vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.diag([1.0, d])
    R = U @ D @ Vt
    scale = np.trace(np.diag(S) @ D) / max((a ** 2).sum() / len(src), 1e-12)
    A = scale * R
    return np.column_stack([A, mu_d - A @ mu_s])


def _truth_landmarks(corpus, uid, cube):
    """Onset landmarks (68, 2) of a clip from the corpus ground truth, or None."""
    if not getattr(corpus, "has_ground_truth", False):
        return None
    gt = corpus.ground_truth(uid)
    if gt is None or "landmarks" not in gt:
        return None
    lm = gt["landmarks"]
    if "coord" in lm.dims and "coord" in lm.coords and lm["coord"].dtype.kind in "UO":
        lm = lm.sel(coord=["x", "y"])
    if "time" in lm.dims:
        pos = key_frames(cube)["onset"]
        if "frame" in lm.coords and cube.attrs.get("onset") is not None:
            matches = np.nonzero(lm["frame"].values == cube.attrs["onset"])[0]
            pos = int(matches[0]) if matches.size else pos
        lm = lm.isel(time=pos)
    return np.asarray(lm.values, dtype=np.float64).reshape(-1, 2)


def class_average_apex_flow(corpus, *, engine: str = "farneback", register: str = "auto",
                            landmarks=None, shape=None, by: str = "label", align: str = "none",
                            n_jobs: int = 1, cache=True, **engine_params) -> xr.Dataset:
    """Per-class average of the onset -> apex flow of a corpus (thesis Figure 4).

    Parameters
    ----------
    corpus : mer_lab.datasets.corpus.Corpus
        Clips (cubes) or precomputed flows (``(component, y, x)`` DataArrays).
    engine : str
        Flow engine for clips (see :func:`optical_flow`).
    register : {"auto", "landmarks", "none"}
        ``"landmarks"``: each sample's flow is resampled onto a common face frame by the
        similarity transform (rotation, scale, shift) taking its onset landmarks onto
        the mean onset shape, so that eyes, brows and mouth line up before averaging;
        flow vectors are rotated and scaled with it. ``"none"``: plain pixel-wise
        average (clips of other sizes are resized to ``shape``). ``"auto"``: landmarks
        when they are available (``landmarks`` given or ground truth with landmarks),
        otherwise none.
    landmarks : callable, optional
        ``landmarks(uid, cube) -> (68, 2)`` onset landmarks ``(x, y)``; default the
        corpus ground truth (synthetic corpora).
    shape : (int, int), optional
        ``(H, W)`` of the output; default the first clip's size.
    by : str
        Samples-table column to group by (``"label"`` or ``"emotion"``).
    align : {"none", "translation", "affine"}
        Remove each flow's global (head) motion first (:func:`remove_global_motion`),
        so that the maps show the expression rather than head drift.
    n_jobs : int
        Threads computing flows concurrently.
    cache, **engine_params
        See :func:`flow_pair`.

    Returns
    -------
    xarray.Dataset, dims (class, y, x)
        ``magnitude`` (mean of the per-sample magnitude maps, px), ``u`` and ``v``
        (mean flow, px) and ``count`` (samples per class, dim ``class``); attrs
        ``registration`` ("landmarks" or "none"), ``engine`` and ``corpus``.

    Notes
    -----
    The magnitude map is averaged (not the magnitude of the mean flow): opposite
    motions of different samples must not cancel in the picture.
    """
    import cv2

    check_choice("register", register, ("auto", "landmarks", "none"))
    check_choice("align", align, ("none",) + _MOTION_MODELS)
    check_choice("by", by, tuple(corpus.samples.columns))
    n_jobs = check_int("n_jobs", n_jobs, low=1)
    uids = corpus.uids
    if not uids:
        raise ValueError("the corpus holds no samples")

    def one(uid):
        data = corpus.cube(uid)
        if "component" in data.dims:
            flow, _ = as_flow(data)
            return (remove_global_motion(flow, model=align) if align != "none" else flow), None
        flow = flow_pair(data, engine=engine, cache=cache, **engine_params).values
        if align != "none":
            flow = remove_global_motion(flow, model=align)
        lm = None
        if register != "none":
            lm = landmarks(uid, data) if landmarks is not None else _truth_landmarks(corpus, uid, data)
        return flow, lm

    if n_jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_jobs) as pool:
            results = list(pool.map(one, uids))
    else:
        results = [one(u) for u in uids]
    flows = [r[0] for r in results]
    lms = [r[1] for r in results]
    if shape is None:
        shape = flows[0].shape[1:]
    h, w = (check_int("shape[0]", shape[0], low=2), check_int("shape[1]", shape[1], low=2))
    use_lm = register == "landmarks" or (register == "auto" and all(lm is not None for lm in lms))
    if register == "landmarks" and any(lm is None for lm in lms):
        missing = [u for u, lm in zip(uids, lms) if lm is None][:3]
        raise ValueError(f"register='landmarks' but no landmarks for {missing} ...; pass landmarks= "
                         "or use register='none'")
    if use_lm:
        stack = np.stack(lms)
        ref_size = flows[0].shape[1:]
        mean_shape = stack.mean(axis=0)
        for _ in range(2):  # generalised Procrustes: align to the mean, re-average
            mean_shape = np.mean([_apply(_similarity(lm, mean_shape), lm) for lm in stack], axis=0)
        # place the mean shape in the output frame (rescaled from the first clip's frame)
        sy, sx = h / ref_size[0], w / ref_size[1]
        mean_shape = mean_shape * np.array([sx, sy])
    labels = corpus.samples[by].astype(str).to_numpy()
    classes = sorted(set(labels))
    idx = {c: i for i, c in enumerate(classes)}
    mag_sum = np.zeros((len(classes), h, w))
    u_sum = np.zeros((len(classes), h, w))
    v_sum = np.zeros((len(classes), h, w))
    count = np.zeros(len(classes), np.int64)
    for flow, lm, lab in zip(flows, lms, labels):
        if use_lm:
            T = _similarity(lm, mean_shape)
            warped = np.stack([cv2.warpAffine(np.ascontiguousarray(c), T, (w, h), flags=cv2.INTER_LINEAR,
                                              borderMode=cv2.BORDER_CONSTANT, borderValue=0) for c in flow])
            A = T[:, :2]
            warped = np.einsum("ij,jhw->ihw", A, warped)  # vectors turn and scale with the face
        elif flow.shape[1:] != (h, w):
            fy, fx = h / flow.shape[1], w / flow.shape[2]
            warped = np.stack([cv2.resize(flow[0], (w, h)) * fx, cv2.resize(flow[1], (w, h)) * fy])
        else:
            warped = flow
        k = idx[lab]
        mag_sum[k] += np.hypot(warped[0], warped[1])
        u_sum[k] += warped[0]
        v_sum[k] += warped[1]
        count[k] += 1
    n = count[:, None, None].astype(np.float64)
    dims = ("class", "y", "x")
    coords = {"class": classes, "y": np.arange(h), "x": np.arange(w)}
    return xr.Dataset(
        {
            "magnitude": (dims, (mag_sum / n).astype(np.float32), {"units": "px", "long_name": "mean flow magnitude"}),
            "u": (dims, (u_sum / n).astype(np.float32), {"units": "px", "long_name": "mean horizontal flow"}),
            "v": (dims, (v_sum / n).astype(np.float32), {"units": "px", "long_name": "mean vertical flow"}),
            "count": (("class",), count, {"long_name": "samples"}),
        },
        coords=coords,
        attrs={"registration": "landmarks" if use_lm else "none", "engine": engine, "align": align,
               "corpus": str(getattr(corpus, "name", "")), "grouped_by": by},
    )


def _apply(T, pts):
    return pts @ T[:, :2].T + T[:, 2]
