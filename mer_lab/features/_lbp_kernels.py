"""Private numpy kernels behind :mod:`mer_lab.features.lbp`.

Everything here works on plain ``(time, y, x)`` arrays and is vectorised: a code volume
is built with one shifted comparison per neighbour (no loop over voxels), and the
histograms of all blocks of a plane come from a single :func:`numpy.bincount` over
``block * n_bins + label``.

Plane convention
----------------
A plane is a 2-D image cut through the volume. Its *rows* and *columns* are

* ``XY``: rows = y (axis 1), columns = x (axis 2) -- the frame ``volume[t]``;
* ``XT``: rows = t (axis 0), columns = x (axis 2) -- the slice ``volume[:, y, :]``;
* ``YT``: rows = t (axis 0), columns = y (axis 1) -- the slice ``volume[:, :, x]``.

Neighbour ``p`` of ``P`` on a ring with radii ``(r_row, r_col)`` sits at
``row - r_row * sin(2 pi p / P)``, ``col + r_col * cos(2 pi p / P)`` (offsets rounded to
5 decimals), exactly as in scikit-image's ``local_binary_pattern``; bit ``p`` of the code
is ``neighbour_p >= centre``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .blocks import block_labels as grid_labels
from .blocks import block_ranges

PLANES = ("XY", "XT", "YT")
# (row axis, column axis) of each plane in a (time, y, x) volume
PLANE_AXES = {"XY": (1, 2), "XT": (0, 2), "YT": (0, 1)}

# rows of the centre region processed at once: keeps the float temporaries in cache
_CHUNK_ELEMENTS = 1 << 16


# --------------------------------------------------------------------------- rings
def ring_offsets(points: int, r_row: float, r_col: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of the ``points`` ring neighbours (5-decimal rounded)."""
    angle = 2.0 * np.pi * np.arange(points, dtype=np.float64) / points
    d_row = np.round(-float(r_row) * np.sin(angle), 5)
    d_col = np.round(float(r_col) * np.cos(angle), 5)
    # turn -0.0 into 0.0 so that the integer tests below are plain
    return d_row + 0.0, d_col + 0.0


def rounded_offsets(points: int, r_row: float, r_col: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer offsets of the ring neighbours rounded half up (``floor(d + 0.5)``)."""
    d_row, d_col = ring_offsets(points, r_row, r_col)
    return np.floor(d_row + 0.5).astype(np.int64), np.floor(d_col + 0.5).astype(np.int64)


def ring_reach(points: int, r_row: float, r_col: float, neighbours: str) -> tuple[int, int]:
    """How far (in whole pixels) the ring reaches along rows and columns."""
    if neighbours == "rounded":
        d_row, d_col = rounded_offsets(points, r_row, r_col)
        return int(np.abs(d_row).max()), int(np.abs(d_col).max())
    d_row, d_col = ring_offsets(points, r_row, r_col)
    return int(np.ceil(np.abs(d_row).max())), int(np.ceil(np.abs(d_col).max()))


# --------------------------------------------------------------------------- sampling
class RegionSampler:
    """Sample a volume at offsets from every centre of a box-shaped centre region.

    Parameters
    ----------
    volume : ndarray, shape (T, Y, X)
        float64 for interpolated sampling; any real dtype for integer offsets.
    start, stop : tuple of int
        The centre region ``volume[start[0]:stop[0], start[1]:stop[1], start[2]:stop[2]]``.
    raw : ndarray, optional
        The same values in their original (narrower) dtype, used for comparisons at
        integer offsets: any integer or float32 value converts exactly to float64, so the
        comparison is the same and reads less memory.
    fast : ndarray of float32, optional
        The same values in float32 (exact for 8- and 16-bit clips). When given,
        :func:`plane_codes` interpolates in float32 and redoes in float64 only the
        comparisons closer than ``tolerance`` -- identical codes, about twice as fast.
    tolerance : float
        A bound well above the float32 interpolation error (see :func:`fast_tolerance`).
    """

    def __init__(self, volume: np.ndarray, start, stop, raw: np.ndarray | None = None,
                 fast: np.ndarray | None = None, tolerance: float = 0.0):
        self.volume = volume
        self.raw = volume if raw is None else raw
        # optional float32 copy (exact for 8/16-bit clips) for the fast interpolation path,
        # and the float32 error bound below which a comparison is redone in float64
        self.fast = fast
        self.tolerance = tolerance
        self.start = tuple(int(s) for s in start)
        self.stop = tuple(int(s) for s in stop)
        self.shape = tuple(b - a for a, b in zip(self.start, self.stop))

    def centre(self, raw: bool = False) -> np.ndarray:
        return (self.raw if raw else self.volume)[tuple(slice(a, b) for a, b in zip(self.start, self.stop))]

    def shifted(self, shift, raw: bool = False) -> np.ndarray:
        """View of the volume displaced by the integer vector ``shift`` (t, y, x)."""
        vol = self.raw if raw else self.volume
        return vol[tuple(slice(a + s, b + s) for a, b, s in zip(self.start, self.stop, shift))]

    def _weights(self, axis: int, offset: float, dtype=np.float64) -> np.ndarray:
        """Per-index bilinear weight of the upper neighbour along ``axis`` (skimage's arithmetic)."""
        index = np.arange(self.start[axis], self.stop[axis], dtype=np.float64)
        pos = index + offset
        frac = pos - np.floor(pos)
        shape = [1, 1, 1]
        shape[axis] = frac.size
        return frac.reshape(shape).astype(dtype, copy=False)

    def interpolated(self, row_axis: int, col_axis: int, d_row: float, d_col: float,
                     fast: bool = False) -> np.ndarray:
        """Bilinear sample at ``(row + d_row, col + d_col)`` in the plane (row_axis, col_axis).

        The arithmetic is the one of scikit-image's ``bilinear_interpolation`` (weights
        from the absolute position of each centre) so that codes match it exactly.
        ``fast=True`` does the same sums in float32 on :attr:`fast` (approximate).
        """
        vol = self.fast if fast else self.volume
        wdt = np.float32 if fast else np.float64
        one = wdt(1.0)
        f_row, f_col = int(np.floor(d_row)), int(np.floor(d_col))
        int_row, int_col = d_row == f_row, d_col == f_col
        base = [0, 0, 0]
        base[row_axis] = f_row
        base[col_axis] = f_col

        def at(dr, dc):
            s = list(base)
            s[row_axis] += dr
            s[col_axis] += dc
            return vol[tuple(slice(a + o, b + o) for a, b, o in zip(self.start, self.stop, s))]

        if int_row and int_col:
            return at(0, 0)
        if int_row:
            wc = self._weights(col_axis, d_col, wdt)
            return (one - wc) * at(0, 0) + wc * at(0, 1)
        wr = self._weights(row_axis, d_row, wdt)
        if int_col:
            # skimage: top = (1 - 0) * a + 0 * a' = a exactly
            return (one - wr) * at(0, 0) + wr * at(1, 0)
        wc = self._weights(col_axis, d_col, wdt)
        one_wc = one - wc
        top = one_wc * at(0, 0)
        top += wc * at(0, 1)
        bottom = one_wc * at(1, 0)
        bottom += wc * at(1, 1)
        top *= one - wr
        bottom *= wr
        top += bottom
        return top

    def exact_at(self, row_axis: int, col_axis: int, d_row: float, d_col: float,
                 flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact (float64, skimage arithmetic) ring samples and centres at some centres.

        ``flat`` indexes the centre region in C order. Returns ``(samples, centres)``.
        """
        coords = [c + a for c, a in zip(np.unravel_index(flat, self.shape), self.start)]
        centre = self.volume[tuple(coords)]
        pos_r = coords[row_axis] + d_row
        pos_c = coords[col_axis] + d_col
        r0, c0 = np.floor(pos_r), np.floor(pos_c)
        wr, wc = pos_r - r0, pos_c - c0
        r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
        r1 = r0 + (wr > 0)
        c1 = c0 + (wc > 0)

        def val(r, c):
            idx = list(coords)
            idx[row_axis], idx[col_axis] = r, c
            return self.volume[tuple(idx)]

        top = (1.0 - wc) * val(r0, c0) + wc * val(r0, c1)
        bottom = (1.0 - wc) * val(r1, c0) + wc * val(r1, c1)
        return (1.0 - wr) * top + wr * bottom, centre

    def sub(self, axis: int, lo: int, hi: int) -> "RegionSampler":
        """The same sampler restricted to centre indices ``lo:hi`` (region coordinates) on ``axis``."""
        start, stop = list(self.start), list(self.stop)
        start[axis] = self.start[axis] + lo
        stop[axis] = self.start[axis] + hi
        return RegionSampler(self.volume, start, stop, raw=self.raw, fast=self.fast, tolerance=self.tolerance)


def fast_tolerance(vol: np.ndarray) -> float:
    """Near-tie band of the float32 interpolation path.

    A bilinear sample is a convex combination of four values of magnitude at most
    ``m = max|vol|``; in float32 (weights rounded too) its error stays below about
    ``10 * 2**-24 * m`` (6e-7 m). Comparisons whose float32 margin is below ``1e-5 m``
    (17 times that) are recomputed exactly, so the codes equal the float64 ones.
    """
    m = float(np.abs(vol).max()) if vol.size else 0.0
    return 1e-5 * m


def code_dtype(n_bits: int):
    return np.uint8 if n_bits <= 8 else (np.uint16 if n_bits <= 16 else np.uint32)


def _chunks(sampler: RegionSampler, elements: int | None = _CHUNK_ELEMENTS):
    """Split the centre region along y (axis 1) into cache-sized chunks (``None``: one chunk)."""
    t, y, x = sampler.shape
    per_row = max(1, t * x)
    step = y if elements is None else max(1, elements // per_row)
    for lo in range(0, y, step):
        hi = min(y, lo + step)
        yield lo, hi, sampler.sub(1, lo, hi)


def plane_codes(sampler: RegionSampler, plane: str, points: int, r_row: float, r_col: float,
                neighbours: str, out: np.ndarray | None = None) -> np.ndarray:
    """Raw LBP codes (``sum_p [g_p >= g_c] 2^p``) of one plane over the centre region."""
    row_axis, col_axis = PLANE_AXES[plane]
    dtype = code_dtype(points)
    if out is None:
        out = np.empty(sampler.shape, dtype=dtype)
    if neighbours == "rounded":
        o_row, o_col = rounded_offsets(points, r_row, r_col)
    else:
        o_row, o_col = ring_offsets(points, r_row, r_col)
    # integer shifts are views: one pass is fastest; float temporaries want cache-sized chunks
    elements = None if neighbours == "rounded" else _CHUNK_ELEMENTS
    for lo, hi, sub in _chunks(sampler, elements):
        centre = sub.centre()
        centre_raw = sub.centre(raw=True)
        code = out[:, lo:hi, :]
        mask = np.empty(sub.shape, dtype=bool)
        bit = np.empty(sub.shape, dtype=dtype)
        for p in range(points):
            on_grid = neighbours == "rounded" or (o_row[p] == np.floor(o_row[p]) and o_col[p] == np.floor(o_col[p]))
            if on_grid:
                shift = [0, 0, 0]
                shift[row_axis] = int(o_row[p])
                shift[col_axis] = int(o_col[p])
                np.greater_equal(sub.shifted(shift, raw=True), centre_raw, out=mask)
            elif sub.fast is not None:
                # float32 pass, then the near-ties redone exactly in float64: the float32
                # error is far below `tolerance`, so every other comparison is already right
                d_row, d_col = float(o_row[p]), float(o_col[p])
                diff = sub.interpolated(row_axis, col_axis, d_row, d_col, fast=True)
                diff -= sub.fast[tuple(slice(a, b) for a, b in zip(sub.start, sub.stop))]
                np.greater_equal(diff, 0, out=mask)
                np.abs(diff, out=diff)
                near = np.flatnonzero(diff <= sub.tolerance)
                if near.size > mask.size // 16:
                    # flat regions: many near-ties, the dense float64 pass is cheaper
                    np.greater_equal(sub.interpolated(row_axis, col_axis, d_row, d_col), centre, out=mask)
                elif near.size:
                    exact, c_exact = sub.exact_at(row_axis, col_axis, d_row, d_col, near)
                    mask.reshape(-1)[near] = exact >= c_exact
            else:
                nb = sub.interpolated(row_axis, col_axis, float(o_row[p]), float(o_col[p]))
                np.greater_equal(nb, centre, out=mask)
            if p == 0:
                np.copyto(code, mask, casting="unsafe")
            else:
                # multiply, not left_shift: numpy vectorises the former for small ints
                np.multiply(mask.view(np.uint8), 1 << p, out=bit, dtype=bit.dtype, casting="unsafe")
                np.bitwise_or(code, bit, out=code)
    return out


def ring_samples(sampler: RegionSampler, plane: str, points: int, r_row: float, r_col: float,
                 neighbours: str) -> list[np.ndarray]:
    """All ``points`` neighbour samples of a ring (views for integer offsets)."""
    row_axis, col_axis = PLANE_AXES[plane]
    samples = []
    if neighbours == "rounded":
        o_row, o_col = rounded_offsets(points, r_row, r_col)
        for p in range(points):
            shift = [0, 0, 0]
            shift[row_axis] = int(o_row[p])
            shift[col_axis] = int(o_col[p])
            samples.append(sampler.shifted(shift))
    else:
        o_row, o_col = ring_offsets(points, r_row, r_col)
        for p in range(points):
            samples.append(sampler.interpolated(row_axis, col_axis, float(o_row[p]), float(o_col[p])))
    return samples


def codes_from_pairs(pairs, shape, n_bits: int) -> np.ndarray:
    """``sum_p [a_p >= b_p] 2^p`` for a sequence of array pairs ``(a_p, b_p)``."""
    dtype = code_dtype(n_bits)
    code = np.zeros(shape, dtype=dtype)
    mask = np.empty(shape, dtype=bool)
    bit = np.empty(shape, dtype=dtype)
    for p, (a, b) in enumerate(pairs):
        np.greater_equal(a, b, out=mask)
        np.multiply(mask.view(np.uint8), 1 << p, out=bit, dtype=bit.dtype, casting="unsafe")
        np.bitwise_or(code, bit, out=code)
    return code


# --------------------------------------------------------------------------- mappings
def _circular_transitions(codes: np.ndarray, points: int) -> np.ndarray:
    rotated = ((codes >> 1) | ((codes & 1) << (points - 1)))
    diff = codes ^ rotated
    count = np.zeros(codes.shape, dtype=np.int64)
    for b in range(points):
        count += (diff >> b) & 1
    return count


def _popcount(codes: np.ndarray, points: int) -> np.ndarray:
    count = np.zeros(codes.shape, dtype=np.int64)
    for b in range(points):
        count += (codes >> b) & 1
    return count


@lru_cache(maxsize=64)
def mapping_table(points: int, mapping: str) -> tuple[np.ndarray, int]:
    """Lookup table from raw code to label, and the number of labels.

    * ``"none"``: identity, ``2**P`` labels.
    * ``"u2"``: uniform patterns (at most two circular 0/1 transitions) get labels
      ``0 .. P(P-1)+1`` in increasing order of their raw code; all other patterns share
      the last label ``P(P-1)+2`` (``P(P-1)+3`` labels; 59 for P = 8).
    * ``"riu2"``: uniform patterns get their number of ones ``0..P``; others ``P+1``
      (``P+2`` labels).
    """
    codes = np.arange(2 ** points, dtype=np.int64)
    if mapping == "none":
        table, n = codes, 2 ** points
    else:
        uniform = _circular_transitions(codes, points) <= 2
        if mapping == "u2":
            n = points * (points - 1) + 3
            table = np.full(codes.size, n - 1, dtype=np.int64)
            table[uniform] = np.arange(int(uniform.sum()))
            assert int(uniform.sum()) == n - 1
        elif mapping == "riu2":
            n = points + 2
            table = np.where(uniform, _popcount(codes, points), points + 1)
        else:  # pragma: no cover - validated by callers
            raise ValueError(mapping)
    dtype = code_dtype(int(np.ceil(np.log2(max(n, 2)))))
    table = table.astype(dtype)
    table.setflags(write=False)
    return table, int(n)


def apply_mapping(codes: np.ndarray, points: int, mapping: str) -> tuple[np.ndarray, int]:
    table, n = mapping_table(points, mapping)
    if mapping == "none":
        return codes, n
    return np.take(table, codes), n


# --------------------------------------------------------------------------- blocks
@lru_cache(maxsize=32)
def block_labels(shape: tuple[int, int, int], blocks: tuple[int, int, int]) -> np.ndarray:
    """Block number of every centre of a (T, Y, X) region, non-overlapping blocks.

    The partition is :mod:`mer_lab.features.blocks`'s; blocks are numbered in C order
    over (row block, column block, time block).
    """
    t, y, x = shape
    kr, kc, kt = blocks
    lab = np.ascontiguousarray(grid_labels((y, x, t), (kr, kc, kt)).transpose(2, 0, 1))
    lab.setflags(write=False)
    return lab


def block_histograms(labels: np.ndarray, n_bins: int, shape, blocks, overlap: float,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """Histograms (n_blocks, n_bins) of ``labels`` (a region-shaped label volume).

    ``weights`` (same shape as ``labels``) turns counts into sums of weights.
    """
    kr, kc, kt = blocks
    n_blocks = kr * kc * kt
    if overlap == 0.0:
        idx = block_labels(tuple(shape), tuple(blocks)) * n_bins
        idx = idx + labels
        w = None if weights is None else weights.ravel()
        hist = np.bincount(idx.ravel(), weights=w, minlength=n_blocks * n_bins)
        return hist.reshape(n_blocks, n_bins).astype(np.float64, copy=False)
    t, y, x = shape
    er, ec, et = block_ranges(y, kr, overlap), block_ranges(x, kc, overlap), block_ranges(t, kt, overlap)
    out = np.empty((n_blocks, n_bins), dtype=np.float64)
    i = 0
    for (r0, r1) in er:
        for (c0, c1) in ec:
            for (t0, t1) in et:
                w = None if weights is None else weights[t0:t1, r0:r1, c0:c1].ravel()
                out[i] = np.bincount(labels[t0:t1, r0:r1, c0:c1].ravel(), weights=w, minlength=n_bins)
                i += 1
    return out


def normalise_rows(hist: np.ndarray) -> np.ndarray:
    total = hist.sum(axis=-1, keepdims=True)
    np.divide(hist, total, out=hist, where=total > 0)
    return hist
