"""Build the course notebooks from their py:percent sources.

Each chapter is written as ``notebooks/src/NN-topic.py`` (jupytext percent format, easy
to review in a diff). This script turns every source into ``notebooks/NN-topic.ipynb``
with outputs stripped, adding a generated header (course navigation) and footer (link to
the next chapter). Run it after editing a source:

    .venv/bin/python tools/build_notebooks.py          # write the notebooks
    .venv/bin/python tools/build_notebooks.py --check  # exit 1 if any notebook is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"


def _title(source: Path) -> str:
    for line in source.read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return source.stem


def build(source: Path, chapters: list[Path]) -> nbformat.NotebookNode:
    nb = jupytext.read(source, fmt="py:percent")
    index = chapters.index(source)
    prev_link = f"[← {_title(chapters[index - 1])}]({chapters[index - 1].stem}.ipynb)" if index else ""
    next_link = (f"[{_title(chapters[index + 1])} →]({chapters[index + 1].stem}.ipynb)"
                 if index + 1 < len(chapters) else "")
    nav = " · ".join(x for x in (prev_link, "[Course contents](00-welcome.ipynb)", next_link) if x)
    header = nbformat.v4.new_markdown_cell(f"*mer_lab course, chapter {index} of {len(chapters) - 1}* — {nav}")
    footer = nbformat.v4.new_markdown_cell(f"---\n{nav}")
    header.metadata["tags"] = ["generated"]
    footer.metadata["tags"] = ["generated"]
    nb.cells = [header, *nb.cells, footer]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"  # stable ids keep diffs quiet
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def render(nb) -> str:
    return json.dumps(nbformat.from_dict(nb), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    args = parser.parse_args(argv)
    chapters = sorted(SRC.glob("[0-9][0-9]-*.py"))
    stale = []
    for source in chapters:
        target = OUT / f"{source.stem}.ipynb"
        text = render(build(source, chapters))
        if target.exists() and target.read_text() == text:
            continue
        if args.check:
            stale.append(target.name)
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    known = {f"{s.stem}.ipynb" for s in chapters}
    orphans = [p.name for p in OUT.glob("*.ipynb") if p.name not in known]
    if args.check and (stale or orphans):
        print(f"stale notebooks: {stale}; notebooks without a source: {orphans}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
