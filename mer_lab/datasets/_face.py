"""Procedural faces for the synthetic corpus: identity, 68 landmarks and the neutral image.

Nothing here is a photograph. A face is described by a handful of geometric numbers
(:class:`Identity`), from which the 68 iBUG landmarks are placed and the features are drawn
(face oval, hair, brows, eyes, nose, lips) on an anti-aliased canvas, over a multi-scale
smooth-noise skin texture. The drawing is done once per subject; clips only warp it.

Geometry is written in *face units*: x in half face-widths from the face centre, y in the
same unit times the face's aspect factor, y growing downwards (image convention). The
subject's right side is on the image left, as in the iBUG layout (points 36-41 are the eye
on the image left).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = ["Identity", "FaceModel", "sample_identity", "build_face", "JAW", "BROWS", "NOSE", "EYES", "MOUTH"]

JAW = slice(0, 17)
BROWS = slice(17, 27)
NOSE = slice(27, 36)
EYES = slice(36, 48)
MOUTH = slice(48, 68)

_SS = 4  # super-sampling factor of the drawing canvas
_SHIFT = 4  # sub-pixel bits for cv2 drawing
_BLUR = 0.75  # final blur (px): keeps the image band-limited so that sub-pixel warps are exact


@dataclass(frozen=True)
class Identity:
    """Geometry and appearance of one synthetic subject (all lengths in face units)."""

    half_width: float  # face half-width as a fraction of the frame size
    aspect: float  # vertical stretch of the face
    centre_dx: float  # face centre offset from the frame centre (fraction of frame)
    centre_dy: float
    eye_sep: float  # half distance between eye centres
    eye_y: float
    eye_w: float  # eye half-width
    eye_h: float  # eye half-height (upper lid)
    brow_gap: float  # brow above eye centre
    brow_arch: float
    brow_thick: float
    nose_y: float  # nose tip
    nose_w: float  # alar half-width
    mouth_y: float
    mouth_w: float  # mouth half-width
    lip_up: float
    lip_low: float
    chin_y: float
    jaw_narrow: float
    hairline: float
    skin: float  # grey level of the skin
    hair: float
    background: float
    brow_dark: float
    lip_dark: float
    texture: float  # skin texture strength (grey levels, std)
    light: float  # side-light gradient across the face
    gaze: float  # iris offset (fraction of eye half-width)
    seed: int = field(default=0, repr=False)


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw one subject's identity."""
    u = rng.uniform
    skin = u(105, 185)
    # keep the background clearly apart from the skin
    bg = u(30, 230)
    if abs(bg - skin) < 35:
        bg = skin - 60 if skin > 130 else skin + 60
    return Identity(
        half_width=u(0.30, 0.37), aspect=u(1.12, 1.28), centre_dx=u(-0.03, 0.03), centre_dy=u(-0.02, 0.03),
        eye_sep=u(0.36, 0.44), eye_y=u(-0.20, -0.12), eye_w=u(0.15, 0.19), eye_h=u(0.055, 0.075),
        brow_gap=u(0.17, 0.24), brow_arch=u(0.03, 0.08), brow_thick=u(0.045, 0.075),
        nose_y=u(0.20, 0.30), nose_w=u(0.14, 0.19), mouth_y=u(0.50, 0.60), mouth_w=u(0.25, 0.33),
        lip_up=u(0.045, 0.07), lip_low=u(0.055, 0.09), chin_y=u(0.95, 1.03), jaw_narrow=u(0.05, 0.25),
        hairline=u(-0.82, -0.66), skin=skin, hair=u(15, 70), background=bg, brow_dark=u(45, 85),
        lip_dark=u(22, 45), texture=u(7.0, 11.0), light=u(-0.18, 0.18), gaze=u(-0.25, 0.25),
        seed=int(rng.integers(2**31 - 1)),
    )


def _eye_curves(u, eye_h):
    """Upper and lower lid offsets from the eye centre line for u in [-1, 1] (face units)."""
    s = np.clip(1.0 - u**2, 0.0, None) ** 0.6
    return -eye_h * s, 0.8 * eye_h * s


def _template(idn: Identity) -> np.ndarray:
    """The 68 landmarks in face units (x, y), iBUG order."""
    pts = np.zeros((68, 2))
    k = idn.aspect
    y0 = (idn.eye_y + 0.03) * k
    chin = idn.chin_y * k
    # jaw 0..16 from the image left (ear level) round the chin to the image right
    t = np.linspace(0.0, np.pi, 17)
    pts[JAW, 0] = -np.cos(t) * (1.0 - idn.jaw_narrow * np.sin(t) ** 2) * 0.97
    pts[JAW, 1] = y0 + (chin - y0) * np.sin(t) ** 1.4
    # brows 17..21 (image left, outer -> inner), 22..26 (inner -> outer)
    by = (idn.eye_y - idn.brow_gap) * k
    bx = np.linspace(-(idn.eye_sep + idn.eye_w * 1.25), -(idn.eye_sep - idn.eye_w * 1.05), 5)
    arch = idn.brow_arch * k * np.sin(np.linspace(0.25, 0.95, 5) * np.pi)
    pts[17:22, 0] = bx
    pts[17:22, 1] = by - arch
    pts[22:27, 0] = -bx[::-1]
    pts[22:27, 1] = (by - arch)[::-1]
    # nose bridge 27..30, nostril base 31..35
    ey = idn.eye_y * k
    ny = idn.nose_y * k
    pts[27:31, 0] = 0.0
    pts[27:31, 1] = np.linspace(ey - 0.02 * k, ny, 4)
    nw = idn.nose_w
    pts[31:36, 0] = [-nw, -nw / 2, 0.0, nw / 2, nw]
    pts[31:36, 1] = ny + np.array([0.02, 0.05, 0.065, 0.05, 0.02]) * k
    # eyes: 36 outer, 37-38 upper, 39 inner, 40-41 lower (image left); 42 inner ... 45 outer
    for cx, order in ((-idn.eye_sep, (36, 37, 38, 39, 40, 41)), (idn.eye_sep, (42, 43, 44, 45, 46, 47))):
        us = np.array([-1.0, -0.4, 0.4, 1.0, 0.4, -0.4])
        up, low = _eye_curves(us, idn.eye_h * k)
        ys = np.where(np.arange(6) < 3, up, low)
        ys[0] = ys[3] = 0.0
        pts[list(order), 0] = cx + us * idn.eye_w
        pts[list(order), 1] = ey + ys
    # mouth: outer 48..59, inner 60..67
    my = idn.mouth_y * k
    mw = idn.mouth_w
    ul, ll = idn.lip_up * k, idn.lip_low * k
    outer = np.array([
        (-1.0, 0.0), (-0.6, -0.8), (-0.25, -1.1), (0.0, -0.9), (0.25, -1.1), (0.6, -0.8),
        (1.0, 0.0), (0.6, 0.85), (0.3, 1.05), (0.0, 1.1), (-0.3, 1.05), (-0.6, 0.85),
    ])
    pts[48:60, 0] = outer[:, 0] * mw
    pts[48:60, 1] = my + np.where(outer[:, 1] < 0, outer[:, 1] * ul, outer[:, 1] * ll)
    inner = np.array([(-0.88, 0.0), (-0.35, -0.12), (0.0, -0.1), (0.35, -0.12),
                      (0.88, 0.0), (0.35, 0.1), (0.0, 0.12), (-0.35, 0.1)])
    pts[60:68, 0] = inner[:, 0] * mw
    pts[60:68, 1] = my + inner[:, 1] * ul
    return pts


def _catmull_rom(points: np.ndarray, *, closed: bool, per_segment: int = 8) -> np.ndarray:
    """A smooth curve through ``points`` (n, 2) (centripetal-free uniform Catmull-Rom)."""
    p = np.asarray(points, float)
    if closed:
        ext = np.concatenate([p[-1:], p, p[:2]])
        n_seg = len(p)
    else:
        ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
        n_seg = len(p) - 1
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    out = []
    for i in range(n_seg):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    if not closed:
        out.append(p[-1:])
    return np.concatenate(out)


@dataclass
class FaceModel:
    """A subject's drawn neutral face and what the renderer needs to animate it.

    Attributes
    ----------
    image : ndarray (size + 2 margin, size + 2 margin) float32
        The neutral face in grey levels (before gain, noise and quantisation), drawn with
        ``margin`` extra pixels on every side so that head motion reveals real background.
        Frame pixel (x, y) is ``image[y + margin, x + margin]``.
    lid : ndarray, same shape as ``image``
        The same face with closed eyelids' skin where the eyes are (used by blinks).
    landmarks : ndarray (68, 2) float64
        Landmarks of the neutral face in frame pixels (x, y).
    eyes : list of dict
        Per eye: centre (cx, cy), half-width and half-height in pixels.
    scale : float
        Pixels per face unit (half face-width in pixels).
    centre : (float, float)
        Face centre in pixels (rotation centre of head motion).
    """

    image: np.ndarray
    lid: np.ndarray
    landmarks: np.ndarray
    eyes: list
    scale: float
    centre: tuple
    identity: Identity
    margin: int = 0
    size: int = 0
    image_hr: np.ndarray | None = None
    lid_hr: np.ndarray | None = None

    def oversampled(self):
        """``image`` and ``lid`` interpolated at half-pixel steps (cubic spline), shape
        (2 H - 1, 2 W - 1): element ``[2 i, 2 j]`` is ``image[i, j]``. The renderer samples
        these, so that OpenCV's 1/32-pixel position quantisation and its cubic kernel
        act on a twice finer, smoother grid."""
        if self.image_hr is None:
            # clips render in parallel threads: publish lid_hr before image_hr, so that a
            # thread seeing image_hr set never reads a missing lid_hr
            image_hr, lid_hr = _oversample(self.image), _oversample(self.lid)
            self.lid_hr = lid_hr
            self.image_hr = image_hr
        return self.image_hr, self.lid_hr


def _oversample(img):
    from scipy import ndimage

    h, w = img.shape
    out = ndimage.zoom(img.astype(np.float64), ((2 * h - 1) / h, (2 * w - 1) / w), order=3, grid_mode=False,
                       mode="mirror")
    return out.astype(np.float32)


def _smooth_noise(rng, shape, sigma):
    n = rng.standard_normal(shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT101)
    sd = float(n.std())
    return n / sd if sd > 0 else n


def _to_canvas(points_px: np.ndarray) -> np.ndarray:
    """Output-pixel coordinates -> fixed-point canvas coordinates for cv2 drawing."""
    c = (np.asarray(points_px) + 0.5) * _SS - 0.5
    return np.round(c * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


class _Canvas:
    def __init__(self, size):
        self.size = size
        self.big = size * _SS

    def poly(self, points_px, *, closed=True, thickness=None):
        m = np.zeros((self.big, self.big), np.uint8)
        pts = _to_canvas(points_px)
        if thickness is None:
            cv2.fillPoly(m, [pts], 255, lineType=cv2.LINE_AA, shift=_SHIFT)
        else:
            cv2.polylines(m, [pts], closed, 255, thickness=max(1, int(round(thickness * _SS))),
                          lineType=cv2.LINE_AA, shift=_SHIFT)
        return self.down(m)

    def ellipse(self, centre, axes, angle=0.0):
        m = np.zeros((self.big, self.big), np.uint8)
        c = (np.asarray(centre, float) + 0.5) * _SS - 0.5
        c = tuple(int(round(v * (1 << _SHIFT))) for v in c)
        ax = tuple(int(round(max(v, 0.3) * _SS * (1 << _SHIFT))) for v in axes)
        cv2.ellipse(m, c, ax, angle, 0, 360, 255, -1, lineType=cv2.LINE_AA, shift=_SHIFT)
        return self.down(m)

    def down(self, m):
        return cv2.resize(m, (self.size, self.size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _over(img, alpha, value):
    """Alpha-composite ``value`` (scalar or image) over ``img`` in place."""
    img *= 1.0 - alpha
    img += alpha * value
    return img


def build_face(idn: Identity, size: int, *, margin: int | None = None) -> FaceModel:
    """Draw the neutral face of ``idn`` on a ``size`` x ``size`` frame (plus a margin)."""
    rng = np.random.default_rng(idn.seed)
    m = max(8, size // 6) if margin is None else int(margin)
    frame = size
    size = frame + 2 * m  # the canvas; everything below is in canvas pixels until the end
    scale = idn.half_width * frame
    centre = np.array([size / 2 - 0.5 + idn.centre_dx * frame, size / 2 - 0.5 + idn.centre_dy * frame])
    lm_units = _template(idn)
    lm = centre + lm_units * scale
    k = idn.aspect
    cv = _Canvas(size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    shape = (size, size)

    # background: a soft gradient plus coarse texture
    img = np.full(shape, idn.background, np.float32)
    img += 6.0 * _smooth_noise(rng, shape, frame / 12) + 3.0 * _smooth_noise(rng, shape, 1.5)

    # head outline: jaw below ear level, an ellipse over the top
    y0 = lm[0, 1]
    top = centre[1] - 1.08 * k * scale
    jaw = _catmull_rom(lm[JAW], closed=False, per_segment=6)
    tt = np.linspace(0, np.pi, 40)
    half_w = 0.5 * (lm[16, 0] - lm[0, 0])
    cx = 0.5 * (lm[16, 0] + lm[0, 0])
    cap = np.stack([cx + half_w * np.cos(tt), y0 - (y0 - top) * np.sin(tt)], axis=1)
    head = np.concatenate([jaw, cap[1:-1]])
    face_a = cv.poly(head)
    neck = np.array([[cx - 0.55 * scale, lm[8, 1] - 0.6 * scale], [cx + 0.55 * scale, lm[8, 1] - 0.6 * scale],
                     [cx + 0.62 * scale, size + 2], [cx - 0.62 * scale, size + 2]])
    neck_a = cv.poly(neck)

    # skin: tone x shading + multi-scale texture
    tex = idn.texture * (0.55 * _smooth_noise(rng, shape, 0.9) + 0.45 * _smooth_noise(rng, shape, 1.6)
                         + 0.35 * _smooth_noise(rng, shape, 4.0))
    light = 1.0 + idn.light * (xx - centre[0]) / scale
    rim = cv2.GaussianBlur(face_a, (0, 0), sigmaX=0.12 * scale)
    skin = idn.skin * light * (0.72 + 0.28 * rim) + tex
    _over(img, neck_a * (1 - face_a), 0.8 * idn.skin + 0.6 * tex)
    _over(img, face_a, skin)

    # hair above the hairline (streaky texture), clipped to the head
    hair_tex = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigmaX=0.6, sigmaY=2.5)
    hair_tex /= max(float(hair_tex.std()), 1e-6)
    hl = centre[1] + idn.hairline * k * scale
    wave = 0.08 * scale * np.sin(xx[0] / scale * 2.2 + idn.gaze * 10)
    hair_a = np.clip(hl + wave[None, :] - yy + 0.5, 0, 1) * face_a
    _over(img, hair_a, idn.hair + 12.0 * hair_tex)

    # eye sockets: soft shadow
    for cxe in (0.5 * (lm[36, 0] + lm[39, 0]), 0.5 * (lm[42, 0] + lm[45, 0])):
        sock = cv.ellipse((cxe, lm[37, 1] + 0.01 * scale), (idn.eye_w * 1.5 * scale, idn.eye_h * 3.0 * k * scale))
        sock = cv2.GaussianBlur(sock, (0, 0), sigmaX=0.08 * scale)
        img -= 14.0 * sock * face_a

    # nose: shadow along one side of the bridge, nostrils, tip highlight, nasolabial folds
    side = -1.0 if idn.light > 0 else 1.0
    bridge = lm[27:31] + np.array([side * 0.09 * scale, 0.0])
    img -= 16.0 * cv2.GaussianBlur(cv.poly(bridge, closed=False, thickness=0.05 * scale), (0, 0), 0.05 * scale)
    for j in (32, 34):
        c = lm[j] + np.array([0.0, -0.025 * k * scale])
        _over(img, 0.8 * cv.ellipse(c, (0.05 * scale, 0.03 * k * scale)), 0.45 * idn.skin)
    img += 10.0 * cv2.GaussianBlur(cv.ellipse(lm[30], (0.06 * scale, 0.05 * scale)), (0, 0), 0.04 * scale)
    for a, b in ((31, 48), (35, 54)):
        start = lm[a] + np.array([np.sign(lm[a, 0] - centre[0]) * 0.05 * scale, 0.0])
        end = lm[b] + np.array([np.sign(lm[b, 0] - centre[0]) * 0.07 * scale, -0.02 * scale])
        mid = 0.5 * (start + end) + np.array([np.sign(lm[a, 0] - centre[0]) * 0.06 * scale, 0.0])
        fold = cv.poly(_catmull_rom(np.stack([start, mid, end]), closed=False), closed=False,
                       thickness=0.035 * scale)
        img -= 14.0 * cv2.GaussianBlur(fold, (0, 0), 0.03 * scale)

    lid = img.copy()  # the skin that covers a closed eye

    # eyes: sclera, iris, pupil, upper-lid line
    eyes = []
    for idx in ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47)):
        p = lm[list(idx)]
        cxe = 0.5 * (p[0, 0] + p[3, 0])
        cye = 0.5 * (p[0, 1] + p[3, 1])
        ew = 0.5 * (p[3, 0] - p[0, 0])
        eh = idn.eye_h * k * scale
        us = np.linspace(-1, 1, 25)
        up, low = _eye_curves(us, eh)
        outline = np.concatenate([np.stack([cxe + us * ew, cye + up], 1),
                                  np.stack([cxe + us[::-1] * ew, cye + low[::-1]], 1)])
        eye_a = cv.poly(outline)
        _over(img, eye_a, min(idn.skin + 55.0, 235.0))
        ic = (cxe + idn.gaze * ew * 0.4, cye - 0.1 * eh)
        iris = cv.ellipse(ic, (0.95 * eh, 0.95 * eh)) * eye_a
        _over(img, iris, 0.35 * idn.skin)
        _over(img, cv.ellipse(ic, (0.4 * eh, 0.4 * eh)) * eye_a, 12.0)
        upper = np.stack([cxe + us * ew, cye + up], 1)
        _over(img, 0.85 * cv.poly(upper, closed=False, thickness=max(0.022 * scale, 0.7)), 25.0)
        eyes.append({"cx": cxe - m, "cy": cye - m, "w": ew, "h": eh})

    # brows: thick dark strokes with fine hair texture
    brow_tex = 6.0 * _smooth_noise(rng, shape, 0.6)
    for sl in (slice(17, 22), slice(22, 27)):
        stroke = _catmull_rom(lm[sl], closed=False, per_segment=6)
        brow_a = cv.poly(stroke, closed=False, thickness=idn.brow_thick * k * scale)
        _over(img, 0.9 * brow_a, idn.brow_dark + brow_tex)

    # lips: darker fill, the line between them, a highlight on the lower lip
    outer = _catmull_rom(lm[48:60], closed=True, per_segment=6)
    lips_a = cv.poly(outer)
    _over(img, lips_a, skin - idn.lip_dark)
    mouth_line = _catmull_rom(lm[[60, 61, 62, 63, 64]], closed=False, per_segment=6)
    _over(img, 0.9 * cv.poly(mouth_line, closed=False, thickness=max(0.025 * scale, 0.8)), 0.3 * idn.skin)
    img += 8.0 * cv2.GaussianBlur(cv.ellipse(0.5 * (lm[57] + lm[66]), (0.15 * scale, 0.02 * scale)), (0, 0), 0.6)

    img = cv2.GaussianBlur(img, (0, 0), _BLUR)
    lid = cv2.GaussianBlur(lid, (0, 0), _BLUR)
    np.clip(img, 0, 255, out=img)
    np.clip(lid, 0, 255, out=lid)
    return FaceModel(image=img, lid=lid, landmarks=lm - m, eyes=eyes, scale=float(scale),
                     centre=(float(centre[0] - m), float(centre[1] - m)), identity=idn, margin=m, size=frame)


def blink_overlay(face: FaceModel, closure: float, *, oversampled: bool = False) -> np.ndarray:
    """The neutral face with both eyes ``closure`` (0 open .. 1 shut) closed.

    Returns a copy of ``face.image`` (or of the oversampled image, see
    :meth:`FaceModel.oversampled`) with the upper lids lowered.
    """
    if oversampled:
        image, lid, k = *face.oversampled(), 2
    else:
        image, lid, k = face.image, face.lid, 1
    out = image.copy()
    if closure <= 0:
        return out
    h, w = image.shape
    m = face.margin
    for e in face.eyes:
        cx, cy = e["cx"] + m, e["cy"] + m  # canvas coordinates
        x0 = max(int(np.floor(k * (cx - e["w"] - 2))), 0)
        x1 = min(int(np.ceil(k * (cx + e["w"] + 3))), w)
        y0 = max(int(np.floor(k * (cy - e["h"] - 3))), 0)
        y1 = min(int(np.ceil(k * (cy + e["h"] + 3))), h)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) / k
        u = (xx - cx) / e["w"]
        up, low = _eye_curves(u, e["h"])
        inside_x = np.clip((1.0 - np.abs(u)) * e["w"] + 0.5, 0, 1)
        edge = cy + up + closure * (low - up) + 0.3  # the lid's lower edge
        cover = np.clip(edge - yy + 0.5, 0, 1) * np.clip(yy - (cy + up) + 1.5, 0, 1) * inside_x
        lash = 0.8 * np.exp(-0.5 * ((yy - edge) / 0.6) ** 2) * inside_x * min(1.0, closure * 4)
        region = out[y0:y1, x0:x1]
        lidv = lid[y0:y1, x0:x1] - 8.0
        region[...] = region * (1 - cover) + lidv * cover
        region[...] = region * (1 - lash) + 25.0 * lash
    return out


__all__.append("blink_overlay")
