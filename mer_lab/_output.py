"""Output files of the command line: checked before the work, never lost after it.

A long run (``mer-lab table3`` can take hours) must not end in a traceback because its
output file cannot be written. :func:`check_writable` is called on every output option
before any computation; :func:`write_or_rescue` writes the result and, when writing
fails anyway (disk full, folder removed meanwhile), saves it to a rescue file and says
where.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["check_writable", "write_or_rescue", "rescue_path"]


def check_writable(path, *, option: str = "--out", suffixes: Sequence[str] | None = None) -> Path:
    """``path`` as a Path once it is known that a file can be written there.

    The folder is created when missing (as the writers do). Raises a :class:`ValueError`
    naming the option and the path when the name is a folder, the suffix is not
    accepted, the folder cannot be created, or a file cannot be created in it.
    """
    path = Path(os.path.expanduser(str(path)))
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise ValueError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder; give a file name")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{option} {path}: cannot create the folder {folder} ({exc.strerror or exc})") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{option} {path} exists and is not writable")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".mer_lab-probe-")
    except OSError as exc:
        raise ValueError(f"{option} {path}: cannot write in the folder {folder} ({exc.strerror or exc}); "
                         f"choose another location") from None
    os.close(fd)
    os.unlink(probe)
    return path


def rescue_path(path) -> Path:
    """Where a result that could not be written to ``path`` goes: the current folder, else
    the temporary folder, under a time-stamped name (``results.rescued-20250101-120000.csv``)."""
    path = Path(path)
    name = f"{path.stem}.rescued-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        if os.access(folder, os.W_OK) and folder.resolve() != path.parent.resolve():
            return folder / name
    return Path(tempfile.gettempdir()) / name


def write_or_rescue(path, write: Callable[[Path], object], *, what: str = "results", stream=None) -> Path:
    """Call ``write(path)``; when it fails with an OSError, ``write`` to :func:`rescue_path`
    instead and print where (to ``stream``, default stderr). Returns the path written."""
    path = Path(path)
    stream = sys.stderr if stream is None else stream
    try:
        write(path)
        return path
    except OSError as exc:
        rescue = rescue_path(path)
        try:
            write(rescue)
        except OSError as again:
            raise OSError(f"cannot write the {what} to {path} ({exc}) nor to {rescue} ({again})") from exc
        print(f"warning: cannot write the {what} to {path} ({exc.strerror or exc}); saved them to {rescue} "
              f"instead", file=stream)
        return rescue
