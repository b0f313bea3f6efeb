# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Optical flow: measuring the motion itself
#
# LBP-TOP (chapter 5) describes how texture patterns change and leaves it to the
# classifier to find the motion in them. **Optical flow** measures the motion directly:
# for every pixel of one frame, how far (in pixels, horizontally and vertically) it moved
# in the next. A micro-expression is a motion, so its flow is a natural description: the
# brows go up in surprise, the lip corners out and up in happiness.
#
# Flow is also the basis of the strongest hand-crafted ME features: HOOF, MDMO and its
# sparse version, Bi-WOOF and FDM, which differ in *where* they pool the flow (the whole
# face, blocks, 36 facial regions) and *how* (histograms, main directions, sparse codes).
# In this chapter you will
#
# 1. derive the flow equation from brightness constancy and solve it with Lucas-Kanade
#    in a few lines of numpy, on an image moved by a known amount;
# 2. compare the flow engines of mer_lab against the synthetic corpus's true motion;
# 3. draw the thesis's Figure 3 (flow magnitude over a clip) and Figure 4 (average motion
#    per emotion);
# 4. build optical strain, HOOF, Bi-WOOF, MDMO, Sparse MDMO and FDM from the flow, each
#    first from scratch and then with `mer_lab`.
#
# Conventions (the whole library follows them): a flow is an array `(2, H, W)`; component
# 0 is `u`, horizontal, positive to the **right**; component 1 is `v`, vertical, positive
# **down** (image rows); both in pixels, from the earlier frame to the later one:
# `frame0(y, x) ≈ frame1(y + v, x + u)`.

# %%
import time
from functools import lru_cache

import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import display
from scipy import ndimage as ndi

from mer_lab import viz
from mer_lab.compare import class_average_apex_flow
from mer_lab.cube import key_frames, to_grey
from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.features import apex as apex_curve, biwoof, fdm, flow, hoof, mdmo, rois
from mer_lab.features.sparse_mdmo import SparseMDMOFromFrames, mdmo_atoms
from mer_lab.preprocess.face import crop_face

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as found, e.g. "casme2"
ENGINE = "farneback"   # flow engine for the features; "tvl1" is the thesis's standard (slower)

# %% [markdown]
# A small corpus: 4 subjects, 5 clips each (one of each CASME II class), 96x96 frames.
# With a licensed dataset we take its first 4 subjects and shrink the frames to `SIZE`
# (a real pipeline would crop and align the face first, chapter 2).

# %%
SIZE = 96
if DATASET == "synthetic":
    corpus = make_corpus(n_subjects=4, clips_per_subject=5, size=SIZE, seed=0)
else:
    full = load(DATASET)
    corpus = full.filter(subject=list(full.samples["subject"].unique()[:4]))
corpus


# %%
def prepare(cube):
    """Grey frames of SIZE x SIZE pixels (the synthetic clips already are)."""
    cube = to_grey(cube) if "channel" in cube.dims else cube
    if (cube.sizes["y"], cube.sizes["x"]) != (SIZE, SIZE):
        cube = crop_face(cube, box=(0, 0, cube.sizes["x"], cube.sizes["y"]), margin=0, size=SIZE)
    return cube


# %%
AXES = {"x": "x (px)", "y": "y (px)", "u": "u (px)", "v": "v (px)"}


def image(arr, title, *, cmap="viridis", clabel="value", width=240, clim=None):
    """A 2-D array as an image, row 0 at the top, axes in pixels."""
    n_rows, n_cols = np.shape(arr)
    img = hv.Image(np.asarray(arr, float)[::-1], bounds=(-0.5, -0.5, n_cols - 0.5, n_rows - 0.5),
                   kdims=["x", "y"], vdims=[clabel])
    return img.opts(cmap=cmap, colorbar=True, invert_yaxis=True, title=title, xlabel=AXES["x"], ylabel=AXES["y"],
                    frame_width=width, frame_height=int(width * n_rows / n_cols), tools=["hover"],
                    **({"clim": clim} if clim else {}))


# %% [markdown]
# ## 1. Brightness constancy and Lucas-Kanade
#
# Suppose a point keeps its brightness while it moves from `(x, y)` at time `t` to
# `(x + Δx, y + Δy)` at `t + Δt` (thesis eq. 1):
#
# $$I(x, y, t) = I(x + \Delta x, y + \Delta y, t + \Delta t).$$
#
# For a small motion, a first-order Taylor expansion of the right-hand side turns this
# into one linear equation per pixel (thesis eq. 2), with the velocity `(V_x, V_y)`, i.e.
# the flow `(u, v)` between two frames:
#
# $$\frac{\partial I}{\partial x} u + \frac{\partial I}{\partial y} v + \frac{\partial I}{\partial t} = 0.$$
#
# One equation, two unknowns: a single pixel only tells you the motion *along its
# gradient*. Lucas and Kanade assume that all pixels of a small window share one motion,
# which gives an over-determined linear system, solved by least squares.
#
# Our test image is a smooth random texture, moved by a known amount with sub-pixel
# interpolation: 0.6 px right and 0.3 px up, so the true flow is `u = 0.6`, `v = -0.3`.

# %%
rng = np.random.default_rng(0)
texture = ndi.gaussian_filter(rng.random((64, 64)), 2)
frame0 = 255 * (texture - texture.min()) / np.ptp(texture)
TRUE_U, TRUE_V = 0.6, -0.3
frame1 = ndi.shift(frame0, (TRUE_V, TRUE_U), mode="wrap")   # content moves by (v, u) = (rows, cols)

# %% [markdown]
# The three derivatives: spatial gradients of the first frame, and the temporal
# difference between the frames.

# %%
Iy, Ix = np.gradient(frame0)      # numpy returns d/d(rows) first
It = frame1 - frame0

# %% [markdown]
# Each pixel's equation is a straight line in the `(u, v)` plane: every motion on it
# explains that pixel's change. The figure draws the lines of 12 pixels of a 15x15 window.
# They do not all cross at one point (noise, and the linearisation is only approximate),
# but they crowd around the truth (black cross). The least-squares solution of the window
# (red dot) is the point closest to all of them.

# %%
window = (slice(25, 40), slice(25, 40))
A = np.column_stack([Ix[window].ravel(), Iy[window].ravel()])     # (225, 2)
b = -It[window].ravel()
(u_hat, v_hat), *_ = np.linalg.lstsq(A, b, rcond=None)
print(f"least squares: u = {u_hat:.3f}, v = {v_hat:.3f}  (truth {TRUE_U}, {TRUE_V})")

# %%
us = np.linspace(-0.5, 1.5, 2)
picked = rng.choice(len(b), 12, replace=False)
lines = [hv.Curve((us, (b[i] - A[i, 0] * us) / A[i, 1]), "u", "v").opts(color="gray", alpha=0.6)
         for i in picked if abs(A[i, 1]) > 1e-6]
marks = (hv.Scatter([(u_hat, v_hat)], "u", "v").opts(size=12, color="red")
         * hv.Scatter([(TRUE_U, TRUE_V)], "u", "v").opts(marker="x", size=18, color="black", line_width=3))
hv.Overlay(lines + [marks]).opts(xlim=(-0.5, 1.5), ylim=(-1.3, 0.7), frame_width=340, frame_height=340,
                                 xlabel=AXES["u"], ylabel=AXES["v"], title="One line per pixel: I_x u + I_y v = -I_t")

# %% [markdown]
# ### Every pixel at once
#
# The least-squares solution solves the 2x2 *normal equations*
# `[[ΣIx², ΣIxIy], [ΣIxIy, ΣIy²]] (u, v) = -(ΣIxIt, ΣIyIt)`, sums over the window. A box
# filter computes the window sums around every pixel in one pass, and Cramer's rule
# solves all the 2x2 systems together:

# %%
def lucas_kanade(frame0, frame1, window=15):
    """One-step dense Lucas-Kanade: (2, H, W) flow (u, v)."""
    iy, ix = np.gradient(frame0)
    it = frame1 - frame0
    s = lambda img: ndi.uniform_filter(img, window, mode="reflect")      # window sums / window**2
    sxx, syy, sxy, sxt, syt = s(ix * ix), s(iy * iy), s(ix * iy), s(ix * it), s(iy * it)
    det = sxx * syy - sxy ** 2
    return np.stack([(-syy * sxt + sxy * syt) / det, (sxy * sxt - sxx * syt) / det])


# %%
mine = lucas_kanade(frame0, frame1)
theirs = flow.lucas_kanade(frame0, frame1, window=15, iterations=1)
inner = (slice(None), slice(8, -8), slice(8, -8))     # away from the wrapped border
print("median (u, v):", np.median(mine[inner], axis=(1, 2)).round(3))
print("largest difference to mer_lab:", float(np.abs(mine[inner] - theirs[inner]).max().round(4)), "px")

# %% [markdown]
# ### Where it fails: the aperture problem and large motions
#
# On a texture of vertical stripes every gradient points the same way. Then the window's
# 2x2 matrix is (nearly) singular: one eigenvalue is zero, and the motion *along* the
# stripes cannot be seen. This is the **aperture problem**; mer_lab's `lucas_kanade`
# returns zero flow where the smaller eigenvalue is too small.

# %%
stripes = np.tile(np.sin(np.arange(64) / 2.0), (64, 1)) * 100 + 128
for name, img in (("random texture", frame0), ("vertical stripes", stripes)):
    gy, gx = np.gradient(img)
    tensor = [[np.sum(gx * gx), np.sum(gx * gy)], [np.sum(gx * gy), np.sum(gy * gy)]]
    print(f"{name:17s} eigenvalues of the structure tensor: {np.linalg.eigvalsh(tensor).round(0)}")

# %% [markdown]
# The Taylor expansion also assumes a *small* motion. The figure moves the texture by
# 0.3 to 4.5 px (right and up, twice as far right as up) and measures the mean error of
# the flow (the **end-point error**, EPE: the length of the difference between the
# estimated and the true vector). One-step Lucas-Kanade is accurate below about a pixel
# and falls apart beyond; the engines mer_lab wraps work on image pyramids (coarse to
# fine), so larger motions stay small at the coarse levels. MEs move a pixel or two:
# right at the edge of what a one-step method can do.

# %%
def epe(estimate, u, v):
    """Mean end-point error (px) away from the wrapped border."""
    return float(np.hypot(estimate[0] - u, estimate[1] - v)[8:-8, 8:-8].mean())


# %%
methods = {"Lucas-Kanade, one step": lambda a, b: lucas_kanade(a, b),
           "Farneback": lambda a, b: flow.optical_flow(a, b, engine="farneback"),
           "DIS": lambda a, b: flow.optical_flow(a, b, engine="dis"),
           "TV-L1": lambda a, b: flow.optical_flow(a, b, engine="tvl1")}

# %%
shifts = [0.25, 0.5, 1, 1.5, 2, 3, 4]                      # to the right; half as much upwards
errors = [(name, np.hypot(s, s / 2), epe(f(frame0, ndi.shift(frame0, (-s / 2, s), mode="wrap")), s, -s / 2))
          for name, f in methods.items() for s in shifts]

# %%
table = pd.DataFrame(errors, columns=["method", "shift", "EPE"])
hv.NdOverlay({name: hv.Curve(g, hv.Dimension("shift", label="length of the true motion (px)"),
                             hv.Dimension("EPE", label="mean end-point error (px)")).opts(line_width=2)
              * hv.Scatter(g, "shift", "EPE").opts(size=6)
              for name, g in table.groupby("method")}, kdims="method").opts(
    frame_width=520, frame_height=260, logy=True, legend_position="right",
    title="Flow error against the size of the motion")

# %% [markdown]
# ## 2. The engines against the truth
#
# `flow.optical_flow(frame0, frame1, engine=...)` hides each library's conventions (OpenCV
# returns `(H, W, 2)`, scikit-image `(v, u)`) behind the one convention above:
#
# | engine | method | note |
# |---|---|---|
# | `tvl1` | dual TV-L1 (OpenCV) | the de-facto standard of ME papers; slow |
# | `farneback` | polynomial expansion (OpenCV) | fast, smooth |
# | `dis` | dense inverse search (OpenCV) | the fastest |
# | `tvl1_skimage` | TV-L1 in numpy (scikit-image) | |
# | `ilk` | iterative Lucas-Kanade (scikit-image) | |
# | `lucas_kanade` | mer_lab's teaching solver (3 steps) | |
#
# The synthetic corpus knows the true motion from onset to apex (`flow_apex` in the
# ground truth: expression plus head drift). We compare every engine on three clips: mean
# EPE over the whole frame, EPE where the face really moves more than 0.25 px, and time
# per frame pair. A "zero flow" row gives the scale: the error of guessing no motion.

# %%
test_uids = corpus.uids[:3]
clips = {u: prepare(corpus.cube(u)) for u in test_uids}
truth = {u: corpus.ground_truth(u)["flow_apex"].values for u in test_uids} if corpus.has_ground_truth else None


def onset_apex(cube):
    k = key_frames(cube)
    return cube.values[k["onset"]], cube.values[k["apex"]]


# %%
rows = []
for engine in flow.ENGINES:
    for u in test_uids:
        start = time.perf_counter()
        f = flow.optical_flow(*onset_apex(clips[u]), engine=engine)
        row = {"engine": engine, "ms per pair": 1000 * (time.perf_counter() - start)}
        if truth is not None:
            moving = np.hypot(*truth[u]) > 0.25
            err = np.hypot(*(f - truth[u]))
            row.update({"EPE (px)": err.mean(), "EPE where moving (px)": err[moving].mean()})
        rows.append(row)

# %%
if truth is not None:
    rows += [{"engine": "zero flow", "ms per pair": 0.0, "EPE (px)": np.hypot(*truth[u]).mean(),
              "EPE where moving (px)": np.hypot(*truth[u])[np.hypot(*truth[u]) > 0.25].mean()} for u in test_uids]

# %%
engines = pd.DataFrame(rows).groupby("engine", sort=False).mean().round(3)
engines

# %% [markdown]
# The numbers are sobering. Over the whole frame, answering "nothing moved" (the zero
# flow row) is hard to beat: most pixels do not move, and every engine reports a little
# motion there. Where the face does move (last column), the better engines cut the
# error of "zero flow" by a fraction, and none gets close to the truth: an ME's pixel or
# two of motion sits near the noise floor of flow estimation. That is why ME features pool flow over blocks or regions instead of reading
# single pixels. TV-L1 costs hundreds of milliseconds per pair (times every frame of every
# clip); Farneback and DIS a few milliseconds. (Timings on a shared machine are only
# indicative.)
#
# Now look at the fields themselves. Pick an engine and a clip in the two menus: the left
# panels show direction as colour (key below: red = right, and round the wheel) with
# arrows, the right panels the magnitude. The top row is the engine's estimate, the
# bottom row the truth (synthetic corpus only). Both rows share one magnitude scale.

# %%
viz.flow_colour_wheel()


# %% [markdown]
# `flow_panels` computes the panels of one (engine, clip) choice; flows are cached on disk
# by `flow_pair` (asked for with `cache=True`: mer_lab's functions write nothing to disk
# unless told to), and the panels in memory, so going back to a choice is instant.

# %%
@lru_cache(maxsize=64)
def flow_panels(engine, sample):
    cube = prepare(corpus.cube(sample))
    estimate = flow.flow_pair(cube, engine=engine, cache=True)   # onset -> apex
    true_flow = corpus.ground_truth(sample)["flow_apex"] if corpus.has_ground_truth else None
    top = max(float(np.hypot(*f.values).max()) for f in (estimate, true_flow) if f is not None)
    panels = viz.flow_field(estimate, max_magnitude=top, title=engine, width=260).values()
    if true_flow is not None:
        panels += viz.flow_field(true_flow, max_magnitude=top, title="truth", width=260).values()
    return panels


# %% [markdown]
# Each panel is a HoloViews `DynamicMap` fed by one stream; the two ipywidgets menus send
# their values to that stream, and every panel redraws itself.

# %%
choice = hv.streams.Stream.define("Choice", engine=ENGINE, sample=corpus.uids[0])()
menus = [widgets.Dropdown(options=list(flow.ENGINES), value=ENGINE, description="engine"),
         widgets.Dropdown(options=corpus.uids, value=corpus.uids[0], description="sample")]
for menu in menus:
    menu.observe(lambda change: choice.event(engine=menus[0].value, sample=menus[1].value), "value")
n_panels = len(flow_panels(ENGINE, corpus.uids[0]))
maps = [hv.DynamicMap(lambda engine, sample, i=i: flow_panels(engine, sample)[i], streams=[choice])
        for i in range(n_panels)]

# %%
display(widgets.HBox(menus))
hv.Layout(maps).cols(2)

# %% [markdown]
# Notice how much of the picture is *head motion*: the synthetic faces drift and turn a
# little, like real participants, and that rigid motion is often as large as the
# expression. Every ME feature below removes it first (an affine motion fitted to the
# flow, or to stable landmarks, is subtracted: `flow.remove_global_motion`).

# %% [markdown]
# ## 3. The flow of a whole clip (thesis Figure 3)
#
# Figure 3 of the thesis computes the flow from the first frame to every frame of a
# surprise clip and shows that its magnitude peaks near the apex. `apex.flow_magnitude_curve`
# gives that curve (mean magnitude per frame, from the onset), and `viz.magnitude_over_time`
# draws it with the onset, apex and offset marked. Left: raw flow. Right: after removing
# the head motion (`align="affine"`).

# %%
labels = corpus.samples["label"]
uid = labels.index[labels.eq("surprise")][0] if labels.eq("surprise").any() else corpus.uids[0]
cube = prepare(corpus.cube(uid))
curves = {align: apex_curve.flow_magnitude_curve(cube, reference="onset", span="clip", align=align, engine=ENGINE)
          for align in ("none", "affine")}

# %%
peak = int(curves["affine"]["frame"].values[np.argmax(curves["affine"].values)])
print(f"{cube.attrs.get('sample')}: aligned curve peaks at frame {peak}; annotated apex {cube.attrs.get('apex')}")
(viz.magnitude_over_time(curves["none"], title="raw flow", width=330)
 + viz.magnitude_over_time(curves["affine"], title="head motion removed", width=330)).opts(shared_axes=False)

# %% [markdown]
# Without alignment the curve keeps climbing after the offset: the head drifts further
# and further from where it was at the onset, and that drift outweighs the expression.
# Once the affine head motion is removed, the curve rises from the onset, peaks near the
# apex and falls back towards the offset, as in the thesis. It never falls to zero away
# from the onset: the engine reports some motion between any two noisy frames, and a mean
# over the whole frame dilutes an expression that covers a small part of it. (The `apex`
# module uses such curves to estimate the apex of clips that lack one, such as SMIC's.)
#
# The panels of Figure 3 are the magnitude maps themselves: every 5th frame of the
# expression, flow from its first frame, head motion removed, one colour scale.

# %%
k = key_frames(cube)
expression = cube.isel(time=slice(k["onset"], k["offset"] + 1))
sequence = flow.remove_global_motion(flow.flow_sequence(expression, reference="first", engine=ENGINE))
viz.magnitude_frames(sequence, every=5, cols=5, width=140)

# %% [markdown]
# ## 4. What each emotion moves (thesis Figure 4)
#
# Average the onset-to-apex flow magnitude over all clips of a class and you see which
# parts of the face that emotion moves. `compare.class_average_apex_flow` (it also draws
# the dashboard's class averages) first maps every clip onto a common face shape (a
# similarity transform between its landmarks and the mean shape, when landmarks are
# known) so that brows land on brows; `n` in each title is
# the number of clips averaged.

# %%
averages = class_average_apex_flow(corpus, engine=ENGINE, cache=True)
viz.class_average_maps(averages, cols=3, width=200)

# %% [markdown]
# With only 4 clips per class the maps are noisy, but the action units of the synthetic
# corpus show through: surprise lifts the brows (AU1+2), happiness raises the cheeks under
# the eyes and pulls the lip corners (AU6+12), disgust works around the nose and upper lip
# (AU9/10), repression around the mouth and chin (AU14/15/17); "others" mixes whatever its
# clips happened to do. The faint outline of the head in every panel is head motion, not
# removed here (the thesis notes the same in its CASME II figure).
#
# If the *eyes* light up in a panel, suspect blinks, one of the corpus's distractors (as in
# real recordings): closing eyelids move far more than an ME, and one blink outweighs
# three faint expressions in a mean of four. The ground truth records the eyelid closure
# of every frame; these clips have their eyes (half) shut at the apex:

# %%
def closure_at_apex(uid):
    truth = corpus.ground_truth(uid)
    return float(truth["blink"].where(truth["frame"] == truth.attrs["apex"], drop=True).max())


if corpus.has_ground_truth:
    blinking = pd.Series({u: closure_at_apex(u) for u in corpus.uids}, name="eyelid closure at apex")
    display(pd.concat([corpus.samples["label"], blinking], axis=1)[blinking > 0.5])

# %% [markdown]
# ## 5. Optical strain
#
# Flow says how far each pixel moved; **optical strain** says how much the skin was
# *stretched or squeezed*. It is built from the flow's derivatives:
# `e_xx = ∂u/∂x`, `e_yy = ∂v/∂y`, `e_xy = (∂u/∂y + ∂v/∂x) / 2`, and the strain magnitude
# is `sqrt(e_xx² + e_yy² + 2 e_xy²)`. A rigid translation of the head has zero
# derivatives, hence zero strain, while a moving brow stretches the skin around it. (A
# common slip squares the two shear terms separately; the shear term is the square of
# their *sum*.)

# %%
onset_to_apex = flow.flow_pair(cube, engine=ENGINE)
u, v = onset_to_apex.values
du_dy, du_dx = np.gradient(u)
dv_dy, dv_dx = np.gradient(v)
strain = np.sqrt(du_dx ** 2 + dv_dy ** 2 + 2 * (0.5 * (du_dy + dv_dx)) ** 2)
print("same as mer_lab:", np.allclose(strain, flow.optical_strain(onset_to_apex.values), atol=1e-5))

# %% [markdown]
# Compare the two maps: the magnitude (left) includes the drift of the whole head; the
# strain (right) ignores rigid motion and lights up at the borders of the moving regions,
# where the skin is stretched or squeezed, along with some engine noise.

# %%
(image(np.hypot(u, v), "flow magnitude, onset -> apex", cmap="magma", clabel="magnitude (px)")
 + image(strain, "optical strain", cmap="magma", clabel="strain (px/px)"))

# %% [markdown]
# ## 6. HOOF: a histogram of flow directions
#
# A histogram of oriented optical flow (HOOF) sorts the flow vectors by direction and adds
# up their magnitudes per bin, then normalises. With 4 bins centred on the axes (the
# thesis's example) it says how much of the motion goes right, down, left and up.
# Remember that `v` grows downwards, so angles turn clockwise on the screen.

# %%
aligned = flow.remove_global_motion(onset_to_apex.values)
angle = np.arctan2(aligned[1], aligned[0])                         # 0 = right, pi/2 = down
which = np.floor(((angle + np.pi / 4) % (2 * np.pi)) / (np.pi / 2)).astype(int)
votes = np.bincount(which.ravel(), weights=np.hypot(*aligned).ravel(), minlength=4)
dict(zip(["right", "down", "left", "up"], (votes / votes.sum()).round(3)))

# %%
hoof.hoof(aligned, bins=4, centred=True).round(3)

# %% [markdown]
# Now 8 bins, one clip per class, head motion removed (`align="affine"`). Each group of
# bars is one class (bins numbered clockwise from "right"); look for the dominant
# direction. Surprise should go up (the brows). A clip that points *down* against its
# action units is worth checking against the blink table of section 4: closing eyelids
# move down, and they outweigh a faint expression. Flow features see every motion, wanted
# or not. A single whole-face histogram also mixes the opposite motions of the two halves
# of the face (one lip corner goes left, the other right), one reason why MDMO and
# Bi-WOOF pool over regions instead.

# %%
one_per_class = corpus.samples.reset_index().groupby("label")["uid"].first()
names = [f"{i + 1} {name}" for i, name in enumerate(hoof.hoof_bin_names(8, centred=True))]
bars = [(label, name, value) for label, u_id in one_per_class.items()
        for name, value in zip(names, hoof.hoof(prepare(corpus.cube(u_id)), bins=8, centred=True,
                                                align="affine", engine=ENGINE))]

# %%
hv.Bars(bars, kdims=["class", hv.Dimension("direction")],
        vdims=[hv.Dimension("share", label="share of the flow magnitude")]).opts(
    multi_level=True, frame_width=720, frame_height=240, xrotation=90, tools=["hover"],
    title="HOOF (8 bins) of the onset -> apex flow, one clip per class")

# %% [markdown]
# ## 7. Bi-WOOF: two frames, two weights
#
# Bi-WOOF (Liong et al. 2018) keeps only the onset and the apex frame. It cuts the face
# into blocks (5x5 for CASME II), builds an 8-bin direction histogram per block with
# magnitude-weighted votes (*local* weights) and normalises it, then multiplies each
# block's histogram by the block's total optical strain (*global* weight), so that blocks
# where the skin really deforms count more than blocks of small, noisy motion. From
# scratch, on the aligned onset -> apex flow:

# %%
rows_, cols_, n_bins = 5, 5, 8
H, W = aligned.shape[1:]
block = ((np.arange(H) * rows_) // H)[:, None] * cols_ + ((np.arange(W) * cols_) // W)[None, :]
direction = np.minimum(((np.arctan2(aligned[1], aligned[0]) + np.pi) // (2 * np.pi / n_bins)).astype(int), n_bins - 1)
local = np.bincount((block * n_bins + direction).ravel(), weights=np.hypot(*aligned).ravel(),
                    minlength=rows_ * cols_ * n_bins).reshape(rows_ * cols_, n_bins)
local /= local.sum(axis=1, keepdims=True)

# %%
strain_aligned = flow.optical_strain(aligned)
weight = np.bincount(block.ravel(), weights=strain_aligned.ravel(), minlength=rows_ * cols_)
feature = (local * weight[:, None]).ravel()
feature /= feature.sum()
print(feature.size, "features; same as mer_lab:", np.allclose(feature, biwoof.biwoof(aligned, blocks=(5, 5))))

# %% [markdown]
# The global weights, block by block, next to the strain map they come from: blocks where
# the face deforms weigh two or three times more than still ones.

# %%
weights_img = hv.Image((weight.reshape(rows_, cols_) / weight.sum())[::-1], bounds=(-0.5, -0.5, cols_ - 0.5, rows_ - 0.5),
                       kdims=["block column", "block row"], vdims=["share of the strain"])
(image(strain_aligned, "optical strain (head motion removed)", cmap="magma", clabel="strain (px/px)")
 + weights_img.opts(cmap="magma", colorbar=True, invert_yaxis=True, frame_width=240, frame_height=240,
                    tools=["hover"], title="Bi-WOOF global weight of each block"))

# %% [markdown]
# ## 8. MDMO: one main direction per facial region
#
# MDMO (Liu et al. 2016) replaces rectangular blocks by **36 regions of interest (ROIs)**
# shaped by facial landmarks, each covering the skin moved by at least one action unit
# (the eyes and the red of the lips are left out). mer_lab rebuilds them on the 68-point
# landmarks; white dots are the 13 stable points used to remove head motion.

# %%
landmarks = rois.corpus_landmarks(corpus) if corpus.has_ground_truth else "detect"
first_landmarks = rois.clip_landmarks(cube, landmarks)          # (68, 2) on the first frame
picture = rois.draw_rois(cube.values[0], first_landmarks, scale=4)
hv.RGB(picture[::-1], bounds=(-0.5, -0.5, SIZE - 0.5, SIZE - 0.5)).opts(
    frame_width=420, frame_height=420, invert_yaxis=True, xlabel=AXES["x"], ylabel=AXES["y"],
    title="The 36 MDMO regions over the first frame")

# %% [markdown]
# Per ROI and frame, MDMO takes an 8-bin histogram of the flow directions (bins centred
# on the canonical directions: bin 0 covers -22.5° to 22.5°, so a pure motion to the right,
# down, left or up lands in the middle of one bin), finds the bin
# that holds the **most vectors** (the main direction) and keeps the mean of the vectors
# in that bin: a magnitude `rho` and an angle `theta`. From scratch for one ROI, on the
# flow from the first frame to the apex with head motion removed (MDMO fits it on the 13
# stable landmarks):

# %%
first_to_apex = flow.flow_pair(cube, start="first", end="apex", engine=ENGINE).values
aligned_apex, _ = mdmo.align_flow(first_to_apex, first_landmarks)
masks = rois.roi_masks(first_landmarks, aligned_apex.shape[1:])

# %%
k_roi = rois.ROI_NAMES.index("inner_brow_R")
du, dv = aligned_apex[0][masks[k_roi]], aligned_apex[1][masks[k_roi]]
theta = np.mod(np.arctan2(dv, du), 2 * np.pi)
bins = (np.mod(theta + np.pi / 8, 2 * np.pi) // (np.pi / 4)).astype(int) % 8
main = np.bincount(bins, minlength=8).argmax()
in_main = bins == main
rho_mine = np.hypot(du, dv)[in_main].mean()
theta_mine = np.mod(np.arctan2(np.sin(theta[in_main]).sum(), np.cos(theta[in_main]).sum()), 2 * np.pi)

# %%
print(f"inner_brow_R: main bin {main}, rho = {rho_mine:.3f} px, theta = {np.degrees(theta_mine):.1f} deg")
print("mer_lab:", mdmo.main_directions(aligned_apex, masks)[0, k_roi].round(3))

# %% [markdown]
# (Angles are averaged on the circle, `atan2(Σ sin, Σ cos)`: a plain mean of 1° and 359°
# would give 180°.) The arrows below are the 36 main directions at the apex, drawn from
# each ROI's centre over the apex frame, their length proportional to `rho`.

# %%
main_dirs = mdmo.main_directions(aligned_apex, masks)[0]             # (36, 2): rho, theta
ys, xs = np.mgrid[0:SIZE, 0:SIZE]
centres = np.array([(xs[m].mean(), ys[m].mean()) for m in masks])
# HoloViews divides arrow lengths by `scale`: 1 / 12 makes the longest arrow 12 px
arrows = hv.VectorField((centres[:, 0], centres[:, 1], main_dirs[:, 1], main_dirs[:, 0] / main_dirs[:, 0].max()),
                        kdims=["x", "y"], vdims=["angle", "relative rho"]).opts(
    magnitude="relative rho", rescale_lengths=False, scale=1 / 12, color="red", line_width=2, pivot="tail")

# %%
apex_frame = image(cube.values[k["apex"]], "MDMO main directions at the apex", cmap="gray",
                   clabel="grey level", width=420).opts(colorbar=False)
apex_frame * arrows

# %% [markdown]
# Over the whole clip, `mdmo.mdmo_frames` gives the per-frame matrix `(frames, 36 ROIs,
# (rho, theta))`. The heat map shows `rho` for every ROI (rows) and frame (columns): the
# expression's ROIs light up between onset and offset.

# %%
frames_matrix = mdmo.mdmo_frames(cube, landmarks=landmarks, engine=ENGINE)
rho = frames_matrix.sel(quantity="rho")

# %%
hv.HeatMap([(int(f), r, float(val)) for f, row in zip(rho["frame"].values, rho.values)
            for r, val in zip(rois.ROI_NAMES, row)],
           kdims=[hv.Dimension("frame", label="frame number"), hv.Dimension("roi", label="ROI")],
           vdims=[hv.Dimension("rho", label="main-direction magnitude", unit="px")]).opts(
    cmap="magma", colorbar=True, frame_width=620, frame_height=460, tools=["hover"], invert_yaxis=True,
    title=f"MDMO per frame, {cube.attrs.get('sample')} (onset {cube.attrs.get('onset')}, "
          f"apex {cube.attrs.get('apex')}, offset {cube.attrs.get('offset')})")

# %% [markdown]
# The clip's MDMO vector averages the frames as vectors (`rho` weights each frame's angle),
# divides the magnitudes by their largest value, and interleaves magnitude and angle with
# the weight `lambda = 0.9` (thesis section 4.2). The paper keeps the angle as a number in
# [0, 2π): 72 numbers (`angle="linear"`). Then 1° and 359° lie at opposite ends of the
# range although they are nearly the same direction, so mer_lab's default writes each
# direction as its cosine and sine (`angle="circular"`, 108 numbers), which scored
# clearly higher in a LOSO test (docs/mdmo.md).

# %%
vector = mdmo.mdmo_pool(frames_matrix, lam=0.9, angle="linear")
circular = mdmo.mdmo_pool(frames_matrix, lam=0.9)
vector.shape, vector[:6].round(3), circular.shape

# %% [markdown]
# ## 9. Sparse MDMO: codes instead of an average
#
# Averaging frames throws away how the frames of a clip are arranged. Sparse MDMO (Liu,
# Li & Lai 2018) keeps every frame's 72-d "atomic" MDMO vector and learns a dictionary over
# the training frames with graph-regularised sparse coding (GraphSC): each frame is
# rebuilt from a few dictionary atoms, and frames that are close under an ME-specific
# distance get similar codes. A clip is then described by its frames' codes, pooled.
#
# Here every clip is resampled to 10 frames with TIM (as in the thesis), the per-frame
# MDMO matrices are computed once (and cached with their flows), and a 32-atom dictionary
# is learned on all of them (in a real evaluation: on the training folds only; the
# transformer does that inside a scikit-learn pipeline).

# %%
per_clip = [mdmo.mdmo_frames(prepare(c), landmarks=landmarks, engine=ENGINE, n_frames=10, cache=True).values
            for _, c in corpus.cubes()]
sparse = SparseMDMOFromFrames(n_atoms=32, n_iter=20).fit(per_clip)
print(f"{sparse.n_train_frames_} training frames, dictionary {sparse.dictionary_.shape}, "
      f"{sparse.sparsity_:.0%} of the training codes are non-zero")

# %% [markdown]
# The codes of one clip: one column per frame, one row per atom; white is zero. A few
# atoms are active in every frame: they rebuild what all frames share (the angles of
# still regions, for instance). Others switch on only while the face moves. The clip's
# feature pools the codes over frames (by default the largest absolute code per atom).

# %%
codes = sparse.codes(mdmo_atoms(per_clip[0]))                        # (atoms, frames)
hv.HeatMap([(t, a, float(codes[a, t])) for a in range(codes.shape[0]) for t in range(codes.shape[1])],
           kdims=[hv.Dimension("frame", label="frame (after TIM)"), hv.Dimension("atom", label="dictionary atom")],
           vdims=[hv.Dimension("code", label="sparse code")]).opts(
    cmap="RdBu_r", symmetric=True, colorbar=True, frame_width=300, frame_height=420, tools=["hover"],
    title=f"Sparse codes of {corpus.uids[0].split('/')[-1]}")

# %% [markdown]
# How sparse the codes are is set by `beta`, the weight of the L1 penalty: the larger, the
# fewer atoms per frame, at the price of a worse reconstruction.

# %%
sparsity = [(beta, SparseMDMOFromFrames(n_atoms=32, beta=beta, n_iter=10).fit(per_clip).sparsity_)
            for beta in (0.05, 0.2, 0.5, 1.0, 2.0)]
hv.Curve(sparsity, hv.Dimension("beta", label="L1 weight beta"),
         hv.Dimension("nonzero", label="share of non-zero codes")).opts(
    logx=True, xlim=(0.04, 2.5), frame_width=360, frame_height=220, line_width=2, title="Sparsity against beta") * hv.Scatter(
    sparsity, "beta", "nonzero").opts(size=7)

# %% [markdown]
# ## 10. FDM: principal directions of cuboids
#
# The facial dynamics map (Xu et al. 2017) cuts the aligned flow *sequence* into cuboids
# (a grid of blocks times a few temporal segments) and finds in each the unit direction
# `ξ` that maximises the summed positive projections of its flow vectors,
# `Σ max(0, <ξ, w_i>)`. The search starts from the mean direction and repeats: keep the
# vectors with a positive projection, point `ξ` along their sum. From scratch, on the
# flow vectors of one block over the whole expression:

# %%
def principal_direction(w, n_iter=50):
    """Unit direction maximising sum(max(0, w @ xi)) for vectors w (N, 2), and its strength."""
    xi = w.sum(axis=0) / np.linalg.norm(w.sum(axis=0))
    for _ in range(n_iter):
        new = w[w @ xi > 0].sum(axis=0)
        new /= np.linalg.norm(new)
        if np.allclose(new, xi):
            break
        xi = new
    return xi, np.maximum(w @ xi, 0).mean()


# %%
seq = fdm.fdm_flow(cube, engine=ENGINE)                       # (T, 2, H, W), aligned, onset..offset
side = SIZE // 8                                              # the block of an 8x8 grid that moves most
moved = np.hypot(seq[:, 0], seq[:, 1]).sum(axis=0)[:8 * side, :8 * side].reshape(8, side, 8, side).sum(axis=(1, 3))
r, c = np.unravel_index(moved.argmax(), moved.shape)
cell = seq[:, :, r * side:(r + 1) * side, c * side:(c + 1) * side]
w = cell.transpose(0, 2, 3, 1).reshape(-1, 2).astype(float)

# %%
xi, strength = principal_direction(w)
xi_lib, strength_lib, _ = fdm.principal_directions(w, np.zeros(len(w), int))
print("mine:", xi.round(3), round(strength, 4), " mer_lab:", xi_lib[0].round(3), strength_lib.round(4))

# %% [markdown]
# `fdm.fdm` does this for every cuboid (8x8 blocks x 4 segments by default): one arrow
# per block and segment, its length the strength, all panels on one length scale. The
# paper uses frame-to-frame flow (`reference="previous"`, top row): its arrows are tiny
# and point every which way, background included. At 100 fps one frame step moves the
# face by a few hundredths of a pixel, no more than the engine's noise. Measured from the
# onset (`reference="onset"`, bottom row) the motion adds up, and in the middle segments,
# around the apex, the moving blocks stand out (for a surprise clip: the brows go up). Frame-to-frame FDM needs clean flow or larger steps (exercise 4).

# %%
def fdm_arrows(vector, top, title):
    """One panel per temporal segment: an arrow per block over the onset frame."""
    centres_1d = (np.arange(8) + 0.5) * SIZE / 8 - 0.5
    gx, gy = np.meshgrid(centres_1d, centres_1d)
    panels = []
    for s in range(vector.shape[0]):
        vx, vy = vector[s, ..., 0].ravel(), vector[s, ..., 1].ravel()
        field = hv.VectorField((gx.ravel(), gy.ravel(), np.arctan2(vy, vx), np.hypot(vx, vy) / top),
                               kdims=["x", "y"], vdims=["angle", "relative strength"]).opts(
            magnitude="relative strength", rescale_lengths=False, scale=1 / 10, color="red", line_width=2,
            pivot="tail")
        base = image(cube.values[k["onset"]], f"{title} {s + 1}/4", cmap="gray", clabel="grey level",
                     width=170).opts(colorbar=False)
        panels.append(base * field)
    return panels


# %%
fdm_maps = {ref: fdm.fdm(cube, blocks=(8, 8), segments=4, reference=ref, engine=ENGINE).reshape(4, 8, 8, 2)
            for ref in ("previous", "onset")}
top = max(np.hypot(v[..., 0], v[..., 1]).max() for v in fdm_maps.values())
hv.Layout(fdm_arrows(fdm_maps["previous"], top, "frame to frame")
          + fdm_arrows(fdm_maps["onset"], top, "from onset")).cols(4)

# %% [markdown]
# ## Summary
#
# - Brightness constancy, linearised, gives one equation `I_x u + I_y v + I_t = 0` per
#   pixel; Lucas-Kanade assumes one motion per window and solves the over-determined
#   system by least squares. It fails on one-dimensional texture (aperture problem) and
#   for motions beyond about a pixel; pyramidal engines (TV-L1, Farneback, DIS) do not.
# - On the synthetic corpus no engine gets close to the true motion of an ME's pixel or
#   two; where the face moves, the better ones cut the error of "no motion" by a fraction.
#   TV-L1 is the slowest by far. Pool flow over regions, never trust one pixel.
# - Head motion is as large as the expression: remove it (affine fit to the flow or to
#   stable landmarks) before looking for the expression, as Figure 3 shows.
# - Optical strain (flow derivatives) ignores rigid motion and highlights deformation.
# - The features pool the flow differently: HOOF per face or block, Bi-WOOF per block with
#   strain weights (onset and apex only), MDMO per facial ROI with the main direction,
#   Sparse MDMO as sparse codes of per-frame MDMO, FDM per spatio-temporal cuboid.
#
# ## Exercises
#
# 1. **A harder corpus.** Rebuild the corpus with `difficulty="hard"` and re-run section 2.
#    Which engine degrades most? *Hint: `make_corpus(..., difficulty="hard")` adds noise,
#    flicker and more head motion; compare the "EPE where moving" column.*
# 2. **TV-L1 everywhere.** Set `ENGINE = "tvl1"` and re-run the chapter (several minutes
#    the first time; the flows are cached on disk, so later runs are fast). Does Figure
#    3's curve peak closer to the apex? *Hint: compare
#    the printed peak frame with the annotated apex, for several clips.*
# 3. **Strain and rigid motion.** Show numerically that a pure translation and a small
#    pure rotation have zero strain, while a uniform stretch does not. *Hint: with
#    `y, x = np.mgrid[0:32, 0:32].astype(float)` and `c = 16`, try the flows
#    `np.stack([0 * x + 1, 0 * y])`, `0.01 * np.stack([-(y - c), x - c])` and
#    `np.stack([0.05 * x, 0 * y])` in `flow.optical_strain`.*
# 4. **Frame-to-frame FDM with fewer frames.** Resample the expression to 6 frames with
#    TIM before computing frame-to-frame FDM. Do the moving blocks stand out now? *Hint:
#    `from mer_lab.preprocess.tim import tim`; `fdm.fdm(tim(expression, 6), segments=4,
#    reference="previous", engine=ENGINE)`; fewer frames over the same expression make
#    every step larger than the noise.*
