"""The corpus: a table of samples plus lazily loaded cubes.

Every dataset loader (real or synthetic) returns a :class:`Corpus`. Its ``samples``
table has one row per clip, indexed by ``uid`` (``"<dataset>/<sample>"``, unique across
composites), with the columns of :data:`SAMPLE_COLUMNS`:

==================  =====================================================================
``dataset``         dataset name (``"casme2"``, ``"samm"``, ``"synthetic"``, ...)
``subject``         subject id as the dataset writes it (``"sub01"``, ``"006"``, ``"s1"``)
``group``           ``"<dataset>/<subject>"``: the grouping key for LOSO across composites
``sample``          clip name (``"EP02_01f"``, ``"006_1_2"``, ``"s1_ne_01"``)
``emotion``         the dataset's own label, lower case
``label``           the class used for recognition (``emotion`` after a class mapping)
``onset``           first frame of the expression (dataset frame number)
``apex``            apex frame number (estimated when ``apex_estimated``)
``offset``          last frame of the expression
``n_frames``        frames in the clip as stored
``fps``             frames per second
``apex_estimated``  True when the apex was not annotated and has been estimated
``apex_source``     where the apex comes from: ``"annotated"``, ``"middle"`` (the middle
                    frame of onset..offset, a loader's guess) or ``"estimated"`` (the
                    flow-magnitude peak of :func:`mer_lab.features.apex.estimate_apex`;
                    see :meth:`Corpus.with_apex`)
``flags``           ``;``-separated notes of every repair the loader made (empty if none)
==================  =====================================================================

Loaders may add columns (``path``, ``action_units``, ...). Everything a loader skipped or
repaired is also listed in :attr:`Corpus.issues` and announced with a
:class:`LoaderWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import check_choice

__all__ = [
    "SAMPLE_COLUMNS",
    "APEX_SOURCES",
    "ISSUE_COLUMNS",
    "LoaderWarning",
    "DatasetError",
    "Corpus",
    "composite",
    "CLASS_MAPPINGS",
    "class_mapping",
]

SAMPLE_COLUMNS = [
    "dataset", "subject", "group", "sample", "emotion", "label", "onset", "apex", "offset",
    "n_frames", "fps", "apex_estimated", "apex_source", "flags",
]
#: Values of the ``apex_source`` column.
APEX_SOURCES = ("annotated", "middle", "estimated")
ISSUE_COLUMNS = ["dataset", "file", "row", "sample", "action", "reason"]


class LoaderWarning(UserWarning):
    """A loader repaired or skipped something; details are in ``Corpus.issues``."""


class DatasetError(ValueError):
    """A dataset folder or metadata file cannot be read as the named dataset."""


# --------------------------------------------------------------------------- mappings
# Class mappings: dataset emotion (lower case) -> class. A mapping is either flat
# ({emotion: class}) or per dataset ({dataset: {emotion: class}, "*": {...}}), where "*"
# serves every dataset not named. Emotions missing from a mapping are left out by
# Corpus.map_classes (and listed in its issues).
# Labels that already are the composite's classes stay what they are (mapping twice, or
# mapping the MEGC flow-image releases, whose labels are these classes, changes nothing).
_MEGC_ALREADY = {"negative": "negative", "positive": "positive", "surprise": "surprise"}
_NEGATIVE_ALL = ["negative", "disgust", "repression", "anger", "contempt", "fear", "sadness", "tense"]
CLASS_MAPPINGS: dict[str, dict] = {
    # MEGC 2019 composite: negative / positive / surprise; others excluded. CASME II
    # contributes only disgust and repression to "negative" (its few fear and sadness
    # clips are not part of the composite); SAMM contributes anger, contempt, disgust,
    # fear and sadness. negative / positive / surprise map to themselves everywhere.
    "megc2019": {
        "casme2": {"disgust": "negative", "repression": "negative", "happiness": "positive",
                   "surprise": "surprise", **_MEGC_ALREADY},
        "samm": {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative",
                 "sadness": "negative", "happiness": "positive", "surprise": "surprise", **_MEGC_ALREADY},
        "*": {**{e: "negative" for e in _NEGATIVE_ALL}, "positive": "positive",
              "happiness": "positive", "surprise": "surprise"},
    },
    # The common CASME II 5-class set (sadness and fear dropped).
    "casme2_5": {e: e for e in ["happiness", "disgust", "repression", "surprise", "others"]},
    # The common SAMM 5-class set (anger, contempt, happiness, surprise, other).
    "samm_5": {"anger": "anger", "contempt": "contempt", "happiness": "happiness",
               "surprise": "surprise", "other": "other", "others": "other"},
    # SMIC's 3 classes (identity on its folders).
    "smic_3": {"negative": "negative", "positive": "positive", "surprise": "surprise"},
}


def _is_per_dataset(mapping: Mapping) -> bool:
    return bool(mapping) and all(isinstance(v, Mapping) for v in mapping.values())


def class_mapping(name_or_mapping, dataset: str | None = None) -> dict[str, str] | None:
    """Resolve a mapping name (see :data:`CLASS_MAPPINGS`), a dict, or ``"native"``/None.

    For a per-dataset mapping, ``dataset`` selects its part (``"*"`` when not named;
    ``smic_hs``/``smic_vis``/``smic_nir`` fall back to ``smic``).
    """
    if name_or_mapping is None or name_or_mapping == "native":
        return None
    if isinstance(name_or_mapping, Mapping):
        mapping = name_or_mapping
    else:
        check_choice("mapping", name_or_mapping, ["native", *CLASS_MAPPINGS])
        mapping = CLASS_MAPPINGS[name_or_mapping]
    if _is_per_dataset(mapping):
        base = (dataset or "").split("_")[0]
        part = mapping.get(dataset) or mapping.get(base) or mapping.get("*")
        if part is None:
            return {}
        mapping = part
    return {str(k).lower(): str(v) for k, v in mapping.items()}


# --------------------------------------------------------------------------- corpus
class Corpus:
    """A table of samples with lazily loaded cubes.

    Parameters
    ----------
    samples : pandas.DataFrame
        One row per clip with at least the columns of :data:`SAMPLE_COLUMNS` (missing
        optional ones are filled: ``group``, ``label``, ``apex_estimated``, ``flags``).
    loader : callable
        ``loader(row) -> xarray.DataArray``: reads the clip of one samples row.
    name : str
        Corpus name shown in reports.
    truth : callable, optional
        ``truth(row) -> xarray.Dataset`` of ground truth (synthetic corpora).
    issues : pandas.DataFrame, optional
        What the loader skipped or repaired (columns :data:`ISSUE_COLUMNS`).
    """

    def __init__(self, samples: pd.DataFrame, *, loader: Callable[[pd.Series], xr.DataArray],
                 name: str, truth: Callable[[pd.Series], xr.Dataset] | None = None,
                 issues: pd.DataFrame | None = None, info: Mapping | None = None):
        self.samples = _normalise_samples(samples)
        self._loader = loader
        self._truth = truth
        self.name = name
        self.issues = (issues if issues is not None else pd.DataFrame(columns=ISSUE_COLUMNS)).reset_index(drop=True)
        self.info = dict(info or {})

    # -- basic views ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.class_counts().items())
        return (f"<Corpus {self.name!r}: {len(self)} samples, {self.samples['group'].nunique()} subjects; "
                f"{counts}>")

    @property
    def uids(self) -> list[str]:
        return list(self.samples.index)

    @property
    def labels(self) -> np.ndarray:
        """Class of each sample (the ``label`` column), in table order."""
        return self.samples["label"].to_numpy()

    @property
    def groups(self) -> np.ndarray:
        """Subject group of each sample (``"<dataset>/<subject>"``), for LOSO."""
        return self.samples["group"].to_numpy()

    @property
    def classes(self) -> list[str]:
        """Sorted class names present."""
        return sorted(self.samples["label"].unique())

    @property
    def datasets(self) -> list[str]:
        return sorted(self.samples["dataset"].unique())

    def class_counts(self) -> pd.Series:
        """Samples per class, largest first."""
        return self.samples["label"].value_counts().sort_index().sort_values(ascending=False, kind="stable")

    def summary(self) -> dict:
        """Subjects, samples and class distribution (the numbers of thesis Tables 1-2)."""
        return {
            "name": self.name,
            "datasets": self.datasets,
            "subjects": int(self.samples["group"].nunique()),
            "samples": len(self),
            "fps": sorted(float(f) for f in self.samples["fps"].unique()),
            "classes": {str(k): int(v) for k, v in self.class_counts().items()},
            "apex_estimated": int(self.samples["apex_estimated"].sum()),
            "issues": len(self.issues),
        }

    # -- loading ------------------------------------------------------------------------
    def row(self, uid) -> pd.Series:
        if isinstance(uid, (int, np.integer)):
            return self.samples.iloc[int(uid)]
        try:
            return self.samples.loc[uid]
        except KeyError:
            raise KeyError(f"no sample {uid!r} in corpus {self.name!r}; uids look like {self.uids[:3]}") from None

    def cube(self, uid) -> xr.DataArray:
        """Load one clip as a cube (``uid`` or a row position)."""
        row = self.row(uid)
        cube = self._loader(row)
        cube.attrs["label"] = row["label"]
        cube.attrs["uid"] = row.name
        cube.attrs["apex_estimated"] = bool(row["apex_estimated"])
        cube.attrs["apex_source"] = str(row["apex_source"])
        return cube

    def with_apex(self, apex: str = "estimate", *, progress: bool = False, **estimate_params) -> Corpus:
        """The corpus with the apex of every clip *without an annotated apex* replaced.

        Clips whose ``apex_source`` is ``"annotated"`` are left alone (in a composite, only
        the parts that lack an apex, such as SMIC, change).

        Parameters
        ----------
        apex : {"estimate", "middle"}
            ``"estimate"``: the frame of peak flow magnitude from the neutral onset and
            offset (:func:`mer_lab.features.apex.estimate_apex`; its keyword arguments
            go in ``estimate_params``, e.g. ``engine="farneback"``); ``apex_source``
            becomes ``"estimated"``. ``"middle"``: the middle frame of onset..offset
            (``apex_source="middle"``), what loaders fall back to.
        progress : bool
            A progress bar over the clips (estimation computes optical flow).
        **estimate_params
            Passed to :func:`~mer_lab.features.apex.estimate_apex`.

        Returns
        -------
        Corpus
            A new corpus; each changed clip has an ``apex estimated`` issue and a note in
            ``flags`` giving the new apex and the middle frame.

        Examples
        --------
        >>> # smic = load("smic").with_apex("estimate")        # flow-peak apex for SMIC
        >>> # megc = composite([smic_part, casme2_part, samm_part]).with_apex()
        """
        check_choice("apex", apex, ["estimate", "middle"])
        if estimate_params and apex == "middle":
            raise ValueError(f"apex='middle' takes no estimation parameters, got {sorted(estimate_params)}")
        samples = self.samples.copy()
        todo = [uid for uid in samples.index if samples.at[uid, "apex_source"] != "annotated"]
        if progress and todo:
            from tqdm.auto import tqdm

            todo = tqdm(todo, desc="apex", unit="clip")
        new_issues = []
        for uid in todo:
            row = samples.loc[uid]
            on, off = int(row["onset"]), int(row["offset"])
            middle = (on + off) // 2
            if apex == "middle":
                frame, source, how = middle, "middle", "the middle frame of onset..offset"
            else:
                from ..features.apex import estimate_apex

                frame = estimate_apex(self.cube(uid), **estimate_params)
                source, how = "estimated", "the flow-magnitude peak (estimate_apex)"
            note = f"apex not annotated: {how}, frame {frame} (middle frame {middle})"
            samples.at[uid, "apex"] = frame
            samples.at[uid, "apex_source"] = source
            samples.at[uid, "apex_estimated"] = True
            kept = [f for f in str(row["flags"]).split("; ") if f and not f.startswith(("apex not annotated",
                                                                                       "SMIC does not annotate"))]
            samples.at[uid, "flags"] = "; ".join([*kept, note])
            new_issues.append({"dataset": row["dataset"], "file": row.get("path", None), "row": None,
                               "sample": row["sample"], "action": "apex estimated", "reason": note})
        issues = self.issues
        if new_issues:
            issues = pd.concat([issues, pd.DataFrame(new_issues, columns=ISSUE_COLUMNS)], ignore_index=True)
        return self._derive(samples, issues=issues)

    def cubes(self, uids: Iterable | None = None, *, progress: bool = False):
        """Iterate over ``(uid, cube)``; ``progress=True`` shows a tqdm bar."""
        uids = self.uids if uids is None else list(uids)
        if progress:
            from tqdm.auto import tqdm

            uids = tqdm(uids, desc=f"loading {self.name}", unit="clip")
        for uid in uids:
            yield uid, self.cube(uid)

    def ground_truth(self, uid) -> xr.Dataset | None:
        """Ground truth of a clip (synthetic corpora); ``None`` for real datasets."""
        if self._truth is None:
            return None
        return self._truth(self.row(uid))

    @property
    def has_ground_truth(self) -> bool:
        return self._truth is not None

    # -- derived corpora -----------------------------------------------------------
    def _derive(self, samples: pd.DataFrame, *, name: str | None = None, issues=None) -> Corpus:
        return Corpus(samples, loader=self._loader, name=name or self.name, truth=self._truth,
                      issues=self.issues if issues is None else issues, info=self.info)

    def subset(self, uids: Sequence) -> Corpus:
        """The corpus restricted to the given uids (in that order)."""
        return self._derive(self.samples.loc[list(uids)])

    def filter(self, mask=None, **equal) -> Corpus:
        """Keep rows where ``mask`` (a boolean array/Series) holds and columns equal values.

        ``corpus.filter(subject="sub01")``, ``corpus.filter(label=["happiness", "surprise"])``
        (a list means "any of").
        """
        keep = np.ones(len(self), bool) if mask is None else np.asarray(mask, bool)
        if keep.shape != (len(self),):
            raise ValueError(f"mask must have one entry per sample ({len(self)}), got shape {keep.shape}")
        for column, value in equal.items():
            if column not in self.samples.columns:
                raise ValueError(f"cannot filter on {column!r}; columns are {list(self.samples.columns)}")
            values = value if isinstance(value, (list, tuple, set)) else [value]
            keep &= self.samples[column].isin(values).to_numpy()
        return self._derive(self.samples[keep])

    def map_classes(self, mapping, *, name: str | None = None) -> Corpus:
        """Relabel samples with a class mapping; samples whose emotion is not mapped are left out.

        ``mapping`` is ``"native"``, a name in :data:`CLASS_MAPPINGS` or a dict. What is
        left out is counted in the returned corpus's ``issues`` (action ``excluded by
        mapping``), so nothing disappears unannounced.
        """
        samples = self.samples.copy()
        if class_mapping(mapping) is None:
            samples["label"] = samples["emotion"]
            return self._derive(samples, name=name)
        mapped = pd.Series(index=samples.index, dtype=object)
        for dataset, rows in samples.groupby("dataset").groups.items():
            part = class_mapping(mapping, dataset)
            mapped.loc[rows] = samples.loc[rows, "emotion"].str.lower().map(part)
        dropped = samples[mapped.isna()]
        shown = repr(mapping) if isinstance(mapping, str) else "given"
        targets = {str(c).lower() for ds in samples["dataset"].unique()
                   for c in (class_mapping(mapping, ds) or {}).values()}
        hint = " (it is already one of the mapping's classes: the labels look mapped already)"
        notes = pd.DataFrame({
            "dataset": dropped["dataset"], "file": "", "row": np.nan, "sample": dropped["sample"],
            "action": "excluded by mapping",
            "reason": [f"emotion {e!r} is not in the class mapping {shown}" + (hint if e.lower() in targets else "")
                       for e in dropped["emotion"]],
        })
        samples["label"] = mapped
        kept = samples[mapped.notna()]
        if len(dropped):
            _warn_excluded(dropped, n_total=len(samples), n_kept=len(kept), shown=shown, targets=targets)
        issues = pd.concat([self.issues, notes], ignore_index=True) if len(notes) else self.issues
        return self._derive(kept, name=name, issues=issues)


def _warn_excluded(dropped: pd.DataFrame, *, n_total: int, n_kept: int, shown: str, targets: set) -> None:
    """One LoaderWarning saying how many samples a class mapping left out, and why."""
    counts = dropped.groupby(["dataset", "emotion"]).size().sort_values(ascending=False, kind="stable")
    listed = ", ".join(f"{n} {ds} {emo!r}" for (ds, emo), n in counts.head(6).items())
    if len(counts) > 6:
        listed += f" and {len(counts) - 6} more"
    msg = (f"class mapping {shown}: {len(dropped)} of {n_total} samples excluded because their emotion is not in "
           f"the mapping ({listed}); they are listed in corpus.issues (action 'excluded by mapping')")
    already = sorted({e.lower() for e in dropped["emotion"]} & targets)
    if already:
        msg += (f". The emotions {already} are classes of this mapping already: the labels look mapped; "
                "keep them as they are (mapping 'native') instead")
    if n_kept == 0:
        msg += ". No sample is left"
    warnings.warn(msg, LoaderWarning, stacklevel=3)


def _normalise_samples(samples: pd.DataFrame) -> pd.DataFrame:
    df = samples.copy()
    required = ["dataset", "subject", "sample", "emotion", "onset", "apex", "offset", "n_frames", "fps"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"samples table lacks the columns {missing}; required are {required}")
    df["subject"] = df["subject"].astype(str)
    df["sample"] = df["sample"].astype(str)
    df["emotion"] = df["emotion"].astype(str)
    if "group" not in df.columns:
        df["group"] = df["dataset"].astype(str) + "/" + df["subject"]
    if "label" not in df.columns:
        df["label"] = df["emotion"]
    if "apex_estimated" not in df.columns:
        df["apex_estimated"] = False
    if "flags" not in df.columns:
        df["flags"] = ""
    df["apex_estimated"] = df["apex_estimated"].astype(bool)
    guess = pd.Series(np.where(df["apex_estimated"], "middle", "annotated"), index=df.index)
    if "apex_source" not in df.columns:
        df["apex_source"] = guess
    df["apex_source"] = df["apex_source"].where(df["apex_source"].notna(), guess).astype(str)
    bad = sorted(set(df["apex_source"]) - set(APEX_SOURCES))
    if bad:
        raise ValueError(f"samples column apex_source holds {bad}; accepted values are {list(APEX_SOURCES)}")
    df["flags"] = df["flags"].fillna("").astype(str)
    for c in ("onset", "apex", "offset", "n_frames"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    df["fps"] = df["fps"].astype(float)
    uid = df["dataset"].astype(str) + "/" + df["sample"]
    if uid.duplicated().any():
        dup = uid[uid.duplicated()].iloc[0]
        raise ValueError(f"two samples share the uid {dup!r}; sample names must be unique within a dataset")
    df.index = pd.Index(uid, name="uid")
    front = [c for c in SAMPLE_COLUMNS if c in df.columns]
    return df[front + [c for c in df.columns if c not in front]]


def composite(corpora: Sequence[Corpus], *, name: str = "composite", mapping=None) -> Corpus:
    """Join several corpora into one (for cross-database and MEGC-style evaluation).

    Subjects stay distinct because ``group`` carries the dataset name. ``mapping``
    (e.g. ``"megc2019"``) is applied to every part first.
    """
    if not corpora:
        raise ValueError("composite needs at least one corpus")
    parts = [c.map_classes(mapping) if mapping is not None else c for c in corpora]
    names = [c.name for c in parts]
    loaders = {}
    truths = {}
    for part in parts:
        for ds in part.samples["dataset"].unique():
            loaders[ds] = part._loader
            truths[ds] = part._truth
    samples = pd.concat([p.samples for p in parts])
    issues = pd.concat([p.issues for p in parts], ignore_index=True)

    def loader(row):
        return loaders[row["dataset"]](row)

    truth = None
    if any(t is not None for t in truths.values()):
        def truth(row):
            fn = truths[row["dataset"]]
            return None if fn is None else fn(row)

    # the parts' own info (seeds, difficulty, variants) stays part of the composite's
    # identity, so caches keyed on corpus.info never confuse two differently made parts
    info = {"parts": names, "part_info": {p.name: p.info for p in parts}}
    return Corpus(samples.reset_index(drop=True), loader=loader, name=name, truth=truth, issues=issues, info=info)


def warn_issues(issues: pd.DataFrame, *, dataset: str) -> None:
    """Announce a loader's repairs and skips in one warning (details in ``corpus.issues``)."""
    if len(issues) == 0:
        return
    counts = issues["action"].value_counts()
    listed = "; ".join(f"{n} {action}" for action, n in counts.items())
    first = issues.iloc[0]
    where = f"{first['file']}" + (f" row {int(first['row'])}" if pd.notna(first["row"]) else "")
    warnings.warn(
        f"{dataset}: {listed} (see corpus.issues for each one; first: {where}: {first['reason']})",
        LoaderWarning, stacklevel=3,
    )


__all__.append("warn_issues")
