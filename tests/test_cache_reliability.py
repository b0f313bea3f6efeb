"""The disk cache never stops a run and cleans up after interrupted writers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import mer_lab.cache as C
from mer_lab.cache import CacheWarning, DiskCache, remove_stale_temporaries


@pytest.fixture(autouse=True)
def _fresh_state():
    C._UNWRITABLE.clear()
    C._SWEPT.clear()
    yield
    C._UNWRITABLE.clear()
    C._SWEPT.clear()


def _compute(counter):
    def fn():
        counter.append(1)
        return {"x": np.arange(3.0)}
    return fn


# --------------------------------------------------------------------------- 8. unwritable cache
def test_cache_root_under_a_file_computes_with_one_warning(tmp_path):
    blocker = tmp_path / "cachefile"
    blocker.write_text("not a folder")
    cache = DiskCache(blocker / "cache")
    calls = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(3):
            out = cache.get_or_compute("features/demo", {"i": i}, _compute(calls))
            np.testing.assert_array_equal(out["x"], np.arange(3.0))
        # a second DiskCache on the same root (one per clip in compute_features) stays quiet
        DiskCache(blocker / "cache").get_or_compute("features/demo", {"i": 9}, _compute(calls))
    cache_warnings = [w for w in caught if issubclass(w.category, CacheWarning)]
    assert len(calls) == 4
    assert len(cache_warnings) == 1
    assert str(blocker / "cache") in str(cache_warnings[0].message)
    assert "without storing" in str(cache_warnings[0].message)


def test_read_only_cache_folder_computes_with_one_warning(tmp_path, monkeypatch):
    # a read-only file system: simulated, since the tests may run as root
    def refuse(*a, **k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(C.tempfile, "mkstemp", refuse)
    cache = DiskCache(tmp_path / "ro")
    calls = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(3):
            cache.get_or_compute("flow", {"i": i}, _compute(calls))
    assert len(calls) == 3
    assert sum(issubclass(w.category, CacheWarning) for w in caught) == 1
    assert "Read-only file system" in str(caught[0].message)


def test_features_of_a_corpus_with_an_unwritable_cache(tmp_path, monkeypatch):
    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.evaluation.experiment import compute_features

    blocker = tmp_path / "file"
    blocker.write_text("x")
    corpus = make_corpus(n_subjects=2, clips_per_subject=2, size=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = compute_features(corpus, "hog_top", params={"blocks": (2, 2, 1)}, cache=DiskCache(blocker / "c"),
                                progress=False).values
    assert X.shape[0] == 4 and np.isfinite(X).all()
    assert sum(issubclass(w.category, CacheWarning) for w in caught) == 1


# --------------------------------------------------------------------------- 9. stale temporaries
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_dead_writers_are_removed_on_the_next_run(tmp_path):
    cache = DiskCache(tmp_path)
    key = {"n": 1}
    folder = cache.path("features/demo", key).parent
    folder.mkdir(parents=True)
    dead = folder / f".tmp-{C._HOST}-{_dead_pid()}-abcd.npz"
    alive = folder / f".tmp-{C._HOST}-{os.getpid()}-efgh.npz"
    old_foreign = folder / ".tmp-otherhost-12345-ijkl.npz"
    young_foreign = folder / ".tmp-otherhost-12346-mnop.npz"
    legacy_old = folder / ".tmp-qrst.npz"
    for p in (dead, alive, old_foreign, young_foreign, legacy_old):
        p.write_bytes(b"partial")
    past = time.time() - 2 * C.STALE_TMP_SECONDS
    for p in (old_foreign, legacy_old):
        os.utime(p, (past, past))
    cache.get_or_compute("features/demo", key, _compute([]))
    left = {p.name for p in folder.iterdir() if p.name.startswith(".tmp-")}
    assert left == {alive.name, young_foreign.name}


def test_killed_writer_leaves_a_temporary_that_the_next_run_removes(tmp_path):
    code = (
        "import os, numpy as np\n"
        "import mer_lab.cache as C\n"
        "C.os.replace = lambda *a: os._exit(3)   # killed between writing and renaming\n"
        f"C.DiskCache({str(tmp_path)!r}).save('flow', {{'k': 1}}, {{'x': np.zeros(2)}})\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 3
    left = list(tmp_path.rglob(".tmp-*.npz"))
    assert len(left) == 1
    cache = DiskCache(tmp_path)
    assert cache.load("flow", {"k": 1}) is None
    assert not list(tmp_path.rglob(".tmp-*.npz"))
