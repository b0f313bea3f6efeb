"""The dashboard's logic without a browser: set parameters, check results and figures."""

import importlib.util
from pathlib import Path

import holoviews as hv
import param
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
    for dmap in (app.scores_plot, app.per_class_plot, app.confusion_plot):
        assert isinstance(dmap, hv.DynamicMap)
        assert isinstance(hv.render(dmap), object)
    chart = app._scores_figure()
    bars = chart.get(0)
    assert list(bars.data["method"]) == ["HOG-TOP", "Baseline (majority class)"]  # first method on top
    assert chart.get(2).data == pytest.approx(app.result.baseline["macro_f1"])  # the baseline line


def test_a_new_result_patches_the_same_plots(app):
    """The figures are DynamicMaps fed by pipes: a change sends data, the plot objects stay."""
    page = app.__panel__()
    assert page is not None
    from bokeh.models import Span

    plot, table = app.scores_plot, app.table
    live = hv.renderer("bokeh").get_plot(plot)  # as the browser holds it
    span = live.state.select_one(Span)
    assert span.location == pytest.approx(app.result.baseline["macro_f1"])
    app.mapping = "megc2019"
    assert app.scores_plot is plot and app.table is table
    # the same bokeh figure now shows the new baseline: patched in place, not rebuilt
    assert live.state.select_one(Span) is span
    assert span.location == pytest.approx(app.result.baseline["macro_f1"])
    assert app.previous is not None and app.previous.baseline["macro_f1"] != pytest.approx(span.location)
    assert list(app.table.value.index) == ["baseline", "hog_top", "majority baseline"]
    assert app.table.value.loc["majority baseline", "accuracy"] == pytest.approx(0.5)


def test_csv_download_holds_the_shown_table(app):
    import io

    import pandas as pd

    csv = pd.read_csv(io.StringIO(app.scores_csv().getvalue()), index_col="method")
    shown = app.table.value
    assert list(csv.index) == list(shown.index)
    assert csv.to_numpy() == pytest.approx(shown.to_numpy())


def test_unfit_mappings_are_not_offered(app):
    app.__panel__()
    app._launch(app._refresh_mappings)
    widget = app._mapping_widget
    # smic_3 leaves only "surprise" of the synthetic classes: not offered
    assert sorted(widget.options.values()) == ["casme2_5", "megc2019", "native", "samm_5"]
    label = next(k for k, v in widget.options.items() if v == "megc2019")
    assert label == "megc2019: 3 classes"
    app.mapping = "megc2019"
    assert "3 classes: negative, positive, surprise" in app._mapping_note.object
    assert "Not offered" in app._mapping_note.object
    assert "smic_3 (surprise)" in app._mapping_note.object  # and why


def test_an_unfit_mapping_is_refused_with_a_fix(app):
    app.__panel__()
    assert app.mapping_table is None  # as before the mapping table arrives, or from a shared link
    previous = app.result
    app.mapping = "smic_3"  # e.g. from a shared link: refused with a clear message and a fix
    assert "only the class 'surprise'" in app.message
    assert app.result is previous and app.stale
    assert "at least two classes" in app.alert.object


def test_ignored_controls_are_greyed_out(app):
    app.__panel__()
    c = app.setting_widgets["C"]
    assert app.classifier == "knn" and c.disabled
    app.classifier = "svm_linear"
    assert not c.disabled
    app.search = "nested"
    assert c.disabled and app.classifier_params() == {}
    # hog_top has no flow: engine and alignment do nothing, TIM does
    assert app.setting_widgets["engine"].disabled and app.setting_widgets["align"].disabled
    assert not app.setting_widgets["tim"].disabled
    app.methods = ["baseline", "lbp_top"]
    app.lbp_radius = 2
    # LBP with radius 2 needs 5 frames: the TIM slider starts there
    assert app.setting_widgets["tim"].start == 5 and app.tim >= 5


def test_error_greys_the_old_scores_and_suggests_the_composite(app):
    app.__panel__()
    app.protocol = "cross"
    assert app.stale and app.alert.visible
    assert "synthetic_composite" in app.alert.object
    assert all(p.styles.get("opacity") == "0.35" for p in app._result_panes)
    app.protocol = "loso"
    assert not app.stale and not app.alert.visible
    assert all(p.styles.get("opacity") == "1" for p in app._result_panes)


def test_cancel_drops_the_running_comparison(app):
    app.__panel__()
    app.busy = True
    app.cancel()
    assert not app.busy and not app.cancel_button.visible and app._cancel.is_set()
    assert app.stale  # the scores shown are not those of the settings chosen


def test_sample_browser_slider_fits_the_clip_and_marks_the_frame(app):
    app.__panel__()
    corpus = mc.get_corpus(app.choice())
    uid = corpus.uids[0]
    view = mc.sample_view(app.choice(), uid)
    app.sample_figures(view)
    n = view["cube"].sizes["time"]
    assert app.frame_slider.end == n - 1
    column = app.sample_figures(view)
    from bokeh.models import Span

    plot = hv.renderer("bokeh").get_plot(column[2].object)  # the magnitude curve, as the browser holds it
    frames = view["cube"]["frame"].values
    for position in (3, n - 1):
        # the slider's released value moves the black marker of the same plot to that frame number
        with param.edit_constant(app.frame_slider):
            app.frame_slider.param.update(value=position, value_throttled=position)
        spans = [(s.location, s.line_color) for s in plot.state.select(Span)]
        assert (float(frames[position]), "black") in spans


def test_a_widget_change_recomputes_and_keeps_the_previous_result(app):
    first = app.result
    app.mapping = "megc2019"  # the watcher recomputes (synchronously outside a server)
    assert app.result is not first and app.previous is first
    assert app.result.baseline["accuracy"] == pytest.approx(0.5)
    assert set(app.result.per_class.columns) == {"negative", "positive", "surprise"}
    assert app.changes_table.visible
    assert set(app.changes_table.value["metric"]) >= {"accuracy"}


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
    panes = app.class_maps_figure()[1].objects
    titles = [p.object.opts.get().kwargs.get("title", "") for p in panes]
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
