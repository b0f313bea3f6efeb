"""``mer-lab spot``: synthetic runs, real-dataset plumbing on generated frame folders, errors."""

import argparse

import cv2
import numpy as np
import pandas as pd
import pytest

from mer_lab.cli import main
from mer_lab.spotting import cli as spot_cli


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="mer-lab")
    sub = parser.add_subparsers(dest="command")
    spot_cli.register(sub)
    args = parser.parse_args(argv)
    rc = args.func(args)
    return rc, capsys.readouterr()


def test_synthetic_run_prints_scores_and_writes_intervals(tmp_path, capsys):
    out = tmp_path / "spots.csv"
    rc, cap = _run(["spot", "--dataset", "synthetic", "--videos", "1", "--fps", "40", "--expressions", "2",
                    "--macro", "0", "--difficulty", "0", "--method", "fft_apex", "--p", "0.3", "--out", str(out)],
                   capsys)
    assert rc == 0
    assert "precision" in cap.out and "recall" in cap.out and "F1" in cap.out
    assert "2 annotated intervals" in cap.out
    table = pd.read_csv(out)
    assert list(table.columns) == ["video", "onset", "apex", "offset", "score", "truth", "iou"]
    assert (table["video"] == "S01_long").all()
    assert f"TP {int((table['truth'] >= 0).sum())} " in cap.out


def test_parameters_reach_the_spotter(capsys, tmp_path):
    out = tmp_path / "spots.json"
    rc, cap = _run(["spot", "--dataset", "synthetic", "--videos", "1", "--fps", "30", "--expressions", "1",
                    "--macro", "0", "--difficulty", "0", "--param", "k=2", "--param", "blocks=[3, 3]",
                    "--quiet", "--out", str(out)], capsys)
    assert rc == 0
    table = pd.read_json(out)
    assert ((table["offset"] - table["apex"]) <= 2).all()
    assert "S01_long" not in cap.out            # --quiet: no per-video lines


def test_datasets_without_long_videos_are_refused_with_the_list(capsys):
    rc = main(["spot", "--dataset", "casme2"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no long videos" in err
    for name in ("synthetic", "samm_long", "casme_sq"):
        assert name in err


def test_bad_p_is_refused(capsys):
    rc = main(["spot", "--dataset", "synthetic", "--p", "2"])
    assert rc == 2 and "--p must be <= 1" in capsys.readouterr().err


def test_real_long_videos_are_read_frame_by_frame(tmp_path, monkeypatch, capsys):
    # A frame folder in the SAMM long-video style, written from a generated video, and a
    # stand-in for the loader: the command must read, shrink and score it.
    from mer_lab.datasets import registry
    from mer_lab.datasets.corpus import Corpus
    from mer_lab.datasets.synthetic import make_long_video

    cube, truth = make_long_video(n_expressions=2, n_macro=1, fps=50, seed=1, difficulty=0.0, first_frame=1)
    folder = tmp_path / "006_1"
    folder.mkdir()
    for number, frame in zip(cube["frame"].values, cube.values):
        cv2.imwrite(str(folder / f"006_1_{number:04d}.png"), frame)
    samples = pd.DataFrame([{"dataset": "samm_long", "subject": "006", "sample": "006_1", "emotion": "long_video",
                             "onset": 1, "apex": None, "offset": cube.sizes["time"], "n_frames": cube.sizes["time"],
                             "fps": 50.0, "path": str(folder)}])
    intervals = truth.assign(uid="samm_long/006_1")
    corpus = Corpus(samples, loader=lambda row: None, name="samm_long", info={"intervals": intervals})
    seen = {}

    def fake_load(name, *, root=None, manifest=None, **kw):
        seen.update(name=name, root=root, **kw)
        return corpus

    monkeypatch.setattr(registry, "load", fake_load)
    videos = list(spot_cli.long_videos("samm_long", root=tmp_path, size=48, crop="none"))
    assert seen["name"] == "samm_long" and seen["root"] == tmp_path
    (name, small, kept), = videos
    assert name == "006_1" and small.sizes["x"] == 48 and small.sizes["y"] == 48
    assert small["frame"].values[0] == 1 and small.sizes["time"] == cube.sizes["time"]
    assert list(kept["type"]) == ["micro", "micro"]          # macro left out by default
    assert len(list(spot_cli.long_videos("samm_long", kind="all", size=48, crop="none"))[0][2]) == 3

    rc, cap = _run(["spot", "--dataset", "samm_long", "--root", str(tmp_path), "--crop", "none", "--size", "48",
                    "--method", "fft_apex"], capsys)
    assert rc == 0 and "1 videos, 2 annotated intervals" in cap.out

    list(spot_cli.long_videos("casme_sq", size=48, crop="none"))
    assert seen["name"] == "casme_sq" and seen["part"] == "A"


def test_read_long_video_from_a_video_file(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48), isColor=False)
    for i in range(12):
        writer.write(np.full((48, 64), 10 * i, np.uint8))
    writer.release()
    cube = spot_cli.read_long_video(path, fps=30, size=32, crop="none", sample="clip")
    assert cube.sizes["time"] == 12 and cube.sizes["x"] == 32 and cube.sizes["y"] == 24
    assert abs(int(cube.values[5].mean()) - 50) <= 3
    with pytest.raises(FileNotFoundError, match="long video not found"):
        spot_cli.read_long_video(tmp_path / "missing", fps=30)


def test_unknown_spotter_parameters_are_named(capsys):
    rc = main(["spot", "--dataset", "synthetic", "--videos", "1", "--fps", "20", "--expressions", "1", "--macro", "0",
               "--param", "windw=9", "--method", "fft_apex"])
    err = capsys.readouterr().err
    assert rc == 2 and "fft_apex has no parameter 'windw'" in err and "window" in err
