"""Feature and flow caches notice changed frames and every setting that changes results."""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_lab.cache import DiskCache, file_signature
from mer_lab.datasets.casme2 import load_casme2
from mer_lab.datasets.corpus import LoaderWarning
from mer_lab.evaluation.experiment import compute_features

_spec = importlib.util.spec_from_file_location("dataset_fixtures", Path(__file__).parent / "datasets" / "fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

ROWS = [
    dict(subject=1, filename="EP02_01f", onset=1, apex=3, offset=6, aus="12", emotion="happiness", frames=range(1, 7)),
    dict(subject=2, filename="EP03_02", onset=1, apex=3, offset=6, aus="4", emotion="disgust", frames=range(1, 7)),
]


def _textured(folder: Path, seed: int) -> list[Path]:
    """Overwrite every frame of a clip folder with a random texture (PNG keeps it exact)."""
    rng = np.random.default_rng(seed)
    paths = sorted(folder.iterdir())
    for p in paths:
        cv2.imwrite(str(p), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    return paths


def _corpus(root, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        return load_casme2(root, **kw)


def _make(tmp_path):
    f = fx.make_casme2(tmp_path / "data", rows=ROWS, unlisted=(), raw=False, frame_size=(32, 32))
    for r in ROWS:
        _textured(f.root / "Cropped" / f"sub{r['subject']:02d}" / r["filename"], seed=r["subject"])
    return f


def test_edited_frame_changes_the_cached_features(tmp_path):
    f = _make(tmp_path)
    cache = DiskCache(tmp_path / "cache")
    params = {"blocks": (2, 2, 1)}
    X1 = compute_features(_corpus(f.root), "hog_top", params=params, cache=cache, progress=False).values
    # re-export one frame of the first clip with other content (same name)
    frame = sorted((f.root / "Cropped" / "sub01" / "EP02_01f").iterdir())[2]
    before = frame.stat().st_mtime_ns
    cv2.imwrite(str(frame), np.random.default_rng(99).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    os.utime(frame, ns=(before + 5_000_000_000, before + 5_000_000_000))
    X2 = compute_features(_corpus(f.root), "hog_top", params=params, cache=cache, progress=False).values
    fresh = compute_features(_corpus(f.root), "hog_top", params=params, cache=False, progress=False).values
    np.testing.assert_array_equal(X2, fresh)
    assert not np.array_equal(X1[0], X2[0])
    np.testing.assert_array_equal(X1[1], X2[1])  # the untouched clip still comes from the cache


def test_grey_setting_is_part_of_the_feature_key(tmp_path):
    f = _make(tmp_path)
    cache = DiskCache(tmp_path / "cache")
    params = {"blocks": (2, 2, 1)}
    compute_features(_corpus(f.root, grey=True), "hog_top", params=params, cache=cache, progress=False)
    colour = _corpus(f.root, grey=False)
    # HOG-TOP needs grey cubes: the colour corpus must fail as it does uncached, never be
    # handed the grey corpus's cached vectors
    with pytest.raises(ValueError, match="grey cube"):
        compute_features(colour, "hog_top", params=params, cache=False, progress=False)
    with pytest.raises(ValueError, match="grey cube"):
        compute_features(colour, "hog_top", params=params, cache=cache, progress=False)
    assert colour.info["grey"] is False


def test_file_signature_follows_size_mtime_and_listing(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    (folder / "img1.jpg").write_bytes(b"abc")
    first = file_signature(folder)
    assert file_signature(folder) == first
    (folder / "img1.jpg").write_bytes(b"abcd")
    second = file_signature(folder)
    assert second != first
    (folder / "img2.jpg").write_bytes(b"x")
    assert file_signature(folder) != second
    assert file_signature(tmp_path / "nope") == "missing"


def test_flow_cache_notices_an_edited_frame(tmp_path):
    from mer_lab.features.flow import flow_pair

    f = _make(tmp_path)
    cache = DiskCache(tmp_path / "cache")
    corpus = _corpus(f.root)
    uid = corpus.uids[0]
    a = flow_pair(corpus.cube(uid), start="onset", end="apex", engine="farneback", cache=cache).values
    frame = sorted((f.root / "Cropped" / "sub01" / "EP02_01f").iterdir())[2]  # the apex frame
    cv2.imwrite(str(frame), np.random.default_rng(7).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    b = flow_pair(corpus.cube(uid), start="onset", end="apex", engine="farneback", cache=cache).values
    c = flow_pair(corpus.cube(uid), start="onset", end="apex", engine="farneback", cache=False).values
    np.testing.assert_array_equal(b, c)
    assert not np.array_equal(a, b)
