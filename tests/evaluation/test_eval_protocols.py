"""Protocol splitters, their error messages, and run_protocol's bookkeeping."""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

from mer_lab.evaluation.protocols import (
    CrossDatabase,
    LeaveOneDatasetOut,
    LeaveOneSubjectOut,
    LeaveOneVideoOut,
    ProtocolWarning,
    make_protocol,
    protocol_folds,
    protocol_notes,
    run_protocol,
)


def toy(seed=0, n_subjects=6, per=5, datasets=("casme2", "samm")):
    """Samples of subjects from two datasets that reuse subject names ("s1" in both)."""
    rng = np.random.default_rng(seed)
    ds, subj, y = [], [], []
    for d in datasets:
        for s in range(n_subjects):
            for k in range(per):
                ds.append(d)
                subj.append(f"s{s}")
                y.append(["neg", "pos", "sur"][(s + k) % 3])
    ds, subj, y = map(np.array, (ds, subj, y))
    groups = np.char.add(np.char.add(ds, "/"), subj)
    X = rng.normal(size=(y.size, 4))
    X[:, 0] += 3 * (y == "neg")
    X[:, 1] += 3 * (y == "pos")
    X[:, 2] += 3 * (y == "sur")
    uids = np.array([f"{d}/clip{i}" for i, d in enumerate(ds)])
    return X, y, groups, ds, uids


def test_loso_never_puts_a_subject_on_both_sides():
    X, y, groups, ds, uids = toy()
    folds = protocol_folds("loso", y=y, groups=groups)
    assert len(folds) == np.unique(groups).size == 12        # "s1" of casme2 and of samm are different subjects
    seen = np.zeros(y.size, int)
    for name, tr, te in folds:
        assert set(groups[te]) == {name}
        assert not set(groups[tr]) & set(groups[te])
        assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == y.size
        seen[te] += 1
    assert (seen == 1).all()
    ours = [te.tolist() for _, te in LeaveOneSubjectOut().split(X, y, groups)]
    ref = [te.tolist() for _, te in LeaveOneGroupOut().split(X, y, groups)]
    assert ours == ref


def test_lovo_tests_every_clip_once():
    X, y, groups, ds, uids = toy(n_subjects=2, per=3)
    folds = protocol_folds("lovo", y=y, uids=uids)
    assert [te.tolist() for _, _, te in folds] == [[i] for i in range(y.size)]
    assert [name for name, _, _ in folds] == list(uids)
    assert LeaveOneVideoOut().get_n_splits(X) == y.size


def test_cross_database_splits_and_errors():
    X, y, groups, ds, uids = toy(datasets=("casme2", "samm", "smic"))
    (name, tr, te), = protocol_folds("cross", y=y, datasets=ds, train="casme2", test="samm")
    assert name == "samm" and set(ds[tr]) == {"casme2"} and set(ds[te]) == {"samm"}
    (name, tr, te), = protocol_folds("cross", y=y, datasets=ds, train=["casme2", "smic"])
    assert set(ds[te]) == {"samm"}
    lodo = protocol_folds("cross", y=y, datasets=ds)
    assert [n for n, _, _ in lodo] == ["casme2", "samm", "smic"]
    with pytest.raises(ValueError, match="at least two datasets"):
        protocol_folds("cross", y=y[ds == "samm"], datasets=ds[ds == "samm"])
    with pytest.raises(ValueError, match="not in the data"):
        list(CrossDatabase(train="casme", test="samm").split(X, y, ds))
    with pytest.raises(ValueError, match="both train and test"):
        list(CrossDatabase(train="samm", test="samm").split(X, y, ds))
    with pytest.raises(ValueError, match="datasets"):
        protocol_folds("cross", y=y)
    with pytest.raises(ValueError, match="at least two datasets"):
        list(LeaveOneDatasetOut().split(X[:5], y[:5], ds[:5]))


def test_megc_is_loso_over_all_subjects_of_a_composite():
    X, y, groups, ds, uids = toy(datasets=("casme2", "samm", "smic"))
    folds = protocol_folds("megc", y=y, groups=groups, datasets=ds)
    assert sorted(n for n, _, _ in folds) == sorted(np.unique(groups))
    assert make_protocol("megc")[1] == "subject"
    notes = protocol_notes("megc", y=np.where(y == "sur", "others", y), groups=groups)
    assert any("megc2019" in n for n in notes)


def test_impossible_or_underspecified_protocols():
    y = np.array(["a", "b", "a", "b"])
    with pytest.raises(ValueError, match="groups"):
        protocol_folds("loso", y=y)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        protocol_folds("loso", y=y, groups=["s1"] * 4)
    with pytest.raises(ValueError, match="protocol"):
        protocol_folds("lopo", y=y)
    with pytest.raises(ValueError, match="one entry per sample"):
        protocol_folds("loso", y=y, groups=["s1", "s2"])


def test_notes_explain_degenerate_data():
    y = np.array(["a", "a", "b", "b", "c", "d", "d"])
    g = np.array(["s1", "s1", "s2", "s3", "s1", "s2", "s2"])
    notes = " | ".join(protocol_notes("loso", y=y, groups=g))
    assert "['c'] have a single sample" in notes
    assert "d (only s2)" in notes                       # class confined to one subject
    assert "single class" in notes and "per-fold" in notes   # s3 has one class
    folds = protocol_folds("cross", y=y, datasets=np.array(["A"] * 4 + ["B"] * 3), train="A", test="B")
    cross = protocol_notes("cross", y=y, datasets=np.array(["A"] * 4 + ["B"] * 3), folds=folds)
    assert any("absent from the training" in n for n in cross)


def test_splitters_work_with_sklearn():
    X, y, groups, ds, uids = toy()
    pred = cross_val_predict(KNeighborsClassifier(1), X, y, groups=groups, cv=LeaveOneSubjectOut())
    assert np.mean(pred == y) > 0.8
    with pytest.raises(ValueError, match="subject of each sample"):
        list(LeaveOneSubjectOut().split(X, y))


def test_run_protocol_predictions_table():
    X, y, groups, ds, uids = toy()
    run = run_protocol(X, y, groups=groups, datasets=ds, uids=uids, protocol="loso", classifier="knn",
                       params={"n_neighbors": 1})
    p = run.predictions
    assert list(p.columns) == ["uid", "dataset", "group", "fold", "search", "true", "predicted"]
    assert sorted(p["uid"]) == sorted(uids) and (p["search"] == "none").all()
    assert (p["fold"] == p["group"]).all()
    for name, tr, te in protocol_folds("loso", y=y, groups=groups):
        mu, sd = X[tr].mean(0), X[tr].std(0)
        ref = KNeighborsClassifier(1).fit((X[tr] - mu) / sd, y[tr]).predict((X[te] - mu) / sd)
        got = p.set_index("uid").loc[uids[te], "predicted"].to_numpy()
        np.testing.assert_array_equal(got, ref)


def test_run_protocol_rejects_nan_features_by_sample():
    X, y, groups, ds, uids = toy()
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*casme2/clip7"):
        run_protocol(X, y, groups=groups, uids=uids, classifier="knn", params={"n_neighbors": 1})


def test_run_protocol_warns_with_notes():
    X, y, groups, ds, uids = toy()
    y = y.astype(object)
    y[0] = "rare"
    with pytest.warns(ProtocolWarning, match="single sample"):
        run = run_protocol(X, y, groups=groups, classifier="knn", params={"n_neighbors": 1})
    assert any("rare" in n for n in run.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_protocol(X, y, groups=groups, classifier="knn", params={"n_neighbors": 1}, warn=False)


def test_megc_note_never_advises_a_mapping_that_empties_the_corpus():
    X, y, groups, ds, uids = toy(datasets=("casme2", "samm", "smic"))
    codes = np.array([{"neg": "0", "pos": "1", "sur": "2"}[v] for v in y])
    note = " ".join(protocol_notes("megc", y=codes, groups=groups, datasets=ds))
    assert "label_map='megc2019'" in note and "would keep no sample" in note
    assert "corpus.map_classes('megc2019')" not in note
    other = " ".join(protocol_notes("megc", y=np.where(y == "sur", "others", y), groups=groups, datasets=ds))
    assert "would keep no sample" in other and "corpus.map_classes('megc2019')" not in other
    # native emotions the mapping knows: the advice stands, with what it keeps
    native = np.array([{"neg": "disgust", "pos": "happiness", "sur": "others"}[v] for v in y])
    advice = " ".join(protocol_notes("megc", y=native, groups=groups, datasets=ds))
    n_kept = int((native != "others").sum())
    assert f"corpus.map_classes('megc2019') keeps {n_kept} of {y.size} samples" in advice
