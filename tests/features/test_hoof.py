"""HOOF: directions land in the documented bins; weighting, blocks, symmetry, transformer."""

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone

from mer_lab.cube import make_cube
from mer_lab.features import hoof as H


def uniform_flow(u, v, shape=(6, 8)):
    return np.stack([np.full(shape, u, np.float32), np.full(shape, v, np.float32)])


def as_da(flow):
    return xr.DataArray(flow, dims=("component", "y", "x"), coords={"component": ["u", "v"]})


@pytest.mark.parametrize("u,v,name", [(1, 0, "right"), (0, 1, "down"), (-1, 0, "left"), (0, -1, "up"),
                                      (1, 0.9, "right"), (-1, -0.9, "left"), (-0.9, 1, "down")])
def test_four_centred_bins_are_right_down_left_up(u, v, name):
    h = H.hoof(uniform_flow(u, v), bins=4, centred=True)
    names = H.hoof_bin_names(4, centred=True)
    assert names == ["right", "down", "left", "up"]
    assert h.tolist() == [1.0 if n == name else 0.0 for n in names]


def test_left_with_negative_zero_v_lands_in_same_bin():
    a = H.hoof(uniform_flow(-1.0, 0.0), bins=8)
    b = H.hoof(uniform_flow(-1.0, -0.0), bins=8)
    assert np.array_equal(a, b) and a[4] == 1.0  # [180, 225) with bins from 0 deg


@pytest.mark.parametrize("deg,expected", [(0, 0), (44.9, 0), (45, 1), (90, 2), (179.9, 3), (180, 4),
                                          (-180, 4), (-90, 6), (-0.1, 7), (-45, 7)])
def test_eight_bins_from_zero(deg, expected):
    r = np.radians(deg)
    h = H.hoof(uniform_flow(np.cos(r), np.sin(r)), bins=8)
    assert int(np.argmax(h)) == expected and h.max() == 1.0


def test_symmetric_mirrors_about_vertical_axis():
    for deg in (10, 60, -30, -80):
        r = np.radians(deg)
        right = H.hoof(uniform_flow(np.cos(r), np.sin(r)), bins=6, symmetric=True)
        left = H.hoof(uniform_flow(-np.cos(r), np.sin(r)), bins=6, symmetric=True)
        assert np.array_equal(right, left)
    up = H.hoof(uniform_flow(0, -1), bins=6, symmetric=True)
    down = H.hoof(uniform_flow(0, 1), bins=6, symmetric=True)
    assert up[0] == 1 and down[-1] == 1


def test_magnitude_weighting_and_counting():
    flow = np.zeros((2, 2, 4), np.float32)
    flow[0, 0] = 3.0     # 4 vectors right, magnitude 3
    flow[0, 1, :1] = -1  # 1 vector left, magnitude 1; 3 zero vectors
    w = H.hoof(flow, bins=4, centred=True, normalise=False)
    c = H.hoof(flow, bins=4, centred=True, weighted=False, normalise=False)
    assert w.tolist() == [12.0, 0.0, 1.0, 0.0]
    assert c.tolist() == [4.0, 0.0, 1.0, 0.0]  # zero vectors have no direction: not counted
    assert H.hoof(flow, bins=4, centred=True).tolist() == pytest.approx([12 / 13, 0, 1 / 13, 0])


def test_blocks_split_rows_then_columns():
    flow = np.zeros((2, 4, 6), np.float32)
    flow[0, :2, :3] = 1     # top-left right
    flow[1, :2, 3:] = 1     # top-right down
    flow[0, 2:, :3] = -1    # bottom-left left
    flow[1, 2:, 3:] = -1    # bottom-right up
    h = H.hoof(flow, bins=4, centred=True, blocks=(2, 2)).reshape(4, 4)
    assert h.argmax(axis=1).tolist() == [0, 1, 2, 3]
    names = H.hoof_names(bins=4, centred=True, blocks=(2, 2))
    assert len(names) == 16 and names[5] == "hoof_r0c1_down"


def test_zero_flow_gives_zeros_not_nan():
    h = H.hoof(np.zeros((2, 5, 5)), bins=8, blocks=(2, 2))
    assert h.shape == (32,) and np.isfinite(h).all() and not h.any()


def test_identical_frames_cube_gives_no_nan():
    rng = np.random.default_rng(0)
    frame = (rng.random((32, 32)) * 255).astype(np.uint8)
    cube = make_cube(np.stack([frame] * 4), fps=30, onset=0, apex=2, offset=3)
    h = H.hoof(cube, engine="farneback", cache=False)
    assert np.isfinite(h).all()


def test_block_labels_and_bad_blocks():
    lab = H.block_labels((5, 7), (2, 3))
    assert lab.shape == (5, 7) and set(np.unique(lab)) == set(range(6))
    with pytest.raises(ValueError, match="blocks"):
        H.hoof(np.zeros((2, 4, 4)), blocks=(0, 2))
    with pytest.raises(ValueError, match="finer"):
        H.hoof(np.zeros((2, 4, 4)), blocks=(8, 8))
    with pytest.raises(ValueError, match="shape"):
        H.hoof(np.zeros((3, 3)))


def test_clip_hoof_mean_over_sequence():
    seq = np.stack([uniform_flow(0, 0), uniform_flow(1, 0), uniform_flow(1, 0), uniform_flow(0, -1)])
    da = xr.DataArray(seq, dims=("time", "component", "y", "x"), coords={"component": ["u", "v"]})
    h = H.clip_hoof(da, mode="mean", bins=4, centred=True, blocks=(1, 1))
    assert h.tolist() == pytest.approx([2 / 3, 0, 0, 1 / 3])  # the still frame is left out
    with pytest.raises(ValueError, match="mode='apex'"):
        H.clip_hoof(da, mode="apex")
    with pytest.raises(ValueError, match="mode"):
        H.clip_hoof(da, mode="median")


def test_transformer_contract():
    X = [as_da(uniform_flow(1, 0)), as_da(uniform_flow(0, -2))]
    t = H.HOOF(bins=4, centred=True, blocks=(1, 1))
    assert clone(t).get_params() == t.get_params()
    assert t.fit(X) is t
    out = t.transform(X)
    assert out.shape == (2, 4) and out.dtype == np.float64
    assert out.tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
    assert list(t.get_feature_names_out()) == ["hoof_r0c0_right", "hoof_r0c0_down", "hoof_r0c0_left", "hoof_r0c0_up"]


def test_block_hoof_is_the_default_with_one_histogram_per_block():
    # motion to the right in the top-left block only, up everywhere else, on a 20x20 flow
    flow = uniform_flow(0.0, -1.0, shape=(20, 20))
    flow[:, :4, :4] = np.array([2.0, 0.0])[:, None, None]
    h = H.clip_hoof(as_da(flow), bins=4, centred=True)              # default grid: 5x5 blocks
    assert h.shape == (5 * 5 * 4,)
    blocks = h.reshape(5, 5, 4)
    assert blocks[0, 0].tolist() == [1, 0, 0, 0]                     # right
    assert (blocks.reshape(25, 4)[1:] == [0, 0, 0, 1]).all()         # up
    whole = H.clip_hoof(as_da(flow), bins=4, centred=True, blocks=(1, 1))
    assert whole.shape == (4,)
    assert whole.tolist() == pytest.approx([32 / (32 + 384), 0, 0, 384 / (32 + 384)])
    assert H.clip_hoof(as_da(flow), blocks=(2, 3)).shape == (2 * 3 * 8,)
    t = H.HOOF()
    assert t.get_params()["blocks"] == (5, 5)
    assert len(t.fit(X := [as_da(flow)]).get_feature_names_out()) == 200 == t.transform(X).shape[1]


def test_registry_hoof_defaults_to_5x5_blocks():
    from mer_lab.methods import make_pipeline

    pipe = make_pipeline("hoof")
    assert pipe.get_params()["features__blocks"] == (5, 5)
    flow = as_da(uniform_flow(1.0, 0.5, shape=(20, 20)))
    features = pipe.named_steps["features"]
    assert features.fit_transform([flow]).shape == (1, 200)
    assert len(features.get_feature_names_out()) == 200
    assert make_pipeline("hoof", blocks=(1, 1)).named_steps["features"].fit_transform([flow]).shape == (1, 8)
    with pytest.raises(ValueError, match="blocks"):
        make_pipeline("hoof", blocks=(0, 5)).named_steps["features"].fit_transform([flow])


def test_align_removes_head_translation():
    flow = uniform_flow(1.0, 0.0, shape=(20, 20))
    flow[1, 2:8, 2:8] = -1.5  # local upward motion on top of a head drift to the right
    names = H.hoof_bin_names(4, centred=True)
    raw = dict(zip(names, H.hoof(flow, bins=4, centred=True)))
    aligned = dict(zip(names, H.hoof(flow, bins=4, centred=True, align="affine")))
    assert max(raw, key=raw.get) == "right"
    assert max(aligned, key=aligned.get) == "up" and aligned["up"] > 0.9
    with pytest.raises(ValueError, match="align"):
        H.hoof(flow, align="rigid")
