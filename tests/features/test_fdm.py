"""FDM: principal directions are optimal, cuboids and alignment behave as documented."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from sklearn.base import clone

from mer_lab.cube import make_cube
from mer_lab.features import fdm as F


def objective(xi, w):
    return np.maximum(w @ xi, 0).sum()


def test_principal_direction_is_optimal_against_brute_force():
    rng = np.random.default_rng(0)
    angles = np.linspace(-np.pi, np.pi, 3600, endpoint=False)
    grid = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    vecs, labels = [], []
    for g in range(6):
        k = rng.integers(2, 4)
        centres = rng.uniform(-np.pi, np.pi, k)
        for c in centres:
            n = rng.integers(5, 40)
            a = c + 0.3 * rng.standard_normal(n)
            r = rng.uniform(0.2, 2.0, n)
            vecs.append(np.stack([r * np.cos(a), r * np.sin(a)], axis=1))
            labels.append(np.full(n, g))
    w, lab = np.concatenate(vecs), np.concatenate(labels)
    xi, m, n_iter = F.principal_directions(w, lab)
    assert np.allclose(np.hypot(xi[:, 0], xi[:, 1]), 1)
    for g in range(6):
        wg = w[lab == g]
        best = max(objective(d, wg) for d in grid)
        assert objective(xi[g], wg) >= best - 1e-3 * best
        assert m[g] == pytest.approx(objective(xi[g], wg) / len(wg))
    assert n_iter >= 1


def test_principal_direction_majority_and_empty_groups():
    w = np.array([[1, 0]] * 7 + [[-1, 0]] * 3 + [[0, 0]] * 4, float)
    lab = np.array([0] * 10 + [1] * 4)
    xi, m, _ = F.principal_directions(w, lab, n_groups=3)
    assert np.allclose(xi[0], [1, 0]) and m[0] == pytest.approx(0.7)
    assert np.array_equal(xi[1:], np.zeros((2, 2))) and np.array_equal(m[1:], [0, 0])
    # opposite vectors that cancel: start from the longest one
    xi, m, _ = F.principal_directions(np.array([[0, 2.0], [0, -2.0]]), np.array([0, 0]))
    assert abs(xi[0, 1]) == pytest.approx(1) and m[0] == pytest.approx(1.0)


def test_cuboid_labels_layout():
    lab, n_seg = F.cuboid_labels((6, 4, 4), blocks=(2, 2), segments=3)
    assert n_seg == 3 and lab.shape == (6, 4, 4)
    assert lab[0, 0, 0] == 0 and lab[0, 0, 3] == 1 and lab[0, 3, 0] == 2 and lab[5, 3, 3] == 11
    lab, n_seg = F.cuboid_labels((5, 4, 4), blocks=(1, 1), tau=2)
    assert n_seg == 3 and lab[:, 0, 0].tolist() == [0, 0, 1, 1, 2]
    with pytest.raises(ValueError, match="segments=7"):
        F.cuboid_labels((5, 4, 4), segments=7)


def test_segments_follow_time():
    seq = np.zeros((4, 2, 8, 8), np.float32)
    seq[2:, 0] = 1.0  # moves right in the second half only
    f = F.fdm(seq, blocks=(1, 1), segments=2, align="none").reshape(2, 2)
    assert np.allclose(f, [[0, 0], [1, 0]])
    polar = F.fdm(seq, blocks=(1, 1), segments=2, align="none", representation="polar").reshape(2, 2)
    assert np.allclose(polar[1], [1, 0])


def test_alignment_removes_head_motion():
    h = w = 32
    seq = np.zeros((3, 2, h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    seq[:, 0] = 0.5 + 0.01 * (xx - 16)   # head: shift plus slight zoom
    seq[:, 1] = 0.2 + 0.01 * (yy - 16)
    seq[:, 1, :8, :8] += -1.0            # local motion: top-left block moves up
    raw = F.fdm(seq, blocks=(4, 4), segments=1, align="none").reshape(16, 2)
    aligned = F.fdm(seq, blocks=(4, 4), segments=1, align="affine").reshape(16, 2)
    assert np.all(raw[1:, 0] > 0.3)                       # before: everything drifts right
    assert np.abs(aligned[1:]).max() < 0.02               # after: only the expression is left
    assert aligned[0, 1] == pytest.approx(-1.0, abs=0.05)  # ... which moves up


def texture_cube(n=6, du=0.3):
    f0 = ndi.gaussian_filter(np.random.default_rng(5).random((48, 48)), 2, mode="wrap")
    f0 = (f0 - f0.min()) / (f0.max() - f0.min())
    frames = np.stack([ndi.shift(f0, (0, du * t), mode="grid-wrap") for t in range(n)])
    return make_cube(np.rint(frames * 255).astype(np.uint8), fps=60, onset=0, offset=n - 1)


def test_cube_input_and_span():
    cube = texture_cube()
    raw = F.fdm(cube, blocks=(2, 2), segments=1, align="none", engine="farneback", cache=False).reshape(4, 2)
    assert np.allclose(raw[:, 0], 0.3, atol=0.06) and np.allclose(raw[:, 1], 0, atol=0.06)
    aligned = F.fdm(cube, blocks=(2, 2), segments=1, engine="farneback", cache=False)
    assert np.abs(aligned).max() < 0.05  # a uniform translation is all head motion
    seq = F.fdm_flow(cube, align="none", engine="farneback", cache=False)
    assert seq.shape == (5, 2, 48, 48)
    seq = F.fdm_flow(cube, reference="first", align="none", engine="farneback", cache=False)
    assert np.median(seq[-1, 0]) == pytest.approx(1.5, abs=0.1)


def test_transformer_contract():
    cubes = [texture_cube(du=0.3), texture_cube(du=-0.3)]
    t = F.FDM(blocks=(2, 2), segments=2, align="none", engine="farneback", cache=False)
    assert clone(t).get_params() == t.get_params()
    X = t.fit_transform(cubes)
    assert X.shape == (2, 16) and len(t.get_feature_names_out()) == 16
    assert X[0, 0] > 0.2 and X[1, 0] < -0.2
    t2 = F.FDM(blocks=(1, 1), tau=2, align="none", engine="farneback", cache=False).fit(cubes)
    assert t2.transform(cubes).shape == (2, 6) and len(t2.get_feature_names_out()) == 6


def test_bad_input():
    with pytest.raises(ValueError, match="representation"):
        F.fdm(np.zeros((2, 2, 4, 4)), representation="cartesian")
    with pytest.raises(ValueError, match="align"):
        F.fdm(np.zeros((2, 2, 4, 4)), align="similarity")
