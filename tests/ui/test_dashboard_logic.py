"""The dashboard's logic without a browser: set parameters, check results and figures."""

import importlib.util
from pathlib import Path

import holoviews as hv
import panel as pn
import pytest

from mer_lab import compare as mc

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"n_subjects": 4, "clips_per_subject": 5, "size": 48}


@pytest.fixture(scope="module")
def dashboard():
    spec = importlib.util.spec_from_file_location("compare_dashboard", ROOT / "dashboards" / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app(dashboard, tmp_path, monkeypatch):
    monkeypatch.setenv("MER_LAB_CACHE", str(tmp_path))
    mc.clear_memory()
    app = dashboard.CompareApp(corpus_size=SMALL, methods=["baseline", "hog_top"], classifier="knn", tim=6)
    app.run_sync()
    yield app
    mc.clear_memory()


def test_first_comparison_has_scores_and_figures(app):
    assert app.result is not None
    assert app.message == "", app.result.tracebacks
    assert list(app.result.scores["method"]) == ["baseline", "hog_top"]
    assert isinstance(app.scores_view().object, hv.Overlay)
    assert isinstance(app.per_class_view().object, hv.Overlay)
    assert isinstance(app.confusion_view("hog_top").object, hv.Overlay)


def test_a_widget_change_recomputes_and_keeps_the_previous_result(app):
    first = app.result
    app.mapping = "megc2019"  # the watcher recomputes (synchronously outside a server)
    assert app.result is not first and app.previous is first
    assert app.result.baseline["accuracy"] == pytest.approx(0.5)
    assert set(app.result.per_class.columns) == {"negative", "positive", "surprise"}
    table = app.changes_view()
    assert isinstance(table, pn.widgets.Tabulator)
    assert set(table.value["metric"]) >= {"accuracy"}


def test_method_parameters_reach_the_library(app):
    app.lbp_blocks = 2
    app.lbp_radius = 2
    params = app.method_params()
    assert params["lbp_top"]["blocks"] == (2, 2, 1) and params["lbp_top"]["radii"] == (2, 2, 2)
    assert params["hog_top"]["tim"] == 6
    assert app.common_params()["engine"] == app.engine


def test_bad_settings_show_a_message_and_the_app_keeps_working(app):
    app.protocol = "cross"
    assert "Cannot compare" in app.message
    app.protocol = "loso"
    assert app.message == "" and app.result is not None


def test_a_vanished_real_dataset_is_reported(app, dashboard):
    app.param.dataset.objects = [*app.param.dataset.objects, "casme2"]
    app.dataset = "casme2"
    assert "Cannot compare" in app.message and "casme2" in app.message


def test_class_maps_one_panel_per_class(app):
    layout = app.class_maps_view().object
    titles = [p.opts.get().kwargs.get("title", "") for p in layout]
    assert len(titles) == len(mc.get_corpus(app.choice()).classes)
    assert all("(n=" in t for t in titles)


def test_page_builds(app):
    page = app.__panel__()
    assert isinstance(page, pn.template.FastListTemplate)


def test_evm_and_alignment_widgets_reach_the_features(app):
    app.methods = ["baseline", "hoof"]
    plain = app.result.results["hoof"]
    app.evm_alpha = 10.0
    magnified = app.result.results["hoof"]
    assert magnified is not plain
    assert magnified.config["method_params"]["evm_alpha"] == 10.0
    app.align = "affine"
    assert app.result.results["hoof"].config["method_params"]["align"] == "affine"


def test_twin_and_appearance_widgets_reach_the_corpus(app):
    app.twin = "smic"  # recomputes on a quarter-size SMIC twin at the dashboard's frame size
    choice = app.choice()
    assert choice.like == "smic" and choice.appearance is None
    assert set(app.result.per_class.columns) == {"negative", "positive", "surprise"}
    assert len(mc.get_corpus(choice)) == 41
    app.appearance = 0.0
    assert app.choice().appearance == 0.0
    assert mc.get_corpus(app.choice()).info["appearance"] == 0.0
