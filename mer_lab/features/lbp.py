"""Local binary patterns on three orthogonal planes (LBP-TOP) and its variants.

Every descriptor is a plain function ``f(cube, *, ...) -> 1-D float vector`` with a
companion ``f_names(...)`` giving one name per feature, and a scikit-learn transformer
(a :class:`~mer_lab.features.base.CubeFeatures` subclass) for pipelines.

* :func:`lbp_top` -- LBP-TOP (Zhao & Pietikäinen 2007): LBP codes on the XY, XT and YT
  planes through every voxel, histogrammed per block and plane.
* :func:`lbp_xyot` -- the XT and YT planes only (LBP-XYOT).
* :func:`lbp_sip` -- LBP with six intersection points (Wang et al. 2014).
* :func:`lbp_mop` -- LBP on the three mean orthogonal planes (Wang et al. 2015).
* :func:`elbp_top` -- extended LBP-TOP with radial and angular differences (Guo et al. 2019).
* :func:`lbp_top_codes` -- the per-plane code volumes, for figures.

Conventions
-----------
A cube is a grey clip ``(time, y, x)`` (an :class:`xarray.DataArray` following
:mod:`mer_lab.cube`, or a plain 3-D array). The planes through a voxel are

* ``XY``: the frame ``cube[t]`` (rows y, columns x),
* ``XT``: the slice ``cube[:, y, :]`` (rows t, columns x),
* ``YT``: the slice ``cube[:, :, x]`` (rows t, columns y).

On a plane with radii ``(r_row, r_col)`` neighbour ``p`` of ``P`` sits at
``(row - r_row sin(2 pi p / P), col + r_col cos(2 pi p / P))`` and contributes bit ``p``
when its value is ``>=`` the centre's. This is scikit-image's ``local_binary_pattern``
convention: with equal radii the codes of each plane equal that function applied to the
plane's slices. ``radii = (Rx, Ry, Rt)`` and ``points = (Pxy, Pxt, Pyt)``, so the XY ring
has radii ``(Ry, Rx)``, the XT ring ``(Rt, Rx)`` and the YT ring ``(Rt, Ry)``.

Two neighbour models:

* ``"interpolated"``: bilinear interpolation at the exact ring position, with the
  arithmetic of scikit-image (codes identical to ``local_binary_pattern``);
* ``"rounded"``: ring positions rounded half up to the nearest voxel, as in the original
  MATLAB LBP-TOP code. Cheaper, and what the thesis's experiments used.

Only voxels at least ``ceil(R)`` from every border (space and time) are centres. The
centre region is divided into ``blocks = (rows, cols, time)`` blocks of near-equal size
by the rule of :mod:`mer_lab.features.blocks` (block ``i`` of ``k`` along an axis of ``n``
centres holds centres ``floor(i n / k) .. floor((i + 1) n / k) - 1``). Feature order:
blocks in C order over (row block, column block, time block), and within each block the planes ``XY, XT, YT``, each a histogram of the
mapped codes normalised to sum 1.

Mappings (``mapping``): ``"u2"`` uniform patterns (at most two circular 0/1
transitions) keep their own bin, numbered in increasing order of raw code, all others
share the last bin -- ``P(P-1)+3`` bins (59 for P = 8), the numbering of the original
MATLAB ``getmapping(P, 'u2')``; ``"riu2"`` rotation-invariant uniform, ``P+2`` bins
(identical to scikit-image's ``method='uniform'``); ``"none"`` raw codes, ``2**P`` bins.
The u2 bins follow MATLAB's numbering rather than scikit-image's (``"nri_uniform"``, the
same codes under another fixed numbering) so that a feature vector and its names line up
bin for bin with the reference LBP-TOP code's output. The spotters'
(:func:`mer_lab.spotting.lbp_block_histograms`) keep scikit-image's numbering: they only
compare histograms with each other through sums over bins, which a fixed permutation of
the bins does not change.

References
----------
.. [1] G. Zhao and M. Pietikäinen, "Dynamic texture recognition using local binary
   patterns with an application to facial expressions", IEEE TPAMI 29(6), 915-928, 2007.
   doi:10.1109/TPAMI.2007.1110
.. [2] Y. Wang, J. See, R. C.-W. Phan and Y.-H. Oh, "LBP with six intersection points:
   reducing redundant information in LBP-TOP for micro-expression recognition", ACCV 2014,
   LNCS 9003, 525-537. doi:10.1007/978-3-319-16865-4_34
.. [3] Y. Wang, J. See, R. C.-W. Phan and Y.-H. Oh, "Efficient spatio-temporal local binary
   patterns for spontaneous facial micro-expression recognition", PLoS ONE 10(5), e0124674,
   2015. doi:10.1371/journal.pone.0124674
.. [4] C. Guo, J. Liang, G. Zhan, Z. Liu, M. Pietikäinen and L. Liu, "Extended local binary
   patterns for efficient and robust spontaneous facial micro-expression recognition",
   IEEE Access 7, 174517-174530, 2019. doi:10.1109/ACCESS.2019.2942358
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np
import xarray as xr

from .._validate import check_array, check_choice, check_int, check_number, describe
from ..cube import validate_cube
from . import _lbp_kernels as K
from .base import CubeFeatures
from .blocks import block_of_index

__all__ = [
    "MAPPINGS",
    "NEIGHBOURS",
    "n_bins",
    "lbp_top",
    "lbp_top_names",
    "lbp_top_codes",
    "lbp_xyot",
    "lbp_xyot_names",
    "lbp_sip",
    "lbp_sip_names",
    "lbp_mop",
    "lbp_mop_names",
    "elbp_top",
    "elbp_top_names",
    "LBPTOP",
    "LBPXYOT",
    "LBPSIP",
    "LBPMOP",
    "ELBPTOP",
]

MAPPINGS = ("u2", "riu2", "none")
NEIGHBOURS = ("interpolated", "rounded")
_MAX_POINTS = 16


# =========================================================================== validation
def as_volume(cube, *, name: str = "cube") -> np.ndarray:
    """The grey ``(time, y, x)`` numpy array of a cube (checked once)."""
    if isinstance(cube, xr.DataArray):
        if cube.ndim == 4 or "channel" in cube.dims:
            raise ValueError(
                f"{name} must be a grey cube (dims time, y, x), got dims {cube.dims}; convert colour "
                "clips with mer_lab.cube.to_grey, or use mer_lab.features.colour for colour LBP-TOP"
            )
        validate_cube(cube, name=name, grey=True)
        arr = np.asarray(cube.values)
    elif isinstance(cube, np.ndarray):
        if cube.ndim == 4:
            raise ValueError(
                f"{name} must be a grey (time, y, x) array, got shape {cube.shape} (colour?); "
                "convert it to grey first"
            )
        arr = check_array(name, cube, ndim=3)
    else:
        raise TypeError(f"{name} must be a grey cube (xarray.DataArray) or a 3-D numpy array, got {describe(cube)}")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; only finite values are accepted")
    return arr


def _triple(name: str, value, check) -> tuple:
    if isinstance(value, (numbers.Number, np.number)) and not isinstance(value, bool):
        value = (value, value, value)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a triple of values, got {describe(value)}") from None
    if len(items) != 3:
        raise ValueError(f"{name} must have three entries, got {describe(value)}")
    return tuple(check(f"{name}[{i}]", v) for i, v in enumerate(items))


def check_radii(value, name: str = "radii", integer: bool = False) -> tuple:
    def one(n, v):
        if integer:
            return check_int(n, v, low=1)
        r = check_number(n, v, low=0, low_open=True)
        return int(r) if r == int(r) else r
    return _triple(name, value, one)


def check_points(value, name: str = "points") -> tuple:
    return _triple(name, value, lambda n, v: check_int(n, v, low=2, high=_MAX_POINTS))


def check_blocks(value, name: str = "blocks") -> tuple:
    return _triple(name, value, lambda n, v: check_int(n, v, low=1))


def check_overlap(value) -> float:
    return check_number("overlap", value, low=0.0, high=1.0, high_open=True)


def margins_for(radii) -> tuple[int, int, int]:
    """Centre margins ``(t, y, x)`` for ``radii = (Rx, Ry, Rt)``: ``ceil`` of each radius."""
    rx, ry, rt = radii
    return tuple(int(math.ceil(r - 1e-9)) for r in (rt, ry, rx))


def centre_region(shape, margins, blocks=None, *, radii_name: str = "radii"):
    """Start/stop of the centre region; clear errors when radii or blocks do not fit."""
    start, stop = [], []
    if radii_name in ("radii", "second_radii"):
        reach = (f"Rt = {radii_name}[2]", f"Ry = {radii_name}[1]", f"Rx = {radii_name}[0]")
    else:
        reach = ("the time margin", "the row margin", "the column margin")
    for n, m, what, rname in zip(shape, margins, ("frames", "rows", "columns"), reach):
        if n - 2 * m < 1:
            raise ValueError(
                f"{radii_name}: {rname} reaches {m} voxels, which needs at least {2 * m + 1} {what}, "
                f"but the cube has {n} {what}"
            )
        start.append(m)
        stop.append(n - m)
    if blocks is not None:
        check_blocks_fit(tuple(b - a for a, b in zip(start, stop)), blocks)
    return tuple(start), tuple(stop)


def check_blocks_fit(region, blocks) -> None:
    """A clear error when a ``(T, Y, X)`` centre region is too small for ``blocks = (rows, cols, time)``."""
    kr, kc, kt = blocks
    for k, n, label in ((kr, region[1], "rows (blocks[0])"), (kc, region[2], "columns (blocks[1])"),
                        (kt, region[0], "time (blocks[2])")):
        if k > n:
            raise ValueError(
                f"blocks={tuple(blocks)}: {k} blocks along {label} but the centre region is only "
                f"{n} voxels long there (region t, y, x = {tuple(region)}); use fewer blocks"
            )


def n_bins(points: int, mapping: str = "u2") -> int:
    """Number of histogram bins of one plane: ``P(P-1)+3`` (u2), ``P+2`` (riu2), ``2**P`` (none)."""
    points = check_int("points", points, low=2, high=_MAX_POINTS)
    check_choice("mapping", mapping, MAPPINGS)
    return K.mapping_table(points, mapping)[1]


def _prepare(vol: np.ndarray, neighbours: str) -> np.ndarray:
    if neighbours == "interpolated":
        return np.ascontiguousarray(vol, dtype=np.float64)
    return np.ascontiguousarray(vol)


def _sampler(vol: np.ndarray, start, stop, neighbours: str) -> K.RegionSampler:
    """A sampler over the clip with the fastest exact paths its dtype allows."""
    fast, tol = None, 0.0
    if neighbours == "interpolated" and (vol.dtype.kind == "b" or (vol.dtype.kind in "ui" and vol.dtype.itemsize <= 2)):
        fast = vol.astype(np.float32)
        tol = K.fast_tolerance(vol)
    return K.RegionSampler(_prepare(vol, neighbours), start, stop, raw=_raw(vol), fast=fast, tolerance=tol)


def _raw(vol: np.ndarray) -> np.ndarray | None:
    """The clip itself when its values convert exactly to float64 (for on-grid comparisons)."""
    if vol.dtype.kind == "b" or vol.dtype == np.float32 or (vol.dtype.kind in "ui" and vol.dtype.itemsize <= 4):
        return vol
    return None


def _plane_radii(radii, plane: str):
    rx, ry, rt = radii
    return {"XY": (ry, rx), "XT": (rt, rx), "YT": (rt, ry)}[plane]


def _plane_points(points, plane: str) -> int:
    return dict(zip(K.PLANES, points))[plane]


def _block_tags(blocks):
    kr, kc, kt = blocks
    return [f"r{r}c{c}t{t}" for r in range(kr) for c in range(kc) for t in range(kt)]


# =========================================================================== LBP-TOP
def _top_features(cube, planes, radii, points, mapping, blocks, overlap, neighbours, normalise):
    vol = as_volume(cube)
    radii = check_radii(radii)
    points = check_points(points)
    check_choice("mapping", mapping, MAPPINGS)
    check_choice("neighbours", neighbours, NEIGHBOURS)
    blocks = check_blocks(blocks)
    overlap = check_overlap(overlap)
    start, stop = centre_region(vol.shape, margins_for(radii), blocks)
    sampler = _sampler(vol, start, stop, neighbours)
    hists = []
    for plane in planes:
        r_row, r_col = _plane_radii(radii, plane)
        p = _plane_points(points, plane)
        codes = K.plane_codes(sampler, plane, p, r_row, r_col, neighbours)
        labels, nb = K.apply_mapping(codes, p, mapping)
        h = K.block_histograms(labels, nb, sampler.shape, blocks, overlap)
        if normalise:
            K.normalise_rows(h)
        hists.append(h)
    return np.concatenate(hists, axis=1).ravel()


def _top_names(prefix, planes, points, mapping, blocks):
    points = check_points(points)
    check_choice("mapping", mapping, MAPPINGS)
    blocks = check_blocks(blocks)
    names = []
    for tag in _block_tags(blocks):
        for plane in planes:
            nb = n_bins(_plane_points(points, plane), mapping)
            names.extend(f"{prefix}_{tag}_{plane}_{mapping}_{b}" for b in range(nb))
    return names


def lbp_top(cube, *, radii=(1, 1, 1), points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1),
            overlap: float = 0.0, neighbours: str = "interpolated", normalise: bool = True) -> np.ndarray:
    """LBP-TOP histograms of a grey clip.

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)
        A grey clip (e.g. a face crop after temporal interpolation to 10 frames).
    radii : triple of float, default (1, 1, 1)
        ``(Rx, Ry, Rt)``: ring radii along x, y and time (a single number is used for all).
    points : triple of int, default (8, 8, 8)
        ``(Pxy, Pxt, Pyt)``: neighbours on the XY, XT and YT rings (2..16).
    mapping : {"u2", "riu2", "none"}
        Code mapping (see the module notes): uniform (``P(P-1)+3`` bins), rotation-invariant
        uniform (``P+2`` bins) or raw codes (``2**P`` bins).
    blocks : triple of int, default (8, 8, 1)
        Number of blocks along rows, columns and time.
    overlap : float in [0, 1), default 0
        Fraction of a block's size that adjacent blocks share.
    neighbours : {"interpolated", "rounded"}
        Bilinear ring samples (scikit-image) or ring positions rounded to the nearest voxel
        (the original MATLAB code).
    normalise : bool, default True
        Divide each block/plane histogram by its sum (else raw counts).

    Returns
    -------
    ndarray of float64, shape (n_blocks * sum of the three planes' bins,)
        Blocks in C order over (row, col, time); per block the XY, XT, YT histograms.
        With the defaults: 64 blocks x 3 planes x 59 bins = 11328 features.

    Raises
    ------
    ValueError
        Colour or non-finite input, radii that do not fit in the clip (too few frames for
        Rt), more blocks than centres, bad parameter values. The message names the parameter.

    Notes
    -----
    For a centre ``g_c`` and ring samples ``g_0..g_{P-1}`` on a plane,
    ``LBP = sum_p s(g_p - g_c) 2^p`` with ``s(d) = 1`` if ``d >= 0`` else 0. The three planes'
    histograms describe appearance (XY) and horizontal / vertical motion (XT / YT).

    References
    ----------
    G. Zhao and M. Pietikäinen, IEEE TPAMI 29(6), 915-928, 2007. doi:10.1109/TPAMI.2007.1110

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> cube = make_cube(np.random.default_rng(0).integers(0, 256, (10, 64, 64), dtype=np.uint8), fps=100)
    >>> v = lbp_top(cube, blocks=(4, 4, 1))
    >>> v.shape, float(v[:59].sum())
    ((2832,), 1.0)
    """
    return _top_features(cube, K.PLANES, radii, points, mapping, blocks, overlap, neighbours, normalise)


def lbp_top_names(*, points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`lbp_top`: ``lbptop_r{row}c{col}t{time}_{plane}_{mapping}_{bin}``.

    Examples
    --------
    >>> lbp_top_names(blocks=(1, 1, 1))[:2]
    ['lbptop_r0c0t0_XY_u2_0', 'lbptop_r0c0t0_XY_u2_1']
    """
    return _top_names("lbptop", K.PLANES, points, mapping, blocks)


def lbp_top_codes(cube, *, radii=(1, 1, 1), points=(8, 8, 8), mapping: str = "none",
                  neighbours: str = "interpolated") -> dict:
    """The code volumes of the XY, XT and YT planes over the centre region (for figures).

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)
    radii, points, neighbours
        As in :func:`lbp_top`.
    mapping : {"none", "u2", "riu2"}, default "none"
        ``"none"`` gives the raw codes ``0 .. 2**P - 1``; the others give bin labels.

    Returns
    -------
    dict
        ``{"XY": codes, "XT": codes, "YT": codes}``, each of shape
        ``(T - 2 ceil(Rt), Y - 2 ceil(Ry), X - 2 ceil(Rx))``: the code of each plane
        through every centre voxel. DataArrays with the cube's (sliced) coordinates when
        ``cube`` is a DataArray, else plain arrays.

    Examples
    --------
    >>> import numpy as np
    >>> codes = lbp_top_codes(np.zeros((5, 6, 7), np.uint8))
    >>> codes["XT"].shape, int(codes["XY"].max())
    ((3, 4, 5), 255)
    """
    vol = as_volume(cube)
    radii = check_radii(radii)
    points = check_points(points)
    check_choice("mapping", mapping, MAPPINGS)
    check_choice("neighbours", neighbours, NEIGHBOURS)
    start, stop = centre_region(vol.shape, margins_for(radii))
    sampler = _sampler(vol, start, stop, neighbours)
    out = {}
    for plane in K.PLANES:
        r_row, r_col = _plane_radii(radii, plane)
        p = _plane_points(points, plane)
        codes = K.plane_codes(sampler, plane, p, r_row, r_col, neighbours)
        codes, _ = K.apply_mapping(codes, p, mapping)
        if isinstance(cube, xr.DataArray):
            sel = {d: slice(a, b) for d, a, b in zip(("time", "y", "x"), start, stop)}
            ref = cube.isel(sel)
            codes = xr.DataArray(codes, dims=("time", "y", "x"), coords=ref.coords,
                                 attrs={**cube.attrs, "long_name": f"LBP code ({plane} plane, {mapping})",
                                        "units": ""}, name=f"lbp_{plane}")
        out[plane] = codes
    return out


# =========================================================================== LBP-XYOT
def lbp_xyot(cube, *, radii=(1, 1, 1), points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1),
             overlap: float = 0.0, neighbours: str = "interpolated", normalise: bool = True) -> np.ndarray:
    """LBP-XYOT: LBP-TOP restricted to the two space-time planes XT and YT.

    The parameters are those of :func:`lbp_top` (``points[0]``, the XY ring, is unused).
    Per block the XT then YT histograms; ``n_blocks * (bins_XT + bins_YT)`` features.

    Notes
    -----
    Dropping the XY (appearance) plane keeps the two planes that respond to motion
    and removes the part most tied to a person's identity.

    References
    ----------
    Y. Wang, J. See, R. C.-W. Phan and Y.-H. Oh, PLoS ONE 10(5), e0124674, 2015 (discussion of
    plane subsets). doi:10.1371/journal.pone.0124674

    Examples
    --------
    >>> import numpy as np
    >>> lbp_xyot(np.random.default_rng(1).random((6, 20, 20)), blocks=(2, 2, 1)).shape
    (472,)
    """
    return _top_features(cube, ("XT", "YT"), radii, points, mapping, blocks, overlap, neighbours, normalise)


def lbp_xyot_names(*, points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`lbp_xyot` (``lbpxyot_r{row}c{col}t{time}_{plane}_{mapping}_{bin}``)."""
    return _top_names("lbpxyot", ("XT", "YT"), points, mapping, blocks)


# =========================================================================== LBP-SIP
def lbp_sip(cube, *, radii=(1, 1, 1), blocks=(8, 8, 1), overlap: float = 0.0,
            normalise: bool = True) -> np.ndarray:
    """LBP with six intersection points (LBP-SIP).

    The neighbourhoods of the three LBP-TOP rings with ``P = 4`` share points: only six
    distinct neighbours remain, four in the frame and two in time. LBP-SIP codes each
    group once.

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)
    radii : triple of int, default (1, 1, 1)
        ``(Rx, Ry, Rt)``; integers, so that the six points are voxels.
    blocks, overlap, normalise
        As in :func:`lbp_top`.

    Returns
    -------
    ndarray of float64, shape (n_blocks * 20,)
        Per block a 16-bin spatial histogram followed by a 4-bin temporal histogram, each
        normalised to sum 1 (20 features per block; LBP-TOP with P = 4 and no mapping
        has 48).

    Notes
    -----
    With centre ``c = I(t, y, x)`` the spatial code is
    ``[I(t, y, x+Rx) >= c] + 2 [I(t, y-Ry, x) >= c] + 4 [I(t, y, x-Rx) >= c] + 8 [I(t, y+Ry, x) >= c]``
    (the P = 4 XY ring of :func:`lbp_top`, 16 codes) and the temporal code is
    ``[I(t-Rt, y, x) >= c] + 2 [I(t+Rt, y, x) >= c]`` (4 codes). Of the twelve neighbours
    of the three P = 4 rings, the XT and YT rings each repeat two of the XY points and
    share the two temporal points, which leaves these six. The histogram size
    ``2**4 + 2**2 = 20`` per block follows Wang et al. (2014). Centres and blocks are those
    of :func:`lbp_top` with the same radii.

    References
    ----------
    Y. Wang, J. See, R. C.-W. Phan and Y.-H. Oh, ACCV 2014, LNCS 9003, 525-537.
    doi:10.1007/978-3-319-16865-4_34

    Examples
    --------
    >>> import numpy as np
    >>> v = lbp_sip(np.random.default_rng(0).random((5, 12, 12)), blocks=(2, 2, 1))
    >>> v.shape, float(v[:16].sum()), float(v[16:20].sum())
    ((80,), 1.0, 1.0)
    """
    vol = as_volume(cube)
    radii = check_radii(radii, integer=True)
    blocks = check_blocks(blocks)
    overlap = check_overlap(overlap)
    rx, ry, rt = radii
    start, stop = centre_region(vol.shape, margins_for(radii), blocks)
    sampler = K.RegionSampler(np.ascontiguousarray(vol), start, stop)
    c = sampler.centre()
    spatial = K.codes_from_pairs(
        [(sampler.shifted((0, 0, rx)), c), (sampler.shifted((0, -ry, 0)), c),
         (sampler.shifted((0, 0, -rx)), c), (sampler.shifted((0, ry, 0)), c)], sampler.shape, 4)
    temporal = K.codes_from_pairs([(sampler.shifted((-rt, 0, 0)), c), (sampler.shifted((rt, 0, 0)), c)],
                                  sampler.shape, 2)
    hs = K.block_histograms(spatial, 16, sampler.shape, blocks, overlap)
    ht = K.block_histograms(temporal, 4, sampler.shape, blocks, overlap)
    if normalise:
        K.normalise_rows(hs)
        K.normalise_rows(ht)
    return np.concatenate([hs, ht], axis=1).ravel()


def lbp_sip_names(*, blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`lbp_sip`: ``lbpsip_r{row}c{col}t{time}_{S|T}_{bin}``."""
    blocks = check_blocks(blocks)
    names = []
    for tag in _block_tags(blocks):
        names.extend(f"lbpsip_{tag}_S_{b}" for b in range(16))
        names.extend(f"lbpsip_{tag}_T_{b}" for b in range(4))
    return names


# =========================================================================== LBP-MOP
@lru_cache(maxsize=64)
def _indicator(n: int, k: int, dtype) -> np.ndarray:
    """(k, n) matrix with a 1 where index j belongs to block i (cached, read-only)."""
    out = np.zeros((k, n), dtype=dtype)
    out[block_of_index(n, k), np.arange(n)] = 1
    out.setflags(write=False)
    return out


def _mean_planes(vol: np.ndarray, blocks, *, exact_sums: bool):
    """Block mean images: XY (kt, Y, X), XT (kr, T, X) and YT (kc, T, Y).

    The block sums are three matrix products with 0/1 block indicators (one BLAS pass
    each). With ``exact_sums`` the sums are returned instead of the means: within one
    mean image every pixel has the same divisor, so sums and means order identically --
    all that rounded-neighbour LBP looks at. Integer clips whose sums stay below 2**24
    are summed exactly in float32.
    """
    T, Y, X = vol.shape
    kr, kc, kt = blocks
    small_int = vol.dtype.kind in "ub" or (vol.dtype.kind == "i" and vol.dtype.itemsize <= 2)
    if small_int and np.iinfo(vol.dtype).max * max(T, Y, X) < 2 ** 24 and np.iinfo(vol.dtype).min >= -(2 ** 15):
        dtype = np.float32
    else:
        dtype = np.float64
    v = vol.astype(dtype, copy=False)
    b_t, b_y, b_x = _indicator(T, kt, dtype), _indicator(Y, kr, dtype), _indicator(X, kc, dtype)
    m_xy = (b_t @ v.reshape(T, Y * X)).reshape(kt, Y, X)
    m_xt = np.matmul(b_y, v).transpose(1, 0, 2)              # (kr, T, X)
    m_yt = (v.reshape(T * Y, X) @ b_x.T).reshape(T, Y, kc).transpose(2, 0, 1)   # (kc, T, Y)
    if exact_sums:
        return m_xy, m_xt, m_yt
    return tuple(m.astype(np.float64) / b.sum(axis=1, dtype=np.float64)[:, None, None]
                 for m, b in ((m_xy, b_t), (m_xt, b_y), (m_yt, b_x)))


def lbp_mop(cube, *, radii=(1, 1, 1), points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1),
            neighbours: str = "interpolated", normalise: bool = True) -> np.ndarray:
    """LBP on three mean orthogonal planes (LBP-MOP).

    Instead of coding every XY, XT and YT plane of a block, LBP-MOP codes only their means:
    the mean frame (XY), the mean over rows (XT) and the mean over columns (YT) of each
    block, which is far cheaper and about as discriminative as LBP-SIP.

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)
    radii, points, mapping, neighbours, normalise
        As in :func:`lbp_top` (XY ring radii (Ry, Rx), XT (Rt, Rx), YT (Rt, Ry)).
    blocks : triple of int, default (8, 8, 1)
        Blocks along rows, columns and time. Here they partition the whole clip (row
        block ``i`` of ``k`` holds rows ``i*Y//k .. (i+1)*Y//k - 1``), because they say which
        frames, rows and columns are averaged.

    Returns
    -------
    ndarray of float64, shape (n_blocks * (bins_XY + bins_XT + bins_YT),)
        Same layout and size as :func:`lbp_top` (block-major, planes XY, XT, YT).

    Notes
    -----
    For block (r, c, t) with frame range ``Tt``, row range ``Yr`` and column range ``Xc``:
    ``M_XY(y, x) = mean over Tt of I``, ``M_XT(t, x) = mean over Yr of I`` and
    ``M_YT(t, y) = mean over Xc of I``. Each mean image (the whole extent of the clip
    along its two axes) is LBP-coded with the conventions of :func:`lbp_top` at the
    centres at least ``ceil(R)`` from its borders, and the codes falling inside the block
    are histogrammed. The block sums are matrix products with 0/1 block indicators;
    the rounded variant compares the sums themselves (exact for integer clips, and
    ordered exactly like the means), the interpolated one float64 means.

    References
    ----------
    Y. Wang, J. See, R. C.-W. Phan and Y.-H. Oh, PLoS ONE 10(5), e0124674, 2015.
    doi:10.1371/journal.pone.0124674

    Examples
    --------
    >>> import numpy as np
    >>> lbp_mop(np.random.default_rng(0).random((8, 32, 32)), blocks=(2, 2, 1)).shape
    (708,)
    """
    vol = as_volume(cube)
    radii = check_radii(radii)
    points = check_points(points)
    check_choice("mapping", mapping, MAPPINGS)
    check_choice("neighbours", neighbours, NEIGHBOURS)
    blocks = check_blocks(blocks)
    mt, my, mx = margins_for(radii)
    T, Y, X = vol.shape
    centre_region(vol.shape, (mt, my, mx))  # radius errors
    kr, kc, kt = blocks
    for k, n, label in ((kr, Y - 2 * my, "rows (blocks[0])"), (kc, X - 2 * mx, "columns (blocks[1])"),
                        (kt, T - 2 * mt, "time (blocks[2])")):
        if k > n:
            raise ValueError(f"blocks={blocks}: {k} blocks along {label} but only {n} centres lie there; "
                             "use fewer blocks")
    m_xy, m_xt, m_yt = _mean_planes(vol, blocks, exact_sums=(neighbours == "rounded"))
    n_blocks = kr * kc * kt
    hists = []
    for plane, stack, (m_row, m_col) in (("XY", m_xy, (my, mx)), ("XT", m_xt, (mt, mx)), ("YT", m_yt, (mt, my))):
        r_row, r_col = _plane_radii(radii, plane)
        p = _plane_points(points, plane)
        n_rows, n_cols = stack.shape[1], stack.shape[2]
        sampler = K.RegionSampler(np.ascontiguousarray(stack), (0, m_row, m_col),
                                  (stack.shape[0], n_rows - m_row, n_cols - m_col))
        # the stack's rows/cols are its axes 1 and 2: code it as an "XY" plane
        codes = K.plane_codes(sampler, "XY", p, r_row, r_col, neighbours)
        labels, nb = K.apply_mapping(codes, p, mapping)
        idx = _mop_block_offsets(plane, (T, Y, X), blocks, (m_row, m_col), nb) + labels
        h = np.bincount(idx.ravel(), minlength=n_blocks * nb).reshape(n_blocks, nb).astype(np.float64)
        if normalise:
            K.normalise_rows(h)
        hists.append(h)
    return np.concatenate(hists, axis=1).ravel()


@lru_cache(maxsize=64)
def _mop_block_offsets(plane, shape, blocks, margins, n_bins) -> np.ndarray:
    """``block * n_bins`` for every centre of one LBP-MOP mean-image stack (cached)."""
    T, Y, X = shape
    kr, kc, kt = blocks
    bt, by, bx = block_of_index(T, kt), block_of_index(Y, kr), block_of_index(X, kc)
    m_row, m_col = margins
    if plane == "XY":     # stack = time block, rows y, cols x
        r, c = by[m_row:Y - m_row], bx[m_col:X - m_col]
        block = (r[None, :, None] * kc + c[None, None, :]) * kt + np.arange(kt)[:, None, None]
    elif plane == "XT":   # stack = row block, rows t, cols x
        r, c = bt[m_row:T - m_row], bx[m_col:X - m_col]
        block = (np.arange(kr)[:, None, None] * kc + c[None, None, :]) * kt + r[None, :, None]
    else:                 # stack = column block, rows t, cols y
        r, c = bt[m_row:T - m_row], by[m_col:Y - m_col]
        block = (c[None, None, :] * kc + np.arange(kc)[:, None, None]) * kt + r[None, :, None]
    out = (block * n_bins).astype(np.intp)
    out.setflags(write=False)
    return out


def lbp_mop_names(*, points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`lbp_mop` (``lbpmop_r{row}c{col}t{time}_{plane}_{mapping}_{bin}``)."""
    return _top_names("lbpmop", K.PLANES, points, mapping, blocks)


# =========================================================================== ELBP-TOP
def _elbp_setup(radii, second_radii):
    radii = check_radii(radii)
    second = check_radii(second_radii, name="second_radii")
    if second == radii:
        raise ValueError(f"second_radii={second} equals radii: the radial difference needs a second ring "
                         "of another radius")
    return radii, second


def elbp_top(cube, *, radii=(2, 2, 2), second_radii=(1, 1, 1), points=(8, 8, 8), mapping: str = "u2",
             angular_step: int = 1, blocks=(8, 8, 1), overlap: float = 0.0,
             neighbours: str = "interpolated", normalise: bool = True) -> np.ndarray:
    """Extended LBP-TOP (ELBP-TOP): LBP-TOP plus radial and angular difference patterns.

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)
    radii : triple of float, default (2, 2, 2)
        ``(Rx, Ry, Rt)`` of the main ring (used by all three components).
    second_radii : triple of float, default (1, 1, 1)
        Radii of the second ring for the radial differences (usually smaller; a larger ring
        is accepted too). Must differ from ``radii``.
    points, mapping, blocks, overlap, neighbours, normalise
        As in :func:`lbp_top`; the same mapping is applied to all three components.
    angular_step : int, default 1
        The angular difference compares ring point ``p`` with point ``p + angular_step``.

    Returns
    -------
    ndarray of float64, shape (3 * n_blocks * sum of plane bins,)
        ``[LBP-TOP | RDLBP-TOP | ADLBP-TOP]``, each in the layout of :func:`lbp_top`.

    Notes
    -----
    On each plane, with samples ``g_{R,p}`` on the main ring and ``g_{r,p}`` on the second
    ring (same angles ``2 pi p / P``):

    * ``LBP   = sum_p s(g_{R,p} - g_c) 2^p`` (first order, as in LBP-TOP);
    * ``RDLBP = sum_p s(g_{R,p} - g_{r,p}) 2^p`` (radial differences);
    * ``ADLBP = sum_p s(g_{R,p} - g_{R,p+d}) 2^p``, indices mod P (angular differences).

    Neither difference pattern uses the centre. Centres are at least ``ceil`` of the
    larger of the two radii from every border, for all components.

    References
    ----------
    C. Guo, J. Liang, G. Zhan, Z. Liu, M. Pietikäinen and L. Liu, IEEE Access 7,
    174517-174530, 2019. doi:10.1109/ACCESS.2019.2942358

    Examples
    --------
    >>> import numpy as np
    >>> elbp_top(np.random.default_rng(0).random((7, 16, 16)), blocks=(2, 2, 1)).shape
    (2124,)
    """
    vol = as_volume(cube)
    radii, second = _elbp_setup(radii, second_radii)
    points = check_points(points)
    check_choice("mapping", mapping, MAPPINGS)
    check_choice("neighbours", neighbours, NEIGHBOURS)
    blocks = check_blocks(blocks)
    overlap = check_overlap(overlap)
    outer = tuple(max(a, b) for a, b in zip(radii, second))
    start, stop = centre_region(vol.shape, margins_for(outer), blocks)
    sampler = _sampler(vol, start, stop, neighbours)
    parts = {"lbp": [], "rd": [], "ad": []}
    for plane in K.PLANES:
        p = _plane_points(points, plane)
        step = check_int("angular_step", angular_step, low=1, high=p - 1)
        r_row, r_col = _plane_radii(radii, plane)
        s_row, s_col = _plane_radii(second, plane)
        codes = {k: np.empty(sampler.shape, dtype=K.code_dtype(p)) for k in parts}
        for lo, hi, sub in K._chunks(sampler):
            ring = K.ring_samples(sub, plane, p, r_row, r_col, neighbours)
            inner = K.ring_samples(sub, plane, p, s_row, s_col, neighbours)
            centre = sub.centre()
            codes["lbp"][:, lo:hi] = K.codes_from_pairs([(g, centre) for g in ring], sub.shape, p)
            codes["rd"][:, lo:hi] = K.codes_from_pairs(list(zip(ring, inner)), sub.shape, p)
            codes["ad"][:, lo:hi] = K.codes_from_pairs([(ring[i], ring[(i + step) % p]) for i in range(p)],
                                                       sub.shape, p)
        for k in parts:
            labels, nb = K.apply_mapping(codes[k], p, mapping)
            h = K.block_histograms(labels, nb, sampler.shape, blocks, overlap)
            if normalise:
                K.normalise_rows(h)
            parts[k].append(h)
    return np.concatenate([np.concatenate(parts[k], axis=1).ravel() for k in ("lbp", "rd", "ad")])


def elbp_top_names(*, points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`elbp_top`: ``{lbptop|rdlbptop|adlbptop}_r{row}c{col}t{time}_{plane}_{mapping}_{bin}``."""
    return [n for prefix in ("lbptop", "rdlbptop", "adlbptop")
            for n in _top_names(prefix, K.PLANES, points, mapping, blocks)]


# =========================================================================== transformers
class LBPTOP(CubeFeatures):
    """scikit-learn transformer for :func:`lbp_top` (X = sequence of grey cubes).

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> cubes = [make_cube(np.random.default_rng(i).integers(0, 256, (6, 24, 24), dtype=np.uint8), fps=100)
    ...          for i in range(3)]
    >>> LBPTOP(blocks=(2, 2, 1)).fit_transform(cubes).shape
    (3, 708)
    """

    def __init__(self, *, radii=(1, 1, 1), points=(8, 8, 8), mapping="u2", blocks=(8, 8, 1),
                 overlap=0.0, neighbours="interpolated", normalise=True):
        self.radii = radii
        self.points = points
        self.mapping = mapping
        self.blocks = blocks
        self.overlap = overlap
        self.neighbours = neighbours
        self.normalise = normalise

    _function = staticmethod(lbp_top)
    _names_function = staticmethod(lbp_top_names)
    _name_params = ("points", "mapping", "blocks")


class LBPXYOT(LBPTOP):
    """scikit-learn transformer for :func:`lbp_xyot` (same parameters as :class:`LBPTOP`)."""

    _function = staticmethod(lbp_xyot)
    _names_function = staticmethod(lbp_xyot_names)


class LBPSIP(CubeFeatures):
    """scikit-learn transformer for :func:`lbp_sip`."""

    def __init__(self, *, radii=(1, 1, 1), blocks=(8, 8, 1), overlap=0.0, normalise=True):
        self.radii = radii
        self.blocks = blocks
        self.overlap = overlap
        self.normalise = normalise

    _function = staticmethod(lbp_sip)
    _names_function = staticmethod(lbp_sip_names)
    _name_params = ("blocks",)


class LBPMOP(CubeFeatures):
    """scikit-learn transformer for :func:`lbp_mop`."""

    def __init__(self, *, radii=(1, 1, 1), points=(8, 8, 8), mapping="u2", blocks=(8, 8, 1),
                 neighbours="interpolated", normalise=True):
        self.radii = radii
        self.points = points
        self.mapping = mapping
        self.blocks = blocks
        self.neighbours = neighbours
        self.normalise = normalise

    _function = staticmethod(lbp_mop)
    _names_function = staticmethod(lbp_mop_names)
    _name_params = ("points", "mapping", "blocks")


class ELBPTOP(CubeFeatures):
    """scikit-learn transformer for :func:`elbp_top`."""

    def __init__(self, *, radii=(2, 2, 2), second_radii=(1, 1, 1), points=(8, 8, 8), mapping="u2",
                 angular_step=1, blocks=(8, 8, 1), overlap=0.0, neighbours="interpolated", normalise=True):
        self.radii = radii
        self.second_radii = second_radii
        self.points = points
        self.mapping = mapping
        self.angular_step = angular_step
        self.blocks = blocks
        self.overlap = overlap
        self.neighbours = neighbours
        self.normalise = normalise

    _function = staticmethod(elbp_top)
    _names_function = staticmethod(elbp_top_names)
    _name_params = ("points", "mapping", "blocks")
