"""Appearance changes of action units for the synthetic corpus: wrinkles, furrows, bulges.

FACS describes every action unit by the appearance changes it causes as well as by the
motion: AU1 and AU2 wrinkle the forehead, AU4 draws vertical furrows between the brows
and bulges them, AU6 makes crow's-feet and raises a cheek bulge, AU9 wrinkles the nose
bridge, AU10 and AU12 deepen the nasolabial furrow, AU14 makes dimples, AU15 folds the
skin below the lip corners and AU17 bulges and puckers the chin boss. Each of these AUs
also bunches the skin it pushes into fine creases across the push, over its whole region.

Each cue is a grey-level layer ``L(p)`` written in the neutral face's coordinates (the
skin's own coordinates), so it moves with the skin. It is a product of an analytic
pattern (stripes, a fan of lines, a dark curve, a shaded bump, a fine "orange peel"
texture) and of the action unit's region mask: the union of the AU's motion bumps,
``max_b (1 - rho_b^2)`` clipped at 0 and doubled up to 1, which is zero exactly where the
AU does not move the skin. A clip's layer at frame ``t`` is ``a(t) L``: the renderer adds
it to the neutral face before sampling, so it is zero at onset and offset and full at
the apex.

Patterns are given in face units (half face-widths) for the image-left half of the face
(the subject's right) and mirrored for the other half, like the motion bumps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._face import FaceModel

__all__ = ["APPEARANCE_TABLE", "AppearanceLayer", "make_appearance", "appearance_aus"]

# AU -> cues: (kind, anchor landmark, offset (face units), params, depth factor, side).
# kinds:
#   "stripes": parallel dark lines; params (radii (rx, ry), unit normal of the lines,
#              wavelength)
#   "fan":     dark lines radiating from the anchor (crow's-feet); params (centre offset
#              of the envelope, radii, number of lines over a full turn)
#   "furrow":  a dark curve through points (anchor, offset) pairs; params (points, width)
#   "bulge":   a bump lit from above (bright top, shadowed bottom); params (radii,)
#   "spot":    a small dark dimple; params (radii,)
#   "peel":    fine bumpy texture (chin boss); params (radii, wavelength)
# Every AU of the table also gets "crease" cues (see CREASE_DEPTH), one per motion bump.
# side "R": image-left half, mirrored for "L"; "C": on the midline (both sides only).
APPEARANCE_TABLE: dict[int, list[tuple]] = {
    1: [("stripes", 21, (0.04, -0.24), ((0.24, 0.15), (0.0, 1.0), 0.10), 1.0, "R")],
    2: [("stripes", 18, (0.0, -0.19), ((0.24, 0.14), (0.12, 1.0), 0.10), 1.0, "R")],
    4: [("stripes", 21, (0.12, 0.02), ((0.08, 0.14), (1.0, 0.0), 0.07), 1.0, "R"),
        ("bulge", 21, (-0.02, -0.05), ((0.14, 0.08),), 0.7, "R")],
    6: [("fan", 36, (0.0, 0.0), ((-0.12, 0.02), (0.11, 0.13), 14), 1.0, "R"),
        ("bulge", 41, (0.02, 0.20), ((0.17, 0.10),), 0.8, "R")],
    9: [("stripes", 29, (0.0, -0.05), ((0.11, 0.10), (0.0, 1.0), 0.06), 1.0, "C"),
        ("stripes", 31, (0.03, -0.06), ((0.08, 0.07), (0.3, 1.0), 0.06), 0.7, "R")],
    10: [("furrow", None, None, ([(31, (-0.05, 0.0)), (31, (-0.10, 0.10)), (48, (-0.07, -0.02))], 0.035), 1.0, "R")],
    12: [("furrow", None, None, ([(31, (-0.05, 0.0)), (31, (-0.10, 0.10)), (48, (-0.07, -0.02))], 0.035), 1.0, "R")],
    14: [("spot", 48, (-0.07, 0.0), ((0.05, 0.06),), 1.0, "R")],
    15: [("furrow", None, None, ([(48, (-0.02, 0.03)), (48, (-0.04, 0.09)), (48, (-0.07, 0.15))], 0.025), 1.0, "R")],
    17: [("bulge", 8, (0.0, -0.13), ((0.18, 0.10),), 0.8, "C"),
         ("peel", 8, (0.0, -0.13), ((0.18, 0.10), 0.045), 0.6, "C"),
         ("furrow", None, None, ([(48, (-0.01, 0.04)), (48, (-0.03, 0.11))], 0.02), 0.5, "R")],
}

# Skin bunching: where an AU pushes the skin, it folds into fine creases across the push
# (lines perpendicular to the motion of each of its bumps), over the AU's whole region.
# CREASE_DEPTH is their depth relative to the AU's main cue. Creases are zero-mean
# texture, not shading: they change the local pattern of the skin (what LBP codes see)
# over the region, where the wrinkles and furrows mark a few lines.
CREASE_DEPTH = 1.0
CREASE_WAVELENGTH = 0.06  # face units (at least _MIN_WAVELENGTH px)

_FLIP = np.array([-1.0, 1.0])
# Finer detail than this is not resolved by the frame's pixels (it would alias): lines are
# at least this wide and stripes this far apart, in frame pixels.
_MIN_WIDTH = 0.9
_MIN_WAVELENGTH = 3.2


def appearance_aus() -> tuple:
    """Action units that have appearance cues."""
    return tuple(sorted(APPEARANCE_TABLE))


def _variants(where: str, side: str):
    """(mirror?) for each copy of a cue on ``side`` ("" both, "R", "L")."""
    if where == "C":
        return [False] if side == "" else []
    out = []
    if side in ("", "R"):
        out.append(False)
    if side in ("", "L"):
        out.append(True)
    return out


def _point(face: FaceModel, anchor: int, offset, mirror: bool):
    from ._motion import MIRROR

    a = MIRROR[anchor] if mirror else anchor
    off = np.asarray(offset, float) * (_FLIP if mirror else 1.0)
    return face.landmarks[a] + off * face.scale


def _ellipse_q(x, y, centre, radii):
    """1 - rho^2 (negative outside the ellipse)."""
    return 1.0 - ((x - centre[0]) / radii[0]) ** 2 - ((y - centre[1]) / radii[1]) ** 2


@dataclass
class _Cue:
    kind: str
    centre: np.ndarray  # px (frame coordinates)
    radii: np.ndarray  # px
    depth: float  # grey levels at full intensity (signed: negative darkens)
    normal: np.ndarray | None = None
    wavelength: float = 0.0
    phase: float = 0.0
    lines: int = 0
    points: np.ndarray | None = None
    width: float = 0.0
    waves: np.ndarray | None = None  # peel: (k, 3) kx, ky, phase

    def box(self):
        if self.kind == "furrow":
            lo = self.points.min(axis=0) - 3 * self.width
            hi = self.points.max(axis=0) + 3 * self.width
            return lo, hi
        return self.centre - self.radii, self.centre + self.radii

    def value(self, x, y):
        if self.kind == "furrow":
            return self.depth * _furrow(x, y, self.points, self.width)
        q = _ellipse_q(x, y, self.centre, self.radii)
        if self.kind == "crease":  # creases fill the whole region, fading at its rim
            env = np.sqrt(np.clip(q, 0.0, None))
            s = (x - self.centre[0]) * self.normal[0] + (y - self.centre[1]) * self.normal[1]
            along = -(x - self.centre[0]) * self.normal[1] + (y - self.centre[1]) * self.normal[0]
            # lines across the push, broken up along their length (short folds, not stripes)
            breaks = 0.6 + 0.4 * np.cos(2 * np.pi * along / (3.1 * self.wavelength) + 1.7 * self.phase)
            return self.depth * env * breaks * np.cos(2 * np.pi * s / self.wavelength + self.phase)
        env = np.clip(q, 0.0, None) ** 2
        if self.kind == "stripes":
            s = (x - self.centre[0]) * self.normal[0] + (y - self.centre[1]) * self.normal[1]
            lines = (0.5 + 0.5 * np.cos(2 * np.pi * s / self.wavelength + self.phase)) ** 1.5
            return self.depth * env * lines
        if self.kind == "fan":
            ang = np.arctan2(y - self.points[0, 1], x - self.points[0, 0])
            lines = (0.5 + 0.5 * np.cos(self.lines * ang + self.phase)) ** 2
            return self.depth * env * lines
        if self.kind == "spot":
            return self.depth * env
        if self.kind == "bulge":
            # brighter upper slope, darker lower slope: light from above
            slope = (self.centre[1] - y) / self.radii[1]
            return -self.depth * env * (1.3 * slope - 0.35)
        if self.kind == "peel":
            tex = np.zeros_like(x, dtype=float)
            for kx, ky, ph in self.waves:
                tex += np.cos(kx * (x - self.centre[0]) + ky * (y - self.centre[1]) + ph)
            return self.depth * env * tex / np.sqrt(len(self.waves))
        raise ValueError(f"unknown appearance cue kind {self.kind!r}")


def _furrow(x, y, points, width):
    """exp(-(d / width)^2) with d the distance to the polyline through ``points``, tapered at
    both ends (zero beyond 3 widths from the curve)."""
    best = np.full(np.shape(x), np.inf)
    along = np.zeros(np.shape(x))
    seg = np.diff(points, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    total = lengths.sum()
    start = 0.0
    for (x0, y0), (dx, dy), ln in zip(points[:-1], seg, lengths):
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(ln * ln, 1e-12), 0.0, 1.0)
        d = np.hypot(x - (x0 + t * dx), y - (y0 + t * dy))
        closer = d < best
        best = np.where(closer, d, best)
        along = np.where(closer, (start + t * ln) / total, along)
        start += ln
    taper = np.sin(np.pi * np.clip(along, 0.0, 1.0)) ** 0.5
    prof = np.clip(1.0 - (best / (3.0 * width)) ** 2, 0.0, None) ** 3 * np.exp(-(best / width) ** 2)
    return prof * taper


@dataclass
class AppearanceLayer:
    """Grey-level change of one clip's action units at full intensity (the apex).

    ``at(x, y)`` evaluates it anywhere in frame coordinates of the neutral face;
    ``hr`` holds it on the renderer's twice-oversampled canvas inside ``box``
    (``hr_box = (y0, y1, x0, x1)`` in oversampled indices); ``au_peaks`` gives each AU's
    largest absolute change in grey levels.
    """

    cues: list
    masks: list  # per cue: list of (centre, radii) bumps of its AU (the region)
    hr: np.ndarray | None
    hr_box: tuple | None
    au_peaks: dict
    labels: list

    def at(self, x, y) -> np.ndarray:
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        out = np.zeros(np.broadcast(x, y).shape)
        for cue, region in zip(self.cues, self.masks):
            out += cue.value(x, y) * _region(x, y, region)
        return out

    @property
    def empty(self) -> bool:
        return self.hr is None


def _region(x, y, bumps):
    """Smooth mask of the AU's region: min(1, 2 max_b (1 - rho_b^2)), zero outside every bump."""
    m = np.zeros(np.broadcast(x, y).shape)
    for c, r in bumps:
        m = np.maximum(m, _ellipse_q(x, y, c, r))
    return np.clip(2.0 * m, 0.0, 1.0)


def _au_creases(face: FaceModel, au: int, side: str, widen: float, depth: float, rng) -> list:
    """Fine creases across the push of each of the AU's motion bumps (see CREASE_DEPTH)."""
    from ._motion import _au_bumps

    centres, dirs, radii, weights = _au_bumps(au, side, face)
    out = []
    for c, d, r, w in zip(centres, dirs, radii, weights):
        if w == 0:
            continue
        phase = float(rng.uniform(0, 2 * np.pi)) if rng is not None else 0.0
        out.append(_Cue("crease", centre=np.asarray(c, float), radii=np.asarray(r, float) * widen,
                        depth=depth * abs(float(w)), normal=np.asarray(d, float) / np.linalg.norm(d),
                        wavelength=max(CREASE_WAVELENGTH * face.scale, _MIN_WAVELENGTH), phase=phase))
    return out


def _au_region(face: FaceModel, au: int, side: str, widen: float):
    from ._motion import _au_bumps

    centres, _, radii, weights = _au_bumps(au, side, face)
    return [(c, r * widen) for c, r, w in zip(centres, radii, weights) if w != 0]


def make_appearance(face: FaceModel, aus, strength: float, *, widen: float = 1.0,
                    skin_seed: int | None = None) -> AppearanceLayer:
    """The appearance layer of ``aus`` (``(au, side, weight)`` triples) on ``face``.

    ``strength`` is the depth in grey levels of a weight-1 AU's main cue at the apex;
    ``widen`` the factor the clip's motion bumps were widened by (so that the regions
    match). ``skin_seed`` draws the phases of the stripes and the chin texture per AU
    (a subject's own skin: the same seed gives the same wrinkles in every clip); without
    it they are fixed.
    """
    cues, masks, labels, per_au = [], [], [], []
    s = face.scale
    for au, side, weight in aus:
        spec = APPEARANCE_TABLE.get(au)
        if not spec or strength == 0 or weight == 0:
            continue
        region = _au_region(face, au, side, widen)
        if not region:  # e.g. a midline AU asked for on one side only: it does not act
            continue
        rng = np.random.default_rng([skin_seed, au]) if skin_seed is not None else None
        first = len(cues)
        for kind, anchor, offset, params, factor, where in spec:
            depth = -float(strength) * float(weight) * factor
            for mirror in _variants(where, side):
                flip = _FLIP if mirror else np.ones(2)
                phase = float(rng.uniform(0, 2 * np.pi)) if rng is not None else 0.0
                if kind == "furrow":
                    pts, width = params
                    p = np.array([_point(face, a, o, mirror) for a, o in pts])
                    cue = _Cue(kind, centre=p.mean(axis=0), radii=np.zeros(2), depth=depth, points=p,
                               width=max(width * s, _MIN_WIDTH))
                elif kind == "fan":
                    env_off, radii, n_lines = params
                    apex_pt = _point(face, anchor, offset, mirror)
                    centre = apex_pt + np.asarray(env_off) * flip * s
                    cue = _Cue(kind, centre=centre, radii=np.asarray(radii) * s, depth=depth, lines=int(n_lines),
                               phase=phase, points=apex_pt[None, :])
                else:
                    centre = _point(face, anchor, offset, mirror)
                    radii = np.asarray(params[0], float) * s
                    cue = _Cue(kind, centre=centre, radii=radii, depth=depth)
                    if kind == "stripes":
                        n = np.asarray(params[1], float) * flip
                        cue.normal = n / np.linalg.norm(n)
                        cue.wavelength = max(params[2] * s, _MIN_WAVELENGTH)
                        cue.phase = phase
                    elif kind == "peel":
                        k = 2 * np.pi / max(params[1] * s, _MIN_WAVELENGTH)
                        g = rng if rng is not None else np.random.default_rng(au)
                        ang = g.uniform(0, np.pi, 6)
                        cue.waves = np.stack([k * np.cos(ang), k * np.sin(ang), g.uniform(0, 2 * np.pi, 6)], axis=1)
                cues.append(cue)
                masks.append(region)
        if CREASE_DEPTH > 0:
            for cue in _au_creases(face, au, side, widen, float(strength) * float(weight) * CREASE_DEPTH, rng):
                cues.append(cue)
                masks.append(region)
        if len(cues) > first:
            labels.append(f"{side}{au}")
            per_au.append((f"{side}{au}", first, len(cues)))
    if not cues:
        return AppearanceLayer(cues=[], masks=[], hr=None, hr_box=None, au_peaks={}, labels=[])
    # the layer on the oversampled canvas: index (Y, X) sits at frame (X / 2 - m, Y / 2 - m)
    m = face.margin
    n_hr = 2 * face.image.shape[0] - 1
    lo = np.min([c.box()[0] for c in cues], axis=0)
    hi = np.max([c.box()[1] for c in cues], axis=0)
    rlo = np.min([c - r for region in masks for c, r in region], axis=0)
    rhi = np.max([c + r for region in masks for c, r in region], axis=0)
    lo = np.maximum(lo, rlo)
    hi = np.minimum(hi, rhi)
    x0 = max(int(np.floor(2 * (lo[0] + m))) - 2, 0)
    y0 = max(int(np.floor(2 * (lo[1] + m))) - 2, 0)
    x1 = min(int(np.ceil(2 * (hi[0] + m))) + 3, n_hr)
    y1 = min(int(np.ceil(2 * (hi[1] + m))) + 3, n_hr)
    layer = AppearanceLayer(cues=cues, masks=masks, hr=None, hr_box=None, au_peaks={}, labels=labels)
    if x0 >= x1 or y0 >= y1:
        return layer
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(float)
    fx, fy = xx / 2.0 - m, yy / 2.0 - m
    total = np.zeros(xx.shape)
    for label, i0, i1 in per_au:
        part = np.zeros(xx.shape)
        for cue, region in zip(cues[i0:i1], masks[i0:i1]):
            part += cue.value(fx, fy) * _region(fx, fy, region)
        layer.au_peaks[label] = float(np.abs(part).max())
        total += part
    layer.hr = total.astype(np.float32)
    layer.hr_box = (y0, y1, x0, x1)
    return layer
