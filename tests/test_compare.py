"""The comparison layer behind the dashboard: settings in, scores out, cached by plain values."""

import numpy as np
import pytest
import xarray as xr

from mer_lab import compare as mc
from mer_lab.cube import make_cube

SMALL = dict(n_subjects=4, clips_per_subject=5, size=48)


@pytest.fixture(autouse=True)
def _fresh_memory():
    mc.clear_memory()
    yield
    mc.clear_memory()


def test_compare_scores_every_method_with_the_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    choice = mc.CorpusChoice("synthetic", **SMALL)
    result = mc.compare(choice, ["baseline", "hog_top"], classifier="knn",
                        params={"hog_top": {"blocks": (2, 2, 1), "tim": 6}})
    assert list(result.scores["method"]) == ["baseline", "hog_top"]
    corpus = mc.get_corpus(choice)
    counts = corpus.class_counts()
    # the baseline row is the majority class of the tested samples
    assert result.baseline["accuracy"] == pytest.approx(counts.max() / counts.sum())
    assert set(result.per_class.columns) == set(corpus.classes)
    cm = result.confusion("hog_top")
    assert cm.to_numpy().sum() == len(corpus)


def test_changes_reports_before_after_and_delta_of_every_metric(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    choice = mc.CorpusChoice("synthetic", **SMALL)
    params = {"hog_top": {"blocks": (2, 2, 1), "tim": 6}}
    one = mc.compare(choice, ["hog_top"], params=params, classifier="knn", classifier_params={"n_neighbors": 1})
    many = mc.compare(choice, ["hog_top"], params=params, classifier="knn", classifier_params={"n_neighbors": 7})
    delta = mc.changes(one, many)
    assert set(delta["metric"]) == {"accuracy", "macro_f1", "uf1", "uar"}
    np.testing.assert_allclose(delta["delta"], delta["after"] - delta["before"])
    assert delta["after"].tolist() == [float(many.scores.iloc[0][m]) for m in delta["metric"]]


def test_results_are_memoised_by_plain_values(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    choice = mc.CorpusChoice("synthetic", **SMALL)
    a = mc.run_method(choice, "hog_top", params={"blocks": (2, 2, 1), "tim": 6}, classifier="knn")
    b = mc.run_method(mc.CorpusChoice("synthetic", **SMALL), "hog_top", params={"tim": 6, "blocks": (2, 2, 1)},
                      classifier="knn")
    assert a is b
    assert mc.get_corpus(choice) is mc.get_corpus(mc.CorpusChoice("synthetic", **SMALL))


def test_impossible_protocol_is_a_clear_error():
    choice = mc.CorpusChoice("synthetic", **SMALL)
    with pytest.raises(ValueError, match="no method could run"):
        mc.compare(choice, ["hog_top"], protocol="cross", classifier="knn", cache=False)


def test_synthetic_composite_has_three_databases_with_distinct_subjects():
    corpus = mc.synthetic_composite(n_subjects=2, clips_per_subject=3, size=48)
    assert corpus.datasets == ["synthetic_a", "synthetic_b", "synthetic_c"]
    assert corpus.samples["group"].nunique() == 6
    cube = corpus.cube(corpus.uids[-1])
    assert cube.attrs["dataset"] == "synthetic_c"
    assert cube.attrs["fps"] == 60
    # parts made with different seeds hold different faces
    a, b = corpus.cube(corpus.uids[0]), corpus.cube(corpus.uids[3])
    assert not np.array_equal(a.values[0], b.values[0])


def test_dataset_options_list_synthetic_and_grey_out_missing_real_ones(tmp_path, monkeypatch):
    monkeypatch.delenv("MER_LAB_DATA", raising=False)
    manifest = tmp_path / "m.yaml"
    manifest.write_text("datasets: {}\n")
    options = mc.dataset_options(manifest=str(manifest)).set_index("name")
    assert options.loc["synthetic", "usable"]
    assert not options.loc["casme2", "usable"]
    assert "licensed" in options.loc["casme2", "hint"]


def test_unknown_search_lists_valid_ones():
    with pytest.raises(ValueError, match="nested"):
        mc.run_method(mc.CorpusChoice(**SMALL), "hog_top", search="best")


def test_mapping_options_say_what_each_mapping_keeps():
    choice = mc.CorpusChoice("synthetic", **SMALL)
    table = mc.mapping_options(choice).set_index("mapping")
    corpus = mc.get_corpus(choice)
    assert table.at["native", "classes"] == list(corpus.classes)
    # the synthetic corpus has the CASME II classes: SMIC's three classes keep only surprise
    smic = corpus.map_classes("smic_3")
    assert table.at["smic_3", "classes"] == list(smic.classes) == ["surprise"]
    assert not table.at["smic_3", "fits"] and table.at["smic_3", "n_samples"] == len(smic)
    assert table.at["megc2019", "fits"] and table.at["megc2019", "n_classes"] == 3


def test_a_one_class_corpus_is_refused_with_the_mapping_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    choice = mc.CorpusChoice("synthetic", mapping="smic_3", **SMALL)
    with pytest.raises(ValueError, match=r"'smic_3' leaves only the class 'surprise'.*at least two classes"):
        mc.compare(choice, ["baseline"])


def test_sample_view_alignment_removes_a_head_shift():
    choice = mc.CorpusChoice("synthetic", **SMALL)
    uid = mc.get_corpus(choice).uids[0]
    plain = mc.sample_view(choice, uid)
    aligned = mc.sample_view(choice, uid, align="translation")
    from mer_lab.features.flow import remove_global_motion

    expected = remove_global_motion(plain["flow"], model="translation")
    assert np.allclose(np.asarray(aligned["flow"]), np.asarray(expected))
    assert not np.allclose(np.asarray(aligned["flow"]), np.asarray(plain["flow"]))
    assert aligned["curve"].attrs["align"] == "translation"
    assert plain["curve"].attrs.get("align", "none") == "none"
    with pytest.raises(ValueError, match="align"):
        mc.sample_view(choice, uid, align="rigid")


def test_corpus_choice_offers_twins_and_the_appearance_knob():
    twin = mc.get_corpus(mc.CorpusChoice("synthetic", like="smic", scale=0.25, size=48))
    assert twin.samples["subject"].nunique() == 4 and len(twin) == 41
    assert twin.info["like"] == "smic" and twin.info["size"] == 48
    assert set(twin.classes) == {"negative", "positive", "surprise"}
    plain = mc.get_corpus(mc.CorpusChoice("synthetic", appearance=0, **SMALL))
    shaded = mc.get_corpus(mc.CorpusChoice("synthetic", appearance=20, **SMALL))
    assert plain.info["appearance"] == 0 and shaded.info["appearance"] == 20
    default = mc.get_corpus(mc.CorpusChoice("synthetic", **SMALL))
    from mer_lab.datasets.synthetic import difficulty_knobs

    assert default.info["appearance"] == difficulty_knobs("default")["appearance"]


@pytest.mark.parametrize("kwargs, words", [(dict(like="casme3"), ["like", "casme2"]),
                                           (dict(like="casme", scale=0.05), ["scale"]),
                                           (dict(appearance=100), ["appearance", "60"])])
def test_corpus_choice_rejects_unknown_twins_and_knobs(kwargs, words):
    with pytest.raises(ValueError) as err:
        mc.CorpusChoice("synthetic", **kwargs)
    for w in words:
        assert w in str(err.value)


# --------------------------------------------------------------------------- class averages
def test_a_network_reports_its_epochs_to_the_comparison_progress(tmp_path, monkeypatch):
    """A deep method trains for minutes: the dashboard's progress callback hears every epoch,
    the memo key ignores the callback, and raising from it (the Cancel button) stops training."""
    pytest.importorskip("torch")
    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    choice = mc.CorpusChoice("synthetic", **SMALL)
    heard = []
    cparams = {"epochs": 3, "lr": 5e-3}
    params = {"ststnet": {"engine": "farneback"}}
    result = mc.compare(choice, ["ststnet"], params=params, classifier_params=cparams,
                        on_progress=lambda done, total, text: heard.append(text))
    assert not result.errors
    epochs = [t for t in heard if "training epoch" in t]
    assert epochs and epochs[-1].endswith("/" + epochs[-1].rsplit("/", 1)[1])
    done, total = map(int, epochs[-1].rsplit("epoch ", 1)[1].split("/"))
    assert done == total and total % 3 == 0  # 3 epochs per trained model
    assert "progress" not in result.results["ststnet"].config["classifier_params"]

    class Stop(Exception):
        pass

    def cancel(done, total, text):
        if "training epoch" in text:
            raise Stop()

    mc.clear_memory()
    with pytest.raises(ValueError, match="Stop"):  # training stopped at its first epoch
        mc.compare(choice, ["ststnet"], params=params, classifier_params=cparams, on_progress=cancel)
