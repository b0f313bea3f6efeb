"""``mer-lab spot``: spot micro-expressions in long videos and score them the MEGC way.

Examples::

    mer-lab spot --dataset synthetic --videos 5 --difficulty easy
    mer-lab spot --dataset synthetic --method fft_apex --p 0.3 --out spots.csv
    mer-lab spot --dataset samm_long --root /data/SAMM_longvideos --size 128
    mer-lab spot --dataset casme_sq --param smooth=1.5 --p 0.6

Long videos exist for the synthetic generator, SAMM long videos (``samm_long``) and
CAS(ME)^2 part A (``casme_sq``); the micro-expression clips of the other datasets are
cut around their expressions and cannot be used for spotting.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["register", "run_spot", "LONG_VIDEO_DATASETS", "long_videos", "read_long_video", "format_scores"]

#: Datasets with long videos -> what they are.
LONG_VIDEO_DATASETS = {
    "synthetic": "generated long videos with known micro-expressions among distractors",
    "samm_long": "SAMM long videos (200 fps)",
    "casme_sq": "CAS(ME)^2 part A long videos (30 fps)",
}
_ALIASES = {"casme_sq_long": "casme_sq", "samm_long_videos": "samm_long"}


def register(subparsers) -> None:
    """Add the ``spot`` sub-command to the ``mer-lab`` parser."""
    from . import SPOTTERS

    p = subparsers.add_parser(
        "spot",
        help="spot micro-expressions in long videos; print precision, recall, F1 and apex error",
        description=("Run a spotter over every long video of a dataset and score the spotted intervals "
                     "against the annotated ones the MEGC way: a spotted interval is a hit when its IoU "
                     "with an annotated interval is at least 0.5; TP, FP and FN are summed over all videos. "
                     "Long videos: " + ", ".join(f"{k} ({v})" for k, v in LONG_VIDEO_DATASETS.items()) + "."),
    )
    p.add_argument("--dataset", required=True, metavar="NAME",
                   help=f"dataset with long videos: {', '.join(LONG_VIDEO_DATASETS)}")
    p.add_argument("--method", default="feature_difference", choices=list(SPOTTERS),
                   help="spotter (default feature_difference)")
    p.add_argument("--p", type=float, default=0.5, metavar="P",
                   help="threshold parameter in [0, 1]: T = mean + p (max - mean) of the curve (default 0.5)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="spotter parameter, repeatable (e.g. --param k=20 --param 'blocks=[4, 4]' "
                        "--param smooth=1.5 --param window=41)")
    p.add_argument("--iou", type=float, default=0.5, help="IoU from which a spotted interval is a hit (0.5)")
    p.add_argument("--type", default="micro", choices=["micro", "macro", "all"], dest="kind",
                   help="annotated intervals scored against (default micro)")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write every spotted interval (video, onset, apex, offset, score, matched truth, IoU) "
                        "to a .csv or .json file")
    p.add_argument("--quiet", action="store_true", help="print only the summary, not one line per video")
    syn = p.add_argument_group("synthetic long videos")
    syn.add_argument("--videos", type=int, default=5, help="number of videos to generate (default 5)")
    syn.add_argument("--expressions", type=int, default=3, help="micro-expressions per video (default 3)")
    syn.add_argument("--macro", type=int, default=1, help="macro-expressions per video (default 1)")
    syn.add_argument("--difficulty", default="default", help="easy, default, hard or a number in [0, 1]")
    syn.add_argument("--fps", type=float, default=100.0, help="frame rate (default 100)")
    syn.add_argument("--duration", type=float, default=None, help="seconds per video (default from the content)")
    syn.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    real = p.add_argument_group("real datasets")
    real.add_argument("--root", metavar="DIR", default=None,
                      help="dataset folder (default: data_manifest.yaml or $MER_LAB_DATA)")
    real.add_argument("--manifest", metavar="FILE", default=None, help="data manifest to use")
    real.add_argument("--size", type=int, default=None,
                      help="frames are cropped to the face and resized to SIZE x SIZE pixels (default 128; "
                           "96 for synthetic videos, which are generated at that size)")
    real.add_argument("--crop", default="face", choices=["face", "none"],
                      help="'face': one face box detected on the first frame, for the whole video; "
                           "'none': the whole frame, resized to SIZE pixels wide")
    real.add_argument("--limit", type=int, default=None, help="only the first N videos")
    p.set_defaults(func=run_spot)


def _parse_params(items) -> dict:
    """``--param KEY=VALUE`` items read as the ``evaluate`` command reads them; lists become tuples."""
    from ..evaluation.cli import parse_assignments

    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in parse_assignments(items, option="--param").items()}


def _dataset_name(name: str) -> str:
    name = _ALIASES.get(name, name)
    if name not in LONG_VIDEO_DATASETS:
        listed = "; ".join(f"{k}: {v}" for k, v in LONG_VIDEO_DATASETS.items())
        raise ValueError(
            f"dataset {name!r} has no long videos to spot in (its clips are cut around each expression); "
            f"spotting runs on: {listed}"
        )
    return name


def long_videos(dataset: str, *, kind: str = "micro", root=None, manifest=None, videos: int = 5,
                expressions: int = 3, macro: int = 1, difficulty="default", fps: float = 100.0,
                duration=None, seed: int = 0, size: int | None = None, crop: str = "face",
                limit: int | None = None):
    """Yield ``(name, cube, truth)`` for every long video of a dataset.

    Parameters
    ----------
    dataset : {"synthetic", "samm_long", "casme_sq"}
        ``"casme_sq"`` reads CAS(ME)^2 part A.
    kind : {"micro", "macro", "all"}
        Annotated intervals kept in ``truth``.
    root, manifest
        Where the real dataset is (see :func:`mer_lab.datasets.registry.load`).
    videos, expressions, macro, difficulty, fps, duration, seed
        Synthetic videos: :func:`mer_lab.datasets.synthetic.make_long_video` with
        ``subject = 1..videos``.
    size, crop, limit
        Real videos: see :func:`read_long_video`; ``limit`` keeps the first videos.

    Returns
    -------
    iterator of (str, xarray.DataArray, pandas.DataFrame)
        ``truth`` has ``onset``, ``apex``, ``offset`` and ``type``.
    """
    from .._validate import check_choice, check_int

    dataset = _dataset_name(dataset)
    check_choice("kind", kind, ["micro", "macro", "all"])
    if dataset == "synthetic":
        from ..datasets.synthetic import make_long_video

        videos = check_int("videos", videos, low=1)
        difficulty = _difficulty(difficulty)
        for i in range(videos):
            kwargs = {} if size is None else {"size": size}
            cube, truth = make_long_video(n_expressions=expressions, n_macro=macro, duration_s=duration, fps=fps,
                                          seed=seed, subject=i + 1, difficulty=difficulty, **kwargs)
            yield cube.attrs["sample"], cube, _kind(truth, kind)
        return
    from ..datasets.registry import load

    options = {"part": "A"} if dataset == "casme_sq" else {}
    corpus = load(dataset, root=root, manifest=manifest, **options)
    intervals = corpus.info.get("intervals")
    if intervals is None:
        raise ValueError(f"the {dataset} loader gave no annotated intervals (corpus.info['intervals'])")
    uids = corpus.uids if limit is None else corpus.uids[: check_int("limit", limit, low=1)]
    for uid in uids:
        row = corpus.row(uid)
        cube = read_long_video(row["path"], fps=float(row["fps"]), size=128 if size is None else size, crop=crop,
                               dataset=dataset, subject=str(row["subject"]), sample=str(row["sample"]))
        truth = intervals[intervals["uid"] == uid]
        yield str(row["sample"]), cube, _kind(truth.reset_index(drop=True), kind)


def _difficulty(value):
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _kind(truth: pd.DataFrame, kind: str) -> pd.DataFrame:
    if kind != "all" and "type" in truth.columns:
        truth = truth[truth["type"] == kind]
    return truth.reset_index(drop=True)


def read_long_video(path, *, fps: float, size: int = 128, crop: str = "face", **meta):
    """Read a long video (frame folder or video file) frame by frame into a small grey cube.

    Frames are never all held at full resolution: each is cropped and resized as it is
    read, so an hour of 2040x1088 frames fits in memory.

    Parameters
    ----------
    path : path-like
        A folder of numbered frames or a video file.
    fps : float
        Frame rate of the recording.
    size : int
        Output side in pixels (square frames with ``crop="face"``; width with
        ``crop="none"``, height keeping the aspect ratio).
    crop : {"face", "none"}
        ``"face"``: one box from the Haar face detector on the first frame (10 % margin),
        used for every frame; ``"none"``: the whole frame.
    **meta
        Cube attributes (dataset, subject, sample).

    Returns
    -------
    xarray.DataArray
        Grey uint8 cube with the video's frame numbers.
    """
    import cv2

    from .._validate import check_choice, check_int
    from ..cube import list_frames, make_cube, read_frame

    check_choice("crop", crop, ["face", "none"])
    size = check_int("size", size, low=16)
    path = Path(path)
    state = {}

    def shrink(img):
        if "box" not in state:
            state["box"] = _face_box(img) if crop == "face" else (0, 0, img.shape[1], img.shape[0])
        x, y, w, h = state["box"]
        part = img[y:y + h, x:x + w]
        out_w = size
        out_h = size if crop == "face" else max(1, int(round(part.shape[0] * size / part.shape[1])))
        return cv2.resize(part, (out_w, out_h), interpolation=cv2.INTER_AREA)

    frames, numbers = [], []
    if path.is_dir():
        for number, file in list_frames(path):
            frames.append(shrink(read_frame(file, grey=True)))
            numbers.append(number)
    elif path.is_file():
        cap = cv2.VideoCapture(str(path))
        try:
            if not cap.isOpened():
                raise ValueError(f"OpenCV cannot open the video {path}")
            k = 0
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                frames.append(shrink(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)))
                numbers.append(k)
                k += 1
        finally:
            cap.release()
    else:
        raise FileNotFoundError(f"long video not found: {path}")
    if not frames:
        raise ValueError(f"no frames could be read from {path}")
    return make_cube(np.stack(frames), fps=fps, frame_numbers=numbers, crop_box=list(state["box"]), **meta)


def _face_box(img) -> tuple[int, int, int, int]:
    from ..preprocess.face import detect_face

    try:
        x, y, w, h = (float(v) for v in detect_face(img))
    except ValueError as exc:
        raise ValueError(f"{exc}; or pass --crop none to use whole frames") from None
    mx, my = 0.1 * w, 0.1 * h
    x0, y0 = max(0, int(round(x - mx))), max(0, int(round(y - my)))
    x1, y1 = min(img.shape[1], int(round(x + w + mx))), min(img.shape[0], int(round(y + h + my)))
    return x0, y0, x1 - x0, y1 - y0


def format_scores(scores: dict, *, method: str, p: float) -> str:
    """The summary of a run as a few lines of text."""
    lines = [
        f"method {method}, p = {p:g}: {scores['videos']} videos, {scores['n_truth']} annotated intervals, "
        f"{scores['n_spotted']} spotted",
        f"  TP {scores['tp']}  FP {scores['fp']}  FN {scores['fn']}",
        f"  precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  F1 {scores['f1']:.3f}",
    ]
    if "apex_mae_frames" in scores:
        frames, ms = scores["apex_mae_frames"], scores["apex_mae_ms"]
        if np.isfinite(frames):
            extra = f" ({ms:.1f} ms)" if np.isfinite(ms) else ""
            lines.append(f"  apex error (true positives) {frames:.2f} frames{extra}")
        else:
            lines.append("  apex error: no true positive")
    return "\n".join(lines)


def run_spot(args) -> int:
    """Run ``mer-lab spot`` from parsed arguments."""
    from .._validate import check_number
    from . import spot_videos

    from .._output import check_writable, write_or_rescue

    dataset = _dataset_name(args.dataset)
    p = check_number("--p", args.p, low=0, high=1)
    if args.out:
        check_writable(args.out, option="--out", suffixes=(".csv", ".json", ""))
    params = _parse_params(args.param)
    videos = long_videos(dataset, kind=args.kind, root=args.root, manifest=args.manifest, videos=args.videos,
                         expressions=args.expressions, macro=args.macro, difficulty=args.difficulty, fps=args.fps,
                         duration=args.duration, seed=args.seed, size=args.size, crop=args.crop, limit=args.limit)
    spots, truth, scores = spot_videos(_announce(videos, quiet=args.quiet), method=args.method, p=p,
                                       iou=args.iou, **params)
    if not args.quiet:
        print(_per_video(spots, truth))
    print(format_scores(scores, method=args.method, p=p))
    if args.out:
        path = write_or_rescue(Path(args.out), lambda path: _write(spots, path), what="spotted intervals")
        print(f"spotted intervals written to {path}")
    return 0


def _announce(videos, *, quiet: bool):
    for name, cube, truth in videos:
        if not quiet:
            print(f"  {name}: {cube.sizes['time']} frames at {cube.attrs['fps']:g} fps, "
                  f"{cube.sizes['x']}x{cube.sizes['y']} px, {len(truth)} annotated", file=sys.stderr)
        yield name, cube, truth


def _per_video(spots: pd.DataFrame, truth: pd.DataFrame) -> str:
    names = list(dict.fromkeys([*truth["video"], *spots["video"]]))
    lines = [f"{'video':<16} {'truth':>6} {'spotted':>8} {'TP':>4}"]
    for name in names:
        n_true = int((truth["video"] == name).sum())
        mine = spots[spots["video"] == name]
        lines.append(f"{str(name):<16} {n_true:>6} {len(mine):>8} {int((mine['truth'] >= 0).sum()):>4}")
    return "\n".join(lines)


def _write(spots: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        spots.to_json(path, orient="records", indent=2)
    elif suffix in (".csv", ""):
        spots.to_csv(path, index=False)
    else:
        raise ValueError(f"--out {path}: use a .csv or .json file name")
