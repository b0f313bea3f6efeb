"""Spatio-temporal completed local quantized patterns (STCLQP).

Huang et al. (2016) complete LBP-TOP in two ways. First, besides the *sign* of the
differences ``d_p = g_p - g_c`` between ring neighbours and centre (which is LBP), they
keep their *magnitude* and the local gradient *orientation*. Second, instead of a fixed
mapping such as u2, each component's patterns are vector-quantised with a codebook
learned from training data (local quantized patterns), which keeps the histograms short
even though the orientation patterns have many possible values.

mer_lab's implementation, per plane (XY, XT, YT, with the ring conventions of
:mod:`mer_lab.features.lbp`) and centre voxel:

* sign pattern ``S = sum_p [d_p >= 0] 2^p`` (the LBP code);
* magnitude pattern ``M = sum_p [|d_p| >= mu] 2^p``, ``mu`` the mean of ``|d_p|`` over the
  plane's whole clip (the CLBP_M rule);
* orientation pattern ``O = sum_p q_p n_o^p``, where ``q_p`` is the quantised in-plane
  gradient orientation ``floor(atan2(dI/drow, dI/dcol) mod 2 pi / (2 pi) * n_o)`` at the
  ring neighbour's nearest voxel (central differences in float32, angles within 1e-4 of
  a bin below a bin edge count in the bin above it; a zero gradient counts as 0).

Each of the nine (plane, component) pattern sets gets its own codebook: k-means (k =
``n_codewords``) on the distinct patterns of the training clips weighted by how often they
occur, sign and magnitude patterns as 0/1 vectors (Euclidean = Hamming distance) and
orientation patterns as the ``(cos, sin)`` of each neighbour's orientation (so that
adjacent orientations are close). A lookup table then maps every possible pattern to its
nearest codeword. Histograms of codewords per block and plane are normalised to sum 1 and
concatenated: per block, per plane ``XY, XT, YT``: sign, magnitude, orientation histograms.

The codebooks are learned in :meth:`STCLQP.fit` from the training clips only, so that
under cross-validation no test clip shapes them.

References
----------
.. [1] X. Huang, G. Zhao, X. Hong, W. Zheng and M. Pietikäinen, "Spontaneous facial
   micro-expression analysis using spatiotemporal completed local quantized patterns",
   Neurocomputing 175, 564-578, 2016. doi:10.1016/j.neucom.2015.10.096
.. [2] Z. Guo, L. Zhang and D. Zhang, "A completed modeling of local binary pattern operator
   for texture classification", IEEE TIP 19(6), 1657-1663, 2010. doi:10.1109/TIP.2010.2044957
.. [3] S. ul Hussain and B. Triggs, "Visual recognition using local quantized patterns",
   ECCV 2012. doi:10.1007/978-3-642-33709-3_51
"""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError

from .._validate import check_choice, check_int
from . import _lbp_kernels as K
from .base import CubeFeatures
from .lbp import (NEIGHBOURS, _block_tags, _plane_points, _plane_radii, _prepare, as_volume, centre_region,
                  check_blocks, check_blocks_fit, check_overlap, check_points, check_radii)

__all__ = ["COMPONENTS", "stclqp_patterns", "stclqp_names", "STCLQP"]

COMPONENTS = ("sign", "magnitude", "orientation")
_MAX_TABLE = 1 << 16


def _check(radii, points, n_orientations, neighbours):
    radii = check_radii(radii)
    points = check_points(points)
    n_o = check_int("n_orientations", n_orientations, low=2, high=16)
    check_choice("neighbours", neighbours, NEIGHBOURS)
    for p in set(points):
        if n_o ** p > _MAX_TABLE:
            raise ValueError(f"n_orientations={n_o} with points={p} gives {n_o}**{p} orientation patterns; "
                             f"at most {_MAX_TABLE} are supported (e.g. 4 orientations with 8 points)")
    return radii, points, n_o


def stclqp_patterns(cube, *, radii=(1, 1, 1), points=(8, 8, 8), n_orientations: int = 4,
                    neighbours: str = "interpolated") -> dict:
    """Sign, magnitude and orientation pattern volumes of each plane (before quantisation).

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x)
        A grey clip.
    radii, points, neighbours
        As in :func:`mer_lab.features.lbp.lbp_top` (the orientation component always reads
        the nearest voxel of each ring point).
    n_orientations : int, default 4
        Orientation bins over the full circle (``n_orientations ** P <= 65536``).

    Returns
    -------
    dict
        ``{(plane, component): codes}`` with planes ``"XY", "XT", "YT"`` and components
        ``"sign", "magnitude", "orientation"``; integer arrays over the centre region
        (voxels at least ``ceil(R) + 1`` from every border).

    Examples
    --------
    >>> import numpy as np
    >>> pats = stclqp_patterns(np.random.default_rng(0).random((6, 12, 12)))
    >>> pats[("XY", "sign")].shape, int(pats[("XT", "orientation")].max()) < 4 ** 8
    ((2, 8, 8), True)
    """
    vol = as_volume(cube)
    radii, points, n_o = _check(radii, points, n_orientations, neighbours)
    margins = tuple(int(np.ceil(r - 1e-9)) + 1 for r in (radii[2], radii[1], radii[0]))
    start, stop = centre_region(vol.shape, margins)
    values = _prepare(vol, neighbours)
    sampler = K.RegionSampler(values, start, stop)
    grid = K.RegionSampler(vol.astype(np.float32, copy=False), (1, 1, 1), tuple(n - 1 for n in vol.shape))
    out = {}
    for plane in K.PLANES:
        p = _plane_points(points, plane)
        r_row, r_col = _plane_radii(radii, plane)
        row_axis, col_axis = K.PLANE_AXES[plane]
        centre = sampler.centre().astype(np.float64, copy=False)
        diffs = [np.subtract(g, centre, dtype=np.float64)
                 for g in K.ring_samples(sampler, plane, p, r_row, r_col, neighbours)]
        mags = [np.abs(d) for d in diffs]
        mu = float(np.mean([m.mean() for m in mags]))
        sign = K.codes_from_pairs([(d, 0.0) for d in diffs], sampler.shape, p)
        mag = K.codes_from_pairs([(m, mu) for m in mags], sampler.shape, p)
        # quantised orientation of every voxel at least one from the borders
        plus_r, minus_r, plus_c, minus_c = [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]
        plus_r[row_axis], minus_r[row_axis], plus_c[col_axis], minus_c[col_axis] = 1, -1, 1, -1
        g_row = grid.shifted(plus_r) - grid.shifted(minus_r)
        g_col = grid.shifted(plus_c) - grid.shifted(minus_c)
        theta = np.arctan2(g_row, g_col)
        theta += (theta < 0) * np.float32(2 * np.pi)          # [0, 2 pi] without the slow np.mod
        # exact bin edges (e.g. the axes) count in the bin above, whatever the rounding
        q = (theta * np.float32(n_o / (2 * np.pi)) + np.float32(1e-4)).astype(np.int32)
        q -= (q >= n_o) * np.int32(n_o)
        # sample q at the rounded ring positions around each centre (q starts at voxel 1)
        q_sampler = K.RegionSampler(q, tuple(s - 1 for s in start), tuple(s - 1 for s in stop))
        o_row, o_col = K.rounded_offsets(p, r_row, r_col)
        orient = np.zeros(sampler.shape, np.int32)
        for i in range(p):
            shift = [0, 0, 0]
            shift[row_axis], shift[col_axis] = int(o_row[i]), int(o_col[i])
            orient += q_sampler.shifted(shift) * np.int32(n_o ** i)
        out[(plane, "sign")] = sign
        out[(plane, "magnitude")] = mag
        out[(plane, "orientation")] = orient
    return out


def _pattern_vectors(codes: np.ndarray, points: int, component: str, n_o: int) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.int64)
    if component == "orientation":
        digits = (codes[:, None] // (n_o ** np.arange(points))[None, :]) % n_o
        angle = 2 * np.pi * digits / n_o
        return np.concatenate([np.cos(angle), np.sin(angle)], axis=1)
    return ((codes[:, None] >> np.arange(points)[None, :]) & 1).astype(np.float64)


def _nearest(vectors: np.ndarray, centres: np.ndarray, chunk: int = 8192) -> np.ndarray:
    out = np.empty(vectors.shape[0], dtype=np.int64)
    c2 = (centres ** 2).sum(axis=1)
    for a in range(0, vectors.shape[0], chunk):
        v = vectors[a:a + chunk]
        d = c2[None, :] - 2.0 * v @ centres.T
        out[a:a + chunk] = d.argmin(axis=1)
    return out


def stclqp_names(*, n_codewords: int = 32, blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :class:`STCLQP`: ``stclqp_r{row}c{col}t{time}_{plane}_{component}_{codeword}``."""
    k = check_int("n_codewords", n_codewords, low=2)
    blocks = check_blocks(blocks)
    return [f"stclqp_{tag}_{plane}_{comp}_{j}" for tag in _block_tags(blocks) for plane in K.PLANES
            for comp in COMPONENTS for j in range(k)]


class STCLQP(CubeFeatures):
    """STCLQP transformer: ``fit`` learns the nine codebooks from the training clips.

    Parameters
    ----------
    radii, points, neighbours
        Rings as in :func:`mer_lab.features.lbp.lbp_top`.
    n_orientations : int, default 4
        Orientation bins of the orientation component.
    n_codewords : int, default 32
        Codewords per (plane, component) codebook; histograms have this many bins (fewer
        codewords are learned when the training clips show fewer distinct patterns, and
        the spare bins stay empty).
    blocks, overlap, normalise
        As in :func:`mer_lab.features.lbp.lbp_top`.
    random_state : int, default 0
        Seed of k-means.

    Attributes
    ----------
    tables_ : dict
        ``{(plane, component): lookup table pattern -> codeword}``.
    codebooks_ : dict
        ``{(plane, component): codeword vectors}``.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> clips = [make_cube(np.random.default_rng(i).integers(0, 256, (6, 16, 16), dtype=np.uint8), fps=100)
    ...          for i in range(3)]
    >>> STCLQP(blocks=(2, 2, 1), n_codewords=8).fit(clips).transform(clips).shape
    (3, 288)
    """

    def __init__(self, *, radii=(1, 1, 1), points=(8, 8, 8), n_orientations=4, n_codewords=32,
                 blocks=(8, 8, 1), overlap=0.0, neighbours="interpolated", normalise=True, random_state=0):
        self.radii = radii
        self.points = points
        self.n_orientations = n_orientations
        self.n_codewords = n_codewords
        self.blocks = blocks
        self.overlap = overlap
        self.neighbours = neighbours
        self.normalise = normalise
        self.random_state = random_state

    def _patterns(self, cube):
        return stclqp_patterns(cube, radii=self.radii, points=self.points, n_orientations=self.n_orientations,
                               neighbours=self.neighbours)

    def fit(self, X, y=None):
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        X = self._check_X(X)
        radii, points, n_o = _check(self.radii, self.points, self.n_orientations, self.neighbours)
        k = check_int("n_codewords", self.n_codewords, low=2)
        check_blocks(self.blocks)
        check_overlap(self.overlap)
        counts = {}
        for cube in X:
            for key, codes in self._patterns(cube).items():
                plane, comp = key
                p = _plane_points(points, plane)
                size = n_o ** p if comp == "orientation" else 2 ** p
                c = np.bincount(codes.ravel(), minlength=size)
                counts[key] = c if key not in counts else counts[key] + c
        self.tables_, self.codebooks_ = {}, {}
        for key, c in counts.items():
            plane, comp = key
            p = _plane_points(points, plane)
            seen = np.flatnonzero(c)
            vectors = _pattern_vectors(seen, p, comp, n_o)
            n_clusters = min(k, seen.size)
            km = KMeans(n_clusters=n_clusters, n_init=3, random_state=self.random_state)
            # small problems: OpenMP threads only add contention (and results stay identical)
            with threadpool_limits(limits=1, user_api="openmp"):
                km.fit(vectors, sample_weight=c[seen].astype(np.float64))
            centres = km.cluster_centers_
            table = _nearest(_pattern_vectors(np.arange(c.size), p, comp, n_o), centres)
            table = table.astype(np.uint8 if k <= 256 else np.uint16)
            table.setflags(write=False)
            self.tables_[key] = table
            self.codebooks_[key] = centres
        return super().fit(X, y)

    def _extract(self, cube):
        if not hasattr(self, "tables_"):
            raise NotFittedError("call fit before transform: STCLQP learns its codebooks in fit")
        blocks = check_blocks(self.blocks)
        overlap = check_overlap(self.overlap)
        k = int(self.n_codewords)
        pats = self._patterns(cube)
        shape = next(iter(pats.values())).shape
        check_blocks_fit(shape, blocks)
        hists = []
        for plane in K.PLANES:
            for comp in COMPONENTS:
                labels = np.take(self.tables_[(plane, comp)], pats[(plane, comp)])
                h = K.block_histograms(labels, k, shape, blocks, overlap)
                if self.normalise:
                    K.normalise_rows(h)
                hists.append(h)
        return np.concatenate(hists, axis=1).ravel()

    def _names(self, cube):
        return stclqp_names(n_codewords=self.n_codewords, blocks=self.blocks)
