# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Recognition: SVMs, the thesis's grid search, and honest evaluation
#
# Chapters 5 and 6 turned every clip into a vector of numbers. Recognition is the last
# step: a **classifier** learns, from the vectors of labelled clips, to name the emotion
# of a clip it has not seen. The thesis, like most of the field, uses a **support vector
# machine (SVM)** with a polynomial kernel, and tunes its four hyper-parameters with a
# grid search of 6,400 settings, keeping the one with the best macro F1.
#
# Two questions matter as much as the classifier itself:
#
# - **What is "unseen"?** If the same person appears in the training and the test data,
#   the classifier may recognise the *person* rather than the *expression*. The
#   evaluation protocol (leave one video out, leave one subject out, cross-database)
#   decides what the score measures.
# - **Who chooses the hyper-parameters?** If the grid search picks the setting that does
#   best on the very predictions it then reports, the score is partly luck of the draw.
#   A *nested* search chooses without looking at the test subject.
#
# In this chapter you will
#
# 1. build the polynomial kernel from scratch on a toy problem and check it against
#    scikit-learn;
# 2. see why the thesis grid is affordable: one Gram matrix serves every setting;
# 3. compare the protocols, and watch a person's face leak into the score;
# 4. measure how optimistic "select on the test predictions" is, against nested LOSO;
# 5. try the other classifiers of the literature, and play with one in a widget.

# %%
import json
import time

import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.svm import SVC

from mer_lab import viz
from mer_lab.compare import synthetic_composite
from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.evaluation.experiment import compute_features, run_experiment
from mer_lab.evaluation.metrics import baseline_scores, confusion_matrix, scores
from mer_lab.evaluation.protocols import protocol_folds, run_protocol
from mer_lab.evaluation.search import poly_grid
from mer_lab.methods import make_pipeline

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as found, e.g. "casme2"

# %% [markdown]
# A small corpus keeps the chapter fast: 6 subjects with 6 clips each, the five CASME II
# classes, 64x64 frames. With a licensed dataset we take its first 6 subjects (drop the
# `filter` to use them all, and expect to wait).

# %%
if DATASET == "synthetic":
    corpus = make_corpus(n_subjects=6, clips_per_subject=6, size=64, seed=0)
else:
    full = load(DATASET)
    corpus = full.filter(subject=list(full.samples["subject"].unique()[:6]))
y, groups = corpus.labels, corpus.groups
corpus.class_counts()

# %% [markdown]
# ## 1. The SVM and its polynomial kernel
#
# A linear SVM separates two classes by the hyperplane with the widest empty margin
# around it; the training samples on the margin's edge (the *support vectors*) define
# it. Real classes rarely separate so neatly, so the SVM lets some samples sit inside
# the margin or on the wrong side, at a cost `C` each: a small `C` buys a wide margin
# that ignores a few awkward samples, a large `C` bends over backwards to classify every
# training sample.
#
# The SVM's training and prediction only ever need **dot products** `x'z` between
# samples. Replace every dot product by a *kernel* `K(x, z)` and the SVM draws a linear
# boundary in a space of transformed features that is never built. The thesis's kernel
# is polynomial:
#
# $$K(x, z) = (\gamma\, x^\top z + coef)^{degree}$$
#
# Here is a problem no straight line solves: one class inside a disc, the other on a
# ring around it.

# %%
rng = np.random.default_rng(0)
angle = rng.uniform(0, 2 * np.pi, 120)
radius = np.r_[rng.uniform(0, 1, 60), rng.uniform(1.3, 2.2, 60)]
toy_X = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
toy_y = np.repeat(["inner", "outer"], 60)

# %% [markdown]
# The kernel from scratch is one line of numpy: a matrix of dot products, scaled,
# shifted and raised to a power, elementwise.

# %%
def poly_kernel(A, B, *, gamma, coef, degree):
    """(gamma a'b + coef)^degree for every row a of A and b of B."""
    return (gamma * A @ B.T + coef) ** degree


# %% [markdown]
# With `degree=2, coef=1, gamma=1` the kernel is a plain dot product between six
# explicit features, `(x1², x2², √2 x1 x2, √2 x1, √2 x2, 1)`: the squares make
# "distance from the centre" available, and in that space a disc and a ring *are*
# linearly separable. A check on two points:

# %%
def phi(x):
    s = np.sqrt(2)
    return np.array([x[0] ** 2, x[1] ** 2, s * x[0] * x[1], s * x[0], s * x[1], 1.0])


a, b = toy_X[0], toy_X[70]
poly_kernel(a[None], b[None], gamma=1, coef=1, degree=2).item(), phi(a) @ phi(b)

# %% [markdown]
# scikit-learn's `SVC` (libsvm inside) accepts a kernel matrix we computed ourselves
# (`kernel="precomputed"`): rows are the samples to classify, columns the training
# samples. It gives the same predictions as its own `kernel="poly"`:

# %%
setting = dict(gamma=0.5, coef=1.0, degree=2)
xx, yy = np.meshgrid(np.linspace(-2.5, 2.5, 101), np.linspace(-2.5, 2.5, 101))
plane = np.c_[xx.ravel(), yy.ravel()]
ours = SVC(kernel="precomputed", C=1).fit(poly_kernel(toy_X, toy_X, **setting), toy_y)
theirs = SVC(kernel="poly", C=1, gamma=0.5, coef0=1.0, degree=2).fit(toy_X, toy_y)
np.mean(ours.predict(poly_kernel(plane, toy_X, **setting)) == theirs.predict(plane))

# %% [markdown]
# The figure shows the decision function over the plane (blue: "inner", red: "outer",
# the boundary where the colours meet) for three settings. Look at how the boundary
# changes: with `degree=1` the kernel is linear and the best it can do is a straight cut
# through both classes; `degree=2` finds the circle; `degree=5` with a large `C` follows
# individual samples, a boundary that would not survive new data.

# %%
def boundary(C, degree, coef=1.0, gamma=0.5):
    model = SVC(kernel="poly", C=C, degree=degree, coef0=coef, gamma=gamma).fit(toy_X, toy_y)
    f = model.decision_function(plane).reshape(xx.shape)
    img = hv.Image((xx[0], yy[:, 0], np.clip(f, -2, 2)), kdims=["x1", "x2"], vdims=["decision function"])
    points = hv.Points(pd.DataFrame({"x1": toy_X[:, 0], "x2": toy_X[:, 1], "class": toy_y}),
                       kdims=["x1", "x2"], vdims=["class"])
    acc = np.mean(model.predict(toy_X) == toy_y)
    return (img.opts(cmap="RdBu_r", clim=(-2, 2), colorbar=True, frame_width=220, frame_height=220)
            * points.opts(color="class", cmap={"inner": "navy", "outer": "darkred"}, size=4, line_color="white")
            ).opts(title=f"degree {degree}, C={C}: training acc. {acc:.2f}", xlabel="feature x1", ylabel="feature x2")


boundary(1, 1) + boundary(1, 2) + boundary(1000, 5, gamma=1.0)

# %% [markdown]
# **More than two classes.** libsvm trains one SVM per pair of classes (10 for the five
# CASME II classes) and lets them vote. Everything above carries over.

# %% [markdown]
# ## 2. The thesis's grid, and why it is affordable
#
# The thesis searches degree 2-5, coef 0-3, C in {0.1, 1, 10, 100} and gamma from 0.01 to
# 1 in steps of 0.01 (steps of 0.1 for the long LBP-TOP and Sparse MDMO vectors):

# %%
thesis_grid = poly_grid("thesis")
print(thesis_grid.n_settings, "settings;", poly_grid("thesis_coarse").n_settings, "with gamma steps of 0.1")
thesis_grid.settings().sample(5, random_state=0)

# %% [markdown]
# Every setting is trained and tested once per fold. Under leave-one-subject-out on
# CASME II (26 subjects) that is 26 x 6,400 = **166,400 SVM trainings** for one table
# entry. Computing each kernel from the features would cost `n² d` multiplications per
# setting. But look at the formula again: the features enter only through the dot
# products `x'z`. Compute the **Gram matrix** `G = Z Z'` once, and every kernel of the
# grid is an elementwise function of it. For a CASME II-sized problem with LBP-TOP-sized
# vectors (247 clips, 11,328 numbers each):

# %%
Z = rng.normal(size=(247, 11328))
start = time.perf_counter(); G = Z @ Z.T; gram_s = time.perf_counter() - start
start = time.perf_counter(); K = (0.1 * G + 1.0) ** 3; kernel_s = time.perf_counter() - start
print(f"Gram matrix once: {gram_s * 1e3:.1f} ms; each kernel from it: {kernel_s * 1e3:.2f} ms")
print(f"6,400 kernels from the features: ~{6400 * (gram_s + kernel_s):.0f} s; from one Gram matrix: "
      f"~{gram_s + 6400 * kernel_s:.1f} s")

# %% [markdown]
# When the features are not rescaled per fold (the thesis fed MDMO to the SVM as it is),
# one Gram matrix of the whole corpus even serves every fold: a fold's training kernel is
# the block of rows and columns of its training clips, its test kernel the block of test
# rows and training columns. Let's check that on the MDMO features of our corpus
# (chapter 6; the fast Farnebäck flow instead of the thesis's TV-L1):

# %%
MDMO = {"engine": "farneback"}
F_mdmo = compute_features(corpus, "mdmo", params=MDMO, progress=False)  # (sample, feature), labelled
X_mdmo = F_mdmo.values
folds = protocol_folds("loso", y=y, groups=groups)
G_all = X_mdmo @ X_mdmo.T
X_mdmo.shape, len(folds)

# %%
name, train, test = folds[0]
K_train = (0.5 * G_all[np.ix_(train, train)] + 1.0) ** 3   # gamma 0.5, coef 1, degree 3
K_test = (0.5 * G_all[np.ix_(test, train)] + 1.0) ** 3
sliced = SVC(kernel="precomputed", C=10).fit(K_train, y[train]).predict(K_test)
direct = SVC(kernel="poly", C=10, gamma=0.5, coef0=1.0, degree=3).fit(X_mdmo[train], y[train]).predict(X_mdmo[test])
print(f"fold {name}: sliced Gram == SVC(kernel='poly'): {np.array_equal(sliced, direct)}")

# %% [markdown]
# `mer_lab.evaluation` does this for the whole grid, and two more things: training sets
# that occur twice are fitted once, and values of `C` that provably cannot change the
# solution (the constraint `alpha <= C` is never reached) are answered without another
# fit. Here is the **full thesis grid** on our corpus, selecting like the thesis does
# (`search="thesis"`, explained in section 4). `stats` counts the libsvm fits actually
# run and those answered by the `C` shortcut:

# %%
start = time.perf_counter()
full_run = run_protocol(X_mdmo, y, groups=groups, protocol="loso", search="thesis", grid="thesis",
                        preprocessing="none", n_jobs=2, warn=False)
full_s = time.perf_counter() - start
print(f"{full_s:.1f} s;", {k: full_run.stats[k] for k in ("settings", "training_sets", "fits", "reused")})
json.loads(full_run.selected["params"].iloc[0])

# %% [markdown]
# The chosen quadruple (degree, coef, gamma, C) is what the thesis reports next to each
# score. Is the fast path exact? Refit the chosen setting the slow way, one
# `SVC(kernel="poly")` per LOSO fold, and compare every prediction:

# %%
best = json.loads(full_run.selected["params"].iloc[0])
slow = SVC(kernel="poly", degree=best["degree"], coef0=best["coef"], gamma=best["gamma"], C=best["C"])
brute = cross_val_predict(slow, X_mdmo, y, groups=groups, cv=LeaveOneGroupOut())
print("same predictions:", np.array_equal(brute, full_run.predictions["predicted"].to_numpy().astype(str)))

# %% [markdown]
# The same experiment starting from the clips: a named method is a scikit-learn
# `Pipeline` (`mer_lab.methods.make_pipeline`) whose steps run from cubes to predictions
# (TIM and EVM when used, the feature transformer, per-fold scaling, the classifier), so
# scikit-learn's own cross-validation takes the clips directly:

# %%
pipe = make_pipeline("mdmo", **MDMO, classifier__degree=best["degree"], classifier__coef0=best["coef"],
                     classifier__gamma=best["gamma"], classifier__C=best["C"])
cubes = [cube for _uid, cube in corpus.cubes()]
from_clips = cross_val_predict(pipe, cubes, y, groups=groups, cv=LeaveOneGroupOut())
print([step for step, _ in pipe.steps], "same predictions:", np.array_equal(from_clips, brute))

# %% [markdown]
# ## 3. Protocols: what does "unseen" mean?
#
# - **LOVO** (leave one video out): every clip is the test set once, and all the others
#   train. The test person's other clips are in the training set.
# - **LOSO** (leave one subject out): all clips of one person form the test set. The
#   classifier never sees the test face.
# - **Cross-database**: train on whole datasets, test on another, recorded with another
#   camera, lighting, population and labelling team.
#
# Each row of the figures below is one fold, each column one clip (sorted by subject);
# dark red is the test set, light blue the training set. LOVO has as many folds as
# clips, LOSO one per subject, and the cross-database protocol on the synthetic
# composite (three synthetic "databases" recorded at 100, 200 and 60 fps, the third
# with CASME II's class balance) one per database.

# %%
composite = synthetic_composite(n_subjects=2, clips_per_subject=6, size=64)

# %%
def fold_map(folds, n, title):
    roles = np.zeros((len(folds), n))
    for i, (_name, tr, te) in enumerate(folds):
        roles[i, tr], roles[i, te] = 1, 2
    ticks = {"yticks": list(range(len(folds)))} if len(folds) <= 12 else {}
    return hv.Image(roles[::-1], bounds=(-0.5, -0.5, n - 0.5, len(folds) - 0.5),
                    kdims=[hv.Dimension("clip", label="clip (sorted by subject)"), hv.Dimension("fold")],
                    vdims=["role"]).opts(cmap=["white", "lightsteelblue", "darkred"], clim=(0, 2), title=title,
                                         frame_width=220, frame_height=180, invert_yaxis=True, tools=["hover"],
                                         **ticks)


# %%
order = np.argsort(groups, kind="stable")
c_s = composite.samples
(fold_map(protocol_folds("lovo", y=y[order]), len(y), "LOVO")
 + fold_map(protocol_folds("loso", y=y[order], groups=groups[order]), len(y), "LOSO")
 + fold_map(protocol_folds("cross", y=c_s["label"].to_numpy(), datasets=c_s["dataset"].to_numpy()),
            len(c_s), "cross-database (composite)")).opts(shared_axes=False)

# %% [markdown]
# ### A face leaks into LOVO
#
# Appearance features such as HOG-TOP (chapter 5) describe the face as much as its
# movement. From scratch: for each clip, find its nearest neighbour among all the other
# clips (Euclidean distance between z-scored HOG-TOP vectors) and ask whether it belongs
# to the same person, and whether it shows the same emotion.

# %%
X_hog = compute_features(corpus, "hog_top", progress=False).values

# %%
def nearest_neighbours(X):
    Zs = (X - X.mean(0)) / (X.std(0) + 1e-12)
    D = cdist(Zs, Zs)
    np.fill_diagonal(D, np.inf)
    return D.argmin(axis=1)


# %%
nn = nearest_neighbours(X_hog)
print(f"nearest clip is the same person: {np.mean(groups[nn] == groups):.0%}; "
      f"same emotion: {np.mean(y[nn] == y):.0%}")

# %% [markdown]
# The nearest clip is almost always the same face. What that does to the score depends
# on how emotions are spread over people:
#
# - in our synthetic corpus every subject shows every class about once, so a subject's
#   other clips are *other* emotions, and a 1-nearest-neighbour classifier under LOVO
#   is worse than chance;
# - in real datasets people have favourite emotions (in CASME II some subjects show no
#   surprise at all, some mostly disgust), so the same face often carries the same label,
#   and LOVO flatters.
#
# We can build the second situation: a wider synthetic corpus, of which each subject
# keeps only the clips of two "favourite" classes. (This experiment stays synthetic
# whatever `DATASET` says.)

# %%
wide = make_corpus(n_subjects=6, clips_per_subject=10, size=64, seed=0)
names = sorted(wide.classes)
subjects = sorted(wide.samples["subject"].unique())
favourite = {sub: {names[i % 5], names[(i + 1) % 5]} for i, sub in enumerate(subjects)}
biased = wide.filter([lab in favourite[sub] for sub, lab in zip(wide.samples["subject"], wide.samples["label"])])
pd.crosstab(biased.samples["subject"], biased.samples["label"])

# %% [markdown]
# Now the same 1-nearest-neighbour classifier under both protocols, on both corpora
# (through `run_protocol`, which fits the z-scoring inside every training fold):

# %%
def macro_f1_of(run, mode="none"):
    p = run.predictions[run.predictions["search"] == mode]
    return scores(p["true"], p["predicted"])["macro_f1"]


# %%
rows = []
for label, c, X in [("balanced subjects", corpus, X_hog),
                    ("subjects with favourites", biased, compute_features(biased, "hog_top", progress=False).values)]:
    for protocol in ("lovo", "loso"):
        run = run_protocol(X, c.labels, groups=c.groups, protocol=protocol, classifier="knn",
                           params={"n_neighbors": 1}, warn=False)
        rows.append({"corpus": label, "protocol": protocol.upper(), "macro F1": macro_f1_of(run)})
protocols = pd.DataFrame(rows)
protocols.pivot(index="corpus", columns="protocol", values="macro F1").round(3)

# %% [markdown]
# In the bars, compare the two colours within each group. With favourite emotions, LOVO
# scores well above LOSO although nothing about the *expressions* changed: the
# classifier recognises people. With balanced subjects the same leak pushes LOVO below
# LOSO. Either way LOVO measures a mixture of face and expression recognition; LOSO
# removes the face from the question, which is why the thesis (and this course) use it.

# %%
hv.Bars(protocols, kdims=["corpus", "protocol"], vdims=[hv.Dimension("macro F1", range=(0, 1))]).opts(
    frame_width=420, frame_height=240, color="protocol", cmap="Category10", tools=["hover"],
    xlabel="corpus and protocol", ylabel="macro F1 (1-NN on HOG-TOP)", title="The same classifier, two protocols")

# %% [markdown]
# ### Cross-database
#
# Leave one database out on the synthetic composite: train on two synthetic "databases",
# test on the third. Bi-WOOF features (chapter 6) are quick to compute; the SVM is
# linear with C = 1 to keep the comparison simple.

# %%
X_comp = compute_features(composite, "biwoof", params={"engine": "farneback"}, progress=False).values

# %%
cross = {}
for protocol in ("loso", "cross"):
    run = run_protocol(X_comp, c_s["label"].to_numpy(), groups=c_s["group"].to_numpy(),
                       datasets=c_s["dataset"].to_numpy(), protocol=protocol, classifier="svm_linear",
                       params={"C": 1}, warn=False)
    p = run.predictions
    cross[protocol] = {d: scores(q["true"], q["predicted"])["macro_f1"] for d, q in p.groupby("dataset")}
pd.DataFrame(cross).rename(columns={"loso": "LOSO", "cross": "leave one database out"}).round(3)

# %% [markdown]
# On these synthetic databases the two protocols score alike (leaving a database out is
# even a little better here). That is an honest result about the synthetic data, not
# about the protocol: the three parts come from the same face and motion generator and
# differ only in frame rate and class balance, and Bi-WOOF's onset-to-apex flow does not
# care about the frame rate. Real databases differ
# in much more (camera, resolution, lighting, people, how the labels were made), and
# cross-database scores are typically far lower than LOSO ones; exercise 3 builds
# synthetic databases that differ more.

# %% [markdown]
# ## 4. Selecting on the test predictions vs nested LOSO
#
# The thesis chose, for each method and dataset, the setting of the grid with the best
# macro F1 **on the LOSO predictions**, and reported that F1. mer_lab calls this
# `search="thesis"`. The problem: the test subjects' labels took part in choosing. With
# 640 or 6,400 settings, some will do well on these particular clips by luck, and the
# maximum of many noisy scores is biased upwards.
#
# **Nested LOSO** (`search="nested"`) repeats the whole search inside every training
# part: for outer fold *k*, an inner LOSO over the other subjects picks the setting, which
# is then trained on all of them and applied to subject *k*, who took no part in the
# choice. It is mer_lab's default; `report_thesis=True` adds the thesis-mode predictions,
# so `run_protocol` returns both.
#
# A clean test of the idea: features of **pure noise**, which carry no information about
# the labels at all. Nothing can be learned from them, so an honest estimate has no
# reason to beat chance. Five draws of noise, each searched on the 640 settings of
# `"thesis_coarse"`:

# %%
def noise_features(seed):
    return np.random.default_rng(seed).normal(size=(len(y), 72))


# %%
noise_runs = [run_protocol(noise_features(seed), y, groups=groups, search="nested", grid="thesis_coarse",
                           report_thesis=True, n_jobs=2, warn=False) for seed in range(5)]


# %%
noise_table = pd.DataFrame([{"draw": seed, "thesis": macro_f1_of(run, "thesis"), "nested": macro_f1_of(run, "nested")}
                            for seed, run in enumerate(noise_runs)])
chance = baseline_scores(corpus.class_counts())
noise_table.set_index("draw").round(3).T

# %% [markdown]
# In every draw the thesis-mode number is the higher one. The nested numbers mostly fall
# below random guessing (about 0.2 for five classes): many settings end up predicting
# nearly everything as one class (macro F1 near the majority baseline, 0.07), and under
# LOSO the training part lacks exactly the test subject's clips, so a classifier that
# leans on class frequencies guesses slightly *against* the test subject (the same
# effect that pushed LOVO down in section 3).
#
# Why thesis mode is optimistic, in one picture: the histogram shows the pooled macro F1
# of each of the 640 settings on the first noise draw. They scatter around a typical
# value (grey: the median setting); thesis mode reports the **best** of them (red), nested
# LOSO a setting chosen without the test subject (black).

# %%
noise_run = noise_runs[0]
search_f1 = noise_run.search_scores["macro_f1"]
counts, edges = np.histogram(search_f1, bins=20)
(hv.Histogram((edges, counts), kdims=[hv.Dimension("macro_f1", label="pooled LOSO macro F1 of a setting")],
              vdims=[hv.Dimension("settings", label="number of settings")])
 * hv.VLine(search_f1.median()).opts(color="gray", line_width=2)
 * hv.VLine(macro_f1_of(noise_run, "thesis")).opts(color="red", line_width=2)
 * hv.VLine(macro_f1_of(noise_run, "nested")).opts(color="black", line_dash="dashed", line_width=2)
 ).opts(frame_width=480, frame_height=220, title="The 640 settings on noise features")

# %% [markdown]
# Now real features: MDMO and Bi-WOOF (motion) and HOG-TOP (appearance), each searched
# on the 640 settings of `"thesis_coarse"` (the full grid gives the same picture and
# costs 10 times more), with the mean of the noise draws for comparison.

# %%
X_biwoof = compute_features(corpus, "biwoof", params={"engine": "farneback"}, progress=False).values
features = {"MDMO": (X_mdmo, "none"), "Bi-WOOF": (X_biwoof, "none"), "HOG-TOP": (X_hog, "none")}

# %%
nested_runs, rows = {}, []
for label, (X, prep) in features.items():
    run = run_protocol(X, y, groups=groups, search="nested", grid="thesis_coarse", preprocessing=prep,
                       report_thesis=True, n_jobs=2, warn=False)
    nested_runs[label] = run
    rows.append({"features": label, "thesis": macro_f1_of(run, "thesis"), "nested": macro_f1_of(run, "nested")})
rows.append({"features": "noise (5 draws)", **noise_table[["thesis", "nested"]].mean()})
gaps = pd.DataFrame(rows).assign(gap=lambda d: d["thesis"] - d["nested"])
gaps.round(3)

# %% [markdown]
# Each line below joins a method's nested macro F1 (black) to its thesis-mode macro F1
# (red); its length is the optimism. The dashed line is the majority baseline. Look at
# the noise row first: its whole gap is selection, not recognition. Then at the real
# features: every one has a gap too, so a thesis-mode number overstates what the method
# would do on a new subject. (With 36 clips each number here moves by several points
# with the corpus seed; exercise 2 asks how much.)

# %%
dumbbell = (hv.Segments(gaps, kdims=[hv.Dimension("nested", label="macro F1"), "features", "thesis", "features"])
            .opts(color="gray", line_width=3)
            * hv.Scatter(gaps, "nested", "features", label="nested LOSO").opts(color="black", size=10)
            * hv.Scatter(gaps, "thesis", "features", label="thesis mode").opts(color="red", size=10)
            * hv.VLine(chance["macro_f1"]).opts(color="gray", line_dash="dashed"))
dumbbell.opts(frame_width=420, frame_height=220, xlim=(0, 1), legend_position="right", xlabel="pooled LOSO macro F1",
              ylabel="features", title="Optimism of selecting on the test predictions")

# %% [markdown]
# Nested LOSO also shows how unstable the choice is: the inner searches of different
# folds pick different settings for the same features.

# %%
chosen = nested_runs["MDMO"].selected.query("search == 'nested'")
pd.DataFrame([{"held-out subject": f, **json.loads(p)} for f, p in zip(chosen["fold"], chosen["params"])])

# %% [markdown]
# **What it costs.** Nested LOSO fits every setting on every training set of every inner
# fold: with *S* subjects about *S(S-1)/2* distinct training sets instead of *S* (mer_lab
# fits the training set "all but subjects *j* and *k*" once for both outer folds that
# need it), so roughly `(S + 1) / 2` times thesis mode. The full grid in thesis mode took
# the time measured in section 2; the estimate for nested on this corpus and on CASME II:

# %%
n_subj = len(np.unique(groups))
print(f"this corpus ({n_subj} subjects): thesis mode {full_s:.1f} s, nested ~{full_s * (n_subj + 1) / 2:.0f} s")
print("CASME II (26 subjects): nested needs ~13.5x the time of thesis mode")

# %% [markdown]
# ## 5. Other classifiers
#
# The thesis lists the classifiers the field has used besides the SVM: AdaBoost, random
# forests, k-nearest neighbours and extreme learning machines (a random, untrained hidden
# layer followed by a least-squares output layer). `make_classifier` builds each of them
# by name; here they run under LOSO on the MDMO features with their default settings.
# The dashed lines are the majority baseline's accuracy and macro F1.

# %%
CLASSIFIERS = ["svm_linear", "svm_rbf", "knn", "random_forest", "adaboost", "elm"]
rows = []
for clf in CLASSIFIERS:
    run = run_protocol(X_mdmo, y, groups=groups, classifier=clf, preprocessing="standard", seed=0, warn=False)
    p = run.predictions
    rows.append({"method": clf, **scores(p["true"], p["predicted"])})

# %%
nested_mdmo = nested_runs["MDMO"].predictions.query("search == 'nested'")
rows.append({"method": "svm_poly (nested)", **scores(nested_mdmo["true"], nested_mdmo["predicted"])})
classifier_scores = pd.DataFrame(rows)
viz.score_bars(classifier_scores, baseline=chance).opts(title="Classifiers on MDMO features, LOSO")

# %% [markdown]
# With 36 clips the ranking between classifiers is within noise; what the figure does
# show is that no classifier rescues weak features, and that every one of them is above
# the baseline on MDMO. The choice of features (chapters 5-6) and of protocol matters
# more than the choice of classifier.

# %% [markdown]
# ## 6. Try it: classifier and C
#
# Pick a classifier and, for the SVMs, the cost `C`. The panel is the LOSO confusion
# matrix on the MDMO features (rows: true class, columns: predicted), the title gives
# accuracy and macro F1. Things to try: for the RBF and polynomial SVMs, a small `C`
# (0.1 or less) costs a lot — with 30 training clips, a margin that is allowed to ignore
# many of them ignores too many; from `C = 10` on nothing changes any more, because no
# `alpha` reaches the bound `C` (the shortcut of section 2). The linear SVM separates
# these training sets at any `C` down to 0.01. k-NN, the random forest, AdaBoost and the
# ELM ignore `C`.

# %%
def try_classifier(classifier, C):
    params = {"C": C} if classifier.startswith("svm") else {}
    run = run_protocol(X_mdmo, y, groups=groups, classifier=classifier, params=params, preprocessing="standard",
                       warn=False)
    p = run.predictions
    s = scores(p["true"], p["predicted"])
    title = f"{classifier}: accuracy {s['accuracy']:.2f}, macro F1 {s['macro_f1']:.2f}"
    return viz.confusion_heatmap(confusion_matrix(p["true"], p["predicted"], labels=corpus.classes),
                                 title=title, width=300)


# %%
widgets.interact(try_classifier, classifier=widgets.Dropdown(options=CLASSIFIERS + ["svm_poly"], value="svm_linear"),
                 C=widgets.SelectionSlider(options=[0.001, 0.01, 0.1, 1, 10, 100, 1000], value=1));

# %% [markdown]
# ## Summary
#
# - An SVM only needs dot products; the polynomial kernel `(gamma x'z + coef)^degree`
#   replaces them and draws curved boundaries. A precomputed kernel matrix gives
#   libsvm's own answers.
# - The thesis grid has 6,400 settings. Because every kernel is an elementwise function
#   of the Gram matrix, mer_lab computes that once per training set; with shared
#   training sets and an exact shortcut over `C`, the full grid under LOSO takes seconds
#   here and well under a minute for CASME II on two cores.
# - LOVO lets the test person's face into training, and its score then depends on how
#   emotions are spread over people; LOSO removes the face; cross-database also changes
#   the recording conditions (barely, for the synthetic composite).
# - Selecting hyper-parameters on the test predictions ("thesis" mode) lifts even pure
#   noise above its honest estimate. Nested LOSO is the honest estimate; report it, and the gap.
# - Other classifiers (k-NN, random forest, AdaBoost, ELM) are one `make_classifier`
#   name away; on small data their differences are mostly noise.
#
# ## Exercises
#
# 1. Repeat the toy experiment with `gamma=0.05` and `degree=2`. Why does the boundary
#    get worse even though the kernel is the "right" one? *Hint: the kernel is
#    `(0.05 x'z + 1)^2`; expand it and look at the weight of the squared terms relative
#    to the constant and linear ones — then try a larger C.*
# 2. How much do the MDMO numbers of section 4 move with the corpus? Rebuild the corpus
#    with `seed=1` and `seed=2` and rerun the thesis-vs-nested cell. Is the gap always
#    there? *Hint: `make_corpus(n_subjects=6, clips_per_subject=6, size=64, seed=1)`, then
#    `compute_features(...)` again; each new corpus costs the MDMO features once.*
# 3. Build a composite whose databases differ more, e.g. one `make_corpus(...,
#    difficulty="easy")` and one `difficulty="hard"` with different seeds, joined with
#    `mer_lab.datasets.composite([...])` after renaming their `dataset` column, and
#    compare LOSO with leave-one-database-out. *Hint: look at how
#    `mer_lab.compare.synthetic_composite` renames its parts.*
# 4. Run `search="nested"` with `metric="accuracy"` instead of macro F1 on the MDMO
#    features. Which settings get chosen, and what happens to the macro F1? *Hint:
#    `run_protocol(..., metric="accuracy")`; compare `selected` with the runs above.*
