"""STCLQP: pattern components against their definitions; codebooks learned in fit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from mer_lab.cube import make_cube
from mer_lab.features import stclqp as S
from mer_lab.features.lbp import lbp_top_codes


def _clip(seed, shape=(6, 14, 14)):
    return make_cube(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8), fps=100)


def test_sign_is_lbp_and_magnitude_follows_the_mean_rule():
    vol = np.random.default_rng(0).integers(0, 9, (6, 11, 12)).astype(np.uint8)
    pats = S.stclqp_patterns(vol, points=(4, 4, 4), neighbours="rounded")
    codes = lbp_top_codes(vol, points=(4, 4, 4), neighbours="rounded")
    for plane in ("XY", "XT", "YT"):
        np.testing.assert_array_equal(pats[(plane, "sign")], codes[plane][1:-1, 1:-1, 1:-1])
    v = vol.astype(np.float64)
    c = v[2:-2, 2:-2, 2:-2]
    ring = [v[2:-2, 2:-2, 3:-1], v[2:-2, 1:-3, 2:-2], v[2:-2, 2:-2, 1:-3], v[2:-2, 3:-1, 2:-2]]
    d = [np.abs(g - c) for g in ring]
    mu = np.mean([x.mean() for x in d])
    mag = sum((x >= mu).astype(int) << p for p, x in enumerate(d))
    np.testing.assert_array_equal(pats[("XY", "magnitude")], mag)


def test_orientation_patterns_of_ramps():
    t, y, x = np.meshgrid(np.arange(6.0), np.arange(9.0), np.arange(9.0), indexing="ij")
    all_ones = sum(4 ** p for p in range(8))          # every neighbour in orientation bin 1
    p_x = S.stclqp_patterns(x)                        # gradient along +x: angle 0 -> bin 0
    assert not p_x[("XY", "orientation")].any() and not p_x[("XT", "orientation")].any()
    p_y = S.stclqp_patterns(y)                        # along +y (rows): angle 90 deg -> bin 1
    assert np.all(p_y[("XY", "orientation")] == all_ones)
    p_t = S.stclqp_patterns(t)
    assert np.all(p_t[("XT", "orientation")] == all_ones) and np.all(p_t[("YT", "orientation")] == all_ones)
    p_neg = S.stclqp_patterns(-x)                     # 180 deg -> bin 2
    assert np.all(p_neg[("XY", "orientation")] == 2 * all_ones)


def test_codebooks_come_from_the_training_clips_and_histograms_are_normalised():
    train = [_clip(s) for s in range(3)]
    est = S.STCLQP(blocks=(2, 2, 1), n_codewords=6)
    with pytest.raises(NotFittedError):
        est.transform(train)
    assert est.fit(train) is est
    z = est.transform(train)
    assert z.shape == (3, 4 * 3 * 3 * 6)
    np.testing.assert_allclose(z.reshape(3, 4, 9, 6).sum(axis=3), 1.0)
    assert len(est.get_feature_names_out()) == z.shape[1]
    assert set(est.tables_) == {(p, c) for p in ("XY", "XT", "YT") for c in S.COMPONENTS}
    for key, table in est.tables_.items():
        assert table.max() < 6
    # every pattern goes to its nearest codeword
    table, centres = est.tables_[("XY", "sign")], est.codebooks_[("XY", "sign")]
    bits = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(float)
    d = ((bits[:, None, :] - centres[None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(d[np.arange(256), table], d.min(axis=1))
    # smooth clips (different statistics) give other codebooks
    smooth = [make_cube(np.cumsum(np.cumsum(np.random.default_rng(s).random((6, 14, 14)), 1), 2), fps=100)
              for s in range(3)]
    other = clone(est).fit(smooth)
    assert any(not np.array_equal(other.tables_[k], est.tables_[k]) for k in est.tables_)


def test_contract_and_grouped_search():
    cubes, y, groups = [], [], []
    for subject in range(3):
        for label in range(2):
            for rep in range(2):
                base = np.random.default_rng(100 * subject + 10 * label + rep).integers(0, 256, (20, 20))
                frames = [np.roll(base, t, axis=1 if label else 0)[:14, :14] for t in range(6)]
                cubes.append(make_cube(np.stack(frames).astype(np.uint8), fps=100))
                y.append(label)
                groups.append(subject)
    from mer_lab.features.base import as_cube_array
    X = as_cube_array(cubes)
    est = S.STCLQP(blocks=(1, 1, 1), n_codewords=8, n_orientations=2, neighbours="rounded")
    before = [c.values.copy() for c in X]
    assert clone(est).get_params() == est.get_params()
    z1 = clone(est).fit(X).transform(X)
    z2 = clone(est).fit(X).transform(X)
    np.testing.assert_array_equal(z1, z2)
    for c, b in zip(X, before):
        np.testing.assert_array_equal(c.values, b)
    search = GridSearchCV(Pipeline([("f", est), ("svm", SVC(kernel="linear"))]), {"svm__C": [1.0]},
                          cv=LeaveOneGroupOut())
    search.fit(X, np.array(y), groups=np.array(groups))
    assert search.best_score_ >= 0.75


def test_bad_parameters():
    with pytest.raises(ValueError, match="n_orientations"):
        S.stclqp_patterns(np.zeros((6, 9, 9)), n_orientations=8)
    with pytest.raises(ValueError, match="radii"):
        S.stclqp_patterns(np.zeros((3, 9, 9)))
    with pytest.raises(ValueError, match="n_codewords"):
        S.STCLQP(n_codewords=1).fit([_clip(0)])
    with pytest.raises(ValueError, match="blocks"):
        S.STCLQP(blocks=(20, 1, 1), n_codewords=4).fit([_clip(0)])
