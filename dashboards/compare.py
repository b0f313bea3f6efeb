"""mer_lab dashboard: compare micro-expression methods and look at their motion.

Serve it with ``make dashboard`` or ``panel serve dashboards/compare.py``. Everything is
computed by the library (:mod:`mer_lab.compare`, :mod:`mer_lab.viz`); this file holds
the widgets, how they are bound, and the layout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import holoviews as hv
import pandas as pd
import panel as pn
import param

from mer_lab import compare as mc
from mer_lab import viz
from mer_lab.datasets import CLASS_MAPPINGS
from mer_lab.evaluation.classifiers import CLASSIFIERS
from mer_lab.evaluation.protocols import PROTOCOLS
from mer_lab.methods import list_methods

hv.extension("bokeh")
pn.extension("tabulator", sizing_mode="stretch_width", notifications=True)

METHOD_NAMES = list(list_methods().index)
DEFAULT_METHODS = [m for m in ("baseline", "lbp_top", "hoof", "biwoof", "mdmo") if m in METHOD_NAMES]
CLASSIFIER_NAMES = [c for c in CLASSIFIERS if c != "majority"]


def _plot(obj):
    """A HoloViews pane whose axes are not linked to other plots of the page."""
    return pn.pane.HoloViews(obj, linked_axes=False)


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

    result = param.Parameter(default=None, doc="the current Comparison")
    previous = param.Parameter(default=None, doc="the Comparison before the last change")
    message = param.String(default="")
    busy = param.Boolean(default=False)

    def __init__(self, **params):
        options = mc.dataset_options()
        self._options = options
        self.param.dataset.objects = options["name"].tolist()
        super().__init__(**params)
        self.progress = pn.indicators.Progress(value=0, max=1, visible=False, bar_color="info")
        self.status = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._run_id = 0
        self.param.watch(self._on_change, self._setting_names())

    # -- settings -> library calls -------------------------------------------------------
    @staticmethod
    def _setting_names():
        return ["dataset", "difficulty", "twin", "appearance", "mapping", "protocol", "methods", "engine", "align", "tim", "evm_alpha",
                "lbp_radius", "lbp_blocks", "mdmo_lambda", "classifier", "C", "search"]

    corpus_size = param.Dict(default={}, constant=True,
                             doc="synthetic corpus size (n_subjects, clips_per_subject, size)")

    def choice(self) -> mc.CorpusChoice:
        synthetic = self.dataset == "synthetic"
        return mc.CorpusChoice(self.dataset, difficulty=self.difficulty, mapping=self.mapping,
                               like=self.twin if synthetic and self.twin != "none" else None,
                               appearance=None if self.appearance == "auto" else self.appearance, **self.corpus_size)

    def method_params(self) -> dict:
        r, b, t = self.lbp_radius, self.lbp_blocks, self.tim
        lbp = {"radii": (r, r, r), "blocks": (b, b, 1), "tim": t}
        return {"lbp_top": lbp, "lbp_xyot": lbp, "lbp_mop": lbp, "lbp_sip": {"blocks": (b, b, 1), "tim": t},
                "elbp_top": {"tim": t}, "hog_top": {"tim": t}, "higo_top": {"tim": t},
                "hoof": {"align": self.align}, "biwoof": {"align": self.align},
                "mdmo": {"lam": self.mdmo_lambda}, "sparse_mdmo": {"lam": self.mdmo_lambda}}

    def common_params(self) -> dict:
        return {"engine": self.engine, "evm_alpha": self.evm_alpha}

    def classifier_params(self) -> dict:
        return {"C": self.C} if self.classifier.startswith("svm") and self.search == "none" else {}

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
            self.message = f"**Cannot compare:** {exc}"
            return None
        self._publish(result)
        return result

    def _publish(self, result):
        if self.result is not None:
            self.previous = self.result
        self.result = result
        errors = "; ".join(f"{m}: {e}" for m, e in result.errors.items())
        self.message = f"**Some methods could not run:** {errors}" if errors else ""

    def _on_change(self, *events):
        """In a served session compute in the background; elsewhere (tests) right away."""
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            pn.state.execute(self._schedule)
        else:
            self.run_sync()

    async def _schedule(self, *events):
        """Recompute in a worker thread so the page never freezes; newest settings win."""
        self._run_id += 1
        run_id = self._run_id
        self.busy = True
        self.progress.visible = True
        loop = asyncio.get_running_loop()

        def on_progress(done, total, text):
            def update():
                if run_id == self._run_id and self.busy:
                    self.progress.max = max(total, 1)
                    self.progress.value = done
                    self.status.object = f"Computing: {text}"
            loop.call_soon_threadsafe(update)

        try:
            result = await asyncio.to_thread(self.compute, on_progress)
            if run_id == self._run_id:
                self._publish(result)
        except Exception as exc:
            if run_id == self._run_id:
                self.message = f"**Cannot compare with these settings:** {exc}"
        finally:
            if run_id == self._run_id:
                self.status.object = ""
                self.busy = False
                self.progress.visible = False

    # -- views ---------------------------------------------------------------------------
    @param.depends("result")
    def scores_view(self):
        if self.result is None:
            return pn.pane.Markdown("Computing the first comparison...")
        r = self.result
        prev = self.previous.scores if self.previous is not None else None
        return _plot(viz.score_bars(r.scores, baseline=r.baseline, previous=prev))

    @param.depends("result")
    def table_view(self):
        if self.result is None:
            return pn.pane.Markdown("")
        table = self.result.scores.drop(columns=["title"]).set_index("method")
        baseline = pd.DataFrame([self.result.baseline], index=["majority baseline"])
        shown = pd.concat([table, baseline[[c for c in table.columns if c in baseline.columns]]])
        return pn.widgets.Tabulator(shown.round(4), disabled=True, layout="fit_data_table")

    @param.depends("result")
    def changes_view(self):
        delta = mc.changes(self.previous, self.result) if self.result is not None else pd.DataFrame()
        if delta.empty:
            return pn.pane.Markdown("*Change a setting: what changed, and by how much, shows here.*")
        delta = delta[delta["delta"].abs() > 1e-9]
        if delta.empty:
            return pn.pane.Markdown("*The last change left every score as it was.*")
        return pn.widgets.Tabulator(delta.round(4), disabled=True, height=200)

    @param.depends("result")
    def per_class_view(self):
        if self.result is None:
            return pn.pane.Markdown("")
        return _plot(viz.per_class_heatmap(self.result.per_class))

    def confusion_view(self, method, result=None):
        if self.result is None or method not in self.result.results:
            return pn.pane.Markdown("*Pick a compared method.*")
        return _plot(viz.confusion_heatmap(self.result.confusion(method), title=f"Confusion matrix: {method}"))

    @param.depends("dataset", "difficulty", "twin", "appearance", "mapping", "engine")
    def class_maps_view(self):
        try:
            averages = mc.class_averages(self.choice(), engine=self.engine)
        except Exception as exc:
            return pn.pane.Alert(f"Cannot compute the class maps: {exc}", alert_type="warning")
        return _plot(viz.class_average_maps(averages))

    def sample_views(self, uid, position):
        if uid is None:
            return pn.pane.Markdown("")
        try:
            view = mc.sample_view(self.choice(), uid, engine=self.engine)
        except Exception as exc:
            return pn.pane.Alert(f"Cannot show {uid}: {exc}", alert_type="warning")
        cube = view["cube"]
        position = min(int(position), cube.sizes["time"] - 1)
        return pn.Column(
            pn.Row(_plot(viz.clip_frame(cube, position)),
                   _plot(viz.flow_field(view["flow"], title="onset to apex flow"))),
            _plot(viz.magnitude_over_time(view["curve"])),
        )

    def __panel__(self):
        unusable = self._options.loc[~self._options["usable"], "name"].tolist()
        controls = pn.Param(self.param, parameters=self._setting_names(), show_name=False,
                            widgets={"dataset": {"type": pn.widgets.Select, "disabled_options": unusable},
                                     "methods": pn.widgets.MultiChoice,
                                     "search": pn.widgets.RadioButtonGroup,
                                     "difficulty": pn.widgets.RadioButtonGroup})
        method_pick = pn.widgets.Select(label="confusion matrix of", options=list(self.methods),
                                        value=self.methods[-1] if self.methods else None)
        self.param.watch(lambda e: setattr(method_pick, "options", list(e.new)), "methods")
        samples = mc.get_corpus(self.choice()).uids
        sample_pick = pn.widgets.Select(label="sample", options=samples[:200], value=samples[0])
        frame_slider = pn.widgets.IntSlider(label="frame (position in clip)", start=0, end=80, value=0)

        def refresh_samples(*_):
            try:
                uids = mc.get_corpus(self.choice()).uids
            except Exception:
                return
            sample_pick.options = uids[:200]
            sample_pick.value = uids[0]
        self.param.watch(refresh_samples, ["dataset", "difficulty", "twin", "appearance", "mapping"])

        missing = None
        if unusable:
            missing = pn.pane.Markdown(
                f"**Greyed out:** {', '.join(unusable)}: not found on this machine. These datasets are "
                "licensed by their owners (request them; mer_lab never downloads them). Set their "
                "folders in `data_manifest.yaml` or under `$MER_LAB_DATA` and restart.",
                styles={"font-size": "85%"})
        message = pn.pane.Alert(pn.bind(lambda m: m or "", self.param.message), alert_type="danger",
                                visible=self.param.message.rx.bool())
        comparison = pn.Column(
            self.progress, self.status, message,
            self.scores_view, self.table_view,
            "### What changed", self.changes_view,
            pn.Row(self.per_class_view, pn.Column(method_pick, pn.bind(self.confusion_view, method_pick, self.param.result))),
        )
        tabs = pn.Tabs(
            ("Comparison", comparison),
            ("Apex flow maps", pn.Column("Average onset-to-apex flow magnitude per class (faces registered on "
                                         "their landmarks); n is the number of clips.", self.class_maps_view)),
            ("Sample browser", pn.Column(pn.Row(sample_pick, frame_slider),
                                         pn.bind(self.sample_views, sample_pick, frame_slider))),
            dynamic=True,
        )
        sidebar = [controls] + ([missing] if missing else [])
        return pn.template.FastListTemplate(title="mer_lab: micro-expression methods compared",
                                            sidebar=sidebar, main=[tabs], sidebar_width=330)


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
    pn.state.onload(lambda: asyncio.ensure_future(app._schedule()))
    return app


if pn.state.served:
    create_app().servable()
