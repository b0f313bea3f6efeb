"""mer_lab dashboard: compare micro-expression methods and look at their motion.

Serve it with ``make dashboard`` or ``panel serve dashboards/compare.py``. Everything is
computed by the library (:mod:`mer_lab.compare`, :mod:`mer_lab.viz`); this file holds
the widgets, how they are bound, and the layout.

How the page stays responsive
-----------------------------
Every computation (a comparison, the class-average flow maps, a clip of the sample
browser, the list of samples and what each class mapping keeps) runs in a worker
thread; the server's event loop only swaps finished results in. Each pane that waits
shows a progress bar, a running comparison can be cancelled, and the page is drawn at
once, before the first comparison ends. Figures are HoloViews DynamicMaps fed by
streams, so a new result patches the data of the plots already in the browser instead
of sending new figures.

Every setting is mirrored in the page's URL (share the link to share the comparison).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import threading

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from mer_lab import compare as mc
from mer_lab import viz
from mer_lab.datasets import CLASS_MAPPINGS
from mer_lab.evaluation.classifiers import CLASSIFIERS
from mer_lab.evaluation.protocols import PROTOCOLS
from mer_lab.methods import list_methods

hv.extension("bokeh", logo=False)
pn.extension("tabulator", notifications=True)

METHODS = list_methods()
METHOD_NAMES = list(METHODS.index)
DEFAULT_METHODS = [m for m in ("baseline", "lbp_top", "hoof", "biwoof", "mdmo") if m in METHOD_NAMES]
CLASSIFIER_NAMES = [c for c in CLASSIFIERS if c != "majority"]
SETTINGS = ["dataset", "difficulty", "twin", "appearance", "mapping", "protocol", "methods", "engine", "align", "tim", "evm_alpha",
            "lbp_radius", "lbp_blocks", "mdmo_lambda", "classifier", "C", "search"]

# which methods each method setting reaches (see CompareApp.method_params)
LBP_FAMILY = ("lbp_top", "lbp_xyot", "lbp_mop", "lbp_sip")
USED_BY = {
    "engine": ("mdmo", "sparse_mdmo", "hoof", "biwoof", "fdm"),
    "align": ("hoof", "biwoof"),
    "tim": (*LBP_FAMILY, "elbp_top", "hog_top", "higo_top"),
    "evm_alpha": tuple(m for m in METHOD_NAMES if m != "baseline"),
    "lbp_radius": ("lbp_top", "lbp_xyot", "lbp_mop"),
    "lbp_blocks": LBP_FAMILY,
    "mdmo_lambda": ("mdmo", "sparse_mdmo"),
}

PROTOCOL_LABELS = {
    "loso": "Leave one subject out (LOSO)",
    "lovo": "Leave one clip out (LOVO)",
    "cross": "Cross-database (train on some databases, test on another)",
    "megc": "MEGC 2019 composite (LOSO over all parts)",
}
CLASSIFIER_LABELS = {
    "svm_linear": "SVM, linear kernel", "svm_rbf": "SVM, RBF kernel", "svm_poly": "SVM, polynomial kernel",
    "knn": "k nearest neighbours", "random_forest": "Random forest", "adaboost": "AdaBoost",
    "elm": "Extreme learning machine",
}
SEARCH_LABELS = {"none": "none (fixed)", "thesis": "thesis (optimistic)", "nested": "nested (honest)"}
METRIC_LABELS = {"macro_f1": "macro F1", "accuracy": "accuracy", "uf1": "UF1", "uar": "UAR"}

GUIDE = (
    "**What this page does.** It trains and tests micro-expression recognition methods on the corpus chosen "
    "on the left and shows how well each recognises the emotion of clips from subjects it never saw "
    "(scores from 0 to 1; the dashed red line is what always guessing the most frequent class scores). "
    "**Try first:** add *HOOF* or *MDMO* to the methods, then switch the difficulty to *hard* and watch the "
    "grey diamonds (the previous run) move away from the bars. The *Apex flow maps* tab shows where each "
    "class moves the face; the *Sample browser* plays one clip with its motion curve."
)

# Labels a student understands, with units, and what each control does (tooltip).
HELP = {
    "dataset": ("Dataset", "The clips the methods are trained and tested on. 'synthetic' is built in; the "
                "composite has three parts recorded differently (for cross-database tests). Greyed entries "
                "are licensed datasets not found on this machine."),
    "difficulty": ("Difficulty of the synthetic clips", "How strong the distractors are (head motion, noise, "
                   "lighting changes, weak expressions). Synthetic datasets only."),
    "twin": ("Synthetic twin of a real dataset", "Copy a real dataset's subjects, class balance, frame rate "
             "and clip lengths (at a quarter of its size) in synthetic clips. 'none': the default corpus."),
    "appearance": ("Skin appearance changes (grey levels)", "How strongly the expressions also wrinkle, furrow "
                   "and bulge the skin (what LBP-TOP and HOG see). 0: motion only; auto: the difficulty's level."),
    "mapping": ("Emotion classes (class mapping)", "Merge the dataset's emotions into the classes of a paper or "
                "challenge. Each entry says how many classes it keeps on this dataset; mappings that would leave "
                "fewer than two classes are not offered (every score would be a meaningless 1.0)."),
    "protocol": ("Evaluation protocol", "How test clips are kept apart from training: LOSO holds out one "
                 "subject at a time (the standard); LOVO one clip; cross-database trains on some databases "
                 "and tests on another (needs a composite dataset)."),
    "methods": ("Methods compared", "Feature methods from the literature, plus 'baseline' (always the most "
                "frequent class). Each added method is trained and tested in turn."),
    "engine": ("Optical flow engine", "How motion between frames is measured, for HOOF, Bi-WOOF, MDMO, Sparse "
               "MDMO and FDM. Farneback and DIS are fast; TV-L1 is the papers' choice and much slower."),
    "align": ("Remove head motion (HOOF, Bi-WOOF)", "Fit the whole-face motion on the flow and subtract it, "
              "so that a nodding head does not hide the expression. Also used by the sample browser."),
    "tim": ("Clip length after interpolation (frames)", "TIM resamples every clip to this many frames before "
            "LBP/HOG features. LBP methods compare each frame with the frames one radius before and after, so "
            "they need at least 2 x radius + 1 frames: the slider starts there."),
    "evm_alpha": ("Motion magnification (x times, 0 = off)", "Eulerian video magnification amplifies the "
                  "subtle motion before the features are computed. Large values also amplify noise."),
    "lbp_radius": ("LBP neighbourhood radius (px and frames)", "How far (in pixels and frames) each LBP code "
                   "looks from its centre pixel."),
    "lbp_blocks": ("LBP face grid (blocks per side)", "The face is cut into this many blocks per row and column; "
                   "each block gets its own histograms."),
    "mdmo_lambda": ("MDMO smoothing weight (0-1)", "How much MDMO's direction feature trusts the main direction "
                    "of each face region (1) versus the average over the clip (0)."),
    "classifier": ("Classifier", "What learns to tell the classes apart from the features."),
    "C": ("SVM penalty C", "How hard the SVM tries to classify every training clip correctly (larger: tighter "
          "fit, risk of over-fitting). Only for SVMs, and only when no search chooses it."),
    "search": ("Hyper-parameter search", "none: fixed settings. thesis: choose settings on the test scores "
               "(what many papers did; optimistic). nested: choose on training subjects only (honest)."),
    "metric": ("Score shown in the chart", "Macro F1 and UF1 weigh every class equally; accuracy favours the "
               "frequent classes."),
}


class Fast(pn.theme.Fast):
    """Panel's Fast design without its web font (Open Sans from Google Fonts).

    Everything else the page needs is served by the Panel server itself, so the
    dashboard works on a machine without internet. (The class keeps the name ``Fast``:
    Panel finds the design's own files under that name.)
    """

    _resources = {k: v for k, v in pn.theme.Fast._resources.items() if k != "font"}


def _plot(obj, **kwargs):
    """A fixed-size HoloViews pane whose axes are not linked to other plots of the page."""
    return pn.pane.HoloViews(obj, linked_axes=False, sizing_mode="fixed", **kwargs)


def _waiting(text: str):
    """A progress indicator for a pane whose content is being computed."""
    return pn.Column(pn.indicators.Progress(active=True, value=-1, bar_color="info", width=260),
                     pn.pane.Markdown(text, styles={"color": "#555"}), width=420)


def _suggestion(message: str, app: CompareApp) -> str:
    """A fix a student can try for a comparison that failed."""
    text = message.lower()
    if app.protocol in ("cross", "megc") and app.dataset == "synthetic":
        return ("This protocol needs several databases: pick **synthetic_composite** as the dataset (or a real "
                "composite), or go back to LOSO.")
    if "class" in text and ("mapping" in text or "one-class" in text):
        return "Pick a class mapping that keeps at least two classes (the list says what each keeps)."
    if "not found" in text or "manifest" in text:
        return "Set the dataset's folder in `data_manifest.yaml` (or under `$MER_LAB_DATA`), or pick another one."
    if "tim" in text or "frames" in text:
        return "Raise the clip length after interpolation (TIM)."
    return "Undo the last change, or try LOSO on the synthetic corpus."


_DATASETS: list = []


def _dataset_options() -> pd.DataFrame:
    """Which datasets this machine has, read once per server (the manifest is parsed per dataset)."""
    if not _DATASETS:
        _DATASETS.append(mc.dataset_options())
    return _DATASETS[0]


FramePosition = hv.streams.Stream.define("FramePosition", position=0)


class Cancelled(Exception):
    """A comparison stopped by the user."""


class CompareApp(pn.viewable.Viewer):
    """The dashboard's state: settings in, comparison and figures out."""

    dataset = param.Selector(default="synthetic", objects=["synthetic"], doc="corpus to compare on")
    difficulty = param.Selector(default="default", objects=list(mc.DIFFICULTIES))
    twin = param.Selector(default="none", objects=["none", "casme2", "smic", "casme", "samm"],
                          doc="synthetic: a quarter-size twin of a real dataset")
    appearance = param.Selector(default="auto", objects=["auto", 0.0, 3.0, 6.0, 12.0, 24.0],
                                doc="synthetic: AU wrinkles and bulges, grey levels (auto: the difficulty's; 0: off)")
    mapping = param.Selector(default="native", objects=["native", *CLASS_MAPPINGS])
    protocol = param.Selector(default="loso", objects=list(PROTOCOLS))
    methods = param.ListSelector(default=DEFAULT_METHODS, objects=METHOD_NAMES)
    engine = param.Selector(default="farneback", objects=["farneback", "dis", "tvl1"], doc="optical flow engine")
    align = param.Selector(default="none", objects=["none", "translation", "affine"],
                           doc="HOOF / Bi-WOOF: remove head motion fitted on the flow first")
    tim = param.Integer(default=10, bounds=(2, 40), doc="TIM length (frames) for LBP/HOG methods")
    evm_alpha = param.Number(default=0.0, bounds=(0, 30), step=1, doc="EVM magnification (0: off)")
    lbp_radius = param.Integer(default=1, bounds=(1, 3), doc="LBP-TOP radius in x, y and t")
    lbp_blocks = param.Integer(default=4, bounds=(1, 8), doc="LBP-TOP blocks per row and column")
    mdmo_lambda = param.Number(default=0.9, bounds=(0.0, 1.0), step=0.05, doc="MDMO lambda")
    classifier = param.Selector(default="svm_linear", objects=CLASSIFIER_NAMES)
    C = param.Selector(default=1.0, objects=[0.1, 1.0, 10.0, 100.0], doc="SVM penalty C")
    search = param.Selector(default="none", objects=list(mc.SEARCHES))
    metric = param.Selector(default="macro_f1", objects=list(METRIC_LABELS), doc="score drawn in the chart")

    result = param.Parameter(default=None, doc="the current Comparison")
    previous = param.Parameter(default=None, doc="the Comparison before the last change")
    message = param.String(default="", doc="why the last comparison failed (empty: it did not)")
    busy = param.Boolean(default=False, doc="a comparison is running")
    stale = param.Boolean(default=False, doc="the scores shown are not those of the current settings")

    corpus_size = param.Dict(default={}, constant=True,
                             doc="synthetic corpus size (n_subjects, clips_per_subject, size)")

    def __init__(self, **params):
        options = _dataset_options()
        self._options = options
        self.param.dataset.objects = options["name"].tolist()
        super().__init__(**params)
        self._run_id = 0
        self._cancel = threading.Event()
        self._tokens: dict[str, int] = {}
        self._loaded = False
        self._served = False
        self.setting_widgets: dict = {}
        self._frame_watcher = None
        self.mapping_table = None

        # -- comparison state shown while it runs
        self.progress = pn.indicators.Progress(value=0, max=1, visible=False, bar_color="info", width=300)
        self.status = pn.pane.Markdown("", margin=(0, 10))
        self.cancel_button = pn.widgets.Button(label="Cancel", color="warning", visible=False, width=90,
                                               description="Stop the running comparison (the method being "
                                                           "computed finishes in the background).")
        self.cancel_button.on_click(lambda _: self.cancel())
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False)
        self.stale_note = pn.pane.Markdown("", visible=False, styles={"color": "#8a6d3b"})

        # -- figures fed by streams: a new result patches the plots' data in place
        self._scores_pipe = hv.streams.Pipe(data=None)
        self._per_class_pipe = hv.streams.Pipe(data=None)
        self._confusion_pipe = hv.streams.Pipe(data=None)
        self.scores_plot = hv.DynamicMap(self._scores_figure, streams=[self._scores_pipe])
        self.per_class_plot = hv.DynamicMap(self._per_class_figure, streams=[self._per_class_pipe])
        self.confusion_plot = hv.DynamicMap(self._confusion_figure, streams=[self._confusion_pipe])
        # each figure appears with the first result (its axes need data), then is patched in place
        self._slots = {name: pn.Column(_waiting("Computing the first comparison..."))
                       for name in ("scores", "per_class", "confusion")}
        self.table = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, layout="fit_data_table",
                                          show_index=True, width=560, height=260)
        self.changes_table = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, layout="fit_data_table",
                                                  width=560, height=200, visible=False)
        self.changes_note = pn.pane.Markdown("*Change a setting: what changed, and by how much, shows here.*")
        self.method_pick = pn.widgets.Select(label="Confusion matrix of", options=list(self.methods),
                                             value=self.methods[-1] if self.methods else None, width=240)
        self.method_pick.param.watch(lambda e: self._confusion_pipe.send(e.new), "value")
        self.param.watch(lambda e: self._scores_pipe.send(e.new), "metric")
        self.param.watch(self._on_methods, "methods")

        # -- the other tabs: filled off the event loop when they are shown
        self.class_maps = pn.Column(pn.pane.Markdown("*Open this tab to compute the maps.*"), sizing_mode="stretch_width")
        self.sample_pick = pn.widgets.Select(label="Clip", options=[], width=260,
                                             description="A clip of the current dataset (first 200).")
        self.frame_slider = pn.widgets.IntSlider(label="Frame (position in the clip)", start=0, end=1, value=0,
                                                 width=360)
        self.frame_tip = pn.widgets.TooltipIcon(value="Move through the clip; the image and the black marker on "
                                                      "the motion curve follow when you release the handle.",
                                                margin=(25, 0, 0, 0))
        self.sample_box = pn.Column(pn.pane.Markdown("*Open this tab to browse clips.*"), sizing_mode="stretch_width")
        self._maps_stale = True
        self._samples_stale = True
        self.sample_pick.param.watch(lambda e: self._launch(self._refresh_sample), "value")

        self.param.watch(self._on_change, SETTINGS)
        self.param.watch(self._on_corpus_change, ["dataset", "difficulty", "twin", "appearance", "mapping"])
        self.param.watch(self._on_flow_change, ["engine", "align"])
        self.param.watch(self._on_state, ["message", "busy", "stale"])

    # -- settings -> library calls -------------------------------------------------------
    @staticmethod
    def _setting_names():
        return list(SETTINGS)

    def choice(self) -> mc.CorpusChoice:
        synthetic = mc.CorpusChoice(self.dataset).is_synthetic
        return mc.CorpusChoice(self.dataset, difficulty=self.difficulty, mapping=self.mapping,
                               like=self.twin if self.dataset == "synthetic" and self.twin != "none" else None,
                               appearance=None if not synthetic or self.appearance == "auto" else self.appearance,
                               **self.corpus_size)

    def method_params(self) -> dict:
        r, b, t = self.lbp_radius, self.lbp_blocks, self.tim
        lbp = {"radii": (r, r, r), "blocks": (b, b, 1), "tim": t}
        return {"lbp_top": lbp, "lbp_xyot": lbp, "lbp_mop": lbp, "lbp_sip": {"blocks": (b, b, 1), "tim": t},
                "elbp_top": {"tim": t}, "hog_top": {"tim": t}, "higo_top": {"tim": t},
                "hoof": {"align": self.align}, "biwoof": {"align": self.align},
                "mdmo": {"lam": self.mdmo_lambda}, "sparse_mdmo": {"lam": self.mdmo_lambda}}

    def common_params(self) -> dict:
        return {"engine": self.engine, "evm_alpha": self.evm_alpha}

    def c_is_used(self) -> bool:
        """C reaches the classifier only for an SVM without a hyper-parameter search."""
        return self.classifier.startswith("svm") and self.search == "none"

    def classifier_params(self) -> dict:
        return {"C": self.C} if self.c_is_used() else {}

    def used(self, setting: str) -> bool:
        """Whether a method setting reaches any of the methods compared."""
        return any(m in USED_BY.get(setting, METHOD_NAMES) for m in self.methods)

    def compute(self, on_progress=None) -> mc.Comparison:
        """Run the comparison for the current settings (memoised by the library)."""
        return mc.compare(self.choice(), list(self.methods), params=self.method_params(),
                          common=self.common_params(), protocol=self.protocol, classifier=self.classifier,
                          classifier_params=self.classifier_params(), search=self.search,
                          n_jobs=2, on_progress=on_progress)

    def run_sync(self):
        """Compute and publish the result in the calling thread (tests, notebooks)."""
        try:
            result = self.compute()
        except Exception as exc:
            self._fail(f"{exc}")
            return None
        self._publish(result)
        return result

    # -- publishing ------------------------------------------------------------------------
    def _publish(self, result):
        if self.result is not None:
            self.previous = self.result
        self.result = result
        errors = "; ".join(f"{m}: {e}" for m, e in result.errors.items())
        # one message to the browser for the table, the three figures and the page state,
        # so it lays the page out once instead of after every change
        with pn.io.hold():
            self.message = f"**Some methods could not run:** {errors}" if errors else ""
            self.stale = False
            self._refresh_result_views()
            self.busy = False
            self._settle()

    def _fail(self, text: str):
        self.message = f"**Cannot compare with these settings:** {text}"
        self.stale = self.result is not None

    def _refresh_result_views(self):
        r = self.result
        self.table.value = self.scores_table()
        delta = mc.changes(self.previous, r) if r is not None else pd.DataFrame()
        if not delta.empty:
            delta = delta[delta["delta"].abs() > 1e-9]
        if delta.empty:
            self.changes_table.visible = False
            self.changes_note.object = ("*The last change left every score as it was.*" if self.previous is not None
                                        else "*Change a setting: what changed, and by how much, shows here.*")
        else:
            self.changes_table.value = delta.round(4).reset_index(drop=True)
            self.changes_table.visible = True
            self.changes_note.object = "Scores that moved with the last change (after - before):"
        if r is not None:
            compared = [m for m in self.methods if m in r.results]
            self.method_pick.options = compared
            if self.method_pick.value not in compared and compared:
                self.method_pick.value = compared[-1]
        if r is None:
            return
        for name, dmap in (("scores", self.scores_plot), ("per_class", self.per_class_plot),
                           ("confusion", self.confusion_plot)):
            slot = self._slots[name]
            if not (len(slot) and isinstance(slot[0], pn.pane.HoloViews)):
                slot.objects = [_plot(dmap)]
        self._scores_pipe.send(r)
        self._per_class_pipe.send(r)
        self._confusion_pipe.send(self.method_pick.value)

    def scores_table(self) -> pd.DataFrame:
        """The scores table as shown (and downloaded): methods and the majority baseline, 4 decimals."""
        if self.result is None:
            return pd.DataFrame()
        table = self.result.scores.drop(columns=["title"]).set_index("method")
        baseline = pd.DataFrame([self.result.baseline], index=["majority baseline"])
        shown = pd.concat([table, baseline[[c for c in table.columns if c in baseline.columns]]])
        shown.index.name = "method"
        return shown.round(4)

    def scores_csv(self) -> io.StringIO:
        return io.StringIO(self.scores_table().to_csv())

    def figures_html(self) -> io.StringIO:
        """The score chart, F1 per class and the confusion matrix as one HTML file (works offline)."""
        from bokeh.embed import file_html
        from bokeh.layouts import column
        from bokeh.resources import INLINE

        figs = [self._scores_figure(), self._per_class_figure(), self._confusion_figure(self.method_pick.value)]
        models = column([hv.render(f) for f in figs])
        return io.StringIO(file_html(models, INLINE, "mer_lab comparison"))

    # -- figures (called by the DynamicMaps) -------------------------------------------------
    def _scores_figure(self, data=None):
        r = self.result
        prev = self.previous.scores if self.previous is not None else None
        return viz.score_chart(r.scores if r is not None else None, metric=self.metric,
                               baseline=r.baseline if r is not None else None, previous=prev, width=340)

    def _per_class_figure(self, data=None):
        r = self.result
        if r is None or r.per_class.empty:
            heat = hv.HeatMap(pd.DataFrame({"class": [], "method": [], "F1": []}), kdims=["class", "method"],
                              vdims=["F1"])
            return (heat * hv.Labels(heat)).opts(hv.opts.HeatMap(frame_width=380, title="F1 per class"))
        return viz.per_class_heatmap(r.per_class, width=380).opts(hv.opts.HeatMap(framewise=True))

    def _confusion_figure(self, data=None):
        method = self.method_pick.value
        r = self.result
        if r is None or method not in r.results:
            heat = hv.HeatMap(pd.DataFrame({"predicted": [], "true": [], "count": []}),
                              kdims=["predicted", "true"], vdims=["count"])
            return (heat * hv.Labels(heat)).opts(hv.opts.HeatMap(frame_width=260, frame_height=260,
                                                                  title="Confusion matrix"))
        return viz.confusion_heatmap(r.confusion(method), title=f"Confusion matrix: {method}",
                                     width=260).opts(hv.opts.HeatMap(framewise=True))

    # -- reacting to settings ----------------------------------------------------------------
    def _launch(self, coroutine_function):
        """Run an async task on the session's loop when served; right here otherwise (tests)."""
        if self._served:
            pn.state.execute(coroutine_function)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(coroutine_function())
            return
        # a loop already runs in this thread (e.g. a notebook): run to the end in another
        worker = threading.Thread(target=lambda: asyncio.run(coroutine_function()))
        worker.start()
        worker.join()

    def _on_change(self, *events):
        """In a served session compute in the background; elsewhere (tests) right away."""
        if self._served:
            if self._loaded:
                self._acknowledge()
                pn.state.execute(self._schedule)
        else:
            self.run_sync()

    def _acknowledge(self):
        """Show at once that the new settings are being computed (the old scores grey out)."""
        self.busy = True
        self.progress.visible = True
        self.cancel_button.visible = True
        self.status.object = "Computing with the new settings..."

    def _on_methods(self, event):
        self.method_pick.options = [m for m in event.new if self.result is None or m in self.result.results] \
            or list(event.new)

    def _on_corpus_change(self, *events):
        self._maps_stale = True
        self._samples_stale = True
        if any(e.name != "mapping" for e in events):
            self._launch(self._refresh_mappings)
        self._refresh_visible_tab()

    def _on_flow_change(self, *events):
        self._maps_stale = self._maps_stale or any(e.name == "engine" for e in events)
        self._samples_stale = True
        self._refresh_visible_tab()

    def _on_state(self, *events):
        self.alert.object = self.message + (f"\n\n**Try:** {_suggestion(self.message, self)}"
                                            if self.message.startswith("**Cannot") else "")
        self.alert.visible = bool(self.message)
        if self.stale and self.result is not None:
            self.stale_note.object = ("*The greyed scores below are from earlier settings, not from the ones "
                                      "chosen now.*")
        self.stale_note.visible = bool(self.stale and self.result is not None and not self.busy)
        faded = (self.stale or self.busy) and self.result is not None
        for pane in getattr(self, "_result_panes", []):
            pane.styles = {"opacity": "0.35"} if faded else {"opacity": "1"}

    def cancel(self):
        """Stop the running comparison: its result is dropped, the page is free at once."""
        self._cancel.set()
        self._run_id += 1
        self.busy = False
        self.progress.visible = False
        self.cancel_button.visible = False
        self.status.object = "*Cancelled.*"
        self.stale = self.result is not None

    async def _schedule(self, *events):
        """Recompute in a worker thread so the page never freezes; newest settings win."""
        self._cancel.set()  # a run still going for older settings stops at its next method
        self._cancel = cancel = threading.Event()
        self._run_id += 1
        run_id = self._run_id
        self._acknowledge()
        self.progress.value, self.progress.max = 0, max(len(self.methods), 1)
        doc = pn.state.curdoc

        def on_progress(done, total, text):
            if cancel.is_set():
                raise Cancelled()

            def update():
                # runs in the session's own turn, after anything the comparison's end changed
                if run_id == self._run_id and self.busy:
                    self.progress.max = max(total, 1)
                    self.progress.value = done
                    self.status.object = f"Computing: {text}"
            if doc is not None and done < total:
                doc.add_next_tick_callback(update)  # thread-safe: Bokeh queues it on the server's loop

        try:
            result = await asyncio.to_thread(self.compute, on_progress)
            if run_id == self._run_id:
                self._publish(result)
        except Cancelled:
            pass
        except Exception as exc:
            if run_id == self._run_id:
                self._fail(f"{exc}")
        finally:
            if run_id == self._run_id:
                self.busy = False
                self._settle()
                if doc is not None:  # again after any change still queued for this session
                    doc.add_next_tick_callback(self._settle)

    def _settle(self):
        """The idle look: no progress bar, no Cancel button, no status (unless a run is going)."""
        if not self.busy:
            self.status.object = ""
            self.progress.visible = False
            self.cancel_button.visible = False

    # -- mappings that fit the corpus --------------------------------------------------------
    async def _refresh_mappings(self):
        token = self._token("mappings")
        choice = self.choice()
        try:
            table = await asyncio.to_thread(mc.mapping_options, choice)
        except Exception:
            return  # the comparison reports why the corpus cannot be read
        if token == self._tokens["mappings"]:
            self._apply_mappings(table)

    def _apply_mappings(self, table: pd.DataFrame):
        self.mapping_table = table
        widget = getattr(self, "_mapping_widget", None)
        note = getattr(self, "_mapping_note", None)
        if widget is not None:
            # only the mappings that keep at least two classes are offered; the note below the
            # list names the others and what they would keep
            widget.options = {self.mapping_label(row): row["mapping"] for _, row in table.iterrows()
                              if row["fits"] or row["mapping"] == self.mapping}
        if self.mapping not in set(table.loc[table["fits"], "mapping"]):
            unfit = table.set_index("mapping").loc[self.mapping]
            if self._served:
                pn.state.notifications.warning(
                    f"The class mapping {self.mapping} keeps {unfit['n_classes']} class(es) of {self.dataset}: "
                    "back to the dataset's own classes.", duration=6000)
            self.mapping = "native"
            if widget is not None:
                widget.options = {k: v for k, v in widget.options.items() if v in set(table.loc[table["fits"], "mapping"])}
        if note is not None:
            note.object = self.mapping_note()

    @staticmethod
    def mapping_label(row) -> str:
        name = "native (the dataset's own)" if row["mapping"] == "native" else row["mapping"]
        if not row["classes"]:
            return f"{name}: no clip left"
        if not row["fits"]:
            return f"{name}: only {row['classes'][0]}, unusable"
        return f"{name}: {row['n_classes']} classes"

    def mapping_note(self) -> str:
        """What the chosen mapping keeps, and which mappings are greyed out and why."""
        table = self.mapping_table
        if table is None:
            return ""
        rows = table.set_index("mapping")
        if self.mapping not in rows.index:
            return ""
        row = rows.loc[self.mapping]
        text = f"Keeps {row['n_samples']} clips in {row['n_classes']} classes: {', '.join(row['classes'])}."
        unfit = [f"{m} ({', '.join(r['classes']) or 'nothing'})" for m, r in rows.iterrows() if not r["fits"]]
        if unfit:
            text += f" Not offered, fewer than two classes left: {'; '.join(unfit)}."
        return text

    def _token(self, key: str) -> int:
        self._tokens[key] = self._tokens.get(key, 0) + 1
        return self._tokens[key]

    # -- class maps and the sample browser -----------------------------------------------------
    def _refresh_visible_tab(self):
        tabs = getattr(self, "tabs", None)
        if tabs is None:
            return
        if tabs.active == 1 and self._maps_stale:
            self._launch(self._refresh_class_maps)
        elif tabs.active == 2 and self._samples_stale:
            self._launch(self._refresh_samples)

    def class_maps_figure(self, averages=None):
        """One fixed-size panel per class, wrapping to the page width."""
        if averages is None:
            averages = mc.class_averages(self.choice(), engine=self.engine)
        layout = viz.class_average_maps(averages, width=200)
        panels = [_plot(p) for p in layout]
        return pn.Column(pn.pane.Markdown(f"**{layout.opts.get().kwargs.get('title', '')}**"),
                         pn.FlexBox(*panels), sizing_mode="stretch_width")

    async def _refresh_class_maps(self):
        token = self._token("maps")
        self._maps_stale = False
        n = len(mc.get_corpus(self.choice())) if ("corpus", self.choice()) in mc._MEMO else None
        self.class_maps.objects = [_waiting(f"Computing the onset-to-apex flow of every clip{f' ({n})' if n else ''} "
                                            "and averaging it per class...")]
        choice, engine = self.choice(), self.engine
        try:
            averages = await asyncio.to_thread(mc.class_averages, choice, engine=engine)
            view = self.class_maps_figure(averages)
        except Exception as exc:
            view = pn.pane.Alert(f"Cannot compute the class maps: {exc}", alert_type="warning")
            self._maps_stale = True
        if token == self._tokens["maps"]:
            self.class_maps.objects = [view]

    async def _refresh_samples(self):
        token = self._token("samples")
        self._samples_stale = False
        choice = self.choice()
        try:
            uids = (await asyncio.to_thread(mc.get_corpus, choice)).uids[:200]
        except Exception as exc:
            self.sample_box.objects = [pn.pane.Alert(f"Cannot list the clips: {exc}", alert_type="warning")]
            self._samples_stale = True
            return
        if token != self._tokens["samples"]:
            return
        if list(self.sample_pick.options) != list(uids):
            self.sample_pick.options = list(uids)
        if self.sample_pick.value in uids:
            await self._refresh_sample()  # same clip, new engine or alignment
        else:
            self.sample_pick.value = uids[0] if uids else None  # its watcher draws the clip

    def sample_figures(self, view):
        """Frame, onset-to-apex flow and magnitude curve of one clip, with a current-frame marker.

        The frame and the marker follow the frame slider's released value (a drag redraws
        once, at the end); the image data is patched in place.
        """
        cube = view["cube"]
        n = cube.sizes["time"]
        frames = cube["frame"].values
        slider = self.frame_slider
        slider.param.update(start=0, end=max(n - 1, 1), value=min(slider.value, n - 1))
        with param.edit_constant(slider):
            slider.value_throttled = slider.value
        stream = FramePosition(position=slider.value)
        if self._frame_watcher is not None:
            slider.param.unwatch(self._frame_watcher)
        self._frame_watcher = slider.param.watch(lambda e: stream.event(position=e.new), "value_throttled")

        def position_of(position):
            return min(int(self.frame_slider.value if position is None else position), n - 1)

        frame = hv.DynamicMap(lambda position: viz.clip_frame(cube, position_of(position), width=240), streams=[stream])
        curve = viz.magnitude_over_time(view["curve"], width=560)
        if self.align != "none":
            curve = curve.opts(title=curve.opts.get().kwargs.get("title", "") + f" (head motion removed: {self.align})")
        marker = hv.DynamicMap(lambda position: hv.VLine(float(frames[position_of(position)])).opts(
            color="black", line_width=2), streams=[stream])
        curve_with_marker = curve * marker  # the marker moves in place; the curve is sent once
        flow = viz.flow_field(view["flow"], title="onset to apex flow", width=240)
        # a flat list for the page's (stretching) column: one pane per panel in a flex box that
        # wraps at any width (a grid of plots, or a nested stretching column, collapses them)
        return [pn.Row(pn.pane.HoloViews(frame), pn.pane.HoloViews(flow[0])),
                pn.Row(pn.pane.HoloViews(flow[1])),
                pn.pane.HoloViews(curve_with_marker),
                pn.pane.Markdown("Black line: the frame shown above. Dashed: onset (green), apex (red), "
                                 "offset (grey).")]

    async def _refresh_sample(self):
        uid = self.sample_pick.value
        token = self._token("sample")
        if uid is None:
            return
        self.sample_box.objects = [_waiting(f"Computing the optical flow of {uid}...")]
        choice, engine, align = self.choice(), self.engine, self.align
        try:
            view = await asyncio.to_thread(mc.sample_view, choice, uid, engine=engine, align=align)
            shown = self.sample_figures(view)
        except Exception as exc:
            shown = [pn.pane.Alert(f"Cannot show {uid}: {exc}", alert_type="warning")]
        if token == self._tokens["sample"]:
            self.sample_box.objects = shown

    # -- widgets and layout ----------------------------------------------------------------------
    def _widget(self, name, kind=None, **kwargs):
        """A widget bound to a setting, with a student-friendly label and its tooltip."""
        label, tip = HELP[name]
        kind = kind or pn.widgets.Select
        extra = {"description": tip} if "description" in kind.param else {}
        kwargs.setdefault("sizing_mode", "stretch_width")
        widget = kind.from_param(self.param[name], label=label, **extra, **kwargs)
        self.setting_widgets[name] = widget
        return widget

    @staticmethod
    def _item(name, widget):
        """A widget as laid out: sliders get their tooltip as a (?) icon beside them."""
        if "description" in type(widget).param:
            return widget
        return pn.Row(widget, pn.widgets.TooltipIcon(value=HELP[name][1], margin=(25, 0, 0, 0)),
                      sizing_mode="stretch_width")

    def _labelled(self, name, widget):
        """Button groups show no label of their own: give them one, with the tooltip."""
        label, tip = HELP[name]
        return pn.Column(pn.Row(pn.pane.Markdown(label, margin=(5, 0, 0, 10)),
                                pn.widgets.TooltipIcon(value=tip, margin=(8, 0, 0, 0))),
                         widget, sizing_mode="stretch_width")

    def data_widgets(self) -> list:
        """The data card's controls (more can be appended: the card is a plain column)."""
        unusable = self._options.loc[~self._options["usable"], "name"].tolist()
        dataset = self._widget("dataset", disabled_options=unusable)
        difficulty = self._widget("difficulty", pn.widgets.RadioButtonGroup, color="default")
        self._mapping_widget = self._widget("mapping")
        protocol = self._widget("protocol", options={PROTOCOL_LABELS.get(k, k): k for k in PROTOCOLS})
        difficulty_box = self._labelled("difficulty", difficulty)
        self._difficulty_box = difficulty_box
        twin = self._widget("twin", options={"none (the default corpus)": "none", "CASME II": "casme2",
                                             "SMIC": "smic", "CASME": "casme", "SAMM": "samm"})
        appearance = self._widget("appearance", options={"auto (the difficulty's)": "auto", "0 (motion only)": 0.0,
                                                         "3": 3.0, "6": 6.0, "12": 12.0, "24": 24.0})
        def show_synthetic(*_):
            synthetic = mc.CorpusChoice(self.dataset).is_synthetic
            difficulty_box.visible = appearance.visible = synthetic
            twin.visible = self.dataset == "synthetic"  # twins of the single synthetic corpus
        self.param.watch(show_synthetic, "dataset")
        show_synthetic()
        if self.mapping_table is not None:
            self._apply_mappings(self.mapping_table)
        self._mapping_note = pn.pane.Markdown(self.mapping_note(), styles={"font-size": "85%", "color": "#555"},
                                              margin=(0, 10), sizing_mode="stretch_width")
        self.param.watch(lambda e: setattr(self._mapping_note, "object", self.mapping_note()), "mapping")
        return [dataset, difficulty_box, twin, appearance, self._mapping_widget, self._mapping_note, protocol]

    def method_widgets(self) -> list:
        methods = self._widget("methods", pn.widgets.MultiChoice,
                               options={f"{METHODS.at[m, 'title']} ({m})": m for m in METHOD_NAMES})
        w = {
            "engine": self._widget("engine", options={"Farneback (fast)": "farneback", "DIS (fastest)": "dis",
                                                      "TV-L1 (papers, slow)": "tvl1"}),
            "align": self._widget("align", options={"no": "none", "shift (translation)": "translation",
                                                    "shift, rotation, scale (affine)": "affine"}),
            "tim": self._widget("tim", pn.widgets.IntSlider),
            "evm_alpha": self._widget("evm_alpha", pn.widgets.FloatSlider),
            "lbp_radius": self._widget("lbp_radius", pn.widgets.IntSlider),
            "lbp_blocks": self._widget("lbp_blocks", pn.widgets.IntSlider),
            "mdmo_lambda": self._widget("mdmo_lambda", pn.widgets.FloatSlider),
        }
        self._tim_note = pn.pane.Markdown("", styles={"font-size": "85%", "color": "#555"}, margin=(0, 10))

        def grey_out(*_):
            for name, widget in w.items():
                widget.disabled = not self.used(name)
            lbp = any(m in LBP_FAMILY for m in self.methods)
            low = 2 * self.lbp_radius + 1 if lbp else 2
            w["tim"].start = low
            if self.tim < low:
                self.tim = low
            self._tim_note.object = (f"LBP needs at least 2 x radius + 1 = {low} frames, so the clip length "
                                     f"starts at {low}." if lbp else "")
        self.param.watch(grey_out, ["methods", "lbp_radius"])
        grey_out()
        items = {k: self._item(k, v) for k, v in w.items()}
        return [methods, items["engine"], items["align"], items["tim"], self._tim_note, items["evm_alpha"],
                items["lbp_radius"], items["lbp_blocks"], items["mdmo_lambda"]]

    def classifier_widgets(self) -> list:
        classifier = self._widget("classifier", options={CLASSIFIER_LABELS.get(c, c): c for c in CLASSIFIER_NAMES})
        search = self._widget("search", pn.widgets.RadioButtonGroup,
                              options={SEARCH_LABELS[s]: s for s in mc.SEARCHES})
        c = self._widget("C")
        note = pn.pane.Markdown("", styles={"font-size": "85%", "color": "#555"}, margin=(0, 10))

        def grey_out(*_):
            c.disabled = not self.c_is_used()
            if not self.classifier.startswith("svm"):
                note.object = "C is an SVM setting: ignored by this classifier."
            elif self.search != "none":
                note.object = "C is chosen by the search: the value here is ignored."
            else:
                note.object = ""
        self.param.watch(grey_out, ["classifier", "search"])
        grey_out()
        return [classifier, self._labelled("search", search), c, note]

    def __panel__(self):
        self._served = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
        data = pn.Card(*self.data_widgets(), title="1. Data", collapsible=False, sizing_mode="stretch_width")
        method = pn.Card(*self.method_widgets(), title="2. Methods and their features", collapsible=False,
                         sizing_mode="stretch_width")
        classifier = pn.Card(*self.classifier_widgets(), title="3. Classifier", collapsible=False,
                             sizing_mode="stretch_width")
        unusable = self._options.loc[~self._options["usable"], "name"].tolist()
        missing = None
        if unusable:
            missing = pn.pane.Markdown(
                f"**Greyed out:** {', '.join(unusable)}: not found on this machine. These datasets are "
                "licensed by their owners (request them; mer_lab never downloads them). Set their "
                "folders in `data_manifest.yaml` or under `$MER_LAB_DATA` and restart.",
                styles={"font-size": "85%"})

        metric = self._widget("metric", pn.widgets.RadioButtonGroup, options={v: k for k, v in METRIC_LABELS.items()},
                              width=360)
        csv = pn.widgets.FileDownload(callback=self.scores_csv, filename="mer_lab_scores.csv",
                                      label="Download the scores (CSV)", color="primary", width=260,
                                      description="The table below as a CSV file.")
        figures = pn.widgets.FileDownload(callback=self.figures_html, filename="mer_lab_figures.html",
                                          label="Download the figures (HTML)", width=260,
                                          description="The score chart, F1 per class and the confusion matrix "
                                                      "in one file that opens offline. Each plot's toolbar also "
                                                      "saves it as PNG.")
        chart = pn.Column(self._slots["scores"],
                          pn.pane.Markdown("Bars: the score now. Grey diamond: the previous run. Dashed red line: "
                                           "the majority-class baseline (always guessing the most frequent class).",
                                           width=520, styles={"font-size": "90%"}), width=580)
        table = pn.Column(metric, self.table, pn.Row(csv, figures), width=580)
        self._result_panes = [chart, table]
        per_class = pn.Column(self._slots["per_class"])
        confusion = pn.Column(self.method_pick, self._slots["confusion"])
        self._result_panes += [per_class, confusion]
        comparison = pn.Column(
            pn.Row(self.progress, self.cancel_button, self.status),
            self.alert, self.stale_note,
            pn.FlexBox(chart, table),
            "### What changed", self.changes_note, self.changes_table,
            pn.FlexBox(per_class, confusion),
            sizing_mode="stretch_width",
        )
        self.tabs = pn.Tabs(
            ("Comparison", comparison),
            ("Apex flow maps", pn.Column("Average onset-to-apex flow magnitude per class (faces registered on "
                                         "their landmarks); n is the number of clips.", self.class_maps,
                                         sizing_mode="stretch_width")),
            ("Sample browser", pn.Column(pn.FlexBox(self.sample_pick, self.frame_slider, self.frame_tip), self.sample_box,
                                         sizing_mode="stretch_width")),
            sizing_mode="stretch_width", dynamic=True,
        )
        self.tabs.param.watch(lambda e: self._refresh_visible_tab(), "active")
        self._on_state()
        if self.result is not None:
            self._refresh_result_views()
        sidebar = [data, method, classifier] + ([missing] if missing else [])
        if self._served:
            pn.state.location.sync(self, {n: n for n in [*SETTINGS, "metric"]}, on_error=self._bad_link)
        return pn.template.FastListTemplate(
            title="mer_lab: micro-expression methods compared", sidebar=sidebar, sidebar_width=310, font_url="", design=Fast,
            main=[pn.pane.Markdown(GUIDE, sizing_mode="stretch_width", styles={"font-size": "95%"}), self.tabs])

    def _bad_link(self, values: dict):
        """Settings of a shared link that cannot be used: say which, keep the others."""
        pn.state.notifications.warning(f"Settings of the link not used: {values}", duration=8000)
        if self.mapping_table is not None and self.mapping not in set(self.mapping_table["mapping"][
                self.mapping_table["fits"]]):
            self.mapping = "native"

    async def start(self):
        """The first comparison of a served page, and what each mapping keeps (after the page shows)."""
        self._loaded = True
        if self._served:  # the full settings in the URL, so that a shared link does not depend on defaults
            values = {n: self.param[n].serialize(getattr(self, n)) for n in [*SETTINGS, "metric"]}
            pn.state.location.update_query(**{n: v if isinstance(v, str) else json.dumps(v)
                                              for n, v in values.items()})
        await self._refresh_mappings()
        await self._schedule()


def _options_from_args(argv) -> dict:
    """``panel serve dashboards/compare.py --args --subjects 6 --clips 5 --size 64 --methods a,b``."""
    parser = argparse.ArgumentParser(prog="dashboards/compare.py")
    parser.add_argument("--methods", help="comma-separated methods compared first")
    parser.add_argument("--subjects", type=int, help="synthetic corpus: subjects (default 12)")
    parser.add_argument("--clips", type=int, help="synthetic corpus: clips per subject (default 10)")
    parser.add_argument("--size", type=int, help="synthetic corpus: frame size in px (default 96)")
    args, _ = parser.parse_known_args(argv)
    given = {"n_subjects": args.subjects, "clips_per_subject": args.clips, "size": args.size}
    options = {"corpus_size": {k: v for k, v in given.items() if v is not None}}
    if args.methods:
        options["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
    return options


def create_app(argv=None) -> CompareApp:
    app = CompareApp(**_options_from_args(sys.argv[1:] if argv is None else argv))
    pn.state.onload(lambda: asyncio.ensure_future(app.start()))
    return app


if pn.state.served:
    create_app().servable()
