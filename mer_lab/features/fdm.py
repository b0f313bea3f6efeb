"""Facial dynamics map (FDM; Xu, Zhang & Wang, IEEE TAC 2017).

FDM summarises a clip's optical-flow sequence by one principal motion direction per
spatio-temporal cuboid:

1. flow between consecutive frames (``reference="previous"``) of the expression
   (onset..offset), each field *aligned in the flow domain*: the global (head) motion,
   an affine field fitted robustly to the flow itself or to given stable points, is
   subtracted (:func:`mer_lab.features.flow.remove_global_motion`);
2. the sequence is cut into cuboids: a ``rows x cols`` spatial grid times temporal
   segments (``segments`` equal parts, or runs of ``tau`` flow fields);
3. per cuboid, the principal direction ``xi`` (a unit vector) maximises the summed
   positive inner products with the cuboid's flow vectors ``w_i``:

   .. math:: \\xi^* = \\arg\\max_{\\|\\xi\\| = 1} \\sum_i \\max(0, \\langle \\xi, w_i \\rangle)

   found iteratively from a start value (:func:`principal_directions`); its strength is
   the mean positive projection ``m = J(xi*) / N``;
4. the feature is, per cuboid, ``m * xi`` (``representation="vector"``: two numbers,
   free of the angle wrap-around) or ``(m, angle of xi)`` (``"polar"``), concatenated
   segment by segment, block by block.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._validate import check_choice, check_int, check_number
from ..cube import key_frames, validate_cube
from .base import CubeFeatures
from .blocks import block_labels
from .flow import as_flow, flow_sequence, remove_global_motion
from .hoof import _check_blocks

__all__ = ["principal_directions", "cuboid_labels", "fdm_flow", "fdm", "fdm_names", "FDM"]


def principal_directions(vectors, labels, *, n_groups: int | None = None, max_iter: int = 50):
    """Per-group principal direction maximising the sum of positive inner products.

    Parameters
    ----------
    vectors : array_like, shape (N, 2)
        Flow vectors ``(u, v)``.
    labels : array_like of int, shape (N,)
        Group (cuboid) of each vector, ``0 .. n_groups - 1``.
    n_groups : int, optional
        Number of groups; default ``labels.max() + 1``.
    max_iter : int
        Upper bound on the iterations (the iteration stops earlier, see Notes).

    Returns
    -------
    xi : numpy.ndarray, shape (n_groups, 2)
        Unit principal directions (zero for a group without motion).
    strength : numpy.ndarray, shape (n_groups,)
        Mean positive projection ``sum_i max(0, <xi, w_i>) / N_group``.
    n_iter : int
        Iterations run.

    Notes
    -----
    Start: ``xi_0`` = the direction of the group's mean vector (or, when the vectors
    cancel out, of its longest vector). Step: with ``S = {i : <xi_k, w_i> > 0}``,
    ``xi_{k+1} = sum_{i in S} w_i / ||sum_{i in S} w_i||`` -- for a fixed ``S`` this is
    the maximiser of ``sum_{i in S} <xi, w_i>`` over unit vectors, and re-selecting ``S``
    can only increase the objective, so it never decreases. Stop when no group's set
    ``S`` changes (then ``xi`` is a fixed point) or after ``max_iter`` iterations.
    All groups are iterated together with ``bincount`` sums.
    """
    w = np.asarray(vectors, dtype=np.float64)
    lab = np.asarray(labels).ravel()
    if w.ndim != 2 or w.shape[1] != 2 or w.shape[0] != lab.size:
        raise ValueError(f"vectors must have shape (N, 2) and labels (N,), got {w.shape} and {lab.shape}")
    n = int(lab.max()) + 1 if n_groups is None else check_int("n_groups", n_groups, low=1)
    max_iter = check_int("max_iter", max_iter, low=1)
    u, v = w[:, 0], w[:, 1]
    count = np.bincount(lab, minlength=n).astype(np.float64)
    sx, sy = np.bincount(lab, u, minlength=n), np.bincount(lab, v, minlength=n)
    norm = np.hypot(sx, sy)
    # fall back to the longest vector where the mean is (nearly) zero
    mag = np.hypot(u, v)
    order = np.lexsort((mag, lab))  # by group, then magnitude
    last = np.zeros(n, dtype=np.int64) - 1
    last[lab[order]] = order  # index of each group's longest vector
    weak = norm <= 1e-12 * np.maximum(np.bincount(lab, mag, minlength=n), 1e-300)
    fx = np.where(weak & (last >= 0), u[np.maximum(last, 0)], sx)
    fy = np.where(weak & (last >= 0), v[np.maximum(last, 0)], sy)
    xi = _unit(fx, fy)
    pos = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        new_pos = u * xi[lab, 0] + v * xi[lab, 1] > 0
        if pos is not None and np.array_equal(new_pos, pos):
            n_iter -= 1
            break
        pos = new_pos
        xi = _unit(np.bincount(lab, u * pos, minlength=n), np.bincount(lab, v * pos, minlength=n))
    proj = np.maximum(u * xi[lab, 0] + v * xi[lab, 1], 0.0)
    strength = np.divide(np.bincount(lab, proj, minlength=n), count, out=np.zeros(n), where=count > 0)
    return xi, strength, n_iter


def _unit(x, y):
    r = np.hypot(x, y)
    safe = np.where(r > 0, r, 1.0)
    return np.stack([np.where(r > 0, x / safe, 0.0), np.where(r > 0, y / safe, 0.0)], axis=1)


def _segments_of(t, segments, tau):
    if tau is not None:
        tau = check_int("tau", tau, low=1)
        return np.arange(t) // tau, int(np.ceil(t / tau))
    segments = check_int("segments", segments, low=1)
    if segments > t:
        raise ValueError(f"segments={segments} exceeds the {t} flow fields of the clip; "
                         "use fewer segments or normalise the clip length (TIM) first")
    return (np.arange(t) * segments) // t, segments


def cuboid_labels(shape, *, blocks=(8, 8), segments: int = 4, tau: int | None = None):
    """Cuboid index of every ``(t, y, x)`` of a ``(T, H, W)`` flow sequence.

    Returns ``(labels (T, H, W), n_segments)``; the index is
    ``segment * rows * cols + row * cols + col``.
    """
    t, h, w = shape
    rows, cols = _check_blocks(blocks)
    seg, n_seg = _segments_of(t, segments, tau)
    lab = seg[:, None, None] * (rows * cols) + block_labels((h, w), (rows, cols))[None]
    return lab, n_seg


def fdm_flow(data, *, span: str = "expression", reference: str = "previous", align: str = "affine",
             align_points=None, engine: str = "tvl1", cache=None, **engine_params) -> np.ndarray:
    """The aligned flow sequence FDM works on, ``(T, 2, H, W)``.

    ``data`` is a cube (flow computed with ``engine`` over ``span``: ``"expression"`` =
    onset..offset, ``"clip"`` = every frame), or a precomputed flow sequence. The
    reference frame's own (zero) field is dropped. ``align`` is ``"affine"``,
    ``"translation"`` or ``"none"``; ``align_points`` ((K, 2) or (T, K, 2) stable (x, y)
    positions) restricts the alignment fit to those points.
    """
    check_choice("span", span, ("expression", "clip"))
    check_choice("reference", reference, ("first", "onset", "previous"))
    check_choice("align", align, ("affine", "translation", "none"))
    if isinstance(data, xr.DataArray) and "component" not in data.dims:
        cube = validate_cube(data, min_frames=2)
        if span == "expression":
            kf = key_frames(cube)
            cube = cube.isel(time=slice(kf["onset"], kf["offset"] + 1))
            if cube.sizes["time"] < 2:
                raise ValueError("the expression (onset..offset) spans fewer than 2 frames")
        seq = flow_sequence(cube, reference=reference, engine=engine, cache=cache, **engine_params).values
        ref = key_frames(cube)["onset"] if reference == "onset" else 0
        seq = np.delete(seq, ref, axis=0)  # the reference's own, zero, field
    else:
        seq, _ = as_flow(data)
        if seq.ndim == 3:
            seq = seq[None]
    if align != "none":
        seq = remove_global_motion(seq, model=align, points=align_points)
    return seq


def fdm(data, *, blocks=(8, 8), segments: int = 4, tau: int | None = None,
        representation: str = "vector", span: str = "expression", reference: str = "previous",
        align: str = "affine", align_points=None, min_magnitude: float = 0.0, max_iter: int = 50,
        engine: str = "tvl1", cache=None, **engine_params) -> np.ndarray:
    """Facial dynamics map feature of a clip (or of a precomputed flow sequence).

    Parameters
    ----------
    data : cube or flow sequence
        A clip (dims time, y, x) or flow ``(time, component, y, x)`` / ``(T, 2, H, W)``.
    blocks : (int, int)
        Spatial grid rows x cols of the cuboids.
    segments : int
        Temporal segments (equal parts of the flow sequence): the feature length is then
        fixed whatever the clip length.
    tau : int, optional
        Cuboid length in flow fields instead of ``segments`` (the paper's tau); the
        feature length then depends on the clip length (normalise it with TIM).
    representation : {"vector", "polar"}
        Per cuboid ``(m xi_x, m xi_y)`` or ``(m, angle of xi in radians)``.
    span, reference, align, align_points
        See :func:`fdm_flow`.
    min_magnitude : float
        Flow vectors shorter than this (px) are ignored (noise).
    max_iter : int
        Bound on the principal-direction iterations (see :func:`principal_directions`).
    engine, cache, **engine_params
        Flow computation for cube input.

    Returns
    -------
    numpy.ndarray, shape (n_segments * rows * cols * 2,), float64

    References
    ----------
    Xu, Zhang & Wang, "Microexpression identification and categorization using a facial
    dynamics map", IEEE Trans. Affective Computing 8 (2017) 254-267,
    doi:10.1109/TAFFC.2016.2518162.

    Examples
    --------
    >>> import numpy as np
    >>> seq = np.zeros((4, 2, 8, 8), np.float32)
    >>> seq[:, 1, :4] = -1.0                      # upper half moves up throughout
    >>> f = fdm(seq, blocks=(2, 1), segments=1, align="none")
    >>> f.reshape(2, 2).round(3).tolist()
    [[0.0, -1.0], [0.0, 0.0]]
    """
    check_choice("representation", representation, ("vector", "polar"))
    min_magnitude = check_number("min_magnitude", min_magnitude, low=0)
    seq = fdm_flow(data, span=span, reference=reference, align=align, align_points=align_points,
                   engine=engine, cache=cache, **engine_params)
    t, _, h, w = seq.shape
    lab, n_seg = cuboid_labels((t, h, w), blocks=blocks, segments=segments, tau=tau)
    u = seq[:, 0].astype(np.float64)
    v = seq[:, 1].astype(np.float64)
    if min_magnitude > 0:
        small = np.hypot(u, v) < min_magnitude
        u = np.where(small, 0.0, u)
        v = np.where(small, 0.0, v)
    rows, cols = _check_blocks(blocks)
    n = n_seg * rows * cols
    xi, m, _ = principal_directions(np.stack([u.ravel(), v.ravel()], axis=1), lab.ravel(),
                                    n_groups=n, max_iter=max_iter)
    if representation == "vector":
        out = xi * m[:, None]
    else:
        out = np.stack([m, np.arctan2(xi[:, 1], xi[:, 0])], axis=1)
    return out.ravel()


def fdm_names(*, blocks=(8, 8), n_segments: int = 4, representation: str = "vector",
              prefix: str = "fdm") -> list[str]:
    """Feature names of :func:`fdm` (``<prefix>_t<segment>_r<row>c<col>_<part>``)."""
    rows, cols = _check_blocks(blocks)
    parts = ("dx", "dy") if representation == "vector" else ("magnitude", "angle")
    return [f"{prefix}_t{s}_r{r}c{c}_{p}" for s in range(n_segments) for r in range(rows)
            for c in range(cols) for p in parts]


class FDM(CubeFeatures):
    """scikit-learn transformer for :func:`fdm` (``X``: cubes or flow sequences).

    ``engine_params`` is a dict of flow-engine parameters. With ``tau`` set, all clips
    must give the same number of segments.
    """

    def __init__(self, *, blocks=(8, 8), segments=4, tau=None, representation="vector",
                 span="expression", reference="previous", align="affine", min_magnitude=0.0,
                 max_iter=50, engine="tvl1", cache=None, engine_params=None):
        self.blocks = blocks
        self.segments = segments
        self.tau = tau
        self.representation = representation
        self.span = span
        self.reference = reference
        self.align = align
        self.min_magnitude = min_magnitude
        self.max_iter = max_iter
        self.engine = engine
        self.cache = cache
        self.engine_params = engine_params

    def _extract(self, cube):
        return fdm(cube, blocks=self.blocks, segments=self.segments, tau=self.tau,
                   representation=self.representation, span=self.span, reference=self.reference,
                   align=self.align, min_magnitude=self.min_magnitude, max_iter=self.max_iter,
                   engine=self.engine, cache=self.cache, **(self.engine_params or {}))

    def _names(self, cube):
        if self.tau is None:
            n_seg = self.segments
        else:
            if "component" in cube.dims:
                t = cube.sizes.get("time", 1)
            elif self.span == "expression":
                kf = key_frames(cube)
                t = kf["offset"] - kf["onset"]
            else:
                t = cube.sizes["time"] - 1
            n_seg = int(np.ceil(t / self.tau))
        return fdm_names(blocks=self.blocks, n_segments=n_seg, representation=self.representation)
