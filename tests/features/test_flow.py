"""Optical flow engines, clip helpers, cache and strain, against known motions."""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage as ndi

from mer_lab.cache import CacheWarning, DiskCache
from mer_lab.cube import make_cube
from mer_lab.features import flow as fl

ALL_ENGINES = fl.ENGINES
# interior end-point error bounds (px) on a smooth random texture
SHIFT_EPE = {"tvl1": 0.08, "farneback": 0.05, "dis": 0.12, "tvl1_skimage": 0.08, "ilk": 0.05,
             "lucas_kanade": 0.06}
FIELD_EPE = {"tvl1": 0.12, "farneback": 0.10, "dis": 0.20, "tvl1_skimage": 0.12, "ilk": 0.10,
             "lucas_kanade": 0.12}


def texture(shape=(96, 96), sigma=2.0, seed=0):
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.random(shape), sigma, mode="wrap")
    img = (img - img.min()) / (img.max() - img.min())
    return img.astype(np.float32)


def warp(img, u, v):
    """frame1 such that img(y, x) = frame1(y + v, x + u) (backward sampling, periodic)."""
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # frame1(p) = img(p - d(p)); for smooth d this is the inverse to first order,
    # refined by two fixed-point steps
    uu = np.broadcast_to(u, img.shape).astype(np.float64)
    vv = np.broadcast_to(v, img.shape).astype(np.float64)
    du, dv = uu.copy(), vv.copy()
    for _ in range(3):
        du = ndi.map_coordinates(uu, [yy - dv, xx - du], order=1, mode="grid-wrap")
        dv = ndi.map_coordinates(vv, [yy - dv, xx - du], order=1, mode="grid-wrap")
    return ndi.map_coordinates(img, [yy - dv, xx - du], order=3, mode="grid-wrap").astype(np.float32)


def epe(flow, u, v, margin=12):
    s = (slice(margin, -margin), slice(margin, -margin))
    return float(np.mean(np.hypot(flow[0][s] - np.broadcast_to(u, flow[0].shape)[s],
                                  flow[1][s] - np.broadcast_to(v, flow[1].shape)[s])))


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_convention_shift_right_gives_positive_u(engine):
    f0 = texture()
    f1 = ndi.shift(f0, (0, 1.0), mode="grid-wrap", order=3)
    flow = fl.optical_flow(f0, f1, engine=engine)
    assert flow.shape == (2,) + f0.shape and flow.dtype == np.float32
    inner = flow[:, 16:-16, 16:-16]
    assert np.median(inner[0]) == pytest.approx(1.0, abs=0.1)
    assert np.median(inner[1]) == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_subpixel_shift_epe(engine):
    f0 = texture(seed=1)
    u, v = 0.6, -0.35
    f1 = warp(f0, u, v)
    assert epe(fl.optical_flow(f0, f1, engine=engine), u, v) < SHIFT_EPE[engine]


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_sinusoidal_field_epe(engine):
    f0 = texture(seed=2)
    h, w = f0.shape
    yy, xx = np.mgrid[0:h, 0:w]
    u = 0.8 * np.sin(2 * np.pi * yy / h)
    v = 0.6 * np.cos(2 * np.pi * xx / w)
    f1 = warp(f0, u, v)
    assert epe(fl.optical_flow(f0, f1, engine=engine), u, v) < FIELD_EPE[engine]


def test_uint8_and_float_inputs_agree():
    f0 = texture(seed=3)
    f1 = warp(f0, 0.5, 0.25)
    a8 = np.rint(f0 * 255).astype(np.uint8)
    b8 = np.rint(f1 * 255).astype(np.uint8)
    for engine in ("tvl1", "farneback"):
        from_u8 = fl.optical_flow(a8, b8, engine=engine)
        from_unit = fl.optical_flow(f0, f1, engine=engine)
        from_255 = fl.optical_flow(f0 * 255, f1 * 255, engine=engine)
        assert epe(from_u8, from_unit[0], from_unit[1]) < 0.05
        assert np.allclose(from_unit, from_255, atol=1e-3)


def test_lucas_kanade_at_points_matches_dense():
    f0 = texture(seed=4)
    f1 = warp(f0, -0.4, 0.3)
    dense = fl.lucas_kanade(f0, f1, window=11, iterations=3)
    pts = np.array([[20.0, 30.0], [50.0, 60.0], [70.0, 25.0]])
    at = fl.lucas_kanade(f0, f1, window=11, iterations=3, points=pts)
    assert at.shape == (2, 3)
    assert np.allclose(at, dense[:, [30, 60, 25], [20, 50, 70]])
    assert np.allclose(at[0], -0.4, atol=0.1) and np.allclose(at[1], 0.3, atol=0.1)


def test_lucas_kanade_flat_image_gives_zero_not_nan():
    flat = np.full((32, 32), 0.5, np.float32)
    flow = fl.lucas_kanade(flat, flat)
    assert np.isfinite(flow).all() and not flow.any()


def test_bad_frames_and_params():
    f0 = texture((40, 40))
    with pytest.raises(ValueError, match="same size"):
        fl.optical_flow(f0, texture((40, 41)))
    with pytest.raises(ValueError, match="engine"):
        fl.optical_flow(f0, f0, engine="horn")
    with pytest.raises(ValueError, match="unknown parameter.*winsize"):
        fl.optical_flow(f0, f0, engine="tvl1", winsize=3)
    with pytest.raises(ValueError, match="preset"):
        fl.optical_flow(f0, f0, engine="dis", preset="slow")
    with pytest.raises(ValueError, match="frame0"):
        fl.optical_flow(np.zeros((4, 4, 4)), np.zeros((4, 4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        fl.optical_flow(np.full((8, 8), np.nan), f0[:8, :8])


def test_engine_params_change_result():
    f0 = texture(seed=5)
    f1 = warp(f0, 0.7, 0.0)
    a = fl.optical_flow(f0, f1, engine="farneback", winsize=7)
    b = fl.optical_flow(f0, f1, engine="farneback", winsize=21)
    assert not np.allclose(a, b)
    fast = fl.optical_flow(f0, f1, engine="dis", preset="ultrafast")
    assert fast.shape == a.shape


# ------------------------------------------------------------------ strain
def test_strain_of_linear_deformation():
    h, w = 40, 50
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    a, b, c, d = 0.02, -0.03, 0.05, 0.01  # u = a x + b y, v = c x + d y
    flow = np.stack([a * xx + b * yy, c * xx + d * yy]).astype(np.float32)
    exx, eyy, exy = fl.strain_components(flow)
    assert np.allclose(exx, a, atol=1e-6) and np.allclose(eyy, d, atol=1e-6)
    assert np.allclose(exy, 0.5 * (b + c), atol=1e-6)
    expected = np.sqrt(a**2 + d**2 + 0.5 * (b + c) ** 2)
    assert np.allclose(fl.optical_strain(flow)[1:-1, 1:-1], expected, atol=1e-6)
    # the wrong formula (separate squares of the shear terms) differs here
    wrong = np.sqrt(a**2 + d**2 + 0.5 * (b**2 + c**2))
    assert abs(expected - wrong) > 1e-3


def test_strain_of_rotation_is_zero():
    yy, xx = np.mgrid[0:30, 0:30].astype(np.float32)
    theta = 0.01  # small rigid rotation: u = -theta y, v = theta x
    flow = np.stack([-theta * yy, theta * xx])
    assert np.allclose(fl.optical_strain(flow), 0, atol=1e-6)


def test_strain_dataarray_keeps_coords():
    flow = fl.flow_dataarray(np.zeros((2, 6, 7), np.float32), attrs={"sample": "s1"})
    s = fl.optical_strain(flow)
    assert isinstance(s, xr.DataArray) and s.dims == ("y", "x") and s.attrs["sample"] == "s1"


def test_magnitude_angle_directions():
    flow = np.zeros((2, 1, 4), np.float32)
    flow[:, 0, 0] = (1, 0)    # right
    flow[:, 0, 1] = (0, 1)    # down
    flow[:, 0, 2] = (-1, 0)   # left
    flow[:, 0, 3] = (0, -2)   # up
    assert np.allclose(fl.flow_magnitude(flow)[0], [1, 1, 1, 2])
    assert np.allclose(np.degrees(fl.flow_angle(flow)[0]), [0, 90, 180, -90])
    rgb = fl.flow_to_rgb(flow)
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (127, 0, 0) or rgb[0, 0, 0] > rgb[0, 0, 1]  # right is red


# ------------------------------------------------------------------ clips and cache
def shifting_cube(n=5, step=0.3, shape=(48, 48), **meta):
    f0 = texture(shape, seed=7)
    frames = np.stack([warp(f0, step * t, 0.0) for t in range(n)])
    frames = np.rint(frames * 255).astype(np.uint8)
    meta.setdefault("onset", 10)
    meta.setdefault("apex", 13)
    meta.setdefault("offset", 14)
    return make_cube(frames, fps=100, frame_numbers=range(10, 10 + n), **meta)


def test_flow_pair_defaults_onset_to_apex_with_metadata():
    cube = shifting_cube(dataset="synthetic", sample="s01", subject="p1", emotion="happy")
    flow = fl.flow_pair(cube, engine="farneback", cache=False)
    assert flow.dims == ("component", "y", "x")
    assert list(flow["component"].values) == ["u", "v"]
    assert flow.attrs["start"] == 10 and flow.attrs["end"] == 13
    assert flow.attrs["sample"] == "s01" and flow.attrs["engine"] == "farneback"
    assert float(flow.sel(component="u")[12:-12, 12:-12].median()) == pytest.approx(0.9, abs=0.08)


def test_flow_pair_frames_by_number_position_and_name():
    cube = shifting_cube()
    by_number = fl.flow_pair(cube, start=11, end=12, engine="farneback", cache=False)
    by_pos = fl.flow_pair(cube, start=1, end=-3, positions=True, engine="farneback", cache=False)
    assert np.array_equal(by_number.values, by_pos.values)
    named = fl.flow_pair(cube, start="first", end="offset", engine="farneback", cache=False)
    assert named.attrs["start"] == 10 and named.attrs["end"] == 14
    same = fl.flow_pair(cube, start=12, end=12, engine="farneback", cache=False)
    assert not same.values.any()


def test_flow_pair_apex_outside_clip():
    cube = shifting_cube(apex=40)
    with pytest.raises(ValueError, match="apex 40 is not in the clip"):
        fl.flow_pair(cube, engine="farneback", cache=False)
    with pytest.raises(ValueError, match="start position 9"):
        fl.flow_pair(shifting_cube(), start=9, end=0, positions=True, cache=False)
    with pytest.raises(ValueError, match="end"):
        fl.flow_pair(shifting_cube(), end=2.5, cache=False)
    with pytest.raises(TypeError, match="cache"):
        fl.flow_pair(shifting_cube(), cache="yes")


def test_flow_sequence_references():
    cube = shifting_cube(onset=11)
    first = fl.flow_sequence(cube, reference="first", engine="farneback", cache=False)
    assert first.dims == ("time", "component", "y", "x")
    assert list(first["frame"].values) == list(range(10, 15))
    med = [float(first.isel(time=t).sel(component="u")[12:-12, 12:-12].median()) for t in range(5)]
    assert np.allclose(med, [0, 0.3, 0.6, 0.9, 1.2], atol=0.08)
    prev = fl.flow_sequence(cube, reference="previous", engine="farneback", cache=False)
    med = [float(prev.isel(time=t).sel(component="u")[12:-12, 12:-12].median()) for t in range(5)]
    assert np.allclose(med, [0, 0.3, 0.3, 0.3, 0.3], atol=0.08)
    onset = fl.flow_sequence(cube, reference="onset", engine="farneback", cache=False, n_jobs=2)
    med = [float(onset.isel(time=t).sel(component="u")[12:-12, 12:-12].median()) for t in range(5)]
    assert np.allclose(med, [-0.3, 0, 0.3, 0.6, 0.9], atol=0.08)
    with pytest.raises(ValueError, match="reference"):
        fl.flow_sequence(cube, reference="last")


def test_cache_roundtrip_and_recovery(tmp_path):
    store = DiskCache(tmp_path)
    cube = shifting_cube(dataset="synthetic", sample="s02")
    a = fl.flow_pair(cube, engine="farneback", cache=store)
    entries = list(tmp_path.rglob("*.npz"))
    assert len(entries) == 1
    b = fl.flow_pair(cube, engine="farneback", cache=store)
    assert np.array_equal(a.values, b.values)
    # another parameter value is another entry
    fl.flow_pair(cube, engine="farneback", cache=store, winsize=9)
    assert len(list(tmp_path.rglob("*.npz"))) == 2
    # a truncated entry is recomputed with a warning, then rewritten
    data = entries[0].read_bytes()
    entries[0].write_bytes(data[: len(data) // 3])
    with pytest.warns(CacheWarning):
        c = fl.flow_pair(cube, engine="farneback", cache=store)
    assert np.array_equal(a.values, c.values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fl.flow_pair(cube, engine="farneback", cache=store)


def test_cache_entries_are_served_from_disk(tmp_path):
    store = DiskCache(tmp_path)
    cube = shifting_cube(dataset="synthetic", sample="s03")
    fl.flow_pair(cube, engine="farneback", cache=store)
    (entry,) = tmp_path.rglob("*.npz")
    marker = np.full((2, 48, 48), 7.0, np.float32)
    np.savez(entry, flow=marker)  # a planted value proves the entry is what gets read
    assert np.array_equal(fl.flow_pair(cube, engine="farneback", cache=store).values, marker)
    # a sequence shares the pair entry of (onset, apex)
    seq = fl.flow_sequence(cube, reference="onset", engine="farneback", cache=store)
    assert np.array_equal(seq.isel(time=3).values, marker)


def test_cache_not_used_without_identity_or_with_other_content(tmp_path):
    store = DiskCache(tmp_path)
    fl.flow_pair(shifting_cube(), engine="farneback", cache=store)
    assert not list(tmp_path.rglob("*.npz"))
    cube = shifting_cube(dataset="synthetic", sample="s04")
    fl.flow_pair(cube, engine="farneback", cache=store)
    cropped = make_cube(cube.values[:, 2:-2, 2:-2], fps=100, frame_numbers=range(10, 15),
                        dataset="synthetic", sample="s04", onset=10, apex=13)
    assert fl.flow_pair(cropped, engine="farneback", cache=store).shape == (2, 44, 44)
    assert len(list(tmp_path.rglob("*.npz"))) == 2


def test_as_flow_reads_precomputed_images():
    u = np.ones((5, 6), np.float32)
    da = xr.DataArray(np.stack([2 * u, u, 3 * u]), dims=("component", "y", "x"),
                      coords={"component": ["u", "v", "strain"]})
    flow, strain = fl.as_flow(da)
    assert flow.shape == (2, 5, 6) and np.all(flow[0] == 2) and np.all(strain == 3)
    flow, strain = fl.pair_flow_and_strain(da.sel(component=["v", "u"]))
    assert np.all(flow[0] == 2) and np.allclose(strain, 0)
    with pytest.raises(ValueError, match="shape"):
        fl.as_flow(np.zeros((4, 5, 6)))


# ------------------------------------------------------------------ flow-domain alignment
def test_global_motion_recovers_affine_despite_local_motion():
    h, w = 40, 50
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    A = np.array([[0.01, -0.02, 0.7], [0.015, 0.005, -0.3]])
    head = np.stack([A[0, 0] * xx + A[0, 1] * yy + A[0, 2], A[1, 0] * xx + A[1, 1] * yy + A[1, 2]])
    flow = head.copy()
    flow[1, 5:15, 5:15] += 2.0  # the expression: a local downward motion
    fitted = fl.global_motion(flow, model="affine", step=1)
    assert np.allclose(fitted, head, atol=1e-4)
    aligned = fl.remove_global_motion(flow, model="affine")
    assert np.allclose(aligned[1, 5:15, 5:15], 2.0, atol=1e-3)
    assert np.abs(aligned[:, 20:, 20:]).max() < 1e-3
    plain = fl.global_motion(flow, model="affine", iterations=1)  # no trimming: biased
    assert np.abs(plain - head).max() > 0.01
    t = fl.global_motion(flow, model="translation", trim=0.0, iterations=1, step=1)
    assert np.allclose(t, flow.mean(axis=(1, 2))[:, None, None], atol=1e-5)


def test_global_motion_on_points_and_sequences():
    flow = np.zeros((2, 20, 20), np.float32)
    flow[0] = 1.0
    flow[0, :, 10:] = 3.0
    pts = np.array([[2.0, 2.0], [5.0, 15.0], [7.0, 8.0]])  # windows (radius 2) stay left of x = 10
    assert np.allclose(fl.global_motion(flow, points=pts), [[[1.0]], [[0.0]]])
    assert not np.allclose(fl.global_motion(flow, points=pts + [1, 0]), [[[1.0]], [[0.0]]])  # x = 10 in a window
    assert np.allclose(fl.global_motion(flow, points=pts + [1, 0], radius=0), [[[1.0]], [[0.0]]])
    disp = np.array([[0.5, 0.5]] * 3)
    assert np.allclose(fl.global_motion(flow, points=pts, displacements=disp), [[[0.5]], [[0.5]]])
    seq = np.stack([flow, 2 * flow])
    out = fl.remove_global_motion(seq, model="translation", points=np.stack([pts, pts]))
    assert np.allclose(out[0, 0, :, :10], 0) and np.allclose(out[1, 0, :, :10], 0)
    with pytest.raises(ValueError, match="model"):
        fl.global_motion(flow, model="projective")
    with pytest.raises(ValueError, match="at least 3 points"):
        fl.global_motion(flow, points=pts[:2])


def test_fit_motion_recovers_a_known_affine_head_motion_under_a_local_expression():
    """The one affine fit of the library (global_motion and MDMO's alignment both use it)."""
    from mer_lab.features.mdmo import affine_from_flow, align_flow
    from mer_lab.features.rois import STABLE_POINTS, template_landmarks

    size = 120
    D = np.array([[0.012, -0.021, 0.8], [0.017, 0.006, -0.45]])  # rotation, scale, shear, shift
    head = fl.motion_field(D, (size, size))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    assert np.allclose(head[0], 0.012 * xx - 0.021 * yy + 0.8, atol=1e-5)
    lm = template_landmarks(size)
    mouth = lm[48:68].mean(axis=0)
    expression = np.zeros_like(head)
    r2 = (xx - mouth[0]) ** 2 + (yy - mouth[1]) ** 2
    expression[1] = np.where(r2 < 10.0 ** 2, 1.5 * np.exp(-r2 / (2 * 4.0 ** 2)), 0.0)  # compact, on the mouth
    flow = head + expression
    # dense, trimmed fit: the local motion is left out
    assert np.allclose(fl.fit_motion(flow, step=1), D, atol=1e-4)
    # on stable points, through the window sampler: exact, since the expression misses them
    pts = lm[list(STABLE_POINTS)]
    assert np.hypot(*(pts - mouth).T).min() > 10 + 3  # no window around a stable point sees it
    fitted = fl.fit_motion(flow, points=pts, iterations=1)
    assert np.allclose(fitted, D, atol=1e-4)
    # MDMO's point map is the same fit plus the identity
    A = affine_from_flow(flow, pts)
    assert np.allclose(A, D + np.hstack([np.eye(2), np.zeros((2, 1))]), atol=1e-4)
    aligned, _ = align_flow(flow, lm)
    assert np.abs(aligned - expression).max() < 2e-3
    # the old bilinear sampler of global_motion and MDMO's window one now agree exactly
    disp, at = fl.sample_flow(flow, pts, radius=2)
    assert np.allclose(disp, (D @ np.column_stack([at, np.ones(len(at))]).T).T, atol=1e-4)
    with pytest.raises(ValueError, match="at least 3 points inside"):
        fl.fit_motion(flow, points=[[-10.0, 5.0], [500.0, 5.0], [3.0, 3.0], [4.0, 3.0]])


# ------------------------------------------------------------------ purity and the cache switch
def _npz_files(root):
    from pathlib import Path

    return sorted(Path(root).rglob("*.npz"))


def test_flow_functions_write_nothing_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    cube = shifting_cube(dataset="toy", subject="p1", sample="s1")
    fl.flow_pair(cube, engine="farneback")
    fl.flow_sequence(cube, engine="farneback")
    fl.pair_flow_and_strain(cube, engine="farneback")
    fl.sequence_flow(cube, engine="farneback")
    from mer_lab.features.hoof import hoof

    hoof(cube, engine="farneback")
    assert _npz_files(tmp_path) == []
    # asked explicitly, or inside the switch, the same call does write
    fl.flow_pair(cube, engine="farneback", cache=True)
    assert len(_npz_files(tmp_path / "flow")) == 1


def test_flow_cache_switch_reads_and_writes_inside_the_block_only(tmp_path):
    from mer_lab.cache import active_cache, flow_cache

    store = DiskCache(tmp_path)
    cube = shifting_cube(dataset="toy", subject="p1", sample="s1")
    with flow_cache(store) as active:
        assert active is store and active_cache() is store
        fl.flow_sequence(cube, engine="farneback")
        n = len(_npz_files(tmp_path))
        assert n == cube.sizes["time"] - 1  # the reference frame's zero flow is not stored
        fl.flow_pair(cube, engine="farneback", cache=False)  # an explicit argument wins
        with flow_cache(False):
            assert active_cache() is None
        assert active_cache() is store
    assert active_cache() is None
    assert len(_npz_files(tmp_path)) == n
    # entries are read inside a block: a marked entry comes back
    path = _npz_files(tmp_path)[0]
    with np.load(path) as d:
        marker = np.full_like(d["flow"], 9.0)
    np.savez(path, flow=marker)
    with flow_cache(store):
        seq = fl.flow_sequence(cube, engine="farneback")
    assert any(np.array_equal(seq.values[t], marker) for t in range(seq.sizes["time"]))
    assert not any(np.array_equal(fl.flow_sequence(cube, engine="farneback").values[t], marker)
                   for t in range(seq.sizes["time"]))


# ------------------------------------------------------------------ apex helper
from mer_lab.features import apex as ax  # noqa: E402


def peaking_cube(shifts=(0, 0.2, 0.6, 1.1, 1.4, 0.9, 0.4, 0.1), drift=0.0, local=False, **meta):
    """A texture whose motion (whole frame, or a central patch) rises and falls."""
    f0 = texture((48, 48), seed=11)
    yy, xx = np.mgrid[0:48, 0:48]
    bump = np.exp(-((xx - 24.0) ** 2 + (yy - 24.0) ** 2) / (2 * 6.0**2)) if local else 1.0
    frames = np.stack([warp(f0, drift * t, s * bump) for t, s in enumerate(shifts)])
    meta.setdefault("onset", 100)
    meta.setdefault("offset", 100 + len(shifts) - 1)
    return make_cube(np.rint(frames * 255).astype(np.uint8), fps=200,
                     frame_numbers=range(100, 100 + len(shifts)), **meta)


def test_magnitude_curve_follows_the_motion():
    cube = peaking_cube()
    curve = ax.flow_magnitude_curve(cube, cache=False, statistic="median")
    assert curve.dims == ("time",) and curve.attrs["units"] == "px"
    assert list(curve["frame"].values) == list(range(100, 108))
    assert np.allclose(curve.values, [0, 0.2, 0.6, 1.1, 1.4, 0.9, 0.4, 0.1], atol=0.1)
    speed = ax.flow_magnitude_curve(cube, reference="previous", cache=False, statistic="median")
    assert np.allclose(speed.values[1:], np.abs(np.diff([0, 0.2, 0.6, 1.1, 1.4, 0.9, 0.4, 0.1])), atol=0.1)


def test_estimate_apex_and_with_estimated_apex():
    cube = peaking_cube(local=True, drift=0.1, sample="s9", dataset="smic_like")
    assert ax.estimate_apex(cube, cache=False) == 104
    assert ax.estimate_apex(cube, cache=False, smooth=3) == 104
    # from the onset only and without alignment, the head drift (0.1 px per frame) wins
    assert ax.estimate_apex(cube, reference="onset", align="none", cache=False) == 107
    # measured from both neutral ends, a steady drift cancels even without alignment
    assert ax.estimate_apex(cube, reference="both", align="none", cache=False) == 104
    # only onset..offset is searched
    whole = peaking_cube(onset=100, offset=102)
    assert ax.estimate_apex(whole, reference="onset", align="none", cache=False) == 102
    out = ax.with_estimated_apex(cube, cache=False)
    assert out.attrs["apex"] == 104 and out.attrs["apex_estimated"] is True
    assert out.attrs["apex_method"] == "flow magnitude peak" and out.attrs["sample"] == "s9"
    assert np.array_equal(out.values, cube.values)
    with pytest.raises(ValueError, match="smooth"):
        ax.estimate_apex(cube, smooth=2)
    with pytest.raises(ValueError, match="onset 90 is not in the clip"):
        ax.estimate_apex(peaking_cube(onset=90), cache=False)


def test_detrend_removes_the_line_through_the_ends():
    cube = peaking_cube(shifts=(0, 0.5, 1.0, 0.5, 0.0), drift=0.2)
    raw = ax.flow_magnitude_curve(cube, statistic="median", cache=False)
    flat = ax.flow_magnitude_curve(cube, statistic="median", detrend=True, cache=False)
    line = np.linspace(raw.values[0], raw.values[-1], raw.size)
    assert np.allclose(flat.values, raw.values - line)
    assert flat.values[0] == 0 and flat.values[-1] == pytest.approx(0)
    assert "detrended" in flat.attrs["long_name"]


# ------------------------------------------------------------------ synthetic corpus ground truth
# mean EPE (px) inside the face, and the EPE where the true motion is >= 0.3 px as a
# fraction of the error of "no motion" there (the engines smooth small local motions:
# measured 0.54-0.75, see docs/optical_flow.md)
GT_EPE = {"tvl1": 0.2, "farneback": 0.2, "dis": 0.2, "tvl1_skimage": 0.2, "ilk": 0.25, "lucas_kanade": 0.35}
GT_GAIN = 0.85


@pytest.fixture(scope="module")
def synthetic_pairs():
    import cv2

    from mer_lab.datasets.synthetic import make_corpus

    corpus = make_corpus(n_subjects=2, clips_per_subject=2, seed=3)
    out = []
    for uid in corpus.uids:
        cube = corpus.cube(uid)
        truth = corpus.ground_truth(uid)
        onset = int(np.nonzero(truth["frame"].values == cube.attrs["onset"])[0][0])
        lm = truth["landmarks"].isel(time=onset).values
        mask = np.zeros(cube.shape[1:], np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(np.rint(lm).astype(np.int32)), 1)
        out.append((cube, truth["flow_apex"].values, mask.astype(bool)))
    return out


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_apex_flow_matches_synthetic_ground_truth(engine, synthetic_pairs):
    face_err, moving_err, moving_zero = [], [], []
    for cube, truth, face in synthetic_pairs:
        flow = fl.flow_pair(cube, engine=engine, cache=False).values
        err = np.hypot(*(flow - truth))
        moving = np.hypot(*truth) >= 0.3
        face_err.append(err[face].mean())
        moving_err.append(err[moving].mean())
        moving_zero.append(np.hypot(*truth)[moving].mean())  # the error of predicting no motion
    assert np.mean(face_err) < GT_EPE[engine]
    assert np.mean(moving_err) < GT_GAIN * np.mean(moving_zero)


def _face_corpus(shifts, labels, centre=(30.0, 40.0), size=(64, 64)):
    """Textured 'faces' shifted per sample; the moving patch sits at a landmark."""
    import pandas as pd

    from mer_lab.datasets.corpus import Corpus

    rng = np.random.default_rng(0)
    template = rng.uniform(12, 52, size=(68, 2))
    template[48:68] = np.asarray(centre) + rng.normal(0, 2, size=(20, 2))  # "mouth" around centre
    big = texture((96, 96), seed=21)
    rows, cubes, truths = [], {}, {}
    for i, ((dx, dy), lab) in enumerate(zip(shifts, labels)):
        f0 = big[16 - dy:16 - dy + size[0], 16 - dx:16 - dx + size[1]]
        lm = template + [dx, dy]
        c = lm[48:68].mean(axis=0)
        yy, xx = np.mgrid[0:size[0], 0:size[1]]
        bump = np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / (2 * 3.0 ** 2))
        f1 = warp(f0, 0.0, 1.2 * bump)
        frames = np.rint(np.stack([f0, f1]) * 255).astype(np.uint8)
        name = f"c{i}"
        cubes[name] = make_cube(frames, fps=100, dataset="toy", subject=f"p{i}", sample=name,
                                emotion=lab, onset=0, apex=1, offset=1)
        truths[name] = xr.Dataset({"landmarks": (("time", "point", "coord"), np.stack([lm, lm]))},
                                  coords={"coord": ["x", "y"]})
        rows.append(dict(dataset="toy", subject=f"p{i}", sample=name, emotion=lab, onset=0, apex=1,
                         offset=1, n_frames=2, fps=100.0))
    return Corpus(pd.DataFrame(rows), loader=lambda r: cubes[r["sample"]], name="toy",
                  truth=lambda r: truths[r["sample"]]), template


def test_class_average_registers_faces_on_landmarks():
    shifts = [(-6, 4), (5, -5), (0, 6), (6, 6), (-5, -6), (3, 0)]
    labels = ["a", "a", "a", "b", "b", "b"]
    corpus, template = _face_corpus(shifts, labels)
    from mer_lab import compare as mc

    reg = mc.class_average_apex_flow(corpus, engine="farneback", cache=False)
    plain = mc.class_average_apex_flow(corpus, engine="farneback", register="none", cache=False)
    assert reg.attrs["registration"] == "landmarks" and plain.attrs["registration"] == "none"
    assert reg["magnitude"].dims == ("class", "y", "x") and list(reg["class"].values) == ["a", "b"]
    assert reg["count"].values.tolist() == [3, 3]
    mean_centre = (template[48:68] + np.mean(shifts, axis=0)).mean(axis=0)
    for cls in ("a", "b"):
        m = reg["magnitude"].sel({"class": cls}).values
        y, x = np.unravel_index(np.argmax(m), m.shape)
        assert np.hypot(x - mean_centre[0], y - mean_centre[1]) < 3
        assert m.max() > 1.3 * plain["magnitude"].sel({"class": cls}).values.max()
        v = reg["v"].sel({"class": cls}).values[y, x]
        u = reg["u"].sel({"class": cls}).values[y, x]
        assert v > 0.9 * m.max() and abs(u) < 0.2 * v  # the motion is downward, as generated
    with pytest.raises(ValueError, match="register"):
        mc.class_average_apex_flow(corpus, register="affine")
    aligned = mc.class_average_apex_flow(corpus, engine="farneback", align="translation", cache=False)
    assert aligned.attrs["align"] == "translation"
    assert np.allclose(aligned["magnitude"].values, reg["magnitude"].values, atol=0.05)  # no head motion here
