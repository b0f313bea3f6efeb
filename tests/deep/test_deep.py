"""mer_lab.deep: models, inputs, fold-batched training, the classifiers and their errors.

Everything trains on tiny synthetic maps (12 x 12) with one torch thread, so the whole
file takes seconds; the flow-based checks use small synthetic clips.
"""

import importlib
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mer_lab.deep import models as DM  # noqa: E402
from mer_lab.deep.estimators import DeepClassifier  # noqa: E402
from mer_lab.deep.training import fit_folds  # noqa: E402

SIZE = 12


def _maps(n_subjects=6, per=6, channels=3, size=SIZE, seed=0, time=None, strength=1.5):
    """Class-coded maps: class c adds a bump in its own quadrant of channel c % channels."""
    rng = np.random.default_rng(seed)
    n = n_subjects * per
    y = np.tile(np.arange(3), n // 3 + 1)[:n]
    groups = np.repeat(np.arange(n_subjects), per)
    shape = (n, channels, size, size) if time is None else (n, channels, time, size, size)
    X = rng.normal(size=shape).astype(np.float32)
    h = size // 2
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        X[i, c % channels, ..., r * h:(r + 1) * h, q * h:(q + 1) * h] += strength
    return X, y, groups


def _loso(groups):
    return [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in np.unique(groups)]


# ----------------------------------------------------------------------------- models
@pytest.mark.parametrize("name, channels, count", [("ststnet", 3, 1683), ("off_apexnet", 2, 806747),
                                                   ("cnn3d", 1, 3795), ("cnn3d", 2, 4011), ("cnn_lstm", 2, 38411)])
def test_parameter_counts_match_the_docstrings(name, channels, count):
    model = DM.build_model(name, 3, channels=channels)
    assert DM.count_parameters(model) == count
    assert DM.count_parameters(DM.build_model(name, 3, channels=channels, folds=4)) == count
    doc = DM.MODELS[name].__doc__
    assert f"{count:,}" in doc and "doi:" in doc and "Input:" in doc


def test_folds_of_a_stacked_model_never_mix():
    model = DM.build_model("ststnet", 3, folds=3, size=SIZE)
    x = torch.randn(4, 3, 3, SIZE, SIZE)
    out = model(x)
    x2 = x.clone()
    x2[:, 1] += 5.0                      # change fold 1's input only
    out2 = model(x2)
    assert torch.equal(out[:, 0], out2[:, 0]) and torch.equal(out[:, 2], out2[:, 2])
    assert not torch.allclose(out[:, 1], out2[:, 1])
    model.zero_grad()
    model(x)[:, 0].sum().backward()       # fold 0's loss reaches fold 0's weights only
    g = model.fc.weight.grad
    assert g[0].abs().sum() > 0 and g[1:].abs().sum() == 0
    assert model.conv.weight.grad.view(3, -1)[1:].abs().sum() == 0


@pytest.mark.parametrize("name, channels, time", [("ststnet", 3, None), ("off_apexnet", 2, None),
                                                  ("cnn3d", 1, 4), ("cnn_lstm", 2, 4)])
def test_each_model_overfits_a_tiny_set(name, channels, time):
    X, y, _g = _maps(n_subjects=2, per=6, channels=channels, time=time, strength=0.5, seed=1)
    clf = DeepClassifier(name, size=SIZE, epochs=80, lr=1e-2, batch_size=12, weight_decay=0.0, random_state=0,
                         n_threads=1)
    if name == "off_apexnet":
        clf.set_params(lr=1e-3)
    clf.fit(X.reshape(len(X), -1), y)
    assert (clf.predict(X.reshape(len(X), -1)) == y).mean() == 1.0


# ----------------------------------------------------------------------------- fold batching
def test_fold_batched_training_equals_fold_by_fold():
    """Same seed: all six LOSO folds trained together give the networks trained one by one
    (tolerance 1e-4 on probabilities; identical predicted classes)."""
    X, y, g = _maps()
    folds = _loso(g)
    kw = dict(epochs=15, lr=5e-3, batch_size=8, seed=3, n_threads=1, model_kwargs={"size": SIZE})
    together = fit_folds("ststnet", X, y, folds, fold_batch=len(folds), **kw)
    for i, fold in enumerate(folds):
        # a fold's mini-batch stream is seeded by (seed, fold number)
        alone = fit_folds("ststnet", X, y, [fold], fold_ids=[i], **kw)
        np.testing.assert_allclose(alone.proba[0], together.proba[i], atol=1e-4)
        assert np.array_equal(alone.proba[0].argmax(1), together.proba[i].argmax(1))


def test_worker_processes_give_the_same_networks_and_report_progress():
    """n_jobs=2 trains the stacked models in two processes: same probabilities, states and
    histories as in one process; a progress callable sees every epoch of every model."""
    X, y, g = _maps()
    folds = _loso(g)
    kw = dict(epochs=4, lr=5e-3, batch_size=8, seed=1, n_threads=1, fold_batch=2, record_test=True,
              model_kwargs={"size": SIZE})
    calls = []
    here = fit_folds("ststnet", X, y, folds, progress=lambda d, t: calls.append((d, t)), **kw)
    assert calls == [(k, 12) for k in range(1, 13)]            # 4 epochs x 3 stacked models
    calls.clear()
    there = fit_folds("ststnet", X, y, folds, n_jobs=2, progress=lambda d, t: calls.append((d, t)), **kw)
    assert calls == [(4, 12), (8, 12), (12, 12)]
    for i in range(len(folds)):
        np.testing.assert_array_equal(here.proba[i], there.proba[i])
        for k, v in here.states[i].items():
            assert torch.equal(v, there.states[i][k]), k
    for k in here.history:
        np.testing.assert_array_equal(here.history[k], there.history[k])
    with pytest.raises(ValueError, match="progress"):
        fit_folds("ststnet", X, y, folds, progress="yes", **kw)
    with pytest.raises(ValueError, match="n_jobs"):
        fit_folds("ststnet", X, y, folds, n_jobs=0, **kw)


def test_classifier_calls_its_progress_callable_per_epoch():
    X, y, _g = _maps(n_subjects=2)
    calls = []
    DeepClassifier("ststnet", size=SIZE, epochs=3, n_threads=1,
                   progress=lambda done, total: calls.append((done, total))).fit(X, y)
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_a_batch_larger_than_the_training_rows_is_the_whole_set_once_per_step():
    """batch_size above a fold's training rows: each step sees every row exactly once
    (no row repeated within a mini-batch), as a data loader's single short batch would."""
    from mer_lab.deep import training as T

    X, y, g = _maps(n_subjects=3, per=6)                      # 18 rows, 12 per LOSO training set
    seen = []
    real = T._Stream.take

    def spy(self, n):
        out = real(self, n)
        seen.append(out.copy())
        return out

    T._Stream.take = spy
    try:
        fit_folds("ststnet", X, y, _loso(g), epochs=2, batch_size=256, n_threads=1, model_kwargs={"size": SIZE})
    finally:
        T._Stream.take = real
    assert len(seen) == 6 and all(b.shape == (12,) and np.unique(b).size == 12 for b in seen)


def test_ststnet_recipe_is_its_authors():
    """Adam, lr 5e-5, batch 256, 500 epochs (Liong et al. 2019, the authors' code)."""
    from mer_lab.deep.training import RECIPES

    r = RECIPES["ststnet"]
    assert (r.epochs, r.lr, r.batch_size, r.weight_decay) == (500, 5e-5, 256, 0.0)


@pytest.mark.parametrize("select", ["recipe", "inner"])
def test_held_out_subject_never_touches_its_fold(select):
    """Changing the held-out subject's inputs and labels leaves its fold's trained network
    (weights, batch-norm statistics, input standardisation, selected epoch) unchanged."""
    X, y, g = _maps()
    folds = _loso(g)
    kw = dict(epochs=6, lr=5e-3, batch_size=8, seed=0, n_threads=1, select=select, groups=g,
              model_kwargs={"size": SIZE})
    base = fit_folds("ststnet", X, y, folds, **kw)
    X2, y2 = X.copy(), y.copy()
    te = folds[2][1]
    X2[te] = 100.0 * np.random.default_rng(9).normal(size=X2[te].shape)
    y2[te] = (y2[te] + 1) % 3
    other = fit_folds("ststnet", X2, y2, folds, **kw)
    assert base.epoch[2] == other.epoch[2]
    for k, v in base.states[2].items():
        assert torch.equal(v, other.states[2][k]), k
    assert not np.allclose(base.proba[2], other.proba[2])      # the test rows were really changed


def test_test_fold_selection_reads_the_test_labels():
    """The leaky mode is what it says: relabelling a held-out subject changes its fold's
    selected network, and its accuracy is never below the honest last epoch's."""
    X, y, g = _maps(strength=0.6)
    folds = _loso(g)
    kw = dict(epochs=12, lr=5e-3, batch_size=8, seed=0, n_threads=1, model_kwargs={"size": SIZE})
    leaky = fit_folds("ststnet", X, y, folds, select="test_fold", record_test=True, **kw)
    hist = leaky.history["test_accuracy"]
    acc = np.array([(p.argmax(1) == y[te]).mean() for p, (_tr, te) in zip(leaky.proba, folds)])
    np.testing.assert_allclose(acc, hist.max(axis=0))
    assert (acc >= hist[-1] - 1e-12).all()


# ----------------------------------------------------------------------------- estimator API
def test_classifier_is_seeded_deterministic_and_sklearn_compatible():
    from sklearn.base import clone

    X, y, _g = _maps(n_subjects=2, per=6)
    clf = DeepClassifier("ststnet", size=SIZE, epochs=5, random_state=4, n_threads=1)
    assert clone(clf).get_params()["epochs"] == 5
    labels = np.array(["neg", "pos", "sur"])[y]
    p1 = clf.fit(X, labels).predict_proba(X)
    p2 = clone(clf).fit(X, labels).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_allclose(p1.sum(1), 1, rtol=1e-5)
    assert set(clf.predict(X)) <= set(labels) and list(clf.classes_) == ["neg", "pos", "sur"]
    assert torch.get_num_threads() == torch.get_num_threads()  # restored after the n_threads block


def test_n_threads_is_respected_and_restored():
    before = torch.get_num_threads()
    seen = []
    X, y, _g = _maps(n_subjects=2, per=3)
    clf = DeepClassifier("ststnet", size=SIZE, epochs=1, n_threads=1)
    import mer_lab.deep.training as T

    real = T._train_chunk

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return real(*a, **k)

    T._train_chunk = spy
    try:
        clf.fit(X, y)
    finally:
        T._train_chunk = real
    assert seen == [1] and torch.get_num_threads() == before


# ----------------------------------------------------------------------------- bad input
def test_bad_input_gets_clear_errors_naming_the_parameter():
    X, y, g = _maps(n_subjects=2, per=3)
    clf = DeepClassifier("ststnet", size=SIZE, epochs=1, n_threads=1)
    with pytest.raises(ValueError, match=r"X has 100 features per row; model 'ststnet' takes u, v and strain "
                                         r"maps, 3 channel\(s\) of 12 x 12 = 432"):
        clf.fit(np.zeros((6, 100)), y[:6])
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3, 12, 12\)"):
        clf.fit(np.zeros((6, 2, SIZE, SIZE)), y[:6])
    Xn = X.copy()
    Xn[1, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values in 1 row\(s\) \(\[1\]\)"):
        clf.fit(Xn, y)
    with pytest.raises(ValueError, match="y holds a single class"):
        clf.fit(X, np.zeros(len(X), int))
    with pytest.raises(ValueError, match="select='test_fold'.*fit_predict_folds"):
        DeepClassifier("ststnet", size=SIZE, select="test_fold").fit(X, y)
    with pytest.raises(ValueError, match="model='resnet' is not accepted"):
        DeepClassifier("resnet").fit(X, y)
    with pytest.raises(ValueError, match=r"fold 0: its training rows hold a single class"):
        fit_folds("ststnet", X, np.r_[np.zeros(len(X) - 1, int), 1], [(np.arange(len(X) - 1), [len(X) - 1])],
                  epochs=1, model_kwargs={"size": SIZE})


def test_single_class_fold_under_a_protocol_predicts_that_class():
    X, y, g = _maps(n_subjects=3, per=3)
    y = np.where(g == 0, 0, y)
    folds = [(np.flatnonzero(g == 0), np.flatnonzero(g == 1)), (np.flatnonzero(g != 2), np.flatnonzero(g == 2))]
    preds = DeepClassifier("ststnet", size=SIZE, epochs=2, n_threads=1).fit_predict_folds(X, y, folds)
    assert (preds[0] == 0).all() and preds[1].shape == (3,)


def test_flow_inputs_errors_name_the_parameter():
    from mer_lab.deep.inputs import flow_maps

    with pytest.raises(ValueError, match=r"flow array must have shape \(2, H, W\) or \(3, H, W\)"):
        flow_maps(np.zeros((4, 20, 20), np.float32))
    bad = np.zeros((2, 20, 20), np.float32)
    bad[0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="flow"):
        flow_maps(bad)
    with pytest.raises(ValueError, match="components"):
        flow_maps(np.zeros((2, 20, 20), np.float32), components=("u", "w"))


def test_flow_maps_scale_the_flow_to_the_map_grid_and_add_strain():
    from mer_lab.deep.inputs import flow_maps
    from mer_lab.features.flow import optical_strain

    yy, xx = np.mgrid[0:56, 0:56].astype(np.float32)
    flow = np.stack([0.1 * xx, np.full_like(yy, 2.0)])
    maps = flow_maps(flow, size=28)
    assert maps.shape == (3, 28, 28)
    np.testing.assert_allclose(maps[1], 1.0, atol=1e-5)          # 2 px at 56 -> 1 px at 28
    np.testing.assert_allclose(maps[2][5:-5, 5:-5], optical_strain(flow)[10:-10, 10:-10].mean(), atol=1e-4)
    precomputed = np.concatenate([flow, np.full((1, 56, 56), 0.5, np.float32)])
    np.testing.assert_allclose(flow_maps(precomputed, size=28)[2], 0.5, atol=1e-6)  # the given strain is kept


def test_missing_torch_is_a_clear_import_error(monkeypatch):
    for mod in [m for m in sys.modules if m == "mer_lab.deep" or m.startswith("mer_lab.deep.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "torch", None)    # "import torch" now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "mer_lab\[deep\]"') as info:
        importlib.import_module("mer_lab.deep")
    assert type(info.value).__name__ == "DeepLearningUnavailable"
    from mer_lab.evaluation.classifiers import make_classifier
    from mer_lab.methods import available_methods

    with pytest.raises(ImportError, match=r'pip install "mer_lab\[deep\]"'):
        make_classifier("ststnet")
    status = available_methods()
    assert 'pip install "mer_lab[deep]"' in status["ststnet"] and status["hoof"] == "ok"
    for mod in [m for m in sys.modules if m == "mer_lab.deep" or m.startswith("mer_lab.deep.")]:
        monkeypatch.delitem(sys.modules, mod)


# ----------------------------------------------------------------------------- registry and protocols
def test_registered_methods_train_their_network_under_loso():
    """STSTNet from onset -> apex flow under LOSO is clearly above the majority baseline."""
    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.evaluation.experiment import run_experiment
    from mer_lab.methods import METHODS

    assert METHODS["ststnet"].classifier == "ststnet" and "flow" in METHODS["ststnet"].inputs
    corpus = make_corpus(n_subjects=6, clips_per_subject=6, size=48, classes=["happiness", "surprise", "disgust"],
                         seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_experiment(corpus, "ststnet", params={"engine": "farneback", "size": 16},
                             classifier_params={"epochs": 25, "lr": 5e-3, "batch_size": 16, "n_threads": 1, "size": 16},
                             progress=False, cache=False)
    assert res.config["classifier"] == "ststnet" and res.config["search_stats"]["fold_batched"] == 1
    s, b = res.scores(), res.baseline()
    assert s["uf1"] >= b["uf1"] + 0.3 and s["accuracy"] >= b["accuracy"] + 0.25


def test_fine_tuning_starts_from_the_source_weights_and_refits_the_head_and_scaling():
    from mer_lab.deep.transfer import fine_tune, pretrain

    X, y, _g = _maps(n_subjects=2, per=6)
    src = pretrain(X, y, size=SIZE, epochs=3, n_threads=1)
    Xt = X[y < 2] * 3.0 + 1.0                        # another "dataset": two classes, other scale
    tuned = fine_tune(src, epochs=1, lr=1e-12).fit(Xt, y[y < 2])
    a, b = src.network_.state_dict(), tuned.network_.state_dict()
    torch.testing.assert_close(a["conv.weight"], b["conv.weight"], atol=1e-8, rtol=0)
    assert b["fc.weight"].shape[-1] == 2 and a["fc.weight"].shape[-1] == 3
    assert not torch.allclose(a["standardise.mean"], b["standardise.mean"])   # fitted on the target's rows
    with pytest.raises(ValueError, match="fitted DeepClassifier"):
        fine_tune(DeepClassifier("ststnet"))


def test_methods_with_a_network_train_it_whatever_feature_classifier_is_asked():
    from mer_lab.methods import own_classifier

    assert own_classifier("ststnet", "svm_poly", None) == ("ststnet", None)
    # a feature classifier's parameters are dropped, the network's own are kept
    assert own_classifier("ststnet", "svm_linear", {"C": 1.0, "epochs": 7}) == ("ststnet", {"epochs": 7})
    assert own_classifier("off_apexnet", "ststnet", {"epochs": 3}) == ("ststnet", {"epochs": 3})
    assert own_classifier("hoof", "knn", {"n_neighbors": 1}) == ("knn", {"n_neighbors": 1})


def test_ststnet_runs_on_precomputed_flow_images(tmp_path):
    """The MEGC composite as published: flow images (u, v, strain) -> STSTNet's maps."""
    import importlib.util
    from pathlib import Path

    from mer_lab.datasets import load_flow_images
    from mer_lab.evaluation.experiment import compute_features

    spec = importlib.util.spec_from_file_location("dataset_fixtures_deep",
                                                  Path(__file__).parents[1] / "datasets" / "fixtures.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    t = fx.make_megc_flow_images(tmp_path, layout="table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = load_flow_images(t.root, label_map="megc2019")
    X = compute_features(corpus, "ststnet", cache=False, progress=False).values
    assert X.shape == (len(corpus), 3 * 28 * 28) and np.isfinite(X).all()
    strain = X.reshape(len(X), 3, 28, 28)[:, 2]
    assert strain.min() >= 0 and strain.max() <= 1.0 + 1e-6          # the images' strain channel, as given
    X2 = compute_features(corpus, "off_apexnet", cache=False, progress=False).values
    np.testing.assert_allclose(X2.reshape(len(X), 2, 28, 28), X.reshape(len(X), 3, 28, 28)[:, :2])
