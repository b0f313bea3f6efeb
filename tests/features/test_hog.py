"""HOG-TOP and HIGO-TOP against known gradients."""

from __future__ import annotations

import numpy as np
import pytest

from mer_lab.cube import make_cube
from mer_lab.features import hog as H


def _planes(v, blocks, bins):
    return v.reshape(int(np.prod(blocks)), 3, bins)


def test_gradient_of_a_linear_volume():
    t, y, x = np.meshgrid(np.arange(5.0), np.arange(6.0), np.arange(7.0), indexing="ij")
    g = H.gradient_planes(2.0 * x - 3.0 * y + 0.5 * t)
    np.testing.assert_allclose(g["x"], 2.0)
    np.testing.assert_allclose(g["y"], -3.0)
    np.testing.assert_allclose(g["t"], 0.5)
    assert g["x"].shape == (3, 4, 5)


def test_known_orientations_land_in_known_bins():
    t, y, x = np.meshgrid(np.arange(5.0), np.arange(9.0), np.arange(9.0), indexing="ij")
    # I = x + y: XY gradient (1, 1) -> 45 deg; XT sees (I_x, I_t) = (1, 0) -> 0 deg;
    # YT sees (I_y, I_t) = (1, 0) -> 0 deg
    v = _planes(H.hog_top(x + y, bins=8, signed=True, blocks=(1, 1, 1)), (1, 1, 1), 8)
    assert np.flatnonzero(v[0, 0]).tolist() == [1]          # 45 deg: the lower edge of [45, 90)
    assert np.flatnonzero(v[0, 1]).tolist() == [0]
    assert np.flatnonzero(v[0, 2]).tolist() == [0]
    # I = -t: the time planes see a gradient straight "down" the time axis (-90 deg = 270 deg)
    v = _planes(H.higo_top(-t + 0 * x, bins=4, signed=True, blocks=(1, 1, 1)), (1, 1, 1), 4)
    assert np.flatnonzero(v[0, 1]).tolist() == [3] and np.flatnonzero(v[0, 2]).tolist() == [3]
    assert v[0, 0].sum() == 0                                # no spatial gradient: no vote
    # unsigned: opposite gradients share a bin
    a = H.hog_top(x, bins=6, blocks=(1, 1, 1))
    b = H.hog_top(-x, bins=6, blocks=(1, 1, 1))
    np.testing.assert_array_equal(a, b)
    # every axis direction sits on a bin edge and lands in the bin above it
    for img, expected in ((y, 2), (-x, 4), (-y, 6), (x + 2 * y, 1), (x - y, 7)):
        v = _planes(H.higo_top(img, bins=8, signed=True, blocks=(1, 1, 1)), (1, 1, 1), 8)
        assert np.flatnonzero(v[0, 0]).tolist() == [expected]
    s_a = H.hog_top(x, bins=6, signed=True, blocks=(1, 1, 1))
    s_b = H.hog_top(-x, bins=6, signed=True, blocks=(1, 1, 1))
    assert not np.array_equal(s_a, s_b)


def test_hog_weights_by_magnitude_and_higo_does_not():
    t, y, x = np.meshgrid(np.arange(4.0), np.arange(10.0), np.arange(12.0), indexing="ij")
    lin = 2.0 * x - 3.0 * y
    hog = _planes(H.hog_top(lin, bins=4, blocks=(1, 1, 1), normalise=False), (1, 1, 1), 4)[0]
    higo = _planes(H.higo_top(lin, bins=4, blocks=(1, 1, 1), normalise=False), (1, 1, 1), 4)[0]
    n = 2 * 8 * 10
    # XY: every voxel votes once, HOG with weight |(2, -3)| = sqrt(13)
    assert higo[0].sum() == n and np.count_nonzero(higo[0]) == 1
    np.testing.assert_allclose(hog[0].sum(), n * np.sqrt(13), rtol=1e-6)
    # XT sees (I_x, I_t) = (2, 0) and YT (I_y, I_t) = (-3, 0)
    np.testing.assert_allclose([hog[1].sum(), hog[2].sum()], [2 * n, 3 * n], rtol=1e-6)
    # contrast: HOG scales with it, HIGO does not
    rng = np.random.default_rng(0)
    vol = rng.random((5, 12, 12))
    np.testing.assert_allclose(H.hog_top(3 * vol, normalise=False, blocks=(2, 2, 1)),
                               3 * H.hog_top(vol, normalise=False, blocks=(2, 2, 1)), rtol=1e-5)
    np.testing.assert_array_equal(H.higo_top(3 * vol, blocks=(2, 2, 1)), H.higo_top(vol, blocks=(2, 2, 1)))
    assert not np.allclose(H.higo_top(vol, blocks=(2, 2, 1)), H.hog_top(vol, blocks=(2, 2, 1)))


def test_layout_normalisation_and_names():
    cube = make_cube(np.random.default_rng(2).integers(0, 255, (6, 24, 24), dtype=np.uint8), fps=100)
    for f, names in ((H.hog_top, H.hog_top_names), (H.higo_top, H.higo_top_names)):
        v = f(cube, blocks=(3, 2, 2), bins=9)
        assert v.shape == (12 * 3 * 9,)
        np.testing.assert_allclose(_planes(v, (3, 2, 2), 9).sum(axis=2), 1.0)
        n = names(blocks=(3, 2, 2), bins=9)
        assert len(n) == v.size and len(set(n)) == v.size


def test_constant_cube_gives_empty_histograms():
    v = H.higo_top(np.full((4, 8, 8), 3.0), blocks=(2, 2, 1))
    assert v.shape == (2 * 2 * 3 * 8,) and not v.any()


@pytest.mark.parametrize("kwargs,match", [
    (dict(bins=0), "bins"), (dict(blocks=(9, 1, 1)), "blocks"), (dict(signed="yes"), "signed"),
    (dict(overlap=-0.1), "overlap"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        H.hog_top(np.zeros((4, 8, 8)), **kwargs)


def test_bad_cubes():
    with pytest.raises(ValueError, match="grey"):
        H.higo_top(make_cube(np.zeros((4, 8, 8, 3), np.uint8), fps=30))
    with pytest.raises(ValueError, match="frames"):
        H.hog_top(np.zeros((2, 8, 8)))
    bad = np.zeros((4, 8, 8))
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        H.hog_top(bad)
