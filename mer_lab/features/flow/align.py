"""Alignment in the flow domain: fit the global (head) motion of a flow and remove it.

One fit serves every method that aligns faces this way: :func:`fit_motion` samples the
flow (at all pixels on a grid, or at stable points with :func:`sample_flow`) and fits a
translation or an affine displacement by (trimmed) least squares. :func:`global_motion`
and :func:`remove_global_motion` (HOOF, Bi-WOOF, FDM, the apex helper, the dashboard)
and MDMO's :func:`mer_lab.features.mdmo.align_flow` all call it.

A motion model is a ``(2, 3)`` matrix ``D`` of the *displacement*:
``(u, v)(x, y) = D @ [x, y, 1]``. The point map of the same motion is
``[x', y'] = (D + [I | 0]) @ [x, y, 1]``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..._validate import check_array, check_choice, check_int, check_number
from .strain import _flow_array

__all__ = ["MOTION_MODELS", "sample_flow", "fit_motion", "motion_field", "global_motion", "remove_global_motion"]

#: The motion models of :func:`fit_motion`.
MOTION_MODELS = ("translation", "affine")
_MOTION_MODELS = MOTION_MODELS


def sample_flow(flow, points, *, radius: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Flow at points: the mean over a ``(2 radius + 1)^2`` window at each point's nearest pixel.

    Parameters
    ----------
    flow : array_like, shape (2, H, W)
    points : array_like, shape (K, 2)
        ``(x, y)`` positions; points whose nearest pixel lies outside the image are left out.
    radius : int
        Window radius in pixels (0: the nearest pixel alone). Only the part of a window
        inside the image is used.

    Returns
    -------
    displacements : ndarray, shape (K', 2)
        Mean ``(u, v)`` of each window, for the K' points inside the image.
    positions : ndarray, shape (K', 2)
        ``(x, y)`` the samples belong to: the centroid of each (clipped) window. The mean
        of an affine field over a window is its value at the window's centroid, so an
        affine flow sampled this way is fitted exactly.
    """
    f = np.asarray(flow, dtype=np.float64)
    pts = check_array("points", points, ndim=2, dtype=np.float64)
    if pts.shape[1] != 2:
        raise ValueError(f"points must have shape (K, 2) of (x, y), got {pts.shape}")
    radius = check_int("radius", radius, low=0)
    h, w = f.shape[-2:]
    centres = np.round(pts).astype(int)
    inside = (centres[:, 0] >= 0) & (centres[:, 0] <= w - 1) & (centres[:, 1] >= 0) & (centres[:, 1] <= h - 1)
    c = centres[inside]
    off = np.arange(-radius, radius + 1)
    xs = c[:, 0][:, None, None] + off[None, None, :]
    ys = c[:, 1][:, None, None] + off[None, :, None]
    xs, ys = np.broadcast_arrays(xs, ys)
    valid = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    n = valid.sum(axis=(-1, -2))
    samples = f[:, np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)]          # (2, K', k, k)
    mean = (samples * valid).sum(axis=(-1, -2)) / n
    centroid = np.stack([(xs * valid).sum((-1, -2)), (ys * valid).sum((-1, -2))], -1) / n[:, None]
    return mean.T, centroid


def fit_motion(flow, *, model: str = "affine", points=None, displacements=None, radius: int = 2,
               trim: float = 0.25, iterations: int = 3, step: int = 2) -> np.ndarray:
    """Fit the global motion of a flow: the ``(2, 3)`` displacement matrix ``D``.

    Parameters
    ----------
    flow : array_like, shape (2, H, W)
    model : {"translation", "affine"}
        ``"translation"``: one displacement for the whole face (``D[:, :2] = 0``);
        ``"affine"``: ``d(x, y) = D [x, y, 1]^T`` (shift, rotation, scale and shear).
    points : array_like, shape (K, 2), optional
        ``(x, y)`` positions of stable points; the model is fitted on the flow sampled
        there by :func:`sample_flow` (or on ``displacements``). Default: all pixels on a
        grid of stride ``step``.
    displacements : array_like, shape (K, 2), optional
        Known ``(dx, dy)`` of the points instead of the flow at the points.
    radius : int
        Window radius of :func:`sample_flow` (points only).
    trim : float
        Robust fit: after each fit the fraction ``trim`` of samples with the largest
        residuals (the expression's own motion) is left out of the next fit.
    iterations : int
        Number of fits (1 = plain least squares).
    step : int
        Pixel stride of the samples when fitting on all pixels.

    Returns
    -------
    ndarray, shape (2, 3), float64
        ``D`` with ``(u, v) = D @ [x, y, 1]``.

    Raises
    ------
    ValueError
        If fewer samples than the model needs (1 for a translation, 3 for an affine
        map) lie inside the image.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:30, 0:40].astype(float)
    >>> flow = np.stack([0.02 * xx + 1.0, -0.01 * yy - 0.5])
    >>> (np.round(fit_motion(flow, step=1), 3) + 0.0).tolist()   # + 0.0: no negative zeros
    [[0.02, 0.0, 1.0], [0.0, -0.01, -0.5]]
    """
    f = _flow_array(flow).astype(np.float64)
    if f.ndim != 3:
        raise ValueError(f"flow must be one field (2, H, W), got {f.shape}")
    check_choice("model", model, MOTION_MODELS)
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
        n_given = len(xy)
    else:
        pts = check_array("points", points, ndim=2).astype(np.float64)
        if pts.shape[1] != 2:
            raise ValueError(f"points must have shape (K, 2) of (x, y), got {pts.shape}")
        n_given = len(pts)
        if displacements is None:
            d, xy = sample_flow(f, pts, radius=radius)
        else:
            xy = pts
            d = check_array("displacements", displacements, ndim=2).astype(np.float64)
            if d.shape != xy.shape:
                raise ValueError(f"displacements must have the shape of points {xy.shape}, got {d.shape}")
    need = 1 if model == "translation" else 3
    if len(xy) < need:
        raise ValueError(f"model={model!r} needs at least {need} points inside the {w}x{h} image, got "
                         f"{len(xy)} (of {n_given} given)")
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
    D = np.zeros((2, 3))
    if model == "translation":
        D[:, 2] = coef[0]
    else:
        D[:] = coef.T
    return D


def motion_field(D, shape) -> np.ndarray:
    """The ``(2, H, W)`` float32 displacement field ``D @ [x, y, 1]`` of a motion model."""
    D = np.asarray(D, dtype=np.float64)
    h, w = shape
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack([D[c, 0] * gx + D[c, 1] * gy + D[c, 2] for c in (0, 1)]).astype(np.float32)


def global_motion(flow, *, model: str = "affine", points=None, displacements=None, radius: int = 2,
                  trim: float = 0.25, iterations: int = 3, step: int = 2) -> np.ndarray:
    """The global (head) motion in a flow field, as a ``(2, H, W)`` flow.

    Parameters
    ----------
    flow : array_like, shape (2, H, W)
    model, points, displacements, radius, trim, iterations, step
        See :func:`fit_motion`: ``points`` are e.g. the inner eye corners and the nose,
        which micro-expressions hardly move; the flow is averaged over a small window
        around each (``radius``). Default: fitted on all pixels, trimmed.

    Returns
    -------
    numpy.ndarray, shape (2, H, W), float32
        The fitted global motion; subtract it to align (:func:`remove_global_motion`).

    Notes
    -----
    The fit solves ``min_D sum_i ||D [x_i, y_i, 1]^T - d_i||^2`` by least squares (the
    two rows of ``D`` independently); MDMO and FDM align faces this way in the flow
    domain instead of warping the frames.
    """
    f = _flow_array(flow)
    D = fit_motion(f, model=model, points=points, displacements=displacements, radius=radius, trim=trim,
                   iterations=iterations, step=step)
    return motion_field(D, f.shape[-2:])


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
