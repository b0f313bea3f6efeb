"""HoloViews figures shared by the notebooks and the dashboard (bokeh backend).

Every function takes library results (flows, curves, datasets) and returns a HoloViews
object; nothing is computed here that the library does not already offer, and nothing
is displayed: show the object in a notebook (after ``hv.extension("bokeh")``) or put it
in a Panel layout. Axes carry units; images use the row/column convention of the cube
(``y`` grows downwards, so the y axis is inverted).

Notebooks
---------
:func:`setup_notebook`
    Load the bokeh backend with its JavaScript written into the notebook (plots draw
    without internet); the first code cell of every course chapter calls it.

Optical flow figures
--------------------
:func:`flow_field`
    A flow field: colour-wheel picture (hue = direction, brightness = magnitude) with a
    subsampled quiver, and the magnitude map.
:func:`flow_colour_wheel`
    The key of the colour wheel.
:func:`magnitude_over_time`
    Flow magnitude of every frame with onset, apex and offset marked (thesis Figure 3).
:func:`magnitude_frames`
    Magnitude maps of every k-th frame of a flow sequence (the panels of Figure 3).
:func:`class_average_maps`
    Per-class average apex flow magnitude, one panel per class with ``n`` in the title
    (thesis Figure 4); the data come from
    :func:`mer_lab.compare.class_average_apex_flow`.

Clip and comparison figures
---------------------------
:func:`clip_frame`
    One frame of a cube, titled with its frame number and key-frame role.
:func:`score_chart`
    One metric of several methods: current scores as bars, the majority baseline as a
    line, the previous run as faint markers (the dashboard's score chart).
:func:`score_bars`
    Scores of several methods as grouped bars with the majority baseline marked.
:func:`per_class_heatmap`
    F1 per class and method.
:func:`confusion_heatmap`
    A confusion matrix with counts written in the cells.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options; shows nothing)
import numpy as np
import pandas as pd
import xarray as xr

from ._validate import check_int, check_number
from .features.flow import as_flow, flow_to_rgb

__all__ = [
    "setup_notebook",
    "flow_field",
    "flow_colour_wheel",
    "magnitude_over_time",
    "magnitude_frames",
    "class_average_maps",
    "clip_frame",
    "score_chart",
    "score_bars",
    "per_class_heatmap",
    "confusion_heatmap",
]

_IMG = dict(invert_yaxis=True, data_aspect=1, xlabel="x (px)", ylabel="y (px)")


def _bounds(h, w):
    # pixel centres at integer coordinates; HoloViews images are bottom-up, hence the flip
    return (-0.5, -0.5, w - 0.5, h - 0.5)


def _image(arr, *, label, vdim, units, cmap="viridis", clim=None, width=320):
    h, w = arr.shape
    img = hv.Image(np.asarray(arr)[::-1], bounds=_bounds(h, w), kdims=["x", "y"],
                   vdims=[hv.Dimension(vdim, unit=units)], label=label)
    opts = dict(cmap=cmap, colorbar=True, tools=["hover"], frame_width=width, **_IMG)
    if clim is not None:
        opts["clim"] = clim
    return img.opts(**opts)


def _rgb(rgb, *, label, width=320):
    h, w = rgb.shape[:2]
    return hv.RGB(np.asarray(rgb)[::-1], bounds=_bounds(h, w), kdims=["x", "y"], label=label).opts(
        frame_width=width, **_IMG)


def flow_field(flow, *, frame=None, step: int | None = None, max_magnitude: float | None = None,
               title: str | None = None, width: int = 320) -> hv.Layout:
    """A flow field: colour wheel + quiver, and the magnitude map.

    Parameters
    ----------
    flow : array_like or DataArray, shape (2, H, W)
        Flow in the library convention (a ``(component, y, x)`` DataArray with a
        ``"strain"`` component is accepted; the strain is ignored).
    frame : array_like, shape (H, W), optional
        Grey frame drawn under the quiver (e.g. the onset); default the colour wheel.
    step : int, optional
        Quiver spacing in pixels; default about 16 arrows across.
    max_magnitude : float, optional
        Magnitude shown at full brightness / top of the colour scale.
    title : str, optional
        Default: the sample and frames from the DataArray attrs when present.
    width : int
        Panel width in screen pixels.

    Returns
    -------
    holoviews.Layout
        Two panels: direction (colour wheel, quiver) and magnitude (px).
    """
    attrs = flow.attrs if isinstance(flow, xr.DataArray) else {}
    f, _ = as_flow(flow)
    if f.ndim != 3:
        raise ValueError(f"flow must be one field (2, H, W), got shape {f.shape}")
    _, h, w = f.shape
    step = max(1, w // 16) if step is None else check_int("step", step, low=1)
    mag = np.hypot(f[0], f[1])
    top = float(mag.max()) if max_magnitude is None else check_number("max_magnitude", max_magnitude, low=0, low_open=True)
    if title is None:
        title = str(attrs.get("sample") or "flow")
        if attrs.get("start") is not None:
            title += f" (frame {attrs['start']} -> {attrs['end']})"
    if frame is not None:
        frame = np.asarray(frame, dtype=np.float64)
        if frame.shape != (h, w):
            raise ValueError(f"frame must have the flow's size {(h, w)}, got {frame.shape}")
        base = _image(frame, label="frame", vdim="intensity", units=None, cmap="gray", width=width).opts(colorbar=False)
    else:
        base = _rgb(flow_to_rgb(f, max_magnitude=top if top > 0 else None), label="direction", width=width)
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    us, vs = f[0][ys, xs], f[1][ys, xs]
    lengths = np.hypot(us, vs)
    rel = lengths / lengths.max() if lengths.max() > 0 else lengths
    quiver = hv.VectorField(
        (xs.ravel().astype(float), ys.ravel().astype(float), np.arctan2(vs, us).ravel(), lengths.ravel(), rel.ravel()),
        kdims=["x", "y"], vdims=["angle", hv.Dimension("magnitude", unit="px"), "relative"],
    ).opts(magnitude="relative", color="white" if frame is None else "#ffd400", line_width=1.5, pivot="tail",
           rescale_lengths=True, scale=1.0, tools=["hover"], **_IMG)  # longest arrow = one grid step
    direction = (base * quiver).opts(title=f"{title}: direction", show_legend=False)
    magnitude = _image(mag, label="magnitude", vdim="magnitude", units="px", cmap="magma",
                       clim=(0, top if top > 0 else 1), width=width).opts(title=f"{title}: magnitude")
    return (direction + magnitude).cols(2)


def flow_colour_wheel(*, size: int = 101) -> hv.RGB:
    """The colour key of :func:`mer_lab.features.flow.flow_to_rgb` (image axes)."""
    size = check_int("size", size, low=9)
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    u, v = (xx - c) / c, (yy - c) / c
    inside = np.hypot(u, v) <= 1
    rgb = flow_to_rgb(np.stack([u * inside, v * inside]), max_magnitude=1.0)
    # own axes (u, v), so that a layout does not link them to the images' pixel axes
    wheel = hv.RGB(rgb[::-1], bounds=(-1, -1, 1, 1), kdims=["u", "v"], label="colour wheel")
    return wheel.opts(invert_yaxis=True, data_aspect=1, frame_width=160, xlabel="u (right)",
                      ylabel="v (down)", title="direction key")


def magnitude_over_time(curve, *, onset=None, apex=None, offset=None, title: str | None = None,
                        width: int = 600) -> hv.Overlay:
    """Flow magnitude against frame number, with onset/apex/offset marked (thesis Figure 3).

    Parameters
    ----------
    curve : xarray.DataArray, dims (time,)
        From :func:`mer_lab.features.apex.flow_magnitude_curve` (``frame`` coordinate and
        ``onset``/``apex``/``offset`` attrs are used).
    onset, apex, offset : int, optional
        Frame numbers to mark; default from ``curve.attrs``.

    Returns
    -------
    holoviews.Overlay
    """
    if not isinstance(curve, xr.DataArray) or curve.ndim != 1:
        raise TypeError("curve must be a 1-D DataArray such as flow_magnitude_curve(...) returns")
    frames = curve["frame"].values if "frame" in curve.coords else np.arange(curve.size)
    units = curve.attrs.get("units", "px")
    label = curve.attrs.get("long_name", "flow magnitude")
    line = hv.Curve((frames, curve.values), kdims=[hv.Dimension("frame", label="frame number")],
                    vdims=[hv.Dimension("magnitude", label=label, unit=units)]).opts(
        tools=["hover"], frame_width=width, frame_height=width // 3, color="#1f77b4", line_width=2)
    points = hv.Scatter(line).opts(size=5, color="#1f77b4", tools=["hover"])
    marks = {"onset": onset, "apex": apex, "offset": offset}
    colours = {"onset": "#2ca02c", "apex": "#d62728", "offset": "#7f7f7f"}
    overlay = line * points
    top = float(np.nanmax(curve.values)) if curve.size else 1.0
    for name, value in marks.items():
        value = curve.attrs.get(name) if value is None else value
        if value is None:
            continue
        overlay = overlay * hv.VLine(float(value)).opts(color=colours[name], line_dash="dashed", line_width=2)
        overlay = overlay * hv.Text(float(value), top, f" {name}", halign="left", valign="top").opts(
            text_color=colours[name], text_font_size="10pt")
    if title is None:
        sample = curve.attrs.get("sample")
        emotion = curve.attrs.get("emotion")
        title = "Flow magnitude over time" + (f": {sample}" if sample else "") + (f" ({emotion})" if emotion else "")
    return overlay.opts(title=title, show_legend=False)


def magnitude_frames(flow_seq, *, every: int = 5, cols: int = 6, clim=None, width: int = 160) -> hv.Layout:
    """Magnitude maps of every ``every``-th flow of a sequence (the panels of thesis Figure 3).

    Parameters
    ----------
    flow_seq : xarray.DataArray, dims (time, component, y, x)
        From :func:`mer_lab.features.flow.flow_sequence` (reference ``"first"``: the
        first panel is empty, as in the thesis).
    every : int
        Show frames 0, every, 2 * every, ...
    cols : int
        Panels per row.
    clim : (float, float), optional
        Shared colour range (px); default 0 .. the largest magnitude shown.
    """
    every = check_int("every", every, low=1)
    cols = check_int("cols", cols, low=1)
    if not isinstance(flow_seq, xr.DataArray) or flow_seq.dims[:2] != ("time", "component"):
        raise TypeError("flow_seq must be a DataArray with dims (time, component, y, x), as flow_sequence returns")
    f, _ = as_flow(flow_seq)
    picks = np.arange(0, f.shape[0], every)
    mags = np.hypot(f[picks, 0], f[picks, 1])
    clim = (0.0, float(mags.max()) or 1.0) if clim is None else tuple(clim)
    frames = flow_seq["frame"].values if "frame" in flow_seq.coords else np.arange(f.shape[0])
    panels = [
        _image(m, label=f"frame {int(frames[i])}", vdim="magnitude", units="px", cmap="magma", clim=clim,
               width=width).opts(title=f"frame {int(frames[i])}", colorbar=False, xaxis=None, yaxis=None)
        for i, m in zip(picks, mags)
    ]
    return hv.Layout(panels).cols(cols).opts(title=f"Flow magnitude (0-{clim[1]:.2g} px), every {every} frames")


def class_average_maps(averages: xr.Dataset, *, variable: str = "magnitude", cols: int = 4,
                       shared_scale: bool = True, width: int = 220) -> hv.Layout:
    """One panel per class of the average apex flow magnitude (thesis Figure 4).

    Parameters
    ----------
    averages : xarray.Dataset
        From :func:`mer_lab.compare.class_average_apex_flow` (dims class, y, x and
        a ``count`` variable).
    variable : str
        The map to draw (``"magnitude"``, ``"u"`` or ``"v"``).
    cols : int
        Panels per row.
    shared_scale : bool
        One colour range for all classes (compare intensities) or one per panel.

    Returns
    -------
    holoviews.Layout
        Panels titled ``"<class> (n=<count>)"``.
    """
    if not isinstance(averages, xr.Dataset) or variable not in averages or "count" not in averages:
        raise TypeError(f"averages must be the Dataset class_average_apex_flow returns (with {variable!r} and 'count')")
    da = averages[variable]
    units = da.attrs.get("units", "px")
    diverging = variable in ("u", "v")
    lo, hi = float(da.min()), float(da.max())
    if diverging:
        lim = max(abs(lo), abs(hi)) or 1.0
        clim = (-lim, lim)
    else:
        clim = (0.0, hi if hi > 0 else 1.0)
    panels = []
    for cls in averages["class"].values:
        n = int(averages["count"].sel({"class": cls}))
        arr = da.sel({"class": cls}).values
        own = (float(arr.min()), float(arr.max()) or 1.0) if not diverging else clim
        panels.append(_image(arr, label=str(cls), vdim=variable, units=units,
                             cmap="RdBu_r" if diverging else "magma",
                             clim=clim if shared_scale else own, width=width).opts(title=f"{cls} (n={n})"))
    reg = averages.attrs.get("registration", "none")
    title = f"Average apex flow {variable} per class ({units}; registration: {reg})"
    return hv.Layout(panels).cols(cols).opts(title=title)


# --------------------------------------------------------------------------- clips and scores
def clip_frame(cube, position: int, *, width: int = 320) -> hv.Image:
    """Frame ``position`` (index along time) of a grey cube, titled with its frame number.

    The title says ``onset``, ``apex`` or ``offset`` when the frame is one of them.
    """
    if not isinstance(cube, xr.DataArray) or cube.dims != ("time", "y", "x"):
        raise TypeError("cube must be a grey cube with dims (time, y, x)")
    position = check_int("position", position, low=0, high=cube.sizes["time"] - 1)
    frame = int(cube["frame"].values[position])
    roles = [k for k in ("onset", "apex", "offset") if cube.attrs.get(k) == frame]
    title = f"frame {frame}" + (f" ({', '.join(roles)})" if roles else "")
    img = _image(cube.values[position], label=str(cube.attrs.get("sample") or "clip"), vdim="intensity",
                 units=str(cube.attrs.get("units", "grey level")), cmap="gray", width=width)
    lo, hi = float(cube.values.min()), float(cube.values.max())
    return img.opts(title=title, clim=(lo, hi if hi > lo else lo + 1))


_METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro F1", "uf1": "UF1", "uar": "UAR"}


def setup_notebook(*, inline: bool = True) -> None:
    """Load HoloViews' bokeh backend in a notebook so that plots draw without internet.

    ``hv.extension("bokeh")`` alone makes the notebook fetch BokehJS from a CDN: in a
    classroom or lab without internet, every plot is then blank. With ``inline=True``
    (the default) the JavaScript and CSS come from the installed bokeh and panel
    packages and are written into the notebook, so plots also draw in an exported HTML
    file opened offline. Call it in a notebook's first code cell.
    """
    import panel as pn

    pn.config.inline = bool(inline)
    hv.extension("bokeh", inline=bool(inline), logo=False)


METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro F1", "uf1": "UF1 (unweighted F1)",
                 "uar": "UAR (unweighted average recall)"}


def score_chart(scores, *, metric: str = "macro_f1", baseline: dict | None = None, previous=None,
                width: int = 420, title: str | None = None) -> hv.Overlay:
    """One metric of several methods: bars now, baseline line, previous run as faint markers.

    Methods are rows (their titles read horizontally); the score axis runs 0-1.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per method (``method``, optionally ``title``, metric columns), as
        :class:`mer_lab.compare.Comparison` holds.
    metric : {"accuracy", "macro_f1", "uf1", "uar"}
    baseline : dict, optional
        Metric -> the majority-class baseline; drawn as a dashed vertical line.
    previous : pandas.DataFrame, optional
        The scores of the previous run; methods found there get a grey diamond at their
        earlier score.

    Returns
    -------
    holoviews.Overlay
        Always ``Bars * Scatter * HLine`` (an empty scatter, a baseline at 0 drawn
        transparent when not given), so that a live plot can be updated in place.
    """
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {sorted(METRIC_LABELS)}, got {metric!r}")
    label = METRIC_LABELS[metric]
    method_dim = hv.Dimension("method", label="method")
    score_dim = hv.Dimension("score", label=f"{label} (0-1)", range=(0, 1))
    if scores is None or len(scores) == 0 or metric not in scores.columns:
        now = pd.DataFrame({"method": pd.Series(dtype=str), "score": pd.Series(dtype=float)})
    else:
        names = scores["title"] if "title" in scores.columns else scores["method"]
        now = pd.DataFrame({"method": names.astype(str).to_numpy(), "score": scores[metric].astype(float).to_numpy()})
    before = pd.DataFrame({"method": pd.Series(dtype=str), "score": pd.Series(dtype=float)})
    if previous is not None and len(previous) and metric in previous.columns and len(now):
        prev = previous.set_index("method")[metric]
        keys = list(scores["method"])
        rows = [(n, float(prev[k])) for n, k in zip(now["method"], keys) if k in prev.index]
        if rows:
            before = pd.DataFrame(rows, columns=["method", "score"])
    now = now.iloc[::-1].reset_index(drop=True)  # the first method on top (a y axis grows upwards)
    height = max(120, 34 * len(now) + 60)
    bars = hv.Bars(now, kdims=[method_dim], vdims=[score_dim]).opts(
        invert_axes=True, color="#1f77b4", tools=["hover"], frame_width=width, frame_height=height - 60,
        framewise=True, xlabel="method", ylabel=f"{label} (0-1)", show_grid=True, default_tools=["save"],
        title=title or f"{label} per method")
    marks = hv.Scatter(before, kdims=[method_dim], vdims=[score_dim]).opts(
        invert_axes=True, color="#555555", alpha=0.45, marker="diamond", size=14, tools=["hover"], framewise=True)
    value = (baseline or {}).get(metric)
    shown = value is not None and np.isfinite(value)
    # with the axes inverted, an HLine is drawn across the score axis: a vertical line
    base = hv.HLine(float(value) if shown else 0.0).opts(color="#d62728", line_dash="dashed", line_width=2,
                                                        alpha=1.0 if shown else 0.0)
    return (bars * marks * base).opts(show_legend=False, framewise=True)


def score_bars(scores, *, metrics=("accuracy", "macro_f1"), baseline: dict | None = None,
               previous=None, width: int = 640) -> hv.Overlay:
    """Grouped bars of scores per method, with the majority-class baseline as dashed lines.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per method with a ``method`` (or ``title``) column and metric columns, as
        :class:`mer_lab.compare.Comparison` holds.
    metrics : sequence of str
        Metric columns to draw (``accuracy``, ``macro_f1``, ``uf1``, ``uar``).
    baseline : dict, optional
        Metric -> baseline value; drawn as a dashed line per metric.
    previous : pandas.DataFrame, optional
        An earlier ``scores`` table; its values are drawn as light bars labelled
        ``"<metric> (before)"`` beside the current ones, so the change shows.
    """
    if scores is None or len(scores) == 0:
        return hv.Overlay([hv.Bars([], kdims=["method", "metric"], vdims=["score"])])
    metrics = [m for m in metrics if m in scores.columns]
    long = scores.melt(id_vars=["method"], value_vars=metrics, var_name="metric", value_name="score")
    long["metric"] = long["metric"].map(_METRIC_LABELS).fillna(long["metric"])
    order = [_METRIC_LABELS.get(m, m) for m in metrics]
    if previous is not None and len(previous):
        prev = previous[previous["method"].isin(scores["method"])]
        prev_long = prev.melt(id_vars=["method"], value_vars=[m for m in metrics if m in prev.columns],
                              var_name="metric", value_name="score")
        prev_long["metric"] = prev_long["metric"].map(_METRIC_LABELS).fillna(prev_long["metric"]) + " (before)"
        long = pd.concat([long, prev_long], ignore_index=True)
        order = [x for m in order for x in (m + " (before)", m)]
    long["metric"] = pd.Categorical(long["metric"], categories=order, ordered=True)
    long = long.sort_values(["metric"], kind="stable").assign(metric=lambda d: d["metric"].astype(str))
    long["method"] = long["method"].astype(str)
    bars = hv.Bars(long, kdims=[hv.Dimension("method", label="method"), "metric"],
                   vdims=[hv.Dimension("score", range=(0, 1))]).opts(
        frame_width=width, frame_height=260, tools=["hover"], multi_level=False, xrotation=30,
        ylabel="score (0-1)", cmap=_bar_colours(order), color="metric", show_legend=True,
        legend_position="top_left", title="Scores per method (dashed: majority-class baseline)")
    overlay = bars
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for i, metric in enumerate(metrics):
        if baseline and metric in baseline and np.isfinite(baseline[metric]):
            overlay = overlay * hv.HLine(float(baseline[metric])).opts(
                color=palette[i % 4], line_dash="dashed", line_width=2)
    return overlay


def _bar_colours(order) -> dict:
    strong = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    light = ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896"]
    current = [m for m in order if not m.endswith(" (before)")]
    colours = {}
    for i, m in enumerate(current):
        colours[m] = strong[i % 4]
        colours[m + " (before)"] = light[i % 4]
    return colours


def per_class_heatmap(per_class, *, width: int = 480) -> hv.HeatMap:
    """F1 per class (x) and method (y) from a ``Comparison.per_class`` table."""
    if per_class is None or per_class.empty:
        return hv.HeatMap([], kdims=["class", "method"], vdims=["F1"])
    long = per_class.rename_axis("method").reset_index().melt(id_vars="method", var_name="class", value_name="F1")
    long["F1"] = long["F1"].astype(float).round(2)
    heat = hv.HeatMap(long, kdims=["class", "method"], vdims=[hv.Dimension("F1", range=(0, 1))])
    labels = hv.Labels(heat).opts(text_font_size="9pt", text_color="white")
    return (heat.opts(cmap="viridis", colorbar=True, clim=(0, 1), frame_width=width, tools=["hover"],
                      xrotation=30, title="F1 per class", xlabel="class", ylabel="method") * labels)


def confusion_heatmap(confusion, *, title: str = "Confusion matrix", width: int = 300) -> hv.Overlay:
    """A confusion matrix (rows true, columns predicted) with the counts in the cells."""
    long = confusion.rename_axis("true").reset_index().melt(id_vars="true", var_name="predicted",
                                                             value_name="count")
    heat = hv.HeatMap(long, kdims=["predicted", "true"], vdims=["count"]).opts(
        cmap="Blues", colorbar=True, frame_width=width, frame_height=width, tools=["hover"], xrotation=30,
        title=title, xlabel="predicted class", ylabel="true class", invert_yaxis=True)
    return heat * hv.Labels(heat).opts(text_font_size="10pt", text_color="black")
