"""Histograms of oriented optical flow (HOOF; Chaudhry et al. 2009).

Angles follow the image axes of the flow convention (``v`` grows downwards):
``atan2(v, u)`` is 0 deg for motion to the right, +90 deg down, +-180 deg left and
-90 deg (= 270 deg) up, so angles grow *clockwise* on the screen.

Bin layouts
-----------
``symmetric=False`` (full circle), ``centred=False``
    bin k covers ``[k * 360/B, (k+1) * 360/B)`` degrees: with 8 bins, bin 0 is
    right..down-right, bin 2 down..down-left, bin 4 left..up-left, bin 6 up..up-right.
``symmetric=False``, ``centred=True``
    bin 0 is centred on "right": with ``bins=4`` the bins are right, down, left, up
    (the thesis's "4 bins = right, left, up, down", in this order);
    :func:`hoof_bin_names` gives the names.
``symmetric=True`` (Chaudhry et al.)
    a vector and its mirror image about the vertical axis share a bin: the angle is
    folded to ``atan2(v, |u|)`` in [-90, 90] deg and the B bins run from straight up
    (-90) to straight down (+90); so left and right motions are not told apart, which
    makes the histogram invariant to the subject facing left or right.

Each bin sums the magnitudes of its vectors (``weighted=True``) or counts them; zero
vectors, whose direction is undefined, add nothing. ``normalise=True`` scales each
block's histogram to sum 1 (an all-zero block stays zero: never NaN).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._validate import check_choice, check_int
from .base import CubeFeatures
from .blocks import block_labels, check_grid
from .flow import pair_flow_and_strain, sequence_flow

__all__ = [
    "angle_bins",
    "orientation_histograms",
    "hoof",
    "hoof_bin_names",
    "hoof_names",
    "clip_hoof",
    "HOOF",
]


def _check_blocks(blocks, name="blocks") -> tuple[int, int]:
    """``(rows, cols)`` of a 2-D block grid (an int: the same both ways)."""
    return check_grid(blocks, 2, name)


def angle_bins(angle, *, bins: int, start: float = 0.0, symmetric: bool = False,
               closed_last: bool = False) -> np.ndarray:
    """Orientation bin of each angle (radians).

    Parameters
    ----------
    angle : array_like
        Angles in radians (any range; ``atan2(v, u)`` gives [-pi, pi]).
    bins : int
        Number of bins B.
    start : float
        Full circle: the lower edge of bin 0, in radians. Bins are half-open
        ``[start + k w, start + (k+1) w)`` with ``w = 2 pi / B``, taken modulo 2 pi.
        Ignored when ``symmetric``.
    symmetric : bool
        Fold the angle about the vertical axis to [-pi/2, pi/2] (``angle`` must then be
        ``atan2(v, |u|)``, see :func:`orientation_histograms`) and split that interval
        into B bins (-pi/2 in bin 0, +pi/2 in bin B-1).
    closed_last : bool
        Full circle: the bins span ``[start, start + 2 pi]`` and the last bin is closed,
        so an angle exactly on ``start`` (the same direction as ``start + 2 pi``) falls in
        the last bin rather than the first. With ``start=-pi`` this is Bi-WOOF's layout:
        +-180 deg in the last bin, 0 deg in bin B/2.

    Returns
    -------
    numpy.ndarray of int64, same shape as ``angle``
    """
    bins = check_int("bins", bins, low=1)
    a = np.asarray(angle, dtype=np.float64)
    if symmetric:
        k = np.floor((a + np.pi / 2) / (np.pi / bins)).astype(np.int64)
        return np.clip(k, 0, bins - 1)
    width = 2 * np.pi / bins
    t = np.mod(a - start, 2 * np.pi)
    k = np.atleast_1d(np.minimum(np.floor(t / width).astype(np.int64), bins - 1))  # rounding below 2 pi
    if closed_last:
        k[np.atleast_1d(t) == 0] = bins - 1
    return k.reshape(a.shape)


def orientation_histograms(flow, *, bins: int = 8, blocks=(1, 1), start: float = 0.0,
                           symmetric: bool = False, closed_last: bool = False, weights=None,
                           weighted: bool = True, normalise: bool = True) -> np.ndarray:
    """Per-block histograms of flow directions (the kernel of HOOF and Bi-WOOF).

    Parameters
    ----------
    flow : numpy.ndarray, shape (2, H, W)
    bins, start, symmetric, closed_last
        See :func:`angle_bins`; angles are ``atan2(v, u)`` with -pi read as +pi (one
        direction, one bin, whatever the sign of a zero ``v``).
    blocks : (int, int)
        Grid of rows x cols blocks, cut by the rule of :mod:`mer_lab.features.blocks`.
    weights : numpy.ndarray, shape (H, W), optional
        Per-pixel weights; default the flow magnitude (``weighted=True``) or 1 for
        every non-zero vector (``weighted=False``).
    normalise : bool
        Scale each block's histogram to sum 1 (all-zero blocks stay zero).

    Returns
    -------
    numpy.ndarray, shape (rows * cols, bins), float64
    """
    f = np.asarray(flow, dtype=np.float64)
    u, v = f[0], f[1]
    mag = np.hypot(u, v)
    if symmetric:
        ang = np.arctan2(v, np.abs(u))
    else:
        ang = np.arctan2(v, u)
        ang = np.where(ang == -np.pi, np.pi, ang)  # -0.0 in v: one direction, one bin
    k = angle_bins(ang, bins=bins, start=start, symmetric=symmetric, closed_last=closed_last)
    if weights is None:
        weights = mag if weighted else (mag > 0).astype(np.float64)
    else:
        weights = np.where(mag > 0, np.asarray(weights, dtype=np.float64), 0.0)
    rows, cols = _check_blocks(blocks)
    lab = block_labels(mag.shape, (rows, cols))
    hist = np.bincount((lab * bins + k).ravel(), weights=weights.ravel(),
                       minlength=rows * cols * bins).reshape(rows * cols, bins)
    if normalise:
        total = hist.sum(axis=1, keepdims=True)
        hist = np.divide(hist, total, out=np.zeros_like(hist), where=total > 0)
    return hist


def _start(bins, centred):
    return -np.pi / bins if centred else 0.0


def hoof(data, *, bins: int = 8, symmetric: bool = False, centred: bool = False,
         weighted: bool = True, blocks=(1, 1), normalise: bool = True, align: str = "none",
         engine: str = "tvl1", cache=None, **engine_params) -> np.ndarray:
    """HOOF of one flow field: orientation histogram(s) weighted by flow magnitude.

    Parameters
    ----------
    data : cube or flow
        A clip (its onset -> apex flow is computed with ``engine``), or a flow
        ``(2, H, W)`` array / ``(component, y, x)`` DataArray.
    bins : int
        Number of orientation bins (Chaudhry et al. used 30 with ``symmetric=True``;
        the thesis's example uses 4 with ``centred=True``).
    symmetric : bool
        Fold directions about the vertical axis (the original HOOF); see the module
        docstring for the bin layouts.
    centred : bool
        Full circle only: centre bin 0 on "right" instead of starting it there.
    weighted : bool
        Sum flow magnitudes per bin (HOOF) instead of counting vectors.
    blocks : (int, int)
        Spatial grid; one histogram per block, concatenated row by row.
    normalise : bool
        Each block's histogram sums to 1.
    align : {"none", "translation", "affine"}
        Remove the global (head) motion fitted to the flow before binning
        (:func:`mer_lab.features.flow.remove_global_motion`); off in the original.
    engine, cache, **engine_params
        Flow computation for cube input (see :func:`mer_lab.features.flow.flow_pair`).

    Returns
    -------
    numpy.ndarray, shape (rows * cols * bins,), float64
        Names in :func:`hoof_names`.

    Notes
    -----
    For a vector ``(u, v)`` with magnitude ``r`` and angle ``theta = atan2(v, u)``,
    bin ``b`` of the histogram is ``h_b = sum_{theta in bin b} r`` (or the count), and
    ``h / sum(h)`` when normalised. Chaudhry et al.'s symmetric variant bins
    ``atan2(v, |u|)`` in [-pi/2, pi/2].

    References
    ----------
    Chaudhry, Ravichandran, Hager & Vidal, "Histograms of oriented optical flow and
    Binet-Cauchy kernels on nonlinear dynamical systems for the recognition of human
    actions", CVPR 2009, doi:10.1109/CVPR.2009.5206821.

    Examples
    --------
    >>> import numpy as np
    >>> flow = np.zeros((2, 4, 4), np.float32)
    >>> flow[0] = -1.0                           # everything moves left
    >>> dict(zip(hoof_bin_names(4, centred=True), hoof(flow, bins=4, centred=True).tolist()))
    {'right': 0.0, 'down': 0.0, 'left': 1.0, 'up': 0.0}
    """
    bins = check_int("bins", bins, low=1)
    flow, _ = pair_flow_and_strain(data, align=align, engine=engine, cache=cache, **engine_params)
    h = orientation_histograms(flow, bins=bins, blocks=blocks, start=_start(bins, centred),
                               symmetric=symmetric, weighted=weighted, normalise=normalise)
    return h.ravel()


def hoof_bin_names(bins: int = 8, *, symmetric: bool = False, centred: bool = False) -> list[str]:
    """Human-readable names of the HOOF bins (angle ranges in degrees, image axes).

    ``bins=4, centred=True`` gives ``["right", "down", "left", "up"]``; other layouts
    give ranges such as ``"[0,45)"`` (angles clockwise on screen from "right"; for
    ``symmetric`` -90 is up and +90 down).
    """
    bins = check_int("bins", bins, low=1)
    if not symmetric and centred and bins == 4:
        return ["right", "down", "left", "up"]
    if not symmetric and centred and bins == 8:
        return ["right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right"]
    if symmetric:
        edges = np.linspace(-90, 90, bins + 1)
    else:
        s = np.degrees(_start(bins, centred))
        edges = s + np.arange(bins + 1) * 360.0 / bins
    return [f"[{_fmt(a)},{_fmt(b)})" for a, b in zip(edges[:-1], edges[1:])]


def _fmt(x):
    return f"{x:g}" if float(x).is_integer() else f"{x:.1f}"


def hoof_names(*, bins: int = 8, symmetric: bool = False, centred: bool = False, blocks=(1, 1),
               prefix: str = "hoof") -> list[str]:
    """Feature names matching :func:`hoof` (``<prefix>_r<row>c<col>_<bin>``)."""
    rows, cols = _check_blocks(blocks)
    names = hoof_bin_names(bins, symmetric=symmetric, centred=centred)
    return [f"{prefix}_r{r}c{c}_{n}" for r in range(rows) for c in range(cols) for n in names]


def clip_hoof(data, *, mode: str = "apex", bins: int = 8, symmetric: bool = False,
              centred: bool = False, weighted: bool = True, blocks=(5, 5), normalise: bool = True,
              align: str = "none", reference: str = "first", engine: str = "tvl1", cache=None,
              **engine_params) -> np.ndarray:
    """Clip-level HOOF feature.

    Parameters
    ----------
    data : cube or flow
        A clip, a flow ``(2, H, W)`` or a flow sequence ``(time, component, y, x)``.
    mode : {"apex", "mean"}
        ``"apex"``: HOOF of the onset -> apex flow (a single flow input is used as is);
        ``"mean"``: the mean of the per-frame HOOFs of the flow sequence (from
        ``reference`` to every frame; frames with no motion, such as the reference
        itself, are left out of the mean), renormalised when ``normalise``.
    blocks : (int, int)
        Grid of rows x cols blocks, one histogram each (default 5x5, the block HOOF of
        micro-expression work; ``(1, 1)`` is one whole-face histogram).
    reference : {"first", "onset", "previous"}
        For ``mode="mean"`` on a cube (see :func:`mer_lab.features.flow.flow_sequence`).
    Other parameters
        As in :func:`hoof`.

    Returns
    -------
    numpy.ndarray, shape (rows * cols * bins,)
    """
    check_choice("mode", mode, ("apex", "mean"))
    bins = check_int("bins", bins, low=1)
    kw = dict(bins=bins, blocks=blocks, start=_start(bins, centred), symmetric=symmetric,
              weighted=weighted, normalise=normalise)
    is_seq = isinstance(data, xr.DataArray) and "component" in data.dims and "time" in data.dims
    is_seq = is_seq or (isinstance(data, np.ndarray) and data.ndim == 4)
    if mode == "apex" and not is_seq:
        flow, _ = pair_flow_and_strain(data, align=align, engine=engine, cache=cache, **engine_params)
        return orientation_histograms(flow, **kw).ravel()
    if mode == "apex":
        raise ValueError("mode='apex' needs a cube or a single flow field; got a flow sequence "
                         "(use mode='mean', or select the apex time step)")
    seq = sequence_flow(data, reference=reference, align=align, engine=engine, cache=cache, **engine_params)
    hists = np.stack([orientation_histograms(f, **kw) for f in seq])
    moving = hists.reshape(len(seq), -1).sum(axis=1) > 0
    mean = hists[moving].mean(axis=0) if moving.any() else np.zeros_like(hists[0])
    if normalise:
        total = mean.sum(axis=1, keepdims=True)
        mean = np.divide(mean, total, out=np.zeros_like(mean), where=total > 0)
    return mean.ravel()


class HOOF(CubeFeatures):
    """scikit-learn transformer: clip-level HOOF (see :func:`clip_hoof`).

    ``X`` is a sequence of cubes or precomputed flows. ``blocks`` defaults to a 5x5
    grid (block HOOF); ``blocks=(1, 1)`` gives one whole-face histogram. ``engine_params`` is a dict of
    flow-engine parameters (see :func:`mer_lab.features.flow.optical_flow`).

    Examples
    --------
    >>> import numpy as np
    >>> flows = [np.stack([np.full((8, 8), s, np.float32), np.zeros((8, 8), np.float32)]) for s in (1, -1)]
    >>> import xarray as xr
    >>> X = [xr.DataArray(f, dims=("component", "y", "x"), coords={"component": ["u", "v"]}) for f in flows]
    >>> HOOF(bins=4, centred=True, blocks=(1, 1)).fit_transform(X).tolist()
    [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    """

    def __init__(self, *, mode="apex", bins=8, symmetric=False, centred=False, weighted=True,
                 blocks=(5, 5), normalise=True, align="none", reference="first", engine="tvl1",
                 cache=None, engine_params=None):
        self.mode = mode
        self.bins = bins
        self.symmetric = symmetric
        self.centred = centred
        self.weighted = weighted
        self.blocks = blocks
        self.normalise = normalise
        self.align = align
        self.reference = reference
        self.engine = engine
        self.cache = cache
        self.engine_params = engine_params

    def _extract(self, cube):
        return clip_hoof(cube, mode=self.mode, bins=self.bins, symmetric=self.symmetric,
                         centred=self.centred, weighted=self.weighted, blocks=self.blocks,
                         normalise=self.normalise, align=self.align, reference=self.reference, engine=self.engine,
                         cache=self.cache, **(self.engine_params or {}))

    def _names(self, cube):
        return hoof_names(bins=self.bins, symmetric=self.symmetric, centred=self.centred,
                          blocks=self.blocks)

