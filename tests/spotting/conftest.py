"""Long test clips with known movements, generated here (no dataset frames).

A smooth random texture stands in for a face. A "micro-expression" is a local Gaussian
bump displacement whose amplitude follows a raised cosine over ``length`` frames (apex
in the middle), applied with ``cv2.remap``. Distractors: a global brightness change and
a slow global translation.
"""

import cv2
import numpy as np
import pytest
from scipy import ndimage

from mer_lab.cube import make_cube


def _texture(rng, size, sigma=2.0):
    t = ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma)
    return (40 + 170 * (t - t.min()) / (t.max() - t.min())).astype(np.float32)


def make_clip(*, n_frames=200, size=64, fps=30.0, events=((100, 9),), amplitude=3.0, sigma=8.0,
              noise=0.5, brightness=(), drift=0.0, seed=0, dtype=np.uint8, frame_numbers=None):
    """A grey cube and the true (onset, apex, offset) positions of each event.

    events: (apex position, length in frames); brightness: (position, added grey levels)
    steps; drift: total horizontal translation in pixels, spread linearly over the clip.
    """
    rng = np.random.default_rng(seed)
    base = _texture(rng, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    profiles, centres, truth = [], [], []
    for apex, length in events:
        a = np.zeros(n_frames)
        start = apex - length // 2
        t = np.arange(length)
        prof = 0.5 - 0.5 * np.cos(2 * np.pi * (t + 0.5) / length)
        idx = start + t
        ok = (idx >= 0) & (idx < n_frames)
        a[idx[ok]] = prof[ok]
        profiles.append(a)
        centres.append(rng.uniform(0.35, 0.65, 2) * size)
        truth.append((start, apex, start + length - 1))
    frames = np.empty((n_frames, size, size), np.float32)
    for t in range(n_frames):
        mapx = (xx - drift * t / max(1, n_frames - 1)).astype(np.float32)
        mapy = yy.copy()
        for a, (cy, cx) in zip(profiles, centres):
            if a[t] > 0:
                g = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)).astype(np.float32)
                mapy = mapy - np.float32(amplitude * a[t]) * g
                mapx = mapx - np.float32(0.5 * amplitude * a[t]) * g
        f = cv2.remap(base, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        f = f + sum(d for pos, d in brightness if t >= pos)
        frames[t] = f + rng.normal(0, noise, f.shape) if noise else f
    if dtype == np.uint8:
        frames = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    cube = make_cube(frames, fps=fps, frame_numbers=frame_numbers)
    return cube, truth


@pytest.fixture
def clip_factory():
    return make_clip
