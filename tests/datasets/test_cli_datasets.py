"""`mer-lab datasets` and datasets_table()."""

import json
from pathlib import Path

import yaml

from dataset_fixtures import make_casme2, make_smic
from mer_lab.cli import main
from mer_lab.datasets import datasets_table

REPO_MANIFEST = Path(__file__).resolve().parents[2] / "data_manifest.yaml"


def manifest_with(tmp_path, **paths):
    data = yaml.safe_load(REPO_MANIFEST.read_text())
    for name, p in paths.items():
        data["datasets"][name]["path"] = str(p)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_table_found_and_not_found(tmp_path, monkeypatch):
    monkeypatch.delenv("MER_LAB_DATA", raising=False)
    t = make_casme2(tmp_path / "CASME2")
    table = datasets_table(manifest_with(tmp_path, casme2=t.root))
    rows = {(r["dataset"], r["variant"]): r for r in table.to_dict("records")}
    all_rows = rows[("casme2", "all rows")]
    assert all_rows["status"] == "found" and all_rows["samples"] == 8 and all_rows["subjects"] == 4
    assert all_rows["expected_samples"] == 257
    assert all_rows["classes"]["repression"] == 2
    five = rows[("casme2", "5 classes")]
    assert five["samples"] == 6 and set(five["classes"]) <= {"happiness", "disgust", "repression", "surprise", "others"}
    assert rows[("samm", "all")]["status"] == "not found"
    assert rows[("synthetic", "default")]["status"] in ("built in", "not built yet")


def test_cli_text_shows_fixture_as_found(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MER_LAB_DATA", raising=False)
    t = make_smic(tmp_path / "SMIC")
    assert main(["datasets", "--manifest", str(manifest_with(tmp_path, smic=t.root))]) == 0
    out = capsys.readouterr().out
    hs = next(line for line in out.splitlines() if line.startswith("smic [HS]"))
    assert "found" in hs and "not found" not in hs and str(t.root) in hs
    assert "samples 5 (expected 164)" in out
    assert "casme2 [5 classes]" in out and "not found" in out


def test_cli_json(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MER_LAB_DATA", raising=False)
    t = make_smic(tmp_path / "SMIC")
    assert main(["datasets", "--json", "--manifest", str(manifest_with(tmp_path, smic=t.root))]) == 0
    records = json.loads(capsys.readouterr().out)
    vis = next(r for r in records if r["dataset"] == "smic" and r["variant"] == "VIS")
    assert vis["status"] == "found" and vis["samples"] == 2 and vis["expected_samples"] == 71


def test_cli_bad_manifest_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: 3\n")
    assert main(["datasets", "--manifest", str(bad)]) == 2
    assert "bad.yaml: datasets: must be a mapping" in capsys.readouterr().err


def test_synthetic_not_built_yet_is_reported_not_raised(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mer_lab.datasets.synthetic", None)   # import now fails
    table = datasets_table(load_found=False)
    row = table[table["dataset"] == "synthetic"].iloc[0]
    assert row["status"] == "not built yet" and "synthetic" in row["note"]


def test_synthetic_registered_lazily(monkeypatch):
    import sys

    import pytest

    from mer_lab.datasets import Corpus, load

    monkeypatch.setitem(sys.modules, "mer_lab.datasets.synthetic", None)
    with pytest.raises(ImportError, match="synthetic corpus is not available"):
        load("synthetic")
    monkeypatch.undo()
    try:
        import mer_lab.datasets.synthetic  # noqa: F401
    except ImportError:
        return
    assert isinstance(load("synthetic"), Corpus)
