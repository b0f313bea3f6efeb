"""Gradient-orientation histograms on three orthogonal planes: HOG-TOP and HIGO-TOP.

For every voxel of a grey clip the spatio-temporal gradient ``(I_t, I_y, I_x)`` is taken
with central differences. Each of the three planes sees two of its components:

* ``XY``: ``(I_x, I_y)`` -- angle ``atan2(I_y, I_x)`` (y grows downwards);
* ``XT``: ``(I_x, I_t)`` -- angle ``atan2(I_t, I_x)``;
* ``YT``: ``(I_y, I_t)`` -- angle ``atan2(I_t, I_y)``,

i.e. on a plane with rows ``a`` and columns ``b`` (see :mod:`mer_lab.features.lbp`) the
angle is ``atan2(dI/da, dI/db)``. Angles are quantised into ``bins`` equal bins over
``[0, pi)`` (``signed=False``: a gradient and its opposite vote alike, as in Dalal-Triggs
HOG) or ``[0, 2 pi)``. Histograms are built per block and plane, in the block layout of
LBP-TOP, and normalised to sum 1.

* HOG-TOP weights each vote by the gradient magnitude on that plane,
  ``sqrt(d_a^2 + d_b^2)``.
* HIGO-TOP counts votes without weights (so a dim and a bright edge count alike, which
  makes it robust to illumination changes); voxels whose in-plane gradient is exactly
  zero have no orientation and do not vote.

Votes go to a single bin (no interpolation between bins or blocks); an angle within
1e-4 of a bin width below a bin's lower edge counts in that bin, so that gradients
exactly on an edge (e.g. along an axis) land in the same bin whatever the rounding.
Gradients are computed in float32. Centres are the voxels at least one voxel from every
border.

References
----------
.. [1] X. Li, X. Hong, A. Moilanen, X. Huang, T. Pfister, G. Zhao and M. Pietikäinen,
   "Towards reading hidden emotions: a comparative study of spontaneous micro-expression
   spotting and recognition methods", IEEE Trans. Affective Computing 9(4), 563-577, 2018.
   doi:10.1109/TAFFC.2017.2667642
.. [2] N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection",
   CVPR 2005. doi:10.1109/CVPR.2005.177
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from . import _lbp_kernels as K
from .base import CubeFeatures
from .lbp import _block_tags, as_volume, centre_region, check_blocks, check_overlap

__all__ = [
    "gradient_planes",
    "hog_top",
    "hog_top_names",
    "higo_top",
    "higo_top_names",
    "HOGTOP",
    "HIGOTOP",
]

# fraction of a bin by which exact bin edges are moved down (float32 angles)
_EDGE_TOLERANCE = 1e-4
# which gradient components (row component, column component) each plane sees
_PLANE_COMPONENTS = {"XY": ("y", "x"), "XT": ("t", "x"), "YT": ("t", "y")}


def gradient_planes(cube) -> dict:
    """Central-difference gradient components over the centre region (margin 1).

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)

    Returns
    -------
    dict
        ``{"t": I_t, "y": I_y, "x": I_x}``, float64 arrays of shape (T-2, Y-2, X-2), in grey
        levels per frame / per pixel: ``I_x = (I(x+1) - I(x-1)) / 2`` and so on.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.broadcast_to(np.arange(6.0) * 3, (3, 4, 6))
    >>> g = gradient_planes(ramp)
    >>> float(g["x"].min()), float(g["x"].max()), float(abs(g["t"]).max())
    (3.0, 3.0, 0.0)
    """
    vol = as_volume(cube)
    start, stop = centre_region(vol.shape, (1, 1, 1), radii_name="gradient")
    return _gradients(vol, start, stop, np.float64)


def _gradients(vol, start, stop, dtype):
    s = K.RegionSampler(vol.astype(dtype, copy=False), start, stop)
    out = {}
    for name, axis in (("t", 0), ("y", 1), ("x", 2)):
        plus = [0, 0, 0]
        minus = [0, 0, 0]
        plus[axis], minus[axis] = 1, -1
        d = s.shifted(plus) - s.shifted(minus)
        d *= 0.5
        out[name] = d
    return out


def _orientation_features(cube, bins, signed, blocks, overlap, normalise, weighted):
    bins = check_int("bins", bins, low=1, high=360)
    if not isinstance(signed, (bool, np.bool_)):
        raise ValueError(f"signed must be True or False, got {signed!r}")
    blocks = check_blocks(blocks)
    overlap = check_overlap(overlap)
    vol = as_volume(cube)
    start, stop = centre_region(vol.shape, (1, 1, 1), blocks, radii_name="gradient (central differences)")
    shape = tuple(b - a for a, b in zip(start, stop))
    # float32: exact differences of 8/16-bit clips, and several times faster trigonometry
    grads = _gradients(vol, start, stop, np.float32)
    period = 2 * np.pi if signed else np.pi
    hists = []
    for plane in K.PLANES:
        a, b = _PLANE_COMPONENTS[plane]
        da, db = grads[a], grads[b]
        angle = np.arctan2(da, db)                       # [-pi, pi]
        # into [0, period]: np.mod is slow on floats, a masked add is not
        angle += (angle < 0) * np.float32(period)
        if not signed:
            angle -= (angle >= np.float32(np.pi)) * np.float32(np.pi)
        # a hair above each lower bin edge counts in that bin (exact edges such as the
        # axes would otherwise fall either side depending on rounding); the top edge
        # (2 pi, or pi) wraps to bin 0
        label = (angle * np.float32(bins / period) + np.float32(_EDGE_TOLERANCE)).astype(np.intp)
        label -= (label >= bins) * bins
        if weighted:
            weights = np.sqrt(da * da + db * db)
        else:
            weights = ((da != 0) | (db != 0)).astype(np.float32)
        h = K.block_histograms(label, bins, shape, blocks, overlap, weights=weights)
        if normalise:
            K.normalise_rows(h)
        hists.append(h)
    return np.concatenate(hists, axis=1).ravel()


def hog_top(cube, *, bins: int = 8, signed: bool = False, blocks=(8, 8, 1), overlap: float = 0.0,
            normalise: bool = True) -> np.ndarray:
    """HOG-TOP: magnitude-weighted gradient-orientation histograms on XY, XT and YT.

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)
        A grey clip.
    bins : int, default 8
        Orientation bins per plane.
    signed : bool, default False
        ``False``: orientations modulo pi (opposite gradients share a bin); ``True``: the
        full circle.
    blocks : triple of int, default (8, 8, 1)
        Blocks along rows, columns and time (as in :func:`~mer_lab.features.lbp.lbp_top`).
    overlap : float in [0, 1), default 0
        Fraction of a block's size shared by neighbouring blocks.
    normalise : bool, default True
        Divide each block/plane histogram by its sum (blocks without gradient stay zero).

    Returns
    -------
    ndarray of float64, shape (n_blocks * 3 * bins,)
        Blocks in C order over (row, col, time); per block the XY, XT and YT histograms.

    Notes
    -----
    With ``theta = atan2(g_a, g_b)`` on a plane with gradient components ``(g_a, g_b)``,
    bin ``floor(theta mod period / period * bins)`` receives ``sqrt(g_a^2 + g_b^2)``.

    References
    ----------
    X. Li et al., IEEE Trans. Affective Computing 9(4), 563-577, 2018.
    doi:10.1109/TAFFC.2017.2667642

    Examples
    --------
    >>> import numpy as np
    >>> v = hog_top(np.random.default_rng(0).random((6, 20, 20)), blocks=(2, 2, 1))
    >>> v.shape, float(v[:8].sum())
    ((96,), 1.0)
    """
    return _orientation_features(cube, bins, signed, blocks, overlap, normalise, weighted=True)


def higo_top(cube, *, bins: int = 8, signed: bool = False, blocks=(8, 8, 1), overlap: float = 0.0,
             normalise: bool = True) -> np.ndarray:
    """HIGO-TOP: unweighted gradient-orientation histograms on XY, XT and YT.

    Same parameters, layout and binning as :func:`hog_top`, but every voxel with a
    non-zero in-plane gradient casts one vote regardless of the gradient's magnitude.

    References
    ----------
    X. Li et al., IEEE Trans. Affective Computing 9(4), 563-577, 2018.
    doi:10.1109/TAFFC.2017.2667642

    Examples
    --------
    >>> import numpy as np
    >>> higo_top(np.random.default_rng(0).random((6, 20, 20)), bins=4, blocks=(1, 1, 1)).shape
    (12,)
    """
    return _orientation_features(cube, bins, signed, blocks, overlap, normalise, weighted=False)


def _names(prefix, bins, blocks):
    bins = check_int("bins", bins, low=1, high=360)
    blocks = check_blocks(blocks)
    return [f"{prefix}_{tag}_{plane}_{b}" for tag in _block_tags(blocks) for plane in K.PLANES
            for b in range(bins)]


def hog_top_names(*, bins: int = 8, blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`hog_top`: ``hogtop_r{row}c{col}t{time}_{plane}_{bin}``."""
    return _names("hogtop", bins, blocks)


def higo_top_names(*, bins: int = 8, blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`higo_top`: ``higotop_r{row}c{col}t{time}_{plane}_{bin}``."""
    return _names("higotop", bins, blocks)


class HOGTOP(CubeFeatures):
    """scikit-learn transformer for :func:`hog_top` (X = sequence of grey cubes)."""

    def __init__(self, *, bins=8, signed=False, blocks=(8, 8, 1), overlap=0.0, normalise=True):
        self.bins = bins
        self.signed = signed
        self.blocks = blocks
        self.overlap = overlap
        self.normalise = normalise

    _function = staticmethod(hog_top)
    _names_function = staticmethod(hog_top_names)
    _name_params = ("bins", "blocks")


class HIGOTOP(HOGTOP):
    """scikit-learn transformer for :func:`higo_top` (same parameters as :class:`HOGTOP`)."""

    _function = staticmethod(higo_top)
    _names_function = staticmethod(higo_top_names)
