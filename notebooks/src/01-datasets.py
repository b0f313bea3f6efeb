# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Datasets: where micro-expressions come from
#
# Every method in this course learns from, and is judged on, a handful of small video
# collections. Making them is hard, which is why there are so few:
#
# - **Spontaneous, not acted.** Posed micro-expressions differ from real ones in both
#   timing and shape, so models trained on them fail on real faces. The owners therefore
#   *induce* emotions (film clips chosen to amuse, disgust or sadden) while asking the
#   participants to keep a straight face, often with a penalty for being caught.
# - **Fast cameras.** An ME of 0.2 s is 5 frames at 25 fps but 40 frames at 200 fps. Most
#   datasets film at 100-200 fps, at a resolution high enough to see a pixel of motion.
# - **Expert labels.** Someone trained in FACS steps through every clip frame by frame to
#   mark the onset, apex and offset and the action units; the emotion label comes from
#   those AUs, from the participant's own report, or both.
#
# The result: a few hundred clips per dataset, from a few dozen people, with very uneven
# class sizes. This chapter puts numbers on that (the thesis's Tables 1 and 2), introduces
# the synthetic corpus that the rest of the course runs on, and shows why the uneven
# classes matter.

# %%
import numpy as np
import pandas as pd
import holoviews as hv
import ipywidgets as widgets
from scipy import ndimage as ndi

from mer_lab import viz
from mer_lab.cube import key_frames, to_grey
from mer_lab.datasets import datasets_table, load
from mer_lab.datasets.manifest import load_manifest
from mer_lab.datasets.synthetic import difficulty_knobs, make_corpus

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as "found", e.g. "casme2"
corpus = load(DATASET)
corpus

# %% [markdown]
# `corpus` is a `Corpus`: a table of samples (one row per clip) and clips that are read
# only when you ask for one. The synthetic corpus is generated, so it is always there; the
# real datasets are licensed and found through `data_manifest.yaml` (see chapter 0).

# %%
corpus.samples.head()

# %% [markdown]
# ## Tables 1 and 2: the datasets in numbers
#
# `datasets_table()` lists every dataset mer_lab knows. For the copies it finds it counts
# subjects, samples and classes; for all of them it shows the numbers the manifest expects
# (the thesis's tables, or the owners' papers where the thesis has none).

# %%
table = datasets_table()
table[["dataset", "variant", "status", "subjects", "samples", "expected_subjects", "expected_samples"]]

# %% [markdown]
# To rebuild Table 1 we take your copy's numbers where a dataset is found and the reference
# numbers otherwise, and add the frame rate and resolution from the manifest. Some entries
# differ per variant (SMIC records HS at 100 fps, VIS and NIR at 25 fps), hence `per_variant`.

# %%
manifest = load_manifest()


# %%
def per_variant(value, variant):
    """A manifest field that may be one value or a {variant: value} dict."""
    if isinstance(value, dict):
        return value.get(variant, ", ".join(f"{k}: {v}" for k, v in value.items()))
    return value


# %%
found = table["status"].isin(["found", "built in"])
mine_or_reference = lambda column: table[column].where(found, table[f"expected_{column}"])
entries = [manifest.entry(name) or {} for name in table["dataset"]]
table1 = pd.DataFrame({
    "dataset": table["dataset"], "subset": table["variant"],
    "subjects": mine_or_reference("subjects"), "samples": mine_or_reference("samples"),
    "fps": [per_variant(e.get("fps"), v) for e, v in zip(entries, table["variant"])],
    "resolution": [per_variant(e.get("resolution"), v) for e, v in zip(entries, table["variant"])],
    "class_counts": mine_or_reference("classes"), "numbers from": np.where(found, "your copy", "reference"),
}).dropna(subset=["samples"])

# %%
table1["classes"] = table1["class_counts"].map(lambda c: len(c) if isinstance(c, dict) else None).astype("Int64")
info = load("synthetic").info  # the generated corpus has no manifest entry: take fps and size from it
table1.loc[table1["dataset"].eq("synthetic"), ["fps", "resolution"]] = [info["fps"], f"{info['size']}x{info['size']}"]
table1.drop(columns="class_counts")

# %% [markdown]
# Table 2 is the class distribution of each dataset. Its rows have different classes, so
# the blanks are classes a dataset does not use.

# %%
table2 = pd.DataFrame([
    {"dataset": r["dataset"], "subset": r["subset"], "class": c, "clips": n}
    for _, r in table1.iterrows() if isinstance(r["class_counts"], dict)
    for c, n in r["class_counts"].items()
])

# %%
counts = table2.pivot_table(index=["dataset", "subset"], columns="class", values="clips", sort=False)
counts.astype("Int64").astype(object).fillna("")

# %%
for _, r in table[table["note"].ne("")].iterrows():
    print(f"{r['dataset']} ({r['variant']}): {r['note']}\n")

# %% [markdown]
# Two things to notice. First, the sizes: a few hundred clips at most (MMEW 300, CASME II
# 247-257, SMIC-HS 164, SAMM 159), down to 31 for MEVIEW — tiny for machine learning.
# Second, the numbers do not always agree between sources. For CASME II the thesis's
# Table 2 gives disgust 60 and others 102, while the coding file that comes with the data
# gives 63 and 99; the manifest keeps such remarks in its notes. When your copy is found,
# the tables show what *it* holds.

# %% [markdown]
# ## Class imbalance, and why it matters
#
# Look at the bars below (each panel is one dataset's reference distribution, largest
# class first): every dataset has one or two big classes and some tiny ones (CASME:
# disgust 88, fear 2). Only SMIC, with three broad classes, is close to even.

# %%
def class_bars(counts, title, width=260):
    data = pd.DataFrame({"class": list(counts), "clips": list(counts.values())}).sort_values("clips", ascending=False)
    return hv.Bars(data, kdims=[hv.Dimension("class", label="emotion class")],
                   vdims=[hv.Dimension("clips", label="number of clips")]).opts(
        title=title, frame_width=width, frame_height=160, xrotation=45, tools=["hover"])

# %%
has_classes = table1["class_counts"].map(lambda c: isinstance(c, dict) and len(c) > 0)
reference = table1[table1["numbers from"].eq("reference") & has_classes]
panels = [class_bars(r["class_counts"], f"{r['dataset']} {r['subset']}".strip()) for _, r in reference.iterrows()]
hv.Layout(panels).cols(3).opts(shared_axes=False)

# %% [markdown]
# Why care? A classifier that learns nothing can still look good. The simplest "model"
# predicts the largest class for every clip. Its accuracy is the share of that class;
# its **macro F1** (the mean of the per-class F1 scores, chapter 8) is low, because every
# other class has F1 = 0. From scratch, for one distribution:
#
# - accuracy = n_max / n;
# - the majority class has precision n_max / n and recall 1, so F1 = 2 n_max / (n_max + n);
# - macro F1 = that F1 divided by the number of classes K.

# %%
def majority_baseline(counts):
    n = np.array(list(counts.values()), dtype=float)
    accuracy = n.max() / n.sum()
    macro_f1 = 2 * n.max() / (n.max() + n.sum()) / n.size
    return round(accuracy, 4), round(macro_f1, 4)

# %%
majority_baseline({"negative": 70, "positive": 51, "surprise": 43})  # SMIC-HS

# %% [markdown]
# 0.4268 and 0.1994 are exactly the "baseline" row of the thesis's Table 3 for SMIC: any
# method has to beat these numbers before it has learned anything. The same for every row
# of Table 1:

# %%
baselines = pd.DataFrame(
    [(r["dataset"], r["subset"], len(r["class_counts"]), *majority_baseline(r["class_counts"]))
     for _, r in table1[has_classes].iterrows()],
    columns=["dataset", "subset", "classes", "majority accuracy", "majority macro F1"])
baselines

# %% [markdown]
# The more skewed the classes, the wider the gap between the two columns. This is why the
# course reports macro F1 next to accuracy, and always next to this baseline. (For CASME II
# the thesis's baseline, 0.4008 / 0.1145, follows from the coding file's 99 "others" clips,
# not from Table 2's 102: `majority_baseline({"others": 99, "disgust": 63, "happiness": 33,
# "repression": 27, "surprise": 25})`.)

# %% [markdown]
# ## The synthetic corpus: a dataset with the answers included
#
# Real clips come with labels but not with the truth about the motion: nobody knows how
# many pixels the lip corner moved. mer_lab's synthetic corpus draws procedural faces (no
# photographs) and moves them with action units of known size, so every method can be
# checked against the truth. Here is the recipe on a toy face, from scratch:
#
# 1. a neutral image `B` (two eyes and a mouth);
# 2. a displacement field `D` (px): the mouth corners pulled upwards, like AU12;
# 3. an intensity profile `a(t)`: 0 before the onset, a raised cosine up to 1 at the apex,
#    back to 0 at the offset;
# 4. frame `t` shows `B` moved by `a(t) D`.

# %%
yy, xx = np.mgrid[0:48, 0:48].astype(float)
blob = lambda x0, y0, sx, sy: np.exp(-((xx - x0) ** 2 / sx + (yy - y0) ** 2 / sy))
neutral = 1 - 0.8 * (blob(16, 18, 6, 6) + blob(32, 18, 6, 6) + blob(24, 34, 40, 2))
lift = -3 * (blob(15, 34, 12, 12) + blob(33, 34, 12, 12))  # v (px): negative = upwards

# %%
t = np.arange(30)
onset, apex, offset = 5, 13, 24
rise = np.clip((t - onset) / (apex - onset), 0, 1)
fall = np.clip((t - apex) / (offset - apex), 0, 1)
a = np.where(t <= apex, (1 - np.cos(np.pi * rise)) / 2, (1 + np.cos(np.pi * fall)) / 2)

# %% [markdown]
# Rendering samples the neutral image "backwards": the pixel at `(x, y)` shows what the
# neutral face had at `(x, y - a(t) v)`. (This is exact only for small motion, which an
# ME is.)

# %%
toy = np.stack([ndi.map_coordinates(neutral, [yy - a_t * lift, xx], order=1, mode="nearest") for a_t in a])
toy.shape


# %%
def show(frame, title, *, cmap="gray", clim=None, width=200, label="intensity", unit="grey level"):
    """One frame as an image with y growing downwards, axes in pixels."""
    h, w = frame.shape
    img = hv.Image(np.asarray(frame, float)[::-1], bounds=(-0.5, -0.5, w - 0.5, h - 0.5), kdims=["x", "y"],
                   vdims=[hv.Dimension(label, unit=unit)])
    return img.opts(cmap=cmap, clim=clim or (None, None), invert_yaxis=True, data_aspect=1, frame_width=width,
                    xlabel="x (px)", ylabel="y (px)", title=title, tools=["hover"])

# %%
profile = hv.Curve((t, a), hv.Dimension("t", label="frame"), hv.Dimension("a", label="intensity a(t)")).opts(
    frame_width=260, frame_height=150, title="expression profile")
(profile * hv.VLine(apex).opts(color="red", line_dash="dashed")
 + show(toy[onset], "onset", unit="a.u.") + show(toy[apex], "apex", unit="a.u.")
 + show(toy[apex] - toy[onset], "apex - onset", cmap="RdBu_r", clim=(-0.5, 0.5), unit="a.u.")).cols(4)

# %% [markdown]
# The difference image (right) is where the motion lives: blue above the mouth corners,
# red below, because the dark corners moved up. Everything else stayed put.
#
# mer_lab's generator does the same with far more care: a face built from random
# geometry, 68 landmarks, AU fields anchored on the landmarks, and *distractors* that real
# clips have too — head drift and rotation, blinks, a flickering light, sensor noise. Their
# sizes are set by a `difficulty` and can be overridden one by one:

# %%
pd.DataFrame({level: difficulty_knobs(level) for level in ["easy", "default", "hard"]}).drop("level")

# %% [markdown]
# (`noise` in grey levels, `drift` in px, `rotation` in degrees, `blink` a probability,
# `flicker` a relative gain, `amplitude` the range of the ME's largest displacement in px,
# `appearance` the depth of the wrinkles and bulges in grey levels, `idiosyncrasy` how much
# each subject has their own style; both are explained below.)
# A small corpus of 4 subjects with 5 clips each:

# %%
synthetic = make_corpus(n_subjects=4, clips_per_subject=5, seed=0)
synthetic.samples[["subject", "emotion", "action_units", "amplitude", "onset", "apex", "offset", "n_frames"]].head(8)

# %% [markdown]
# The samples table already holds what a real dataset's coding sheet would: the emotion,
# the AUs (`"1+2+26"`: inner and outer brow raiser, jaw drop — a surprise), the key frames.
# `ground_truth(uid)` adds what no real dataset has:

# %%
uid = synthetic.filter(emotion="happiness").uids[0]
truth = synthetic.ground_truth(uid)
truth

# %% [markdown]
# This clip is a happiness (AU12 lip corner puller, often with AU6 cheek raiser). Over time: the
# expression intensity `a(t)` with the key frames (green onset, red apex, grey offset), and
# the distractors. Look for two of them: a blink, if the clip has one (eyelid closure
# rising to 1), and the head drift, a few tenths of a pixel over the clip — a sizeable
# fraction of the expression's own amplitude (the `amplitude` column above, in px).
# Chapter 2 is about removing such drift.

# %%
frames = truth["frame"].values
line = lambda var, label, unit=None: hv.Curve((frames, truth[var].values), hv.Dimension("frame", label="frame number"),
                                              hv.Dimension(var, label=label, unit=unit), label=label)

# %%
keys = hv.Overlay([hv.VLine(truth.attrs[k]).opts(color=c, line_dash="dashed")
                   for k, c in [("onset", "green"), ("apex", "red"), ("offset", "gray")]])
timeline = (line("expression", "expression intensity") * line("blink", "eyelid closure") * keys).opts(
    frame_width=300, frame_height=180, legend_position="right", title="expression and blink",
    ylabel="intensity, closure (0 to 1)")
head = (line("head_dx", "head x", "px") * line("head_dy", "head y", "px") * keys).opts(
    frame_width=300, frame_height=180, legend_position="right", title="head drift", ylabel="translation (px)")

# %%
timeline + head

# %% [markdown]
# The 68 landmarks of every frame (iBUG order, `(x, y)` in px) are part of the truth.
# Here they are on the apex frame:

# %%
cube = synthetic.cube(uid)
apex_pos = key_frames(cube)["apex"]
points = hv.Points(truth["landmarks"].isel(time=apex_pos).values, kdims=["x", "y"]).opts(
    color="orange", size=4, invert_yaxis=True)
show(cube.values[apex_pos], f"{uid}: apex frame and landmarks", width=320) * points

# %% [markdown]
# And the motion itself: `flow_apex` is the exact displacement of every pixel from the
# onset frame to the apex frame, in the library's flow convention (u to the right, v
# downwards); `flow_apex_expression` is the same without the head. In the direction panel
# the hue is the direction (see the colour key) and the arrows show the motion. The
# magnitude panel shows where: the lip corners (AU12) and, when AU6 is present, the
# cheeks — about a pixel at most, and nothing anywhere else.

# %%
viz.flow_field(truth["flow_apex_expression"], frame=cube.values[key_frames(cube)["onset"]],
               title="expression motion onset -> apex") + viz.flow_colour_wheel().opts(title="direction key")

# %% [markdown]
# ## What the skin does: appearance changes
#
# Real action units change the skin's look as well as its shape. FACS describes them:
# AU1 and AU2 wrinkle the forehead, AU4 draws vertical furrows between the brows, AU6
# makes crow's-feet and a cheek bulge, AU12 deepens the nasolabial furrow, AU14 makes
# dimples. The synthetic corpus paints these cues into the skin, inside the AU's region,
# with a strength that follows `a(t)`: nothing at onset and offset, full at the apex. The
# truth holds the change as `appearance_apex` (grey levels, on the onset frame's grid).
# Here is this clip's, next to the same clip rendered with `appearance=0` (motion only):

# %%
motion_only = make_corpus(n_subjects=4, clips_per_subject=5, seed=0, appearance=0)
plain = motion_only.cube(uid).values.astype(float)
shaded = cube.values.astype(float)
k = key_frames(cube)
(show(truth["appearance_apex"].values, "appearance change at the apex (truth)", cmap="RdBu_r", clim=(-8, 8),
      label="change") +
 show(plain[k["apex"]] - plain[k["onset"]], "apex - onset, appearance=0", cmap="RdBu_r", clim=(-8, 8),
      label="change") +
 show(shaded[k["apex"]] - shaded[k["onset"]], "apex - onset, default", cmap="RdBu_r", clim=(-8, 8),
      label="change")).cols(3)

# %% [markdown]
# Without appearance the difference image holds only the edges that moved (and the
# noise); with it, the furrows darken. This matters for appearance features such as
# LBP-TOP (chapter 5): on a motion-only corpus they have almost nothing to see.
#
# ## Every subject their own way: idiosyncrasy
#
# Real subjects show the same emotion differently: one always adds a brow lowerer to
# disgust, another smiles with one side of the mouth. `idiosyncrasy` (0 to 1) gives each
# synthetic subject a preferred AU set per emotion, a preferred side, and their own
# amplitude and timing. The AU strings of the disgust clips per subject, without and with
# it:

# %%
def au_sets(idiosyncrasy):
    corpus = make_corpus(n_subjects=5, clips_per_subject=12, classes=["disgust", "happiness", "surprise"],
                         idiosyncrasy=idiosyncrasy, seed=2)
    rows = corpus.samples[corpus.samples["emotion"] == "disgust"]
    return rows.groupby("subject")["action_units"].agg(lambda x: ", ".join(sorted(x)))

# %%
pd.DataFrame({"idiosyncrasy=0": au_sets(0.0), "idiosyncrasy=1": au_sets(1.0)})

# %% [markdown]
# With idiosyncrasy each row repeats its own AU set (and its own side, `R`/`L`). A
# classifier that has seen some clips of a subject has learnt that subject's style: this
# is why leave-one-subject-out (LOSO) is harder than leave-one-video-out, on real data and
# here (chapter 7).
#
# ## Twins of the real datasets
#
# `make_corpus(like="casme2")` copies a real dataset's subjects, clips per class, frame
# rate, face size and clip durations; `scale=` makes a smaller copy with the same
# proportions. The tables are built in milliseconds (clips render when asked for):

# %%
twins = pd.DataFrame([
    {"twin of": name, "subjects": c.samples["subject"].nunique(), "clips": len(c), "fps": c.info["fps"],
     "frame (px)": c.info["size"], "classes": dict(c.class_counts())}
    for name, c in ((name, make_corpus(like=name)) for name in ["smic", "casme", "casme2", "samm"])])
twins

# %% [markdown]
# ## Browsing clips
#
# The viewer below works on `corpus` — the synthetic corpus, or your dataset if you set
# `DATASET`. Pick a sample and move through its frames. The curve on the right is the mean
# absolute difference of each frame from the first one: it rises when something moves.
# The dashed lines mark the annotated onset (green), apex (red) and offset (grey); the
# black line is the frame shown.
#
# On the default synthetic clips the curve is a disappointment, and an instructive one: it
# is dominated by the flickering light (the regular waves) and by the head drift (the slow
# rise), and a blink makes a sharp bump. The expression moves a small patch of the face
# by about a pixel, which a whole-frame average barely registers. Finding MEs takes local
# motion measures (chapter 6) and spotting methods that compare the right frames
# (chapter 9).

# %%
clips = {}


def clip(uid):
    """Read a clip once (grey), keep it for the viewer."""
    if uid not in clips:
        c = corpus.cube(uid)
        clips[uid] = to_grey(c) if c.ndim == 4 else c
    return clips[uid]


# %%
def change_curve(cube):
    values = cube.values.astype(np.float32)
    return np.abs(values - values[0]).mean(axis=(1, 2))


# %%
def view(uid, position):
    cube = clip(uid)
    position = min(position, cube.sizes["time"] - 1)
    kf, numbers = key_frames(cube), cube["frame"].values
    tags = [name for name, p in kf.items() if p == position]
    title = f"frame {numbers[position]}" + (f" ({', '.join(tags)})" if tags else "")
    curve = hv.Curve((numbers, change_curve(cube)), hv.Dimension("frame", label="frame number"),
                     hv.Dimension("change", label="mean |frame - first frame|", unit="grey level"))
    marks = [hv.VLine(numbers[p]).opts(color=c, line_dash="dashed")
             for p, c in zip(kf.values(), ["green", "red", "gray"])]
    now = hv.VLine(numbers[position]).opts(color="black")
    return show(cube.values[position], title, width=300) + hv.Overlay([curve, *marks, now]).opts(
        frame_width=320, frame_height=200, title=uid)


# %%
sample_picker = widgets.Dropdown(options=corpus.uids[:30], description="sample")
frame_slider = widgets.IntSlider(value=key_frames(clip(corpus.uids[0]))["apex"], min=0,
                                 max=clip(corpus.uids[0]).sizes["time"] - 1, description="frame")
sample_picker.observe(lambda change: setattr(frame_slider, "max", clip(change.new).sizes["time"] - 1), names="value")
widgets.interact(view, uid=sample_picker, position=frame_slider);

# %% [markdown]
# ## A synthetic corpus with a real dataset's imbalance
#
# By default the synthetic corpus is balanced (`corpus.class_counts()` shows the same count
# for every class). With `balance="casme2"` it copies the class proportions of the CASME II
# coding file; 26 subjects of 10 clips make 260 clips in CASME II's proportions:

# %%
skewed = make_corpus(n_subjects=26, clips_per_subject=10, balance="casme2", seed=0)
skewed.class_counts()

# %% [markdown]
# Side by side with the real CASME II distribution (scaled to the same total), and with the
# balanced default:

# %%
real = {"others": 99, "disgust": 63, "happiness": 33, "repression": 27, "surprise": 25}
compare = pd.DataFrame({
    "CASME II coding file (scaled)": pd.Series(real) * len(skewed) / sum(real.values()),
    'synthetic, balance="casme2"': skewed.class_counts(),
    "synthetic, balanced": make_corpus(n_subjects=26, clips_per_subject=10, seed=0).class_counts(),
}).rename_axis("class").reset_index().melt(id_vars="class", var_name="corpus", value_name="clips")

# %%
hv.Bars(compare, kdims=["corpus", "class"], vdims=[hv.Dimension("clips", label="number of clips")]).opts(
    frame_width=700, frame_height=220, xrotation=45, tools=["hover"], color="class", cmap="Category10",
    xlabel="corpus and emotion class", title="class counts: the real distribution and two synthetic corpora")

# %% [markdown]
# The skewed synthetic corpus follows CASME II to within a clip per class. Later chapters
# use it to see what imbalance does to training and to the metrics, while the balanced one
# lets a method show what it can do when every class is equally represented. Every subject
# gets a near-proportional mix, so leave-one-subject-out folds each hold every class:

# %%
per_subject = pd.crosstab(skewed.samples["subject"], skewed.samples["label"]).stack().rename("clips").reset_index()
hv.HeatMap(per_subject, kdims=[hv.Dimension("subject"), hv.Dimension("label", label="emotion class")],
           vdims=[hv.Dimension("clips", label="clips")]).opts(
    frame_width=600, frame_height=160, xrotation=90, colorbar=True, cmap="Blues", clim=(0, None), tools=["hover"],
    title='clips per subject and class (balance="casme2")')

# %% [markdown]
# Real datasets are not so kind: in CASME II some subjects show no surprise at all, so in
# leave-one-subject-out evaluation their folds simply have no surprise clip to test.

# %% [markdown]
# ## Summary
#
# - ME datasets are small (30-260 clips), filmed at 25-200 fps, and labelled from AUs
#   and/or self-reports; SMIC-HS and CASME II are the most used, SAMM is the most diverse.
# - `datasets_table()` compares your copies with the reference numbers (Tables 1 and 2);
#   `load(name)` returns a `Corpus` whatever the dataset.
# - Classes are very unequal. Predicting the majority class already reaches 30-46 %
#   accuracy but a macro F1 of only 0.07-0.20: report both, next to that baseline.
# - The synthetic corpus generates faces with known AUs, key frames, landmarks and motion,
#   with head drift, blinks, flicker and noise as distractors; the AUs also wrinkle and
#   bulge the skin (`appearance`), and each subject has their own style (`idiosyncrasy`);
#   `balance=` copies a real dataset's class proportions and `like=` a whole dataset.
#
# ## Exercises
#
# 1. Point the viewer at a clean corpus, `corpus = make_corpus(difficulty=0)` (no noise,
#    drift, blinks or flicker), and re-run the viewer cells. Does the change curve now
#    peak at the apex? Then try `difficulty="hard"`. *Hint: compare the curve with
#    `corpus.ground_truth(uid)["expression"]`; `difficulty_knobs(0)` lists what was
#    switched off.*
# 2. Compute the majority baseline for the MEGC 2019 composite (SMIC-HS + CASME II +
#    SAMM mapped to negative / positive / surprise). *Hint: `load(...).map_classes("megc2019")`
#    on real copies, or add up Table 2 by hand: SMIC's negative, CASME II's disgust and
#    repression, SAMM's anger, contempt, disgust, fear and sadness are "negative".*
# 3. With `balance="samm"`, which class would a majority classifier predict, and what
#    accuracy would it reach on SAMM? *Hint: `majority_baseline` on the SAMM row of
#    Table 2.*
# 4. For one synthetic clip, find the frame where the eyelids are most closed and look at
#    it in the viewer. Does the change curve tell a blink from an expression? *Hint:
#    `int(truth["blink"].values.argmax())`; a blink is fast and local to the eyes.*
