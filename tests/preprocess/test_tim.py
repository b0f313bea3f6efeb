"""Temporal interpolation: TIM against an independent cosine-series formula, ramps,
duplicate frames, dtype/range and the time axis of the output."""

import numpy as np
import pytest
from scipy import fft

from mer_lab.cube import key_frames, make_cube
from mer_lab.preprocess import tim as T


def _cosine_interpolation(x, n_out):
    """Reference: evaluate the orthonormal DCT-II series of the N samples between them.

    Sample n sits at position n in 0..N-1; output frames at evenly spaced positions.
    """
    n_in = x.shape[0]
    coef = fft.dct(x.reshape(n_in, -1), type=2, norm="ortho", axis=0)
    pos = np.linspace(0, n_in - 1, n_out)
    k = np.arange(n_in)
    basis = np.sqrt(2.0 / n_in) * np.cos(np.pi * k[None, :] * (pos[:, None] + 0.5) / n_in)
    basis[:, 0] = np.sqrt(1.0 / n_in)
    return (basis @ coef).reshape((n_out,) + x.shape[1:])


def _random_clip(n, h=6, w=5, seed=0, dtype=np.float64, **meta):
    rng = np.random.default_rng(seed)
    return make_cube(rng.normal(100, 20, (n, h, w)).astype(dtype), fps=100, **meta)


@pytest.mark.parametrize("n_in,n_out", [(9, 9), (12, 31), (40, 10), (2, 5), (3, 2)])
def test_tim_equals_cosine_interpolation(n_in, n_out):
    clip = _random_clip(n_in)
    raw = T._tim_float(clip, n_out)
    assert np.allclose(raw, _cosine_interpolation(clip.values, n_out), atol=1e-8)


def test_tim_weights_follow_the_data_and_reduce_to_the_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(15, 40))
    xc = x - x.mean(0)
    with_data = T.tim_weights(15, 7, gram=xc @ xc.T)
    general = T.tim_weights(15, 7)
    assert with_data.shape == (7, 15)
    assert np.allclose(with_data, general, atol=1e-9)
    assert np.allclose(with_data.sum(axis=1), 0, atol=1e-9)  # weights act on centred frames


def test_tim_to_the_same_length_reproduces_the_clip():
    clip = _random_clip(25, dtype=np.float32)
    out = T.tim(clip, 25)
    assert np.allclose(out.values, clip.values, rtol=1e-4, atol=1e-2)
    rng = np.random.default_rng(4)
    clip8 = make_cube(rng.integers(0, 256, (18, 16, 16), dtype=np.uint8), fps=60)
    out8 = T.tim(clip8, 18)
    assert out8.dtype == np.uint8
    assert np.abs(out8.values.astype(int) - clip8.values.astype(int)).max() <= 1


def test_a_linear_ramp_is_interpolated_nearly_linearly():
    n = 15
    ramp = make_cube(np.linspace(0, 200, n)[:, None, None] * np.ones((n, 4, 3)), fps=100)
    for n_out in (43, 6):
        expected = np.linspace(0, 200, n_out)
        got = T.tim(ramp, n_out).values[:, 0, 0]
        assert np.abs(got - expected).max() < 0.01 * 200  # within 1 % of the range
        assert np.all(np.diff(got) > 0)
        assert np.allclose(T.linear_interpolate(ramp, n_out).values[:, 0, 0], expected)


def test_duplicate_frames_do_not_crash():
    clip = _random_clip(5, dtype=np.float32)
    dup = make_cube(np.repeat(clip.values, [1, 3, 1, 2, 1], axis=0), fps=100)
    out = T.tim(dup, 20)
    assert np.isfinite(out.values).all() and out.sizes["time"] == 20
    same = T.tim(dup, dup.sizes["time"])  # nodes are reproduced even when frames repeat
    assert np.allclose(same.values, dup.values, atol=1e-2)
    const = make_cube(np.full((6, 4, 4), 7, np.uint8), fps=30)
    assert np.array_equal(T.tim(const, 10).values, np.full((10, 4, 4), 7, np.uint8))
    tiny = make_cube(np.random.default_rng(0).normal(size=(30, 1, 2)), fps=30)  # 2 pixels, 30 frames
    assert np.isfinite(T.tim(tiny, 10).values).all()


def test_dtype_and_range_are_kept_and_ringing_is_clipped():
    step = np.zeros((12, 5, 5), np.uint8)
    step[6:] = 255  # an abrupt change: the cosine series overshoots
    clip = make_cube(step, fps=100)
    out = T.tim(clip, 40)
    assert out.dtype == np.uint8
    assert out.values.min() == 0 and out.values.max() == 255
    report = T.compare_tim_linear(clip, 40)
    assert report["clipped_fraction"] > 0
    # no wrap-around: the flat parts stay near 0 and 255
    assert out.values[:3].max() < 60 and out.values[-3:].min() > 195
    f32 = _random_clip(10, dtype=np.float32)
    out32 = T.tim(f32, 17)
    assert out32.dtype == np.float32
    assert f32.values.min() <= out32.values.min() and out32.values.max() <= f32.values.max()


def test_output_spans_the_input_time_interval_with_mapped_key_frames():
    clip = _random_clip(40, frame_numbers=range(100, 140), onset=104, apex=120, offset=137, sample="c")
    for func in (T.tim, T.linear_interpolate):
        out = func(clip, 10)
        t = out["time"].values
        assert t[0] == clip["time"].values[0] and t[-1] == pytest.approx(clip["time"].values[-1])
        assert np.allclose(np.diff(t), t[-1] / 9)
        assert out.attrs["fps"] == pytest.approx(9 / 0.39)
        assert list(out["frame"].values) == list(range(10))
        source = out.attrs["source_frame"]
        assert source[0] == 100 and source[-1] == pytest.approx(139)
        # apex 120 is 0.20 s in; output frames every 0.39/9 s -> nearest is 5 (0.2167 s)
        assert (out.attrs["onset"], out.attrs["apex"], out.attrs["offset"]) == (1, 5, 9)
        assert key_frames(out) == {"onset": 1, "apex": 5, "offset": 9}
        assert out.attrs["sample"] == "c"
        assert out.attrs["temporal_interpolation"] == ("tim" if func is T.tim else "linear")


def test_resampling_twice_composes_source_frames_and_drops_per_frame_attrs():
    clip = _random_clip(21, frame_numbers=range(0, 42, 2))  # every other dataset frame
    clip.attrs["registration_transforms"] = np.zeros((21, 2, 3))
    once = T.tim(clip, 11)
    assert "registration_transforms" not in once.attrs
    assert np.allclose(once.attrs["source_frame"], np.linspace(0, 40, 11))
    twice = T.linear_interpolate(once, 5)
    assert np.allclose(twice.attrs["source_frame"], np.linspace(0, 40, 5))


def test_a_sliced_clip_keeps_its_time_stamps():
    clip = _random_clip(30).isel(time=slice(10, 25))
    out = T.tim(clip, 8)
    assert out["time"].values[0] == pytest.approx(0.10)
    assert out["time"].values[-1] == pytest.approx(0.24)


def test_colour_clips_and_linear_values():
    rng = np.random.default_rng(3)
    rgb = make_cube(rng.integers(0, 256, (7, 6, 5, 3), dtype=np.uint8), fps=25)
    out = T.tim(rgb, 13)
    assert out.shape == (13, 6, 5, 3) and out.dtype == np.uint8
    lin = T.linear_interpolate(rgb, 13)
    # output frame 1 lies halfway between input frames 0 and 1
    half = (rgb.values[0].astype(float) + rgb.values[1].astype(float)) / 2
    assert np.abs(lin.values[1].astype(float) - half).max() <= 0.5


def test_bad_inputs_are_rejected():
    one = make_cube(np.zeros((1, 4, 4)), fps=10)
    with pytest.raises(ValueError, match="at least 2 frames"):
        T.tim(one, 10)
    with pytest.raises(ValueError, match="n_frames"):
        T.tim(_random_clip(5), 1)
    with pytest.raises(ValueError, match="n_frames"):
        T.linear_interpolate(_random_clip(5), 2.5)
    with pytest.raises(TypeError, match="cube"):
        T.tim(np.zeros((5, 4, 4)), 3)


def test_compare_tim_linear_reports_differences():
    rng = np.random.default_rng(5)
    smooth = make_cube(np.linspace(0, 1, 20)[:, None, None] * np.ones((20, 4, 4)), fps=100)
    r = T.compare_tim_linear(smooth, 10)
    assert r["n_frames_in"] == 20 and r["n_frames_out"] == 10
    assert r["rmse"] < 0.01 and r["round_trip_rmse_linear"] < 1e-9
    assert r["rmse_per_frame"].shape == (10,)
    noisy = make_cube(rng.normal(size=(20, 8, 8)), fps=100)
    rn = T.compare_tim_linear(noisy, 7)
    assert rn["rmse"] > 10 * r["rmse"]  # they disagree on rough clips
    assert 0 < rn["max_abs"] and rn["signal_rms"] > 1
