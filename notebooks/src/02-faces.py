# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Faces: detection, landmarks, registration and cropping
#
# A micro-expression moves a patch of skin by a pixel or two. A head that drifts by a
# few pixels during the same clip moves *every* pixel of the face, and a motion feature
# then describes the head rather than the expression. The thesis (section 3.1.1) names the
# usual cure: find the face, place landmarks on it, and warp every frame so that the
# landmarks stay where they were in a reference frame (registration). Then crop the frames
# to the face, so that features see the face and not the background.
#
# This chapter goes through the four steps — **detect, place landmarks, register, crop** —
# and measures what registration does to optical flow on clips whose true motion is known.

# %%
import cv2
import numpy as np
import pandas as pd
import holoviews as hv
import ipywidgets as widgets
from skimage import data

from mer_lab.cube import key_frames
from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.features.apex import flow_magnitude_curve
from mer_lab.features.flow import flow_pair
from mer_lab.preprocess import (LANDMARK_GROUPS, STABLE_POINTS, crop_face, detect_faces, estimate_landmarks,
                                fit_point_transform, landmarks, register, transform_points)
from mer_lab import viz

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as "found", e.g. "casme2"
OPTIONS = {"synthetic": dict(drift=4, rotation=3)}  # loader options per dataset: here, a restless head
corpus = load(DATASET, **OPTIONS.get(DATASET, {}))
corpus


# %%
def show(frame, title, *, cmap="gray", clim=None, width=260, label="intensity", unit="grey level"):
    """One frame as an image with y growing downwards, axes in pixels."""
    h, w = frame.shape[:2]
    bounds = (-0.5, -0.5, w - 0.5, h - 0.5)
    if frame.ndim == 3:
        img = hv.RGB(np.asarray(frame)[::-1], bounds=bounds, kdims=["x", "y"])
    else:
        img = hv.Image(np.asarray(frame, float)[::-1], bounds=bounds, kdims=["x", "y"],
                       vdims=[hv.Dimension(label, unit=unit)]).opts(cmap=cmap, clim=clim or (None, None))
    return img.opts(invert_yaxis=True, data_aspect=1, frame_width=width, xlabel="x (px)", ylabel="y (px)",
                    title=title, tools=["hover"])


# %% [markdown]
# ## 1. Detecting a face
#
# Face detectors slide a window over the image at many scales and ask a classifier "face
# or not?". mer_lab offers three that work offline: OpenCV's Viola-Jones **Haar** cascade,
# scikit-image's **LBP** cascade, and dlib's **HOG** + linear SVM detector (the optional
# `faces` extra). No dataset frame may be shown here, so the one real face of the course is
# the astronaut photo that ships with scikit-image.

# %%
photo = data.astronaut()
boxes = {method: detect_faces(photo, method=method) for method in ["haar", "lbp"]}

# %%
try:
    boxes["dlib"] = detect_faces(photo, method="dlib")
    HAVE_DLIB = True
except ImportError as exc:  # dlib is the optional extra: pip install "mer_lab[faces]"
    HAVE_DLIB = False
    print(f"Skipping dlib (detector and 68 landmarks): {exc}")
boxes

# %% [markdown]
# Each box is `(x, y, w, h)` in pixels: the top-left corner, width and height. Drawn on the
# photo, the three detectors agree on where the face is but not on its extent: the
# cascades take a larger square (forehead to chin), dlib a tighter one, which is the box
# its landmark model was trained with.

# %%
colours = {"haar": "yellow", "lbp": "cyan", "dlib": "magenta"}
rects = [hv.Rectangles([(x, y, x + w, y + h)], label=m).opts(fill_alpha=0, line_color=colours[m], line_width=2)
         for m, found in boxes.items() for x, y, w, h in found]
(show(photo, "face boxes on skimage.data.astronaut()", width=420) * hv.Overlay(rects)).opts(legend_position="right")

# %% [markdown]
# ## 2. Landmarks
#
# dlib's shape predictor places 68 points (the iBUG-68 order: jaw 0-16, brows 17-26, nose
# 27-35, eyes 36-47, lips 48-67). Registration needs points that an expression does *not*
# move. mer_lab's `STABLE_POINTS` are 13 of them, on bone and cartilage: the nose bridge
# and base and the four eye corners (the thesis cites the same idea from MDMO, which fits
# a transform on 13 points).

# %%
def landmark_figure(image, points):
    """The 68 points coloured by group, the 13 stable ones circled."""
    palette = hv.plotting.util.process_cmap("Category10", 10)
    groups = [hv.Points(points[a:b], kdims=["x", "y"], label=name).opts(size=5, color=palette[i])
              for i, (name, (a, b)) in enumerate(LANDMARK_GROUPS.items())]
    stable = hv.Points(points[list(STABLE_POINTS)], kdims=["x", "y"], label="stable (13)").opts(
        size=12, marker="circle", fill_alpha=0, line_color="white", line_width=2)
    return (show(image, "68 landmarks by group; circled: the 13 stable points", width=420) * hv.Overlay(groups)
            * stable).opts(legend_position="right", xlim=(170, 290), ylim=(70, 200))


# %%
if HAVE_DLIB:
    figure = landmark_figure(photo, landmarks(photo))
else:
    figure = hv.Div("<p>The 68-point model is not installed (<code>pip install \"mer_lab[faces]\"</code>).</p>")
figure

# %% [markdown]
# Check the fit: brows above the eyes, the nose line down the middle, the lips around the
# mouth — even on a smiling face. (The model was trained on the iBUG 300-W data, whose
# licence allows non-commercial research use only.)
#
# ## 3. A restless head
#
# Now a clip. For the synthetic corpus the landmarks of every frame are part of the ground
# truth; for a real dataset they come from dlib on every frame.

# %%
uid = corpus.uids[18]
cube = corpus.cube(uid)
truth = corpus.ground_truth(uid)
points = truth["landmarks"].values if truth is not None else estimate_landmarks(cube, frames="all").values
kf = key_frames(cube)
cube.attrs["emotion"], cube.attrs.get("action_units"), kf

# %% [markdown]
# How far do the 13 stable points travel from where they were in the first frame? Each
# thin line is one point; if the head stood still they would all stay at 0.

# %%
stable = list(STABLE_POINTS)
travel = np.linalg.norm(points[:, stable] - points[0, stable], axis=-1)  # (time, 13) px

# %%
frames = cube["frame"].values
lines = [hv.Curve((frames, travel[:, j]), hv.Dimension("frame", label="frame number"),
                  hv.Dimension("travel", label="distance from frame 0", unit="px")).opts(color="gray", alpha=0.5)
         for j in range(len(stable))]
keys = [hv.VLine(frames[kf[k]]).opts(color=c, line_dash="dashed") for k, c in [("onset", "green"), ("apex", "red")]]
hv.Overlay(lines + keys).opts(frame_width=500, frame_height=200, title=f"{uid}: stable landmarks, unregistered")

# %% [markdown]
# A few pixels — more than the expression moves anything. Look at the difference between the
# apex and the onset frame: the edges of the whole face light up, because the face has
# moved as a whole.

# %%
diff = lambda c: c.values[kf["apex"]].astype(float) - c.values[kf["onset"]]
show(diff(cube), "apex - onset, unregistered", cmap="RdBu_r", clim=(-40, 40))

# %% [markdown]
# ## 4. Registration from scratch
#
# We want, for every frame, the transform that maps its stable points onto the reference
# frame's. A **similarity** (rotation, uniform scale, shift) has four numbers; with the
# point sets centred (`s` source, `d` target), least squares gives them in closed form:
# `a = sum(s . d) / sum|s|^2` and `b = sum(s x d) / sum|s|^2` (the 2-D cross product),
# the linear part `[[a, -b], [b, a]]`, and the shift that maps centroid onto centroid.

# %%
def similarity(src, dst):
    """(2, 3) matrix of the least-squares similarity mapping src points (n, 2) onto dst."""
    s, d = src - src.mean(0), dst - dst.mean(0)
    a = (s * d).sum() / (s**2).sum()
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / (s**2).sum()
    linear = np.array([[a, -b], [b, a]])
    return np.hstack([linear, (dst.mean(0) - linear @ src.mean(0))[:, None]])


# %%
M = similarity(points[kf["apex"], stable], points[0, stable])
M, np.allclose(M, fit_point_transform(points[kf["apex"], stable], points[0, stable]))

# %% [markdown]
# Same matrix as mer_lab's `fit_point_transform`. Warping the apex frame with it puts its
# face back where the first frame's face was (OpenCV's `warpAffine` takes exactly this
# 2 x 3 matrix). After that, the apex - onset difference keeps only small spots where the
# action units act, and a faint overall tint from the flickering light:

# %%
h, w = cube.sizes["y"], cube.sizes["x"]
warp = lambda frame, m: cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
apex_fixed = warp(cube.values[kf["apex"]], M)
onset_fixed = warp(cube.values[kf["onset"]], similarity(points[kf["onset"], stable], points[0, stable]))
show(apex_fixed.astype(float) - onset_fixed, "apex - onset, registered by hand", cmap="RdBu_r", clim=(-40, 40))

# %% [markdown]
# ## 5. Registration with mer_lab
#
# `register(cube, landmarks=...)` does this for every frame (similarity by default;
# `transform="affine"` as in MDMO) and keeps the matrices and the fit residual in the
# cube's attributes.

# %%
registered = register(cube, landmarks=points)
moved = transform_points(points[:, stable], registered.attrs["registration_transforms"])
after = np.linalg.norm(moved - points[0, stable], axis=-1)
print(f"stable points: up to {travel.max():.2f} px from frame 0 before, {after.max():.3f} px after registration")

# %% [markdown]
# The real test is motion. Optical flow (chapter 6) estimates how every pixel moved from
# the onset to the apex; Farneback's method is fast enough on these small frames. On the
# left the unregistered clip, in the middle the registered one, and, for the synthetic
# corpus, on the right the true motion of the expression alone (same colour scale).

# %%
flow_raw = flow_pair(cube, engine="farneback", cache=False)
flow_reg = flow_pair(registered, engine="farneback", cache=False)
magnitude = lambda f: np.hypot(*np.asarray(f)[:2])

# %%
panels = [show(magnitude(flow_raw), "flow magnitude, unregistered", cmap="magma", clim=(0, 2), width=220,
               label="magnitude", unit="px"),
          show(magnitude(flow_reg), "registered", cmap="magma", clim=(0, 2), width=220, label="magnitude", unit="px")]
if truth is not None:
    panels.append(show(magnitude(truth["flow_apex_expression"]), "true expression motion", cmap="magma",
                       clim=(0, 2), width=220, label="magnitude", unit="px"))
hv.Layout(panels).cols(3)

# %% [markdown]
# Unregistered, the flow is large everywhere on the face: it measures the head. Registered,
# what is left sits where the true expression motion is (compare with the right panel),
# plus some noise. (A clip that blinks also lights up at the eyes: a blink is real motion,
# but not the expression's.) With the ground truth we can put one number on it,
# the **end-point error** (EPE): the mean distance between the estimated and the true
# expression motion vectors.

# %%
def epe(flow, true):
    return float(np.hypot(*(np.asarray(flow)[:2] - np.asarray(true))).mean())


# %%
if truth is not None:
    true = truth["flow_apex_expression"]
    print(f"EPE unregistered {epe(flow_raw, true):.2f} px, registered {epe(flow_reg, true):.2f} px")

# %% [markdown]
# Which way does the remaining motion point? `viz.flow_field` draws the registered flow's
# direction (hue, arrows) over the onset frame, next to its magnitude:

# %%
viz.flow_field(flow_reg, frame=registered.values[kf["onset"]], max_magnitude=2, title="registered")

# %% [markdown]
# The same over the whole clip: the mean flow magnitude of every frame relative to the
# onset (`flow_magnitude_curve`, the curve of thesis Figure 3). Unregistered it follows
# the head. Registered it stays near the noise floor, with a small rise between onset and
# offset: the expression covers a small part of the face, so it barely moves a whole-frame
# mean — note how much larger the head's contribution was.

# %%
curves = [hv.Curve((curve["frame"].values, curve.values), hv.Dimension("frame", label="frame number"),
                   hv.Dimension("magnitude", label="mean flow magnitude from the onset", unit="px"), label=name)
          for name, c in [("unregistered", cube), ("registered", registered)]
          for curve in [flow_magnitude_curve(c, span="clip", engine="farneback", cache=False)]]

# %%
keys = [hv.VLine(frames[kf[k]]).opts(color=c, line_dash="dashed")
        for k, c in [("onset", "green"), ("apex", "red"), ("offset", "gray")]]
hv.Overlay(curves + keys).opts(frame_width=500, frame_height=220, legend_position="right",
                               title=f"{uid}: onset, apex, offset dashed")

# %% [markdown]
# ## 6. How much drift can registration undo?
#
# Move the slider to give the same synthetic clip more or less head drift (the rotation
# follows at 0.75 degree per pixel; everything else about the clip stays the same). Watch
# the left panel fill up with head motion as the drift grows while the registered one
# hardly changes, and compare the two errors in the titles.

# %%
def drift_demo(drift=4.0):
    demo = make_corpus(n_subjects=1, clips_per_subject=3, drift=drift, rotation=0.75 * drift, seed=0)
    clip, gt = demo.cube(1), demo.ground_truth(1)
    fixed = register(clip, landmarks=gt["landmarks"])
    out = []
    for name, c in [("unregistered", clip), ("registered", fixed)]:
        f = flow_pair(c, engine="farneback", cache=False)
        out.append(show(magnitude(f), f"{name}: EPE {epe(f, gt['flow_apex_expression']):.2f} px", cmap="magma",
                        clim=(0, 2), width=240, label="magnitude", unit="px"))
    return hv.Layout(out).cols(2)

# %%
widgets.interact(drift_demo, drift=widgets.FloatSlider(value=4.0, min=0.0, max=8.0, step=0.5,
                                                       description="drift (px)"));

# %% [markdown]
# ## 7. When "stable" points move
#
# Registration assumes the chosen points do not take part in the expression. AU9, the nose
# wrinkler of disgust, breaks that: it lifts the sides of the nose, which are among the 13
# points. Registration then "corrects" motion that was the expression. A synthetic check
# with no head motion at all, so that registration has nothing to fix:

# %%
still = make_corpus(n_subjects=2, clips_per_subject=4, classes=["disgust"], drift=0, rotation=0, seed=0)
still.samples[["action_units"]].T

# %%
eyes_and_bridge = [27, 28, 36, 39, 42, 45]  # points AU9 does not move
choices = {"none": None, "13 stable points": STABLE_POINTS, "eyes + nose bridge": eyes_and_bridge}


def registration_errors(uid):
    """End-point error (px) of the onset -> apex flow for each choice of registration points."""
    clip, gt = still.cube(uid), still.ground_truth(uid)
    fixed = {name: clip if pts is None else register(clip, landmarks=gt["landmarks"], points=pts)
             for name, pts in choices.items()}
    true = gt["flow_apex_expression"]
    return {"AUs": gt.attrs["action_units"],
            **{name: epe(flow_pair(c, engine="farneback", cache=False), true) for name, c in fixed.items()}}


# %%
errors = pd.DataFrame({uid_: registration_errors(uid_) for uid_ in still.uids}).T
errors.round(3).rename_axis(columns="EPE (px) with registration on")

# %% [markdown]
# Read the rows with a 9 among the AUs: registering on the 13 points makes the error
# *larger* than not registering at all, while points away from the nose leave it where it
# was. Without AU9 the choice hardly matters. There is no universally stable set of points;
# know which AUs your classes involve.
#
# ## 8. Cropping
#
# Last, cut the face out. `crop_face` takes one box for the whole clip (a box per frame
# would add the detector's jitter as fake motion): a detected one, a given `(x, y, w, h)`,
# or the box around landmarks, raised by a quarter to include the forehead, where AU1 and
# AU2 act. `size=` resizes the crop.

# %%
face = crop_face(registered, box=points[0], margin=0.1, size=64)
face.attrs["crop_box"], face.attrs["crop_scale"], face.shape

# %%
(show(registered.values[kf["apex"]], "registered apex frame", width=260)
 + show(face.values[kf["apex"]], "cropped to the face, 64 x 64", width=200)).opts(shared_axes=False)

# %% [markdown]
# `crop_box` (input pixels) and `crop_scale` say how to carry points into the crop:
# `((x - bx) * sx, (y - by) * sy)`. The background, which carried only noise, is gone.
#
# ## Summary
#
# - Detection finds a box (`detect_faces`: Haar, LBP or dlib); dlib's 68 landmarks
#   (`landmarks`, `estimate_landmarks`) give named points on the face.
# - Registration fits, per frame, a similarity (or affine) transform on points that should
#   not move — closed-form least squares — and warps the frame (`register`).
# - Head drift of a few pixels swamps a 1-2 px expression in optical flow; registration
#   removes most of it (end-point error down several-fold on the synthetic clip).
# - "Stable" points are a choice: AU9 moves the nose, and registering on it adds error.
# - Crop with one box for the whole clip (`crop_face`), with room for the forehead.
#
# ## Exercises
#
# 1. Register with `transform="affine"` and with `transform="translation"` in section 5.
#    Which gives the lowest end-point error, and why would a translation not be enough
#    here? *Hint: the synthetic head also rotates (`truth["head_angle"]`).*
# 2. Use a mean face as the reference: `register(cube, landmarks=points,
#    reference=points.mean(axis=0))`. What changes in the registered clip, and why could a
#    reference shared by all clips help a classifier? *Hint: compare the faces' positions
#    across two clips of different subjects.*
# 3. Add sensor noise to the landmarks (`points + np.random.default_rng(0).normal(0, 0.5,
#    points.shape)`) and register again. How does the end-point error grow with the noise?
#    *Hint: real landmark detectors jitter by about a pixel from frame to frame.*
# 4. If dlib is installed, run `detect_faces` on the synthetic frames with each method.
#    Which detectors find the drawn face? *Hint: `upsample=1` for dlib on small faces.*
