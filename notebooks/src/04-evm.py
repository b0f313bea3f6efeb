# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Motion magnification: making small motions large
#
# If micro-expressions are hard because they are small, why not make them bigger? The
# thesis (section 3.1.3) describes **Eulerian video magnification (EVM)** of Wu et al.:
# filter every pixel's brightness over time, keep the band of frequencies the motion lives
# in, multiply it by a factor `alpha` and add it back. The motion then appears `1 + alpha`
# times larger — within limits. Li et al. found that it helps ME recognition; the thesis
# also warns that it amplifies noise. This chapter shows both, first on a 1-D signal where
# everything is visible, then on clips.

# %%
import numpy as np
import pandas as pd
import holoviews as hv
import ipywidgets as widgets
from scipy import ndimage as ndi

from mer_lab.cube import key_frames
from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.features.flow import flow_pair
from mer_lab.preprocess import estimate_landmarks, iir_gain, level_alphas, magnify, register
from mer_lab import viz

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as "found", e.g. "casme2"
corpus = load(DATASET)
corpus

# %% [markdown]
# ## 1. Magnification from scratch, in one dimension
#
# One row of 100 pixels holds an edge (dark to bright, about 6 px wide). An ME-like motion
# `delta(t)` pushes it 0.3 px to the right and back: rise from the onset (frame 15) to the
# apex (frame 30), fall to the offset (frame 45), at 100 fps.

# %%
fps, n = 100, 60
t = np.arange(n)
onset, apex, offset = 15, 30, 45
rise, fall = np.clip((t - onset) / (apex - onset), 0, 1), np.clip((t - apex) / (offset - apex), 0, 1)
delta = 0.3 * np.where(t <= apex, (1 - np.cos(np.pi * rise)) / 2, (1 + np.cos(np.pi * fall)) / 2)  # px

# %%
x = np.arange(100.0)
profile = lambda x: 0.5 + 0.5 * np.tanh((x - 50) / 6)
frames = profile(x[None, :] - delta[:, None])  # (time, x): the edge shifted by delta(t)

# %% [markdown]
# **The trick.** For a small shift, `I(x - delta) ~ I(x) - delta I'(x)`: each pixel's
# brightness over time is its still value plus a small signal proportional to `delta(t)`.
# A temporal **band-pass** filter removes the still part (frequency 0) and keeps the
# motion's frequencies; multiply by `alpha`, add back, and you get
# `I(x) - (1 + alpha) delta I'(x) ~ I(x - (1 + alpha) delta)`. The band-pass, per pixel,
# with the FFT:

# %%
def band_pass(signal, low, high, fps):
    """Keep the temporal frequencies in [low, high] Hz of every column of (time, ...) data."""
    spectrum = np.fft.rfft(signal, axis=0)
    freqs = np.fft.rfftfreq(signal.shape[0], d=1 / fps)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n=signal.shape[0], axis=0)

# %%
alpha = 10
magnified = frames + alpha * band_pass(frames, 0.5, 8, fps)


# %% [markdown]
# Where is the edge in each frame? For an edge from 0 to 1, the area above the profile
# `sum(1 - I(x))` is the edge's position, and it averages noise away:

# %%
def edge_position(rows):
    return (1 - rows).sum(axis=-1) - 0.5  # px


# %%
def edge_figure(frames, magnified, alpha, title=""):
    dims = (hv.Dimension("frame"), hv.Dimension("shift", label="edge shift", unit="px"))
    base = edge_position(frames[0])
    return hv.Overlay([
        hv.Curve((t, edge_position(frames) - base), *dims, label="input").opts(color="gray"),
        hv.Curve((t, (1 + alpha) * delta), *dims, label="(1 + alpha) x true shift").opts(color="black", line_dash="dashed"),
        hv.Curve((t, edge_position(magnified) - base), *dims, label="magnified").opts(color="#d62728", line_width=2),
    ]).opts(frame_width=320, frame_height=220, legend_position="bottom", title=title)


# %%
def profile_figure(frames, magnified, alpha):
    dims = (hv.Dimension("x", unit="px"), hv.Dimension("I", label="intensity", unit="a.u."))
    return hv.Overlay([
        hv.Curve((x, frames[apex]), *dims, label="input at the apex").opts(color="gray"),
        hv.Curve((x, profile(x - (1 + alpha) * delta[apex])), *dims, label="edge moved (1 + alpha) x").opts(
            color="black", line_dash="dashed"),
        hv.Curve((x, magnified[apex]), *dims, label="magnified").opts(color="#d62728", line_width=2),
    ]).opts(frame_width=300, frame_height=220, xlim=(25, 75), legend_position="bottom", title="the apex frame")

# %%
edge_figure(frames, magnified, alpha, "alpha = 10, band 0.5-8 Hz") + profile_figure(frames, magnified, alpha)

# %% [markdown]
# The magnified edge (red) moves about 8 times as far as the input (grey), but less than
# the ideal 11 times (dashed), and it moves the *wrong way* before the onset and after the
# offset. Both come from the band-pass: `delta(t)` is a one-sided pulse, so it has a mean
# (a frequency-0 part) that the filter takes out, and what is magnified is the pulse minus
# its average. The profile on the right is still an edge: at this size the first-order
# approximation holds.
#
# Now play. Push `alpha` up until the magnified profile stops looking like a moved edge
# (the approximation breaks down when `(1 + alpha) delta` is no longer small next to the
# edge's width; Wu et al. give `(1 + alpha) delta < lambda / 8` for a wavelength `lambda`).
# Move the band above the motion's frequencies (e.g. 15-40 Hz) and nothing is magnified.
# Add noise and watch it grow with `alpha`.

# %%
def explore_1d(alpha=10.0, band=(0.5, 8.0), noise=0.0):
    rng = np.random.default_rng(0)
    noisy = frames + rng.normal(0, noise, frames.shape)
    out = noisy + alpha * band_pass(noisy, band[0], band[1], fps)
    return edge_figure(noisy, out, alpha, f"alpha = {alpha:g}, band {band[0]:g}-{band[1]:g} Hz") + profile_figure(
        noisy, out, alpha)

# %%
widgets.interact(explore_1d, alpha=widgets.FloatSlider(value=10, min=0, max=80, step=1),
                 band=widgets.FloatRangeSlider(value=(0.5, 8), min=0, max=50, step=0.5, description="band (Hz)"),
                 noise=widgets.FloatSlider(value=0, min=0, max=0.05, step=0.005, readout_format=".3f"));

# %% [markdown]
# ## 2. Which frequencies does an ME have?
#
# The band must hold the motion. The spectrum of our 0.3 s pulse (bars) is concentrated
# below about 7 Hz; mer_lab's ideal filter keeps 0.5-8 Hz by default. The alternative,
# causal **IIR** filter of Wu et al. (the difference of two first-order low-passes with
# coefficients `r1 = 0.4`, `r2 = 0.05`, the values used in ME work) has the smooth
# response `iir_gain` computes (line, here at 100 fps).

# %%
freqs = np.fft.rfftfreq(n, d=1 / fps)
spectrum = np.abs(np.fft.rfft(delta))
response = np.abs(iir_gain(np.linspace(0, fps / 2, 200), fps, r1=0.4, r2=0.05))

# %%
f_dim = hv.Dimension("f", label="frequency", unit="Hz")
(hv.Bars((freqs, spectrum / spectrum.max()), f_dim, hv.Dimension("a", label="relative amplitude")).opts(
    alpha=0.5, color="gray")
 * hv.Curve((np.linspace(0, fps / 2, 200), response / response.max()), f_dim, "a", label="IIR r1=0.4, r2=0.05")
 * hv.Area(([0.5, 0.5, 8, 8], [0, 1, 1, 0]), f_dim, "a", label="ideal 0.5-8 Hz").opts(alpha=0.2)).opts(
    frame_width=500, frame_height=200, legend_position="top_right", title="the motion's spectrum and two band-passes")

# %% [markdown]
# ## 3. Magnifying clips with mer_lab
#
# `magnify(cube, alpha=..., low=..., high=..., filter="ideal" | "iir")` does the same on
# every pixel of a Laplacian pyramid. Each pyramid level holds details of one size, and
# each gets its own factor (`level_alphas`): fine levels, where a pixel of motion is a
# large part of a wavelength, get less (the cut-off wavelength `lambda_c`), and the finest
# level, mostly noise, none at all. For `alpha = 10` and 4 levels (the last entry is the
# low-pass residual, left alone):

# %%
level_alphas(10, 4)

# %% [markdown]
# Head motion is motion too, and it is in band: register a clip before magnifying it
# (chapter 2), on the eye corners and the nose bridge, which no AU moves (AU9 would move
# the nose base). The landmarks come from the ground truth here, from dlib for a real
# dataset.

# %%
EYES_AND_BRIDGE = [27, 28, 36, 39, 42, 45]


# %%
def prepared(uid):
    """A clip registered on its landmarks, and its ground truth (None for real datasets)."""
    cube, truth = corpus.cube(uid), corpus.ground_truth(uid)
    points = truth["landmarks"] if truth is not None else estimate_landmarks(cube, frames="all")
    return register(cube, landmarks=points, points=EYES_AND_BRIDGE), truth

# %%
uid = corpus.uids[7]
clip, truth = prepared(uid)
loud = magnify(clip, alpha=10)
loud.attrs["magnification"]

# %% [markdown]
# The apex minus the onset frame, before and after (same colour scale), and a **kymograph**:
# one column of pixels through the face, shown over time (time runs left to right), taken
# where the face changes most.

# %%
kf = key_frames(clip)
smooth = ndi.uniform_filter(clip.values.astype(np.float32), size=(0, 5, 5))
column = int(np.unravel_index(np.abs(smooth[kf["apex"]] - smooth[kf["onset"]]).argmax(), smooth.shape[1:])[1])


# %%
def difference(c, title):
    d = c.values[kf["apex"]].astype(float) - c.values[kf["onset"]]
    h, w = d.shape
    return hv.Image(d[::-1], bounds=(-0.5, -0.5, w - 0.5, h - 0.5), kdims=["x", "y"],
                    vdims=[hv.Dimension("difference", unit="grey level")]).opts(
        cmap="RdBu_r", clim=(-40, 40), invert_yaxis=True, data_aspect=1, frame_width=220, title=title,
        xlabel="x (px)", ylabel="y (px)", tools=["hover"]) * hv.VLine(column).opts(color="black", alpha=0.3)


# %%
def kymograph(c, title):
    strip = c.values[:, :, column].T.astype(float)  # (y, time)
    times = c.time.values
    return hv.Image(strip[::-1], bounds=(times[0], -0.5, times[-1], strip.shape[0] - 0.5), kdims=["time", "y"],
                    vdims=[hv.Dimension("intensity", unit="grey level")]).opts(
        cmap="gray", invert_yaxis=True, frame_width=260, frame_height=220, title=title, xlabel="time (s)",
        ylabel="y (px)") * hv.VLine(float(c.time[kf["apex"]])).opts(color="red", line_dash="dashed", alpha=0.6)

# %%
(difference(clip, "apex - onset") + difference(loud, "apex - onset, alpha = 10")
 + kymograph(clip, f"column x = {column}") + kymograph(loud, "magnified")).cols(2)

# %% [markdown]
# Magnified, the change at the apex is stronger and wider, and in the kymograph the
# features along the column bend visibly around the apex (red line) where the original
# barely moves. The speckle all over the difference image is the sensor noise, magnified
# with the rest, and the faint tint over whole areas is the flickering light, whose
# oscillation of a few Hz is in band as well. Try the settings:

# %%
def explore_clip(alpha=10.0, band=(0.5, 8.0), filter="ideal"):
    out = magnify(clip, alpha=alpha, low=band[0], high=band[1], filter=filter)
    return difference(out, f"alpha = {alpha:g}, {filter} {band[0]:g}-{band[1]:g} Hz") + kymograph(out, "magnified")

# %%
nyquist = float(clip.attrs["fps"]) / 2
widgets.interact(explore_clip, alpha=widgets.FloatSlider(value=10, min=1, max=40, step=1),
                 band=widgets.FloatRangeSlider(value=(0.5, min(8.0, nyquist)), min=0.1, max=nyquist, step=0.1,
                                               description="band (Hz)"),
                 filter=widgets.Dropdown(options=["ideal", "iir"]));

# %% [markdown]
# ## 4. The noise it amplifies
#
# Whatever falls in the band on an amplified level is multiplied too, sensor noise
# included. A synthetic clip with no expression and no head motion — nothing but noise of
# 2 grey levels — shows how much each of EVM's safeguards matters. We measure the noise as
# each pixel's standard deviation over time, averaged over the frame:

# %%
still = make_corpus(n_subjects=1, clips_per_subject=1, amplitude=0, drift=0, rotation=0, blink=0, flicker=0,
                    noise=2).cube(0)

# %%
noise_level = lambda c: float(c.values.astype(float).std(axis=0).mean())
settings = {
    "mer_lab defaults": {},
    "finest level amplified too": dict(skip_levels=()),
    "no lambda_c attenuation": dict(lambda_c=1),
    "band up to Nyquist (50 Hz)": dict(high=50),
    "none of the three": dict(skip_levels=(), lambda_c=1, high=50),
}

# %%
noise = pd.DataFrame({name: {f"alpha = {a}": noise_level(magnify(still, alpha=a, **kw)) for a in (5, 10, 20)}
                      for name, kw in settings.items()}).T
noise.insert(0, "input", noise_level(still))
noise.round(2)

# %% [markdown]
# With mer_lab's defaults, `alpha = 20` raises the noise from 2 to about 2.6 grey levels:
# the band keeps a sixth of the noise's frequencies, the finest level is left alone and the
# next ones are attenuated. Each safeguard alone limits the damage; remove all three and
# the same `alpha` makes the noise twenty times larger — far larger than the motion it was
# meant to reveal.
#
# ## 5. Does magnification make the ME's motion larger?
#
# The question that matters for recognition: does the motion measured by optical flow
# grow? For a few clips, flow from the onset to the apex (Farneback) for several `alpha`.
# With the ground truth we can average the magnitude separately **inside** the expression
# (pixels the true motion moves by more than 0.1 px) and **outside** it; for a real
# dataset we average over the whole frame.

# %%
def flow_by_region(uid, alphas):
    """Mean onset -> apex flow magnitude (px) inside and outside the true ME motion, per alpha."""
    c, gt = prepared(uid)
    inside = np.hypot(*gt["flow_apex_expression"].values) > 0.1 if gt is not None else None
    for a in alphas:
        mag = np.hypot(*flow_pair(c if a == 0 else magnify(c, alpha=a), engine="farneback", cache=False).values)
        parts = {"inside the ME": mag[inside], "outside": mag[~inside]} if inside is not None else {"whole frame": mag}
        yield from ({"sample": uid, "alpha": a, "region": r, "flow magnitude": float(v.mean())} for r, v in parts.items())


# %%
alphas = [0, 5, 10, 20, 40]
rows = [row for uid_ in corpus.uids[:6] for row in flow_by_region(uid_, alphas)]
flows = pd.DataFrame(rows).groupby(["region", "alpha"])["flow magnitude"].mean().reset_index()
flows.pivot(index="alpha", columns="region", values="flow magnitude").round(3)

# %%
a_dim = hv.Dimension("alpha", label="magnification alpha")
m_dim = hv.Dimension("flow magnitude", label="mean flow magnitude, onset to apex", unit="px")
lines = [hv.Curve(part, a_dim, m_dim, label=region) * hv.Scatter(part, a_dim, m_dim).opts(size=7)
         for region, part in flows.groupby("region")]

# %%
first = flows[flows["alpha"] == 0].iloc[0]
ideal = hv.Curve((alphas, [(1 + a) * first["flow magnitude"] for a in alphas]), a_dim, m_dim,
                 label=f"(1 + alpha) x {first['region']} at alpha = 0").opts(color="black", line_dash="dashed")
hv.Overlay(lines + [ideal]).opts(frame_width=460, frame_height=260, legend_position="top_left",
                                 ylim=(0, None), title="optical flow of magnified clips (mean over clips)")

# %% [markdown]
# The flow inside the expression grows steadily with `alpha` — by a factor of roughly 3-4 at
# `alpha = 10` — but far below the ideal `1 + alpha` (dashed): the band-pass takes out the
# pulse's mean, the approximation saturates for large motions, and the flow engine smooths
# what it sees. Outside the expression, where nothing moves, the measured motion grows too:
# that is the magnified noise, and it is what a classifier will have to ignore.
#
# Two practical notes. Magnify *before* temporal interpolation (chapter 3): the band is in
# Hz and needs the clip's real frame rate. And EVM is not the only way: the thesis also
# names global Lagrangian motion magnification (GLMM), which warps the frames along an
# estimated motion instead of amplifying brightness changes.
#
# ## Summary
#
# - EVM band-passes every pixel's brightness over time and adds it back `alpha` times;
#   to first order this moves edges `1 + alpha` times as far (a few lines of numpy in 1-D).
# - Limits: the band removes a one-sided pulse's mean (less than `1 + alpha`, and a
#   backward shift outside the expression), and large `(1 + alpha) delta` breaks the
#   approximation.
# - mer_lab's `magnify` works per Laplacian pyramid level with level factors
#   (`level_alphas`): ideal (FFT) or IIR band-pass; register first, magnify before TIM.
# - Noise in the band is amplified; band limits, leaving the finest level out and the
#   `lambda_c` attenuation keep it in check.
# - On synthetic clips, the measured flow of the ME grows several-fold with `alpha`, and
#   so does the flow where nothing moves.
#
# ## Exercises
#
# 1. In section 1, replace the pulse by a motion with no mean, e.g. `0.3 * np.sin(2 * np.pi *
#    5 * t / fps)`. Does the magnified edge now move `1 + alpha` times as far? *Hint: look
#    at the pulse's spectrum at 0 Hz.*
# 2. Magnify the *unregistered* clip (`corpus.cube(uid)`) and compare the kymographs. What
#    happened to the head drift? *Hint: a drift over 0.5 s has its energy at about 1-2 Hz,
#    inside the default band.*
# 3. For the 1-D edge, find the largest `alpha` at which the magnified apex profile still
#    looks like a shifted edge, and compare `(1 + alpha) * 0.3` px with the edge's width.
#    *Hint: the tanh edge has a width of about 2 x 6 px; Wu et al.'s bound is lambda / 8.*
# 4. Repeat section 5 with `filter="iir"`. Which filter grows the ME's flow more, and which
#    one the noise? *Hint: the IIR filter's response (section 2) passes more high
#    frequencies, and it starts with a transient.*
