# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Spotting: finding micro-expressions in long videos
#
# Every chapter so far started from a clip cut neatly around one micro-expression, with
# its onset, apex and offset written in a coding sheet. Someone had to find those
# frames: a FACS coder, stepping through hours of video frame by frame. **Spotting**
# automates that search: given a long video, say *when* something happens.
#
# It is harder than it sounds. Between two micro-expressions there are hundreds of frames
# where the face is not still either: the eyes blink, the head drifts, the light
# flickers, the person smiles openly (a *macro*-expression, larger and longer). A spotter
# must react to short, faint, local movements and ignore everything else. The thesis
# (section 1.2.1) describes two approaches, and this chapter builds both:
#
# 1. **feature difference** (Moilanen et al. 2014): compare each frame's appearance with
#    the average of a frame shortly before and one shortly after; a movement that comes
#    and goes in between stands out. It spots intervals (onset to offset);
# 2. **3-D FFT** (Li et al. 2018): in the frequency domain of a short stretch of video, a
#    fast movement puts energy at high frequencies; the frame where that energy peaks is
#    the apex;
#
# and then scores them the way the Micro-Expression Grand Challenge (MEGC) does: a spotted
# interval counts when it overlaps a true one by at least half (IoU >= 0.5).

# %%
import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
from scipy import fft as sfft
from skimage.feature import local_binary_pattern

from mer_lab.datasets.synthetic import make_corpus, make_long_video
from mer_lab.spotting import (
    apex_error,
    default_interval,
    default_window,
    feature_difference,
    fft_apex,
    fft_energy,
    intervals_from_curve,
    lbp_block_histograms,
    spotting_scores,
    threshold,
)
from mer_lab.spotting.cli import long_videos
from mer_lab import viz

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset with long videos that the manifest finds: "samm_long", "casme_sq"

# %% [markdown]
# Four long videos of 8 seconds at 100 fps, 64x64 pixels, each with three
# micro-expressions and one macro-expression, at the `"easy"` distractor level (blinks,
# a slow head drift, flicker, noise). With a licensed dataset of long videos, its first
# four videos are read instead, each cropped to the face and shrunk to 64x64 pixels.
# `truth` lists the annotated intervals (`type` micro or macro).

# %%
SETTINGS = dict(videos=4, expressions=3, macro=1, difficulty="easy", fps=100, size=64, seed=0, limit=4)
videos = list(long_videos(DATASET, kind="all", **SETTINGS))
name, video, truth = videos[0]
print(name, dict(video.sizes), f"{video.attrs['fps']:g} fps")
truth

# %% [markdown]
# ## 1. What happens in the video
#
# The naive signal of chapter 1: how much each frame differs from the first one. The
# green bands are the annotated micro-expressions, the orange band the macro-expression.
# For the synthetic video the ground truth also tells us when the eyes blink (dotted
# grey line, eyelid closure, scaled to the plot). Look at what the curve shows: the
# macro-expression towers over everything; two micro-expressions make bumps hardly
# larger than those of the blinks, and the first one (a chin raiser) makes none; the
# curve never returns to 0 because the head has drifted a little. Nothing in this curve
# tells a blink from a micro-expression.

# %%
fps = video.attrs["fps"]
frames_no = video["frame"].values
values = video.values.astype(np.float32)
naive = np.abs(values - values[0]).mean(axis=(1, 2))

# %%
def bands(table):
    """Annotated intervals as a list of shaded bands: micro green, macro orange."""
    colour = {"micro": "green", "macro": "orange"}
    return [hv.VSpan(r.onset, r.offset).opts(color=colour.get(r.type, "green"), alpha=0.25)
            for r in table.itertuples()]


# %%
curve = hv.Curve((frames_no, naive), hv.Dimension("frame", label="frame number"),
                 hv.Dimension("change", label="mean |frame - first frame| (grey levels)"))
overlay = hv.Overlay([*bands(truth), curve.opts(color="black")])
if DATASET == "synthetic":
    _, _, detail = make_long_video(n_expressions=3, n_macro=1, fps=100, size=64, seed=0, subject=1,
                                   difficulty="easy", return_truth=True)
    blink = detail["blink"].values * naive.max()
    overlay = overlay * hv.Curve((frames_no, blink), "frame", "change").opts(color="gray", line_dash="dotted")
overlay.opts(frame_width=640, frame_height=200, title=f"{name}: the naive change curve", xlabel="frame number",
             ylabel="mean |frame - first frame| (grey levels)")

# %% [markdown]
# ## 2. Feature difference, from scratch
#
# **Step 1: describe every frame.** Cut the face into 6x6 blocks and count, in each
# block, the LBP codes of chapter 5 (8 neighbours at radius 1, the 59 u2 bins). A block's
# histogram changes when the texture under it moves; it does not change when the whole
# frame gets brighter, because LBP codes only compare neighbours.

# %%
def block_histograms(frames, blocks=6, bins=59):
    codes = np.stack([local_binary_pattern(f, 8, 1, "nri_uniform") for f in frames])[:, 1:-1, 1:-1].astype(int)
    t, h, w = codes.shape
    edges = lambda size: np.arange(blocks + 1) * size // blocks   # block i: floor(i n / k) .. floor((i+1) n / k) - 1
    block = np.repeat(np.arange(blocks), np.diff(edges(h)))[:, None] * blocks + np.repeat(
        np.arange(blocks), np.diff(edges(w)))[None, :]
    index = (np.arange(t)[:, None, None] * blocks**2 + block) * bins + codes
    hist = np.bincount(index.ravel(), minlength=t * blocks**2 * bins).reshape(t, blocks**2, bins)
    return hist / hist.sum(axis=2, keepdims=True)


hist = block_histograms(video.values)
print(hist.shape, "same as mer_lab:", np.allclose(hist, lbp_block_histograms(video)))

# %% [markdown]
# **Step 2: compare each frame with its neighbours in time.** With `k` half the length of
# a typical micro-expression (0.3 s / 2: 15 frames at 100 fps), frame `i` is compared
# with the average of frames `i - k` and `i + k`, block by block, with the chi-squared
# distance `sum (P - Q)² / (P + Q)`. If a movement starts after `i - k` and is over
# before `i + k`, frame `i` looks unlike both ends; a slow drift makes all three alike.
# The `M = 12` most changed blocks (a third) are averaged into `F(i)`, so that a local
# movement is not diluted by the still parts of the face.

# %%
k, top = default_interval(fps), 12


def chi2(P, Q):
    s = P + Q
    return np.where(s > 0, (P - Q) ** 2 / np.where(s > 0, s, 1), 0).sum(axis=-1)


d = chi2(hist[k:-k], (hist[:-2 * k] + hist[2 * k:]) / 2)  # (frames - 2k, blocks)
F = np.sort(d, axis=1)[:, -top:].mean(axis=1)              # frames k .. n-k-1

# %% [markdown]
# **Step 3: contrast.** A long movement (the macro-expression, a head turn) raises `F`
# for a long time. Subtracting the average of `F` at `i - k` and `i + k` keeps short
# bursts and flattens long plateaus; negative values are set to 0:
# `C(i) = max(0, F(i) - (F(i - k) + F(i + k)) / 2)`.

# %%
C = np.maximum(F[k:-k] - (F[:-2 * k] + F[2 * k:]) / 2, 0)   # frames 2k .. n-2k-1
contrast = feature_difference(video, k=k, top=top)
print("same as mer_lab:", np.allclose(C, contrast.values[2 * k:-2 * k]))

# %% [markdown]
# Before thresholding, look at the curves. The top panel is `F`, the bottom one `C`, with
# the annotated intervals as bands. Disappointing: both look like noise, and the
# micro-expressions do not stand out. The reason is the texture of smooth skin. In a
# flat region neighbouring pixels differ by less than the sensor noise (a grey level or
# two), so many LBP bits are coin flips and every block's histogram flickers from frame
# to frame whatever the face does.

# %%
x = hv.Dimension("frame", label="frame number")


def curve_panel(values, label, title, *extras):
    """A curve over the frames with the annotated bands (and extra elements on top)."""
    line = hv.Curve((frames_no, values), x, hv.Dimension("value", label=label)).opts(color="black")
    return hv.Overlay([*bands(truth), line, *extras]).opts(frame_width=640, frame_height=150, title=title,
                                                            xlabel="frame number", ylabel=label)


(curve_panel(contrast["difference"].values, "F", "feature difference F (no smoothing)")
 + curve_panel(contrast.values, "C", "contrast C (no smoothing)")).cols(1)

# %% [markdown]
# **Step 3b: smooth first.** A Gaussian blur of the frames (standard deviation 1.5 px)
# before the LBP codes averages the noise away while keeping the shapes that move. The
# paper has no such step; mer_lab offers it as `smooth=`. Compare the new contrast with
# the old one: the micro-expressions (green) now rise above most of the background.

# %%
SMOOTH = 1.5
smoothed = feature_difference(video, k=k, top=top, smooth=SMOOTH)

# %% [markdown]
# **Step 4: threshold.** Peaks of `C` above `T = mean(C) + p (max(C) - mean(C))` are the
# spotted movements, each the interval `[peak - k, peak + k]`. `p = 0` puts the threshold
# at the mean, `p = 1` at the highest peak. In the figure: the threshold for `p = 0.5`
# (dashed) and the spotted intervals (blue bars under the curve). Which peaks hit a
# micro-expression, and what are the others? In the synthetic video, compare them with
# the blinks of section 1: a blink is a short, local movement that comes and goes, just
# what the method looks for, and it is spotted as readily as an expression.

# %%
P = 0.5
spots = intervals_from_curve(smoothed, p=P)
height = np.nanmax(smoothed.values)
marks = hv.Rectangles([(r.onset, -0.06 * height, r.offset, -0.02 * height) for r in spots.itertuples()])
curve_panel(smoothed.values, "C", f"contrast C, smooth={SMOOTH}: threshold p={P} (dashed), spotted (blue)",
            hv.HLine(threshold(smoothed, p=P)).opts(color="red", line_dash="dashed"),
            marks.opts(color="steelblue", line_width=0))

# %% [markdown]
# ## 3. 3-D FFT: energy at high frequencies
#
# The second method looks at the video as a signal. Take the `W` frames around frame `i`
# (about twice a micro-expression: `W = 61` at 100 fps), cut them into the same 6x6
# blocks, and transform each block's little volume (time, y, x) with a 3-D FFT. Low
# frequencies hold the smooth shading of the face and slow changes; a fast, fine
# movement puts energy at high frequencies. Remove every frequency within a radius
# `cutoff = 0.1` of the origin (an ideal high-pass filter) and add up what is left.
#
# mer_lab makes two choices the paper leaves open (documented in `fft_energy`): each
# pixel's mean over the window is removed first (a still face has a lot of fine texture,
# which would swamp the change), and the frames are weighted by a Hann taper, so the
# curve peaks when a movement is centred on frame `i`. From scratch for one frame:

# %%
W, cutoff, blocks = default_window(fps), 0.1, 6
frames = video.values.astype(np.float64)
bh, bw = frames.shape[1] // blocks, frames.shape[2] // blocks
y0, x0 = (frames.shape[1] - blocks * bh) // 2, (frames.shape[2] - blocks * bw) // 2
ft, fy, fx = np.meshgrid(np.fft.fftfreq(W), np.fft.fftfreq(bh), np.fft.fftfreq(bw), indexing="ij")
high = np.sqrt(ft**2 + fy**2 + fx**2) > cutoff
taper = np.hanning(W + 2)[1:-1]

# %%
def fft_energy_at(i):
    part = frames[i - W // 2:i + W // 2 + 1, y0:y0 + blocks * bh, x0:x0 + blocks * bw]
    part = (part - part.mean(axis=0)) * taper[:, None, None]
    cubes = part.reshape(W, blocks, bh, blocks, bw).transpose(1, 3, 0, 2, 4)   # (block row, block col, t, y, x)
    spectrum = np.abs(sfft.fftn(cubes, axes=(2, 3, 4), norm="ortho")) ** 2
    return (spectrum * high).sum() / part.size


# %% [markdown]
# mer_lab's `fft_energy` also rescales every frame to the clip's mean grey level first
# (`normalise=True`), so that flicker, which multiplies the fine texture too, does not
# count as movement; for the comparison we switch that off. mer_lab then gets the whole
# curve without one FFT per window, from products of the blocks' spatial spectra.

# %%
energy_raw = fft_energy(video, window=W, cutoff=cutoff, normalise=False)
probe = np.clip([int(truth["apex"].iloc[0] - frames_no[0]), 150, 400], W // 2, len(frames) - W // 2 - 1)
ours = np.array([fft_energy_at(i) for i in probe])
print("from scratch:", ours.round(4), "mer_lab:", energy_raw.values[probe].round(4),
      "same:", np.allclose(ours, energy_raw.values[probe], rtol=1e-4))

# %% [markdown]
# The energy curve with the normalisation on (the default). Its peaks are apex
# candidates; thresholded like the contrast, each peak gives an interval
# `[peak - k, peak + k]`. Notice the scale: the macro-expression's energy dwarfs
# everything else, and a threshold relative to the highest peak then leaves the
# micro-expressions below it.

# %%
energy = fft_energy(video)
curve_panel(energy.values, "high-frequency energy", f"3-D FFT energy, window {W} frames: threshold p={P} (dashed)",
            hv.HLine(threshold(energy, p=P)).opts(color="red", line_dash="dashed"))

# %% [markdown]
# ### Apex spotting in a cut clip
#
# The 3-D FFT was proposed for the easier task the thesis mentions: the clip is already
# cut (onset and offset known), find its apex. `fft_apex` searches the energy peak
# between onset and offset. On 18 clips of the synthetic corpus, against the annotated
# apex, and against the simplest guess there is, the middle of onset and offset:

# %%
clips = make_corpus(n_subjects=6, clips_per_subject=3, size=64, seed=0)
rows = []
for uid in clips.uids:
    cube = clips.cube(uid)
    rows.append({"uid": uid, "true": cube.attrs["apex"], "fft_apex": fft_apex(cube)[0],
                 "middle": (cube.attrs["onset"] + cube.attrs["offset"]) // 2})


# %%
apexes = pd.DataFrame(rows)
pd.DataFrame({guess: apex_error(apexes[guess], apexes["true"], fps=clips.samples["fps"].iloc[0])
              for guess in ("fft_apex", "middle")}).T

# %% [markdown]
# An honest result: on these clips the middle of the interval is the better guess. The
# synthetic apex always lies at 30-50 % of the expression, so the middle is never far,
# while the energy peak is pulled around by blinks and flicker inside the clip. On real
# data, where the apex position varies more, the comparison is worth repeating
# (exercise 3).

# %% [markdown]
# ## 4. Scoring: the MEGC interval metric
#
# A spotted interval is a **true positive** when its intersection over union (IoU) with
# an annotated interval is at least 0.5. Each annotated interval can be matched once;
# spotted intervals left over are **false positives**, annotated ones left over **false
# negatives**. Over a dataset, TP, FP and FN are summed over every video before recall
# TP/(TP+FN), precision TP/(TP+FP) and F1. Intervals are inclusive ranges of frames. From
# scratch, for the smoothed feature-difference spots above against the micro-expressions:

# %%
micro = truth[truth["type"] == "micro"].reset_index(drop=True)

# %%
def iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


# %%
pairs = pd.DataFrame([(i, j, iou((s.onset, s.offset), (t.onset, t.offset)))
                      for i, s in enumerate(spots.itertuples()) for j, t in enumerate(micro.itertuples())],
                     columns=["spotted", "truth", "iou"])
pairs[pairs["iou"] > 0].round(3)

# %% [markdown]
# When no spotted interval overlaps two annotated ones (as here), matching is simply
# "IoU >= 0.5"; mer_lab's `match_intervals` solves the general case as an assignment
# problem:

# %%
tp = int((pairs["iou"] >= 0.5).sum())
fp, fn = len(spots) - tp, len(micro) - tp
print(f"TP {tp}, FP {fp}, FN {fn}, recall {tp / len(micro):.2f}, precision {tp / max(len(spots), 1):.2f}")
{key: v for key, v in spotting_scores(spots, micro, fps=fps).items() if key != "matches"}

# %% [markdown]
# `spotting_scores` also reports the **apex error** of the true positives (how far the
# spotted peak is from the annotated apex, in frames and milliseconds), because a
# recognition stage downstream often needs the apex.
#
# ## 5. Try it: the threshold p
#
# The widget redraws the spotted intervals (blue) against the annotated ones (green:
# micro, orange: macro) for a method and a threshold `p`; the title gives TP, FP, FN and
# F1 against the micro-expressions. A low `p` spots everything, the expressions and a
# crowd of false alarms; a high `p` keeps only the strongest peak, often the
# macro-expression. There is no setting that finds the three micro-expressions and
# nothing else.

# %%
curves = {"feature difference (smoothed)": smoothed, "feature difference (paper)": contrast, "3-D FFT": energy}

# %%
def timeline(method, p):
    found = intervals_from_curve(curves[method], p=p)
    s = spotting_scores(found, micro)
    rows = [(r.onset, 1.1, r.offset, 1.9, "micro" if r.type == "micro" else "macro") for r in truth.itertuples()]
    rows += [(r.onset, 0.1, r.offset, 0.9, "spotted") for r in found.itertuples()]
    rects = hv.Rectangles(rows, kdims=[x, "y0", "x1", "y1"], vdims=["kind"])
    return rects.opts(color="kind", cmap={"micro": "green", "macro": "orange", "spotted": "steelblue"},
                      frame_width=640, frame_height=120, yticks=[(0.5, "spotted"), (1.5, "annotated")],
                      legend_position="right",
                      ylabel="", xlim=(frames_no[0], frames_no[-1]), tools=["hover"],
                      title=f"{method}, p={p:.2f}: TP {s['tp']}, FP {s['fp']}, FN {s['fn']}, F1 {s['f1']:.2f}")


widgets.interact(timeline, method=widgets.Dropdown(options=list(curves)),
                 p=widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="threshold p"));

# %% [markdown]
# ## 6. Over several videos
#
# One video is an anecdote. The MEGC way is to sum TP, FP and FN over a collection. The
# curves are computed once per video, then thresholded for a range of `p`:

# %%
SPOTTERS = {"feature difference (paper)": lambda v: feature_difference(v),
            "feature difference (smoothed)": lambda v: feature_difference(v, smooth=SMOOTH),
            "3-D FFT": lambda v: fft_energy(v)}
all_curves = {method: {n: spotter(v) for n, v, _ in videos} for method, spotter in SPOTTERS.items()}
micro_truth = {n: t[t["type"] == "micro"] for n, _, t in videos}

# %%
rows = []
for p in np.round(np.arange(0.0, 1.01, 0.1), 2):
    for method, by_video in all_curves.items():
        s = spotting_scores({n: intervals_from_curve(c, p=p) for n, c in by_video.items()}, micro_truth)
        rows.append({"method": method, "p": p, **{m: s[m] for m in ("tp", "fp", "fn", "precision", "recall", "f1")}})


# %%
sweep = pd.DataFrame(rows)
sweep[sweep["p"].isin([0.2, 0.5, 0.8])].round(3)

# %% [markdown]
# Precision, recall and F1 against `p`, summed over the videos. Read each panel from
# left to right: recall starts high and falls as the threshold rises, precision rises.
# The paper's feature difference (left) never gets precision off the floor: its noise
# peaks outnumber the expressions at every threshold. Smoothing (middle) changes that,
# and F1 reaches its best in the middle of the range. The 3-D FFT (right) finds about
# half of the micro-expressions only with the threshold at the mean (`p = 0`); above
# that, the macro-expression's peaks set the scale and the micro-expressions fall below.
# Even the best setting here misses expressions and raises false alarms; spotting is the
# least solved part of the pipeline, and challenge baselines on real long videos score
# lower still.

# %%
def sweep_panel(method):
    part = sweep[sweep["method"] == method]
    lines = [hv.Curve(part, hv.Dimension("p", label="threshold p"), (m, "score"), label=m)
             for m in ("precision", "recall", "f1")]
    return hv.Overlay(lines).opts(frame_width=220, frame_height=200, ylim=(0, 1), legend_position="top_right",
                                  title=method, ylabel="score (summed over videos)")


hv.Layout([sweep_panel(method) for method in SPOTTERS]).opts(shared_axes=False)

# %% [markdown]
# ## Summary
#
# - Spotting finds *when* an expression happens in a long video, among blinks, head
#   motion, flicker and macro-expressions.
# - Feature difference: block LBP histograms, chi-squared distance of frame `i` to the
#   average of frames `i ± k`, the top third of the blocks, a contrast against `F(i ± k)`,
#   and a threshold `T = mean + p (max - mean)`; each peak gives `[peak - k, peak + k]`.
#   On small, noisy faces the LBP histograms flicker; a slight blur first (`smooth=`)
#   makes the difference between noise and signal.
# - 3-D FFT: the high-pass energy of block volumes around each frame; its peak is an apex
#   candidate. In a cut clip on the synthetic corpus, the middle of onset and offset is
#   a better apex guess.
# - MEGC scoring: IoU >= 0.5 makes a hit; TP, FP, FN summed over videos, then precision,
#   recall, F1, and the apex error of the hits.
# - No threshold separates the micro-expressions from everything else on these videos:
#   spotting remains hard, which is why recognition datasets are cut by hand.
#
# ## Exercises
#
# 1. Rerun with `difficulty=0` in `SETTINGS` (no blinks, drift, flicker or noise). Which
#    false positives of feature difference disappear, and which stay? *Hint: the
#    macro-expression and each expression's onset and offset remain; look at
#    `intervals_from_curve(contrast, p=0.5)` against `truth`.*
# 2. How much smoothing is best? Rerun the sweep with `SMOOTH = 1.0` and `2.5`, and with
#    `difficulty="default"` videos (more noise). *Hint: the best `smooth` grows with the
#    noise; too much blur also erases the smallest movements.*
# 3. Make the apex harder to guess: draw clips whose apex sits at various positions,
#    or use a real dataset's clips (`load("casme2")`), and compare `fft_apex` with the
#    middle guess again. *Hint: `apex_error(...)` on `corpus.samples["apex"]`.*
# 4. The 3-D FFT threshold is set by the macro-expression. Score the 3-D FFT against
#    *all* annotated intervals (micro and macro), or make videos with `macro=0`. How do
#    its precision and recall change? *Hint: `spotting_scores(found, truth)` instead of
#    `micro`.*
