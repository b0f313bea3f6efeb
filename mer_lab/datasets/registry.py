"""Every dataset by name: ``load("casme2")``, ``available()``, :data:`DATASETS`.

The folder of a real dataset comes from, in order: the ``root`` argument; ``path:`` in
the data manifest; ``$MER_LAB_DATA/<folder>``. The synthetic corpus needs no folder.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DatasetSpec", "DATASETS", "available", "load", "resolve_root", "known_names", "spec_for"]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its loader (imported when first used) and how to find it."""

    name: str
    target: str            # "module:function" inside mer_lab.datasets
    description: str
    folder: str | None     # default folder name under $MER_LAB_DATA; None = needs no folder
    root_arg: str = "root"

    @property
    def loader(self) -> Callable:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(f"mer_lab.datasets.{module}"), func)

    @property
    def needs_root(self) -> bool:
        return self.folder is not None


def _spec(name, target, description, folder, root_arg="root"):
    return name, DatasetSpec(name, target, description, folder, root_arg)


DATASETS: dict[str, DatasetSpec] = dict([
    _spec("synthetic", "synthetic:make_corpus",
          "built-in synthetic corpus with ground truth (motion, landmarks, key frames); no licence needed", None),
    _spec("smic", "smic:load_smic", "SMIC: HS 100 fps / VIS, NIR 25 fps; 3 classes from folders (modality=)", "SMIC"),
    _spec("casme", "casme:load_casme", "CASME: sections A and B, 60 fps, 8 emotions", "CASME"),
    _spec("casme2", "casme2:load_casme2", "CASME II: 200 fps, raw or cropped frames, coding xlsx (frames=)", "CASME2"),
    _spec("casme_sq", "casme_sq:load_casme_sq", "CAS(ME)^2: 30 fps; part B ME clips, part A long videos (part=)",
          "CASME_sq"),
    _spec("samm", "samm:load_samm", "SAMM: 200 fps, 2040x1088 grey, 8 emotions", "SAMM"),
    _spec("samm_long", "samm:load_samm_long", "SAMM long videos with micro/macro intervals (spotting)",
          "SAMM_longvideos"),
    _spec("meview", "meview:load_meview", "MEVIEW: in-the-wild clips, 25 fps (layout defined by mer_lab)", "MEVIEW"),
    _spec("mmew", "mmew:load_mmew", "MMEW: micro-expression clips filed by emotion, 90 fps", "MMEW"),
    _spec("flow_images", "flow_images:load_flow_images",
          "precomputed onset-apex flow images (u, v, strain PNGs + label CSV)", "flow_images", "folder"),
])


def available() -> list[str]:
    """Names accepted by :func:`load`."""
    return list(DATASETS)


def _check_name(name) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}{_did_you_mean(name, DATASETS)}; valid names: {', '.join(DATASETS)}")
    return DATASETS[name]


def _did_you_mean(name, choices) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _manifest(manifest):
    from pathlib import Path

    from .manifest import Manifest, load_manifest

    if isinstance(manifest, Manifest):
        return manifest
    if manifest is None or isinstance(manifest, (str, Path)):
        return load_manifest(manifest)
    raise TypeError(f"manifest must be a path or a Manifest, got {type(manifest).__name__}")


def known_names(manifest=None) -> list[str]:
    """The names :func:`load` accepts: the registered datasets and the data manifest's entries
    (an entry may use another name with ``loader:``). A malformed manifest adds nothing here;
    loading reports it."""
    names = list(DATASETS)
    try:
        names += [n for n in _manifest(manifest).datasets if n not in DATASETS]
    except (OSError, ValueError):
        pass
    return names


def spec_for(name: str, manifest=None) -> DatasetSpec:
    """The loader of ``name``: the manifest entry's ``loader:`` when the manifest has an entry
    ``name`` (so every command reads a dataset the same way), else the registered dataset."""
    if name in DATASETS and not DATASETS[name].needs_root:
        return DATASETS[name]
    manifest = _manifest(manifest)
    entry = manifest.entry(name)
    if entry is not None:
        return DATASETS[entry.get("loader", name)]
    if name in DATASETS:
        return DATASETS[name]
    known = list(DATASETS) + [n for n in manifest.datasets if n not in DATASETS]
    raise ValueError(f"unknown dataset {name!r}{_did_you_mean(name, known)}; valid names: {', '.join(known)}"
                     + (f" (the data manifest {manifest.path} adds its entries)" if manifest.path else ""))


def resolve_root(name: str, root=None, *, manifest=None):
    """The folder a dataset would be read from and the places looked at.

    Returns ``(path or None, looked)``; ``path`` may not exist.
    """
    from pathlib import Path

    if root is not None:
        if name not in DATASETS:
            spec_for(name, manifest)  # an unknown name is an error, with suggestions
        return Path(root).expanduser(), [f"root argument: {root}"]
    manifest = _manifest(manifest)
    spec = spec_for(name, manifest)
    entry = manifest.entry(name)
    if entry is None:
        # fall back on $MER_LAB_DATA/<default folder>
        import os

        import difflib

        close = difflib.get_close_matches(name, [n for n in manifest.datasets if n != name], n=2, cutoff=0.8)
        hint = (f" (it has {' and '.join(repr(c) for c in close)}: a typo in the key? an entry's key is the name "
                f"the dataset is loaded by)" if close else "")
        env = os.environ.get(manifest.data_env)
        if env:
            p = Path(env).expanduser() / spec.folder
            return p, [f"${manifest.data_env}/{spec.folder} = {p}" + (f"; no entry {name!r} in {manifest.path}{hint}"
                                                                        if hint else "")]
        return None, [f"no entry {name!r} in {manifest.path or 'any manifest'}{hint}, and ${manifest.data_env} "
                      f"is not set"]
    return manifest.root(name)


def _check_kwargs(name: str, spec: DatasetSpec, kwargs) -> None:
    """Refuse loader arguments the loader does not take, naming them and the accepted ones."""
    import inspect

    params = inspect.signature(spec.loader).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                                     inspect.Parameter.POSITIONAL_OR_KEYWORD)
                and p.name != spec.root_arg]
    for key in kwargs:
        if key not in accepted:
            raise ValueError(f"{name}: unknown loader argument {key!r}{_did_you_mean(key, accepted)}; the "
                             f"{spec.name} loader accepts: {', '.join(accepted)}")


def load(name: str, *, root=None, manifest=None, **kwargs):
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :func:`available` (``"synthetic"``, ``"casme2"``, ``"samm"``, ...) or an
        entry of the data manifest (read with the entry's ``loader:``).
    root : path-like, optional
        The dataset's folder; default from the manifest (``path:``) or
        ``$MER_LAB_DATA/<folder>``. Ignored by ``"synthetic"``.
    manifest : path-like or Manifest, optional
        Manifest to read instead of the default one.
    **kwargs
        Passed to the loader (``frames="raw"``, ``modality="VIS"``, ``mapping="megc2019"``...);
        an argument the loader does not take is a ValueError listing the accepted ones.

    Returns
    -------
    Corpus

    Examples
    --------
    >>> from mer_lab.datasets import load
    >>> corpus = load("casme2", frames="cropped", mapping="casme2_5")   # doctest: +SKIP
    """
    from .manifest import Manifest

    if name in DATASETS and not DATASETS[name].needs_root:
        spec = DATASETS[name]
    else:
        manifest = _manifest(manifest) if not isinstance(manifest, Manifest) else manifest
        spec = spec_for(name, manifest)
    if not spec.needs_root:
        try:
            loader = spec.loader
        except ImportError as exc:
            raise ImportError(f"the {name} corpus is not available in this version of mer_lab ({exc})") from exc
        _check_kwargs(name, spec, kwargs)
        return loader(**kwargs)
    _check_kwargs(name, spec, kwargs)
    path, looked = resolve_root(name, root, manifest=manifest)
    if path is None or not path.is_dir():
        from ._clips import not_a_folder

        if path is not None and (path.exists() or path.is_symlink()):
            raise FileNotFoundError(f"{name}: {path} cannot be the dataset folder: {not_a_folder(path)} "
                                    f"(looked at: {'; '.join(looked)})")
        raise FileNotFoundError(
            f"{name}: dataset folder not found (looked at: {'; '.join(looked)}). Pass root=, set "
            f"datasets.{name}.path in data_manifest.yaml, or set $MER_LAB_DATA to the folder holding "
            f"{spec.folder}/. These datasets are licensed: request them from their owners."
        )
    return spec.loader(**{spec.root_arg: path}, **kwargs)


# --------------------------------------------------------------------------- overview table
TABLE_COLUMNS = ["dataset", "variant", "title", "status", "where", "subjects", "samples", "classes",
                 "expected_subjects", "expected_samples", "expected_classes", "issues", "note"]


def datasets_table(manifest=None, *, load_found: bool = True):
    """One row per dataset variant: found or not, and its numbers next to the expected ones.

    Parameters
    ----------
    manifest : path-like or Manifest, optional
        Default: the manifest found by :func:`mer_lab.datasets.manifest.find_manifest`.
    load_found : bool
        Load the datasets that are found to count their subjects, samples and classes
        (reads the sheets and lists the frame folders; no frame is decoded).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`. ``status`` is ``"built in"`` / ``"not built yet"``
        for the synthetic corpus, else ``"found"``, ``"not found"`` or ``"error"`` (with
        the message in ``note``). ``classes`` and ``expected_classes`` are dicts.
    """
    import warnings

    import pandas as pd

    from .manifest import Manifest, load_manifest

    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    rows = [_synthetic_row(load_found)]
    names = list(manifest.datasets) + [n for n in DATASETS if n not in manifest.datasets and n != "synthetic"]
    for name in names:
        entry = manifest.entry(name) or {}
        spec = DATASETS[entry.get("loader", name)] if entry.get("loader", name) in DATASETS else None
        if spec is None:
            continue
        path, looked = (manifest.root(name) if entry else resolve_root(spec.name, manifest=manifest))
        found = path is not None and path.is_dir()
        variants = entry.get("expected") or [{"variant": "", "options": {}}]
        for exp in variants:
            row = {"dataset": name, "variant": exp.get("variant", ""), "title": entry.get("title", spec.description),
                   "status": "found" if found else "not found",
                   "where": str(path) if found else "; ".join(looked),
                   "subjects": None, "samples": None, "classes": None,
                   "expected_subjects": exp.get("subjects"), "expected_samples": exp.get("samples"),
                   "expected_classes": exp.get("classes"), "issues": None, "note": exp.get("note", "") or ""}
            if found and load_found:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        corpus = spec.loader(**{spec.root_arg: path}, **(exp.get("options") or {}))
                    summary = corpus.summary()
                    row.update(subjects=summary["subjects"], samples=summary["samples"],
                               classes=summary["classes"], issues=summary["issues"])
                except Exception as exc:  # report, never crash the overview
                    row.update(status="error", note=f"{type(exc).__name__}: {exc}")
            rows.append(row)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    for c in ("subjects", "samples", "expected_subjects", "expected_samples", "issues"):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype("Int64")
    return table


def _synthetic_row(load_found: bool) -> dict:
    row = {"dataset": "synthetic", "variant": "default", "title": DATASETS["synthetic"].description,
           "status": "built in", "where": "generated (no files)", "subjects": None, "samples": None, "classes": None,
           "expected_subjects": None, "expected_samples": None, "expected_classes": None, "issues": None, "note": ""}
    try:
        make = DATASETS["synthetic"].loader
    except (ImportError, AttributeError) as exc:
        row.update(status="not built yet", note=f"mer_lab.datasets.synthetic is not available ({exc})")
        return row
    if load_found:
        try:
            summary = make().summary()
            row.update(subjects=summary["subjects"], samples=summary["samples"], classes=summary["classes"],
                       issues=summary["issues"])
        except Exception as exc:
            row.update(status="error", note=f"{type(exc).__name__}: {exc}")
    return row


__all__ += ["datasets_table", "TABLE_COLUMNS"]
