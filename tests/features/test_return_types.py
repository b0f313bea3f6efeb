"""The return-type rule of mer_lab.features: a per-clip feature function returns a 1-D
float64 numpy array (not a DataArray), as long as its names list."""

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage as ndi

from mer_lab.cube import make_cube
from mer_lab.features import biwoof, colour, fdm, hog, hoof, lbp, mdmo
from mer_lab.features.rois import template_landmarks

S = 64
B3 = (2, 2, 1)


def _frames(dtype):
    rng = np.random.default_rng(0)
    tex = ndi.gaussian_filter(rng.random((S, S)), 1.5)
    frames = np.stack([ndi.shift(tex, (0.3 * t, 0.2 * t), mode="wrap") for t in range(8)])
    return ((frames - frames.min()) / np.ptp(frames) * 255).astype(dtype)


def _cube(dtype=np.uint8):
    return make_cube(_frames(dtype), fps=100, onset=0, apex=4, offset=7)


def _rgb():
    return make_cube(np.stack([_frames(np.uint8)] * 3, axis=-1), fps=100, onset=0, apex=4, offset=7)


def _flow():
    flow = np.zeros((2, S, S), np.float32)
    flow[0] = np.linspace(-1, 1, S)[None, :]
    flow[1] = 0.5
    return flow


FLOW = dict(engine="farneback", cache=False)
LM = template_landmarks(S)

# (name, feature call, names call)
CASES = [
    ("lbp_top", lambda c: lbp.lbp_top(c, blocks=B3), lambda: lbp.lbp_top_names(blocks=B3)),
    ("lbp_xyot", lambda c: lbp.lbp_xyot(c, blocks=B3), lambda: lbp.lbp_xyot_names(blocks=B3)),
    ("lbp_sip", lambda c: lbp.lbp_sip(c, blocks=B3), lambda: lbp.lbp_sip_names(blocks=B3)),
    ("lbp_mop", lambda c: lbp.lbp_mop(c, blocks=B3), lambda: lbp.lbp_mop_names(blocks=B3)),
    ("elbp_top", lambda c: lbp.elbp_top(c, blocks=B3), lambda: lbp.elbp_top_names(blocks=B3)),
    ("hog_top", lambda c: hog.hog_top(c, blocks=B3), lambda: hog.hog_top_names(blocks=B3)),
    ("higo_top", lambda c: hog.higo_top(c, blocks=B3), lambda: hog.higo_top_names(blocks=B3)),
    ("hoof", lambda c: hoof.hoof(c, blocks=(2, 2), **FLOW), lambda: hoof.hoof_names(blocks=(2, 2))),
    ("clip_hoof", lambda c: hoof.clip_hoof(c, blocks=(2, 2), **FLOW), lambda: hoof.hoof_names(blocks=(2, 2))),
    ("clip_hoof_mean", lambda c: hoof.clip_hoof(c, mode="mean", blocks=(2, 2), **FLOW),
     lambda: hoof.hoof_names(blocks=(2, 2))),
    ("biwoof", lambda c: biwoof.biwoof(c, blocks=(2, 2), **FLOW), lambda: biwoof.biwoof_names(blocks=(2, 2))),
    ("biwoof_phase", lambda c: biwoof.biwoof_phase(c, blocks=(2, 2), **FLOW),
     lambda: biwoof.biwoof_names(blocks=(2, 2)) + biwoof.riesz_phase_names(blocks=(2, 2))),
    ("fdm", lambda c: fdm.fdm(c, blocks=(2, 2), segments=2, **FLOW),
     lambda: fdm.fdm_names(blocks=(2, 2), n_segments=2)),
    ("mdmo", lambda c: mdmo.mdmo(c, landmarks=LM, **FLOW), lambda: mdmo.mdmo_names()),
]


def _check_rule(v, names):
    assert type(v) is np.ndarray, f"a {type(v).__name__}, not a numpy array"
    assert v.dtype == np.float64 and v.ndim == 1
    assert v.shape == (len(names),)
    assert np.isfinite(v).all()


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("name, feature, names", CASES, ids=[c[0] for c in CASES])
def test_per_clip_feature_functions_return_1d_float64_arrays(name, feature, names, dtype):
    _check_rule(feature(_cube(dtype)), names())


@pytest.mark.parametrize("name, feature", [
    ("lbp_top", lambda v: lbp.lbp_top(v, blocks=B3)),
    ("lbp_mop", lambda v: lbp.lbp_mop(v, blocks=B3)),
    ("hog_top", lambda v: hog.hog_top(v, blocks=B3)),
])
def test_plain_volumes_give_the_same_type(name, feature):
    """A plain (T, Y, X) array in, the same 1-D float64 array out as for the cube."""
    vol = _frames(np.uint8)
    v = feature(vol)
    assert type(v) is np.ndarray and v.dtype == np.float64 and v.ndim == 1
    np.testing.assert_array_equal(v, feature(_cube()))


def test_colour_feature_follows_the_rule():
    blocks = B3
    _check_rule(colour.lbp_top_tics(_rgb(), blocks=blocks), colour.lbp_top_tics_names(blocks=blocks))


@pytest.mark.parametrize("as_dataarray", [False, True])
@pytest.mark.parametrize("name, feature, names", [
    ("hoof", lambda f: hoof.hoof(f, blocks=(2, 2)), lambda: hoof.hoof_names(blocks=(2, 2))),
    ("clip_hoof", lambda f: hoof.clip_hoof(f, blocks=(2, 2)), lambda: hoof.hoof_names(blocks=(2, 2))),
    ("biwoof", lambda f: biwoof.biwoof(f, blocks=(2, 2)), lambda: biwoof.biwoof_names(blocks=(2, 2))),
    ("fdm", lambda f: fdm.fdm(f, blocks=(2, 2), segments=1), lambda: fdm.fdm_names(blocks=(2, 2), n_segments=1)),
])
def test_flow_inputs_give_the_same_type(name, feature, names, as_dataarray):
    """float32 flow fields (or their DataArrays) in, 1-D float64 arrays out."""
    flow = _flow()
    if as_dataarray:
        flow = xr.DataArray(flow, dims=("component", "y", "x"), coords={"component": ["u", "v"]})
    _check_rule(feature(flow), names())


@pytest.mark.parametrize("est, function, names", [
    (lbp.LBPTOP(blocks=(2, 1, 1), mapping="riu2", neighbours="rounded", overlap=0.2),
     lambda c: lbp.lbp_top(c, blocks=(2, 1, 1), mapping="riu2", neighbours="rounded", overlap=0.2),
     lambda: lbp.lbp_top_names(blocks=(2, 1, 1), mapping="riu2")),
    (lbp.LBPXYOT(blocks=(1, 2, 1), points=(8, 4, 4)), lambda c: lbp.lbp_xyot(c, blocks=(1, 2, 1), points=(8, 4, 4)),
     lambda: lbp.lbp_xyot_names(blocks=(1, 2, 1), points=(8, 4, 4))),
    (lbp.LBPSIP(blocks=(2, 2, 1), normalise=False), lambda c: lbp.lbp_sip(c, blocks=(2, 2, 1), normalise=False),
     lambda: lbp.lbp_sip_names(blocks=(2, 2, 1))),
    (lbp.LBPMOP(blocks=(2, 2, 1), mapping="none", points=(4, 4, 4)),
     lambda c: lbp.lbp_mop(c, blocks=(2, 2, 1), mapping="none", points=(4, 4, 4)),
     lambda: lbp.lbp_mop_names(blocks=(2, 2, 1), mapping="none", points=(4, 4, 4))),
    (lbp.ELBPTOP(blocks=(1, 1, 1), angular_step=2), lambda c: lbp.elbp_top(c, blocks=(1, 1, 1), angular_step=2),
     lambda: lbp.elbp_top_names(blocks=(1, 1, 1))),
    (hog.HOGTOP(blocks=(2, 2, 1), bins=6, signed=True), lambda c: hog.hog_top(c, blocks=(2, 2, 1), bins=6, signed=True),
     lambda: hog.hog_top_names(blocks=(2, 2, 1), bins=6)),
    (hog.HIGOTOP(blocks=(2, 2, 1), bins=4), lambda c: hog.higo_top(c, blocks=(2, 2, 1), bins=4),
     lambda: hog.higo_top_names(blocks=(2, 2, 1), bins=4)),
], ids=lambda v: type(v).__name__ if not callable(v) or isinstance(v, type) else "")
def test_transformers_give_their_function_s_rows_and_names(est, function, names):
    cubes = [_cube(), _cube(np.float32)]
    Z = est.fit(cubes).transform(cubes)
    for row, c in zip(Z, cubes):
        np.testing.assert_array_equal(row, function(c))
    assert est.get_feature_names_out().tolist() == names()


def test_per_frame_mdmo_is_a_labelled_frame_sequence():
    """mdmo_frames is not a clip vector but one MDMO row per frame (what Sparse MDMO's
    fitted stage codes): a (time, roi, quantity) DataArray, float64, whose flattened rows
    are the MDMOFrames transformer's output."""
    from mer_lab.features.steps import MDMOFrames

    cube = _cube(np.uint8)
    frames = mdmo.mdmo_frames(cube, landmarks=LM, **FLOW)
    assert isinstance(frames, xr.DataArray) and frames.dims == ("time", "roi", "quantity")
    assert frames.dtype == np.float64 and np.isfinite(frames.values).all()
    assert frames.sizes["roi"] == 36
    row = MDMOFrames(landmarks=LM, engine="farneback", n_frames=None).fit_transform([cube])
    np.testing.assert_array_equal(row[0], frames.values.ravel())
