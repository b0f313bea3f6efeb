"""Registry, manifest validation and root resolution."""

import copy
from pathlib import Path

import pytest
import yaml

from dataset_fixtures import make_casme2
from mer_lab.datasets import DATASETS, available, load
from mer_lab.datasets.manifest import ManifestError, find_manifest, load_manifest, validate_manifest

REPO_MANIFEST = Path(__file__).resolve().parents[2] / "data_manifest.yaml"


def repo_data():
    return yaml.safe_load(REPO_MANIFEST.read_text())


def test_repository_manifest_validates_and_covers_every_dataset():
    m = load_manifest(REPO_MANIFEST)
    for name in ("smic", "casme", "casme2", "casme_sq", "samm", "meview", "mmew", "flow_images"):
        entry = m.entry(name)
        assert entry is not None, name
        assert entry["path"] is None                       # nothing points at a private copy
        assert entry["citation"]["year"] >= 2013
    smic_hs = m.entry("smic")["expected"][0]
    assert (smic_hs["subjects"], smic_hs["samples"]) == (16, 164)
    assert sum(smic_hs["classes"].values()) == 164
    samm = m.entry("samm")["expected"][0]
    assert sum(samm["classes"].values()) == samm["samples"] == 159
    casme2 = {e["variant"]: e for e in m.entry("casme2")["expected"]}
    assert sum(casme2["5 classes"]["classes"].values()) == 247
    assert casme2["all rows"]["classes"]["others"] == 99       # the coding-file discrepancy is recorded
    assert sum(m.entry("casme")["expected"][0]["classes"].values()) == 192   # as the thesis prints them
    assert m.entry("casme")["expected"][0]["samples"] == 195
    assert sum(m.entry("casme_sq")["expected"][0]["classes"].values()) == 57


@pytest.mark.parametrize("edit, key", [
    (lambda d: d["datasets"]["casme2"].update(fps=-1), "datasets.casme2.fps"),
    (lambda d: d["datasets"]["samm"].pop("citation"), "datasets.samm.citation"),
    (lambda d: d["datasets"]["smic"].update(loader="nope"), "datasets.smic.loader"),
    (lambda d: d["datasets"]["smic"]["expected"][0].update(samples="many"), r"datasets.smic.expected\[0\].samples"),
    (lambda d: d["datasets"]["casme"].update(colour=True), "datasets.casme.colour"),
    (lambda d: d["datasets"]["casme2"]["citation"].update(doi="doi.org/x"), "datasets.casme2.citation.doi"),
    (lambda d: d.update(extra=1), "extra"),
])
def test_validation_errors_name_the_key(edit, key):
    data = copy.deepcopy(repo_data())
    edit(data)
    with pytest.raises(ManifestError, match=f"my.yaml: {key}"):
        validate_manifest(data, source="my.yaml")


def test_manifest_location_order(tmp_path, monkeypatch):
    monkeypatch.delenv("MER_LAB_MANIFEST", raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_manifest() == REPO_MANIFEST                  # the repository's, next to the package
    (tmp_path / "data_manifest.yaml").write_text(REPO_MANIFEST.read_text())
    assert find_manifest() == tmp_path / "data_manifest.yaml"   # the current folder's wins
    other = tmp_path / "elsewhere.yaml"
    other.write_text(REPO_MANIFEST.read_text())
    monkeypatch.setenv("MER_LAB_MANIFEST", str(other))
    assert find_manifest() == other                           # the environment variable wins
    monkeypatch.setenv("MER_LAB_MANIFEST", str(tmp_path / "missing.yaml"))
    with pytest.raises(FileNotFoundError, match="MER_LAB_MANIFEST"):
        find_manifest()


def write_manifest(tmp_path, **paths):
    data = repo_data()
    for name, p in paths.items():
        data["datasets"][name]["path"] = p
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_load_by_name_root_sources(tmp_path, monkeypatch):
    t = make_casme2(tmp_path / "data" / "CASME2")
    monkeypatch.delenv("MER_LAB_DATA", raising=False)
    # 1. explicit root
    with pytest.warns(UserWarning):
        assert len(load("casme2", root=t.root)) == 8
    # 2. manifest path (relative to the manifest)
    m = write_manifest(tmp_path, casme2="data/CASME2")
    with pytest.warns(UserWarning):
        assert len(load("casme2", manifest=m, mapping="casme2_5")) == 6
    # 3. $MER_LAB_DATA/<folder>
    monkeypatch.setenv("MER_LAB_DATA", str(tmp_path / "data"))
    with pytest.warns(UserWarning):
        assert len(load("casme2", manifest=write_manifest(tmp_path))) == 8


def test_load_not_found_and_unknown_name(tmp_path, monkeypatch):
    monkeypatch.delenv("MER_LAB_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="samm: dataset folder not found.*MER_LAB_DATA"):
        load("samm", manifest=write_manifest(tmp_path))
    with pytest.raises(ValueError, match=r"unknown dataset 'casme3' \(did you mean 'casme' or 'casme2'\?\); "
                                         r"valid names: synthetic, smic"):
        load("casme3")


def test_registry_lists_every_loader():
    assert available()[0] == "synthetic"
    for name, spec in DATASETS.items():
        if name != "synthetic":
            assert callable(spec.loader) and spec.folder
