"""``mer-lab evaluate``, ``table3`` and ``features`` end to end on a tiny synthetic corpus."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mer_lab import methods as M
from mer_lab._validate import check_int
from mer_lab.features.base import CubeFeatures
from mer_lab.cli import main

TINY = ["--dataset", "synthetic", "--load", "n_subjects=4", "--load", "clips_per_subject=4", "--load", "size=32",
        "--load", "fps=30", "--load", "classes=[happiness, surprise]", "--quiet", "--no-cache"]


def peak_to_peak(cube, *, grid=2):
    v = np.asarray(cube.values, dtype=float)
    d = v.max(axis=0) - v.min(axis=0)
    h, w = d.shape
    return np.array([d[i * h // grid:(i + 1) * h // grid, j * w // grid:(j + 1) * w // grid].mean()
                     for i in range(grid) for j in range(grid)])


class PeakToPeak(CubeFeatures):
    """:func:`peak_to_peak` as a feature transformer over cubes."""

    def __init__(self, *, grid=2):
        self.grid = grid

    def _check_params(self):
        check_int("grid", self.grid, low=1, high=8)

    def _extract(self, cube):
        return peak_to_peak(cube, grid=self.grid)


@pytest.fixture(scope="module", autouse=True)
def cli_method():
    M.register_method(M.Method(name="cli_range", title="range", features=PeakToPeak, defaults={"grid": 2},
                               preprocessing="standard"), replace=True)
    yield
    M.unregister_method("cli_range")


def test_evaluate_prints_scores_and_writes_results(tmp_path, capsys):
    out = tmp_path / "results.csv"
    pred = tmp_path / "pred.csv"
    code = main(["evaluate", *TINY, "--method", "cli_range", "--report-thesis", "--grid", "small",
                 "--seed", "3", "--out", str(out), "--predictions", str(pred)])
    assert code == 0
    text = capsys.readouterr().out
    for word in ("accuracy", "macro F1", "UF1", "UAR", "thesis", "nested", "baseline", "gap"):
        assert word in text
    assert "hyper-parameter selection: nested (chosen on the training subjects only" in text
    config = json.loads(out.read_text().splitlines()[1][len("# config: "):])
    assert config["seed"] == 3 and config["search"] == "nested" and "versions" in config
    table = pd.read_csv(out, comment="#")
    assert {"thesis", "nested", "counts"} == set(table["search"])
    assert len(pd.read_csv(pred, comment="#")) == 2 * 16


def test_evaluate_default_is_nested_and_says_so(capsys):
    assert main(["evaluate", *TINY, "--method", "cli_range", "--grid", "small"]) == 0
    text = capsys.readouterr().out
    assert "search nested" in text and "hyper-parameter selection: nested" in text
    assert "gap" not in text and "\nthesis " not in text
    assert main(["evaluate", *TINY, "--method", "cli_range", "--grid", "small", "--search", "thesis"]) == 0
    assert "hyper-parameter selection: thesis (chosen on the test folds" in capsys.readouterr().out


def test_evaluate_json_output_and_params(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["evaluate", *TINY, "--method", "cli_range", "--param", "grid=3", "--classifier", "knn",
                 "--search", "none", "--classifier-param", "n_neighbors=3", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["method_params"]["grid"] == 3 and doc["config"]["feature_dim"] == 9
    assert doc["config"]["classifier_params"] == {"n_neighbors": 3}


def test_features_command_writes_netcdf_and_csv(tmp_path, capsys):
    nc = tmp_path / "f.nc"
    assert main(["features", *TINY, "--method", "cli_range", "--out", str(nc)]) == 0
    da = xr.open_dataarray(nc, engine="scipy")
    assert da.dims == ("sample", "feature") and da.shape == (16, 4)
    assert set(np.asarray(da["label"].values).astype(str)) == {"happiness", "surprise"}
    da.close()
    csv = tmp_path / "f.csv"
    assert main(["features", *TINY, "--method", "cli_range", "--out", str(csv)]) == 0
    frame = pd.read_csv(csv, index_col="uid")
    assert frame.shape == (16, 4 + 4) and set(frame["label"]) == {"happiness", "surprise"}


def test_table3_command(tmp_path, capsys):
    out = tmp_path / "t3.csv"
    assert main(["table3", "--datasets", "synthetic", "--load", "n_subjects=4", "--load", "clips_per_subject=4",
                 "--load", "size=32", "--load", "fps=30", "--methods", "baseline", "cli_range", "--grid", "small",
                 "--quiet", "--no-cache", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Accuracy" in text and "F1" in text and "cli_range" in text
    frame = pd.read_csv(out, index_col=0)
    assert list(frame.index) == ["baseline", "cli_range"]


def test_help_is_complete(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--dataset", "--method", "--protocol", "--search", "--classifier", "--out", "--seed",
                   "--workers", "--scheduler", "--grid", "--preprocessing", "--param"):
        assert option in text
    assert "lbp_top" in text and "nested" in text


def test_bad_options_list_valid_values(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--dataset", "synthetic", "--method", "cli_range", "--protocol", "leave-one-out"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "loso" in err and "lovo" in err and "megc" in err
    with pytest.raises(SystemExit):
        main(["evaluate", "--dataset", "nosuchdata", "--method", "cli_range"])
    assert "casme2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--dataset", "synthetic", "--method", "cli_range", "--workers", "2", "--scheduler", "x"])
    assert "not allowed with" in capsys.readouterr().err
    assert main(["evaluate", *TINY, "--method", "cli_range", "--param", "cells=3"]) == 2
    assert "no parameter" in capsys.readouterr().err
    assert main(["features", *TINY, "--method", "cli_range", "--out", "f.xlsx"]) == 2
    assert ".nc" in capsys.readouterr().err


def _dataset_fixtures():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("dataset_fixtures_eval",
                                                  Path(__file__).parent / "datasets" / "fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_megc_composite_from_the_command_line(tmp_path, monkeypatch, capsys):
    """CASME II + SAMM + SMIC fixture trees in their release layouts, mapped to MEGC's 3 classes."""
    fx = _dataset_fixtures()
    fx.make_casme2(tmp_path / "CASME2")
    fx.make_samm(tmp_path / "SAMM")
    fx.make_smic(tmp_path / "SMIC")
    monkeypatch.setenv("MER_LAB_DATA", str(tmp_path))
    monkeypatch.delenv("MER_LAB_MANIFEST", raising=False)
    out = tmp_path / "megc.csv"
    with pytest.warns(UserWarning):
        code = main(["evaluate", "--dataset", "casme2,samm,smic", "--mapping", "megc2019", "--protocol", "megc",
                     "--method", "cli_range", "--classifier", "knn", "--search", "none",
                     "--classifier-param", "n_neighbors=1", "--quiet", "--no-cache", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "per dataset (UF1 / UAR)" in text
    table = pd.read_csv(out, comment="#")
    assert {"all", "casme2", "samm", "smic_hs"} <= set(table["dataset"])
    assert set(table["protocol"]) == {"megc"}
    config = json.loads(out.read_text().splitlines()[1][len("# config: "):])
    assert set(config["classes"]) == {"negative", "positive", "surprise"}
    with pytest.raises(SystemExit):
        main(["evaluate", "--dataset", "casme2,nosuch", "--method", "cli_range"])
    assert "invalid dataset nosuch" in capsys.readouterr().err


# --------------------------------------------------------------------------- external features
KNN = ["--classifier", "knn", "--search", "none", "--classifier-param", "n_neighbors=1", "--out"]


def _scores(path):
    table = pd.read_csv(path, comment="#")
    doc = json.loads(path.read_text().splitlines()[1][len("# config: "):])
    rows = table[(table["dataset"] == "all") & (table["average"] == "pooled") & (table["search"] != "counts")]
    return dict(zip(rows["metric"], rows["value"])), table, doc


def test_evaluate_external_features_matches_the_method(tmp_path, capsys):
    """The same matrix, from a file, gives the method's own scores; provenance says external."""
    csv, nc = tmp_path / "f.csv", tmp_path / "f.nc"
    assert main(["features", *TINY, "--method", "cli_range", "--out", str(csv)]) == 0
    assert main(["features", *TINY, "--method", "cli_range", "--out", str(nc)]) == 0
    ref, _, _ = _scores(_run(tmp_path / "ref.csv", [*TINY, "--method", "cli_range"]))
    got, table, config = _scores(_run(tmp_path / "ext.csv", [*TINY, "--features", str(csv)]))
    assert got == ref
    assert config["method"] == "external" and config["features"] == {"source": "external"}
    assert config["corpus_info"]["features"] == {"source": "external", "file": str(csv)}
    assert config["method_params"] is None
    assert set(table.loc[table["method"] == "external", "parameters"].map(
        lambda p: json.dumps(json.loads(p)["features"]))) == {json.dumps({"source": "external"})}
    # netCDF without a dataset: labels and subjects come from the file itself
    alone, _, config = _scores(_run(tmp_path / "nc.csv", ["--features", str(nc), "--quiet"]))
    assert alone == ref and config["n_samples"] == 16
    assert "external" in capsys.readouterr().out


def _run(out, args):
    assert main(["evaluate", *args, *KNN, str(out)]) == 0
    return out


def test_evaluate_external_features_errors(tmp_path, capsys):
    csv = tmp_path / "f.csv"
    assert main(["features", *TINY, "--method", "cli_range", "--out", str(csv)]) == 0
    frame = pd.read_csv(csv)
    # two samples missing from the file: an error naming them
    frame.iloc[2:].to_csv(tmp_path / "short.csv", index=False)
    assert main(["evaluate", *TINY, "--features", str(tmp_path / "short.csv")]) == 2
    err = capsys.readouterr().err
    assert "2 of the 16 samples" in err and "have no row" in err and frame["uid"][0] in err
    # ids that match nothing
    frame.assign(uid="x" + frame["uid"]).to_csv(tmp_path / "other.csv", index=False)
    assert main(["evaluate", *TINY, "--features", str(tmp_path / "other.csv")]) == 2
    assert "none of its 16 ids matches" in capsys.readouterr().err
    # without a dataset the file needs labels and subjects
    frame.drop(columns=["label"]).to_csv(tmp_path / "nolabel.csv", index=False)
    assert main(["evaluate", "--features", str(tmp_path / "nolabel.csv")]) == 2
    assert "no label column" in capsys.readouterr().err
    # a method name with a feature file, and neither
    assert main(["evaluate", *TINY, "--features", str(csv), "--method", "cli_range"]) == 2
    assert "leave out --method" in capsys.readouterr().err
    assert main(["evaluate", *TINY]) == 2
    assert "--features FILE" in capsys.readouterr().err
    # extra rows (samples a mapping left out) are named, not an error
    extra = pd.concat([frame, frame.iloc[:1].assign(uid="synthetic/extra_clip")])
    extra.to_csv(tmp_path / "extra.csv", index=False)
    assert main(["evaluate", *TINY, "--features", str(tmp_path / "extra.csv"), *KNN, str(tmp_path / "o.csv")]) == 0
    assert "1 of the 17 rows" in capsys.readouterr().out
