"""Figures: each returns a HoloViews object that renders with bokeh and labels itself."""

import holoviews as hv
import numpy as np
import pytest
import xarray as xr

from mer_lab import viz
from mer_lab.features.flow import flow_dataarray


def rendered(obj):
    return hv.render(obj, backend="bokeh")


def all_titles(obj):
    from bokeh.models import Plot

    root = rendered(obj)
    plots = [root] if isinstance(root, Plot) else list(root.select({"type": Plot}))
    return [p.title.text for p in plots if p.title is not None]


def rotation_flow(h=24, w=32):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([-(yy - h / 2) * 0.1, (xx - w / 2) * 0.1])


def test_flow_field_panels_and_quiver():
    flow = flow_dataarray(rotation_flow(), attrs={"sample": "s01", "start": 3, "end": 9})
    fig = viz.flow_field(flow, step=4)
    assert isinstance(fig, hv.Layout) and len(fig) == 2
    direction, magnitude = fig
    quiver = list(direction)[1]
    assert isinstance(quiver, hv.VectorField)
    assert len(quiver) == (24 // 4) * (32 // 4)
    # arrows point along the flow (angle atan2(v, u) on inverted y axis)
    row = quiver.iloc[0]
    x, y, ang = row.dimension_values(0)[0], row.dimension_values(1)[0], row.dimension_values(2)[0]
    u, v = flow.values[:, int(y), int(x)]
    assert ang == pytest.approx(np.arctan2(v, u))
    assert magnitude.vdims[0].unit == "px"
    titles = all_titles(fig)
    assert any("s01 (frame 3 -> 9)" in t for t in titles)
    with_frame = viz.flow_field(rotation_flow(), frame=np.zeros((24, 32)))
    assert isinstance(list(list(with_frame)[0])[0], hv.Image)
    rendered(with_frame)


def test_flow_field_zero_flow_and_bad_frame():
    rendered(viz.flow_field(np.zeros((2, 16, 16), np.float32)))
    with pytest.raises(ValueError, match="frame"):
        viz.flow_field(rotation_flow(), frame=np.zeros((5, 5)))


def test_colour_wheel():
    wheel = viz.flow_colour_wheel(size=41)
    rendered(wheel)

    def colour(u, v):
        d = wheel[u, v]
        return [float(d.dimension_values(k)[0]) for k in "RGB"]

    r, g, b = colour(0.95, 0.0)    # motion to the right is red
    assert r > 200 and g < 20 and b < 20
    r, g, b = colour(0.0, 0.95)    # v grows downwards: the bottom of the key is "down" (green)
    assert g > 200 and b < 20
    r, g, b = colour(0.0, -0.95)   # up is blue-violet
    assert b > 200 and g < 20


def test_magnitude_over_time_marks_key_frames():
    curve = xr.DataArray([0, 0.5, 1.2, 0.6, 0.1], dims=("time",),
                         coords={"frame": ("time", [10, 11, 12, 13, 14])},
                         attrs={"onset": 10, "apex": 12, "offset": 14, "units": "px",
                                "long_name": "mean flow magnitude", "sample": "s7"})
    fig = viz.magnitude_over_time(curve)
    lines = [e for e in fig if isinstance(e, hv.VLine)]
    assert sorted(float(line.data) for line in lines) == [10.0, 12.0, 14.0]
    texts = [e.text.strip() for e in fig if isinstance(e, hv.Text)]
    assert texts == ["onset", "apex", "offset"]
    c = list(fig)[0]
    assert c.vdims[0].unit == "px" and c.kdims[0].label == "frame number"
    assert "s7" in all_titles(fig)[0]
    with pytest.raises(TypeError):
        viz.magnitude_over_time(np.zeros(3))


def test_magnitude_frames_every_k():
    seq = np.zeros((11, 2, 8, 8), np.float32)
    seq[:, 0] = np.arange(11)[:, None, None] * 0.1
    da = flow_dataarray(seq).assign_coords(frame=("time", np.arange(20, 31)))
    fig = viz.magnitude_frames(da, every=5)
    assert len(fig) == 3
    assert [p.label for p in fig] == ["frame 20", "frame 25", "frame 30"]
    rendered(fig)


def test_class_average_maps_titles_with_counts():
    ds = xr.Dataset({"magnitude": (("class", "y", "x"), np.random.default_rng(0).random((3, 6, 7))),
                     "u": (("class", "y", "x"), np.zeros((3, 6, 7))),
                     "count": (("class",), [5, 2, 9])},
                    coords={"class": ["disgust", "happiness", "surprise"]}, attrs={"registration": "landmarks"})
    ds["magnitude"].attrs["units"] = "px"
    fig = viz.class_average_maps(ds)
    titles = all_titles(fig)
    for t in ("disgust (n=5)", "happiness (n=2)", "surprise (n=9)"):
        assert t in titles
    rendered(viz.class_average_maps(ds, variable="u", shared_scale=False))
    with pytest.raises(TypeError):
        viz.class_average_maps(ds.drop_vars("count"))
