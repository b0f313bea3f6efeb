"""The disk cache: atomic writes, no pickle, broken entries recomputed."""

import numpy as np
import pytest

from mer_lab.cache import CacheWarning, DiskCache, cache_key


def test_key_is_order_independent_and_refuses_arrays():
    assert cache_key(a=1, b="x") == cache_key(b="x", a=1)
    assert cache_key(a=1) != cache_key(a=2)
    with pytest.raises(TypeError, match="plain values"):
        cache_key(a=np.zeros(3))


def test_get_or_compute_computes_once(tmp_path):
    cache = DiskCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(4.0)}

    first = cache.get_or_compute("ns", {"k": 1}, compute)
    second = cache.get_or_compute("ns", {"k": 1}, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["x"], second["x"])
    assert not list(tmp_path.rglob(".tmp-*")), "temporary files must not remain"


def test_truncated_entry_is_recomputed_with_a_warning(tmp_path):
    cache = DiskCache(tmp_path)
    cache.get_or_compute("ns", {"k": 1}, lambda: {"x": np.arange(1000)})
    path = cache.path("ns", {"k": 1})
    path.write_bytes(path.read_bytes()[:50])
    with pytest.warns(CacheWarning, match="unreadable"):
        again = cache.get_or_compute("ns", {"k": 1}, lambda: {"x": np.arange(3)})
    assert again["x"].tolist() == [0, 1, 2]
    assert cache.load("ns", {"k": 1})["x"].tolist() == [0, 1, 2]


def test_object_arrays_are_never_stored(tmp_path):
    cache = DiskCache(tmp_path)
    with pytest.raises(TypeError, match="object"):
        cache.get_or_compute("ns", {"k": 2}, lambda: {"x": np.array([{}, 1], dtype=object)})


def test_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    cache = DiskCache(tmp_path)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        cache.save("ns", {"k": 3}, {"x": np.arange(3)})
    assert cache.load("ns", {"k": 3}) is None
    assert not list(tmp_path.rglob("*.npz"))


def test_disabled_cache_always_computes(tmp_path):
    cache = DiskCache(tmp_path, enabled=False)
    n = []
    for _ in range(2):
        cache.get_or_compute("ns", {"k": 1}, lambda: n.append(1) or {"x": np.zeros(1)})
    assert len(n) == 2
