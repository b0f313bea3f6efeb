# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Temporal interpolation: every clip the same length
#
# Micro-expression clips come in all lengths. The expressions themselves last from a
# twentieth to half a second, and the cameras run at 25 (SMIC-VIS), 60 (CASME), 100
# (SMIC-HS) or 200 fps (CASME II, SAMM), so one ME may span 3 frames in one dataset and
# 100 in another. Many feature extractors need a fixed number of frames, or at least
# enough of them for their time window, and classifiers want inputs of one size.
#
# The thesis (section 3.1.2) follows Pfister et al.: resample every clip with the
# **Temporal Interpolation Model (TIM)** of Zhou et al. — up when it is short, down when
# it is long. With 10 frames they got their best results on SMIC-HS, whose clips average
# 33.7 frames. This chapter builds TIM from scratch, compares it with plain linear
# interpolation, and looks at what the target length does.

# %%
import numpy as np
import pandas as pd
import holoviews as hv
import ipywidgets as widgets
from scipy import ndimage as ndi

from mer_lab.cube import key_frames, make_cube
from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.preprocess.tim import compare_tim_linear, linear_interpolate, tim, tim_weights
from mer_lab import viz

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as "found", e.g. "casme2"
corpus = load(DATASET)
corpus

# %% [markdown]
# How long are the expressions of this corpus, from onset to offset? (The synthetic clips
# are filmed at 100 fps and last 0.2-0.5 s; on CASME II at 200 fps you would see far more
# frames.)

# %%
samples = corpus.samples
frames_long = (samples["offset"] - samples["onset"] + 1).to_numpy(float)
seconds_long = frames_long / samples["fps"].to_numpy(float)

# %%
clips_dim = hv.Dimension("clips", label="number of clips")
(hv.Histogram(np.histogram(frames_long, bins=15), kdims=[hv.Dimension("frames", label="onset to offset (frames)")],
              vdims=[clips_dim], label="ME length in frames")
 + hv.Histogram(np.histogram(seconds_long, bins=15), kdims=[hv.Dimension("seconds", label="onset to offset", unit="s")],
                vdims=[clips_dim], label="ME length in seconds")).opts(
    hv.opts.Histogram(frame_width=300, frame_height=180, tools=["hover"]))

# %% [markdown]
# ## 1. Frames as points on a path
#
# TIM's idea: flatten every frame into a long vector, so a clip of N frames is N points in
# a space with one axis per pixel, visited in order. Join consecutive frames and you have
# a **path graph**. If we can lay that path out along a continuous curve, we can read new
# frames off the curve anywhere between the old ones.
#
# Our toy clip: a row of 40 pixels in which a narrow bright bump jumps 5 px to the right
# per frame, 7 frames. Time runs down the picture.

# %%
N, n_out = 7, 20
x = np.arange(40)
toy = np.exp(-((x - (5 + 5 * np.arange(N))[:, None]) ** 2) / 3)  # (7 frames, 40 pixels)


# %%
def kymograph(frames, title, width=260):
    """Frames (time, x) as an image: x across, time (frame) down."""
    t, w = frames.shape
    return hv.Image(frames[::-1], bounds=(-0.5, -0.5, w - 0.5, t - 0.5), kdims=["x", "frame"],
                    vdims=[hv.Dimension("intensity", unit="a.u.")]).opts(
        cmap="viridis", invert_yaxis=True, frame_width=width, frame_height=160, clim=(-0.15, 1),
        xlabel="x (px)", ylabel="frame", title=title, colorbar=False)

# %%
kymograph(toy, "the toy clip: 7 frames of 40 px")

# %% [markdown]
# ## 2. TIM from scratch
#
# **Step 1: the frames' codes.** Centre the frames and take their SVD. Centring removes
# one dimension, so N frames need N - 1 components; `Q` holds each frame's coordinates
# (its "code") in that basis.

# %%
mean = toy.mean(axis=0)
U, S, Vt = np.linalg.svd((toy - mean).T, full_matrices=False)
U, S, Vt = U[:, : N - 1], S[: N - 1], Vt[: N - 1]
Q = S[:, None] * Vt  # (N - 1, N): column j is frame j's code

# %% [markdown]
# **Step 2: lay the path graph out.** The eigenvectors of the path graph's Laplacian
# (ascending eigenvalues, without the constant one) give every frame N - 1 coordinates
# that change smoothly from one frame to the next: a discrete embedding of the path.

# %%
adjacency = np.eye(N, k=1) + np.eye(N, k=-1)
laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
_, vectors = np.linalg.eigh(laplacian)  # eigenvalues in ascending order
V0 = vectors[:, 1:]  # (N, N - 1)

# %% [markdown]
# **Step 3: make it continuous.** Those eigenvectors are cosines sampled at the frames, so
# each coordinate `k` is a sine `m_k sin(k pi t + pi (N - k) / 2N)` evaluated at
# `t = 1/N, 2/N, ..., 1`. Evaluate the sines anywhere in between and you have the curve.

# %%
k = np.arange(1, N)
phase = np.pi * (N - k) / (2 * N)
m = V0[0] / np.sin(np.pi * k / N + phase)


# %%
def embed(t):
    """Points of the continuous embedding, (N - 1, len(t)), for t in [1/N, 1]."""
    return m[:, None] * np.sin(np.pi * k[:, None] * np.atleast_1d(t)[None, :] + phase[:, None])


# %% [markdown]
# Check: the dots are the eigenvectors, the lines the continuous sines, for the first three
# coordinates. The lines pass through every dot.

# %%
t_fine = np.linspace(1 / N, 1, 200)
t_frames = np.arange(1, N + 1) / N
dims = (hv.Dimension("t", label="position on the path t"), hv.Dimension("y", label="embedding coordinate"))
hv.Overlay([hv.Curve((t_fine, embed(t_fine)[j]), *dims, label=f"k = {j + 1}") * hv.Scatter(
    (t_frames, V0[:, j]), *dims).opts(size=7) for j in range(3)]).opts(
    frame_width=420, frame_height=200, legend_position="right", title="path-graph embedding: eigenvectors and sines")

# %% [markdown]
# **Step 4: map between codes and the curve.** A linear map `W` takes codes to embedding
# coordinates (`W^T Q = V0^T`, solved by least squares). To make a frame at a new `t`,
# take the curve's point there, map it back to a code with `W^T`'s inverse, and turn the
# code into pixels with `U` plus the mean. New positions are spread evenly along the path.

# %%
W = np.linalg.solve(Q @ Q.T, Q @ V0)
t_new = np.linspace(0, 1, n_out) * (1 - 1 / N) + 1 / N
codes = np.linalg.solve(W.T, embed(t_new))
tim_toy = (U @ codes).T + mean  # (n_out, 40)

# %% [markdown]
# mer_lab's `tim` does the same (through the frames' Gram matrix, which is much cheaper
# for real frames) and clips to the input's value range. The toy clip as a cube of 7
# frames of 1 x 40 pixels:

# %%
clip = make_cube(toy[:, None, :], fps=100)
ours = np.clip(tim_toy, toy.min(), toy.max())
np.abs(tim(clip, n_out).values[:, 0, :] - ours).max()

# %% [markdown]
# Identical up to rounding. Now look at what came out, next to linear interpolation (each
# new frame blends the two nearest input frames):

# %%
(kymograph(toy, "input, 7 frames") + kymograph(tim_toy, f"TIM, {n_out} frames")
 + kymograph(linear_interpolate(clip, n_out).values[:, 0, :], f"linear, {n_out} frames")).opts(shared_axes=False)

# %% [markdown]
# Neither method *moves* the bump: between two input frames both show two fading bumps,
# a cross-fade. TIM is not motion-compensated interpolation; every new frame is a fixed
# mix of the input frames. The mixing weights tell the whole story:

# %%
def weights_image(weights, title):
    n_o, n_i = weights.shape
    return hv.Image(weights[::-1], bounds=(-0.5, -0.5, n_i - 0.5, n_o - 0.5), kdims=["input", "output"],
                    vdims=[hv.Dimension("weight")]).opts(
        cmap="RdBu_r", clim=(-1, 1), invert_yaxis=True, frame_width=160, frame_height=260, colorbar=True,
        xlabel="input frame", ylabel="output frame", title=title, tools=["hover"])

# %%
centred = tim_weights(N, n_out)  # acts on centred frames: out = weights @ (frames - mean) + mean
tim_mix = centred + (1 - centred.sum(axis=1, keepdims=True)) / N
one_hot = make_cube(np.eye(N)[:, None, :], fps=100)  # frame i lights pixel i: the output is the weights
linear_mix = linear_interpolate(one_hot, n_out).values[:, 0, :]

# %%
weights_image(tim_mix, "TIM") + weights_image(linear_mix, "linear")

# %% [markdown]
# Linear interpolation uses two neighbouring frames with positive weights. TIM uses *all*
# frames, with weights that swing positive and negative and fade with distance (red
# positive, blue negative). For frames in general position this is exactly cosine (DCT)
# interpolation: the pixel values are fitted by a sum of cosines through all the samples.
# Both methods return the input frames unchanged at the input instants (first and last
# rows).

# %% [markdown]
# ## 3. TIM on a clip
#
# `tim(cube, n_frames)` returns a cube spanning the same time interval, with the key frames
# moved to the nearest output frame and the dataset frame each output frame stands for in
# `attrs["source_frame"]`.

# %%
uid = corpus.uids[0]
cube = corpus.cube(uid)
short = tim(cube, 10)
{"input frames": cube.sizes["time"], "output frames": short.sizes["time"],
 "key frames in": key_frames(cube), "key frames out": key_frames(short),
 "source frames": np.round(short.attrs["source_frame"], 1)}


# %%
def strip(c, n=10, width=90):
    """Thumbnails of (up to) n evenly chosen frames of a cube."""
    picks = np.linspace(0, c.sizes["time"] - 1, min(n, c.sizes["time"])).round().astype(int)
    kf = key_frames(c)
    return hv.Layout([hv.Image(c.values[p].astype(float), bounds=(0, 0, c.sizes["x"], c.sizes["y"])).opts(
        cmap="gray", frame_width=width, data_aspect=1, xaxis=None, yaxis=None, toolbar=None,
        title=f"{c.time.values[p] * 1000:.0f} ms" + ("*" if p == kf["apex"] else "")) for p in picks]).cols(n)

# %%
strip(short)

# %% [markdown]
# The ten frames of the TIM version, with their time in ms; a star marks the apex. To see
# the expression in numbers, follow one spot of the face: the 5 x 5 pixel patch that
# changes most between the onset and the apex.

# %%
kf = key_frames(cube)
smooth = lambda c: ndi.uniform_filter(c.values.astype(np.float32), size=(0, 5, 5))
change = np.abs(smooth(cube)[kf["apex"]] - smooth(cube)[kf["onset"]])
spot = tuple(int(i) for i in np.unravel_index(change.argmax(), change.shape))
spot  # (row, column) of the patch centre

# %%
trace = lambda c: smooth(c)[:, spot[0], spot[1]]  # the patch's mean intensity in every frame of cube c


# %%
TRACE = (hv.Dimension("time", unit="s"), hv.Dimension("intensity", label="patch intensity", unit="grey level"))


def trace_line(c, label, colour):
    """The patch's intensity over time in cube c, as a line with markers."""
    data = (c.time.values, trace(c))
    return hv.Curve(data, *TRACE, label=label).opts(color=colour, line_width=2) * hv.Scatter(data, *TRACE).opts(
        color=colour, size=6)


# %%
def trace_figure(n_frames):
    short_tim, short_linear = tim(cube, n_frames), linear_interpolate(cube, n_frames)
    apex_in, apex_out = float(cube.time[kf["apex"]]), float(short_tim.time[key_frames(short_tim)["apex"]])
    step = (cube.time.values[-1] - cube.time.values[0]) / (n_frames - 1)
    return hv.Overlay([
        hv.Scatter((cube.time.values, trace(cube)), *TRACE, label=f"input, {cube.sizes['time']} frames").opts(
            color="gray", size=4),
        trace_line(short_tim, f"TIM, {n_frames} frames", "#d62728"),
        trace_line(short_linear, f"linear, {n_frames} frames", "#1f77b4"),
        hv.VLine(apex_in).opts(color="gray", line_dash="dashed"),
        hv.VLine(apex_out).opts(color="#d62728", line_dash="dotted"),
    ]).opts(frame_width=520, frame_height=240, legend_position="right",
            title=f"{n_frames} frames, one every {step * 1000:.0f} ms; apex moved by {abs(apex_out - apex_in) * 1000:.0f} ms")


# %%
trace_figure(10)

# %% [markdown]
# The grey dots are the input; the coloured lines are the 10-frame versions. Ten samples
# draw the expression's rise and fall only coarsely, and the apex (dashed: annotated;
# dotted: where it lands after TIM) can move by up to half a frame interval. TIM and
# linear interpolation nearly agree here: when down-sampling, both just read the curve
# through the input frames at new instants, and neither averages the frames in between.
#
# ## 4. The target length
#
# Slide the number of frames. Below about 6 frames the expression's shape falls apart;
# near the input length both methods give back the input. Watch where TIM and linear part
# ways: at sharp bends and on noisy stretches TIM (all frames, oscillating weights)
# overshoots, while linear cuts corners.

# %%
widgets.interact(trace_figure, n_frames=widgets.IntSlider(value=5, min=3, max=60, description="frames"));

# %% [markdown]
# ## 5. Which one fills gaps better? A test with the answer known
#
# Up-sampling is where the methods differ most. We can check them properly: drop frames
# from a clip (keep every 4th or 8th, as if it had been filmed at 25 or 12.5 fps instead
# of 100), interpolate back to the full length, and compare with the frames we dropped.
# We do it on the corpus and on a noise-free synthetic corpus (`difficulty=0`).

# %%
def refill_error(c, step, method):
    """RMS error (grey levels) of refilling a clip from every step-th frame."""
    n = (c.sizes["time"] - 1) // step * step + 1
    full = c.isel(time=slice(0, n))
    refilled = method(full.isel(time=slice(0, n, step)), n)
    return float(np.sqrt(np.mean((refilled.values.astype(float) - full.values.astype(float)) ** 2)))


# %%
clean = make_corpus(difficulty=0)
rows = [{"corpus": name, "kept": f"1 in {step}", "method": label, "RMS error": refill_error(c.cube(i), step, method)}
        for name, c in [(DATASET, corpus), ("synthetic, no noise", clean)] for i in range(4)
        for step in (2, 4, 8) for label, method in [("TIM", tim), ("linear", linear_interpolate)]]
errors = pd.DataFrame(rows).groupby(["corpus", "kept", "method"], sort=False)["RMS error"].mean().reset_index()
errors.pivot_table(index=["corpus", "kept"], columns="method", values="RMS error", sort=False).round(3)

# %% [markdown]
# A split verdict. Without noise, TIM refills the missing frames better than linear
# interpolation — the motion is smooth, and a sum of cosines follows a smooth curve better
# than straight segments. With the corpus's sensor noise, linear interpolation wins: TIM
# passes exactly through every noisy input frame and spreads that noise through its
# oscillating weights, while a linear blend of two frames averages some of it away. The
# thesis reports TIM helping recognition; this shows that the reason is not that it
# reconstructs the motion better in every case.
#
# `compare_tim_linear` summarises the difference on any clip: the RMS difference between
# the two outputs (against the RMS frame-to-frame change of the input, `signal_rms`), how
# much TIM had to be clipped, and how well each survives a round trip to `n_frames` and
# back.

# %%
pd.DataFrame([{key: value for key, value in compare_tim_linear(corpus.cube(i), 10).items() if key != "rmse_per_frame"}
              for i in range(4)], index=corpus.uids[:4]).round(3)

# %% [markdown]
# ## Summary
#
# - TIM sees a clip as a path through pixel space, lays the path graph out with its
#   Laplacian eigenvectors (sampled cosines), and reads new frames off the continuous
#   curve: a few lines of numpy (SVD, `eigh`, two linear solves).
# - Every TIM frame is a fixed mix of *all* input frames (cosine interpolation); linear
#   interpolation mixes two. Neither follows motion: between frames both cross-fade.
# - Down to about 10 frames both keep an ME's rise and fall; fewer frames lose its shape,
#   and the apex moves by up to half the new frame interval.
# - Filling gaps in smooth, clean clips, TIM beats linear; with sensor noise, linear wins.
#
# ## Exercises
#
# 1. Make a clip with duplicated frames (`cube.isel(time=np.repeat(np.arange(10), 2))`,
#    with `make_cube` to give it a proper time axis) and run `tim` on it. Why do the
#    published formulas fail here, and what does mer_lab do instead? *Hint: the Gram
#    matrix is singular; read the Notes of `tim_weights` and `REGULARISATION`.*
# 2. Show that for frames in general position TIM is cosine interpolation: build the
#    orthonormal DCT-II basis `c_k(j) = s_k cos(pi k (j + 1/2) / N)` (`s_0 = sqrt(1/N)`,
#    `s_k = sqrt(2/N)`), evaluate it at the fractional positions `j = p (N - 1)` of the
#    outputs, and check that `c(j)^T c(0..N-1)` equals `tim_mix`. *Hint: the columns of
#    `vectors` are this basis (up to sign) at the integer positions.*
# 3. In section 5, add Gaussian smoothing in time (`scipy.ndimage.gaussian_filter1d` along
#    the time axis) before TIM. Does TIM then beat linear on the noisy corpus?
#    *Hint: smoothing removes what TIM would otherwise pass through exactly.*
# 4. The thesis's best length was 10 frames for clips of 33.7 frames on average. For the
#    clips of this corpus, how far (in ms) can the apex move when a clip is brought to 10
#    frames? *Hint: half of (clip duration / 9).*
