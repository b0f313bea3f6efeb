"""An on-disk cache for expensive, deterministic results (optical flow, features).

Entries are ``.npz`` files read with ``allow_pickle=False`` (nothing executes when an
entry is read), written to a temporary file and moved into place with
:func:`os.replace`, so an interrupted write never leaves a half entry under the final
name. An entry that cannot be read (truncated, corrupted, written by another code
version) is recomputed, with a warning.

The cache lives in ``$MER_LAB_CACHE`` (default ``~/.cache/mer_lab``). Keys are built
from plain values (dataset, sample, method name, every parameter that changes the
result, and a code version), never from array contents; a clip read from files adds
:func:`file_signature` (names, sizes and modification times of its files).

Functions do no disk I/O unless asked. Feature and flow functions take ``cache=None``
by default, which means: the cache of the enclosing :func:`flow_cache` block, or none
outside one. The experiment layer (:func:`mer_lab.evaluation.experiment.compute_features`,
in every worker) and the dashboard's engine (:mod:`mer_lab.compare`) open such a block,
so flows are computed once and shared by every method; a call at the prompt or in a
notebook computes in memory unless it passes ``cache=True`` (or a :class:`DiskCache`).

A cache that cannot be written (read-only folder, a cache root under a file, a full
disk) never stops a run: results are computed without it, with one
:class:`CacheWarning` per process. Temporary files carry their writer's host and
process id; those of writers that are gone (or older than :data:`STALE_TMP_SECONDS`)
are removed the first time this process touches their folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "cache_key", "DiskCache", "CacheWarning", "default_cache", "resolve_cache", "flow_cache",
           "active_cache", "file_signature", "remove_stale_temporaries", "STALE_TMP_SECONDS"]


class CacheWarning(UserWarning):
    """A cache entry was unreadable and has been recomputed, or the cache cannot be written."""


#: Temporary entries older than this (seconds) are removed whoever wrote them.
STALE_TMP_SECONDS = 3600.0
_HOST = re.sub(r"[^0-9A-Za-z]+", "_", socket.gethostname())[:40] or "host"
_TMP = re.compile(r"^\.tmp-(?:(?P<host>[0-9A-Za-z_]+)-(?P<pid>\d+)-)?.*\.npz$")
_UNWRITABLE: dict[str, str] = {}   # cache root -> why it cannot be written (warned once per process)
_SWEPT: set[str] = set()           # folders whose stale temporaries were removed by this process


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temporaries(folder, *, max_age: float = STALE_TMP_SECONDS) -> int:
    """Remove the ``.tmp-*.npz`` files of interrupted writers in ``folder`` (not recursive).

    A temporary is stale when its writer (host and process id are in its name) ran on
    this machine and is gone, or when it is older than ``max_age`` seconds (writers on
    other machines, names without a process id). Returns how many were removed.
    """
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        m = _TMP.match(e.name)
        if m is None:
            continue
        try:
            age = now - e.stat().st_mtime
        except OSError:
            continue
        dead = m.group("pid") is not None and m.group("host") == _HOST and not _pid_alive(int(m.group("pid")))
        if dead or age > max_age:
            try:
                os.unlink(e.path)
                removed += 1
            except OSError:
                pass
    return removed


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


def file_signature(path) -> str:
    """A cheap signature of a clip's files: names, sizes and modification times.

    ``path`` is a frame folder (every file directly inside it counts) or a single file
    (a video, a flow image). Re-exporting, editing, adding or removing a frame changes
    the signature, so cache keys holding it never return results of the old frames.
    No file is read. A missing path gives ``"missing"``.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        if path.is_dir():
            entries = sorted((e.name, e.stat()) for e in os.scandir(path) if e.is_file())
        else:
            entries = [(path.name, path.stat())]
    except OSError:
        return "missing"
    for name, st in entries:
        digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:24]


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

    @property
    def writable(self) -> bool:
        """False once a write into this cache root failed in this process (then nothing is written)."""
        return str(self.root) not in _UNWRITABLE

    def _sweep(self, folder: Path) -> None:
        if str(folder) not in _SWEPT:
            _SWEPT.add(str(folder))
            remove_stale_temporaries(folder)

    def _give_up_writing(self, exc: OSError) -> None:
        """Remember that this root cannot be written and warn once per process."""
        key = str(self.root)
        if key in _UNWRITABLE:
            return
        _UNWRITABLE[key] = str(exc)
        warnings.warn(f"the cache folder {self.root} cannot be written ({exc.strerror or exc}): results are "
                      f"computed without storing them for the rest of this run. Set $MER_LAB_CACHE to a writable "
                      f"folder, or turn the cache off (--no-cache, cache=False)", CacheWarning, stacklevel=4)

    def load(self, namespace: str, key: Mapping) -> dict[str, np.ndarray] | None:
        """The stored arrays, or ``None`` when absent or unreadable (the bad file is removed)."""
        if not self.enabled:
            return None
        path = self.path(namespace, key)
        if self.writable:
            self._sweep(path.parent)
        try:
            found = path.is_file()
        except OSError:
            found = False
        if not found:
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
        """Write arrays atomically; returns the entry's path.

        Returns ``None`` when the cache is disabled or cannot be written (a read-only
        folder, a cache root under a file, a full disk): then a :class:`CacheWarning` is
        issued once per process and later saves into that root are skipped. Temporary
        names carry the writer's host and process id, so stale ones of interrupted runs
        are recognised and removed (:func:`remove_stale_temporaries`).
        """
        if not self.enabled or not self.writable:
            return None
        path = self.path(namespace, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sweep(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{_HOST}-{os.getpid()}-", suffix=".npz")
        except OSError as exc:
            self._give_up_writing(exc)
            return None
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
            # The rename is atomic: an interrupted run never leaves a half entry. No fsync: it
            # cost ~16 ms per entry (most of a cold MDMO run's wall time, 60 flows per clip);
            # an entry lost to a power cut reads as unreadable and is recomputed with a warning.
            os.replace(tmp, path)
        except BaseException as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(exc, OSError):
                self._give_up_writing(exc)
                return None
            raise
        return path

    def get_or_compute(self, namespace: str, key: Mapping, compute: Callable[[], Mapping[str, np.ndarray]],
                       *, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Load the entry for ``key`` or compute, store and return it.

        ``names``: the arrays an entry must hold; a stored entry lacking one (written by
        another version, or by hand) is recomputed and replaced, with a warning naming
        the entry and the missing arrays.
        """
        found = self.load(namespace, key)
        if found is not None:
            missing = [n for n in (names or ()) if n not in found]
            if not missing:
                return found
            warnings.warn(f"cache entry {self.path(namespace, key)} lacks the array(s) {missing} (it holds "
                          f"{sorted(found)}); recomputing it", CacheWarning, stacklevel=2)
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

    def clean_temporaries(self, *, max_age: float = STALE_TMP_SECONDS) -> int:
        """Remove stale ``.tmp-*.npz`` files everywhere under the root; returns how many."""
        if not self.root.is_dir():
            return 0
        folders = {p.parent for p in self.root.rglob(".tmp-*.npz")}
        return sum(remove_stale_temporaries(f, max_age=max_age) for f in folders)


_DEFAULT: DiskCache | None = None


def default_cache() -> DiskCache:
    """The process-wide cache at :func:`cache_dir` (re-read when ``MER_LAB_CACHE`` changes)."""
    global _DEFAULT
    if _DEFAULT is None or _DEFAULT.root != cache_dir():
        _DEFAULT = DiskCache()
    return _DEFAULT


#: The cache of the innermost :func:`flow_cache` block of this thread or task (None: none).
_ACTIVE: ContextVar[DiskCache | None] = ContextVar("mer_lab_active_cache", default=None)


def _store_of(store) -> DiskCache | None:
    if store is None or store is True:
        return default_cache()
    if store is False:
        return None
    if isinstance(store, DiskCache):
        return store if store.enabled else None
    raise TypeError(f"store must be None, True, False or a mer_lab.cache.DiskCache, got {store!r:.80}")


@contextmanager
def flow_cache(store=None) -> Iterator[DiskCache | None]:
    """Turn the disk cache on for the flow and feature functions called inside the block.

    Inside ``with flow_cache(): ...`` every function called with ``cache=None`` (their
    default: :func:`mer_lab.features.flow.flow_pair`, :func:`~mer_lab.features.flow.flow_sequence`,
    the flow features, MDMO's per-frame matrices) reads and writes ``store``; outside any
    block they compute in memory and write nothing. An explicit ``cache=`` argument
    always wins (``cache=False`` computes even inside a block).

    Parameters
    ----------
    store : None, bool or DiskCache
        ``None`` or ``True``: :func:`default_cache` (``$MER_LAB_CACHE``); a
        :class:`DiskCache`: that folder (a disabled one turns caching off); ``False``:
        caching off inside the block.

    Notes
    -----
    The switch is a :class:`contextvars.ContextVar`: it holds in the thread (or asyncio
    task) that entered the block, not in threads or processes started from it. Code
    that fans work out (``compute_features`` with ``n_jobs``, a Dask cluster) enters the
    block again in each worker, or resolves the store first (:func:`resolve_cache`) and
    hands it on explicitly.

    Examples
    --------
    >>> import tempfile
    >>> with flow_cache(DiskCache(tempfile.mkdtemp())) as store:
    ...     resolve_cache(None) is store
    True
    >>> resolve_cache(None) is None
    True
    """
    token = _ACTIVE.set(_store_of(store))
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


def active_cache() -> DiskCache | None:
    """The cache of the enclosing :func:`flow_cache` block, or ``None`` outside one."""
    return _ACTIVE.get()


def resolve_cache(cache) -> DiskCache | None:
    """The cache a ``cache=`` argument names, or ``None`` for none.

    ``None``: the cache of the enclosing :func:`flow_cache` block (none outside one);
    ``True``: :func:`default_cache`; ``False``: none; a :class:`DiskCache`: itself.
    """
    if cache is None:
        return _ACTIVE.get()
    if cache is True:
        return default_cache()
    if cache is False:
        return None
    if isinstance(cache, DiskCache):
        return cache
    raise TypeError(f"cache must be None, True, False or a mer_lab.cache.DiskCache, got {cache!r:.80}")
