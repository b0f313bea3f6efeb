"""MDMO (Liu et al. 2016): main directions, alignment in the flow domain, pooling, clips."""

import cv2
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage as ndi
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mer_lab.cache import DiskCache
from mer_lab.cube import make_cube
from mer_lab.features import mdmo as mdmo_mod
from mer_lab.features.mdmo import (
    MDMO,
    MDMOFromFrames,
    affine_from_flow,
    align_flow,
    as_frames_array,
    direction_bins,
    main_directions,
    mdmo,
    mdmo_frames,
    mdmo_names,
    mdmo_pool,
)
from mer_lab.features.rois import (
    ROI_NAMES,
    STABLE_POINTS,
    clip_landmarks,
    corpus_landmarks,
    roi_masks,
    template_landmarks,
)

S = 120
LM = template_landmarks(S)
TWO_PI = 2 * np.pi
GRID_Y, GRID_X = np.mgrid[0:S, 0:S].astype(np.float64)


def roi(name):
    return ROI_NAMES.index(name)


def polar(angle_deg, length=1.0):
    a = np.deg2rad(angle_deg)
    return np.array([length * np.cos(a), length * np.sin(a)])


def bump(centre, sigma, vec):
    """A Gaussian patch of motion, cut to zero beyond 2.5 sigma (compact support)."""
    r2 = (GRID_X - centre[0]) ** 2 + (GRID_Y - centre[1]) ** 2
    g = np.exp(-r2 / (2 * sigma ** 2)) * (r2 < (2.5 * sigma) ** 2)
    return np.stack([g * vec[0], g * vec[1]])


# Angles in image axes (y down): 240 deg = up-left, 300 deg = up-right, 270 deg = straight up.
# They sit inside bins (202.5-247.5, 292.5-337.5, 247.5-292.5), away from the bin edges.
AU12_R, AU12_L, BROWS_UP = 240.0, 300.0, 262.0


def expression_field(amp=1.6, lip_sigma=6):
    """Lip corners outward-up (AU12) and brows up (AU1+2) on the template face.

    ``lip_sigma=5`` keeps the lip bumps (support 2.5 sigma) and the 5x5 sampling windows
    off the nose wings, 16 px away, so that no stable point moves."""
    f = bump(LM[48], lip_sigma, polar(AU12_R, amp)) + bump(LM[54], lip_sigma, polar(AU12_L, amp))
    for i in range(17, 27):
        f += 0.5 * bump(LM[i] + [0, -6], 5, polar(BROWS_UP, amp))
    return f


def head_field(angle_deg=2.0, scale=1.02, shift=(1.2, -0.8), centre=(60, 60)):
    """The flow of a head rotation + zoom + translation (an affine motion)."""
    a = np.deg2rad(angle_deg)
    m = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    x, y = GRID_X - centre[0], GRID_Y - centre[1]
    nx = m[0, 0] * x + m[0, 1] * y + centre[0] + shift[0]
    ny = m[1, 0] * x + m[1, 1] * y + centre[1] + shift[1]
    return np.stack([nx - GRID_X, ny - GRID_Y])


def angle_diff(a, b):
    d = np.abs(np.mod(a - b, TWO_PI))
    return np.minimum(d, TWO_PI - d)


# --------------------------------------------------------------------------- main directions
@pytest.mark.parametrize("deg", [10, 60, 100, 170, 200, 250, 290, 350])
def test_uniform_flow_gives_its_direction_and_length(deg):
    flow = np.broadcast_to(polar(deg, 0.7)[:, None, None], (2, 10, 10))
    out = main_directions(flow, np.ones((1, 10, 10), bool))
    assert out.shape == (1, 1, 2)
    assert out[0, 0, 0] == pytest.approx(0.7)
    assert out[0, 0, 1] == pytest.approx(np.deg2rad(deg))


def test_main_direction_is_the_bin_with_most_vectors_not_most_magnitude():
    flow = np.zeros((2, 10, 10))
    flow[:, :6] = polar(180, 0.2)[:, None, None]        # 60 small vectors to the left
    flow[:, 6:] = polar(0 + 20, 5.0)[:, None, None]     # 40 large vectors to the right
    rho, theta = main_directions(flow, np.ones((1, 10, 10), bool))[0, 0]
    assert rho == pytest.approx(0.2) and theta == pytest.approx(np.pi)


def test_rho_is_the_mean_magnitude_and_theta_the_circular_mean_of_the_main_bin():
    flow = np.zeros((2, 1, 4))
    flow[:, 0, 0] = polar(95, 1.0)
    flow[:, 0, 1] = polar(110, 3.0)          # same bin (67.5-112.5) as the first
    flow[:, 0, 2] = polar(100, 2.0)
    flow[:, 0, 3] = polar(300, 9.0)          # alone in its bin
    rho, theta = main_directions(flow, np.ones((1, 1, 4), bool))[0, 0]
    assert rho == pytest.approx(2.0)
    ang = np.deg2rad([95, 110, 100])
    assert theta == pytest.approx(np.arctan2(np.sin(ang).sum(), np.cos(ang).sum()))


def test_angles_are_averaged_across_the_zero_wrap():
    # one bin over the whole circle: vectors at +-10 deg must average to 0, not 180 deg
    flow = np.zeros((2, 1, 2))
    flow[:, 0, 0] = polar(10)
    flow[:, 0, 1] = polar(350)
    rho, theta = main_directions(flow, np.ones((1, 1, 2), bool), n_bins=1)[0, 0]
    assert rho == pytest.approx(1.0)
    assert angle_diff(theta, 0.0) < 1e-12
    # with 8 bins, 350 and 355 deg share the last bin: mean 352.5 deg, in [0, 2 pi)
    flow[:, 0, 0] = polar(355)
    flow[:, 0, 1] = polar(350)
    theta = main_directions(flow, np.ones((1, 1, 2), bool))[0, 0, 1]
    assert theta == pytest.approx(np.deg2rad(352.5))


def test_ties_empty_rois_and_zero_flow():
    flow = np.zeros((2, 1, 2))
    flow[:, 0, 0] = polar(100)
    flow[:, 0, 1] = polar(20)                 # one vector in bin 2, one in bin 0: bin 0 wins
    masks = np.array([[[True, True]], [[False, False]]])
    out = main_directions(flow, masks)
    assert out[0, 0, 1] == pytest.approx(np.deg2rad(20))
    assert out[0, 1].tolist() == [0.0, 0.0]   # empty ROI
    assert main_directions(np.zeros((2, 3, 3)), np.ones((1, 3, 3), bool))[0, 0].tolist() == [0.0, 0.0]


# the 8 canonical directions in image axes (y down): right, down-right, down, ..., up, up-right
CANONICAL = [(0, 0), (45, 1), (90, 2), (135, 3), (180, 4), (225, 5), (270, 6), (315, 7)]


@pytest.mark.parametrize("deg,expected_bin", CANONICAL)
def test_a_pure_motion_with_noise_lands_in_its_canonical_bin(deg, expected_bin):
    # a 1 px motion plus N(0, 0.1 px) noise per component: with bin edges on the canonical
    # directions half the vectors fell in each neighbouring bin and the main bin's mean
    # was about 4.5 deg off; with bins centred on them the bin holds (nearly) all vectors
    rng = np.random.default_rng(deg)
    flow = polar(deg, 1.0)[:, None, None] + rng.normal(0, 0.1, (2, 100, 100))
    ang = np.arctan2(flow[1], flow[0])
    bins = direction_bins(ang)
    assert np.bincount(bins.ravel(), minlength=8).argmax() == expected_bin
    assert np.mean(bins == expected_bin) > 0.99
    rho, theta = main_directions(flow, np.ones((1, 100, 100), bool))[0, 0]
    assert np.degrees(angle_diff(theta, np.deg2rad(deg))) < 0.5
    assert rho == pytest.approx(1.0, abs=0.02)


def test_direction_bins_are_centred_on_multiples_of_the_bin_width():
    deg = np.array([-22.4, 0, 22.4, 22.6, 67.4, 67.6, 337.4, 337.6, 359.9, 720])
    assert direction_bins(np.deg2rad(deg)).tolist() == [0, 0, 0, 1, 1, 2, 7, 0, 0, 0]
    assert direction_bins(np.deg2rad([0, 90, 180, 270]), n_bins=4).tolist() == [0, 1, 2, 3]
    assert direction_bins(np.deg2rad([44, 46, 179, 181]), n_bins=2).tolist() == [0, 0, 1, 1]


def test_main_directions_of_a_sequence_are_per_frame():
    flows = np.stack([np.broadcast_to(polar(d, 1 + i)[:, None, None], (2, 6, 6)) for i, d in enumerate((30, 200))])
    out = main_directions(flows, np.ones((36, 6, 6), bool))
    assert out.shape == (2, 36, 2)
    np.testing.assert_allclose(out[:, 0, 0], [1, 2])
    np.testing.assert_allclose(out[:, 0, 1], np.deg2rad([30, 200]))


def test_main_directions_checks_its_inputs():
    with pytest.raises(ValueError, match="masks"):
        main_directions(np.zeros((2, 4, 4)), np.ones((1, 5, 5), bool))
    with pytest.raises(ValueError, match="flows"):
        main_directions(np.zeros((3, 4, 4)), np.ones((1, 4, 4), bool))
    with pytest.raises(ValueError, match="n_bins"):
        main_directions(np.zeros((2, 4, 4)), np.ones((1, 4, 4), bool), n_bins=0)


# --------------------------------------------------------------------------- pooling
def test_frames_are_averaged_with_rho_weights_never_theta():
    frames = np.zeros((2, 36, 2))
    frames[:, 0] = [[1.0, 0.2], [3.0, 1.0]]
    frames[:, 1] = [[4.0, 0.5], [4.0, 0.5]]      # the largest ROI: normalises to 1
    v = mdmo_pool(frames, lam=None, angle="linear")
    expected = np.arctan2(np.sin(0.2) + 3 * np.sin(1.0), np.cos(0.2) + 3 * np.cos(1.0))
    assert v[1] == pytest.approx(expected)
    theta_weighted = (0.2 * 0.2 + 1.0 * 1.0) / 1.2          # the pitfall: weights from theta
    assert abs(v[1] - theta_weighted) > 0.05 and abs(v[1] - 0.6) > 0.05
    rho_bar = np.hypot(np.cos(0.2) + 3 * np.cos(1.0), np.sin(0.2) + 3 * np.sin(1.0)) / 2
    assert v[0] == pytest.approx(rho_bar / 4.0)
    assert v[2] == pytest.approx(1.0) and v[3] == pytest.approx(0.5)


def test_frame_average_handles_the_angle_wrap():
    frames = np.zeros((2, 36, 2))
    frames[:, 0] = [[1.0, 0.1], [1.0, TWO_PI - 0.1]]
    v = mdmo_pool(frames, lam=None, angle="linear")
    assert angle_diff(v[1], 0.0) < 1e-12
    assert 0 <= v[1] < TWO_PI


def test_lambda_weights_magnitudes_and_angles():
    rng = np.random.default_rng(1)
    frames = np.stack([rng.random((6, 36)), rng.random((6, 36)) * TWO_PI], axis=-1)
    raw = mdmo_pool(frames, lam=None, angle="linear")
    assert raw[0::2].max() == pytest.approx(1.0)
    for lam in (0.0, 0.3, 0.9, 1.0):
        v = mdmo_pool(frames, lam=lam, angle="linear")
        np.testing.assert_allclose(v[0::2], lam * raw[0::2])
        np.testing.assert_allclose(v[1::2], (1 - lam) * raw[1::2])
    # with lam weights the L1 distance is the convex combination of the two parts
    other = mdmo_pool(frames[::-1] * [1, 0.5], lam=None, angle="linear")
    lam = 0.9
    d = np.abs(mdmo_pool(frames, lam=lam, angle="linear")
               - mdmo_pool(frames[::-1] * [1, 0.5], lam=lam, angle="linear")).sum()
    parts = lam * np.abs(raw[0::2] - other[0::2]).sum() + (1 - lam) * np.abs(raw[1::2] - other[1::2]).sum()
    assert d == pytest.approx(parts)


def test_still_clips_give_zeros_not_nan():
    v = mdmo_pool(np.zeros((3, 36, 2)))
    assert np.isfinite(v).all() and not v.any()


def test_pool_checks_its_inputs():
    with pytest.raises(ValueError, match="lam"):
        mdmo_pool(np.zeros((2, 36, 2)), lam=1.5)
    with pytest.raises(ValueError, match="frames"):
        mdmo_pool(np.zeros((2, 36, 3)))


# --------------------------------------------------------------------------- alignment
def test_affine_head_motion_is_removed_exactly():
    flow = head_field()
    aligned, a = align_flow(flow, LM)
    assert np.abs(aligned).max() < 1e-4
    np.testing.assert_allclose(a[:, :2], 1.02 * np.array([[np.cos(np.deg2rad(2)), -np.sin(np.deg2rad(2))],
                                                         [np.sin(np.deg2rad(2)), np.cos(np.deg2rad(2))]]), atol=1e-6)


def test_alignment_keeps_expression_motion_away_from_the_stable_points():
    expr = expression_field(lip_sigma=5)
    # the expression leaves the stable points (and the windows sampled around them) still
    for i in STABLE_POINTS:
        x, y = np.round(LM[i]).astype(int)
        assert not expr[:, y - 2:y + 3, x - 2:x + 3].any(), i
    aligned, _ = align_flow(expr + head_field(), LM)
    assert np.abs(aligned - expr).max() < 1e-4


def test_align_takes_the_motion_models_of_the_other_flow_features():
    expr = expression_field(lip_sigma=5)
    shift = np.zeros_like(expr)
    shift[0], shift[1] = 1.25, -0.75                      # a pure head translation
    seq = np.stack([expr + shift])
    none = mdmo_frames(seq, landmarks=LM, align="none")
    translation = mdmo_frames(seq, landmarks=LM, align="translation")
    affine = mdmo_frames(seq, landmarks=LM, align="affine")
    expected = mdmo_frames(np.stack([expr]), landmarks=LM, align="none")
    np.testing.assert_allclose(translation.values, expected.values, atol=1e-6)
    np.testing.assert_allclose(affine.values, expected.values, atol=1e-6)
    assert not np.allclose(none.values, expected.values)
    assert translation.attrs["align"] == "translation"
    _, a = align_flow(head_field(), LM, model="translation")
    np.testing.assert_allclose(a[:, :2], np.eye(2))       # a translation fit leaves rotation alone
    for bad in (True, False, np.bool_(True)):
        with pytest.raises(ValueError, match=r"align must be one of 'none', 'translation', 'affine'.*align="):
            mdmo_frames(seq, landmarks=LM, align=bad)
    with pytest.raises(ValueError, match="align='none'"):
        mdmo(seq, landmarks=LM, align=False)
    with pytest.raises(ValueError, match="align"):
        MDMO(landmarks=LM, align=True).fit_transform([xr.DataArray(seq, dims=("time", "component", "y", "x"),
                                                                  coords={"component": ["u", "v"]})])
    with pytest.raises(ValueError, match="align"):
        mdmo_frames(seq, landmarks=LM, align="rigid")


def test_affine_fit_needs_three_points_inside_the_image():
    with pytest.raises(ValueError, match="points"):
        affine_from_flow(np.zeros((2, 10, 10)), np.array([[1, 1], [50, 50], [60, 60], [70, 70]]))
    with pytest.raises(ValueError, match="points"):
        align_flow(np.zeros((2, S, S)), LM, points=[1, 2])


def test_head_motion_does_not_change_the_feature_with_alignment_on():
    expr = expression_field()
    steps = np.linspace(0, 1, 5)[1:]
    # a whisper of noise, shared by both clips, gives still pixels a direction as real flow does
    noise = np.random.default_rng(0).normal(0, 0.01, (len(steps),) + expr.shape)
    clean = np.stack([s * expr for s in steps]) + noise
    moved = np.stack([s * (expr + head_field()) for s in steps]) + noise
    a = mdmo(clean, landmarks=LM, align="affine", lam=None, angle="linear")
    b = mdmo(moved, landmarks=LM, align="affine", lam=None, angle="linear")
    c = mdmo(moved, landmarks=LM, align="none", lam=None, angle="linear")
    moving = a[0::2] > 0.2                          # ROIs with clear motion
    assert moving.sum() >= 8
    assert np.abs(a[0::2] - b[0::2]).max() < 0.03
    assert angle_diff(a[1::2], b[1::2])[moving].max() < np.deg2rad(3)
    assert angle_diff(a[1::2], c[1::2])[moving].max() > np.deg2rad(20)   # it matters


# --------------------------------------------------------------------------- ground truth
def test_hand_made_expression_points_where_it_moves():
    expr = expression_field()
    v = mdmo(np.stack([0.5 * expr, expr]), landmarks=LM, align="none", lam=None, angle="linear")
    rho, theta = v[0::2], v[1::2]
    assert theta[roi("lip_corner_R")] == pytest.approx(np.deg2rad(AU12_R), abs=1e-6)
    assert theta[roi("lip_corner_L")] == pytest.approx(np.deg2rad(AU12_L), abs=1e-6)
    for name in ("inner_brow_R", "mid_brow_L", "outer_brow_R"):
        assert theta[roi(name)] == pytest.approx(np.deg2rad(BROWS_UP), abs=1e-6)
    assert rho[roi("lip_corner_R")] > 0.3 and rho[roi("mid_brow_R")] > 0.3
    assert rho[roi("glabella_R")] < rho[roi("mid_brow_R")]


def textured_clip(field, head=None, n=4, seed=0, **attrs):
    rng = np.random.default_rng(seed)
    tex = ndi.gaussian_filter(rng.random((S, S)), 1.5)
    tex = ((tex - tex.min()) / np.ptp(tex) * 255).astype(np.float32)
    frames = []
    for t in range(n):
        d = field * t / (n - 1)
        if head is not None:
            d = d + head * t / (n - 1)
        frames.append(cv2.remap(tex, (GRID_X - d[0]).astype(np.float32), (GRID_Y - d[1]).astype(np.float32),
                                cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return make_cube(np.stack(frames), fps=100, **attrs)


def test_real_flow_on_warped_texture_recovers_the_motion_and_ignores_head_motion():
    expr = expression_field(2.0)
    still = mdmo_frames(textured_clip(expr), landmarks=LM, engine="farneback", cache=False)
    moved = mdmo_frames(textured_clip(expr, head=head_field(angle_deg=1.5, shift=(1.5, -1.0))),
                        landmarks=LM, engine="farneback", cache=False)
    assert still.dims == ("time", "roi", "quantity") and still.sizes["time"] == 3
    last = still.isel(time=-1)
    for name, deg in (("lip_corner_R", AU12_R), ("lip_corner_L", AU12_L), ("mid_brow_R", BROWS_UP),
                      ("mid_brow_L", BROWS_UP)):
        assert angle_diff(float(last.sel(roi=name, quantity="theta")), np.deg2rad(deg)) < np.deg2rad(15), name
        assert float(last.sel(roi=name, quantity="rho")) > 0.3, name
    unaligned = mdmo_frames(textured_clip(expr, head=head_field(angle_deg=1.5, shift=(1.5, -1.0))),
                            landmarks=LM, engine="farneback", cache=False, align="none")
    a, b, c = (mdmo_pool(m, lam=None, angle="linear") for m in (still, moved, unaligned))
    strong = a[0::2] > 0.3
    assert strong.sum() >= 12
    # stated tolerance with real flow: median over moving ROIs within 6 deg and 0.1 in rho
    assert np.median(angle_diff(a[1::2], b[1::2])[strong]) < np.deg2rad(6)
    assert np.median(np.abs(a[0::2] - b[0::2])[strong]) < 0.1
    assert np.median(angle_diff(a[1::2], c[1::2])[strong]) > np.deg2rad(20)


# --------------------------------------------------------------------------- clips and landmarks
def test_mdmo_frames_of_a_cube_use_tim_and_the_cache(tmp_path, monkeypatch):
    cube = textured_clip(expression_field(), n=4, dataset="toy", sample="s1")
    store = DiskCache(tmp_path)
    first = mdmo_frames(cube, landmarks=LM, engine="farneback", cache=store)
    np.testing.assert_array_equal(first["frame"].values, cube["frame"].values[1:])

    import mer_lab.features.flow as flow_mod

    def refuse(*a, **k):
        raise AssertionError("flow recomputed although the MDMO matrix is cached")

    monkeypatch.setattr(flow_mod, "flow_sequence", refuse)
    again = mdmo_frames(cube, landmarks=LM, engine="farneback", cache=store)
    np.testing.assert_array_equal(first.values, again.values)
    monkeypatch.undo()
    # another parameter is another entry
    other = mdmo_frames(cube, landmarks=LM, engine="farneback", cache=store, align="none")
    assert not np.array_equal(other.values, first.values)
    tim = pytest.importorskip("mer_lab.preprocess.tim")
    assert tim is not None
    resampled = mdmo_frames(cube, landmarks=LM, engine="farneback", cache=False, n_frames=7)
    assert resampled.sizes["time"] == 6


def test_precomputed_flow_sequences_drop_the_zero_reference_step():
    expr = expression_field()
    seq = np.stack([0 * expr, 0.5 * expr, expr]).astype(np.float32)
    da = xr.DataArray(seq, dims=("time", "component", "y", "x"), coords={"component": ["u", "v"]},
                      attrs={"landmarks": LM.tolist()})
    out = mdmo_frames(da, align="none")
    assert out.sizes["time"] == 2
    np.testing.assert_allclose(out.values, mdmo_frames(seq[1:], landmarks=LM, align="none").values)
    with pytest.raises(ValueError, match="n_frames"):
        mdmo_frames(seq, landmarks=LM, n_frames=10)


def test_landmarks_come_from_arrays_attrs_callables_and_corpora():
    cube = make_cube(np.zeros((3, S, S), np.uint8), fps=30, dataset="syn", sample="a", frame_numbers=[5, 6, 7])
    np.testing.assert_array_equal(clip_landmarks(cube, LM), LM)
    np.testing.assert_array_equal(clip_landmarks(cube, np.stack([LM, LM + 1])), LM)
    with pytest.raises(ValueError, match="attrs"):
        clip_landmarks(cube, "attrs")
    cube.attrs["landmarks"] = LM.ravel().tolist()
    np.testing.assert_array_equal(clip_landmarks(cube, "auto"), LM)
    np.testing.assert_array_equal(clip_landmarks(cube, None), LM)
    np.testing.assert_array_equal(clip_landmarks(cube, lambda c: LM + 2), LM + 2)
    with pytest.raises(ValueError, match="landmarks"):
        clip_landmarks(cube, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="landmarks"):
        clip_landmarks(cube, "guess")

    class FakeCorpus:
        def ground_truth(self, uid):
            assert uid == "syn/a"
            lms = np.stack([LM + k for k in range(4)])
            return xr.Dataset({"landmarks": (("time", "point", "coord"), lms)},
                              coords={"frame": ("time", [4, 5, 6, 7]), "coord": ["x", "y"]})

    np.testing.assert_array_equal(corpus_landmarks(FakeCorpus())(cube), LM + 1)   # frame 5


def test_names_and_transformers():
    names = mdmo_names(angle="linear")
    assert len(names) == 72 and names[:2] == ["inner_brow_R_rho", "inner_brow_R_theta"]
    expr = expression_field()
    X = []
    for k in range(6):
        seq = np.stack([0 * expr, (0.5 + 0.1 * k) * (expr if k % 2 else -expr)]).astype(np.float32)
        X.append(xr.DataArray(seq, dims=("time", "component", "y", "x"), coords={"component": ["u", "v"]},
                              attrs={"landmarks": LM.tolist()}))
    est = MDMO(landmarks="attrs", align="none", angle="linear")
    assert clone(est).get_params() == est.get_params()
    F = est.fit_transform(X)
    assert F.shape == (6, 72) and list(est.get_feature_names_out()) == names
    np.testing.assert_allclose(F[1], mdmo(X[1], landmarks=LM, align="none", angle="linear"))
    y = np.array([k % 2 for k in range(6)])
    pred = cross_val_predict(make_pipeline(MDMO(landmarks="attrs", align="none"), StandardScaler(),
                                           KNeighborsClassifier(1)),
                             _objects(X), y, groups=np.arange(6) // 2, cv=LeaveOneGroupOut())
    assert (pred == y).all()


def _objects(items):
    out = np.empty(len(items), dtype=object)
    for i, it in enumerate(items):
        out[i] = it
    return out


def test_mdmo_from_frames_accepts_cached_matrices_in_several_forms():
    rng = np.random.default_rng(3)
    X4 = np.stack([rng.random((5, 36, 2)) * [2, TWO_PI] for _ in range(4)])
    expected = np.vstack([mdmo_pool(a) for a in X4])
    est = MDMOFromFrames()
    np.testing.assert_allclose(est.fit_transform(X4), expected)
    np.testing.assert_allclose(est.transform(X4.reshape(4, -1)), expected)
    np.testing.assert_allclose(est.transform([a for a in X4]), expected)
    assert list(est.get_feature_names_out()) == mdmo_names()
    ragged = as_frames_array([X4[0], X4[1][:2]])
    assert [a.shape[0] for a in ragged] == [5, 2]
    with pytest.raises(ValueError, match="X"):
        as_frames_array(np.zeros((3, 71)))
    with pytest.raises(ValueError, match=r"X\[0\]"):
        as_frames_array([np.zeros((3, 35, 2))])


def test_stable_points_are_13_landmarks_off_the_rois_motion():
    assert len(set(STABLE_POINTS)) == 13
    assert mdmo_mod.MDMO_CODE_VERSION


def test_ground_truth_motion_of_the_synthetic_corpus_lands_in_the_right_rois():
    synthetic = pytest.importorskip("mer_lab.datasets.synthetic")
    rng = np.random.default_rng(0)
    found = {}
    for emotion in ("happiness", "surprise"):
        # the prototypes (bilateral AU12; AU1+2), not one subject's own way (idiosyncrasy=0)
        corpus = synthetic.make_corpus(n_subjects=1, clips_per_subject=1, classes=[emotion], seed=5,
                                       idiosyncrasy=0)
        for uid in corpus.uids:
            truth = corpus.ground_truth(uid)
            onset = truth.attrs["onset"]
            lm = truth["landmarks"].sel(time=truth["frame"] == onset).values[0]
            flow = truth["flow_apex_expression"].values
            # the exact field is exactly zero outside the AUs; a whisper of noise gives those
            # pixels a direction as any real flow does, so that zeros do not win the vote
            flow = flow + rng.normal(0, 0.01, flow.shape)
            found[uid, emotion] = main_directions(flow, roi_masks(lm, flow.shape[1:]))[0]
    for (uid, emotion), out in found.items():
        rho = dict(zip(ROI_NAMES, out[:, 0]))
        deg = dict(zip(ROI_NAMES, np.degrees(out[:, 1])))
        if emotion == "happiness":            # AU12: lip corners outward and up
            assert 180 < deg["lip_corner_R"] < 270 and 270 < deg["lip_corner_L"] < 360, uid
            assert rho["lip_corner_R"] > 0.2 and rho["lip_corner_L"] > 0.2
            assert max(rho[f"{b}_{s}"] for b in ("inner_brow", "mid_brow", "outer_brow") for s in "RL") < 0.05
        else:                                   # AU1+2: brows straight up
            for name in ("inner_brow", "mid_brow", "outer_brow"):
                for side in "RL":
                    assert abs(deg[f"{name}_{side}"] - 270) < 15, (uid, name, side)
                    assert rho[f"{name}_{side}"] > 0.1
            assert rho["lip_corner_R"] < 0.05 and rho["lip_corner_L"] < 0.05


def test_circular_angle_encoding_is_the_default_and_keeps_near_directions_close():
    # ROI 0 moves at 1 deg in one clip and 359 deg in the other: nearly the same direction
    a, b = np.zeros((2, 36, 2)), np.zeros((2, 36, 2))
    a[:, 0], b[:, 0] = [1.0, np.deg2rad(1)], [1.0, np.deg2rad(359)]
    a[:, 1] = b[:, 1] = [0.5, np.deg2rad(180)]
    lin = [mdmo_pool(f, lam=None, angle="linear") for f in (a, b)]
    circ = [mdmo_pool(f, lam=None) for f in (a, b)]                       # default
    assert lin[0].shape == (72,) and circ[0].shape == (108,)
    assert abs(lin[0][1] - lin[1][1]) > 6.0                                # 358 deg apart as coordinates
    assert np.abs(circ[0] - circ[1]).max() < 0.04                          # 2 deg apart on the circle
    np.testing.assert_allclose(circ[0][:6], [1.0, np.cos(np.deg2rad(1)), np.sin(np.deg2rad(1)), 0.5, -1.0, 0.0],
                               atol=1e-12)
    assert not circ[0][6:].any()                                           # still ROIs: no direction
    names = mdmo_names()
    assert len(names) == 108 and names[:3] == ["inner_brow_R_rho", "inner_brow_R_cos", "inner_brow_R_sin"]
    est = MDMOFromFrames()
    assert est.get_params()["angle"] == "circular" and est.fit_transform(np.stack([a, b])).shape == (2, 108)
    with pytest.raises(ValueError, match="angle"):
        mdmo_pool(a, angle="degrees")
