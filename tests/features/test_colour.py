"""Colour LBP-TOP on decorrelated (TICS-style) colour components."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from mer_lab.cube import make_cube
from mer_lab.features import colour as C
from mer_lab.features.lbp import lbp_top


def _colour_cube(seed=0, shape=(5, 16, 16)):
    rng = np.random.default_rng(seed)
    return make_cube(rng.integers(0, 256, shape + (3,), dtype=np.uint8), fps=100)


def test_ohta_components_of_a_known_pixel():
    px = np.array([30.0, 60.0, 90.0]).reshape(1, 1, 1, 3)
    comps = C.colour_components(px, colour_space="ohta")
    np.testing.assert_allclose(comps.ravel(), [60.0, -30.0, 0.0])


def test_grey_clip_gives_grey_lbp_top_and_flat_chroma():
    grey = np.random.default_rng(1).integers(0, 256, (5, 12, 12)).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    v = C.lbp_top_tics(rgb, blocks=(2, 2, 1))
    n = 4 * 3 * 59
    assert v.shape == (3 * n,)
    np.testing.assert_allclose(v[:n], lbp_top(grey.astype(np.float64), blocks=(2, 2, 1)))
    # the chroma components are constant (zero): all mass in the "all neighbours equal" bin
    chroma = v[n:].reshape(2, 4, 3, 59)
    assert np.all(chroma[..., 57] == 1.0)
    assert len(C.lbp_top_tics_names(blocks=(2, 2, 1))) == v.size


def test_pca_transform_decorrelates_the_training_pixels():
    rng = np.random.default_rng(2)
    sources = rng.standard_normal((2, 4, 20, 20, 3)) * [20.0, 5.0, 1.0]
    mix = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]])
    clips = [s @ mix.T for s in sources]
    w = C.learn_colour_transform(clips, method="pca")
    np.testing.assert_allclose(w @ w.T, np.eye(3), atol=1e-9)
    comps = np.concatenate([C.colour_components(c, colour_space=w).reshape(3, -1) for c in clips], axis=1)
    cov = np.cov(comps)
    off = cov - np.diag(np.diag(cov))
    assert np.abs(off).max() < 1e-6 * np.abs(np.diag(cov)).max()
    assert np.all(np.diff(np.diag(cov)) < 0)      # largest variance first


def test_ica_transform_unmixes_independent_sources():
    rng = np.random.default_rng(3)
    sources = rng.uniform(-1, 1, (3, 4, 16, 16, 3)) * [3.0, 2.0, 1.0]   # independent, non-Gaussian
    mix = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]])
    clips = [s @ mix.T for s in sources]
    w = C.learn_colour_transform(clips, method="ica")
    g = w @ mix                                    # should be a scaled permutation
    g = np.abs(g) / np.abs(g).max(axis=1, keepdims=True)
    assert np.all(np.sort(g, axis=1)[:, 1] < 0.1)
    assert sorted(np.argmax(g, axis=1).tolist()) == [0, 1, 2]


def test_transformer_learns_on_training_clips_only_and_keeps_the_contract():
    train = [_colour_cube(s) for s in range(3)]
    other = [make_cube((np.random.default_rng(9).random((5, 16, 16, 3)) * [1, 50, 200]).astype(np.float64), fps=100)]
    est = C.TICSLBPTOP(blocks=(2, 2, 1))
    params = est.get_params()
    assert clone(est).get_params() == params
    with pytest.raises(NotFittedError):
        est.transform(train)
    before = [c.values.copy() for c in train]
    assert est.fit(train) is est
    z = est.transform(train)
    assert z.shape == (3, 3 * 4 * 3 * 59) and len(est.get_feature_names_out()) == z.shape[1]
    for c, b in zip(train, before):
        np.testing.assert_array_equal(c.values, b)
    np.testing.assert_array_equal(z, clone(est).fit(train).transform(train))
    # a different training set gives a different colour transform
    w_other = clone(est).fit(other).colour_matrix_
    assert not np.allclose(np.abs(w_other), np.abs(est.colour_matrix_), atol=1e-3)
    fixed = C.TICSLBPTOP(colour_space="ohta", blocks=(1, 1, 1)).fit(train)
    np.testing.assert_allclose(fixed.colour_matrix_, C.OHTA)


def test_bad_input():
    with pytest.raises(ValueError, match="colour cube"):
        C.lbp_top_tics(make_cube(np.zeros((4, 8, 8), np.uint8), fps=30))
    with pytest.raises(ValueError, match="learn_colour_transform"):
        C.lbp_top_tics(_colour_cube(), colour_space="pca")
    with pytest.raises(ValueError, match="singular"):
        C.lbp_top_tics(_colour_cube(), colour_space=np.ones((3, 3)))
    with pytest.raises(ValueError, match="3 x 3"):
        C.lbp_top_tics(_colour_cube(), colour_space=np.eye(2))
    with pytest.raises(ValueError, match="colour_space"):
        C.lbp_top_tics(_colour_cube(), colour_space="hsv")
    with pytest.raises(ValueError, match="channels"):
        C.lbp_top_tics(np.zeros((4, 8, 8, 2)))
    with pytest.raises(ValueError, match="method"):
        C.learn_colour_transform([_colour_cube()], method="nmf")
