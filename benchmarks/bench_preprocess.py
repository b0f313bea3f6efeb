"""Speed (and a few quality figures) of mer_lab.preprocess.

Run:  python benchmarks/bench_preprocess.py        (about a minute)

Prints frames per second of face detection + landmarks, registration, TIM and EVM on
128x128 and 280x340 (width x height, portrait like a face crop) clips, TIM of a 200-frame
clip to 10 frames, and the measured EVM magnification and noise gain. Figures are the
best of a few repeats.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
from scipy import ndimage
from skimage import data

from mer_lab.cube import make_cube
from mer_lab.preprocess import evm, face, tim

SIZES = [(128, 128), (340, 280)]  # (rows, cols): 128x128 and 280x340 (w x h)


def best_time(func, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def row(name, seconds, frames=1):
    print(f"  {name:<66s} {seconds * 1e3:9.1f} ms  {frames / seconds:9.1f} frames/s")


def label(h, w):
    return f"{w}x{h}"


def texture_clip(n, h, w, *, amplitude=0.2, freq=5.0, fps=100.0, seed=0):
    """A smooth texture translated along x by amplitude * sin(2 pi freq t), uint8."""
    rng = np.random.default_rng(seed)
    tex = ndimage.gaussian_filter(rng.normal(size=(h, w)), 4.0, mode="wrap")
    spec = np.fft.fft2((tex - tex.mean()) / tex.std())
    t = np.arange(n) / fps
    frames = [np.fft.ifft2(ndimage.fourier_shift(spec, (0.0, d))).real for d in amplitude * np.sin(2 * np.pi * freq * t)]
    return make_cube(np.clip(np.rint(128 + 30 * np.stack(frames)), 0, 255).astype(np.uint8), fps=fps)


def bench_faces():
    print("Face detection and 68 landmarks (one frame)")
    photo = data.astronaut()
    x, y, w, h = face.detect_face(photo, method="haar")
    crop = photo[max(0, y - h // 3): y + h + h // 4, max(0, x - w // 6): x + w + w // 6]  # 150x126
    images = {
        "astronaut 512x512": (photo, 0),
        "astronaut resized to 280x340 (face ~60 px)": (cv2.resize(photo, (280, 340), interpolation=cv2.INTER_AREA), 1),
        "face crop resized to 280x340 (as ME datasets)": (cv2.resize(crop, (280, 340), interpolation=cv2.INTER_LINEAR), 0),
    }
    try:
        face.landmarks(photo)
        have_dlib = True
    except ImportError:
        have_dlib = False
        print("  (dlib missing: dlib rows skipped; pip install \"mer_lab[faces]\")")
    for label, (img, upsample) in images.items():
        for method in ("haar", "lbp") + (("dlib",) if have_dlib else ()):
            kw = {"upsample": upsample} if method == "dlib" else {}
            n = len(face.detect_faces(img, method=method, **kw))
            row(f"{label}: detect {method} ({n} found)", best_time(lambda: face.detect_faces(img, method=method, **kw)))
        if have_dlib:
            box = face.detect_face(img, method="dlib", upsample=upsample)
            row(f"{label}: 68 landmarks in a given box", best_time(lambda: face.landmarks(img, box=box), 10))
            row(f"{label}: dlib detect + 68 landmarks",
                best_time(lambda: face.landmarks(img, upsample=upsample)))


def bench_registration():
    print("Registration (similarity on 13 landmarks, warpAffine per frame)")
    rng = np.random.default_rng(0)
    for h, w in SIZES:
        n = 60
        cube = texture_clip(n, h, w)
        pts0 = np.column_stack([rng.uniform(0.2 * w, 0.8 * w, 68), rng.uniform(0.2 * h, 0.8 * h, 68)])
        drift = np.cumsum(rng.normal(0, 0.3, (n, 1, 2)), axis=0)
        pts = pts0[None] + drift
        row(f"{label(h, w)}, {n} frames: register", best_time(lambda: face.register(cube, landmarks=pts)), n)
        row(f"{label(h, w)}, {n} frames: crop_face to 128x128",
            best_time(lambda: face.crop_face(cube, box=(w // 4, h // 4, w // 2, h // 2), size=128)), n)


def bench_tim():
    print("Temporal interpolation")
    for h, w in SIZES:
        cube = texture_clip(60, h, w)
        for n_out in (10, 120):
            row(f"{label(h, w)}, 60 -> {n_out} frames: tim", best_time(lambda: tim.tim(cube, n_out)), n_out)
        row(f"{label(h, w)}, 60 -> 10 frames: linear_interpolate", best_time(lambda: tim.linear_interpolate(cube, 10)), 10)
    long = texture_clip(200, 340, 280, fps=200)
    tim.tim(long, 10)  # warm-up (first touch of the memory)
    seconds = best_time(lambda: tim.tim(long, 10))
    print(f"  {'280x340, 200 -> 10 frames: tim':<66s} {seconds * 1e3:9.1f} ms  {200 / seconds:9.1f} input frames/s")


def _x_shift_amplitude(cube, freq):
    """Amplitude of the x-translation at freq (Hz), by phase correlation against frame 0."""
    v = cube.values.astype(np.float64)
    spec = np.fft.fft2(v - v.mean(axis=(1, 2), keepdims=True))
    fy, fx = np.meshgrid(np.fft.fftfreq(v.shape[1]), np.fft.fftfreq(v.shape[2]), indexing="ij")
    low = (np.abs(fx) <= 0.125) & (np.abs(fy) <= 0.125) & ((fx != 0) | (fy != 0))
    cross = spec[:, low] * np.conj(spec[0, low])[None]
    weight = np.sqrt(np.abs(cross[0]))
    design = -2 * np.pi * np.column_stack([fx[low], fy[low]]) * weight[:, None]
    shifts = np.linalg.lstsq(design, (np.angle(cross) * weight[None]).T, rcond=None)[0][0]
    t = np.arange(len(shifts)) / cube.attrs["fps"]
    basis = np.column_stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)])
    coef = np.linalg.lstsq(basis, shifts, rcond=None)[0]
    return float(np.hypot(coef[0], coef[1]))


def bench_evm():
    print("Eulerian video magnification (alpha 10, levels 4)")
    for h, w in SIZES:
        cube = texture_clip(60, h, w)
        for filt in ("ideal", "iir"):
            row(f"{label(h, w)}, 60 frames: magnify filter={filt}",
                best_time(lambda: evm.magnify(cube, alpha=10, low=2, high=10, filter=filt)), 60)
    print("EVM quality on a 128x128 texture moved by 0.2 px * sin(2 pi 5 Hz t), 100 fps, band 2-10 Hz")
    cube = texture_clip(100, 128, 128)
    full = dict(lambda_c=1.0, skip_levels=(), amplify_residual=True)
    for name, kw in (("every level x alpha", full), ("defaults (lambda_c=16, finest level skipped)", {})):
        out = evm.magnify(cube.astype(np.float32), alpha=4, low=2, high=10, **kw)
        gain = _x_shift_amplitude(out, 5.0) / _x_shift_amplitude(cube.astype(np.float32), 5.0)
        print(f"  alpha=4, {name:<46s} motion gain {gain:5.2f} (1 + alpha = 5)")
    rng = np.random.default_rng(1)
    still = make_cube((128 + rng.normal(0, 2.0, (100, 128, 128))).astype(np.float32), fps=100)
    for name, kw in (("every level x alpha", full), ("defaults", {})):
        out = evm.magnify(still, alpha=10, low=2, high=10, **kw)
        ratio = float((out.values - 128).std() / (still.values - 128).std())
        print(f"  alpha=10, {name:<45s} noise std out/in {ratio:5.2f} (white noise, std 2)")


if __name__ == "__main__":
    t0 = time.perf_counter()
    bench_faces()
    bench_registration()
    bench_tim()
    bench_evm()
    print(f"total {time.perf_counter() - t0:.1f} s")
