"""The data manifest (``data_manifest.yaml``): where licensed copies live and what they hold.

Location, first found wins: ``$MER_LAB_MANIFEST``; ``./data_manifest.yaml`` in the
current folder; ``data_manifest.yaml`` at the repository root next to the ``mer_lab``
package. A dataset's folder is its ``path:`` (absolute, or relative to the manifest;
``~`` expanded), else ``$MER_LAB_DATA/<folder>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MANIFEST_ENV",
    "DATA_ENV",
    "ManifestError",
    "Manifest",
    "manifest_candidates",
    "find_manifest",
    "load_manifest",
    "validate_manifest",
]

MANIFEST_ENV = "MER_LAB_MANIFEST"
DATA_ENV = "MER_LAB_DATA"
_ENTRY_KEYS = {"title", "loader", "folder", "path", "citation", "obtain", "fps", "resolution", "expected", "layout",
               "notes"}
_REQUIRED = ("title", "loader", "folder", "citation", "obtain", "expected")
_EXPECTED_KEYS = {"variant", "options", "subjects", "samples", "classes", "source", "note"}


class ManifestError(ValueError):
    """The manifest is malformed; the message names the file and the key."""


@dataclass
class Manifest:
    """A validated manifest: ``datasets`` maps a name to its entry (a dict)."""

    datasets: dict = field(default_factory=dict)
    path: Path | None = None
    data_env: str = DATA_ENV

    def entry(self, name: str) -> dict | None:
        return self.datasets.get(name)

    def root(self, name: str) -> tuple[Path | None, list[str]]:
        """The folder of dataset ``name`` and the places looked at (for messages).

        ``path:`` when set, else ``$MER_LAB_DATA/<folder>``; ``None`` when neither is set.
        The folder is returned whether or not it exists.
        """
        entry = self.datasets.get(name) or {}
        looked = []
        if entry.get("path"):
            p = Path(os.path.expanduser(str(entry["path"])))
            if not p.is_absolute() and self.path is not None:
                p = self.path.parent / p
            looked.append(f"path: {p} (from {self.path})")
            return p, looked
        env = os.environ.get(self.data_env)
        folder = entry.get("folder") or name
        if env:
            p = Path(os.path.expanduser(env)) / folder
            looked.append(f"${self.data_env}/{folder} = {p}")
            return p, looked
        looked.append(f"no path: in {self.path or 'any manifest'} and ${self.data_env} is not set")
        return None, looked


def manifest_candidates() -> list[Path]:
    """Where the manifest is looked for, in order."""
    out = []
    env = os.environ.get(MANIFEST_ENV)
    if env:
        out.append(Path(os.path.expanduser(env)))
    out.append(Path.cwd() / "data_manifest.yaml")
    out.append(Path(__file__).resolve().parents[2] / "data_manifest.yaml")
    return out


def find_manifest() -> Path | None:
    """The first existing manifest (an explicit ``$MER_LAB_MANIFEST`` must exist)."""
    env = os.environ.get(MANIFEST_ENV)
    if env:
        p = Path(os.path.expanduser(env))
        if not p.is_file():
            raise FileNotFoundError(f"${MANIFEST_ENV} points at {p}, which does not exist")
        return p
    for p in manifest_candidates():
        if p.is_file():
            return p
    return None


def load_manifest(path=None) -> Manifest:
    """Read and validate a manifest (default: :func:`find_manifest`; empty if none exists)."""
    import yaml

    if path is None:
        path = find_manifest()
        if path is None:
            return Manifest()
    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path} is not valid YAML: {exc}") from exc
    return validate_manifest(data, source=path)


def validate_manifest(data, *, source=None) -> Manifest:
    """Check a parsed manifest and return it as a :class:`Manifest`.

    Every error is a :class:`ManifestError` naming the file and the key
    (``datasets.casme2.fps``) with what was found and what is accepted.
    """
    where = str(source) if source is not None else "manifest"

    def fail(key, msg):
        raise ManifestError(f"{where}: {key}: {msg}")

    if not isinstance(data, Mapping):
        fail("(top level)", f"must be a mapping with a 'datasets' key, got {type(data).__name__}")
    unknown = set(data) - {"version", "data_env", "datasets"}
    if unknown:
        fail(sorted(unknown)[0], "unknown top-level key; accepted: version, data_env, datasets")
    if data.get("version", 1) != 1:
        fail("version", f"must be 1, got {data.get('version')!r}")
    env = data.get("data_env", DATA_ENV)
    if not isinstance(env, str) or not env:
        fail("data_env", f"must be an environment variable name, got {env!r}")
    datasets = data.get("datasets")
    if not isinstance(datasets, Mapping):
        fail("datasets", f"must be a mapping of dataset name -> entry, got {type(datasets).__name__}")
    from .registry import DATASETS

    out = {}
    for name, entry in datasets.items():
        key = f"datasets.{name}"
        if not isinstance(entry, Mapping):
            fail(key, f"must be a mapping, got {type(entry).__name__}")
        extra = set(entry) - _ENTRY_KEYS
        if extra:
            fail(f"{key}.{sorted(extra)[0]}", f"unknown key; accepted: {', '.join(sorted(_ENTRY_KEYS))}")
        for req in _REQUIRED:
            if req not in entry:
                fail(f"{key}.{req}", "is missing")
        if entry["loader"] not in DATASETS:
            fail(f"{key}.loader", f"{entry['loader']!r} is not a loader; valid: {', '.join(sorted(DATASETS))}")
        for k in ("title", "folder", "obtain"):
            if not isinstance(entry[k], str) or not entry[k].strip():
                fail(f"{key}.{k}", f"must be a non-empty string, got {entry[k]!r}")
        if entry.get("path") is not None and not isinstance(entry["path"], str):
            fail(f"{key}.path", f"must be a folder path (string) or null, got {entry['path']!r}")
        cit = entry["citation"]
        if not isinstance(cit, Mapping):
            fail(f"{key}.citation", "must be a mapping with authors, title, venue, year (doi optional)")
        for k in ("authors", "title", "venue", "year"):
            if k not in cit:
                fail(f"{key}.citation.{k}", "is missing")
        if not isinstance(cit["year"], int) or not 1990 <= cit["year"] <= 2100:
            fail(f"{key}.citation.year", f"must be a year, got {cit['year']!r}")
        if "doi" in cit and not (isinstance(cit["doi"], str) and cit["doi"].startswith("10.")):
            fail(f"{key}.citation.doi", f"must look like 10.xxxx/..., got {cit['doi']!r}")
        fps = entry.get("fps")
        values = fps.values() if isinstance(fps, Mapping) else [fps]
        for v in values:
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                fail(f"{key}.fps", f"must be a positive number, a mapping of them, or null; got {fps!r}")
        expected = entry["expected"]
        if not isinstance(expected, list):
            fail(f"{key}.expected", "must be a list of variants (may be empty)")
        for i, exp in enumerate(expected):
            ek = f"{key}.expected[{i}]"
            if not isinstance(exp, Mapping):
                fail(ek, "must be a mapping")
            extra = set(exp) - _EXPECTED_KEYS
            if extra:
                fail(f"{ek}.{sorted(extra)[0]}", f"unknown key; accepted: {', '.join(sorted(_EXPECTED_KEYS))}")
            if not isinstance(exp.get("variant"), str):
                fail(f"{ek}.variant", "must be a string")
            if not isinstance(exp.get("options", {}) or {}, Mapping):
                fail(f"{ek}.options", "must be a mapping of loader keyword arguments")
            for k in ("subjects", "samples"):
                v = exp.get(k)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    fail(f"{ek}.{k}", f"must be a non-negative integer or null, got {v!r}")
            classes = exp.get("classes")
            if classes is not None:
                if not isinstance(classes, Mapping):
                    fail(f"{ek}.classes", "must map class -> count")
                for c, n in classes.items():
                    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                        fail(f"{ek}.classes.{c}", f"must be a non-negative integer, got {n!r}")
        out[str(name)] = dict(entry)
    return Manifest(datasets=out, path=Path(source) if source is not None else None, data_env=env)
