"""3-D FFT apex spotting: the fast kernel against the direct 3-D FFT, Parseval, invariances,
and the apex of a known movement."""

import numpy as np
import pytest

from mer_lab.cube import make_cube
from mer_lab.spotting import default_window, fft_apex, fft_energy, fft_spot_intervals
from mer_lab.spotting.fft_apex import _energy_direct, _energy_fast, _taper


@pytest.mark.parametrize("kw", [
    dict(window=11, grid=(3, 3, 8, 9), cutoff=0.1, taper="hann", static=False),
    dict(window=8, grid=(2, 3, 7, 6), cutoff=0.0, taper="none", static=False),
    dict(window=15, grid=(2, 2, 12, 12), cutoff=0.3, taper="hann", static=True),
    dict(window=5, grid=(1, 1, 16, 15), cutoff=0.6, taper="none", static=True),
])
def test_fast_energy_equals_the_direct_3d_fft(kw):
    rng = np.random.default_rng(0)
    rows, cols, bh, bw = kw["grid"]
    n, w = 23, kw["window"]
    padded = rng.normal(100, 20, (n + w - 1, rows * bh, cols * bw)).astype(np.float32)
    common = dict(n=n, window=w, grid=kw["grid"], cutoff=kw["cutoff"], weights=_taper(w, kw["taper"]),
                  static=kw["static"], measure="energy")
    direct = _energy_direct(padded, **common)
    fast = _energy_fast(padded, **common)
    np.testing.assert_allclose(fast, direct, rtol=1e-5)


def test_energy_without_filter_is_the_mean_square_deviation():
    # Parseval: with no high-pass, no taper and the window mean removed, E(i) is the mean
    # squared deviation of each pixel from its window mean.
    rng = np.random.default_rng(1)
    frames = rng.normal(0, 1, (20, 12, 12))
    cube = make_cube(frames, fps=30)
    e = fft_energy(cube, window=5, blocks=(1, 1), cutoff=0.0, taper="none", normalise=False)
    i = 10
    win = frames[i - 2:i + 3]
    assert e.values[i] == pytest.approx(((win - win.mean(axis=0)) ** 2).mean(), rel=1e-6)
    amp = fft_energy(cube, window=5, blocks=(1, 1), cutoff=0.0, taper="none", normalise=False,
                     measure="amplitude")
    assert amp.attrs["measure"] == "amplitude" and amp.attrs["units"] == "grey level"


def test_still_clip_and_global_gain_have_no_energy(clip_factory):
    cube, _ = clip_factory(n_frames=30, events=(), noise=0, dtype=np.float32)
    still = np.repeat(cube.values[:1], 30, axis=0)
    e = fft_energy(make_cube(still, fps=30), window=9)
    assert np.abs(e.values).max() < 1e-8
    gain = still * (1 + 0.2 * np.sin(np.arange(30) / 2))[:, None, None]
    flicker = make_cube(gain, fps=30)
    assert np.abs(fft_energy(flicker, window=9).values).max() < 1e-6
    assert fft_energy(flicker, window=9, normalise=False).values.max() > 1.0


def test_apex_of_a_known_movement(clip_factory):
    cube, truth = clip_factory(n_frames=90, fps=30, events=((47, 9),), amplitude=2.5, noise=0.5,
                               frame_numbers=range(200, 290))
    apex, energy = fft_apex(cube)
    assert abs(apex - 247) <= 1
    assert energy.attrs["window"] == default_window(30) == 21
    assert energy.sizes["time"] == 90 and energy["frame"].values[0] == 200


def test_search_is_restricted_to_onset_offset(clip_factory):
    # a large movement at 20 and a small one at 65: inside 55..80 the small one is the apex
    cube, _ = clip_factory(n_frames=90, fps=30, events=((20, 9), (65, 9)), amplitude=2.5, noise=0.3)
    big, _ = fft_apex(cube)
    assert big in range(15, 26) or big in range(60, 71)
    inside, energy = fft_apex(cube, onset=55, offset=80)
    assert abs(inside - 65) <= 1
    assert (energy.attrs["onset"], energy.attrs["offset"]) == (55, 80)
    cube.attrs.update(onset=55, offset=80)
    assert fft_apex(cube)[0] == inside
    assert fft_apex(cube, restrict=False)[0] == big
    with pytest.raises(ValueError, match="offset 50 comes before onset 60"):
        fft_apex(cube, onset=60, offset=50)
    with pytest.raises(ValueError, match="onset 500 is not in the clip"):
        fft_apex(cube, onset=500)


def test_long_clip_spotting_finds_the_movements(clip_factory):
    cube, truth = clip_factory(n_frames=240, fps=30, events=((60, 9), (170, 9)), amplitude=3.0, noise=0.5)
    table = fft_spot_intervals(cube, p=0.5)
    assert len(table) == 2
    np.testing.assert_allclose(table["apex"], [60, 170], atol=1)
    k = table.attrs["k"]
    assert (table["offset"] - table["onset"]).tolist() == [2 * k, 2 * k]


def test_bad_arguments_name_the_parameter():
    cube = make_cube(np.zeros((12, 20, 20), np.uint8), fps=30)
    with pytest.raises(ValueError, match="window must be >= 2"):
        fft_energy(cube, window=1)
    with pytest.raises(ValueError, match="cutoff must be < 0.866"):
        fft_energy(cube, cutoff=0.9)
    with pytest.raises(ValueError, match="taper="):
        fft_energy(cube, taper="hamming")
    with pytest.raises(ValueError, match="measure="):
        fft_energy(cube, measure="power")
    with pytest.raises(ValueError, match="do not fit"):
        fft_energy(cube, blocks=(30, 3))


def test_the_documented_default_window_is_default_window():
    # the docstring quoted 61 frames at 200 fps while default_window gives 121
    doc = " ".join(fft_energy.__doc__.split())
    assert f"{default_window(200)} frames at 200 fps" in doc and f"{default_window(30)} at 30 fps" in doc
    cube = make_cube(np.random.default_rng(0).random((30, 12, 12)) * 50 + 100, fps=30)
    assert fft_energy(cube, blocks=(2, 2)).attrs["window"] == default_window(30) == 21


def test_li2018_variant_is_the_plain_amplitude_method_without_taper():
    from mer_lab.spotting.fft_apex import VARIANTS

    assert VARIANTS["li2018"] == {"taper": "none", "static": True, "measure": "amplitude", "normalise": False}
    t = np.arange(60)[:, None, None]
    rng = np.random.default_rng(1)
    frames = np.full((60, 24, 24), 100.0) + rng.normal(0, 1, (60, 24, 24))
    frames[:, 8:16, 8:16] += 60 * np.exp(-0.5 * ((t - 31) / 2) ** 2)
    cube = make_cube(frames, fps=30)
    plain = fft_energy(cube, blocks=(3, 3), variant="li2018")
    explicit = fft_energy(cube, blocks=(3, 3), taper="none", static=True, measure="amplitude", normalise=False)
    np.testing.assert_allclose(plain.values, explicit.values)
    assert plain.attrs["variant"] == "li2018" and plain.attrs["measure"] == "amplitude"
    assert plain.attrs["taper"] == "none" and plain.attrs["static"] and not plain.attrs["normalise"]
    assert not np.allclose(plain.values, fft_energy(cube, blocks=(3, 3)).values)
    # an explicit setting overrides the variant's
    assert fft_energy(cube, blocks=(3, 3), variant="li2018", taper="hann").attrs["taper"] == "hann"
    # both variants find the brief change (the plain one has a flat top as wide as the window
    # minus the movement, so its apex is only within that plateau)
    apex_doc, _ = fft_apex(cube, blocks=(3, 3))
    apex_li, curve = fft_apex(cube, blocks=(3, 3), variant="li2018")
    assert abs(apex_doc - 31) <= 1
    assert abs(apex_li - 31) <= default_window(30) // 2
    with pytest.raises(ValueError, match="variant"):
        fft_energy(cube, variant="li")
