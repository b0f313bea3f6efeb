"""Feature-difference spotting: histograms against scikit-image, the contrast and threshold
formulas on hand-made curves, and a clip with one strong movement."""

import numpy as np
import pytest
import xarray as xr
from skimage.feature import local_binary_pattern

from mer_lab.cube import make_cube
from mer_lab.spotting import (
    default_interval,
    feature_difference,
    intervals_from_curve,
    lbp_block_histograms,
    spot_intervals,
    threshold,
)
from mer_lab.spotting.feature_difference import _chi2, _contrast, _difference


def test_block_histograms_match_scikit_image_codes():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 27, 33), dtype=np.uint8)
    cube = make_cube(frames, fps=30)
    hist = lbp_block_histograms(cube, blocks=(2, 3), radius=1, points=8, mapping="u2")
    assert hist.shape == (2, 6, 59)
    np.testing.assert_allclose(hist.sum(axis=2), 1.0)
    # block (1, 2) of frame 1: the 25 x 31 centres split at rows floor(25 / 2) = 12 and
    # cols floor(31 / 3) = 10, floor(62 / 3) = 20 (mer_lab.features.blocks): rows [12, 25), cols [20, 31)
    codes = local_binary_pattern(frames[1], 8, 1, "nri_uniform")[1:-1, 1:-1]
    part = codes[12:25, 20:31].astype(int).ravel()
    np.testing.assert_allclose(hist[1, 5], np.bincount(part, minlength=59) / part.size)
    assert lbp_block_histograms(cube, blocks=(1, 1), mapping="riu2").shape == (2, 1, 10)
    assert lbp_block_histograms(cube, blocks=(1, 1), mapping="none").shape == (2, 1, 256)


def test_chi_squared_distance_by_hand():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    # (0.25^2 / 0.75) * 2 + 0.5^2 / 0.5 = 1/6 + 1/2
    assert _chi2(p, q) == pytest.approx(1 / 6 + 1 / 2)
    assert _chi2(p, p) == 0.0


def test_difference_averages_the_top_blocks():
    # 5 frames, 3 blocks, 2 bins; only frame 2 differs, in blocks 0 and 1
    hist = np.tile(np.array([1.0, 0.0]), (5, 3, 1))
    hist[2, 0] = [0.0, 1.0]
    hist[2, 1] = [0.5, 0.5]
    f = _difference(hist, k=1, top=2)
    # frame 2 vs the mean of frames 1 and 3: block 0 chi2 = 1 + 1 = 2;
    # block 1: (0.5^2 / 1.5) + (0.5^2 / 0.5) = 1/6 + 1/2; top-2 mean
    expected_2 = (2 + 1 / 6 + 1 / 2) / 2
    # frame 1 vs mean(frames 0, 2): block 0 [1, 0] vs [0.5, 0.5] -> 1/6 + 1/2;
    # block 1 [1, 0] vs [0.75, 0.25] -> 0.0625/1.75 + 0.0625/0.25
    b1 = 0.0625 / 1.75 + 0.25
    expected_1 = (1 / 6 + 1 / 2 + b1) / 2
    np.testing.assert_allclose(f, [np.nan, expected_1, expected_2, expected_1, np.nan])


def test_contrast_subtracts_the_neighbours_and_clamps_at_zero():
    f = np.array([np.nan, 1.0, 5.0, 1.0, 2.0, 2.0, 2.0, np.nan])
    c = _contrast(f, k=1)
    # C(i) = F(i) - (F(i-1) + F(i+1)) / 2: i=2: 5 - 1 = 4; i=3: 1 - 3.5 < 0 -> 0;
    # i=4: 2 - 1.5 = 0.5; i=5: 0; ends undefined
    np.testing.assert_allclose(c, [np.nan, np.nan, 4.0, 0.0, 0.5, 0.0, np.nan, np.nan])


def test_threshold_formula():
    values = [0.0, 1.0, 2.0, 5.0, np.nan]
    assert threshold(values, p=0) == pytest.approx(2.0)          # the mean
    assert threshold(values, p=1) == pytest.approx(5.0)          # the maximum
    assert threshold(values, p=0.25) == pytest.approx(2.0 + 0.25 * 3.0)
    with pytest.raises(ValueError, match="p must be <= 1"):
        threshold(values, p=1.5)
    with pytest.raises(ValueError, match="no finite values"):
        threshold([np.nan], p=0.5)


def _curve(values, frames=None, k=2):
    values = np.asarray(values, float)
    frames = np.arange(values.size) + 100 if frames is None else frames
    return xr.DataArray(values, dims=("time",), coords={"frame": ("time", frames)}, attrs={"k": k})


def test_intervals_from_curve_peaks_above_threshold():
    c = _curve([0, 0, 1, 9, 1, 0, 0, 2, 0, 0, 0, 7, 6, 0, 0, 0])
    # mean 26/16 = 1.625, max 9 -> T(p=0.5) = 5.3125: peaks 9 (pos 3) and 7 (pos 11)
    table = intervals_from_curve(c, p=0.5)
    assert table[["onset", "apex", "offset"]].values.tolist() == [[101, 103, 105], [109, 111, 113]]
    np.testing.assert_allclose(table["score"], [9, 7])
    assert table.attrs["threshold"] == pytest.approx(1.625 + 0.5 * (9 - 1.625))
    # a larger minimum distance keeps only the higher of two close peaks
    # (p=0 lets the small peak at 107 through, distance=5 removes it, not 111)
    assert intervals_from_curve(c, p=0.0)["apex"].tolist() == [103, 107, 111]
    assert intervals_from_curve(c, p=0.0, distance=5)["apex"].tolist() == [103, 111]
    # intervals are cut at the clip's ends; an end sample can be a peak
    edge = intervals_from_curve(_curve([8, 1, 0, 0, 0, 0]), p=0.5)
    assert edge[["onset", "apex", "offset"]].values.tolist() == [[100, 100, 102]]


def test_default_interval_is_half_the_mean_me_length():
    assert default_interval(200) == 30
    assert default_interval(100) == 15
    assert default_interval(5) == 1


def test_static_clip_has_zero_difference_and_undefined_ends():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    cube = make_cube(np.repeat(frame[None], 30, axis=0), fps=20, frame_numbers=range(500, 530))
    c = feature_difference(cube, k=3)
    assert c.attrs["k"] == 3 and c.attrs["top"] == 12
    assert np.isnan(c.values[:6]).all() and np.isnan(c.values[-6:]).all()
    np.testing.assert_array_equal(c.values[6:-6], 0.0)
    np.testing.assert_array_equal(c["difference"].values[3:-3], 0.0)
    assert c["frame"].values[0] == 500


def test_brightness_and_contrast_changes_are_invisible(clip_factory):
    # LBP codes do not change under an increasing grey-level map: a clip whose frames
    # only change gain and offset has no feature difference at all.
    cube, _ = clip_factory(n_frames=40, events=(), noise=0, dtype=np.float32)
    frames = cube.values[0][None] * np.linspace(0.7, 1.4, 40)[:, None, None] + np.linspace(0, 30, 40)[:, None, None]
    c = feature_difference(make_cube(frames, fps=30), k=3)
    assert np.nanmax(c.values) == 0.0


def test_one_strong_movement_is_spotted_at_the_right_place(clip_factory):
    cube, truth = clip_factory(n_frames=200, fps=30, events=((120, 9),), amplitude=3.0, noise=0.5,
                               brightness=((60, 25),), drift=1.0, frame_numbers=range(1000, 1200))
    k = default_interval(30)
    table = spot_intervals(cube, p=0.5)
    assert len(table) == 1
    onset, apex, offset = table[["onset", "apex", "offset"]].iloc[0]
    assert abs(apex - 1120) <= 2
    assert (onset, offset) == (apex - k, apex + k)
    c = feature_difference(cube)
    assert (np.nan_to_num(c.values) >= 0).all()
    assert int(c["frame"][np.nanargmax(c.values)]) == apex


def test_pre_smoothing_is_applied_and_validated(clip_factory):
    cube, _ = clip_factory(n_frames=30, events=(), noise=2.0)
    plain = lbp_block_histograms(cube, blocks=(2, 2))
    smooth = lbp_block_histograms(cube, blocks=(2, 2), smooth=1.5)
    assert not np.allclose(plain, smooth)
    with pytest.raises(ValueError, match="smooth must be >= 0"):
        lbp_block_histograms(cube, smooth=-1)


def test_bad_arguments_name_the_parameter():
    cube = make_cube(np.zeros((12, 20, 20), np.uint8), fps=30)
    with pytest.raises(ValueError, match="at least 4k\\+1 = 21"):
        feature_difference(cube, k=5)
    with pytest.raises(ValueError, match="top must be <= 4"):
        feature_difference(cube, k=1, blocks=(2, 2), top=5)
    with pytest.raises(ValueError, match="blocks must be a pair"):
        feature_difference(cube, k=1, blocks=6)
    with pytest.raises(ValueError, match="mapping="):
        feature_difference(cube, k=1, mapping="u3")
    with pytest.raises(ValueError, match="too few for blocks"):
        lbp_block_histograms(cube, blocks=(30, 30))
    with pytest.raises(TypeError, match="xarray.DataArray"):
        feature_difference(np.zeros((12, 20, 20)))


def _skimage_to_matlab_u2():
    """The bin permutation from scikit-image's nri_uniform labels to MATLAB's u2 labels (P = 8)."""
    from mer_lab.features._lbp_kernels import mapping_table

    table, n = mapping_table(8, "u2")
    image = np.random.default_rng(3).integers(0, 256, (400, 400)).astype(np.uint8)
    raw = local_binary_pattern(image, 8, 1, "default").astype(int).ravel()
    sk = local_binary_pattern(image, 8, 1, "nri_uniform").astype(int).ravel()
    assert len(np.unique(raw)) == 256                   # every code seen
    pairs = set(zip(sk.tolist(), table[raw].tolist()))
    perm = np.full(n, -1)
    for s, m in pairs:
        assert perm[s] in (-1, m)                       # one MATLAB bin per scikit-image bin ...
        perm[s] = m
    assert sorted(perm.tolist()) == list(range(n))      # ... and one-to-one
    return perm


def test_spotting_bin_order_is_a_permutation_of_the_features_order_and_does_not_change_the_curve():
    perm = _skimage_to_matlab_u2()
    assert not np.array_equal(perm, np.arange(59))      # the two orders do differ
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 256, (30, 20, 20)).astype(np.uint8)
    hist = lbp_block_histograms(make_cube(frames, fps=30), blocks=(3, 3))
    matlab = np.empty_like(hist)
    matlab[..., perm] = hist                            # the same histograms in MATLAB's order
    np.testing.assert_allclose(_chi2(hist[0], hist[1]), _chi2(matlab[0], matlab[1]), rtol=1e-12, atol=0)
    f_sk, f_matlab = _difference(hist, 3, 3), _difference(matlab, 3, 3)
    np.testing.assert_array_equal(np.isnan(f_sk), np.isnan(f_matlab))
    np.testing.assert_allclose(f_sk[3:-3], f_matlab[3:-3], rtol=1e-12, atol=0)
