"""The fast thesis grid against brute-force scikit-learn, and nested search against leakage."""

import json

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler
from sklearn.svm import SVC

from mer_lab.evaluation import search as S
from mer_lab.evaluation.search import search_predict
from mer_lab.evaluation.search import selection as sel
from mer_lab.evaluation.metrics import accuracy, macro_f1, uar
from mer_lab.evaluation.protocols import protocol_folds

SMALL = S.PolyGrid(degrees=(2, 3, 5), coefs=(0.0, 1.0, 3.0), gammas=(0.01, 0.1, 0.5, 1.0),
                   Cs=(0.1, 1.0, 10.0, 100.0))


def data(seed=0, n_subjects=8, per=9, d=10, k=3, signal=0.6):
    rng = np.random.default_rng(seed)
    n = n_subjects * per
    y = rng.integers(0, k, n)
    groups = np.repeat([f"s{i}" for i in range(n_subjects)], per)
    X = rng.normal(size=(n, d)) + signal * rng.normal(size=(k, d))[y]
    labels = np.array(["negative", "positive", "surprise", "others"])[y]
    return X, labels, groups


def loso(y, groups):
    return protocol_folds("loso", y=y, groups=groups)


SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "l2": Normalizer, "none": None}


def brute_force(X, y, folds, grid, preprocessing):
    """Every setting with SVC(kernel="poly") on per-fold scaled features: (n_settings, n) labels."""
    settings = grid.settings()
    out = np.empty((len(settings), len(y)), dtype=object)
    for _name, tr, te in folds:
        scaler = SCALERS[preprocessing]
        A, B = X[tr], X[te]
        if scaler is not None:
            sc = scaler().fit(A)
            A, B = sc.transform(A), sc.transform(B)
        for s, row in enumerate(settings.itertuples()):
            clf = SVC(kernel="poly", degree=int(row.degree), coef0=row.coef, gamma=row.gamma, C=row.C)
            out[s, te] = clf.fit(A, y[tr]).predict(B)
    return out


@pytest.mark.parametrize("preprocessing", ["standard", "none", "l2"])
def test_fast_grid_equals_brute_force_svc(preprocessing):
    X, y, groups = data(1)
    if preprocessing == "none":
        X = np.abs(X) / 4          # raw, histogram-like magnitudes
    folds = loso(y, groups)
    classes, codes = np.unique(y, return_inverse=True)
    preds, stats = S.poly_grid_predictions(X, codes, [(tr, te) for _n, tr, te in folds], grid=SMALL,
                                           preprocessing=preprocessing)
    fast = np.empty((SMALL.n_settings, len(y)), dtype=object)
    for (_n, _tr, te), P in zip(folds, preds):
        fast[:, te] = classes[P]
    ref = brute_force(X, y, folds, SMALL, preprocessing)
    mismatch = np.argwhere(fast != ref)
    assert mismatch.size == 0, f"{len(mismatch)} differing predictions, first at setting {mismatch[0]}"
    assert stats["fits"] + stats["reused"] == SMALL.n_settings * len(folds)
    if preprocessing == "standard":
        assert stats["reused"] > 0          # the exact C shortcut was exercised and agreed


def test_fast_grid_equals_brute_force_when_a_training_set_lacks_a_class():
    """A class held by one subject only is absent from that subject's LOSO training set: the fits
    then see three of the four classes and must still predict the original labels, as SVC does."""
    X, y, groups = data(16, n_subjects=6, per=8, k=3)
    y = y.copy()
    y[groups == "s2"] = "others"                # the fourth class lives in subject s2 only
    folds = loso(y, groups)
    classes, codes = np.unique(y, return_inverse=True)
    preds, _ = S.poly_grid_predictions(X, codes, [(tr, te) for _n, tr, te in folds], grid=SMALL)
    fast = np.empty((SMALL.n_settings, len(y)), dtype=object)
    for (_n, _tr, te), P in zip(folds, preds):
        fast[:, te] = classes[P]
    ref = brute_force(X, y, folds, SMALL, "standard")
    assert (fast == ref).all()
    assert "others" not in set(fast[:, groups == "s2"].ravel())   # never predicted where it was not learnt


def test_search_package_uses_public_scikit_learn_only():
    """No module of the search imports a private scikit-learn module or name (such as ``sklearn.svm._libsvm``)."""
    import ast
    from pathlib import Path

    package = Path(S.__file__).parent
    private = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("sklearn")]
            else:
                continue
            private += [f"{path.name}: {n}" for n in names if any(part.startswith("_") for part in n.split("."))]
    assert len(list(package.glob("*.py"))) >= 4
    assert not private, private


def test_thesis_selection_equals_brute_force_best_setting():
    X, y, groups = data(2)
    folds = loso(y, groups)
    res = S.search_predict(X, y, groups=groups, folds=folds, grid=SMALL, search="thesis")
    ref = brute_force(X, y, folds, SMALL, "standard")
    f1 = np.array([macro_f1(y, ref[s]) for s in range(len(ref))])
    acc = np.array([accuracy(y, ref[s]) for s in range(len(ref))])
    best = max(range(len(ref)), key=lambda s: (f1[s], acc[s], -s))
    chosen = res.selected["setting"].unique()
    assert chosen.tolist() == [best]
    np.testing.assert_array_equal(res.predictions["thesis"], ref[best])
    np.testing.assert_allclose(res.scores["macro_f1"], f1)
    row = SMALL.settings().iloc[best]
    assert json.loads(res.selected["params"].iloc[0]) == {"degree": int(row.degree), "coef": row.coef,
                                                         "gamma": row.gamma, "C": row.C}


def test_c_shortcut_changes_nothing():
    X, y, groups = data(3, d=30)
    folds = loso(y, groups)
    codes = np.unique(y, return_inverse=True)[1]
    req = [(tr, te) for _n, tr, te in folds]
    a, sa = S.poly_grid_predictions(X, codes, req, grid=SMALL, collapse=True)
    b, sb = S.poly_grid_predictions(X, codes, req, grid=SMALL, collapse=False)
    assert sa["reused"] > 0 and sb["reused"] == 0
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)


def test_parallel_threads_give_the_same_predictions():
    X, y, groups = data(4)
    codes = np.unique(y, return_inverse=True)[1]
    req = [(tr, te) for _n, tr, te in loso(y, groups)]
    one, _ = S.poly_grid_predictions(X, codes, req, grid="small")
    two, _ = S.poly_grid_predictions(X, codes, req, grid="small", n_jobs=2)
    for p, q in zip(one, two):
        np.testing.assert_array_equal(p, q)


def test_identical_training_sets_are_fitted_once():
    X, y, groups = data(5)
    folds = loso(y, groups)
    res = S.search_predict(X, y, groups=groups, folds=folds, grid="small", search="nested")
    n = len(folds)
    # outer folds (n) + inner folds "without j and k" shared by (outer k, inner j) and (outer j, inner k)
    assert res.stats["training_sets"] == n + n * (n - 1) // 2


def brute_nested_knn(X, y, groups, ks):
    """A plain nested LOSO for k-NN (standard scaling), pooled macro F1, ties: accuracy, then order."""
    pred = np.empty(len(y), dtype=object)
    chosen = {}
    for g in np.unique(groups):
        tr, te = np.flatnonzero(groups != g), np.flatnonzero(groups == g)
        inner = np.empty((len(ks), tr.size), dtype=object)
        for h in np.unique(groups[tr]):
            itr, ite = tr[groups[tr] != h], tr[groups[tr] == h]
            sc = StandardScaler().fit(X[itr])
            for s, k in enumerate(ks):
                clf = KNeighborsClassifier(k).fit(sc.transform(X[itr]), y[itr])
                inner[s, np.searchsorted(tr, ite)] = clf.predict(sc.transform(X[ite]))
        f1 = [macro_f1(y[tr], inner[s]) for s in range(len(ks))]
        acc = [accuracy(y[tr], inner[s]) for s in range(len(ks))]
        best = max(range(len(ks)), key=lambda s: (f1[s], acc[s], -s))
        chosen[g] = ks[best]
        sc = StandardScaler().fit(X[tr])
        pred[te] = KNeighborsClassifier(ks[best]).fit(sc.transform(X[tr]), y[tr]).predict(sc.transform(X[te]))
    return pred, chosen


def test_nested_search_equals_a_plain_nested_loop():
    X, y, groups = data(6, n_subjects=6, per=7)
    ks = [1, 3, 5, 7]
    res = S.search_predict(X, y, groups=groups, folds=loso(y, groups), classifier="knn",
                           grid={"n_neighbors": ks}, search="nested")
    ref, chosen = brute_nested_knn(X, y, groups, ks)
    np.testing.assert_array_equal(res.predictions["nested"], ref)
    sel = res.selected[res.selected["search"] == "nested"]
    assert {f: json.loads(p)["n_neighbors"] for f, p in zip(sel["fold"], sel["params"])} == chosen


def test_nested_selection_never_sees_the_test_subject():
    """Changing everything about subject s0 (features and labels) cannot change how the
    hyper-parameters of fold s0 are chosen; in thesis mode it does change the scores."""
    X, y, groups = data(7)
    folds = loso(y, groups)
    a = S.search_predict(X, y, groups=groups, folds=folds, grid="small", search="nested", report_thesis=True)
    X2, y2 = X.copy(), y.copy()
    own = groups == "s0"
    rng = np.random.default_rng(99)
    X2[own] = rng.normal(5, 3, size=X2[own].shape)
    y2[own] = rng.permutation(np.where(y2[own] == "negative", "positive", "negative"))
    b = S.search_predict(X2, y2, groups=groups, folds=folds, grid="small", search="nested", report_thesis=True)
    sel_a = a.selected[(a.selected["search"] == "nested") & (a.selected["fold"] == "s0")]
    sel_b = b.selected[(b.selected["search"] == "nested") & (b.selected["fold"] == "s0")]
    assert sel_a[["setting", "selection_score"]].to_dict("records") == \
        sel_b[["setting", "selection_score"]].to_dict("records")
    assert not np.allclose(a.scores["macro_f1"], b.scores["macro_f1"])   # the thesis mode sees s0


def test_inner_folds_exclude_the_outer_test_subject(monkeypatch):
    X, y, groups = data(8, n_subjects=5)
    folds = loso(y, groups)
    seen = []
    original = sel._inner_requests

    def spy(g, train, inner="auto"):
        out = original(g, train, inner)
        seen.append((set(g[train]), out))
        return out

    monkeypatch.setattr(sel, "_inner_requests", spy)
    S.search_predict(X, y, groups=groups, folds=folds, grid="small", search="nested")
    assert len(seen) == len(folds)
    for (name, tr, te), (train_subjects, inner) in zip(folds, seen):
        assert name not in train_subjects
        for itr, ite in inner:
            assert name not in set(groups[itr]) | set(groups[ite])
            assert set(itr) | set(ite) <= set(tr)


def test_batch_scores_match_the_metrics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 50)
    P = rng.integers(0, 5, size=(7, 50))             # class 4 is only ever predicted
    table = S.batch_scores(y, P, 5)
    for s in range(7):
        assert table["macro_f1"][s] == pytest.approx(macro_f1(y, P[s]))
        assert table["accuracy"][s] == pytest.approx(accuracy(y, P[s]))
        assert table["uar"][s] == pytest.approx(uar(y, P[s]))


def test_grids():
    g = S.poly_grid("thesis")
    assert g.n_settings == 6400 and len(g.settings()) == 6400
    assert g.gammas[0] == 0.01 and g.gammas[-1] == 1.0 and len(g.gammas) == 100 and g.gammas[42] == 0.43
    assert S.poly_grid("thesis_coarse").n_settings == 640
    assert S.poly_grid("auto", n_features=11328).n_settings == 640
    assert S.poly_grid("auto", n_features=72).n_settings == 6400
    s = g.settings()
    i = g.index(5, 2.0, 0.43, 0.1)
    assert tuple(s.iloc[i]) == (5, 2.0, 0.43, 0.1)
    with pytest.raises(ValueError, match="grid"):
        S.poly_grid("huge")
    with pytest.raises(ValueError, match="gammas"):
        S.PolyGrid(gammas=(0.0, 0.1))


def test_single_class_training_set_and_bad_arguments():
    X, y, groups = data(9, n_subjects=3, per=4)
    y = np.where(groups == "s0", "positive", "negative")
    folds = [("s1+s2", np.flatnonzero(groups == "s0"), np.flatnonzero(groups != "s0"))]
    res = S.search_predict(X, y, groups=groups, folds=folds, grid="small", search="thesis")
    assert set(res.predictions["thesis"][groups != "s0"]) == {"positive"}
    with pytest.raises(ValueError, match="search"):
        S.search_predict(X, y, groups=groups, folds=folds, search="greedy")
    with pytest.raises(ValueError, match="preprocessing"):
        S.search_predict(X, y, groups=groups, folds=folds, preprocessing="zscore")
    with pytest.raises(ValueError, match="two subjects"):
        S.search_predict(X, y, groups=groups, folds=folds, grid="small", search="nested")
    X_bad = X.copy()
    X_bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        S.search_predict(X_bad, y, groups=groups, folds=folds, grid="small")


def test_search_none_uses_given_parameters():
    X, y, groups = data(10)
    folds = loso(y, groups)
    res = S.search_predict(X, y, groups=groups, folds=folds, classifier="svm_poly", search="none",
                           params={"degree": 2, "coef": 1.0, "gamma": 0.1, "C": 10.0})
    ref = brute_force(X, y, folds, S.PolyGrid(degrees=(2,), coefs=(1.0,), gammas=(0.1,), Cs=(10.0,)), "standard")
    np.testing.assert_array_equal(res.predictions["none"], ref[0])
    assert res.scores is None


def brute_nested_svc(X, y, groups, grid, candidates=None, inner_splits=None):
    """Plain nested LOSO with SVC(kernel="poly") on per-fold z-scored features: predictions, chosen
    setting per fold and every setting's pooled inner macro F1 / accuracy per fold."""
    settings = grid.settings()
    pred = np.empty(len(y), dtype=object)
    chosen, inner_table = {}, {}
    for g in np.unique(groups):
        tr, te = np.flatnonzero(groups != g), np.flatnonzero(groups == g)
        splits = inner_splits(tr) if inner_splits else [
            (tr[groups[tr] != h], tr[groups[tr] == h]) for h in np.unique(groups[tr])]
        inner = np.empty((len(settings), len(y)), dtype=object)
        scored = np.concatenate([ite for _itr, ite in splits])
        for itr, ite in splits:
            sc = StandardScaler().fit(X[itr])
            A, B = sc.transform(X[itr]), sc.transform(X[ite])
            for s, r in enumerate(settings.itertuples()):
                clf = SVC(kernel="poly", degree=int(r.degree), coef0=r.coef, gamma=r.gamma, C=r.C)
                inner[s, ite] = clf.fit(A, y[itr]).predict(B)
        f1 = np.array([macro_f1(y[scored], inner[s, scored]) for s in range(len(settings))])
        acc = np.array([accuracy(y[scored], inner[s, scored]) for s in range(len(settings))])
        inner_table[g] = (f1, acc)
        pool = range(len(settings)) if candidates is None else candidates(f1, acc)
        best = max(pool, key=lambda s: (f1[s], acc[s], -s))
        chosen[g] = best
        r = settings.iloc[best]
        sc = StandardScaler().fit(X[tr])
        clf = SVC(kernel="poly", degree=int(r.degree), coef0=r.coef, gamma=r.gamma, C=r.C)
        pred[te] = clf.fit(sc.transform(X[tr]), y[tr]).predict(sc.transform(X[te]))
    return pred, chosen, inner_table


def test_nested_poly_search_equals_a_plain_nested_svc_loop():
    X, y, groups = data(11, n_subjects=5, per=8, d=6)
    grid = S.PolyGrid(degrees=(2, 3), coefs=(0.0, 1.0), gammas=(0.05, 0.5), Cs=(0.1, 10.0))
    res = S.search_predict(X, y, groups=groups, folds=loso(y, groups), grid=grid, search="nested",
                           inner="loso", prune="none")
    ref, chosen, _ = brute_nested_svc(X, y, groups, grid)
    np.testing.assert_array_equal(res.predictions["nested"], ref)
    sel = res.selected[res.selected["search"] == "nested"]
    assert dict(zip(sel["fold"], sel["setting"])) == chosen
    assert "thesis" not in res.predictions and res.scores is None     # honest only, unless asked


def test_coarse_to_fine_pruning_follows_its_stated_rule():
    """Ten coarse gammas (every 2nd of 20) first, then the fine gammas between the best one's
    coarse neighbours with the same degree and coef and every C: the choice is the best of exactly
    those settings, scored as a plain nested loop scores them."""
    X, y, groups = data(12, n_subjects=5, per=8, d=6)
    gammas = tuple(np.round(np.arange(1, 21) * 0.05, 12))
    grid = S.PolyGrid(degrees=(2, 3), coefs=(1.0,), gammas=gammas, Cs=(0.1, 10.0))
    settings = grid.settings()
    coarse = set(gammas[1::2])

    def rule(f1, acc):
        first = [s for s in range(len(settings)) if settings.gamma[s] in coarse]
        b = max(first, key=lambda s: (f1[s], acc[s], -s))
        g = gammas.index(settings.gamma[b])
        near = {gammas[j] for j in (g - 1, g + 1) if 0 <= j < len(gammas)} - coarse
        second = [s for s in range(len(settings)) if settings.gamma[s] in near
                  and settings.degree[s] == settings.degree[b] and settings.coef[s] == settings.coef[b]]
        return first + second

    res = S.search_predict(X, y, groups=groups, folds=loso(y, groups), grid=grid, search="nested", inner="loso")
    ref, chosen, _ = brute_nested_svc(X, y, groups, grid, candidates=rule)
    sel = res.selected[res.selected["search"] == "nested"]
    assert dict(zip(sel["fold"], sel["setting"])) == chosen
    np.testing.assert_array_equal(res.predictions["nested"], ref)
    assert res.stats["prune"] == "coarse_to_fine"
    assert res.stats["evaluated_settings"] < grid.n_settings


def test_grouped_inner_folds_keep_subjects_whole_and_balanced():
    groups = np.repeat([f"s{i:02d}" for i in range(30)], np.arange(30) % 4 + 2)
    train = np.flatnonzero(groups != "s00")
    inner = sel._inner_requests(groups, train)                   # 29 training subjects > 20: 5 folds
    assert len(inner) == sel.INNER_FOLDS
    tests = [set(groups[te]) for _tr, te in inner]
    assert set().union(*tests) == set(groups[train]) and sum(len(t) for t in tests) == 29
    for (tr, te), subj in zip(inner, tests):
        assert not subj & set(groups[tr]) and "s00" not in subj
        assert set(tr) | set(te) == set(train)
    sizes = [len(te) for _tr, te in inner]
    assert max(sizes) - min(sizes) <= 5
    assert len(sel._inner_requests(groups, train, "loso")) == 29
    with pytest.raises(ValueError, match="inner"):
        S.search_predict(np.zeros((4, 2)), np.array([0, 1, 0, 1]), groups=np.array([0, 0, 1, 1]),
                         folds=[("a", [0, 1], [2, 3])], inner=1)


def test_report_thesis_adds_the_thesis_selection_unchanged():
    X, y, groups = data(13)
    folds = loso(y, groups)
    both = S.search_predict(X, y, groups=groups, folds=folds, grid="small", search="nested", report_thesis=True)
    thesis = S.search_predict(X, y, groups=groups, folds=folds, grid="small", search="thesis")
    nested = S.search_predict(X, y, groups=groups, folds=folds, grid="small")           # the default
    np.testing.assert_array_equal(both.predictions["thesis"], thesis.predictions["thesis"])
    np.testing.assert_array_equal(both.predictions["nested"], nested.predictions["nested"])
    assert set(nested.predictions) == {"nested"}


def test_long_searches_announce_an_estimate(capsys, monkeypatch):
    X, y, groups = data(14, n_subjects=6, per=6)
    monkeypatch.setattr(sel, "LONG_RUN_SECONDS", 0.0)
    with pytest.warns(S.LongRunWarning, match="min"):
        sel._announce([(100, 640, 30)], X, np.unique(y, return_inverse=True)[1], "standard", None,
                      S.poly_grid("thesis_coarse"), 1, True, None, "nested search")
    assert "64,000 SVM fits" in capsys.readouterr().err
    assert S.estimate_seconds(1000, 0.01, 2) == pytest.approx(5.0)


def test_fold_stage_searches_in_processes_give_the_serial_predictions():
    from sklearn.decomposition import PCA

    X, y, groups = data(15, n_subjects=4, per=6)
    codes = np.unique(y, return_inverse=True)[1]
    req = [(tr, te) for _n, tr, te in loso(y, groups)]
    one, _ = S.poly_grid_predictions(X, codes, req, grid="small", fold_transformer=PCA(3))
    two, _ = S.poly_grid_predictions(X, codes, req, grid="small", fold_transformer=PCA(3), n_jobs=2)
    for p, q in zip(one, two):
        np.testing.assert_array_equal(p, q)


def test_nested_search_over_one_setting_trains_only_the_outer_folds():
    """Nothing to select: the inner folds are skipped (a network would otherwise train once per inner fold),
    and the predictions are those of the single setting."""
    rng = np.random.default_rng(3)
    X, y, groups = rng.normal(size=(40, 5)), np.repeat([0, 1], 20), np.tile(np.arange(8), 5)
    folds = [(str(i), tr, te) for i, (tr, te) in enumerate(LeaveOneGroupOut().split(X, y, groups))]
    kw = dict(groups=groups, folds=folds, classifier="knn")
    one = search_predict(X, y, search="nested", grid={"n_neighbors": [3]}, **kw)
    fixed = search_predict(X, y, search="none", params={"n_neighbors": 3}, **kw)
    assert one.stats["fits"] == len(folds)
    assert np.array_equal(one.predictions["nested"], fixed.predictions["none"])
    assert set(one.selected["params"]) == {'{"n_neighbors": 3}'}
    two = search_predict(X, y, search="nested", grid={"n_neighbors": [3, 5]}, **kw)
    assert two.stats["fits"] > 2 * len(folds)  # with a choice to make, the inner folds run
