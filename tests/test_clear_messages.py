"""Bad input gets a message naming the parameter, file or row and what is accepted."""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mer_lab import methods as M
from mer_lab.cache import CacheWarning, DiskCache
from mer_lab.cli import main
from mer_lab.datasets.casme2 import load_casme2
from mer_lab.datasets.corpus import DatasetError, LoaderWarning
from mer_lab.datasets.registry import load
from mer_lab.features.base import CubeFeatures

_spec = importlib.util.spec_from_file_location("dataset_fixtures", Path(__file__).parent / "datasets" / "fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)
REPO = Path(__file__).resolve().parents[1]
SYN = ["--load", "n_subjects=4", "--load", "clips_per_subject=4", "--load", "size=32", "--load", "fps=30",
       "--load", "classes=[happiness, surprise]", "--quiet", "--no-cache"]


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        return fn(*a, **k)


def _range(cube, *, grid=2):
    v = np.asarray(cube.values, dtype=float)
    return np.array([float(v.max() - v.min()), float(v.mean())])


def _huge(cube, *, grid=2):
    return np.array([1.0, 1e200 * (1 + float(np.asarray(cube.values).mean()))])


class _Range(CubeFeatures):
    def __init__(self, *, grid=2):
        self.grid = grid

    def _extract(self, cube):
        return _range(cube, grid=self.grid)


class _Huge(_Range):
    def _extract(self, cube):
        return _huge(cube, grid=self.grid)


@pytest.fixture(scope="module", autouse=True)
def methods():
    for name, cls in (("msg_range", _Range), ("msg_huge", _Huge)):
        M.register_method(M.Method(name=name, title=name, features=cls, defaults={"grid": 2},
                                   preprocessing="standard"), replace=True)
    yield
    for name in ("msg_range", "msg_huge"):
        M.unregister_method(name)


def _manifest(tmp_path, entries: dict) -> Path:
    """A data manifest holding entries copied from the repository's, under new keys."""
    base = yaml.safe_load((REPO / "data_manifest.yaml").read_text())["datasets"]
    data = {"version": 1, "datasets": {key: {**base[src], **extra} for key, (src, extra) in entries.items()}}
    path = tmp_path / "data_manifest.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


# --------------------------------------------------------------------------- symlink loops
def test_symlink_loop_in_a_dataset_tree_is_named(tmp_path):
    f = fx.make_casme2(tmp_path / "c")
    link = f.root / "Cropped" / "sub01" / "EP77"
    os.symlink("EP77", link)
    with pytest.raises(DatasetError, match="symbolic link loop") as err:
        _quiet(load_casme2, f.root)
    assert str(link) in str(err.value)


def test_symlink_loop_among_frames_skips_the_clip_naming_the_link(tmp_path):
    f = fx.make_casme2(tmp_path / "c")
    link = f.root / "Cropped" / "sub01" / "EP02_01f" / "reg_img99.jpg"
    os.symlink(link.name, link)
    corpus = _quiet(load_casme2, f.root)
    mine = corpus.issues[(corpus.issues["sample"] == "sub01/EP02_01f") & (corpus.issues["action"] == "skipped")]
    assert len(mine) == 1 and "symbolic link loop" in mine.iloc[0]["reason"] and str(link) in mine.iloc[0]["reason"]


def test_root_that_is_a_symlink_loop_says_so(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(FileNotFoundError, match="symbolic link loop"):
        load_casme2(tmp_path / "loop")


# --------------------------------------------------------------------------- frame numbers
def test_absurd_frame_number_skips_the_clip_naming_the_file(tmp_path):
    f = fx.make_casme2(tmp_path / "c")
    bad = f.root / "Cropped" / "sub01" / "EP02_01f" / "reg_img123456789012345678901234.jpg"
    fx.write_frames(bad.parent, [1], name="reg_img123456789012345678901234")
    corpus = _quiet(load_casme2, f.root)
    assert "casme2/sub01/EP02_01f" not in corpus.uids
    mine = corpus.issues[corpus.issues["sample"] == "sub01/EP02_01f"]
    assert bad.name in mine.iloc[0]["reason"] and "12 digits" in mine.iloc[0]["reason"]
    assert int(mine.iloc[0]["row"]) == f.rows[0]["excel_row"]


# --------------------------------------------------------------------------- loader arguments
def test_unknown_loader_argument_lists_the_accepted_ones(capsys):
    code = main(["features", "--dataset", "synthetic", "--method", "msg_range", "--load", "foo=1", "--out",
                 "/tmp/never-written.csv"])
    assert code == 2
    err = capsys.readouterr().err
    assert "'foo'" in err and "n_subjects" in err and "clips_per_subject" in err
    with pytest.raises(ValueError, match="did you mean 'frames'"):
        load("casme2", root="/nonexistent", fram="raw")


# --------------------------------------------------------------------------- cache entries
def test_cache_entry_missing_its_array_is_recomputed_with_a_warning(tmp_path):
    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.evaluation.experiment import compute_features

    corpus = make_corpus(n_subjects=2, clips_per_subject=2, size=32)
    cache = DiskCache(tmp_path)
    X = compute_features(corpus, "msg_range", cache=cache, progress=False).values
    entries = list(tmp_path.rglob("*.npz"))
    assert len(entries) == 4
    for p in entries:  # entries holding another array name (another version, or written by hand)
        np.savez(p, y=np.zeros(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = compute_features(corpus, "msg_range", cache=cache, progress=False).values
    np.testing.assert_array_equal(again, X)
    msgs = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(msgs) == 4 and "['x']" in msgs[0] and str(tmp_path) in msgs[0]


# --------------------------------------------------------------------------- counts
@pytest.mark.parametrize("option", [["--jobs", "0"], ["--workers", "0"], ["--jobs", "-3"], ["--workers", "x"]])
def test_zero_jobs_or_workers_are_refused(option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["features", "--dataset", "synthetic", "--method", "msg_range", *option, "--out", "/tmp/x.csv"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert option[0] in err and ">= 1" in err


def test_same_dataset_twice_in_a_composite_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--dataset", "synthetic,synthetic", "--method", "msg_range"])
    assert "synthetic named more than once" in capsys.readouterr().err


# --------------------------------------------------------------------------- manifest
def test_manifest_key_typo_is_pointed_out(tmp_path):
    m = _manifest(tmp_path, {"casme22": ("casme2", {"path": str(tmp_path)})})
    with pytest.raises(FileNotFoundError) as err:
        load("casme2", manifest=m)
    assert "'casme22'" in str(err.value) and "typo" in str(err.value)
    with pytest.raises(ValueError, match="did you mean .*'casme2'"):
        load("casme222", manifest=m)


def test_manifest_loader_is_used_by_evaluate_and_datasets_alike(tmp_path, monkeypatch, capsys):
    f = fx.make_casme2(tmp_path / "data")
    m = _manifest(tmp_path, {"mycasme": ("casme2", {"path": str(f.root)})})
    monkeypatch.setenv("MER_LAB_MANIFEST", str(m))
    out = tmp_path / "f.csv"
    assert main(["features", "--dataset", "mycasme", "--method", "msg_range", "--quiet", "--no-cache",
                 "--out", str(out)]) == 0
    written = pd.read_csv(out)
    assert len(written) == len(_quiet(load_casme2, f.root)) and set(written["dataset"]) == {"casme2"}
    assert main(["datasets", "--json"]) == 0
    assert '"dataset": "mycasme"' in capsys.readouterr().out


def test_manifest_path_that_is_a_file_says_so(tmp_path):
    afile = tmp_path / "CASME2.zip"
    afile.write_bytes(b"PK")
    m = _manifest(tmp_path, {"casme2": ("casme2", {"path": str(afile)})})
    with pytest.raises(FileNotFoundError) as err:
        load("casme2", manifest=m)
    assert "is a file, not a folder" in str(err.value) and str(afile) in str(err.value)


# --------------------------------------------------------------------------- overflowing features
def test_overflowing_features_name_the_sample_and_feature(capsys, tmp_path):
    code = main(["evaluate", "--dataset", "synthetic", *SYN, "--method", "msg_huge", "--search", "none",
                 "--classifier", "knn"])
    assert code == 2
    err = capsys.readouterr().err
    assert "msg_huge" in err and "sample 'synthetic/" in err and "feature" in err and "1e+150" in err


def test_protocol_refuses_features_that_overflow_when_scaled():
    from mer_lab.evaluation.protocols import run_protocol

    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3))
    X[5, 1] = 1e300
    with pytest.raises(ValueError, match="sample 's5', feature column 1"):
        run_protocol(X, np.array(["a", "b"] * 12), groups=np.repeat(np.arange(6), 4),
                     uids=[f"s{i}" for i in range(24)], classifier="knn", preprocessing="standard")
