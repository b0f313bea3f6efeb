"""LBP-TOP and its variants against scikit-image, hand-computed cases and their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from skimage.data import astronaut
from skimage.feature import local_binary_pattern

from mer_lab.cube import make_cube
from mer_lab.features import lbp as L

pytestmark = pytest.mark.filterwarnings("ignore:Applying `local_binary_pattern` to floating-point")


def _ties_cube(shape=(7, 20, 24), levels=4, seed=0):
    """Integer cube with few grey levels: many exact ties between neighbours."""
    return np.random.default_rng(seed).integers(0, levels, shape).astype(np.uint8)


def _face_cube(n=5, size=40):
    """Frames cut from the astronaut photo, shifted a pixel per frame (real, smooth texture)."""
    grey = (astronaut().astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    return np.stack([grey[100 + t:100 + t + size, 200:200 + size] for t in range(n)])


def _margin(r):
    return int(np.ceil(r))


def _sk_plane(vol, plane, P, R, method):
    """scikit-image LBP of every slice of a plane, stacked back into (t, y, x)."""
    f = vol.astype(np.float64)
    if plane == "XY":
        return np.stack([local_binary_pattern(f[t], P, R, method) for t in range(f.shape[0])])
    if plane == "XT":
        return np.stack([local_binary_pattern(f[:, y, :], P, R, method) for y in range(f.shape[1])], axis=1)
    return np.stack([local_binary_pattern(f[:, :, x], P, R, method) for x in range(f.shape[2])], axis=2)


def _crop(a, m):
    return a[m:a.shape[0] - m, m:a.shape[1] - m, m:a.shape[2] - m]


# --------------------------------------------------------------------------- scikit-image
@pytest.mark.parametrize("P,R", [(8, 1), (8, 2), (4, 1), (12, 1.5), (16, 2)])
@pytest.mark.parametrize("source", ["ties", "face", "ties_float64", "face_uint16", "flat"])
def test_plane_codes_equal_skimage(P, R, source):
    # uint8/uint16 clips take the float32 path with exact float64 re-checks of near ties
    # (sparse ones one by one; "flat" has so many that whole chunks are redone); float64
    # clips take the float64 path directly
    vol = {"ties": lambda: _ties_cube(), "face": _face_cube,
           "ties_float64": lambda: _ties_cube().astype(np.float64),
           "face_uint16": lambda: _face_cube().astype(np.uint16) * 257,
           "flat": lambda: np.where(_ties_cube(levels=9) > 0, 100, 7).astype(np.uint8)}[source]()
    if _margin(R) * 2 >= vol.shape[0]:
        vol = np.concatenate([vol, vol[::-1]])  # enough frames for Rt
    m = _margin(R)
    raw = L.lbp_top_codes(vol, radii=(R, R, R), points=(P, P, P), mapping="none")
    riu2 = L.lbp_top_codes(vol, radii=(R, R, R), points=(P, P, P), mapping="riu2")
    u2 = L.lbp_top_codes(vol, radii=(R, R, R), points=(P, P, P), mapping="u2")
    for plane in ("XY", "XT", "YT"):
        ref = _crop(_sk_plane(vol, plane, P, R, "default"), m)
        np.testing.assert_array_equal(raw[plane], ref)
        ref_u = _crop(_sk_plane(vol, plane, P, R, "uniform"), m)
        np.testing.assert_array_equal(riu2[plane], ref_u)
        # u2 labels are skimage's 'nri_uniform' labels under a fixed one-to-one relabelling
        ref_n = _crop(_sk_plane(vol, plane, P, R, "nri_uniform"), m).astype(np.int64)
        pairs = set(zip(u2[plane].ravel().tolist(), ref_n.ravel().tolist()))
        mine = [a for a, _ in pairs]
        theirs = [b for _, b in pairs]
        assert len(set(mine)) == len(pairs) == len(set(theirs))


def test_u2_labels_follow_raw_code_order_and_nonuniform_last():
    table, n = L.K.mapping_table(8, "u2")
    assert n == 59
    uniform = [c for c in range(256) if bin(c ^ (((c >> 1) | ((c & 1) << 7)) & 0xFF)).count("1") <= 2]
    assert len(uniform) == 58
    np.testing.assert_array_equal(table[uniform], np.arange(58))
    assert set(table[[c for c in range(256) if c not in uniform]].tolist()) == {58}
    # 0b00000101 has four transitions: non-uniform
    assert table[5] == 58


@pytest.mark.parametrize("P", [2, 4, 8, 16])
def test_bin_counts(P):
    assert L.n_bins(P, "u2") == P * (P - 1) + 3
    assert L.n_bins(P, "riu2") == P + 2
    assert L.n_bins(P, "none") == 2 ** P
    assert L.n_bins(8, "u2") == 59


# --------------------------------------------------------------------------- histograms
def test_default_vector_size_and_per_block_normalisation():
    cube = make_cube(_face_cube(10, 64), fps=200)
    v = L.lbp_top(cube, blocks=(4, 4, 1))
    assert v.shape == (4 * 4 * 3 * 59,)
    h = v.reshape(16, 3, 59)
    np.testing.assert_allclose(h.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    assert len(L.lbp_top_names(blocks=(4, 4, 1))) == v.size


def test_counts_without_normalisation_fill_the_centre_region():
    vol = _ties_cube((6, 21, 17))
    counts = L.lbp_top(vol, blocks=(3, 2, 2), normalise=False, mapping="riu2").reshape(12, 3, 10)
    # every centre falls in exactly one block per plane
    assert np.all(counts.sum(axis=(0, 2)) == 4 * 19 * 15)
    # block i of k holds centres floor(i n / k) .. floor((i + 1) n / k) - 1: the 19 centre
    # rows split 6/6/7, the 15 columns 7/8 and the 4 frames 2/2
    per_block = counts[:, 0].sum(axis=1).reshape(3, 2, 2)
    np.testing.assert_array_equal(per_block[:, 0, 0], [6 * 7 * 2, 6 * 7 * 2, 7 * 7 * 2])
    np.testing.assert_array_equal(per_block[0, :, 1], [6 * 7 * 2, 6 * 8 * 2])


@pytest.mark.parametrize("mapping", ["u2", "riu2", "none"])
@pytest.mark.parametrize("neighbours", ["interpolated", "rounded"])
def test_constant_cube_puts_all_mass_in_one_bin(mapping, neighbours):
    v = L.lbp_top(np.full((5, 12, 12), 77, np.uint8), blocks=(2, 2, 1), mapping=mapping,
                  neighbours=neighbours)
    nb = L.n_bins(8, mapping)
    h = v.reshape(4, 3, nb)
    assert np.all((h > 0).sum(axis=2) == 1)
    assert np.all(h.max(axis=2) == 1.0)
    # all neighbours equal the centre: every bit set (raw code 255)
    expected = {"u2": 57, "riu2": 8, "none": 255}[mapping]
    assert np.all(h.argmax(axis=2) == expected)


def _split(v, blocks, nb=59):
    h = v.reshape(int(np.prod(blocks)), 3, nb)
    return h[:, 0], h[:, 1], h[:, 2]


def test_brightness_change_over_time_changes_only_the_time_planes():
    tex = np.random.default_rng(3).integers(0, 120, (1, 24, 24))
    static = np.repeat(tex, 8, axis=0).astype(np.float64)
    brighter = static + 10.0 * np.arange(8)[:, None, None]   # each frame = texture + c(t)
    for neighbours in ("interpolated", "rounded"):
        a = _split(L.lbp_top(static, blocks=(2, 2, 1), neighbours=neighbours), (2, 2, 1))
        b = _split(L.lbp_top(brighter, blocks=(2, 2, 1), neighbours=neighbours), (2, 2, 1))
        np.testing.assert_array_equal(a[0], b[0])                 # XY untouched
        assert np.abs(a[1] - b[1]).sum() > 0.1                      # XT changed
        assert np.abs(a[2] - b[2]).sum() > 0.1                      # YT changed


def test_variation_along_time_only_leaves_xy_alone_and_along_x_leaves_yt_alone():
    # rounded neighbours: on flat planes bilinear sums like (1 - w) v + w v may miss v by an
    # ulp and flip ties (as in scikit-image), which is not what this test is about
    t = np.arange(9.0)
    up = np.broadcast_to((t ** 1.5)[:, None, None], (9, 10, 10)).copy()     # frames constant, rising
    wave = np.broadcast_to(np.sin(t)[:, None, None], (9, 10, 10)).copy()    # frames constant, oscillating
    kw = dict(blocks=(1, 1, 1), neighbours="rounded")
    a, b = _split(L.lbp_top(up, **kw), (1, 1, 1)), _split(L.lbp_top(wave, **kw), (1, 1, 1))
    np.testing.assert_array_equal(a[0], b[0])
    assert np.abs(a[1] - b[1]).sum() > 0.5 and np.abs(a[2] - b[2]).sum() > 0.5
    x = np.arange(12.0)
    ramp = np.broadcast_to(x, (6, 12, 12)).copy()                           # varies along x only
    zig = np.broadcast_to((x % 3) * 5.0, (6, 12, 12)).copy()
    a, b = _split(L.lbp_top(ramp, **kw), (1, 1, 1)), _split(L.lbp_top(zig, **kw), (1, 1, 1))
    np.testing.assert_array_equal(a[2], b[2])                               # YT never sees x
    assert np.abs(a[0] - b[0]).sum() > 0.5 and np.abs(a[1] - b[1]).sum() > 0.5


# --------------------------------------------------------------------------- rounded variant
def _naive_rounded_codes(vol, radii, points):
    """Direct per-voxel loop: ring positions rounded half up (the MATLAB reference's model)."""
    rx, ry, rt = radii
    T, Y, X = vol.shape
    m = [int(np.ceil(r)) for r in (rt, ry, rx)]
    out = {p: np.zeros((T - 2 * m[0], Y - 2 * m[1], X - 2 * m[2]), np.int64) for p in ("XY", "XT", "YT")}
    rings = {"XY": (points[0], ry, rx), "XT": (points[1], rt, rx), "YT": (points[2], rt, ry)}
    for t in range(m[0], T - m[0]):
        for y in range(m[1], Y - m[1]):
            for x in range(m[2], X - m[2]):
                c = vol[t, y, x]
                for plane, (P, r_row, r_col) in rings.items():
                    code = 0
                    for p in range(P):
                        a = 2 * np.pi * p / P
                        dr = int(np.floor(round(-r_row * np.sin(a), 5) + 0.5))
                        dc = int(np.floor(round(r_col * np.cos(a), 5) + 0.5))
                        pos = {"XY": (t, y + dr, x + dc), "XT": (t + dr, y, x + dc), "YT": (t + dr, y + dc, x)}[plane]
                        code |= int(vol[pos] >= c) << p
                    out[plane][t - m[0], y - m[1], x - m[2]] = code
    return out


@pytest.mark.parametrize("radii,points", [((1, 1, 1), (8, 8, 8)), ((2, 1, 1), (8, 4, 6)), ((1.5, 2, 1), (12, 8, 4))])
def test_rounded_codes_match_a_per_voxel_loop(radii, points):
    vol = _ties_cube((5, 9, 10), levels=5, seed=7)
    ref = _naive_rounded_codes(vol, radii, points)
    got = L.lbp_top_codes(vol, radii=radii, points=points, neighbours="rounded")
    for plane in ref:
        np.testing.assert_array_equal(got[plane], ref[plane])


@pytest.mark.parametrize("radii", [(1, 1, 1), (2, 1, 1), (1, 2, 3)])
def test_rounded_equals_interpolated_on_integer_positions(radii):
    vol = _ties_cube((8, 14, 15), levels=6, seed=1)
    a = L.lbp_top(vol, radii=radii, points=(4, 4, 4), blocks=(2, 2, 2), neighbours="rounded", mapping="none")
    b = L.lbp_top(vol, radii=radii, points=(4, 4, 4), blocks=(2, 2, 2), neighbours="interpolated", mapping="none")
    np.testing.assert_array_equal(a, b)
    # with P = 8 the diagonal points are interpolated, so the two models differ
    a8 = L.lbp_top(vol, neighbours="rounded", blocks=(1, 1, 1))
    b8 = L.lbp_top(vol, neighbours="interpolated", blocks=(1, 1, 1))
    assert np.abs(a8 - b8).sum() > 0.01


# --------------------------------------------------------------------------- overlap
def test_tiny_overlap_matches_disjoint_blocks_and_half_overlap_counts_shared_rows_twice():
    vol = _face_cube(6, 30)
    v0 = L.lbp_top(vol, blocks=(3, 2, 1))
    v1 = L.lbp_top(vol, blocks=(3, 2, 1), overlap=1e-9)
    np.testing.assert_allclose(v0, v1, atol=1e-12)
    c0 = L.lbp_top(vol, blocks=(2, 1, 1), normalise=False)
    c5 = L.lbp_top(vol, blocks=(2, 1, 1), overlap=0.5, normalise=False)
    assert c5.sum() > c0.sum()
    # 28 centre rows, overlap 0.5 -> two blocks of 18.67 rows with stride 9.33: rows 0..17 and 9..27
    assert c5.reshape(2, 3, 59)[:, 0].sum(axis=1).tolist() == [4 * 18 * 28, 4 * 19 * 28]


# --------------------------------------------------------------------------- LBP-XYOT
def test_xyot_is_the_time_planes_of_lbp_top():
    vol = _face_cube(6, 30)
    top = L.lbp_top(vol, blocks=(2, 3, 1)).reshape(6, 3, 59)
    xyot = L.lbp_xyot(vol, blocks=(2, 3, 1)).reshape(6, 2, 59)
    np.testing.assert_array_equal(xyot, top[:, 1:])
    assert len(L.lbp_xyot_names(blocks=(2, 3, 1))) == xyot.size


# --------------------------------------------------------------------------- LBP-SIP
def test_sip_hand_computed_single_centre():
    vol = np.zeros((3, 3, 3), np.uint8)
    vol[1, 1, 1] = 5                       # centre
    vol[1, 1, 2] = 6                       # x+1  -> bit 0
    vol[1, 0, 1] = 4                       # y-1  -> 0
    vol[1, 1, 0] = 5                       # x-1  -> bit 2 (ties count)
    vol[1, 2, 1] = 9                       # y+1  -> bit 3
    vol[0, 1, 1] = 7                       # t-1  -> bit 0
    vol[2, 1, 1] = 1                       # t+1  -> 0
    v = L.lbp_sip(vol, blocks=(1, 1, 1))
    assert v.shape == (20,)
    assert np.flatnonzero(v[:16]).tolist() == [1 + 4 + 8] and v[13] == 1.0
    assert np.flatnonzero(v[16:]).tolist() == [1] and v[17] == 1.0


def test_sip_codes_are_the_unique_points_of_the_p4_rings():
    vol = _ties_cube((6, 11, 12), levels=5, seed=4)
    codes = L.lbp_top_codes(vol, points=(4, 4, 4), neighbours="rounded")
    spatial = codes["XY"].astype(np.int64)
    xt = codes["XT"].astype(np.int64)
    # XT ring with P = 4: p0 = x+1, p1 = t-1, p2 = x-1, p3 = t+1
    temporal = ((xt >> 1) & 1) | (((xt >> 3) & 1) << 1)
    # the YT ring's temporal points are the same two voxels
    yt = codes["YT"].astype(np.int64)
    np.testing.assert_array_equal(temporal, ((yt >> 1) & 1) | (((yt >> 3) & 1) << 1))
    expected = np.concatenate([np.bincount(spatial.ravel(), minlength=16), np.bincount(temporal.ravel(), minlength=4)])
    got = L.lbp_sip(vol, blocks=(1, 1, 1), normalise=False)
    np.testing.assert_array_equal(got, expected)
    assert len(L.lbp_sip_names(blocks=(2, 2, 1))) == 80


def test_sip_rejects_fractional_radii():
    with pytest.raises(ValueError, match=r"radii\[0\]"):
        L.lbp_sip(np.zeros((5, 9, 9)), radii=(1.5, 1, 1))


# --------------------------------------------------------------------------- LBP-MOP
def test_mop_hand_computed_mean_planes():
    # 3 frames of 3x3: every plane's mean image has a single centre
    vol = np.arange(27, dtype=np.float64).reshape(3, 3, 3) % 7
    v = L.lbp_mop(vol, blocks=(1, 1, 1), points=(4, 4, 4), mapping="none", neighbours="rounded")
    m_xy, m_xt, m_yt = vol.mean(axis=0), vol.mean(axis=1), vol.mean(axis=2)

    def code(img):  # P = 4, R = 1: right, up, left, down
        c = img[1, 1]
        return int(img[1, 2] >= c) + 2 * int(img[0, 1] >= c) + 4 * int(img[1, 0] >= c) + 8 * int(img[2, 1] >= c)

    expected = np.zeros(48)
    expected[code(m_xy)] = expected[16 + code(m_xt)] = expected[32 + code(m_yt)] = 1.0
    np.testing.assert_array_equal(v, expected)


def test_mop_matches_skimage_on_the_mean_images_per_block():
    vol = _face_cube(8, 32)
    blocks = (2, 2, 1)
    v = L.lbp_mop(vol, blocks=blocks, mapping="riu2").reshape(4, 3, 10)
    f = vol.astype(np.float64)
    for r in range(2):
        for c in range(2):
            ys, xs = slice(16 * r, 16 * r + 16), slice(16 * c, 16 * c + 16)
            # XY: mean over all frames; centres of that block
            xy = local_binary_pattern(f.mean(axis=0), 8, 1, "uniform")
            in_block = np.zeros((32, 32), bool)
            in_block[ys, xs] = True
            in_block[[0, -1], :] = in_block[:, [0, -1]] = False
            h_xy = np.bincount(xy[in_block].astype(int), minlength=10)
            # XT: mean over the block's rows; YT: mean over the block's columns
            xt = local_binary_pattern(f[:, ys, :].mean(axis=1), 8, 1, "uniform")[1:-1, 1:-1]
            h_xt = np.bincount(xt[:, xs.start - 1 if c else 0: xs.stop - 1].astype(int).ravel(), minlength=10)
            yt = local_binary_pattern(f[:, :, xs].mean(axis=2), 8, 1, "uniform")[1:-1, 1:-1]
            h_yt = np.bincount(yt[:, ys.start - 1 if r else 0: ys.stop - 1].astype(int).ravel(), minlength=10)
            b = r * 2 + c
            np.testing.assert_allclose(v[b, 0], h_xy / h_xy.sum())
            np.testing.assert_allclose(v[b, 1], h_xt / h_xt.sum())
            np.testing.assert_allclose(v[b, 2], h_yt / h_yt.sum())


# --------------------------------------------------------------------------- ELBP-TOP
def test_elbp_first_part_is_lbp_top_and_differences_match_definitions():
    vol = _ties_cube((7, 12, 13), levels=5, seed=9)
    kw = dict(blocks=(1, 1, 1), mapping="none", points=(4, 4, 4), neighbours="rounded", normalise=False)
    v = L.elbp_top(vol, radii=(2, 2, 2), second_radii=(1, 1, 1), **kw)
    parts = v.reshape(3, 3, 16)
    np.testing.assert_array_equal(parts[0].ravel(), L.lbp_top(vol, radii=(2, 2, 2), **kw))
    # direct definition on the XY plane: ring points right, up, left, down
    c = vol[2:-2, 2:-2, 2:-2]

    def ring(r):
        return [vol[2:-2, 2:-2, 2 + r:vol.shape[2] - 2 + r], vol[2:-2, 2 - r:vol.shape[1] - 2 - r, 2:-2],
                vol[2:-2, 2:-2, 2 - r:vol.shape[2] - 2 - r], vol[2:-2, 2 + r:vol.shape[1] - 2 + r, 2:-2]]

    outer, inner = ring(2), ring(1)
    assert outer[0].shape == c.shape
    rd = sum((outer[p] >= inner[p]).astype(int) << p for p in range(4))
    ad = sum((outer[p] >= outer[(p + 1) % 4]).astype(int) << p for p in range(4))
    np.testing.assert_array_equal(parts[1, 0], np.bincount(rd.ravel(), minlength=16))
    np.testing.assert_array_equal(parts[2, 0], np.bincount(ad.ravel(), minlength=16))
    assert len(L.elbp_top_names(points=(4, 4, 4), mapping="none", blocks=(1, 1, 1))) == v.size


def test_elbp_larger_second_ring_and_normalisation():
    vol = _face_cube(7, 24)
    v = L.elbp_top(vol, radii=(1, 1, 1), second_radii=(2, 2, 2), blocks=(2, 2, 1))
    assert v.shape == (3 * 4 * 3 * 59,)
    np.testing.assert_allclose(v.reshape(3, 4, 3, 59).sum(axis=3), 1.0)
    with pytest.raises(ValueError, match="second_radii"):
        L.elbp_top(vol, radii=(1, 1, 1), second_radii=(1, 1, 1))


# --------------------------------------------------------------------------- codes for figures
def test_codes_keep_cube_coordinates():
    cube = make_cube(_ties_cube((5, 8, 9)), fps=100, frame_numbers=range(20, 25), sample="s1")
    codes = L.lbp_top_codes(cube)
    assert set(codes) == {"XY", "XT", "YT"}
    assert isinstance(codes["XY"], xr.DataArray)
    assert codes["XY"].dims == ("time", "y", "x")
    assert codes["XY"]["frame"].values.tolist() == [21, 22, 23]
    assert codes["XY"]["x"].values.tolist() == list(range(1, 8))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,match", [
    (dict(radii=(1, 1, 3)), r"radii.*frames"),          # too few frames for Rt
    (dict(radii=(9, 1, 1)), r"radii.*columns"),         # radius too large for the frame
    (dict(blocks=(20, 1, 1)), r"blocks"),               # more blocks than centre rows
    (dict(mapping="uniform"), r"mapping"),
    (dict(neighbours="nearest"), r"neighbours"),
    (dict(points=(8, 40, 8)), r"points\[1\]"),
    (dict(radii=(1, 0, 1)), r"radii\[1\]"),
    (dict(overlap=1.0), r"overlap"),
    (dict(blocks=(2, 2)), r"blocks"),
])
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.lbp_top(np.zeros((5, 16, 16), np.uint8), **kwargs)


def test_bad_cubes_are_explained():
    colour = make_cube(np.zeros((4, 8, 8, 3), np.uint8), fps=30)
    with pytest.raises(ValueError, match="grey"):
        L.lbp_top(colour)
    with pytest.raises(ValueError, match="grey"):
        L.lbp_top(np.zeros((4, 8, 8, 3)))
    nan = np.zeros((4, 8, 8))
    nan[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        L.lbp_top(nan)
    with pytest.raises(ValueError, match="frames"):
        L.lbp_top(np.zeros((2, 8, 8)))
    with pytest.raises(TypeError, match="cube"):
        L.lbp_top([[1, 2], [3, 4]])
    for f in (L.lbp_sip, L.lbp_mop, L.lbp_xyot, L.elbp_top):
        with pytest.raises(ValueError, match="grey"):
            f(colour)
