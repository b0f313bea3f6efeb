"""Motion for the synthetic corpus: action-unit displacement fields, temporal profiles,
head trajectories and the frame renderer.

The physical model
------------------
A point ``p`` of the neutral face (base coordinates, pixels) is seen at time ``t`` at

    P_t(p) = T_t(p + sum_e a_e(t) D_e(p))

where ``D_e`` is the apex displacement field of expression ``e`` (a sum of action-unit
fields), ``a_e(t)`` in [0, 1] its temporal profile, and ``T_t`` the head pose (a rotation
by ``theta_t`` about the face centre ``c`` followed by a translation ``(dx_t, dy_t)``):
``T_t(p) = R(theta_t) (p - c) + c + (dx_t, dy_t)``.

Frame ``t`` is the neutral image sampled backwards, ``I_t(q) = B(P_t^{-1}(q))``: the head
part is inverted analytically (``r = T_t^{-1}(q)``), the expression part by solving
``p + a D(p) = r`` with Newton (chord) steps on the gridded field; fields are kept smooth
enough (largest gradient 0.6) for the warp to be invertible.

Each action-unit field is a sum of compactly supported smooth bumps
``w (1 - rho^2)^3`` (``rho`` the elliptical distance to an anchor point, zero beyond the
bump's radius) times a unit direction, so a motion is exactly zero outside its region.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from ._face import FaceModel, blink_overlay

__all__ = [
    "AU_NAMES",
    "AU_TABLE",
    "MIRROR",
    "Expression",
    "make_expression",
    "raised_cosine_profile",
    "blink_profile",
    "smooth_path",
    "HeadMotion",
    "render",
    "solve_expression",
]

# iBUG-68 left/right mirror pairs (image left <-> image right)
_PAIRS = [(i, 16 - i) for i in range(8)] + [(17, 26), (18, 25), (19, 24), (20, 23), (21, 22),
                                            (31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42),
                                            (40, 47), (41, 46), (48, 54), (49, 53), (50, 52), (55, 59),
                                            (56, 58), (60, 64), (61, 63), (65, 67)]
MIRROR = np.arange(68)
for _a, _b in _PAIRS:
    MIRROR[_a], MIRROR[_b] = _b, _a

AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
    18: "lip pucker", 20: "lip stretcher", 23: "lip tightener", 24: "lip pressor",
    25: "lips part", 26: "jaw drop",
}

# AU -> bumps: (anchor landmark, offset (face units), direction, radii (face units), weight, side)
# Anchors, offsets and directions are written for the image-left half of the face (the
# subject's right, "R"); they are mirrored for the other half ("L"). Side "C" marks a
# bump on the midline (anchored on a midline landmark, not mirrored).
AU_TABLE: dict[int, list[tuple]] = {
    1: [(21, (0.0, -0.02), (0, -1), (0.20, 0.17), 1.0, "R"),
        (20, (0.0, -0.02), (0, -1), (0.18, 0.15), 0.6, "R"),
        (21, (0.02, -0.20), (0, -1), (0.20, 0.16), 0.5, "R")],
    2: [(17, (0.0, 0.0), (0, -1), (0.18, 0.15), 1.0, "R"),
        (18, (0.0, 0.0), (0, -1), (0.18, 0.15), 0.8, "R"),
        (18, (0.0, -0.20), (0, -1), (0.20, 0.16), 0.45, "R")],
    4: [(21, (0.0, 0.0), (0.55, 0.83), (0.17, 0.14), 1.0, "R"),
        (20, (0.0, 0.0), (0.45, 0.9), (0.17, 0.14), 0.7, "R")],
    5: [(37, (0.0, 0.0), (0, -1), (0.12, 0.09), 1.0, "R"),
        (38, (0.0, 0.0), (0, -1), (0.12, 0.09), 1.0, "R")],
    6: [(41, (0.02, 0.22), (-0.25, -0.97), (0.22, 0.18), 1.0, "R"),
        (41, (0.04, 0.02), (0, -1), (0.12, 0.09), 0.5, "R"),
        (36, (-0.08, 0.0), (0.5, -0.85), (0.10, 0.10), 0.35, "R")],
    7: [(41, (0.04, 0.01), (0, -1), (0.14, 0.09), 1.0, "R"),
        (37, (0.04, 0.0), (0, 1), (0.12, 0.08), 0.35, "R")],
    9: [(31, (0.0, -0.03), (0.3, -0.95), (0.12, 0.12), 1.0, "R"),
        (29, (0.0, 0.0), (0, -1), (0.10, 0.12), 0.6, "C"),
        (50, (0.0, -0.02), (0, -1), (0.12, 0.10), 0.35, "R"),
        (21, (0.0, 0.0), (0.3, 0.95), (0.12, 0.10), 0.3, "R")],
    10: [(50, (0.0, -0.02), (0, -1), (0.14, 0.11), 1.0, "R"),
         (49, (0.0, 0.0), (-0.15, -1), (0.12, 0.11), 0.7, "R"),
         (51, (0.0, -0.02), (0, -1), (0.12, 0.11), 0.8, "C"),
         (31, (-0.05, 0.10), (0, -1), (0.10, 0.10), 0.3, "R")],
    12: [(48, (0.0, 0.0), (-0.8, -0.6), (0.18, 0.16), 1.0, "R"),
         (48, (-0.08, -0.18), (-0.6, -0.8), (0.20, 0.15), 0.5, "R")],
    14: [(48, (0.0, 0.0), (0.9, -0.35), (0.12, 0.10), 1.0, "R"),
         (48, (-0.08, 0.0), (0.9, -0.2), (0.10, 0.10), 0.5, "R")],
    15: [(48, (0.0, 0.0), (-0.3, 0.95), (0.16, 0.14), 1.0, "R"),
         (59, (0.0, 0.0), (-0.1, 1.0), (0.12, 0.10), 0.4, "R")],
    17: [(8, (0.0, -0.08), (0, -1), (0.28, 0.20), 1.0, "C"),
         (57, (0.0, 0.02), (0, -1), (0.16, 0.10), 0.6, "C")],
    18: [(48, (0.0, 0.0), (1.0, 0.0), (0.14, 0.12), 1.0, "R"),
         (49, (0.0, 0.0), (0.7, 0.2), (0.12, 0.10), 0.4, "R")],
    20: [(48, (0.0, 0.0), (-0.95, 0.3), (0.18, 0.14), 1.0, "R")],
    23: [(48, (0.0, 0.0), (1.0, 0.0), (0.10, 0.10), 0.8, "R"),
         (51, (0.0, -0.02), (0, 1), (0.16, 0.10), 0.5, "C"),
         (57, (0.0, 0.02), (0, -1), (0.16, 0.10), 0.5, "C")],
    24: [(51, (0.0, -0.03), (0, 1), (0.22, 0.11), 1.0, "C"),
         (57, (0.0, 0.03), (0, -1), (0.22, 0.11), 1.0, "C")],
    25: [(57, (0.0, 0.02), (0, 1), (0.20, 0.10), 1.0, "C")],
    26: [(8, (0.0, 0.0), (0, 1), (0.45, 0.30), 1.0, "C"),
         (57, (0.0, 0.0), (0, 1), (0.30, 0.12), 0.8, "C"),
         (6, (0.0, 0.0), (0.1, 1.0), (0.20, 0.20), 0.6, "R")],
}


def _au_bumps(au: int, side: str, face: FaceModel):
    """Bumps of one AU on ``face`` as arrays (centres px, unit dirs, radii px, weights)."""
    lm = face.landmarks
    s = face.scale
    cs, ds, rs, ws = [], [], [], []
    for anchor, off, direction, radii, weight, where in AU_TABLE[au]:
        d = np.asarray(direction, float)
        d = d / np.linalg.norm(d)
        off = np.asarray(off, float)
        variants = []
        if where == "C":
            if side == "":
                variants.append((anchor, off, d, 1.0))
        else:
            if side in ("", "R"):
                variants.append((anchor, off, d, 1.0))
            if side in ("", "L"):
                flip = np.array([-1.0, 1.0])
                variants.append((MIRROR[anchor], off * flip, d * flip, 1.0))
        for a, o, dd, f in variants:
            cs.append(lm[a] + o * s)
            ds.append(dd)
            rs.append(np.asarray(radii, float) * s)
            ws.append(weight * f)
    return (np.array(cs).reshape(-1, 2), np.array(ds).reshape(-1, 2),
            np.array(rs).reshape(-1, 2), np.array(ws))


def _bump_sum(points, centres, dirs, radii, weights, *, jacobian=False, chunk=4096):
    """Sum of bumps at ``points`` (N, 2) -> (N, 2) displacements (u, v).

    With ``jacobian=True`` also returns (N, 4): du/dx, du/dy, dv/dx, dv/dy.
    """
    points = np.asarray(points, float).reshape(-1, 2)
    out = np.zeros_like(points)
    jac = np.zeros((len(points), 4)) if jacobian else None
    live = weights != 0
    if not live.any():
        return (out, jac) if jacobian else out
    centres, dirs, radii, weights = centres[live], dirs[live], radii[live], weights[live]
    lo = (centres - radii).min(axis=0)
    hi = (centres + radii).max(axis=0)
    near = np.flatnonzero(((points >= lo) & (points <= hi)).all(axis=1))  # the rest is outside every bump
    for i in range(0, len(near), chunk):
        idx = near[i:i + chunk]
        p = points[idx]
        ex = p[:, None, 0] - centres[None, :, 0]
        ey = p[:, None, 1] - centres[None, :, 1]
        q = np.clip(1.0 - ((ex / radii[None, :, 0]) ** 2 + (ey / radii[None, :, 1]) ** 2), 0.0, None)
        out[idx] = (q ** 3 * weights[None, :]) @ dirs
        if jacobian:
            common = -6.0 * q ** 2 * weights[None, :]
            gx = (common * ex / radii[None, :, 0] ** 2) @ dirs  # d(u, v)/dx
            gy = (common * ey / radii[None, :, 1] ** 2) @ dirs  # d(u, v)/dy
            jac[idx] = np.stack([gx[:, 0], gy[:, 0], gx[:, 1], gy[:, 1]], axis=1)
    return (out, jac) if jacobian else out


def _bump_grid(shape, origin, centres, dirs, radii, weights, *, jacobian=False):
    """Sum of bumps on a pixel grid whose index (0, 0) sits at ``origin`` (x, y).

    Each bump is evaluated only inside its bounding box (its support is compact).
    Returns (H, W, 2) float64 and, with ``jacobian=True``, (H, W, 4) as in :func:`_bump_sum`.
    """
    h, w = shape
    ox, oy = origin
    field = np.zeros((h, w, 2))
    jac = np.zeros((h, w, 4)) if jacobian else None
    for (cx, cy), (dx, dy), (rx, ry), wt in zip(centres, dirs, radii, weights):
        if wt == 0:
            continue
        x0 = max(int(np.floor(cx - rx - ox)), 0)
        x1 = min(int(np.ceil(cx + rx - ox)) + 1, w)
        y0 = max(int(np.floor(cy - ry - oy)), 0)
        y1 = min(int(np.ceil(cy + ry - oy)) + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        ex = (ox + np.arange(x0, x1) - cx)[None, :]
        ey = (oy + np.arange(y0, y1) - cy)[:, None]
        q = np.clip(1.0 - (ex / rx) ** 2 - (ey / ry) ** 2, 0.0, None)
        q2 = q * q
        phi = q2 * q * wt
        field[y0:y1, x0:x1, 0] += phi * dx
        field[y0:y1, x0:x1, 1] += phi * dy
        if jacobian:
            common = -6.0 * q2 * wt
            gx = common * ex / rx**2
            gy = common * ey / ry**2
            jac[y0:y1, x0:x1, 0] += gx * dx
            jac[y0:y1, x0:x1, 1] += gy * dx
            jac[y0:y1, x0:x1, 2] += gx * dy
            jac[y0:y1, x0:x1, 3] += gy * dy
    return (field, jac) if jacobian else field


def _spectral_norm(jac):
    """Largest singular value of each 2x2 Jacobian (last axis du/dx, du/dy, dv/dx, dv/dy)."""
    a, b, c, d = np.moveaxis(jac, -1, 0)
    s1 = a * a + b * b + c * c + d * d
    det = a * d - b * c
    return np.sqrt(0.5 * (s1 + np.sqrt(np.maximum(s1 * s1 - 4 * det * det, 0.0))))


MAX_STRAIN = 0.6  # largest accepted displacement gradient (keeps the warp invertible)


@dataclass
class Expression:
    """The apex displacement field of one expression on one face.

    ``at(points)`` evaluates it exactly anywhere (points (..., 2) as x, y); ``grid``
    holds it on the face canvas (frame plus ``margin`` pixels each side) as an
    (H, W, 2) float32 array (u, v), ``jacobian`` its derivatives (H, W, 4).
    ``au_peaks`` gives each AU's own peak displacement in pixels; ``widen`` the factor by
    which the bumps' radii were enlarged to keep the largest gradient under
    :data:`MAX_STRAIN` (1 when no widening was needed).
    """

    labels: list
    centres: np.ndarray
    dirs: np.ndarray
    radii: np.ndarray
    weights: np.ndarray
    grid: np.ndarray
    jacobian: np.ndarray
    margin: int
    au_peaks: dict
    amplitude: float
    widen: float = 1.0

    @cached_property
    def box(self):
        """Canvas-index box (x0, y0, x1, y1) holding the field's support (plus 2 px), or None."""
        live = self.weights != 0
        if not live.any():
            return None
        lo = self.centres[live] - self.radii[live] + self.margin
        hi = self.centres[live] + self.radii[live] + self.margin
        h, w = self.grid.shape[:2]
        x0 = max(int(np.floor(lo[:, 0].min())) - 2, 0)
        y0 = max(int(np.floor(lo[:, 1].min())) - 2, 0)
        x1 = min(int(np.ceil(hi[:, 0].max())) + 3, w)
        y1 = min(int(np.ceil(hi[:, 1].max())) + 3, h)
        return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None

    def at(self, points) -> np.ndarray:
        pts = np.asarray(points, float)
        return _bump_sum(pts.reshape(-1, 2), self.centres, self.dirs, self.radii, self.weights).reshape(pts.shape)

    def frame_grid(self) -> np.ndarray:
        """The field on the frame's own pixel grid, (H, W, 2) float64 (exact)."""
        m = self.margin
        return self.grid_exact[m:-m or None, m:-m or None]

    @property
    def grid_exact(self):
        shape = self.grid.shape[:2]
        return _bump_grid(shape, (-self.margin, -self.margin), self.centres, self.dirs, self.radii, self.weights)


def make_expression(face: FaceModel, aus, amplitude: float) -> Expression:
    """Build the field of ``aus`` (list of ``(au, side, weight)``) scaled so that its
    largest displacement on the frame's pixel grid is ``amplitude`` pixels.

    If the largest displacement gradient would exceed :data:`MAX_STRAIN` (large motions
    on small faces), every bump's radius is enlarged until it does not, so that the
    warp stays smooth and invertible; the amplitude is kept.
    """
    m = face.margin
    shape = face.image.shape
    origin = (-m, -m)
    inner = (slice(m, shape[0] - m), slice(m, shape[1] - m))
    raw = [(f"{side}{au}", weight) + _au_bumps(au, side, face) for au, side, weight in aus]
    widen = 1.0
    for _ in range(8):
        parts = []
        for label, weight, c, d, r, w in raw:
            f = _bump_grid(shape, origin, c, d, r * widen, w)
            peak = float(np.sqrt((f[inner] ** 2).sum(-1)).max())
            scale = weight / peak if peak > 0 else 0.0
            parts.append((label, c, d, r * widen, w * scale, peak * scale))
        if parts:
            centres = np.concatenate([p[1] for p in parts])
            dirs = np.concatenate([p[2] for p in parts])
            radii = np.concatenate([p[3] for p in parts])
            weights = np.concatenate([p[4] for p in parts])
        else:
            centres = dirs = radii = np.zeros((0, 2))
            weights = np.zeros(0)
        field, jac = _bump_grid(shape, origin, centres, dirs, radii, weights, jacobian=True)
        peak = float(np.sqrt((field[inner] ** 2).sum(-1)).max()) if parts else 0.0
        k = amplitude / peak if peak > 0 else 0.0
        strain = k * float(_spectral_norm(jac).max()) if parts else 0.0
        if strain <= MAX_STRAIN:
            break
        widen *= 1.02 * strain / MAX_STRAIN
    return Expression(
        labels=[p[0] for p in parts], centres=centres, dirs=dirs, radii=radii, weights=weights * k,
        grid=(field * k).astype(np.float32), jacobian=(jac * k).astype(np.float32), margin=m,
        au_peaks={p[0]: p[5] * k for p in parts},
        amplitude=float(amplitude) if peak > 0 else 0.0, widen=widen,
    )


# --------------------------------------------------------------------------- time
def raised_cosine_profile(n_frames: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Expression intensity per frame position: 0 outside [onset, offset], 1 at the apex,
    raised-cosine rise and fall (zero slope at onset, apex and offset)."""
    f = np.arange(n_frames, dtype=float)
    a = np.zeros(n_frames)
    if apex > onset:
        m = (f >= onset) & (f <= apex)
        a[m] = 0.5 - 0.5 * np.cos(np.pi * (f[m] - onset) / (apex - onset))
    if offset > apex:
        m = (f >= apex) & (f <= offset)
        a[m] = 0.5 - 0.5 * np.cos(np.pi * (offset - f[m]) / (offset - apex))
    a[int(apex)] = 1.0
    return a


def blink_profile(n_frames: int, fps: float, start_s: float, duration_s: float) -> np.ndarray:
    """Lid closure per frame (0 open, 1 shut) for one blink: closing over 40% of the
    blink, opening over the rest, raised-cosine shaped."""
    t = np.arange(n_frames) / fps - start_s
    close = 0.4 * duration_s
    c = np.zeros(n_frames)
    m1 = (t > 0) & (t <= close)
    c[m1] = 0.5 - 0.5 * np.cos(np.pi * t[m1] / close)
    m2 = (t > close) & (t < duration_s)
    c[m2] = 0.5 + 0.5 * np.cos(np.pi * (t[m2] - close) / (duration_s - close))
    return c


def smooth_path(rng: np.random.Generator, n_frames: int, fps: float, peak: float, *, dims: int = 1,
                f_low: float = 0.15, f_high: float = 1.0, n_waves: int = 3) -> np.ndarray:
    """A smooth random trajectory starting at 0 whose largest excursion is ``peak``
    times a random factor in [0.6, 1]; shape (n_frames, dims)."""
    t = np.arange(n_frames) / fps
    freqs = rng.uniform(f_low, f_high, size=(n_waves, dims))
    phases = rng.uniform(0, 2 * np.pi, size=(n_waves, dims))
    amps = rng.uniform(0.3, 1.0, size=(n_waves, dims))
    factor = rng.uniform(0.6, 1.0)
    path = (amps[None] * np.sin(2 * np.pi * freqs[None] * t[:, None, None] + phases[None])).sum(1)
    path -= path[:1]
    norm = np.sqrt((path ** 2).sum(1)).max()
    if peak <= 0 or norm <= 0:
        return np.zeros((n_frames, dims))
    return path * (peak * factor / norm)


@dataclass
class HeadMotion:
    """Per-frame head pose: translation ``dx, dy`` (px) and rotation ``angle`` (degrees,
    positive = clockwise on screen, y pointing down) about ``centre`` (x, y)."""

    dx: np.ndarray
    dy: np.ndarray
    angle: np.ndarray
    centre: tuple

    def _rt(self, t):
        th = np.deg2rad(self.angle[t])
        return np.cos(th), np.sin(th)

    def forward(self, t: int, points: np.ndarray) -> np.ndarray:
        """Base coordinates -> frame ``t`` coordinates (points (..., 2) as x, y)."""
        c, s = self._rt(t)
        cx, cy = self.centre
        x = points[..., 0] - cx
        y = points[..., 1] - cy
        return np.stack([c * x - s * y + cx + self.dx[t], s * x + c * y + cy + self.dy[t]], axis=-1)

    def inverse(self, t: int, points: np.ndarray) -> np.ndarray:
        """Frame ``t`` coordinates -> base coordinates."""
        c, s = self._rt(t)
        cx, cy = self.centre
        x = points[..., 0] - cx - self.dx[t]
        y = points[..., 1] - cy - self.dy[t]
        return np.stack([c * x + s * y + cx, -s * x + c * y + cy], axis=-1)

    def inverse_maps(self, xx: np.ndarray, yy: np.ndarray):
        """Base coordinates seen by the frame pixels (xx, yy) in every frame: two (T, H, W) float32."""
        th = np.deg2rad(self.angle)
        c = np.cos(th).astype(np.float32)[:, None, None]
        s = np.sin(th).astype(np.float32)[:, None, None]
        cx, cy = np.float32(self.centre[0]), np.float32(self.centre[1])
        x = xx[None] - (cx + self.dx.astype(np.float32)[:, None, None])
        y = yy[None] - (cy + self.dy.astype(np.float32)[:, None, None])
        return c * x + s * y + cx, c * y - s * x + cy

    def is_identity(self, t: int) -> bool:
        return self.dx[t] == 0 and self.dy[t] == 0 and self.angle[t] == 0


# --------------------------------------------------------------------------- rendering
def _union_box(boxes):
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    b = np.array(boxes)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


def solve_expression(rx, ry, expressions, weights, *, margin: int, iterations: int | None = None):
    """Solve ``p + sum_e w_e D_e(p) = r`` for ``p`` (frame-pixel coordinates, in place).

    ``rx``, ``ry`` (H, W) float32 are the head-corrected positions. Only the pixels whose
    ``r`` can reach the fields' support are touched. Newton's method on the gridded
    fields (cubic interpolation of the displacement, linear of its Jacobian, which is
    taken once at the first estimate).
    """
    active = [(e, np.float32(w)) for e, w in zip(expressions, weights) if w != 0 and e.box is not None]
    if not active:
        return rx, ry
    x0, y0, x1, y1 = _union_box([e.box for e, _ in active])
    d = sum(e.grid[y0:y1, x0:x1] * w for e, w in active)
    g = sum(e.jacobian[y0:y1, x0:x1] * w for e, w in active)
    reach = max(float(abs(w)) * e.amplitude for e, w in active) + 1.0
    if iterations is None:  # two chord steps reach ~0.03 px for micro amplitudes, large ones need three
        iterations = 2 if reach <= 3.0 else 3
    # frame pixels whose r falls in the support box (canvas -> frame coords), widened by the reach
    lo_x, hi_x = x0 - margin - reach, x1 - margin + reach
    lo_y, hi_y = y0 - margin - reach, y1 - margin + reach
    inside = (rx >= lo_x) & (rx <= hi_x) & (ry >= lo_y) & (ry <= hi_y)
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        return rx, ry
    sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    ox, oy = np.float32(margin - x0), np.float32(margin - y0)
    srx, sry = rx[sl], ry[sl]
    s = cv2.remap(d, srx + ox, sry + oy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    px = srx - s[..., 0]
    py = sry - s[..., 1]
    # chord method: the Jacobian at the first estimate serves every step
    j = cv2.remap(g, px + ox, py + oy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    a = 1.0 + j[..., 0]
    b = j[..., 1]
    c = j[..., 2]
    dd = 1.0 + j[..., 3]
    det = a * dd - b * c
    a, b, c, dd = a / det, b / det, c / det, dd / det
    for _ in range(iterations):
        s = cv2.remap(d, px + ox, py + oy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        fx = px + s[..., 0] - srx
        fy = py + s[..., 1] - sry
        px = px - (dd * fx - b * fy)
        py = py - (a * fy - c * fx)
    rx = rx.copy()
    ry = ry.copy()
    rx[sl] = px
    ry[sl] = py
    return rx, ry


def render(face: FaceModel, *, n_frames: int, expressions, profiles, head: HeadMotion, closure: np.ndarray,
           gain: np.ndarray, noise: float, rng: np.random.Generator, layers=None) -> np.ndarray:
    """Render frames as a (time, y, x) uint8 array.

    ``expressions`` are :class:`Expression` objects, ``profiles`` their (time,) intensities;
    ``closure`` the eyelid closure, ``gain`` the illumination gain per frame; ``noise`` the
    standard deviation of additive Gaussian sensor noise in grey levels. ``layers``
    (optional, one per expression, ``None`` for none) are appearance layers
    (:class:`~mer_lab.datasets._appearance.AppearanceLayer`): frame ``t`` adds
    ``a_e(t)`` times each to the neutral face before sampling it, so they move with the skin.

    Sampling uses OpenCV's bicubic interpolation (``warpAffine`` for frames with head
    motion only, ``remap`` when an expression is active) on the face oversampled twice
    by a cubic spline (:meth:`FaceModel.oversampled`): OpenCV quantises positions to
    1/32 of a source pixel, here 1/64 of a frame pixel, and its cubic kernel then acts
    on a smooth grid. Bicubic rather than bilinear: bilinear sampling blurs a fine
    texture by an amount that depends on the sub-pixel offset, which optical flow sees.
    """
    size = face.size
    m = face.margin
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.empty((n_frames, size, size), np.float32)
    flags = cv2.INTER_CUBIC
    hr, _ = face.oversampled()
    layers = [ly if ly is not None and not ly.empty else None for ly in (layers or [None] * len(profiles))]
    work = None  # hr with the appearance of the current frame (made when first needed)
    for t in range(n_frames):
        weights = [float(p[t]) for p in profiles]
        if closure[t] <= 0 and head.is_identity(t) and not any(weights):
            out[t] = face.image[m:m + size, m:m + size]
            continue
        base = blink_overlay(face, float(closure[t]), oversampled=True) if closure[t] > 0 else hr
        touched = [(ly, w) for ly, w in zip(layers, weights) if ly is not None and w != 0]
        if touched:
            if base is hr:
                if work is None:
                    work = hr.copy()
                base = work
            for ly, w in touched:
                y0, y1, x0, x1 = ly.hr_box
                base[y0:y1, x0:x1] += np.float32(w) * ly.hr
        c, sn = head._rt(t)
        cx, cy = head.centre
        ox, oy = cx + head.dx[t], cy + head.dy[t]
        # frame pixel (x, y) -> base point in frame coordinates (inverse head pose)
        affine = np.array([[c, sn, cx - c * ox - sn * oy], [-sn, c, cy + sn * ox - c * oy]])
        if not any(weights):
            # frame coordinates -> oversampled canvas index: X = 2 (x + margin)
            to_hr = 2.0 * affine
            to_hr[:, 2] += 2.0 * m
            out[t] = cv2.warpAffine(base, to_hr, (size, size), flags=flags | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_REPLICATE)
            continue
        rx = (np.float32(affine[0, 0]) * xx + np.float32(affine[0, 1]) * yy + np.float32(affine[0, 2]))
        ry = (np.float32(affine[1, 0]) * xx + np.float32(affine[1, 1]) * yy + np.float32(affine[1, 2]))
        px, py = solve_expression(rx, ry, expressions, weights, margin=m)
        out[t] = cv2.remap(base, 2.0 * (px + np.float32(m)), 2.0 * (py + np.float32(m)), flags,
                           borderMode=cv2.BORDER_REPLICATE)
        if touched and base is work:
            for ly, _ in touched:  # back to the neutral face for the next frame
                y0, y1, x0, x1 = ly.hr_box
                work[y0:y1, x0:x1] = hr[y0:y1, x0:x1]
    out *= gain.astype(np.float32)[:, None, None]
    if noise > 0:
        out += np.float32(noise) * rng.standard_normal(out.shape, dtype=np.float32)
    np.clip(out, 0, 255, out=out)
    return np.rint(out).astype(np.uint8)
