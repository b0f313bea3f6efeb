"""Fixture trees in the exact layouts of the real datasets (tiny blank frames, real sheets).

Each ``make_<dataset>(root, ...)`` writes a small copy of a dataset's release under
``root`` (a ``tmp_path``) with the owners' folder names, file names and sheet layouts,
including their quirks, and returns a :class:`types.SimpleNamespace` describing what
was written (paths, the rows, the Excel row of each row). Frames are uniform images
whose grey level encodes the frame number (:func:`frame_value`), so tests can check
that frames come back in numeric order.

Tests under ``tests/datasets`` import this module as ``dataset_fixtures`` (registered
by the folder's conftest.py). From elsewhere::

    import importlib.util, pathlib
    spec = importlib.util.spec_from_file_location(
        "dataset_fixtures", pathlib.Path(__file__).parents[1] / "datasets" / "fixtures.py")
    fx = importlib.util.module_from_spec(spec); spec.loader.exec_module(fx)
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

__all__ = [
    "frame_value", "write_frames", "write_xlsx",
    "make_casme2", "make_samm", "make_samm_long", "make_smic", "make_casme", "make_casme_sq",
    "make_mmew", "make_meview", "make_flow_images", "make_megc_flow_images", "megc_flow_value", "MEGC_FLOW_ROWS",
    "CASME2_ROWS", "SAMM_ROWS", "SMIC_CLIPS", "CASME_ROWS", "CASME_SQ_ROWS", "MMEW_ROWS", "MEVIEW_ROWS",
]

FRAME_SIZE = (8, 6)  # width, height


def frame_value(n: int) -> int:
    """Grey level of frame ``n`` in the fixtures (consecutive frames differ by 5)."""
    return 10 + (int(n) % 48) * 5


def write_frames(folder, numbers, *, name="img{n}", ext=".jpg", size=FRAME_SIZE, zero_byte=(), odd_size=()):
    """Write one uniform frame per number; ``zero_byte``/``odd_size`` numbers get broken files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in numbers:
        path = folder / (name.format(n=n) + ext)
        if n in zero_byte:
            path.write_bytes(b"")
        else:
            w, h = (size[0] + 2, size[1]) if n in odd_size else size
            img = np.full((h, w), frame_value(n), np.uint8)
            assert cv2.imwrite(str(path), img)
        paths.append(path)
    return paths


def write_xlsx(path, sheets):
    """Write a workbook: ``sheets`` maps sheet name -> list of rows (lists of cell values)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(list(r))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- CASME II
# frames: numbers present on disk (None = clip folder missing)
CASME2_ROWS = [
    dict(subject=1, filename="EP02_01f", onset=46, apex=49, offset=52, aus="12", emotion="happiness", frames=range(44, 55)),
    dict(subject=1, filename="EP03_02", onset=20, apex="/", offset=26, aus="4+L10", emotion="disgust", frames=range(20, 27)),
    dict(subject=2, filename="EP01_11f", onset=30, apex=None, offset=36, aus="?", emotion="others", frames=range(30, 37)),
    dict(subject=2, filename="EP19_06x", onset=30, apex=32, offset=9, aus="R12", emotion="repression", frames=range(30, 38)),
    dict(subject=3, filename="EP02_04", onset=10, apex=10, offset=14, aus="14", emotion="repression", frames=range(10, 15)),
    dict(subject=3, filename="EP05_02", onset=96, apex=99, offset=140, aus="1+2", emotion="surprise", frames=range(95, 106)),
    dict(subject=4, filename="EP10_01", onset=5, apex=7, offset=9, aus="4", emotion="disgust", frames=None),
    dict(subject=5, filename="EP01_01", onset=3, apex=5, offset=7, aus="4", emotion="fear", frames=range(3, 8)),
    dict(subject=5, filename="EP01_02", onset=3, apex=5, offset=7, aus="15", emotion="sadness", frames=range(3, 8)),
]
CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                 "Estimated Emotion"]


def make_casme2(root, rows=None, *, raw=True, cropped=True, coding_name="CASME2-coding-20140508.xlsx",
                title_rows=0, header=True, unlisted=(("sub05", "EP99_99"),), zero_byte=None, odd_size=None,
                frame_size=FRAME_SIZE):
    """CASME II: ``CASME2_RAW_selected/subNN/<clip>/imgN.jpg``, ``Cropped/.../reg_imgN.jpg`` + coding xlsx."""
    root = Path(root)
    rows = [dict(r) for r in (CASME2_ROWS if rows is None else rows)]
    zero_byte = zero_byte or {}
    odd_size = odd_size or {}
    for r in rows:
        if r["frames"] is None:
            continue
        sub = f"sub{r['subject']:02d}"
        kw = dict(zero_byte=zero_byte.get(r["filename"], ()), odd_size=odd_size.get(r["filename"], ()),
                  size=frame_size)
        if raw:
            write_frames(root / "CASME2_RAW_selected" / sub / r["filename"], r["frames"], name="img{n}", **kw)
        if cropped:
            write_frames(root / "Cropped" / sub / r["filename"], r["frames"], name="reg_img{n}", **kw)
    for sub, clip in unlisted:
        if raw:
            write_frames(root / "CASME2_RAW_selected" / sub / clip, range(1, 4), name="img{n}")
        if cropped:
            write_frames(root / "Cropped" / sub / clip, range(1, 4), name="reg_img{n}")
    sheet = [["CASME II coding", None]] * title_rows
    if header:
        sheet = sheet + [CASME2_HEADER]
    first = len(sheet) + 1
    for i, r in enumerate(rows):
        r["excel_row"] = first + i
        sheet.append([r["subject"], r["filename"], None, r["onset"], r["apex"], r["offset"], None, r["aus"], r["emotion"]])
    coding = write_xlsx(root / coding_name, {"Sheet1": sheet})
    return SimpleNamespace(root=root, coding=coding, rows=rows)


# --------------------------------------------------------------------------- SAMM
SAMM_ROWS = [
    dict(subject=6, filename="006_1_2", onset=5562, apex=5566, offset=5570, emotion="Contempt", pad=5, frames=range(5560, 5573)),
    dict(subject=6, filename="006_1_3", onset=217, apex=220, offset=224, emotion="Happiness", pad=4, frames=range(214, 227)),
    dict(subject=7, filename="007_6_1", onset=40, apex="-", offset=46, emotion="Anger", pad=4, frames=range(40, 47)),
    dict(subject=7, filename="007_7_2", onset=50, apex=52, offset=5739, emotion="Other", pad=5, frames=range(50, 57)),
    dict(subject=11, filename="011_2_3", onset=10, apex=12, offset=14, emotion="Surprise", pad=4, frames=range(10, 15)),
    dict(subject=20, filename="020_4_1", onset=10, apex=12, offset=14, emotion="Fear", pad=5, frames=range(10, 15)),
    dict(subject=20, filename="020_5_1", onset=10, apex=12, offset=14, emotion="Sadness", pad=5, frames=range(10, 15)),
    dict(subject=21, filename="021_1_1", onset=10, apex=11, offset=14, emotion="Disgust", pad=4, frames=range(10, 15)),
    dict(subject=21, filename="021_2_1", onset=10, apex=11, offset=14, emotion="Confused", pad=4, frames=range(10, 15)),
    dict(subject=22, filename="022_3_3", onset=10, apex=11, offset=14, emotion="Anger", pad=4, frames=None),
]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]


def make_samm(root, rows=None, *, preamble=13, sheet_name="SAMM_Micro_FACS_Codes_v2.xlsx"):
    """SAMM: ``SAMM/006/006_1_2/006_05562.jpg`` (4- or 5-digit padding) + sheet with ~13 preamble rows."""
    root = Path(root)
    rows = [dict(r) for r in (SAMM_ROWS if rows is None else rows)]
    for r in rows:
        if r["frames"] is not None:
            sub = f"{r['subject']:03d}"
            write_frames(root / "SAMM" / sub / r["filename"], r["frames"], name=sub + "_{n:0" + str(r["pad"]) + "d}")
    sheet = [["SAMM Micro-Facial Movement Dataset - FACS codes"], ["Version 2"], [None]]
    sheet += [[f"Note {i}: coding conventions, see the paper"] for i in range(preamble - len(sheet))]
    sheet.append(SAMM_HEADER)
    for r in rows:
        r["excel_row"] = len(sheet) + 1
        dur = None
        sheet.append([r["subject"], r["filename"], 1, r["onset"], r["apex"], r["offset"], dur, "Micro - 1/2",
                      "R12", r["emotion"], "I", None])
    path = write_xlsx(root / sheet_name, {"FACS_Codes": sheet})
    return SimpleNamespace(root=root, sheet=path, rows=rows, header_row=preamble + 1)


SAMM_LONG_ROWS = [
    dict(subject=6, filename="006_1_1", onset=10, apex=12, offset=15, type="Micro - 1/2"),
    dict(subject=6, filename="006_1_2", onset=20, apex=25, offset=30, type="Macro"),
    dict(subject=7, filename="007_2_1", onset=5, apex="-", offset=9, type="Micro - 1/2"),
    dict(subject=8, filename="008_1_1", onset=5, apex=6, offset=9, type="Macro"),
]


def make_samm_long(root, rows=None, *, preamble=9):
    """SAMM long videos: ``SAMM_longvideos/006_1/006_1_0001.jpg`` + ``SAMM_LongVideos_V2_Release.xlsx``."""
    root = Path(root)
    rows = [dict(r) for r in (SAMM_LONG_ROWS if rows is None else rows)]
    write_frames(root / "SAMM_longvideos" / "006_1", range(1, 41), name="006_1_{n:04d}")
    write_frames(root / "SAMM_longvideos" / "007_2", range(1, 21), name="007_2_{n:04d}")
    sheet = [["SAMM Long Videos"]] + [[f"note {i}"] for i in range(preamble - 1)]
    sheet.append(["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
                  "Action Units", "Notes"])
    for r in rows:
        r["excel_row"] = len(sheet) + 1
        sheet.append([f"{r['subject']:03d}", r["filename"], 1, r["onset"], r["apex"], r["offset"], None, r["type"],
                      "R12", None])
    path = write_xlsx(root / "SAMM_LongVideos_V2_Release.xlsx", {"Sheet1": sheet})
    return SimpleNamespace(root=root, sheet=path, rows=rows)


# --------------------------------------------------------------------------- SMIC
# (modality, subject folder, emotion folder, clip, frame numbers)
SMIC_CLIPS = [
    ("HS", "s1", "negative", "s1_ne_01", range(559757, 559764)),
    ("HS", "s1", "positive", "s1_po_01", range(100, 107)),
    ("HS", "s2", "surprise", "s2_sur_01", range(99997, 100004)),   # widths 5 and 6: numeric sort needed
    ("HS", "s2", "negative", "s2_po_03", range(20, 25)),            # name says positive, folder negative
    ("HS", "s3", "positive", "s3_po_05", range(1038186, 1038192)),
    ("VIS", "s1", "negative", "s1_ne_01", range(1, 6)),
    ("VIS", "s2", "surprise", "s2_sur_01", range(10, 15)),
    ("NIR", "s1", "negative", "s1_ne_01", range(1, 6)),
]


def make_smic(root, clips=None, *, cropped=True):
    """SMIC: ``SMIC_all_raw/HS/s1/micro/negative/s1_ne_01/image559757.bmp`` (+ cropped ``reg_image``)."""
    root = Path(root)
    clips = SMIC_CLIPS if clips is None else clips
    for mod, subj, emo, clip, frames in clips:
        write_frames(root / "SMIC_all_raw" / mod / subj / "micro" / emo / clip, frames, name="image{n}", ext=".bmp")
        if cropped:
            write_frames(root / "SMIC_all_cropped" / mod / subj / "micro" / emo / clip, frames, name="reg_image{n}",
                         ext=".bmp")
    write_frames(root / "SMIC_all_raw" / "HS" / "s1" / "non_micro" / "s1_no_01", range(1, 4), name="image{n}", ext=".bmp")
    return SimpleNamespace(root=root, clips=clips)


# --------------------------------------------------------------------------- CASME
CASME_ROWS = [
    dict(subject=1, filename="EP01_6", onset=10, apex1=13, apex2=None, offset=16, emotion="disgust", section="A", frames=range(8, 19)),
    dict(subject=1, filename="EP02_3", onset=20, apex1=None, apex2=24, offset=27, emotion="tense", section="A", frames=range(20, 28)),
    dict(subject=8, filename="EP01_2", onset=5, apex1=7, apex2=8, offset=9, emotion="Repression", section="B", frames=range(5, 10)),
    dict(subject=9, filename="EP04_1", onset=1, apex1=3, apex2=None, offset=900, emotion="contempt", section="B", frames=range(1, 8)),
]


def make_casme(root, rows=None, *, unlisted=(("A", "sub02", "EP07_1"),)):
    """CASME: ``CASME_A/Section A/sub01/EP01_6/`` (note the space) + coding sheet with ApexF1/ApexF2."""
    root = Path(root)
    rows = [dict(r) for r in (CASME_ROWS if rows is None else rows)]
    for r in rows:
        if r["frames"] is not None:
            sec = r["section"]
            write_frames(root / f"CASME_{sec}" / f"Section {sec}" / f"sub{r['subject']:02d}" / r["filename"], r["frames"])
    for sec, sub, clip in unlisted:
        write_frames(root / f"CASME_{sec}" / f"Section {sec}" / sub / clip, range(1, 4))
    sheet = [["Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None, "Emotion"]]
    for r in rows:
        r["excel_row"] = len(sheet) + 1
        sheet.append([r["subject"], r["filename"], None, r["onset"], r["apex1"], r["apex2"], r["offset"], None,
                      r["emotion"]])
    path = write_xlsx(root / "CASME_coding.xlsx", {"Sheet1": sheet})
    return SimpleNamespace(root=root, sheet=path, rows=rows)


# --------------------------------------------------------------------------- CAS(ME)^2
# participant, name, onset, apex, offset, AUs, emotion, type, self-report
CASME_SQ_ROWS = [
    [1, "disgust1_1", 10, 13, 0, "AU4", "negative", "micro-expression", "disgust"],
    [1, "disgust1_2", 20, 25, 30, "AU12", "positive", "macro-expression", "happy"],
    [2, "anger1_1", 5, 8, 12, "AU1+AU2", "surprise", "micro-expression", "surprise"],
    [2, "anger1_2", 15, 17, 3, "AU4", "others", "micro-expression", "none"],
    [3, "disgust1_1", 5, 6, 8, "AU4", "negative", "micro-expression", "disgust"],
]


def make_casme_sq(root, rows=None, *, sheet0_name="Sheet1 (2)"):
    """CAS(ME)^2: ``rawpic/s15/15_0101disgustingteeth/img1.jpg`` + ``CAS(ME)^2code_final.xlsx``.

    Sheet 0 has no header; ``naming rule1`` maps participant -> folder number (15, 16);
    ``naming rule2`` maps stimulus name -> code (``'0101'`` as text, ``502`` as a number:
    the loader must pad it back to ``'0502'``). Participant 3 has no naming-rule entry.
    """
    root = Path(root)
    rows = [list(r) for r in (CASME_SQ_ROWS if rows is None else rows)]
    write_frames(root / "rawpic" / "s15" / "15_0101disgustingteeth", range(1, 41))
    write_frames(root / "rawpic" / "s16" / "16_0502anger", range(1, 25))
    write_frames(root / "rawpic" / "s16" / "16_0101disgustingteeth", range(1, 11))   # no annotation
    write_frames(root / "cropped" / "s15" / "15_0101disgustingteeth", range(1, 41), name="img{n}")
    rule1 = [["subject", "folder", "participant"], ["s15", 15, 1], ["s16", 16, 2]]
    rule2 = [["0101", "disgust1"], [502, "anger1"]]
    path = write_xlsx(root / "CAS(ME)^2code_final.xlsx",
                      {sheet0_name: rows, "naming rule1": rule1, "naming rule2": rule2})
    return SimpleNamespace(root=root, sheet=path, rows=rows)


# --------------------------------------------------------------------------- MMEW
MMEW_ROWS = [
    dict(subject="S01", filename="S01-01-001", onset=2, apex=6, offset=11, aus="AU12", emotion="happiness", frames=range(1, 13)),
    dict(subject="S01", filename="S01-02-001", onset=1, apex=3, offset=5, aus="AU1+AU2", emotion="surprise", frames=range(1, 6)),
    dict(subject="S02", filename="S02-01-002", onset=1, apex=None, offset=5, aus="AU4", emotion="disgust", frames=range(1, 6)),
    dict(subject="S02", filename="S02-03-001", onset=1, apex=2, offset=5, aus="AU4", emotion="others", frames=range(1, 6)),
]


def make_mmew(root, rows=None):
    """MMEW: ``Micro_Expression/<emotion>/S01-01-001/<n>.jpg`` + ``MMEW_Micro_Exp.xlsx``."""
    root = Path(root)
    rows = [dict(r) for r in (MMEW_ROWS if rows is None else rows)]
    for r in rows:
        if r["frames"] is not None:
            write_frames(root / "Micro_Expression" / r["emotion"] / r["filename"], r["frames"], name="{n}")
    sheet = [["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion",
              "remarks"]]
    for r in rows:
        r["excel_row"] = len(sheet) + 1
        sheet.append([r["subject"], r["filename"], r["onset"], r["apex"], r["offset"], r["aus"], r["emotion"], None])
    path = write_xlsx(root / "MMEW_Micro_Exp.xlsx", {"Sheet1": sheet})
    return SimpleNamespace(root=root, sheet=path, rows=rows)


# --------------------------------------------------------------------------- MEVIEW
MEVIEW_ROWS = [
    dict(subject="poker01", filename="poker01_1", onset=3, apex=5, offset=8, aus="AU14", emotion="Contempt", kind="frames"),
    dict(subject="tv02", filename="tv02_3", onset=2, apex=4, offset=6, aus="AU1+AU2", emotion="Surprise", kind="video"),
]


def make_meview(root, rows=None):
    """MEVIEW in mer_lab's documented layout: ``clips/<Filename>/`` frames or ``clips/<Filename>.avi`` + labels csv."""
    root = Path(root)
    rows = [dict(r) for r in (MEVIEW_ROWS if rows is None else rows)]
    (root / "clips").mkdir(parents=True, exist_ok=True)
    for r in rows:
        if r["kind"] == "frames":
            write_frames(root / "clips" / r["filename"], range(0, 10), name="frame{n:04d}", ext=".png")
        else:
            path = root / "clips" / (r["filename"] + ".avi")
            w, h = 16, 16
            vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (w, h))
            for n in range(10):
                vw.write(np.full((h, w, 3), frame_value(n), np.uint8))
            vw.release()
    with open(root / "MEVIEW_labels.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["Subject", "Filename", "Onset", "Apex", "Offset", "Action Units", "Emotion"])
        for r in rows:
            wr.writerow([r["subject"], r["filename"], r["onset"], r["apex"], r["offset"], r["aus"], r["emotion"]])
    return SimpleNamespace(root=root, rows=rows)


# --------------------------------------------------------------------------- flow images
def make_flow_images(root, *, size=28):
    """Precomputed flow images: ``<sample>.png`` (R=u, G=v, B=strain, 0-255) + ``labels.csv``.

    Pixel values: u = 255 (-> +1), v = 0 (-> -1), strain = 51 (-> 0.2) in the left half;
    u = v = 128 (about 0) and strain 0 in the right half.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rows = [("casme2", "sub01", "EP02_01f", "positive"), ("samm", "006", "006_1_2", "negative"),
            ("smic", "s1", "s1_ne_01", "negative"), ("casme2", "sub02", "EP02_01f", "surprise"),
            ("samm", "007", "007_missing", "negative")]
    for ds, subj, clip, _ in rows:
        if clip == "007_missing":
            continue
        rgb = np.zeros((size, size, 3), np.uint8)
        rgb[:, : size // 2] = (255, 0, 51)
        rgb[:, size // 2:] = (128, 128, 0)
        name = f"{subj}_{clip}.png" if ds == "casme2" else f"{clip}.png"
        assert cv2.imwrite(str(root / name), rgb[..., ::-1])  # cv2 writes BGR
    with open(root / "labels.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["dataset", "subject", "filename", "label"])
        wr.writerows(rows)
    return SimpleNamespace(root=root, csv=root / "labels.csv", rows=rows)


# MEGC 2019 composite rows as the public flow-image releases list them:
# (dataset, sub, filename_o, label code, imagename). Labels are codes (0 negative,
# 1 positive, 2 surprise); CASME II clip names recur across subjects (EP02_01f); the
# SMIC image names in the table use unpadded subjects (s01_s1_ne_01.jpg) while the files
# are padded (s01_s01_ne_01 .png).
MEGC_FLOW_ROWS = [
    ("casme2", "sub01", "EP02_01f", 1, "sub01_EP02_01f.jpg"),
    ("casme2", "sub01", "EP19_05f", 0, "sub01_EP19_05f.jpg"),
    ("casme2", "sub09", "EP02_01f", 1, "sub09_EP02_01f.jpg"),
    ("smic", "s01", "s01_ne_01", 0, "s01_s1_ne_01.jpg"),
    ("smic", "s02", "s02_sur_01", 2, "s02_s2_sur_01.jpg"),
    ("samm", "006", "006_1_2", 0, "006_006_1_2.jpg"),
    ("samm", "007", "007_6_1", 1, "007_007_6_1.jpg"),
]


def megc_flow_value(i: int) -> int:
    """Strain byte of the i-th image of :data:`MEGC_FLOW_ROWS` (tells the images apart)."""
    return 20 + 30 * i


def _write_flow_png(path, i, size):
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 128, 128, megc_flow_value(i)
    assert cv2.imwrite(str(path), rgb[..., ::-1])


def make_megc_flow_images(root, *, layout="table", size=28):
    """The public MEGC 2019 flow-image releases, in one of their two layouts.

    ``layout="table"``: a flat folder of ``<sub>_<filename_o> .png`` (a space before the
    extension) beside ``combined_3_class2_for_optical_flow.csv`` with the columns
    ``dataset, sub, filename_o, label, apex, imagename, sub_filename`` (apex and
    sub_filename empty, imagename ending in ``.jpg``).

    ``layout="loso"``: no table; ``<subject>/u_test/<code>/<sub>_<clip> .png`` holds the
    subject's own images and ``<subject>/u_train/<code>/`` every other subject's.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    names = [f"{sub}_{clip} .png" for _, sub, clip, _, _ in MEGC_FLOW_ROWS]
    if layout == "table":
        for i, name in enumerate(names):
            _write_flow_png(root / name, i, size)
        with open(root / "combined_3_class2_for_optical_flow.csv", "w", newline="") as fh:
            wr = csv.writer(fh)
            wr.writerow(["dataset", "sub", "filename_o", "label", "apex", "imagename", "sub_filename"])
            for ds, sub, clip, code, image in MEGC_FLOW_ROWS:
                wr.writerow([ds, sub, clip, code, "", image, ""])
    elif layout == "loso":
        subjects = sorted({r[1] for r in MEGC_FLOW_ROWS})
        for test in subjects:
            for i, (ds, sub, clip, code, _) in enumerate(MEGC_FLOW_ROWS):
                part = "u_test" if sub == test else "u_train"
                folder = root / test / part / str(code)
                folder.mkdir(parents=True, exist_ok=True)
                _write_flow_png(folder / names[i], i, size)
    else:
        raise ValueError(f"layout must be 'table' or 'loso', got {layout!r}")
    return SimpleNamespace(root=root, rows=MEGC_FLOW_ROWS, names=names)
