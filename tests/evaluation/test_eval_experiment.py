"""Experiments end to end on a tiny synthetic corpus with a test-registered feature."""

import json

import numpy as np
import pandas as pd
import pytest

from mer_lab import methods as M
from mer_lab._validate import check_int
from mer_lab.features.base import CubeFeatures
from mer_lab.cache import DiskCache
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.evaluation.experiment import (PUBLISHED, Results, as_feature_matrix, compute_features, run_experiment,
                                           table3)
from mer_lab.evaluation.metrics import baseline_scores, macro_f1

CALLS = {"n": 0}


def motion_energy(cube, *, grid=2):
    """Mean absolute frame difference in a grid x grid layout: a cheap motion feature."""
    CALLS["n"] += 1
    v = np.asarray(cube.values, dtype=float)
    d = np.abs(np.diff(v, axis=0)).mean(axis=0)
    h, w = d.shape
    return np.array([d[i * h // grid:(i + 1) * h // grid, j * w // grid:(j + 1) * w // grid].mean()
                     for i in range(grid) for j in range(grid)])


class MotionEnergy(CubeFeatures):
    """:func:`motion_energy` as a feature transformer over cubes."""

    def __init__(self, *, grid=2):
        self.grid = grid

    def _check_params(self):
        check_int("grid", self.grid, low=1, high=8)

    def _extract(self, cube):
        return motion_energy(cube, grid=self.grid)


@pytest.fixture(scope="module")
def toy_method():
    m = M.Method(name="test_motion", title="motion energy", features=MotionEnergy, defaults={"grid": 2},
                 preprocessing="standard")
    M.register_method(m, replace=True)
    yield m
    M.unregister_method("test_motion")


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(n_subjects=4, clips_per_subject=5, size=32, fps=30, classes=["happiness", "surprise"],
                       seed=3)


def test_features_are_cached_per_sample(tmp_path, corpus, toy_method):
    cache = DiskCache(tmp_path)
    CALLS["n"] = 0
    X1, names = as_feature_matrix(compute_features(corpus, "test_motion", cache=cache, progress=False))
    assert X1.shape == (len(corpus), 4) and CALLS["n"] == len(corpus)
    assert names == [f"test_motion_{i}" for i in range(4)]
    X2 = compute_features(corpus, "test_motion", cache=cache, progress=False).values
    assert CALLS["n"] == len(corpus)                         # second run: all from the cache
    np.testing.assert_array_equal(X1, X2)
    X3 = compute_features(corpus, "test_motion", params={"grid": 3}, cache=cache, progress=False).values
    assert X3.shape[1] == 9 and CALLS["n"] == 2 * len(corpus)    # other parameters: recomputed
    other = make_corpus(n_subjects=4, clips_per_subject=5, size=32, fps=30, classes=["happiness", "surprise"],
                        seed=4)
    X4 = compute_features(other, "test_motion", cache=cache, progress=False).values
    assert CALLS["n"] == 3 * len(corpus)                     # same sample names, another corpus: recomputed
    assert not np.array_equal(X1, X4)
    compute_features(corpus, "test_motion", cache=False, progress=False)
    assert CALLS["n"] == 4 * len(corpus)


def test_parallel_features_equal_serial(tmp_path, corpus, toy_method):
    a = compute_features(corpus, "test_motion", cache=False, progress=False).values
    b = compute_features(corpus, "test_motion", cache=DiskCache(tmp_path), progress=False, n_jobs=2).values
    np.testing.assert_array_equal(a, b)


def test_process_workers_give_the_serial_features(tmp_path):
    small = make_corpus(n_subjects=3, clips_per_subject=3, size=32, fps=30, classes=["happiness", "surprise"],
                        seed=5)
    kw = dict(params={"blocks": (2, 2, 1)}, progress=False)
    serial = compute_features(small, "hog_top", cache=False, **kw).values
    cache = DiskCache(tmp_path)
    first = compute_features(small, "hog_top", cache=cache, n_jobs=2, backend="processes", **kw).values
    np.testing.assert_array_equal(serial, first)
    again = compute_features(small, "hog_top", cache=cache, n_jobs=2, backend="processes", **kw).values
    np.testing.assert_array_equal(serial, again)
    with pytest.raises(ValueError, match="backend"):
        compute_features(small, "hog_top", cache=False, n_jobs=2, backend="mpi", **kw)


def test_run_experiment_tables_and_predictions(corpus, toy_method):
    res = run_experiment(corpus, "test_motion", search="nested", grid="small", progress=False, cache=False,
                         seed=7, report_thesis=True)
    t = res.table
    assert list(t.columns) == ["dataset", "method", "protocol", "search", "classifier", "metric", "value",
                               "average", "parameters"]
    assert set(t["search"]) == {"thesis", "nested", "counts"}
    assert set(t["average"]) == {"pooled", "per_fold"}
    for mode in ("thesis", "nested"):
        p = res.predictions[res.predictions["search"] == mode]
        assert sorted(p["uid"]) == sorted(corpus.uids)
        assert res.scores(mode)["macro_f1"] == pytest.approx(macro_f1(p["true"], p["predicted"]))
    b = baseline_scores(corpus.class_counts())
    assert res.baseline() == pytest.approx({k: b[k] for k in ("accuracy", "macro_f1", "weighted_f1", "uf1",
                                                              "uar")})
    summary = res.summary()
    assert list(summary.index) == ["nested", "thesis", "baseline", "gap (thesis - nested)"]
    assert summary.loc["gap (thesis - nested)", "macro_f1"] == pytest.approx(
        summary.loc["thesis", "macro_f1"] - summary.loc["nested", "macro_f1"])
    c = res.config
    assert c["seed"] == 7 and c["method"] == "test_motion" and c["search"] == "nested"
    assert {"mer_lab", "numpy", "scikit-learn"} <= set(c["versions"])
    assert c["grid"]["settings"] == 48 and c["preprocessing"] == "standard"
    assert len(res.confusion("nested")) == 2


def test_results_files_round_trip(tmp_path, corpus, toy_method):
    res = run_experiment(corpus, "test_motion", search="thesis", grid="small", progress=False, cache=False)
    path = res.to_csv(tmp_path / "out" / "r.csv")
    head = path.read_text().splitlines()[:2]
    assert head[0].startswith("#") and head[1].startswith("# config: ")
    config = json.loads(head[1][len("# config: "):])
    assert config["seed"] == 0 and "versions" in config
    back = pd.read_csv(path, comment="#")
    pd.testing.assert_frame_equal(back[["metric", "value"]], res.table[["metric", "value"]].reset_index(drop=True))
    again = Results.from_json(res.to_json(tmp_path / "r.json"))
    assert again.config["method"] == "test_motion"
    assert again.scores() == pytest.approx(res.scores())
    pred = pd.read_csv(res.to_csv(tmp_path / "p.csv", what="predictions"), comment="#")
    assert len(pred) == len(corpus)


def test_precomputed_features_and_fixed_parameters(corpus, toy_method):
    X, names = as_feature_matrix(compute_features(corpus, "test_motion", cache=False, progress=False))
    res = run_experiment(corpus, "test_motion", features=(X, names), classifier="knn", search="none",
                         classifier_params={"n_neighbors": 1}, progress=False)
    assert res.config["classifier_params"] == {"n_neighbors": 1}
    assert set(res.predictions["search"]) == {"none"}
    with pytest.raises(ValueError, match="rows"):
        run_experiment(corpus, "test_motion", features=(X[:3], names), progress=False)



def test_external_features_are_recorded_as_external(corpus, toy_method):
    X, names = as_feature_matrix(compute_features(corpus, "test_motion", cache=False, progress=False))
    kw = dict(classifier="knn", search="none", classifier_params={"n_neighbors": 1}, progress=False,
              preprocessing="standard")
    res = run_experiment(corpus, None, features=(X, names), **kw)
    own = run_experiment(corpus, "test_motion", features=(X, names), **kw)
    assert res.scores() == pytest.approx(own.scores())
    assert res.config["method"] == "external" and res.config["method_params"] is None
    assert res.config["features"] == {"source": "external"} == own.config["features"]
    params = {json.dumps(json.loads(p)["features"], sort_keys=True)
              for p in res.table.loc[res.table["method"] == "external", "parameters"]}
    assert params == {json.dumps({"source": "external"})}  # no method parameters that never produced them
    with pytest.raises(ValueError, match="features="):
        run_experiment(corpus, None, progress=False)
    with pytest.raises(ValueError, match="no meaning"):
        run_experiment(corpus, None, features=(X, names), params={"tim": 5}, progress=False)

def test_precomputed_features_record_their_provenance_not_unused_method_parameters(corpus, toy_method):
    X, names = as_feature_matrix(compute_features(corpus, "test_motion", cache=False, progress=False))
    kw = dict(classifier="knn", search="none", classifier_params={"n_neighbors": 1}, progress=False)
    computed = run_experiment(corpus, "test_motion", cache=False, **kw)
    assert computed.config["features"] == {"source": "computed", "method": "test_motion",
                                           "params": {"grid": 2, "tim": None}}
    external = run_experiment(corpus, "test_motion", features=(X, names), **kw)
    assert external.config["features"] == {"source": "external"}
    assert external.config["method_params"] is None
    recorded = {json.loads(p)["features"] if isinstance(json.loads(p)["features"], str) else
                json.dumps(json.loads(p)["features"], sort_keys=True) for p in external.table["parameters"]
                if p != "{}"}
    assert recorded == {json.dumps({"source": "external"}, sort_keys=True)}
    assert "grid" not in "".join(external.table["parameters"])          # the method's parameter did not run
    told = run_experiment(corpus, "test_motion", features=(X, names), feature_source={"tool": "matlab"}, **kw)
    assert told.config["features"] == {"source": {"tool": "matlab"}}
    same = run_experiment(corpus, "test_motion", features=(X, names), feature_source="method", **kw)
    assert same.config["features"] == computed.config["features"] | {"source": "method"}
    assert same.config["method_params"] == computed.config["method_params"]
    with pytest.raises(ValueError, match="feature_source"):
        run_experiment(corpus, "test_motion", feature_source="external", cache=False, **kw)


def test_baseline_method_is_the_majority_class(corpus):
    unbalanced = corpus.filter(np.arange(len(corpus)) != 0)    # 9 / 10: a unique majority
    res = run_experiment(unbalanced, "baseline", progress=False)
    assert res.config["classifier"] == "majority"
    b = baseline_scores(unbalanced.class_counts())
    assert res.baseline()["accuracy"] == pytest.approx(b["accuracy"])


def test_table3_layout_with_published_numbers(corpus, toy_method):
    tab = table3({"casme2": corpus, "mine": corpus}, methods=["baseline", "test_motion"], grid="small",
                 progress=False, cache=False)
    assert list(tab.index) == ["baseline", "test_motion"]
    assert tab.columns.names == ["metric", "dataset", "source"]
    assert tab[("accuracy", "casme2", "thesis")]["baseline"] == PUBLISHED[("casme2", "baseline")][0]
    assert tab[("f1", "casme2", "thesis")]["baseline"] == PUBLISHED[("casme2", "baseline")][1]
    assert np.isnan(tab[("f1", "mine", "thesis")]["baseline"])
    b = baseline_scores(corpus.class_counts())
    assert tab[("f1", "mine", "mer_lab")]["baseline"] == pytest.approx(b["macro_f1"])
    assert 0 <= tab[("accuracy", "mine", "mer_lab")]["test_motion"] <= 1


def test_bad_arguments(corpus, toy_method):
    with pytest.raises(ValueError, match="protocol"):
        run_experiment(corpus, "test_motion", protocol="leave_one_out", progress=False)
    with pytest.raises(ValueError, match="method"):
        run_experiment(corpus, "no_such_method", progress=False)
    with pytest.raises(ValueError, match="at least two datasets"):
        run_experiment(corpus, "test_motion", protocol="cross", progress=False, cache=False)
    with pytest.raises(ValueError, match="no parameter"):
        compute_features(corpus, "test_motion", params={"cells": 3}, progress=False)


def test_table3_common_parameters_reach_only_the_methods_that_have_them():
    from mer_lab.evaluation.experiment import _method_kwargs

    assert _method_kwargs("lbp_top", {"engine": "dis"}, {"protocol": "loso"}) == {"protocol": "loso"}
    assert _method_kwargs("biwoof", {"engine": "dis"}, {})["params"] == {"engine": "dis"}
    per_method = {"params": {"biwoof": {"engine": "farneback"}, "mdmo": {"lam": 0.5}}}
    assert _method_kwargs("biwoof", {"engine": "dis"}, per_method)["params"] == {"engine": "farneback"}
    assert _method_kwargs("mdmo", {"engine": "dis"}, per_method)["params"] == {"engine": "dis", "lam": 0.5}
    # one dict for all methods keeps working as before
    assert _method_kwargs("hoof", None, {"params": {"bins": 4}})["params"] == {"bins": 4}


def test_nested_is_the_default_everywhere(corpus, toy_method):
    import inspect

    from mer_lab.evaluation import search as S
    from mer_lab.evaluation.cli import register

    assert inspect.signature(run_experiment).parameters["search"].default == "nested"
    assert inspect.signature(table3).parameters["search"].default == "nested"
    assert inspect.signature(S.search_predict).parameters["search"].default == "nested"
    import argparse
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["evaluate", "--dataset", "synthetic", "--method", "mdmo"]).search == "nested"
    res = run_experiment(corpus, "test_motion", grid="small", progress=False, cache=False)
    assert res.config["search"] == "nested" and res.searches == ["nested"]


def test_table3_reports_thesis_mode_beside_nested(corpus, toy_method):
    tab, runs = table3({"casme2": corpus}, methods=["baseline", "test_motion"], grid="small", progress=False,
                       cache=False, reproduce_thesis=True, return_results=True)
    assert list(tab["f1"]["casme2"].columns) == ["mer_lab", "mer_lab_thesis_mode", "thesis"]
    res = runs[("test_motion", "casme2")]
    assert tab[("f1", "casme2", "mer_lab")]["test_motion"] == pytest.approx(res.scores("nested")["macro_f1"])
    assert tab[("f1", "casme2", "mer_lab_thesis_mode")]["test_motion"] == pytest.approx(
        res.scores("thesis")["macro_f1"])


@pytest.mark.parametrize("method, params", [("hog_top", {"blocks": (2, 2, 1)}), ("hoof", {"blocks": (2, 2)})])
def test_run_experiment_runs_the_methods_pipeline(corpus, method, params):
    """Same predictions as scikit-learn's cross_val_predict on make_pipeline (LOSO, fixed classifier)."""
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

    res = run_experiment(corpus, method, params=params, classifier="svm_linear", classifier_params={"C": 0.5},
                         search="none", progress=False, cache=False)
    pipe = M.make_pipeline(method, classifier="svm_linear", classifier__C=0.5, **params)
    cubes = [cube for _uid, cube in corpus.cubes()]
    expected = cross_val_predict(pipe, cubes, corpus.labels, groups=corpus.groups, cv=LeaveOneGroupOut())
    got = res.predictions.set_index("uid").loc[corpus.uids, "predicted"].to_numpy()
    np.testing.assert_array_equal(got, expected)


def test_run_experiment_takes_a_users_pipeline(tmp_path, corpus, toy_method):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("features", MotionEnergy(grid=3)), ("scale", StandardScaler()),
                     ("classifier", KNeighborsClassifier(n_neighbors=1))])
    res = run_experiment(corpus, pipe, search="none", progress=False, cache=DiskCache(tmp_path))
    named = run_experiment(corpus, "test_motion", params={"grid": 3}, classifier="knn",
                           classifier_params={"n_neighbors": 1}, search="none", progress=False, cache=False)
    assert res.config["method"] == "pipeline" and res.config["classifier"] == "knn"
    assert res.config["classifier_params"] == {"n_neighbors": 1} and res.config["preprocessing"] == "standard"
    assert res.config["method_params"]["features__grid"] == 3
    np.testing.assert_array_equal(res.predictions["predicted"], named.predictions["predicted"])
    with pytest.raises(ValueError, match="step named 'features'"):
        run_experiment(corpus, Pipeline([("f", MotionEnergy()), ("classifier", KNeighborsClassifier())]),
                       search="none", progress=False, cache=False)


def test_compute_features_is_a_labelled_dataarray(corpus, toy_method):
    F = compute_features(corpus, "test_motion", params={"grid": 3}, cache=False, progress=False)
    assert F.dims == ("sample", "feature") and F.shape == (len(corpus), 9) and F.dtype == np.float64
    assert list(F["sample"].values) == corpus.uids
    s = corpus.samples
    for coord in ("dataset", "subject", "group", "emotion", "label", "onset", "apex", "offset"):
        np.testing.assert_array_equal(F[coord].values, s[coord].to_numpy().astype(F[coord].dtype), err_msg=coord)
    np.testing.assert_array_equal(F["clip"].values, s["sample"].astype(str).to_numpy())
    first = corpus.cube(corpus.uids[0])
    np.testing.assert_allclose(F.sel(sample=corpus.uids[0]).values, motion_energy(first, grid=3))
    assert F.attrs["method"] == "test_motion" and "MotionEnergy" in F.attrs["steps"]
