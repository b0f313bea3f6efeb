"""Sparse MDMO (Liu et al. 2018) and its GraphSC solver (Zheng et al. 2011)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import Lasso
from sklearn.metrics import f1_score
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from mer_lab.features import _graphsc as gsc
from mer_lab.features.mdmo import MDMOFromFrames
from mer_lab.features.sparse_mdmo import (
    SparseMDMO,
    SparseMDMOFromFrames,
    atom_vectors,
    clear_fit_memory,
    mdmo_atoms,
    me_distance,
    me_graph,
    pool_codes,
)

TWO_PI = 2 * np.pi


def random_dictionary(rng, d, k):
    D = rng.standard_normal((d, k))
    return D / np.linalg.norm(D, axis=0)


def mdmo_like_clips(n_clips=24, T=6, n_classes=3, seed=0):
    """Per-frame MDMO matrices (rho rises and falls; each class has its own directions)."""
    rng = np.random.default_rng(seed)
    protos = np.stack([rng.random((n_classes, 36)), rng.random((n_classes, 36)) * TWO_PI], axis=-1)
    y = np.arange(n_clips) % n_classes
    X = np.empty((n_clips, T, 36, 2))
    ramp = np.sin(np.linspace(0.3, np.pi - 0.3, T))[:, None]
    for i in range(n_clips):
        X[i, :, :, 0] = ramp * protos[y[i], :, 0] * (0.5 + rng.random()) + 0.05 * rng.random((T, 36))
        X[i, :, :, 1] = np.mod(protos[y[i], :, 1] + rng.normal(0, 0.3, (T, 36)), TWO_PI)
    return X, y


def kkt_violation(A, b, beta, x):
    """Largest violation of the optimality conditions of x^T A x - 2 b^T x + beta |x|_1."""
    g = 2 * (A @ x - b)
    nz = x != 0
    v_nz = np.abs(g[nz] + beta * np.sign(x[nz])).max(initial=0.0)
    v_z = np.maximum(np.abs(g[~nz]) - beta, 0).max(initial=0.0)
    return max(v_nz, v_z)


# --------------------------------------------------------------------------- solvers
@pytest.mark.parametrize("seed", range(4))
def test_feature_sign_solves_the_lasso_exactly(seed):
    rng = np.random.default_rng(seed)
    D = random_dictionary(rng, 15, 25)
    x = rng.standard_normal(15)
    beta = rng.uniform(0.05, 1.0)
    s = gsc.feature_sign(D.T @ D, D.T @ x, beta)
    assert kkt_violation(D.T @ D, D.T @ x, beta, s) < 1e-8
    ref = Lasso(alpha=beta / (2 * 15), fit_intercept=False, tol=1e-14, max_iter=200000).fit(D, x).coef_
    def f(v):
        return np.sum((x - D @ v) ** 2) + beta * np.abs(v).sum()
    assert f(s) <= f(ref) + 1e-9
    np.testing.assert_allclose(s, ref, atol=1e-6)


def test_feature_sign_handles_a_general_quadratic_and_warm_starts():
    rng = np.random.default_rng(7)
    D = random_dictionary(rng, 10, 20)
    A = D.T @ D + 3.0 * np.eye(20)                 # the graph term adds alpha L_ii I
    b = rng.standard_normal(20) * 2
    s = gsc.feature_sign(A, b, 0.7)
    assert kkt_violation(A, b, 0.7, s) < 1e-8
    warm = gsc.feature_sign(A, b, 0.7, x0=rng.standard_normal(20))
    np.testing.assert_allclose(warm, s, atol=1e-10)
    assert not gsc.feature_sign(A, b, 1e6).any()    # a huge beta gives all zeros


def small_problem(seed=0, n=40, d=12, k=16):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((d, n))
    D = random_dictionary(rng, d, k)
    w = gsc.knn_graph(np.abs(rng.standard_normal((n, n))) + np.abs(rng.standard_normal((n, n))).T, k=4)
    return X, D, gsc.laplacian(w)


def test_fista_and_feature_sign_reach_the_same_graph_regularised_codes():
    X, D, L = small_problem()
    alpha, beta = 0.5, 0.3
    S0 = np.zeros((D.shape[1], X.shape[1]))
    s_fs = S0
    for _ in range(60):                                 # Gauss-Seidel sweeps to convergence
        s_fs = gsc.codes_feature_sign(X, D, s_fs, L, alpha, beta)
    s_fi = gsc.codes_fista(X, D, S0, L, alpha, beta, max_iter=5000, tol=1e-15)
    f_fs, f_fi = (gsc.objective(X, D, s, L, alpha, beta) for s in (s_fs, s_fi))
    assert abs(f_fs - f_fi) <= 1e-6 * f_fs
    np.testing.assert_allclose(s_fi, s_fs, atol=1e-4)
    # one step never increases the objective, whatever the start
    start = np.random.default_rng(1).standard_normal(S0.shape)
    f0 = gsc.objective(X, D, start, L, alpha, beta)
    assert gsc.objective(X, D, gsc.codes_fista(X, D, start, L, alpha, beta, max_iter=3), L, alpha, beta) <= f0
    assert gsc.objective(X, D, gsc.codes_feature_sign(X, D, start, L, alpha, beta), L, alpha, beta) <= f0


def test_dictionary_steps_are_optimal_and_feasible():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((12, 60)) * 3
    S = rng.standard_normal((8, 60)) * (rng.random((8, 60)) < 0.4)
    S[5] = 0.0                                          # an unused atom is left alone
    D0 = random_dictionary(rng, 12, 8)
    for c in (0.5, 1.0):
        start = D0 * np.sqrt(c)                             # a feasible start
        Dd, nu = gsc.dictionary_dual(X, S, c, start)
        Db = gsc.dictionary_bcd(X, S, c, start, sweeps=5000, tol=1e-14)
        assert (np.sum(Dd ** 2, axis=0) <= c * (1 + 1e-9)).all()
        np.testing.assert_array_equal(Dd[:, 5], start[:, 5])
        err_d, err_b = (np.sum((X - D @ S) ** 2) for D in (Dd, Db))
        assert abs(err_d - err_b) <= 1e-6 * err_b
        assert err_d <= np.sum((X - start @ S) ** 2)
        # complementary slackness: an atom inside the ball has a zero multiplier
        used = np.abs(S).sum(1) > 0
        inside = used & (np.sum(Dd ** 2, axis=0) < c * (1 - 1e-4))
        assert np.all(nu[inside] < 1e-4)


@pytest.mark.parametrize("code_solver,dict_solver", [("fista", "dual"), ("fista", "bcd"),
                                                     ("feature_sign", "dual")])
def test_graphsc_objective_never_increases(code_solver, dict_solver):
    X, _, L = small_problem(3, n=30)
    res = gsc.graphsc(X, L, n_atoms=10, alpha=0.5, beta=0.2, n_iter=12, tol=0, code_solver=code_solver,
                      dict_solver=dict_solver, random_state=4)
    h = np.array(res.history)
    assert len(h) >= 10
    assert np.all(np.diff(h) <= 1e-9 * h[:-1])
    assert h[-1] < 0.9 * h[0]


def test_encode_is_lasso_without_a_graph_and_pulls_towards_neighbours_with_one():
    rng = np.random.default_rng(5)
    D = random_dictionary(rng, 10, 14)
    X = rng.standard_normal((10, 3))
    plain = gsc.encode(X, D, beta=0.3)
    for i in range(3):
        ref = gsc.feature_sign(D.T @ D, D.T @ X[:, i], 0.3)
        np.testing.assert_allclose(plain[:, i], ref, atol=1e-5)
    train = rng.standard_normal((14, 4))
    w = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], float))
    pulled = gsc.encode(X, D, beta=0.3, alpha=50.0, weights=w, train_codes=train, solver="fista", max_iter=20000,
                        tol=1e-15)
    target = train[:, :2].mean(1)
    assert np.linalg.norm(pulled[:, 0] - target) < 0.2 * np.linalg.norm(plain[:, 0] - target)
    np.testing.assert_allclose(pulled[:, 2], plain[:, 2], atol=1e-5)   # no edges: plain lasso
    fs = gsc.encode(X, D, beta=0.3, alpha=50.0, weights=w, train_codes=train)
    np.testing.assert_allclose(fs, pulled, atol=1e-5)


# --------------------------------------------------------------------------- distance and graph
def test_me_distance_is_the_lambda_combination_with_circular_angles():
    rng = np.random.default_rng(0)
    a = np.stack([rng.random((5, 36)), rng.random((5, 36)) * TWO_PI], axis=-1)
    b = np.stack([rng.random((7, 36)), rng.random((7, 36)) * TWO_PI], axis=-1)
    dr = np.abs(a[:, None, :, 0] - b[None, :, :, 0]).sum(-1)
    dt = np.abs(a[:, None, :, 1] - b[None, :, :, 1])
    dt = np.minimum(dt, TWO_PI - dt).sum(-1)
    for lam in (0.0, 0.5, 0.9, 1.0):
        np.testing.assert_allclose(me_distance(a, b, lam=lam, chunk=3), lam * dr + (1 - lam) * dt, rtol=1e-5,
                                   atol=1e-4)
    d = me_distance(a)
    np.testing.assert_allclose(d, d.T, atol=1e-4)
    assert np.abs(np.diag(d)).max() < 1e-4
    x = np.zeros((2, 36, 2))
    x[0, :, 1], x[1, :, 1] = np.deg2rad(1), np.deg2rad(359)
    assert me_distance(x, lam=0)[0, 1] == pytest.approx(36 * np.deg2rad(2), rel=1e-4)
    with pytest.raises(ValueError, match="a must"):
        me_distance(np.zeros((3, 72)))


def test_knn_graph_is_symmetric_with_k_neighbours_each():
    X, _ = mdmo_like_clips(6, 5)
    atoms = np.concatenate([mdmo_atoms(c) for c in X])
    w = me_graph(atoms, k=4)
    assert (w != w.T).nnz == 0 and w.diagonal().sum() == 0
    assert (np.diff(w.indptr) >= 4).all() and set(np.unique(w.data)) == {1.0}
    d = me_distance(atoms)
    i = 3
    nearest = np.argsort(np.where(np.arange(len(d)) == i, np.inf, d[i]))[:4]
    assert set(nearest) <= set(w[i].indices)
    heat = me_graph(atoms, k=4, weight="heat")
    assert np.all((heat.data > 0) & (heat.data <= 1))
    lap = gsc.laplacian(w)
    np.testing.assert_allclose(lap @ np.ones(len(atoms)), 0, atol=1e-12)


def test_atoms_pooling_and_vectors():
    frames = np.zeros((3, 36, 2))
    frames[:, 0, 0] = [1.0, 4.0, 2.0]
    frames[:, 1, 0] = [0.5, 2.0, 2.0]
    frames[:, :, 1] = 7.0                              # angles are wrapped into [0, 2 pi)
    clip = mdmo_atoms(frames)
    np.testing.assert_allclose(clip[:, 0, 0], [0.25, 1.0, 0.5])
    np.testing.assert_allclose(clip[..., 1], 7.0 - TWO_PI)
    per_frame = mdmo_atoms(frames, normalise="frame")
    np.testing.assert_allclose(per_frame[:, 0, 0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(mdmo_atoms(frames, normalise="none")[:, 0, 0], [1.0, 4.0, 2.0])
    v = atom_vectors(clip, lam=0.9)
    np.testing.assert_allclose(v[:, 0], 0.9 * clip[:, 0, 0])
    np.testing.assert_allclose(v[:, 1], 0.1 * clip[:, 0, 1])
    codes = np.array([[0.0, -3.0, 1.0], [2.0, 0.0, 0.0]])
    assert pool_codes(codes, pooling="max").tolist() == [3.0, 2.0]
    np.testing.assert_allclose(pool_codes(codes, pooling="mean"), [-2 / 3, 2 / 3])
    assert pool_codes(codes, pooling="concat").tolist() == [0.0, 2.0, -3.0, 0.0, 1.0, 0.0]
    assert not mdmo_atoms(np.zeros((2, 36, 2))).any()


# --------------------------------------------------------------------------- transformer
def test_fit_is_deterministic_sparse_and_monotone():
    X, _ = mdmo_like_clips(18, 6)
    a = SparseMDMOFromFrames(n_atoms=24, n_iter=8, random_state=3).fit(X)
    clear_fit_memory()                                   # learn it again, not from memory
    b = SparseMDMOFromFrames(n_atoms=24, n_iter=8, random_state=3).fit(X)
    assert b.dictionary_ is not a.dictionary_
    np.testing.assert_array_equal(a.dictionary_, b.dictionary_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = SparseMDMOFromFrames(n_atoms=24, n_iter=8, random_state=4).fit(X)
    assert not np.allclose(a.dictionary_, c.dictionary_)
    h = np.array(a.history_)
    assert np.all(np.diff(h) <= 1e-9 * h[:-1])
    assert a.dictionary_.shape == (72, 24) and a.train_codes_.shape == (24, 18 * 6)
    assert (np.sum(a.dictionary_ ** 2, axis=0) <= 1 + 1e-9).all()
    # sparsity at the default beta, and more sparsity with a larger beta
    assert a.sparsity_ < 0.5
    sparser = SparseMDMOFromFrames(n_atoms=24, n_iter=8, random_state=3, beta=3.0).fit(X)
    assert sparser.sparsity_ < a.sparsity_
    assert np.mean(sparser.transform(X) == 0) > np.mean(a.transform(X) == 0)


def test_dictionary_never_sees_the_test_subject():
    X, y = mdmo_like_clips(24, 5)
    groups = np.arange(24) // 4                          # 6 subjects
    changed = X.copy()
    rng = np.random.default_rng(9)
    victim = groups == 2
    changed[victim] = np.stack([rng.random((5, 36)) * 3, rng.random((5, 36)) * TWO_PI], -1)[None]
    est = SparseMDMOFromFrames(n_atoms=16, n_iter=5)
    logo = LeaveOneGroupOut()
    kwargs = dict(groups=groups, cv=logo, return_estimator=True, scoring="accuracy")
    pipe = make_pipeline(est, StandardScaler(), SVC())
    r1 = cross_validate(pipe, X, y, **kwargs)
    r2 = cross_validate(pipe, changed, y, **kwargs)
    for fold, (_, test) in enumerate(logo.split(X, y, groups)):
        d1 = r1["estimator"][fold][0].dictionary_
        d2 = r2["estimator"][fold][0].dictionary_
        if victim[test].all():
            np.testing.assert_array_equal(d1, d2)             # the changed subject was the test fold
        else:
            assert not np.array_equal(d1, d2)                  # it was in training: fit saw it


def test_test_clips_are_coded_independently_of_each_other():
    X, _ = mdmo_like_clips(12, 5)
    est = SparseMDMOFromFrames(n_atoms=16, n_iter=5).fit(X[:8])
    together = est.transform(X[8:])
    alone = np.vstack([est.transform(X[i:i + 1]) for i in range(8, 12)])
    np.testing.assert_allclose(together, alone, atol=1e-10)
    plain = SparseMDMOFromFrames(n_atoms=16, n_iter=5, test_graph="none").fit(X[:8])
    np.testing.assert_array_equal(plain.dictionary_, est.dictionary_)   # the test graph is not part of fit
    assert not np.allclose(plain.transform(X[8:]), together)


@pytest.mark.parametrize("angle", ["linear", "circular"])
def test_training_clips_are_coded_like_test_clips(angle):
    # the classifier must be trained on codes made by the rule that codes test clips:
    # fit_transform(X) == fit(X).transform(X), not GraphSC's jointly learned codes
    X, _ = mdmo_like_clips(9, 4)
    est = SparseMDMOFromFrames(n_atoms=12, n_iter=4, angle=angle)
    F = est.fit_transform(X)
    np.testing.assert_array_equal(F, clone(est).fit(X).transform(X))
    np.testing.assert_array_equal(F, est.transform(X))
    joint = np.vstack([np.abs(est.train_codes_[:, 4 * i:4 * i + 4]).max(1) for i in range(9)])
    assert not np.allclose(F, joint)                          # the joint codes are not what is returned
    assert est.sparsity_ == pytest.approx(np.mean(est.codes(est.train_atoms_) != 0))
    assert 0 <= est.graph_sparsity_ <= 1


def test_circular_angle_encoding_of_the_atoms():
    atoms = np.zeros((3, 36, 2))
    atoms[:, 0] = [[1.0, np.deg2rad(1)], [1.0, np.deg2rad(359)], [1.0, np.deg2rad(180)]]
    lin = atom_vectors(atoms, lam=0.5, angle="linear")
    circ = atom_vectors(atoms, lam=0.5, angle="circular")
    assert lin.shape == (3, 72) and circ.shape == (3, 108)
    # 1 deg and 359 deg: far apart as linear coordinates, close on the circle
    assert abs(lin[0, 1] - lin[1, 1]) > 1.5
    assert np.abs(circ[0] - circ[1]).sum() < 0.02
    assert np.abs(circ[0] - circ[2]).sum() > 0.9
    np.testing.assert_allclose(circ[2, :3], [0.5, -0.5, 0.0], atol=1e-12)
    assert not circ[:, 3:].any()                              # no motion: no direction
    est = SparseMDMOFromFrames(n_atoms=8, n_iter=3, angle="circular").fit(mdmo_like_clips(6, 4)[0])
    assert est.dictionary_.shape == (108, 8)
    with pytest.raises(ValueError, match="angle"):
        SparseMDMOFromFrames(angle="polar").fit(mdmo_like_clips(6, 4)[0])


def test_pooling_options_feature_names_and_input_forms():
    X, _ = mdmo_like_clips(6, 4)
    concat = SparseMDMOFromFrames(n_atoms=8, n_iter=3, pooling="concat").fit(X)
    assert concat.transform(X).shape == (6, 32)
    assert concat.get_feature_names_out()[9] == "frame1_atom1"
    with pytest.raises(ValueError, match="concat"):
        concat.transform([X[0][:3]])
    ragged = [X[0], X[1][:2], X[2]]
    mean = SparseMDMOFromFrames(n_atoms=8, n_iter=3, pooling="mean").fit(ragged)
    assert mean.transform(ragged).shape == (3, 8)
    flat = SparseMDMOFromFrames(n_atoms=8, n_iter=3).fit(X.reshape(6, -1))
    np.testing.assert_allclose(flat.dictionary_, SparseMDMOFromFrames(n_atoms=8, n_iter=3).fit(X).dictionary_)
    est = SparseMDMOFromFrames(n_atoms=8)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(AttributeError):
        est.transform(X)
    for bad in (dict(pooling="median"), dict(beta=-1), dict(weight="cosine"), dict(code_solver="omp")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SparseMDMOFromFrames(**bad).fit(X)


def test_sparse_mdmo_over_cubes_matches_the_precomputed_route():
    cv2 = pytest.importorskip("cv2")
    from scipy import ndimage as ndi

    from mer_lab.cube import make_cube
    from mer_lab.features.mdmo import mdmo_frames
    from mer_lab.features.rois import template_landmarks

    lm = template_landmarks(96)
    yy, xx = np.mgrid[0:96, 0:96].astype(np.float32)
    tex = ndi.gaussian_filter(np.random.default_rng(0).random((96, 96)), 1.5).astype(np.float32) * 255
    cubes = []
    for i in range(4):
        u = np.where(yy > 60, 1.0 if i % 2 else -1.0, 0.0).astype(np.float32)
        frames = [cv2.remap(tex, xx - s * u, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
                  for s in (0, 0.5, 1.0)]
        cubes.append(make_cube(np.stack(frames), fps=100, sample=f"c{i}"))
    kw = dict(landmarks=lambda c: lm, engine="farneback", n_frames=None, cache=False, align="none")
    est = SparseMDMO(n_atoms=8, n_iter=3, **kw)
    assert clone(est).get_params() == est.get_params() and est.get_params()["n_frames"] is None
    F = est.fit_transform(cubes)
    pre = [mdmo_frames(c, landmarks=lm, engine="farneback", cache=False, align="none").values for c in cubes]
    ref = SparseMDMOFromFrames(n_atoms=8, n_iter=3).fit(pre)
    np.testing.assert_allclose(est.dictionary_, ref.dictionary_)
    np.testing.assert_allclose(F, ref.fit_transform(pre))
    with pytest.raises(TypeError):
        SparseMDMO(**kw).fit(cubes[0])


# --------------------------------------------------------------------------- synthetic corpus
@pytest.fixture(scope="module")
def corpus_frames():
    synthetic = pytest.importorskip("mer_lab.datasets.synthetic")
    from mer_lab.features.mdmo import mdmo_frames
    from mer_lab.features.rois import corpus_landmarks

    corpus = synthetic.make_corpus(n_subjects=5, clips_per_subject=6, classes=["happiness", "surprise", "disgust"],
                                   seed=3)
    lmk = corpus_landmarks(corpus)
    X = np.empty(len(corpus), dtype=object)
    for i, uid in enumerate(corpus.uids):
        X[i] = mdmo_frames(corpus.cube(uid), landmarks=lmk, engine="dis", cache=False, n_frames=8).values
    return X, corpus.labels, corpus.groups


@pytest.mark.parametrize("make", [lambda: MDMOFromFrames(), lambda: SparseMDMOFromFrames(n_atoms=32, n_iter=10)],
                         ids=["mdmo", "sparse_mdmo"])
def test_loso_on_the_synthetic_corpus_beats_the_majority_baseline(corpus_frames, make):
    X, y, groups = corpus_frames
    majority = np.full_like(y, max(set(y), key=list(y).count))
    baseline = f1_score(y, majority, average="macro")
    pred = cross_val_predict(make_pipeline(make(), StandardScaler(), SVC()), X, y, groups=groups,
                             cv=LeaveOneGroupOut())
    assert f1_score(y, pred, average="macro") > baseline + 0.2


# --------------------------------------------------------------------------- nested reuse
def test_feature_sign_starts_anywhere_and_reaches_the_same_codes():
    X, _ = mdmo_like_clips(12, 5)
    est = SparseMDMOFromFrames(n_atoms=16, n_iter=5).fit(X[:8])
    atoms, _ = est._atoms(X[8:])
    base = est.codes(atoms, start="zeros")
    far = np.random.default_rng(3).standard_normal(base.shape) * 5
    for start in ("neighbours", far, est.codes(atoms)):
        np.testing.assert_allclose(est.codes(atoms, start=start), base, atol=1e-9)
    with pytest.raises(ValueError, match="start has shape"):
        est.codes(atoms, start=np.zeros((3, 3)))


def test_nested_view_reproduces_its_stage_and_codes_held_out_clips_as_new():
    X, _ = mdmo_like_clips(14, 4)
    T = 4
    est = SparseMDMOFromFrames(n_atoms=12, n_iter=4).fit(X[:10])
    fresh = clone(est)
    view = est.nested_view()
    # over all the stage's training clips: exactly a fresh fit's training and test codes
    full = clone(view)
    assert full.stage is est                                  # cloning a view never refits its stage
    np.testing.assert_array_equal(full.fit_transform(X[:10]), fresh.fit_transform(X[:10]))
    np.testing.assert_array_equal(full.transform(X[10:]), fresh.transform(X[10:]))
    # over a subset: training codes are the stage's; held-out clips link to the subset's frames only
    sub = clone(view)
    np.testing.assert_array_equal(sub.fit_transform(X[2:7]), est.fit_transform(X[:10])[2:7])
    held = X[7:10]
    atoms, lengths = est._atoms(held)
    own = est._codes_against(atoms, est.train_atoms_[2 * T:7 * T], est.train_codes_[:, 2 * T:7 * T])
    np.testing.assert_allclose(sub.transform(held), est._pool(own, lengths), atol=1e-12)
    # coded as training clips (linked to their own frames) they would differ
    assert not np.allclose(sub.transform(held), est.transform(held))
    with pytest.raises(ValueError, match="not one of the 10 clips"):
        clone(view).fit(X[9:12])
    with pytest.raises(AttributeError, match="call fit before nested_view"):
        SparseMDMOFromFrames().nested_view()


class _CountingStage(SparseMDMOFromFrames):
    """Records the first value of every clip it is fitted on (clips identify themselves)."""

    fitted_on: list = []

    def fit(self, X, y=None):
        _CountingStage.fitted_on.append(frozenset(np.round(np.asarray(X)[:, 0], 12).tolist()))
        return super().fit(X, y)


def test_nested_search_learns_one_dictionary_per_outer_fold_never_from_its_test_subject():
    from mer_lab.evaluation.search import search_predict
    from mer_lab.evaluation.search.backend import _outer_stages

    X, y = mdmo_like_clips(24, 4, seed=4)
    X2 = X.reshape(24, -1)
    groups = np.arange(24) // 4                               # 6 subjects
    folds = [(f"s{g}", np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in range(6)]
    grid = {"degrees": (2,), "coefs": (1.0,), "gammas": (0.1, 1.0), "Cs": (1.0, 10.0)}
    _CountingStage.fitted_on = []
    res = search_predict(X2, y, groups=groups, folds=folds, grid=grid, search="nested",
                         fold_transformer=_CountingStage(n_atoms=8, n_iter=3))
    # one dictionary per outer training part (6), not one per inner training set too (6 + 15)
    outer_parts = {frozenset(np.round(X2[tr, 0], 12).tolist()) for _n, tr, _te in folds}
    assert len(_CountingStage.fitted_on) == 6 and set(_CountingStage.fitted_on) == outer_parts
    assert set(res.predictions["nested"]) <= set(y)
    # the outer test subject's clips cannot change the dictionary that scores them
    changed = X2.copy()
    rng = np.random.default_rng(9)
    victim = groups == 2
    changed[victim] = np.stack([rng.random((4, 36)) * 3, rng.random((4, 36)) * TWO_PI], -1).reshape(1, -1)
    a = _outer_stages(X2, folds, SparseMDMOFromFrames(n_atoms=8, n_iter=3), n_jobs=1, client=None)
    b = _outer_stages(changed, folds, SparseMDMOFromFrames(n_atoms=8, n_iter=3), n_jobs=1, client=None)
    for g in range(6):
        if g == 2:
            np.testing.assert_array_equal(a[g].stage.dictionary_, b[g].stage.dictionary_)
        else:
            assert not np.array_equal(a[g].stage.dictionary_, b[g].stage.dictionary_)
    # other stages keep being fitted in every training set
    assert _outer_stages(X2, folds, StandardScaler(), n_jobs=1, client=None) is None


def test_a_refit_on_the_same_clips_reuses_the_fit(monkeypatch):
    from mer_lab.features import sparse_mdmo as smod

    X, _ = mdmo_like_clips(10, 4, seed=6)
    smod.clear_fit_memory()
    calls = []
    real = gsc.graphsc
    monkeypatch.setattr(gsc, "graphsc", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = SparseMDMOFromFrames(n_atoms=8, n_iter=3).fit(X[:8])
    again = SparseMDMOFromFrames(n_atoms=8, n_iter=3)
    F = again.fit_transform(X[:8])
    assert len(calls) == 1                                   # learned once
    np.testing.assert_array_equal(F, first.fit_transform(X[:8]))
    np.testing.assert_array_equal(again.transform(X[8:]), first.transform(X[8:]))
    SparseMDMOFromFrames(n_atoms=8, n_iter=3, beta=2.0).fit(X[:8])   # other parameters: a new fit
    SparseMDMOFromFrames(n_atoms=8, n_iter=3).fit(X[1:9])            # other clips: a new fit
    assert len(calls) == 3
    smod.clear_fit_memory()
    SparseMDMOFromFrames(n_atoms=8, n_iter=3).fit(X[:8])
    assert len(calls) == 4
