"""An on-disk cache for expensive, deterministic results (optical flow, features).

Entries are ``.npz`` files read with ``allow_pickle=False`` (nothing executes when an
entry is read), written to a temporary file and moved into place with
:func:`os.replace`, so an interrupted write never leaves a half entry under the final
name. An entry that cannot be read (truncated, corrupted, written by another code
version) is recomputed, with a warning.

The cache lives in ``$MER_LAB_CACHE`` (default ``~/.cache/mer_lab``). Keys are built
from plain values (dataset, sample, method name, every parameter that changes the
result, and a code version), never from array contents.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "cache_key", "DiskCache", "CacheWarning", "default_cache", "resolve_cache"]


class CacheWarning(UserWarning):
    """A cache entry was unreadable and has been recomputed."""


def cache_dir() -> Path:
    """The cache root: ``$MER_LAB_CACHE`` or ``~/.cache/mer_lab``."""
    root = os.environ.get("MER_LAB_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "mer_lab"


def _plain(value):
    """Turn a key part into JSON-able plain data; arrays are refused on purpose."""
    if isinstance(value, np.ndarray):
        raise TypeError("cache keys are built from plain values (names, numbers, strings), not arrays")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot use a value of type {type(value).__name__} in a cache key")


def cache_key(**parts) -> str:
    """A stable hex digest of plain key parts (order of keywords does not matter)."""
    text = json.dumps(_plain(parts), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class DiskCache:
    """A folder of ``.npz`` entries, one per key, grouped by a namespace.

    Parameters
    ----------
    root : path-like, optional
        Folder of the cache; default :func:`cache_dir`.
    enabled : bool
        ``False`` turns the cache into a pass-through (always computes).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> cache = DiskCache(tempfile.mkdtemp())
    >>> arrays = cache.get_or_compute("demo", {"n": 3}, lambda: {"x": np.arange(3)})
    >>> arrays["x"].tolist()
    [0, 1, 2]
    """

    def __init__(self, root=None, *, enabled: bool = True):
        self.root = Path(root) if root is not None else cache_dir()
        self.enabled = enabled

    def path(self, namespace: str, key: Mapping) -> Path:
        digest = cache_key(**dict(key))
        return self.root / namespace / digest[:2] / f"{digest}.npz"

    def load(self, namespace: str, key: Mapping) -> dict[str, np.ndarray] | None:
        """The stored arrays, or ``None`` when absent or unreadable (the bad file is removed)."""
        if not self.enabled:
            return None
        path = self.path(namespace, key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
            warnings.warn(f"cache entry {path} is unreadable ({exc}); recomputing it", CacheWarning, stacklevel=3)
            try:
                path.unlink()
            except OSError:
                pass
            return None

    def save(self, namespace: str, key: Mapping, arrays: Mapping[str, np.ndarray]) -> Path | None:
        """Write arrays atomically; returns the entry's path (``None`` when disabled)."""
        if not self.enabled:
            return None
        path = self.path(namespace, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
            # The rename is atomic: an interrupted run never leaves a half entry. No fsync: it
            # cost ~16 ms per entry (most of a cold MDMO run's wall time, 60 flows per clip);
            # an entry lost to a power cut reads as unreadable and is recomputed with a warning.
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return path

    def get_or_compute(self, namespace: str, key: Mapping,
                       compute: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Load the entry for ``key`` or compute, store and return it."""
        found = self.load(namespace, key)
        if found is not None:
            return found
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        for name, arr in arrays.items():
            if arr.dtype == object:
                raise TypeError(f"cache entry array {name!r} has dtype object; store plain numeric or string arrays")
        self.save(namespace, key, arrays)
        return arrays

    def clear(self, namespace: str | None = None) -> int:
        """Remove entries (of one namespace, or all); returns how many files were removed."""
        base = self.root / namespace if namespace else self.root
        count = 0
        if base.is_dir():
            for p in base.rglob("*.npz"):
                p.unlink()
                count += 1
        return count


_DEFAULT: DiskCache | None = None


def default_cache() -> DiskCache:
    """The process-wide cache at :func:`cache_dir` (re-read when ``MER_LAB_CACHE`` changes)."""
    global _DEFAULT
    if _DEFAULT is None or _DEFAULT.root != cache_dir():
        _DEFAULT = DiskCache()
    return _DEFAULT


def resolve_cache(cache) -> DiskCache | None:
    """The cache a ``cache=`` argument names: ``True`` the default one, ``False``/``None``
    none (returns ``None``), or a :class:`DiskCache` itself."""
    if cache is True:
        return default_cache()
    if cache is False or cache is None:
        return None
    if isinstance(cache, DiskCache):
        return cache
    raise TypeError(f"cache must be True, False or a mer_lab.cache.DiskCache, got {cache!r:.80}")
