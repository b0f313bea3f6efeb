"""Reading the datasets' metadata sheets (xlsx or csv) exactly as their owners ship them.

The sheets are irregular: SAMM puts about 13 rows of title and notes above its header,
CASME and CASME II have blank columns between the named ones, CAS(ME)^2's first sheet
has no header at all. Everything here works on *raw rows* (lists of cell values) whose
position gives the Excel row number (row ``i`` of the list is Excel row ``i + 1``), so
every issue a loader reports can name the row a user will see in a spreadsheet.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .corpus import DatasetError

__all__ = [
    "norm",
    "sheet_names",
    "read_rows",
    "find_header",
    "read_table",
    "parse_int",
    "cell_text",
    "ALIASES",
]

# Canonical column -> accepted header spellings, compared after norm() (lower case,
# letters and digits only), so "Onset Frame", "OnsetFrame" and "onset_frame" all match.
ALIASES: dict[str, tuple[str, ...]] = {
    "subject": ("subject", "sub", "subid", "participant", "subjectid"),
    "filename": ("filename", "foldname", "filenames", "clip", "video", "material", "samplename"),
    "onset": ("onsetframe", "onsetf", "onset"),
    "apex": ("apexframe", "apexf", "apexf1", "apex", "apex1", "apexframe1"),
    "apex2": ("apexf2", "apex2", "apexframe2"),
    "offset": ("offsetframe", "offsetf", "offset"),
    "action_units": ("actionunits", "actionunit", "aus", "au"),
    "emotion": ("estimatedemotion", "emotion", "emotions", "estimatedemotions", "label"),
    "objective_class": ("objectiveclasses", "objectiveclass"),
    "inducement_code": ("inducementcode",),
    "duration": ("duration",),
    "micro": ("micro",),
    "type": ("type",),
    "notes": ("notes", "note", "remarks", "remark"),
}

_SPREADSHEET = {".xlsx", ".xlsm"}


def norm(value) -> str:
    """Lower-case a header cell and keep letters and digits only (``'Onset Frame'`` -> ``'onsetframe'``)."""
    if value is None:
        return ""
    return re.sub(r"[^0-9a-z]", "", str(value).lower())


def _check_file(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metadata file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DatasetError(
            f"{path} is an old-style .xls workbook, which mer_lab does not read (it would need the "
            f"xlrd package); open it in a spreadsheet program and save it as .xlsx next to the original"
        )
    if suffix not in _SPREADSHEET | {".csv", ".txt", ".tsv"}:
        raise DatasetError(f"{path}: metadata files must be .xlsx or .csv, got {suffix!r}")
    return path


def sheet_names(path) -> list[str]:
    """Names of the sheets of a workbook (``['0']``-like single entry for csv files)."""
    path = _check_file(path)
    if path.suffix.lower() not in _SPREADSHEET:
        return [path.stem]
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_rows(path, *, sheet: int | str = 0) -> list[list]:
    """All rows of one sheet as lists of cell values; list index ``i`` is Excel row ``i + 1``.

    Parameters
    ----------
    path : path-like
        ``.xlsx``/``.xlsm`` workbook or ``.csv``/``.tsv`` text table.
    sheet : int or str
        Sheet position (0 = first) or name; a name matches ignoring case, spaces and
        punctuation (``"naming rule1"`` matches ``"Naming Rule 1"``).
    """
    path = _check_file(path)
    if path.suffix.lower() not in _SPREADSHEET:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
        return [[c if c.strip() != "" else None for c in r] for r in csv.reader(text.splitlines(), dialect=dialect)]
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip errors, broken xml: name the file
        raise DatasetError(f"cannot open the workbook {path}: {exc}") from exc
    try:
        names = list(wb.sheetnames)
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise DatasetError(f"{path} has {len(names)} sheets ({names}); sheet {sheet} does not exist")
            ws = wb[names[sheet]]
        else:
            match = [n for n in names if norm(n) == norm(sheet)]
            if not match:
                raise DatasetError(f"{path} has no sheet named {sheet!r}; its sheets are {names}")
            ws = wb[match[0]]
        rows = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        wb.close()
    # Strip trailing empty cells and strings that hold only spaces.
    out = []
    for r in rows:
        r = [None if (isinstance(c, str) and c.strip() == "") else c for c in r]
        while r and r[-1] is None:
            r.pop()
        out.append(r)
    while out and not out[-1]:
        out.pop()
    return out


def find_header(rows: Sequence[Sequence], *, required: Iterable[str] = ("subject",),
                any_of: Iterable[str] = ("filename", "onset"), path=None, max_scan: int = 60,
                aliases: Mapping[str, Sequence[str]] | None = None) -> int:
    """Position of the header row, found by its content.

    The header is the first row (within ``max_scan`` rows) holding a cell for every
    canonical column in ``required`` and at least one of ``any_of`` (canonical names of
    :data:`ALIASES`). Raises a :class:`DatasetError` naming the file otherwise.
    """
    required = list(required)
    any_of = list(any_of)
    table = {**ALIASES, **{k: tuple(norm(s) for s in v) for k, v in (aliases or {}).items()}}
    for i, row in enumerate(rows[:max_scan]):
        cells = {norm(c) for c in row if c is not None}
        has = lambda key: bool(cells & set(table.get(key, (key,))))  # noqa: E731
        if all(has(k) for k in required) and (not any_of or any(has(k) for k in any_of)):
            return i
    wanted = " and ".join(repr(k) for k in required) + (
        " plus one of " + ", ".join(repr(k) for k in any_of) if any_of else "")
    raise DatasetError(
        f"cannot find the header row in {path or 'the sheet'}: no row among the first {max_scan} holds "
        f"{wanted} (accepted spellings: " + "; ".join(f"{k}: {', '.join(table.get(k, (k,)))}" for k in required + any_of)
        + ")"
    )


def read_table(path, *, sheet: int | str = 0, required: Iterable[str] = ("subject",),
               any_of: Iterable[str] = ("filename", "onset"), aliases: Mapping[str, Sequence[str]] | None = None
               ) -> tuple[pd.DataFrame, int]:
    """Read a sheet with a header somewhere in its first rows.

    Returns
    -------
    table : pandas.DataFrame
        One row per non-empty row below the header, columns renamed to canonical names
        (see :data:`ALIASES`; blank header cells become ``"_blank<i>"``, other unknown
        headers keep their normalised text), plus ``_row``: the Excel row number.
    header_row : int
        Excel row number of the header.
    """
    rows = read_rows(path, sheet=sheet)
    h = find_header(rows, required=required, any_of=any_of, path=path, aliases=aliases)
    lookup = {}
    for source in (aliases or {}, ALIASES):  # the caller's spellings win over the defaults
        for canon, spellings in source.items():
            for s in spellings:
                lookup.setdefault(norm(s), canon)
    header = rows[h]
    names: list[str] = []
    for j, cell in enumerate(header):
        key = norm(cell)
        name = lookup.get(key, key) if key else f"_blank{j}"
        if name in names:  # a second "Apex" column etc.: keep it under a suffixed name
            name = f"{name}_{j}"
        names.append(name)
    width = len(names)
    records = []
    for i in range(h + 1, len(rows)):
        r = rows[i]
        if not any(c is not None for c in r):
            continue
        cells = list(r[:width]) + [None] * max(0, width - len(r))
        rec = dict(zip(names, cells))
        rec["_row"] = i + 1
        records.append(rec)
    table = pd.DataFrame.from_records(records, columns=[*names, "_row"])
    return table, h + 1


def parse_int(value) -> int | None:
    """A frame number from a cell: ints, integral floats and digit strings; ``None`` otherwise.

    ``'/'``, ``''``, ``'-'``, ``None`` and NaN (the ways the sheets write "missing") give None.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value != value or not value.is_integer():
            return None
        return int(value)
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return parse_int(float(value))
    except ImportError:  # pragma: no cover
        pass
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+\.0*", text):
        return int(float(text))
    return None


def cell_text(value) -> str:
    """A cell as text: integral floats without ``.0``, None/NaN as ``''``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()
