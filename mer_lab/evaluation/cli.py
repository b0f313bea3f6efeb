"""``mer-lab evaluate``, ``mer-lab table3`` and ``mer-lab features``.

Examples::

    mer-lab evaluate --dataset synthetic --method hog_top --grid small
    mer-lab evaluate --dataset synthetic --method mdmo --report-thesis
    mer-lab evaluate --dataset casme2 --mapping casme2_5 --method mdmo --out results.csv
    mer-lab table3 --datasets smic casme casme2 samm --workers 4
    mer-lab features --dataset synthetic --method lbp_top --out lbp_top.nc
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

__all__ = ["register", "run_evaluate", "run_table3", "run_features", "parse_assignments"]

_DEFAULT_TABLE3_DATASETS = ["smic", "casme", "casme2", "samm"]


def _dataset_names() -> list[str]:
    try:
        from ..datasets.registry import known_names

        return known_names()  # registered datasets and the data manifest's entries
    except ImportError:  # pragma: no cover - registry missing from a partial install
        return ["synthetic"]


def _method_names() -> list[str]:
    from ..methods import METHODS

    return list(METHODS)


def parse_assignments(items, *, option: str) -> dict:
    """``["a=1", "blocks=[4, 4, 1]"]`` -> ``{"a": 1, "blocks": [4, 4, 1]}`` (values read as YAML)."""
    import yaml

    out = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{option} expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ValueError(f"{option} {item!r}: cannot read the value ({exc})") from None
    return out


def _dataset_list(text: str) -> list[str]:
    """argparse type of ``--dataset``: one name or several comma-separated, each a registered dataset."""
    import difflib

    names = [t.strip() for t in str(text).split(",") if t.strip()]
    valid = _dataset_names()
    bad = [n for n in names if n not in valid]
    if not names or bad:
        close = difflib.get_close_matches(bad[0], valid, n=2, cutoff=0.6) if bad else []
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise argparse.ArgumentTypeError(f"invalid dataset {', '.join(bad) or repr(text)}{hint} (choose from "
                                         f"{', '.join(valid)})")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{', '.join(twice)} named more than once in {text!r}; a composite joins "
                                         f"different datasets, each once")
    return names


def _add_data_options(p, *, multiple: bool = False, required: bool = True):
    names = _dataset_names()
    if multiple:
        p.add_argument("--datasets", nargs="+", choices=names, default=_DEFAULT_TABLE3_DATASETS, metavar="NAME",
                       help=f"datasets (columns); default {' '.join(_DEFAULT_TABLE3_DATASETS)}; "
                            f"choose from: {', '.join(names)}")
    else:
        p.add_argument("--dataset", required=required, type=_dataset_list, metavar="NAME[,NAME...]",
                       help=f"dataset to load, or several comma-separated for a composite (e.g. "
                            f"smic,casme2,samm with --mapping megc2019 --protocol megc); names: {', '.join(names)}")
        p.add_argument("--root", metavar="DIR", default=None,
                       help="folder of the dataset (default: data_manifest.yaml or $MER_LAB_DATA)")
    p.add_argument("--mapping", default=None, metavar="NAME",
                   help="class mapping applied after loading: 'native' or a name of "
                        "mer_lab.datasets.CLASS_MAPPINGS (megc2019, casme2_5, samm_5, smic_3)"
                        + ("; default: the thesis's classes (casme2_5 for CASME II, native for the others)"
                           if multiple else ""))
    p.add_argument("--load", action="append", default=[], metavar="KEY=VALUE",
                   help="extra loader argument, repeatable (e.g. --load n_subjects=8 for the synthetic corpus, "
                        "--load frames=cropped for CASME II)")


def _add_method_options(p, *, required: bool = True):
    from ..methods import flow_methods

    names = _method_names()
    flow = ", ".join(n + "".join(f" ({k}={v})" for k, v in fp.items()) for n, fp in flow_methods().items())
    p.add_argument("--method", required=required, choices=names, metavar="NAME",
                   help=f"feature method; one of: {', '.join(names)}. On precomputed flow images (the "
                        f"flow_images dataset) only: {flow}")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a method parameter, repeatable (e.g. --param tim=20 --param 'blocks=[4,4,1]'): "
                        "a flat name (tim, evm_alpha, blocks, lam, engine, ...) or a pipeline step's parameter "
                        "(features__blocks); values are read as YAML, in the form of the method's default "
                        "([4,4,1] and 4,4,1 give the tuple (4, 4, 1)). The flow methods (mdmo, sparse_mdmo, hoof, "
                        "biwoof, fdm) use the fast Farneback flow by default: --param engine=tvl1 gives the papers' "
                        "TV-L1 flow (about 70x slower)")


def _add_run_options(p):
    from .classifiers import CLASSIFIERS
    from .protocols import PROTOCOLS
    from .search import PREPROCESSING, SEARCHES, SELECTION_METRICS

    p.add_argument("--protocol", default="loso", choices=list(PROTOCOLS),
                   help="evaluation protocol: " + "; ".join(f"{k} = {v}" for k, v in PROTOCOLS.items()))
    p.add_argument("--train", default=None, metavar="D1,D2",
                   help="cross-database: training dataset(s), comma-separated (default: leave one dataset out)")
    p.add_argument("--test", default=None, metavar="D1,D2", help="cross-database: test dataset(s), comma-separated")
    p.add_argument("--search", default="nested", choices=list(SEARCHES),
                   help="hyper-parameter choice: nested = chosen by an inner cross-validation on the training "
                        "subjects only (honest; inner LOSO up to 20 training subjects, grouped 5-fold above; the "
                        "6,400-setting thesis grid pruned coarse-to-fine); thesis = best pooled score on the test "
                        "folds (optimistic, as in the thesis); none = fixed parameters (--classifier-param)")
    p.add_argument("--report-thesis", action="store_true",
                   help="with --search nested: also run the thesis's selection on the test folds and print it "
                        "beside nested with the gap (one more full-grid pass)")
    p.add_argument("--classifier", default="svm_poly", choices=list(CLASSIFIERS),
                   help="classifier; default svm_poly (the thesis's polynomial-kernel SVM)")
    p.add_argument("--classifier-param", action="append", default=[], metavar="KEY=VALUE",
                   help="classifier parameter for --search none, repeatable (e.g. --classifier-param degree=2)")
    p.add_argument("--grid", default="auto", choices=["auto", "thesis", "thesis_coarse", "small"],
                   help="SVM grid: thesis (6,400 settings), thesis_coarse (640, gamma step 0.1), small (48); "
                        "auto = the thesis grid with the method's gamma step")
    p.add_argument("--preprocessing", default="auto", choices=["auto", *PREPROCESSING],
                   help="feature scaling fitted in every training fold; auto = the method's default")
    p.add_argument("--metric", default="macro_f1", choices=list(SELECTION_METRICS),
                   help="score the search selects on (pooled over folds)")


def _count(option: str, *, allow_all: bool):
    """argparse type of ``--jobs`` (``allow_all``: -1 = all cores) and ``--workers``: a count >= 1."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value == 0 or value < (-1 if allow_all else 1):
            accepted = "an integer >= 1, or -1 for all cores" if allow_all else "an integer >= 1"
            raise argparse.ArgumentTypeError(f"{option} {text!r} is not accepted; give {accepted}")
        return value

    return parse


def _add_compute_options(p):
    p.add_argument("--seed", type=int, default=0, help="seed of random classifiers (recorded in the results)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=_count("--workers", allow_all=False), default=None, metavar="N",
                       help="run on a local Dask cluster with N worker processes")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run on an existing Dask cluster (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--jobs", type=_count("--jobs", allow_all=True), default=-1, metavar="N",
                   help="parallel jobs on this machine without Dask: clips in processes (threads for fewer than "
                        "32 clips), search folds in threads; -1 = all cores")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers) -> None:
    """Add ``evaluate``, ``table3`` and ``features`` to the ``mer-lab`` parser."""
    p = subparsers.add_parser(
        "evaluate", help="evaluate a method on a dataset: accuracy, macro F1, UF1, UAR and the baseline",
        description=("Compute a method's features (cached), run a classifier under a protocol with the chosen "
                     "hyper-parameter search (nested by default), and print accuracy, macro F1, UF1 and UAR "
                     "(pooled over folds) with the majority-class baseline. --report-thesis also prints the "
                     "thesis-mode numbers and the gap between them."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_options(p, required=False)
    _add_method_options(p, required=False)
    _add_run_options(p)
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write the results table (.csv) or everything (.json); configuration, seed and package "
                        "versions included")
    p.add_argument("--predictions", metavar="FILE", default=None, help="write fold-level predictions as CSV")
    _add_compute_options(p)
    _add_features_option(p)
    p.set_defaults(func=run_evaluate)

    p = subparsers.add_parser(
        "table3", help="thesis Table 3: accuracy and F1 of methods x datasets, with the published numbers",
        description=("Run every method on every dataset (LOSO, grid-searched SVM with nested selection by "
                     "default) and print the layout of thesis Table 3 with the thesis's published numbers "
                     "alongside; --report-thesis adds this run's thesis-mode numbers beside nested."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_options(p, multiple=True)
    p.add_argument("--methods", nargs="+", default=["baseline", "lbp_top", "mdmo", "sparse_mdmo"],
                   choices=_method_names(), metavar="NAME", help="methods (rows)")
    _add_run_options(p)
    p.add_argument("--out", metavar="FILE", default=None, help="write the table as CSV")
    _add_compute_options(p)
    p.set_defaults(func=run_table3)

    p = subparsers.add_parser(
        "features", help="compute a method's features for every clip and save them (netCDF or CSV)",
        description=("Compute (or read from the cache) a method's feature vector for every clip and save the "
                     "matrix with the samples' subject, dataset and label: .nc writes netCDF (xarray, scipy "
                     "engine), .csv a table."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_options(p)
    _add_method_options(p)
    p.add_argument("--out", metavar="FILE", required=True, help="output file: .nc (netCDF) or .csv")
    _add_compute_options(p)
    p.set_defaults(func=run_features)


# --------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None):
    """A Dask client for ``--workers``/``--scheduler`` (None when neither is given); always closed."""
    if not workers and not scheduler:
        yield None
        return
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        if workers < 1:
            raise ValueError(f"--workers must be >= 1, got {workers}")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _load_corpus(name, *, root=None, mapping=None, load_args=None):
    """Load one dataset, or a composite of several (``name`` a list), with an optional class mapping."""
    from ..datasets.corpus import composite
    from ..datasets.registry import load

    names = [name] if isinstance(name, str) else list(name)
    if len(names) > 1 and root is not None:
        raise ValueError("--root gives the folder of one dataset; for a composite set the folders in "
                         "data_manifest.yaml or $MER_LAB_DATA")
    kwargs = dict(load_args or {})
    parts = [load(n, root=root, **kwargs) if root is not None else load(n, **kwargs) for n in names]
    if len(parts) == 1:
        corpus = parts[0].map_classes(mapping) if mapping is not None else parts[0]
    else:
        corpus = composite(parts, name="+".join(names), mapping=mapping)
    if len(corpus) == 0:
        raise ValueError(f"dataset {'+'.join(names)!r} holds no samples after loading (mapping={mapping!r})")
    return corpus


def _check_outputs(args, *options) -> None:
    """Fail before any computation when an output option names a place that cannot be written."""
    from .._output import check_writable

    for name in options:
        value = getattr(args, name, None)
        if value:
            check_writable(value, option="--" + name.replace("_", "-"))


def write_or_rescue(path, write, *, what):
    from .._output import write_or_rescue as _write

    return _write(path, write, what=what)


def _split_names(text):
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    return names[0] if len(names) == 1 else names


def _fmt(v) -> str:
    return f"{v:.4f}"


def _print_summary(res, out=None):
    from .metrics import METRICS

    out = sys.stdout if out is None else out
    c = res.config
    print(f"{c['method']} on {c['corpus']} ({', '.join(c['datasets'])}): {c['n_samples']} samples, "
          f"protocol {c['protocol']}, classifier {c['classifier']}, search {c['search']}", file=out)
    labels = {"accuracy": "accuracy", "macro_f1": "macro F1", "weighted_f1": "weighted F1", "uf1": "UF1",
              "uar": "UAR"}
    summary = res.summary()
    shown = ["accuracy", "macro_f1", "uf1", "uar"]
    print(f"{'':24s}" + "".join(f"{labels[m]:>12s}" for m in shown), file=out)
    for name, row in summary.iterrows():
        print(f"{str(name):24s}" + "".join(f"{row[m]:12.4f}" for m in shown if m in METRICS), file=out)
    if "thesis" in summary.index and "nested" in summary.index:
        print("thesis = hyper-parameters chosen on the test folds (optimistic); nested = chosen by an inner "
              "cross-validation on the training subjects only", file=out)
    explain = {"nested": "nested (chosen on the training subjects only: an honest estimate)",
               "thesis": "thesis (chosen on the test folds, as in the thesis: optimistic)",
               "none": "none (fixed parameters)"}
    if c["classifier"] != "majority":
        print(f"hyper-parameter selection: {explain.get(c['search'], c['search'])}", file=out)
    per_ds = res.table[(res.table["dataset"] != "all") & (res.table["average"] == "pooled")
                       & (res.table["search"] == c["search"])]
    if not per_ds.empty:
        print("per dataset (UF1 / UAR):", file=out)
        for ds, part in per_ds.groupby("dataset"):
            v = dict(zip(part["metric"], part["value"]))
            print(f"  {ds:22s}{_fmt(v['uf1'])} / {_fmt(v['uar'])}", file=out)
    sel = res.selected[res.selected["search"] == c["search"]]["params"]
    if sel.nunique() == 1 and sel.iloc[0] != "{}":
        print(f"selected: {sel.iloc[0]}", file=out)
    for note in res.notes:
        print(f"note: {note}", file=out)


# --------------------------------------------------------------------------- commands
def _add_features_option(p):
    p.add_argument("--features", metavar="FILE", default=None,
                   help="evaluate a feature matrix you already have instead of a method: .csv (an id column "
                        "'uid', then numeric features) or .nc (netCDF, as 'mer-lab features' writes). With "
                        "--dataset the ids are matched to the dataset's samples (uids such as "
                        "casme2/sub01/EP02_01f, or sample names) and labels and subjects come from it; without, "
                        "the file must carry label and subject (or group) columns. Recorded as external "
                        "features; --method and --param do not apply")


def _evaluation_input(args, *, load_args, params):
    """(corpus, features) of ``mer-lab evaluate``: a dataset and a method, or a feature file."""
    features_file = getattr(args, "features", None)
    if features_file is None:
        if args.method is None:
            raise ValueError("give --method NAME (features computed by mer_lab) or --features FILE "
                             "(a feature matrix you have)")
        if args.dataset is None:
            raise ValueError("--dataset is required with --method (without a dataset, give --features FILE "
                             "with label and subject columns)")
        return _load_corpus(args.dataset, root=args.root, mapping=args.mapping, load_args=load_args), None
    from .external import corpus_from_features, features_for_corpus, read_features

    if args.method is not None or params:
        raise ValueError("--features evaluates the file's features: leave out --method and --param "
                         f"(got --method {args.method!r}{' and --param' if params else ''})")
    ff = read_features(features_file)
    if args.dataset is not None:
        corpus = _load_corpus(args.dataset, root=args.root, mapping=args.mapping, load_args=load_args)
        X, names, left_out = features_for_corpus(ff, corpus)
        if left_out:
            print(f"note: {len(left_out)} of the {len(ff.ids)} rows of {ff.path.name} are not samples of "
                  f"{corpus.name!r} and were left out (e.g. {left_out[:3]})")
    else:
        if args.root is not None or load_args:
            raise ValueError("--root and --load apply to --dataset; without it the feature file is the corpus")
        corpus, X, names = corpus_from_features(ff)
        if args.mapping is not None:
            corpus = corpus.map_classes(args.mapping)
            if len(corpus) == 0:
                raise ValueError(f"no sample of {ff.path.name} is left after --mapping {args.mapping!r}")
        X = X[corpus.samples["feature_row"].to_numpy(dtype=int)]
    corpus.info = {**corpus.info, "features": {"source": "external", "file": str(ff.path)}}
    print(f"features: external, {X.shape[0]} samples x {X.shape[1]} features from {ff.path}")
    return corpus, (X, names)


def run_evaluate(args) -> int:
    import warnings

    from .experiment import run_experiment
    from .protocols import ProtocolWarning

    _check_outputs(args, "out", "predictions")
    load_args = parse_assignments(args.load, option="--load")
    params = parse_assignments(args.param, option="--param")
    clf_params = parse_assignments(args.classifier_param, option="--classifier-param") or None
    corpus, features = _evaluation_input(args, load_args=load_args, params=params)
    with dask_client(args.workers, args.scheduler) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", ProtocolWarning)  # printed as notes below
        res = run_experiment(corpus, args.method, features=features, protocol=args.protocol,
                             train=_split_names(args.train),
                             test=_split_names(args.test), classifier=args.classifier, search=args.search,
                             params=params, classifier_params=clf_params, grid=args.grid,
                             preprocessing=args.preprocessing, metric=args.metric, seed=args.seed,
                             progress=not args.quiet, cache=not args.no_cache, n_jobs=args.jobs, client=client,
                             report_thesis=args.report_thesis)
    _print_summary(res)
    if args.out:
        path = write_or_rescue(args.out, lambda p: res.to_json(p) if str(p).lower().endswith(".json")
                               else res.to_csv(p), what="results")
        print(f"results written to {path}")
    if args.predictions:
        path = write_or_rescue(args.predictions, lambda p: res.to_csv(p, what="predictions"), what="predictions")
        print(f"predictions written to {path}")
    return 0


def run_table3(args) -> int:
    import warnings

    import pandas as pd

    from .experiment import table3
    from .protocols import ProtocolWarning

    from .experiment import THESIS_MAPPINGS

    _check_outputs(args, "out")
    twice = sorted({n for n in args.datasets if args.datasets.count(n) > 1})
    if twice:
        raise ValueError(f"--datasets names {', '.join(twice)} more than once; give each dataset once")
    load_args = parse_assignments(args.load, option="--load")
    clf_params = parse_assignments(args.classifier_param, option="--classifier-param") or None
    corpora = {name: _load_corpus(name, mapping=args.mapping or THESIS_MAPPINGS.get(name), load_args=load_args)
               for name in args.datasets}
    with dask_client(args.workers, args.scheduler) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", ProtocolWarning)
        table = table3(corpora, methods=args.methods, search=args.search, reproduce_thesis=args.report_thesis,
                       protocol=args.protocol,
                       train=_split_names(args.train), test=_split_names(args.test), classifier=args.classifier,
                       classifier_params=clf_params, grid=args.grid, preprocessing=args.preprocessing, metric=args.metric, seed=args.seed,
                       progress=not args.quiet, cache=not args.no_cache, n_jobs=args.jobs, client=client)
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.float_format",
                           "{:.4f}".format):
        for metric in ("accuracy", "f1"):
            mode = "nested" if args.report_thesis else args.search
            extra = "; mer_lab_thesis_mode = this run, thesis-mode selection" if args.report_thesis else ""
            print(f"\n{metric.upper() if metric == 'f1' else 'Accuracy'} "
                  f"(mer_lab = this run, search {mode}{extra}; thesis = published Table 3)")
            print(table[metric].to_string(na_rep="-"))
    if args.out:
        flat = table.copy()
        flat.columns = ["/".join(c) for c in flat.columns]
        path = write_or_rescue(args.out, flat.to_csv, what="table")
        print(f"table written to {path}")
    return 0


def run_features(args) -> int:
    import pandas as pd

    from .experiment import compute_features

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".nc", ".csv"):
        raise ValueError(f"--out must end in .nc (netCDF) or .csv, got {out.name!r}")
    _check_outputs(args, "out")
    load_args = parse_assignments(args.load, option="--load")
    params = parse_assignments(args.param, option="--param")
    corpus = _load_corpus(args.dataset, root=args.root, mapping=args.mapping, load_args=load_args)
    with dask_client(args.workers, args.scheduler) as client:
        F = compute_features(corpus, args.method, params=params, cache=not args.no_cache,
                             progress=not args.quiet, n_jobs=args.jobs, client=client)
    X = F.values
    if suffix == ".csv":
        frame = pd.DataFrame(X, columns=[str(n) for n in F["feature"].values],
                             index=pd.Index(corpus.uids, name="uid"))
        meta = corpus.samples[["dataset", "subject", "group", "label"]].astype(str)
        out = write_or_rescue(out, pd.concat([meta, frame], axis=1).to_csv, what="features")
    else:
        da = F.copy()
        da.name = args.method
        da.attrs = {"long_name": f"{args.method} features", "units": "1", "method": args.method,
                    "corpus": corpus.name, "parameters": repr(params), "steps": F.attrs.get("steps", "")}
        out = write_or_rescue(out, lambda p: da.to_netcdf(p, engine="scipy"), what="features")
    print(f"{X.shape[0]} samples x {X.shape[1]} features written to {out}")
    return 0
