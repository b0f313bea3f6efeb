"""Feature matrices made outside mer_lab (or saved by ``mer-lab features``), ready to evaluate.

A feature file holds one row per sample: an id, optional ``dataset``, ``subject``,
``group`` and ``label`` columns, and numeric features.

* ``.csv``: a table whose id column is ``uid``, ``id``, ``sample_id``, ``sample`` or
  the first column when it is not numeric; every other column that is not one of the
  four named above must be numeric.
* ``.nc`` (netCDF): a 2-D data variable (samples x features) whose sample dimension
  carries the ids as its coordinate, and ``dataset``/``subject``/``group``/``label``
  as coordinates along it (the layout ``mer-lab features --out f.nc`` writes).

The ids are matched to a dataset's samples (:func:`features_for_corpus`), by uid
(``casme2/sub01/EP02_01f``) or, when the ids carry no dataset name, by sample name
(``sub01/EP02_01f``); or, when the file carries its own ``label`` and ``subject`` (or
``group``) columns, the file alone makes the corpus (:func:`corpus_from_features`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FeatureFile", "read_features", "features_for_corpus", "corpus_from_features", "META_COLUMNS"]

#: Columns of a feature file that describe the samples rather than measure them.
META_COLUMNS = ("dataset", "subject", "group", "label")
_ID_COLUMNS = ("uid", "id", "sampleid", "sample", "samplename")


@dataclass
class FeatureFile:
    """A feature file read into memory.

    Attributes
    ----------
    path : Path
    ids : list of str
        One id per row, in file order.
    X : ndarray, shape (n_samples, n_features)
    names : list of str
        Feature names.
    meta : pandas.DataFrame
        The file's ``dataset``/``subject``/``group``/``label`` columns (those present),
        one row per id, as text.
    """

    path: Path
    ids: list
    X: np.ndarray
    names: list
    meta: pd.DataFrame


def _key(name) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def read_features(path) -> FeatureFile:
    """Read a feature file (``.csv`` or ``.nc``; see the module documentation)."""
    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        raise FileNotFoundError(f"feature file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        ff = _read_csv(path)
    elif suffix in (".nc", ".nc4", ".netcdf", ".cdf"):
        ff = _read_netcdf(path)
    else:
        raise ValueError(f"feature file {path.name!r}: expected .csv or .nc (netCDF), got {suffix or 'no extension'!r}")
    if len(ff.ids) == 0 or ff.X.shape[1] == 0:
        raise ValueError(f"feature file {path}: no samples or no feature columns (shape {ff.X.shape})")
    dup = pd.Index(ff.ids)[pd.Index(ff.ids).duplicated()]
    if len(dup):
        raise ValueError(f"feature file {path}: the id {dup[0]!r} occurs more than once; ids must be unique")
    bad = ~np.isfinite(ff.X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"feature file {path}: {int(bad.sum())} values are missing or not finite "
                         f"(first: sample {ff.ids[r]!r}, feature {ff.names[c]!r})")
    return ff


def _read_csv(path: Path) -> FeatureFile:
    table = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    if table.empty:
        raise ValueError(f"feature file {path}: no rows")
    keys = {c: _key(c) for c in table.columns}
    id_col = next((c for want in _ID_COLUMNS for c, k in keys.items() if k == want), None)
    first = table.columns[0]
    if id_col is None and (str(first).startswith("Unnamed") or not _numeric(table[first])):
        id_col = first
    if id_col is None:
        raise ValueError(f"feature file {path}: no id column; name one 'uid' (or 'id', 'sample'), or put the "
                         f"ids in the first column; its columns are {list(table.columns)[:8]}")
    meta_cols = {k: c for c, k in keys.items() if k in META_COLUMNS and c != id_col}
    feature_cols = [c for c in table.columns if c != id_col and c not in meta_cols.values()]
    not_numeric = [c for c in feature_cols if not _numeric(table[c])]
    if not_numeric:
        raise ValueError(f"feature file {path}: the column(s) {not_numeric[:5]} are not numeric; a feature file "
                         f"holds an id column, optional {', '.join(META_COLUMNS)} columns, and numeric features")
    X = table[feature_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    meta = pd.DataFrame({k: table[c].astype(str).str.strip() for k, c in meta_cols.items()})
    return FeatureFile(path, table[id_col].astype(str).str.strip().tolist(), X, [str(c) for c in feature_cols], meta)


def _numeric(column: pd.Series) -> bool:
    values = pd.to_numeric(column.replace("", np.nan), errors="coerce")
    return bool(values.notna().sum() == (column != "").sum())


def _read_netcdf(path: Path) -> FeatureFile:
    import xarray as xr

    try:
        ds = xr.open_dataset(path)
    except Exception:
        ds = xr.open_dataset(path, engine="scipy")
    with ds:
        arrays = [v for v in ds.data_vars.values() if v.ndim == 2]
        if len(arrays) != 1:
            raise ValueError(f"feature file {path}: expected one 2-D data variable (samples x features), found "
                             f"{[f'{k}{tuple(v.dims)}' for k, v in ds.data_vars.items()]}")
        da = arrays[0].load()
    dims = list(da.dims)
    sample_dim = next((d for d in dims if _key(d) in ("sample", "uid", "samples", "id")), None)
    if sample_dim is None:
        sample_dim = next((d for d in dims if d in da.coords and da[d].dtype.kind in "OUS"), dims[0])
    feature_dim = [d for d in dims if d != sample_dim][0]
    da = da.transpose(sample_dim, feature_dim)
    ids = [str(v) for v in (da[sample_dim].values if sample_dim in da.coords else range(da.shape[0]))]
    names = [str(v) for v in (da[feature_dim].values if feature_dim in da.coords else range(da.shape[1]))]
    meta = {}
    for name, coord in da.coords.items():
        if _key(name) in META_COLUMNS and coord.dims == (sample_dim,):
            meta[_key(name)] = [str(v) for v in coord.values]
    return FeatureFile(path, ids, np.asarray(da.values, dtype=np.float64), names, pd.DataFrame(meta))


def features_for_corpus(ff: FeatureFile, corpus) -> tuple[np.ndarray, list, list]:
    """The file's rows in corpus order: ``(X, names, left_out)``.

    Ids match the corpus's uids, or its sample names when no id carries a dataset name
    (and the sample names are unique). Every corpus sample must have a row: a
    ``ValueError`` lists those without one. Rows of the file that are not in the corpus
    (e.g. samples a class mapping excluded) are returned in ``left_out`` (their ids).
    """
    uids = list(corpus.uids)
    position = {i: k for k, i in enumerate(ff.ids)}
    how = "uid"
    if not any(u in position for u in uids):
        samples = corpus.samples["sample"].astype(str)
        if samples.is_unique and any(s in position for s in samples):
            how = "sample name"
            keys = samples.tolist()
        else:
            raise ValueError(
                f"feature file {ff.path}: none of its {len(ff.ids)} ids matches a sample of {corpus.name!r}; "
                f"its ids look like {ff.ids[:3]}, the corpus's uids like {uids[:3]} (sample names like "
                f"{samples.tolist()[:3]})")
    else:
        keys = uids
    missing = [u for u, k in zip(uids, keys) if k not in position]
    if missing:
        raise ValueError(
            f"feature file {ff.path}: {len(missing)} of the {len(uids)} samples of {corpus.name!r} have no row "
            f"(matched by {how}), e.g. {missing[:5]}; the file's ids look like {ff.ids[:3]}. Give features for "
            f"every sample, or narrow the corpus (--mapping, --load)")
    rows = [position[k] for k in keys]
    used = set(rows)
    left_out = [i for k, i in enumerate(ff.ids) if k not in used]  # ids of the rows not used
    return ff.X[rows], list(ff.names), left_out


def corpus_from_features(ff: FeatureFile, *, name: str | None = None):
    """A corpus made from the file alone: labels and subjects from its own columns.

    Needs ``label`` and ``subject`` (or ``group``, ``"<dataset>/<subject>"``); ``dataset``
    defaults to ``"features"``. The corpus has no clips (``cube`` raises); its uids are
    ``<dataset>/<sample>`` where the sample is the id without a leading ``<dataset>/``.
    Returns ``(corpus, X, names)`` with X in corpus order.
    """
    from ..datasets.corpus import Corpus

    meta = ff.meta
    lacking = [c for c in ("label",) if c not in meta]
    if "subject" not in meta and "group" not in meta:
        lacking.append("subject (or group)")
    if lacking:
        raise ValueError(f"feature file {ff.path} has no {' and no '.join(lacking)} column: give --dataset to "
                         f"take labels and subjects from a dataset, or add the columns to the file "
                         f"(it has {list(meta.columns) or 'no descriptive columns'})")
    n = len(ff.ids)
    dataset = meta["dataset"] if "dataset" in meta else pd.Series(["features"] * n)
    if "subject" in meta:
        subject = meta["subject"]
    else:
        subject = meta["group"].str.split("/").str[-1]
    sample = [i[len(d) + 1:] if i.startswith(f"{d}/") else i for i, d in zip(ff.ids, dataset)]
    samples = pd.DataFrame({
        "dataset": dataset.to_numpy(), "subject": subject.to_numpy(), "sample": sample,
        "emotion": meta["label"].to_numpy(), "onset": None, "apex": None, "offset": None, "n_frames": None,
        "fps": np.nan, "feature_row": np.arange(n)})
    if "group" in meta:
        samples["group"] = meta["group"].to_numpy()

    def no_clips(row):
        raise ValueError(f"corpus from the feature file {ff.path} has no clips to load ({row.name!r})")

    corpus = Corpus(samples, loader=no_clips, name=name or ff.path.stem,
                    info={"kind": "features", "features": {"source": "external", "file": str(ff.path)}})
    return corpus, ff.X, list(ff.names)
