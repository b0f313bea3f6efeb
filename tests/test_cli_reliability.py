"""The command line keeps the user's work: outputs checked first, rescued last; clear messages."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from mer_lab import methods as M
from mer_lab.cli import main

# the tiny corpus and the block-range feature of the end-to-end CLI tests
from test_cli_evaluate import TINY  # noqa: E402
from test_cli_evaluate import PeakToPeak  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def rel_method():
    M.register_method(M.Method(name="rel_range", title="range", features=PeakToPeak, defaults={"grid": 2},
                               preprocessing="standard"), replace=True)
    yield
    M.unregister_method("rel_range")


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if any command starts computing."""
    import mer_lab.evaluation.experiment as E
    import mer_lab.spotting as S

    def boom(*a, **k):
        raise AssertionError("the computation started before the output was checked")

    for mod, name in ((E, "run_experiment"), (E, "table3"), (E, "compute_features"), (S, "spot_videos")):
        monkeypatch.setattr(mod, name, boom)


# --------------------------------------------------------------------------- 7. --out checked first
@pytest.mark.parametrize("command", [
    ["evaluate", *TINY, "--method", "rel_range", "--out"],
    ["evaluate", *TINY, "--method", "rel_range", "--predictions"],
    ["features", *TINY, "--method", "rel_range", "--out"],
    ["table3", "--datasets", "synthetic", "--methods", "rel_range", "--quiet", "--out"],
    ["spot", "--dataset", "synthetic", "--videos", "1", "--quiet", "--out"],
])
def test_unwritable_output_fails_before_computing(tmp_path, capsys, no_compute, command):
    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder is needed")
    target = blocker / "out.csv"
    code = main([*command, str(target)])
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and str(target) in err
    assert ("--out" in err) or ("--predictions" in err)


def test_output_that_is_a_folder_is_refused_first(tmp_path, capsys, no_compute):
    code = main(["evaluate", *TINY, "--method", "rel_range", "--out", str(tmp_path)])
    assert code == 2 and "is a folder" in capsys.readouterr().err


def test_failed_write_at_the_end_is_rescued(tmp_path, capsys, monkeypatch):
    """The folder of --out disappears during the run: the results land in a rescue file."""
    import mer_lab.evaluation.experiment as E

    out_dir = tmp_path / "outdir"
    out = out_dir / "results.csv"
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    real = E.run_experiment

    def run_then_lose_folder(*a, **k):
        res = real(*a, **k)
        shutil.rmtree(out_dir)
        out_dir.write_text("the folder is now a file")
        return res

    monkeypatch.setattr(E, "run_experiment", run_then_lose_folder)
    code = main(["evaluate", *TINY, "--method", "rel_range", "--search", "none", "--classifier", "knn",
                 "--out", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    rescued = list(work.glob("results.rescued-*.csv"))
    assert len(rescued) == 1
    assert str(rescued[0]) in captured.err and str(out) in captured.err
    assert {"accuracy", "uf1"} <= set(pd.read_csv(rescued[0], comment="#")["metric"])
