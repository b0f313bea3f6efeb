"""Feature functions are pure; the experiment layer turns the disk cache on explicitly."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from mer_lab.cache import CacheWarning, DiskCache, active_cache, flow_cache, resolve_cache
from mer_lab.datasets.synthetic import make_corpus


def _entries(root, namespace=""):
    base = Path(root) / namespace if namespace else Path(root)
    return sorted(base.rglob("*.npz")) if base.is_dir() else []


@pytest.fixture(scope="module")
def tiny():
    return make_corpus(n_subjects=2, clips_per_subject=2, size=48, seed=7)


def test_feature_functions_called_with_defaults_write_nothing(tiny, tmp_path, monkeypatch):
    from mer_lab.features.apex import flow_magnitude_curve
    from mer_lab.features.biwoof import biwoof
    from mer_lab.features.fdm import fdm
    from mer_lab.features.hoof import clip_hoof, hoof
    from mer_lab.features.mdmo import mdmo
    from mer_lab.features.rois import corpus_landmarks

    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    cube = tiny.cube(tiny.uids[0])
    assert cube.attrs.get("dataset") and cube.attrs.get("sample")  # cacheable if asked
    hoof(cube, engine="farneback")
    clip_hoof(cube, engine="farneback")
    biwoof(cube, engine="farneback")
    fdm(cube, engine="farneback")
    flow_magnitude_curve(cube, engine="farneback")
    mdmo(cube, landmarks=corpus_landmarks(tiny), engine="farneback")
    assert _entries(tmp_path) == []
    # the same call inside the switch writes flows (and MDMO's per-frame matrix)
    with flow_cache():
        mdmo(cube, landmarks=corpus_landmarks(tiny), engine="farneback")
    assert _entries(tmp_path, "flow") and _entries(tmp_path, "mdmo_frames")


def test_the_switch_resolves_and_nests():
    assert resolve_cache(None) is None and active_cache() is None
    a, b = DiskCache("/nonexistent/a"), DiskCache("/nonexistent/b")
    with flow_cache(a):
        assert resolve_cache(None) is a
        assert resolve_cache(False) is None and resolve_cache(b) is b  # explicit arguments win
        with flow_cache(b):
            assert resolve_cache(None) is b
        with flow_cache(DiskCache("/nonexistent/c", enabled=False)):
            assert resolve_cache(None) is None
        assert resolve_cache(None) is a
    assert resolve_cache(None) is None
    with pytest.raises(TypeError, match="store"):
        with flow_cache("yes"):
            pass


def test_compute_features_writes_flows_and_a_second_method_reuses_them(tiny, tmp_path, monkeypatch):
    from mer_lab.evaluation.experiment import compute_features
    from mer_lab.features.flow import sequence

    store = DiskCache(tmp_path)
    X1 = compute_features(tiny, "hoof", params={"blocks": (2, 2)}, cache=store, progress=False)
    flows = _entries(tmp_path, "flow")
    assert len(flows) == len(tiny)  # one onset -> apex flow per clip
    assert len(_entries(tmp_path, "features/hoof")) == len(tiny)

    def refuse(*args, **kwargs):
        raise AssertionError("a flow was recomputed although it is in the cache")

    monkeypatch.setattr(sequence, "optical_flow", refuse)
    X2 = compute_features(tiny, "biwoof", params={"blocks": (2, 2)}, cache=store, progress=False)
    assert X2.shape[0] == len(tiny) and np.isfinite(X2.values).all()
    assert _entries(tmp_path, "flow") == flows
    monkeypatch.undo()
    # without a cache nothing is written, flows included
    other = tmp_path / "none"
    monkeypatch.setenv("MER_LAB_CACHE", str(other))
    compute_features(tiny, "hoof", params={"blocks": (3, 3)}, cache=False, progress=False)
    assert _entries(other) == []


def test_a_broken_flow_entry_is_recomputed_by_the_experiment_layer(tiny, tmp_path):
    from mer_lab.evaluation.experiment import compute_features

    store = DiskCache(tmp_path)
    X1 = compute_features(tiny, "biwoof", params={"blocks": (2, 2)}, cache=store, progress=False)
    broken = _entries(tmp_path, "flow")[0]
    broken.write_bytes(broken.read_bytes()[:40])  # truncated
    store.clear("features/biwoof")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X2 = compute_features(tiny, "biwoof", params={"blocks": (2, 2)}, cache=store, progress=False)
    assert any(issubclass(w.category, CacheWarning) and str(broken) in str(w.message) for w in caught)
    np.testing.assert_allclose(X2.values, X1.values)
    with np.load(broken) as d:  # rewritten whole
        assert d["flow"].shape[0] == 2


def test_worker_processes_enter_the_switch_too(tiny, tmp_path):
    from mer_lab.evaluation.experiment import compute_features

    store = DiskCache(tmp_path)
    X = compute_features(tiny, "hoof", params={"blocks": (2, 2)}, cache=store, progress=False, n_jobs=2,
                            backend="processes")
    assert X.shape[0] == len(tiny)
    assert len(_entries(tmp_path, "flow")) == len(tiny)
