"""Eulerian video magnification: a texture moved by a small known sinusoid must come out
moved by (1 + alpha) times as much inside the band, unchanged outside it; noise gain."""

import numpy as np
import pytest
from scipy import ndimage

from mer_lab.cube import make_cube
from mer_lab.preprocess import evm as E

FPS = 50.0
N = 50  # 1 s: frequency bins every 1 Hz


def _texture(h, w, sigma=4.0, seed=0):
    rng = np.random.default_rng(seed)
    t = ndimage.gaussian_filter(rng.normal(size=(h, w)), sigma, mode="wrap")
    return (t - t.mean()) / t.std()


def _moving_clip(h, w, *, amplitude=0.2, freq=5.0, n=N, dtype=np.float32, noise=0.0, offset=128.0, contrast=30.0):
    """A periodic texture translated along x by amplitude * sin(2 pi freq t) (exact, by FFT)."""
    spectrum = np.fft.fft2(_texture(h, w))
    t = np.arange(n) / FPS
    frames = [np.fft.ifft2(ndimage.fourier_shift(spectrum, (0.0, d))).real
              for d in amplitude * np.sin(2 * np.pi * freq * t)]
    values = offset + contrast * np.stack(frames)
    if noise:
        values = values + np.random.default_rng(1).normal(0, noise, values.shape)
    if np.issubdtype(dtype, np.integer):
        values = np.clip(np.rint(values), 0, 255)
    return make_cube(values.astype(dtype), fps=FPS, sample="moving", apex=3)


def _x_shifts(cube):
    """Global x-translation of every frame relative to the first, in px (sub-pixel).

    Phase correlation by a least-squares fit of the cross-power spectrum's phase,
    -2 pi (fx dx + fy dy), over the low spatial frequencies (where it cannot wrap for
    shifts below a few pixels), weighted by the spectrum's magnitude.
    """
    v = cube.values.astype(np.float64)
    if v.ndim == 4:
        v = v.mean(axis=-1)
    spec = np.fft.fft2(v - v.mean(axis=(1, 2), keepdims=True))
    h, w = v.shape[1:]
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    low = (np.abs(fx) <= 0.125) & (np.abs(fy) <= 0.125) & ((fx != 0) | (fy != 0))
    cross = spec[:, low] * np.conj(spec[0, low])[None]
    weight = np.sqrt(np.abs(cross[0]))
    design = -2 * np.pi * np.column_stack([fx[low], fy[low]]) * weight[:, None]
    target = (np.angle(cross) * weight[None]).T
    return np.linalg.lstsq(design, target, rcond=None)[0][0]


def _amplitude(shifts, freq, start=0):
    t = np.arange(len(shifts))[start:] / FPS
    design = np.column_stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)])
    coef = np.linalg.lstsq(design, shifts[start:], rcond=None)[0]
    return float(np.hypot(coef[0], coef[1]))


# every level amplified by alpha: the textbook EVM of the paper's first-order analysis
FULL = dict(lambda_c=1.0, skip_levels=(), amplify_residual=True)


@pytest.mark.parametrize("shape", [(64, 64), (60, 45)])  # 45 and 60 are not multiples of 2**levels
def test_motion_in_the_band_is_magnified_by_one_plus_alpha(shape):
    clip = _moving_clip(*shape, freq=5.0)
    assert _amplitude(_x_shifts(clip), 5.0) == pytest.approx(0.2, rel=0.03)
    out = E.magnify(clip, alpha=4, low=2, high=10, levels=3, **FULL)
    assert out.shape == clip.shape
    assert _amplitude(_x_shifts(out), 5.0) == pytest.approx(0.2 * 5, rel=0.05)


def test_motion_outside_the_band_is_left_alone():
    # 15 Hz; its harmonics (30, 45 Hz) alias to 20 and 5 Hz at 50 fps, the third one
    # (in the band) is of third order in the 0.2 px motion: negligible
    clip = _moving_clip(64, 64, freq=15.0)
    out = E.magnify(clip, alpha=4, low=2, high=10, levels=3, **FULL)
    assert _amplitude(_x_shifts(out), 15.0) == pytest.approx(_amplitude(_x_shifts(clip), 15.0), rel=0.01)
    in_band = E.magnify(_moving_clip(64, 64, freq=5.0), alpha=4, low=2, high=10, levels=3, **FULL)
    change_out = np.abs(out.values - clip.values).max()
    assert change_out < 0.02 * np.abs(in_band.values - _moving_clip(64, 64, freq=5.0).values).max()


def test_default_settings_magnify_less_than_the_full_factor():
    clip = _moving_clip(64, 64, freq=5.0)
    out = E.magnify(clip, alpha=4, low=2, high=10, levels=3)
    amp = _amplitude(_x_shifts(out), 5.0)
    assert 0.2 * 1.5 < amp < 0.2 * 5  # fine levels attenuated by lambda_c, level 0 skipped


def test_iir_filter_matches_its_frequency_response():
    clip = _moving_clip(64, 64, freq=3.0, n=100)
    out = E.magnify(clip, alpha=4, filter="iir", r1=0.4, r2=0.05, levels=3, **FULL)
    expected = 0.2 * abs(1 + 4 * E.iir_gain(3.0, FPS, r1=0.4, r2=0.05))
    assert expected > 0.4  # a real magnification
    assert _amplitude(_x_shifts(out), 3.0, start=50) == pytest.approx(expected, rel=0.08)


def test_iir_band_in_hz_sets_the_coefficients():
    clip = _moving_clip(32, 32, n=10)
    a = E.magnify(clip, alpha=3, filter="iir", low=1.0, high=6.0, levels=2)
    b = E.magnify(clip, alpha=3, filter="iir", r1=1 - np.exp(-2 * np.pi * 6 / FPS), r2=1 - np.exp(-2 * np.pi / FPS), levels=2)
    assert np.allclose(a.values, b.values)
    assert "iir" in a.attrs["magnification"]


def test_noise_gain_is_finite_and_moderate():
    rng = np.random.default_rng(7)
    still = make_cube((128 + rng.normal(0, 2.0, (N, 64, 64))).astype(np.float32), fps=FPS)
    out = E.magnify(still, alpha=10, low=2, high=10, levels=3)
    ratio = float((out.values - 128).std() / (still.values - 128).std())
    assert np.isfinite(ratio)
    assert 1.0 < ratio < 11.0
    full = E.magnify(still, alpha=10, low=2, high=10, levels=3, **FULL)
    ratio_full = float((full.values - 128).std() / (still.values - 128).std())
    assert ratio < ratio_full  # attenuating fine levels keeps noise down


def test_uint8_clips_are_clipped_not_wrapped():
    clip = _moving_clip(48, 48, dtype=np.uint8, offset=225.0, contrast=12.0)
    out = E.magnify(clip, alpha=20, low=2, high=10, levels=3, **FULL)
    assert out.dtype == np.uint8
    assert out.values.max() == 255  # saturated, not wrapped round to small values
    assert out.values.min() > 150


def test_grey_rgb_clip_magnifies_like_grey_and_keeps_colours():
    grey = _moving_clip(48, 48, freq=5.0)
    rgb = make_cube(np.repeat(grey.values[..., None], 3, axis=-1), fps=FPS)
    out_rgb = E.magnify(rgb, alpha=4, low=2, high=10, levels=3, **FULL)
    out_grey = E.magnify(grey, alpha=4, low=2, high=10, levels=3, **FULL)
    assert out_rgb.shape == rgb.shape
    assert np.allclose(out_rgb.values[..., 0], out_rgb.values[..., 2], atol=1e-3)
    assert np.allclose(out_rgb.values[..., 1], out_grey.values, atol=1e-2)


def test_level_alphas_follow_the_wavelength_bound():
    got = E.level_alphas(10, 4, lambda_c=16)
    lam = 2.0 ** (np.arange(4) + 1.5)
    expected = np.clip(lam / 16 * 11 - 1, 0, 10)
    expected[0] = 0  # finest level skipped by default
    assert np.allclose(got, np.append(expected, 0))
    assert np.allclose(E.level_alphas(5, 3, lambda_c=1, skip_levels=(), amplify_residual=True), 5)


def test_metadata_and_dtype_kept():
    clip = _moving_clip(32, 40, n=12)
    out = E.magnify(clip, alpha=10, levels=2)
    assert out.dtype == clip.dtype and out.attrs["sample"] == "moving" and out.attrs["apex"] == 3
    assert np.array_equal(out["frame"].values, clip["frame"].values)
    assert len(out.attrs["level_alphas"]) == 3


def test_bad_arguments_are_rejected_with_clear_errors():
    clip = _moving_clip(40, 36, n=8)
    for alpha in (0, -2):
        with pytest.raises(ValueError, match="alpha"):
            E.magnify(clip, alpha=alpha)
    with pytest.raises(ValueError, match="levels=5"):
        E.magnify(clip, levels=5)
    with pytest.raises(ValueError, match="Nyquist"):
        E.magnify(clip, low=1, high=30)
    with pytest.raises(ValueError, match="low"):
        E.magnify(clip, low=10, high=5)
    with pytest.raises(ValueError, match="r1"):
        E.magnify(clip, filter="iir", r1=0.05, r2=0.4)
    with pytest.raises(ValueError, match="filter"):
        E.magnify(clip, filter="butter")
