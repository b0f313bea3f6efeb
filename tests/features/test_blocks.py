"""The one block partition (mer_lab.features.blocks) and its users."""

import numpy as np
import pytest

from mer_lab.features import blocks as B


@pytest.mark.parametrize("n, k, edges", [
    (10, 3, [0, 3, 6, 10]),           # sizes 3, 3, 4: the last block takes the extra pixel
    (11, 3, [0, 3, 7, 11]),           # sizes 3, 4, 4
    (62, 6, [0, 10, 20, 31, 41, 51, 62]),
    (12, 4, [0, 3, 6, 9, 12]),        # divisible: equal blocks
    (5, 5, [0, 1, 2, 3, 4, 5]),
    (7, 1, [0, 7]),
])
def test_block_edges_follow_the_documented_rule(n, k, edges):
    assert B.block_edges(n, k).tolist() == edges
    # block i holds floor(i n / k) .. floor((i + 1) n / k) - 1
    assert [i * n // k for i in range(k + 1)] == edges


@pytest.mark.parametrize("n, k, edges", [
    (10, 3, [0, 3, 6, 9]),      # one pixel left over: dropped after the last block
    (11, 3, [1, 4, 7, 10]),     # two left over: one before, one after
    (14, 3, [1, 5, 9, 13]),     # blocks of 4, one pixel dropped at each end
    (12, 4, [0, 3, 6, 9, 12]),
])
def test_equal_blocks_drop_the_leftover_at_both_ends(n, k, edges):
    got = B.block_edges(n, k, equal=True)
    assert got.tolist() == edges
    assert set(np.diff(got).tolist()) == {n // k}


@pytest.mark.parametrize("n", range(1, 40))
@pytest.mark.parametrize("k", [1, 2, 3, 5, 6, 8])
def test_every_index_in_exactly_one_block_and_blocks_cover(n, k):
    if k > n:
        with pytest.raises(ValueError, match="finer"):
            B.block_of_index(n, k)
        return
    index = B.block_of_index(n, k)
    assert index.shape == (n,)
    assert index.tolist() == sorted(index.tolist())                 # contiguous blocks
    sizes = np.bincount(index, minlength=k)
    assert sizes.sum() == n and set(sizes.tolist()) <= {n // k, -(-n // k)}
    ranges = B.block_ranges(n, k)
    covered = np.zeros(n, int)
    for a, b in ranges:
        covered[a:b] += 1
    assert (covered == 1).all()


def test_overlapping_ranges_cover_and_share():
    ranges = B.block_ranges(10, 2, 0.5)
    assert ranges == [(0, 6), (3, 10)]
    r3 = B.block_ranges(20, 3, 0.25)
    assert r3[0][0] == 0 and r3[-1][1] == 20
    assert all(b0 > a1 for (_, b0), (a1, _) in zip(r3[:-1], r3[1:]))     # neighbours overlap
    with pytest.raises(ValueError, match="overlap"):
        B.block_ranges(10, 2, 1.0)


def test_block_labels_c_order_and_validation():
    lab = B.block_labels((5, 7), (2, 3))
    assert lab.shape == (5, 7)
    assert lab[0].tolist() == [0, 0, 1, 1, 2, 2, 2]                # columns 0,2,4,7
    assert lab[:, 0].tolist() == [0, 0, 3, 3, 3]                   # rows 0,2,5
    assert np.array_equal(B.block_labels((6, 6), 3), B.block_labels((6, 6), (3, 3)))
    assert not lab.flags.writeable
    with pytest.raises(ValueError, match="finer"):
        B.block_labels((4, 4), (8, 8))
    with pytest.raises(ValueError, match="blocks"):
        B.block_labels((4, 4), (1, 2, 3))
    with pytest.raises(ValueError, match="blocks"):
        B.block_labels((4, 4), (0, 2))


def test_hoof_blocks_follow_the_rule():
    """HOOF's per-block histogram counts exactly the pixels of the rule's blocks."""
    from mer_lab.features.hoof import orientation_histograms

    flow = np.zeros((2, 10, 7))
    flow[0] = 1.0                                   # every vector points right
    h = orientation_histograms(flow, bins=4, blocks=(3, 2), weighted=False, normalise=False)
    rows = np.diff([0, 3, 6, 10])
    cols = np.diff([0, 3, 7])
    assert h[:, 0].tolist() == [float(r * c) for r in rows for c in cols]


def test_lbp_top_blocks_follow_the_rule():
    """LBP-TOP's block histograms hold as many centres as the rule's blocks."""
    from mer_lab.features.lbp import lbp_top

    vol = np.random.default_rng(0).integers(0, 255, (5, 12, 13)).astype(np.uint8)  # centres 3 x 10 x 11
    h = lbp_top(vol, blocks=(3, 2, 1), normalise=False).reshape(6, 3, -1)
    counts = h[:, 0].sum(axis=1)
    expected = [3 * r * c for r in np.diff([0, 3, 6, 10]) for c in np.diff([0, 5, 11])]
    assert counts.tolist() == expected


def test_feature_difference_blocks_follow_the_rule():
    from mer_lab.cube import make_cube
    from mer_lab.spotting.feature_difference import lbp_block_histograms

    frames = np.random.default_rng(1).integers(0, 255, (2, 12, 9)).astype(np.uint8)   # centres 10 x 7
    hist = lbp_block_histograms(make_cube(frames, fps=30), blocks=(3, 2))
    # with a 10-row region, rows 6..9 form the last block: its histogram is the one of those centres
    from skimage.feature import local_binary_pattern
    codes = local_binary_pattern(frames[0], 8, 1, "nri_uniform")[1:-1, 1:-1].astype(int)
    last = np.bincount(codes[6:10, 3:7].ravel(), minlength=59) / 16
    assert np.allclose(hist[0, 5], last)


def test_fft_apex_uses_the_central_equal_blocks():
    """A change outside the central equal blocks leaves the energy untouched."""
    from mer_lab.cube import make_cube
    from mer_lab.spotting.fft_apex import fft_energy

    rng = np.random.default_rng(2)
    frames = rng.random((20, 14, 14)) * 50 + 100               # 14 px in 3 blocks: rows/cols 1..12 used
    frames2 = frames.copy()
    frames2[:, 0, :] += rng.random((20, 14)) * 80               # row 0 and row 13 are dropped
    frames2[:, 13, :] += rng.random((20, 14)) * 80
    b = fft_energy(make_cube(frames2, fps=30), blocks=(3, 3), window=6, normalise=False).values
    a2 = fft_energy(make_cube(frames, fps=30), blocks=(3, 3), window=6, normalise=False).values
    assert np.allclose(a2, b)


def test_check_grid_accepts_pairs_and_optionally_one_int():
    assert B.check_grid((2, 3), 2) == (2, 3)
    assert B.check_grid(4, 2) == (4, 4)
    assert B.check_grid(np.int64(2), 3) == (2, 2, 2)
    with pytest.raises(ValueError, match=r"blocks must be a pair \(rows, cols\) of positive integers"):
        B.check_grid(4, 2, scalar=False)
    with pytest.raises(ValueError, match=r"a triple \(rows, cols, time\)"):
        B.check_grid((1, 2), 3)
    with pytest.raises(ValueError, match=r"blocks\[1\] must be >= 1"):
        B.check_grid((1, 0), 2)
    with pytest.raises(ValueError, match="must be an integer"):
        B.check_grid((1, 2.5), 2)


def test_block_methods_name_a_region_too_small_for_the_blocks():
    from mer_lab.cube import make_cube
    from mer_lab.features.lbp import lbp_top
    from mer_lab.features.stclqp import STCLQP

    vol = np.random.default_rng(0).integers(0, 255, (5, 12, 12)).astype(np.uint8)   # centres 3 x 10 x 10
    with pytest.raises(ValueError, match=r"11 blocks along rows \(blocks\[0\]\) but the centre region is only 10"):
        lbp_top(vol, blocks=(11, 1, 1))
    clips = [make_cube(vol, fps=100)]
    with pytest.raises(ValueError, match=r"4 blocks along time \(blocks\[2\]\) but the centre region is only 1"):
        STCLQP(blocks=(1, 1, 4), n_codewords=4).fit(clips)
    est = STCLQP(blocks=(1, 1, 1), n_codewords=4).fit(clips).set_params(blocks=(1, 1, 2))
    with pytest.raises(ValueError, match=r"2 blocks along time \(blocks\[2\]\) but the centre region is only 1"):
        est.transform(clips)
