"""``mer-lab datasets``: which datasets are found, and do they hold what they should."""

from __future__ import annotations

import json

__all__ = ["register", "run", "format_table"]


def register(subparsers) -> None:
    """Add the ``datasets`` sub-command to the ``mer-lab`` parser."""
    p = subparsers.add_parser(
        "datasets",
        help="list the datasets: found or not, subjects, samples and classes against the expected numbers",
        description=("List every dataset mer_lab knows: whether your licensed copy is found (and where it "
                     "looked), and for the copies found their subjects, samples and class distribution next to "
                     "the numbers the manifest expects (thesis Tables 1-2). The synthetic corpus is built in."),
    )
    p.add_argument("--manifest", metavar="FILE", default=None,
                   help="data manifest to use (default: $MER_LAB_MANIFEST, ./data_manifest.yaml, the repository's)")
    p.add_argument("--json", action="store_true", help="print the table as JSON records")
    p.add_argument("--no-load", action="store_true",
                   help="only check the folders; do not read sheets and frame listings")
    p.set_defaults(func=run)


def run(args) -> int:
    from .registry import datasets_table

    table = datasets_table(args.manifest, load_found=not getattr(args, "no_load", False))
    if args.json:
        records = [{k: _plain(v) for k, v in rec.items()} for rec in table.to_dict("records")]
        print(json.dumps(records, indent=2))
    else:
        print(format_table(table))
    return 0


def _plain(value):
    if value is None or (not isinstance(value, (dict, list, str)) and _missing(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _classes(d) -> str:
    if not d:
        return "-"
    return ", ".join(f"{k} {v}" for k, v in d.items())


def _missing(v) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _num(v) -> str:
    return "-" if v is None or _missing(v) else str(int(v))


def format_table(table) -> str:
    """The datasets table as readable text blocks (one per dataset variant)."""
    lines = []
    for rec in table.to_dict("records"):
        head = rec["dataset"] + (f" [{rec['variant']}]" if rec["variant"] else "")
        lines.append(f"{head:<34} {rec['status']:<14} {rec['where']}")
        if rec["status"] in ("found", "built in") and not _missing(rec["samples"]):
            lines.append(f"    subjects {_num(rec['subjects'])} (expected {_num(rec['expected_subjects'])}), "
                         f"samples {_num(rec['samples'])} (expected {_num(rec['expected_samples'])}), "
                         f"issues {_num(rec['issues'])}")
            lines.append(f"    classes:  {_classes(rec['classes'])}")
            if rec["expected_classes"]:
                lines.append(f"    expected: {_classes(rec['expected_classes'])}")
        elif not _missing(rec["expected_samples"]):
            lines.append(f"    expected: {_num(rec['expected_subjects'])} subjects, {_num(rec['expected_samples'])} "
                         f"samples; {_classes(rec['expected_classes'])}")
        if rec["note"]:
            lines.append(f"    note: {rec['note']}")
    return "\n".join(lines)

