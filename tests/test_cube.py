"""The cube convention: construction, validation, frame reading."""

import cv2
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from mer_lab import cube as mc


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6), h=st.integers(1, 9), w=st.integers(1, 9),
    fps=st.floats(1, 500), start=st.integers(0, 10_000), step=st.integers(1, 5),
)
def test_make_cube_properties(n, h, w, fps, start, step):
    frames = np.arange(n * h * w, dtype=np.uint16).reshape(n, h, w)
    numbers = np.arange(start, start + n * step, step)
    cube = mc.make_cube(frames, fps=fps, frame_numbers=numbers, sample="s", apex=int(numbers[n // 2]))
    assert cube.dims == ("time", "y", "x")
    np.testing.assert_array_equal(cube.values, frames)
    np.testing.assert_array_equal(cube["frame"].values, numbers)
    # time is seconds since the first frame, in the dataset's own numbering
    np.testing.assert_allclose(cube["time"].values, (numbers - numbers[0]) / fps)
    assert cube.attrs["fps"] == pytest.approx(fps)
    assert mc.validate_cube(cube) is cube
    assert mc.key_frames(cube)["apex"] == n // 2
    # like() with the same number of frames keeps frame numbers and metadata
    twin = mc.like(cube, frames.astype(np.float32) / 2)
    np.testing.assert_array_equal(twin["frame"].values, numbers)
    assert twin.attrs["sample"] == "s" and twin.attrs["apex"] == cube.attrs["apex"]


def test_like_with_new_length_keeps_duration():
    cube = mc.make_cube(np.zeros((11, 4, 4), np.uint8), fps=100)
    short = mc.like(cube, np.zeros((6, 4, 4), np.uint8))
    assert short["time"].values[-1] == pytest.approx(cube["time"].values[-1])


@pytest.mark.parametrize(
    "frames, kwargs, message",
    [
        (np.zeros((4, 4)), {"fps": 10}, "shape"),
        (np.zeros((2, 4, 4)), {"fps": 0}, "fps"),
        (np.full((2, 4, 4), np.nan), {"fps": 10}, "NaN"),
        (np.zeros((2, 4, 4)), {"fps": 10, "frame_numbers": [3, 3]}, "increase"),
        (np.zeros((2, 4, 4)), {"fps": 10, "frame_numbers": [1]}, "entries"),
    ],
)
def test_make_cube_rejects_bad_input(frames, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mc.make_cube(frames, **kwargs)


def test_validate_cube_errors_name_the_problem():
    with pytest.raises(TypeError, match="xarray"):
        mc.validate_cube(np.zeros((2, 3, 3)))
    bad = xr.DataArray(np.zeros((2, 3, 3)), dims=("t", "row", "col"))
    with pytest.raises(ValueError, match="dims"):
        mc.validate_cube(bad)
    cube = mc.make_cube(np.zeros((2, 3, 3)), fps=5)
    with pytest.raises(ValueError, match="at least 5"):
        mc.validate_cube(cube, min_frames=5)
    with pytest.raises(ValueError, match="colour"):
        mc.validate_cube(cube, grey=False)


def test_key_frames_defaults_and_errors():
    cube = mc.make_cube(np.zeros((9, 2, 2)), fps=5, frame_numbers=range(100, 109), onset=101, offset=107)
    assert mc.key_frames(cube) == {"onset": 1, "offset": 7, "apex": 4}
    cube.attrs["apex"] = 500
    with pytest.raises(ValueError, match="apex 500 is not in the clip"):
        mc.key_frames(cube)


@pytest.mark.parametrize("name, number", [("img46.jpg", 46), ("006_05562.jpg", 5562),
                                           ("006_0217.jpg", 217), ("reg_image1038189.bmp", 1038189)])
def test_frame_number(name, number):
    assert mc.frame_number(name) == number


def test_frame_number_without_digits():
    with pytest.raises(ValueError, match="no digits"):
        mc.frame_number("cover.jpg")


def _write_frames(folder, numbers, size=(6, 5), pad=None):
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        name = f"img{n:0{pad}d}.png" if pad else f"img{n}.png"
        cv2.imwrite(str(folder / name), np.full(size, n % 256, np.uint8))


def test_folder_is_read_in_numeric_order(tmp_path):
    _write_frames(tmp_path / "clip", [9, 10, 100, 11])
    cube = mc.cube_from_folder(tmp_path / "clip", fps=200, sample="clip")
    assert cube["frame"].values.tolist() == [9, 10, 11, 100]
    assert cube.values[:, 0, 0].tolist() == [9, 10, 11, 100]
    part = mc.cube_from_folder(tmp_path / "clip", fps=200, first=10, last=11)
    assert part["frame"].values.tolist() == [10, 11]


def test_folder_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        mc.cube_from_folder(tmp_path / "missing", fps=10)
    _write_frames(tmp_path / "a", [1, 2])
    (tmp_path / "a" / "img3.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"img3\.png.*0 bytes|0 bytes.*img3\.png"):
        mc.cube_from_folder(tmp_path / "a", fps=10)
    _write_frames(tmp_path / "b", [1])
    cv2.imwrite(str(tmp_path / "b" / "img2.png"), np.zeros((7, 7), np.uint8))
    with pytest.raises(ValueError, match="img2.png"):
        mc.cube_from_folder(tmp_path / "b", fps=10)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "img1.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot be decoded"):
        mc.cube_from_folder(tmp_path / "c", fps=10)


def test_duplicate_frame_numbers_are_refused(tmp_path):
    _write_frames(tmp_path / "d", [5])
    cv2.imwrite(str(tmp_path / "d" / "img005.png"), np.zeros((6, 5), np.uint8))
    with pytest.raises(ValueError, match="frame number 5"):
        mc.list_frames(tmp_path / "d")


def test_video_round_trip(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (32, 24))
    for i in range(5):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    cube = mc.cube_from_video(path, sample="clip")
    assert cube.sizes == {"time": 5, "y": 24, "x": 32}
    assert cube.attrs["fps"] == pytest.approx(30)
    assert np.all(np.abs(np.diff(cube.values.mean(axis=(1, 2)).astype(float)) - 40) < 3)


def test_to_grey_uses_luma():
    rgb = np.zeros((1, 2, 2, 3), np.uint8)
    rgb[..., 1] = 200
    cube = mc.make_cube(rgb, fps=1)
    grey = mc.to_grey(cube)
    assert grey.dims == ("time", "y", "x")
    assert int(grey.values[0, 0, 0]) == round(0.587 * 200)


def test_meta_keys_travel_with_derived_results():
    """like() and the flow-magnitude curve carry every key of cube.META_KEYS."""
    from mer_lab.features.apex import flow_magnitude_curve

    meta = dict(dataset="d", subject="s01", sample="s01_1", emotion="happiness", onset=10, apex=12, offset=14)
    frames = np.random.default_rng(0).integers(0, 255, (5, 16, 16)).astype(np.uint8)
    cube = mc.make_cube(frames, fps=50, frame_numbers=range(10, 15), **meta)
    expected = {**meta, "fps": 50.0}
    assert set(mc.META_KEYS) == set(expected)
    twin = mc.like(cube, frames[::-1])
    assert {k: twin.attrs[k] for k in mc.META_KEYS} == expected
    curve = flow_magnitude_curve(cube, engine="farneback", cache=False)
    assert {k: curve.attrs[k] for k in mc.META_KEYS} == expected


def test_missing_key_frames_read_as_none():
    import pandas as pd

    assert [mc.opt_int(v) for v in (None, float("nan"), pd.NA, np.float64(7.0), np.int64(3), 4)] == \
        [None, None, None, 7, 3, 4]
    cube = mc.make_cube(np.zeros((3, 4, 4), np.uint8), fps=10, onset=pd.NA, apex=np.nan, offset=2.0)
    assert cube.attrs["onset"] is None and cube.attrs["apex"] is None and cube.attrs["offset"] == 2
