"""Bi-WOOF and its Riesz-phase extension against hand-built flows."""

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage as ndi
from sklearn.base import clone

from mer_lab.cube import make_cube
from mer_lab.features import biwoof as B
from mer_lab.features.flow import optical_strain


def uniform_flow(u, v, shape=(8, 8)):
    return np.stack([np.full(shape, u, np.float32), np.full(shape, v, np.float32)])


def with_strain(flow, strain):
    data = np.concatenate([flow, strain[None]])
    return xr.DataArray(data, dims=("component", "y", "x"), coords={"component": ["u", "v", "strain"]})


@pytest.mark.parametrize("u,v,expected", [(1, 0, 4), (-1, 0, 7), (-1, -0.0, 7), (0, 1, 6), (0, -1, 2),
                                          (1, 1e-6, 4), (1, -1e-6, 3), (-1, 1e-6, 7), (-1, -1e-6, 0)])
def test_bins_from_minus_180_last_bin_wraps_to_plus_180(u, v, expected):
    ones = np.ones((8, 8), np.float32)
    f = B.biwoof(with_strain(uniform_flow(u, v), ones), blocks=(1, 1), bins=8)
    assert int(np.argmax(f)) == expected and f.max() == pytest.approx(1.0)


def test_bin_names_show_edges():
    names = B.biwoof_names(blocks=(1, 1), bins=8)
    assert names[0] == "biwoof_r0c0_[-180,-135)" and names[4] == "biwoof_r0c0_[0,45)"
    assert names[-1] == "biwoof_r0c0_[135,180]"


def test_local_and_global_weights():
    # two blocks side by side; left: 3 px right-moving at magnitude 2 and 1 px down at 1
    flow = np.zeros((2, 2, 4), np.float32)
    flow[0, 0, 0] = flow[0, 0, 1] = flow[0, 1, 0] = 2.0
    flow[1, 1, 1] = 1.0
    flow[1, :, 2:] = -1.0          # right block: all up
    strain = np.zeros((2, 4), np.float32)
    strain[:, :2] = 0.5            # left block strain sum 2
    strain[:, 2:] = 1.5            # right block strain sum 6
    f = B.biwoof(with_strain(flow, strain), blocks=(1, 2), bins=4, normalise=False).reshape(2, 4)
    # bins of 90 deg from -180: [-180,-90) [-90,0) [0,90) [90,180]
    assert f[0].tolist() == pytest.approx([0, 0, 2 * 6 / 7, 2 * 1 / 7])
    assert f[1].tolist() == pytest.approx([0, 6, 0, 0])
    g = B.biwoof(with_strain(flow, strain), blocks=(1, 2), bins=4)
    assert g.sum() == pytest.approx(1.0)
    assert np.allclose(g, f.ravel() / f.sum())


def test_strain_computed_when_absent():
    yy, xx = np.mgrid[0:12, 0:12].astype(np.float32)
    flow = np.stack([0.1 * xx, np.zeros_like(xx)])
    a = B.biwoof(flow, blocks=(2, 2), normalise=False)
    b = B.biwoof(with_strain(flow, optical_strain(flow)), blocks=(2, 2), normalise=False)
    assert np.allclose(a, b) and a.sum() > 0


def test_zero_flow_no_nan():
    f = B.biwoof(np.zeros((2, 20, 20), np.float32), blocks=(5, 5))
    assert f.shape == (200,) and np.isfinite(f).all() and not f.any()


def texture_cube(shift=1.0, n=3):
    f0 = ndi.gaussian_filter(np.random.default_rng(3).random((40, 40)), 2, mode="wrap")
    f0 = (f0 - f0.min()) / (f0.max() - f0.min())
    frames = np.stack([ndi.shift(f0, (0, shift * t / (n - 1)), mode="grid-wrap") for t in range(n)])
    return make_cube(np.rint(frames * 255).astype(np.uint8), fps=100, onset=0, apex=n - 1, offset=n - 1)


def test_monogenic_of_a_cosine():
    x = np.arange(64)
    img = np.tile(np.cos(2 * np.pi * x / 8.0), (32, 1))  # wavelength 8 along x
    amp, phase, orient = B.monogenic(img, wavelength=8.0)
    assert np.allclose(amp, amp.mean(), rtol=1e-6)
    # local phase follows the cosine: 0 at crests, pi at troughs
    assert np.allclose(phase[:, 0], 0, atol=1e-6) and np.allclose(phase[:, 4], np.pi, atol=1e-6)
    assert np.allclose(np.abs(np.cos(orient[:, 2])), 1, atol=1e-6)  # oriented along x


def test_riesz_phase_histograms():
    still = texture_cube(shift=0.0)
    moving = texture_cube(shift=2.0)
    p0 = B.riesz_phase_histograms(still, blocks=(2, 2), bins=4)
    p1 = B.riesz_phase_histograms(moving, blocks=(2, 2), bins=4)
    assert p0.shape == (16,) and p0.sum() == pytest.approx(1.0)
    assert p0.reshape(4, 4)[:, 0].tolist() == pytest.approx([0.25] * 4)  # no change: first bin only
    assert p1.reshape(4, 4)[:, 1:].sum() > 0.3  # motion shifts phase
    both = B.biwoof_phase(moving, blocks=(2, 2), bins=8, phase_bins=4, engine="farneback", cache=False)
    assert both.shape == (2 * 2 * 8 + 16,)


def test_transformer_contract_and_names():
    cubes = [texture_cube(1.0), texture_cube(-1.0)]
    t = B.BiWOOF(blocks=(2, 2), engine="farneback", cache=False)
    assert clone(t).get_params() == t.get_params()
    X = t.fit_transform(cubes)
    assert X.shape == (2, 32) and len(t.get_feature_names_out()) == 32
    tp = B.BiWOOF(blocks=(2, 2), phase=True, phase_bins=4, engine="farneback", cache=False).fit(cubes)
    assert tp.transform(cubes).shape == (2, 48) and len(tp.get_feature_names_out()) == 48


def test_bad_input():
    with pytest.raises(ValueError, match="bins"):
        B.biwoof(np.zeros((2, 8, 8)), bins=0)
    with pytest.raises(ValueError, match="wavelength"):
        B.monogenic(np.zeros((8, 8)), wavelength=1)
    with pytest.raises(ValueError, match="apex"):
        B.biwoof(make_cube(np.zeros((3, 8, 8), np.uint8), fps=10, apex=7), engine="farneback", cache=False)


@pytest.mark.slow
def test_loso_svm_beats_majority_baseline_on_synthetic_corpus():
    """Bi-WOOF and HOOF separate the default synthetic corpus's classes under LOSO."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.features.flow import flow_pair
    from mer_lab.features.hoof import hoof

    corpus = make_corpus()
    flows = [flow_pair(corpus.cube(u), engine="farneback", cache=False) for u in corpus.uids]
    y, groups = corpus.labels, corpus.groups
    majority = max(set(y), key=list(y).count)
    baseline = f1_score(y, [majority] * len(y), average="macro")
    for extract in (lambda f: B.biwoof(f, blocks=(5, 5), align="affine"),
                    lambda f: hoof(f, blocks=(4, 4), align="affine")):
        X = np.array([extract(f) for f in flows])
        pred = cross_val_predict(make_pipeline(StandardScaler(), SVC(C=10)), X, y, groups=groups,
                                 cv=LeaveOneGroupOut())
        score = f1_score(y, pred, average="macro")
        assert score > baseline + 0.25, (score, baseline)
