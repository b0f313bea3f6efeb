"""Features and searches on a Dask LocalCluster give the single-process numbers."""

import numpy as np
import pytest

from mer_lab import methods as M
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.evaluation.experiment import compute_features, run_experiment
from mer_lab.features.base import CubeFeatures

distributed = pytest.importorskip("distributed")


def block_means(cube, *, grid=2):
    v = np.asarray(cube.values, dtype=float)
    d = v.max(axis=0) - v.min(axis=0)
    h, w = d.shape
    return np.array([d[i * h // grid:(i + 1) * h // grid, j * w // grid:(j + 1) * w // grid].mean()
                     for i in range(grid) for j in range(grid)])


class BlockMeans(CubeFeatures):
    def __init__(self, *, grid=2):
        self.grid = grid

    def _extract(self, cube):
        return block_means(cube, grid=self.grid)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    c = distributed.Client(cluster, timeout="20s")
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_dask_run_matches_single_process(client):
    M.register_method(M.Method(name="test_range", title="range", features=BlockMeans, defaults={"grid": 2},
                               preprocessing="standard"), replace=True)
    try:
        corpus = make_corpus(n_subjects=4, clips_per_subject=4, size=32, fps=30,
                             classes=["happiness", "surprise"], seed=1)
        local_X = compute_features(corpus, "test_range", cache=False, progress=False).values
        dask_X = compute_features(corpus, "test_range", cache=False, progress=False, client=client).values
        np.testing.assert_array_equal(local_X, dask_X)
        kw = dict(search="nested", report_thesis=True, grid="small", progress=False, cache=False,
                  features=(local_X, ["a"] * 4))
        local = run_experiment(corpus, "test_range", **kw)
        remote = run_experiment(corpus, "test_range", client=client, **kw)
        for mode in ("thesis", "nested"):
            assert local.scores(mode) == remote.scores(mode)
        np.testing.assert_array_equal(local.predictions["predicted"], remote.predictions["predicted"])
        assert local.selected["params"].tolist() == remote.selected["params"].tolist()
    finally:
        M.unregister_method("test_range")


def test_two_process_workers_give_the_single_process_numbers():
    """A LocalCluster of 2 worker processes: the same features, predictions and choices as one process."""
    corpus = make_corpus(n_subjects=3, clips_per_subject=3, size=32, fps=30, classes=["happiness", "surprise"],
                         seed=2)
    params = {"blocks": (2, 2, 1)}
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with distributed.Client(cluster, timeout="60s") as c:
            assert len(c.nthreads()) == 2
            remote_X = compute_features(corpus, "hog_top", params=params, cache=False, progress=False, client=c).values
            kw = dict(params=params, grid="small", progress=False, cache=False)
            remote = run_experiment(corpus, "hog_top", client=c, **kw)
    finally:
        cluster.close()
    local_X = compute_features(corpus, "hog_top", params=params, cache=False, progress=False).values
    np.testing.assert_array_equal(local_X, remote_X)
    local = run_experiment(corpus, "hog_top", **kw)
    assert local.scores("nested") == remote.scores("nested")
    np.testing.assert_array_equal(local.predictions["predicted"], remote.predictions["predicted"])
    assert local.selected["params"].tolist() == remote.selected["params"].tolist()
