# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Metrics: accuracy, macro F1, UF1, UAR — and how to average them
#
# A score is only as honest as the question it answers. "What share of the clips did
# the classifier get right?" (accuracy) sounds like the natural question, but ME datasets
# are lopsided: in CASME II 40 % of the clips are "others", in SAMM 36 % are "anger". A
# classifier that has learned nothing and answers "others" every time is right 40 % of
# the time on CASME II. The thesis therefore reports **macro F1** next to accuracy, and
# both next to that do-nothing **baseline**.
#
# In this chapter you will
#
# 1. compute a confusion matrix, precision, recall and F1 by hand and check them against
#    `mer_lab.evaluation.metrics`;
# 2. rebuild the thesis's Table 3 baseline row from class counts alone, and see why
#    weighted F1 would hide the problem;
# 3. meet UF1 and UAR, the metrics of the MEGC challenges;
# 4. read confusion matrices of two classifiers with similar accuracy and very different
#    macro F1;
# 5. see why scores are pooled over LOSO folds rather than averaged;
# 6. move the class balance with a slider and watch accuracy and macro F1 part ways.

# %%
import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from mer_lab import viz
from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.evaluation.experiment import PUBLISHED, PUBLISHED_MEGC, compute_features
from mer_lab.evaluation.metrics import baseline_scores, confusion_matrix, per_class_scores, scores
from mer_lab.evaluation.protocols import run_protocol

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as found, e.g. "casme2"

# %% [markdown]
# The corpus of this chapter copies CASME II's class proportions (chapter 1): 12
# subjects with 4 clips each, "others" the largest class. With a licensed dataset, its
# own (imbalanced) distribution is used as it is.

# %%
if DATASET == "synthetic":
    corpus = make_corpus(n_subjects=12, clips_per_subject=4, size=64, balance="casme2", seed=0)
else:
    corpus = load(DATASET)
corpus.class_counts()

# %% [markdown]
# ## 1. From a confusion matrix to F1, by hand
#
# Ten clips, three classes, and the predictions of some classifier:

# %%
true = np.array(["others"] * 6 + ["disgust"] * 3 + ["surprise"])
pred = np.array(["others"] * 5 + ["disgust"] + ["disgust", "disgust", "others"] + ["others"])
classes = np.array(["disgust", "others", "surprise"])

# %% [markdown]
# The **confusion matrix** counts, for every true class (row) and predicted class
# (column), how many clips fall in that cell. The diagonal holds the correct answers.

# %%
index = {c: i for i, c in enumerate(classes)}
M = np.zeros((3, 3), int)
np.add.at(M, ([index[t] for t in true], [index[p] for p in pred]), 1)
M

# %% [markdown]
# For every class, the diagonal cell is its true positives (TP); the rest of its column
# are false positives (FP: clips wrongly given this class), the rest of its row false
# negatives (FN: clips of this class given another). Then (thesis eqs. 3-5)
#
# - precision = TP / (TP + FP): when the classifier says "disgust", how often is it?
# - recall = TP / (TP + FN): of the disgust clips, how many did it find?
# - F1 = 2 TP / (2 TP + FP + FN), the harmonic mean of the two.
#
# A class that is never predicted gets precision 0 (by convention) and F1 0.

# %%
tp = np.diag(M)
fp, fn = M.sum(axis=0) - tp, M.sum(axis=1) - tp
precision = np.divide(tp, tp + fp, out=np.zeros(3), where=tp + fp > 0)
recall = tp / (tp + fn)
f1 = 2 * tp / (2 * tp + fp + fn)
pd.DataFrame({"precision": precision, "recall": recall, "F1": f1, "support": M.sum(axis=1)}, index=classes).round(3)

# %% [markdown]
# Accuracy is the diagonal's share of all clips. **Macro F1** is the plain mean of the
# per-class F1 scores: every class counts the same, however small. **Weighted F1**
# weights each class's F1 by its share of the clips, which brings the big classes back
# to the front.

# %%
accuracy = np.trace(M) / M.sum()
macro = f1.mean()
weighted = (f1 * M.sum(axis=1)).sum() / M.sum()
print(f"accuracy {accuracy:.3f}, macro F1 {macro:.3f}, weighted F1 {weighted:.3f}")

# %% [markdown]
# The same with mer_lab (and scikit-learn as a second opinion):

# %%
print(per_class_scores(true, pred).round(3))
print({k: round(v, 3) for k, v in scores(true, pred).items() if k != "average"})
print("scikit-learn macro F1:", round(f1_score(true, pred, average="macro"), 3))

# %% [markdown]
# Read the numbers: 70 % accuracy sounds decent, but the single surprise clip was
# missed and nothing was ever called surprise, so one class in three has F1 = 0 and
# macro F1 is below 0.5. Weighted F1 barely notices, because surprise is one clip in ten.

# %% [markdown]
# ## 2. The majority baseline, from class counts alone
#
# The thesis's baseline is a dummy classifier that answers the most frequent class for
# every clip. Its scores need no experiment, only the class counts. With `n` clips,
# `n_m` of them in the majority class, and `K` classes:
#
# - accuracy = `n_m / n`;
# - the majority class has recall 1 and precision `n_m / n`, so its F1 is
#   `2 n_m / (n_m + n)`; every other class has F1 0;
# - macro F1 = `2 n_m / (n_m + n) / K`; weighted F1 = `(n_m / n) · 2 n_m / (n_m + n)`.

# %%
def majority(n_m, n, k):
    f1_m = 2 * n_m / (n_m + n)
    return {"accuracy": n_m / n, "macro F1": f1_m / k, "weighted F1": n_m / n * f1_m}


majority(70, 164, 3)  # SMIC-HS: negative 70 of 164 clips, 3 classes

# %% [markdown]
# `baseline_scores` does the same from a full table of counts. Here are the four
# datasets of the thesis's Table 3, with the class counts the thesis used, next to its
# published baseline row:

# %%
TABLE3_COUNTS = {
    "smic": {"negative": 70, "positive": 51, "surprise": 43},
    "casme2": {"others": 99, "disgust": 63, "happiness": 33, "repression": 27, "surprise": 25},
    "samm": {"anger": 57, "contempt": 12, "fear": 8, "disgust": 9, "happiness": 26, "other": 26, "sadness": 6,
             "surprise": 15},
}
rows = []
for name, counts in TABLE3_COUNTS.items():
    b = baseline_scores(counts)
    rows.append({"dataset": name, "clips": b["n_samples"], "classes": b["n_classes"], "majority": b["majority"],
                 "accuracy": b["accuracy"], "macro F1": b["macro_f1"], "weighted F1": b["weighted_f1"],
                 "thesis accuracy": PUBLISHED[(name, "baseline")][0], "thesis F1": PUBLISHED[(name, "baseline")][1]})
pd.DataFrame(rows).round(4)

# %% [markdown]
# Every number matches to four decimals. Two remarks on where the counts come from:
#
# - For CASME II the thesis's own Table 2 says "others 102, disgust 60"; the published
#   baseline 0.4008 = 99 / 247 follows from the coding file distributed with the data
#   (99 and 63), which is therefore what the experiment used.
# - For CASME the Table 2 counts (disgust 88 of 192) would give 0.4583. The experiment
#   used the 189 clips that have a row in the coding sheet, and the published accuracy
#   fixes the majority class: 0.3651 × 189 = 69.0 disgust clips. The other classes'
#   counts do not matter, only `n_m`, `n` and `K`:

# %%
{k: round(v, 4) for k, v in majority(69, 189, 8).items()}, PUBLISHED[("casme", "baseline")]

# %% [markdown]
# The thesis also remarks (section 4.3) that with **weighted** macro F1 the baseline
# would have scored 0.26, 0.20, 0.23 and 0.19 on SMIC, CASME, CASME II and SAMM — the
# `weighted F1` column above, plus `majority(69, 189, 8)` for CASME. Weighted F1 rewards
# the dummy for the size of the class it always answers, and says little about the
# other seven; macro F1 (0.07 for CASME) shows how little it knows.
#
# And for the corpus of this notebook (your copy of the dataset, if you set `DATASET`):

# %%
baseline = baseline_scores(corpus.class_counts())
{k: (round(v, 4) if isinstance(v, float) else v) for k, v in baseline.items()}

# %% [markdown]
# ## 3. UF1 and UAR (the MEGC metrics)
#
# The Micro-Expression Grand Challenges (MEGC 2019 onwards) evaluate on a composite of
# SMIC, CASME II and SAMM with three classes, and report two numbers:
#
# - **UF1**, unweighted F1: the macro F1 of the predictions pooled over all LOSO folds;
# - **UAR**, unweighted average recall: the mean of the per-class recalls ("balanced
#   accuracy").
#
# UAR has a handy property: a dummy that always answers one class has recall 1 on it and
# 0 elsewhere, so its UAR is exactly `1 / K` however lopsided the data are. From scratch
# on the ten clips, and with mer_lab:

# %%
print(f"UAR from scratch {recall.mean():.3f}; mer_lab: UF1 {scores(true, pred)['uf1']:.3f}, "
      f"UAR {scores(true, pred)['uar']:.3f}; majority baseline UAR {baseline_scores({'a': 9, 'b': 1})['uar']}")

# %% [markdown]
# The published MEGC 2019 baselines on the composite, kept in `PUBLISHED_MEGC`:

# %%
pd.DataFrame(PUBLISHED_MEGC, index=["UF1", "UAR"]).T

# %% [markdown]
# ## 4. Confusion matrices of real predictions
#
# Now a real experiment: Bi-WOOF features (chapter 6, fast Farnebäck flow), leave one
# subject out, and two SVMs — a linear one and one with an RBF kernel, both with their
# default settings.

# %%
X = compute_features(corpus, "biwoof", params={"engine": "farneback"}, progress=False).values
y, groups = corpus.labels, corpus.groups
runs = {clf: run_protocol(X, y, groups=groups, classifier=clf, warn=False).predictions
        for clf in ("svm_linear", "svm_rbf")}


def score_table(predictions):
    """Pooled scores, one row per entry of {name: predictions table}."""
    table = pd.DataFrame({k: scores(p["true"], p["predicted"]) for k, p in predictions.items()})
    return table.drop("average").T.astype(float).round(3)


score_table(runs)

# %% [markdown]
# The two accuracies are close; the macro F1 scores are not. The confusion matrices
# show why. The RBF SVM puts almost every clip into the largest class, "others" (a full
# column): it is right on most of them and on little else. The linear SVM spreads its
# answers over the classes and gets several of them partly right.

# %%
order = list(corpus.class_counts().index)
(viz.confusion_heatmap(confusion_matrix(runs["svm_linear"]["true"], runs["svm_linear"]["predicted"], labels=order),
                       title="linear SVM", width=260)
 + viz.confusion_heatmap(confusion_matrix(runs["svm_rbf"]["true"], runs["svm_rbf"]["predicted"], labels=order),
                         title="RBF SVM", width=260))

# %% [markdown]
# A common remedy is to weight the training errors by the inverse class frequency
# (`class_weight="balanced"`), so that the small classes are not sacrificed. For the RBF
# SVM:

# %%
balanced = run_protocol(X, y, groups=groups, classifier="svm_rbf", params={"class_weight": "balanced"},
                        warn=False).predictions
score_table({"default": runs["svm_rbf"], "class_weight='balanced'": balanced})

# %% [markdown]
# ## 5. Pooled over folds, or averaged per fold?
#
# Under LOSO every subject is a fold with a handful of clips. There are two ways to turn
# the folds' predictions into one number:
#
# - **pooled**: gather the predictions of all folds and compute the metric once (TP, FP
#   and FN summed over folds). This is what the thesis and MEGC do, and mer_lab's default;
# - **per fold**: compute the metric in every fold, then average.
#
# For accuracy the two differ only by the fold sizes. For macro F1 they can differ a lot,
# because a fold of 4 clips gives a very coarse F1. From scratch, for the linear SVM:

# %%
p = runs["svm_linear"]
per_fold = pd.DataFrame([{"subject": g.split("/")[-1], "clips": len(q), "true": " ".join(q["true"]),
                          "predicted": " ".join(q["predicted"]),
                          "macro F1": scores(q["true"], q["predicted"])["macro_f1"]}
                         for g, q in p.groupby("fold")])
per_fold.head(6).round(3)

# %% [markdown]
# Look at how coarse these numbers are. The macro F1 of one fold averages over the
# classes present in *that fold* (true or predicted): a subject with one clip of each of
# four classes and one mistake loses a whole class; a single wrong guess of a class the
# subject never showed adds a class with F1 = 0. The mean of these fold scores is what
# `average="per_fold"` returns:

# %%
pooled = scores(p["true"], p["predicted"])
averaged = scores(p["true"], p["predicted"], folds=p["fold"], average="per_fold")
print(f"pooled macro F1 {pooled['macro_f1']:.3f}; mean of per-fold macro F1 {per_fold['macro F1'].mean():.3f} "
      f"(mer_lab per_fold: {averaged['macro_f1']:.3f})")

# %% [markdown]
# The figure shows every fold's macro F1 (one dot per subject), their mean (dashed) and
# the pooled score (solid). The per-fold values jump between a few coarse levels; their
# mean depends on how many clips and classes each subject happens to have rather than on
# how well the classes are recognised. Pooled scores treat every clip alike; compare
# methods on them, and say which average a number is when you report one.

# %%
dots = hv.Scatter(per_fold, kdims=[hv.Dimension("subject", label="held-out subject (LOSO fold)")],
                  vdims=[hv.Dimension("macro F1", range=(-0.05, 1.05)), "clips", "true", "predicted"])
(dots.opts(size=9, color="darkorange", tools=["hover"])
 * hv.HLine(pooled["macro_f1"]).opts(color="black", line_width=2)
 * hv.HLine(averaged["macro_f1"]).opts(color="darkorange", line_dash="dashed", line_width=2)
 ).opts(frame_width=480, frame_height=220, xrotation=45, ylabel="macro F1 of the fold",
        title="Per-fold macro F1 (dots), their mean (dashed), pooled (solid)")

# %% [markdown]
# ## 6. Try it: the class balance
#
# How do accuracy and macro F1 react when one class grows? Below, a test set of 1,000
# clips in `K` classes, with a share `s` in the majority class and the rest split
# evenly, is "classified" by three made-up classifiers whose behaviour does not change
# with the balance:
#
# - **majority**: always answers the majority class (the baseline);
# - **even-handed**: recall 0.6 in every class, its mistakes spread over the other classes;
# - **majority-leaning**: recall 0.9 on the majority class but only 0.35 on the others,
#   whose mistakes all go to the majority class.
#
# The scores are computed by `mer_lab.evaluation.metrics.scores` on the label vectors.

# %%
def simulate(kind, share, k, n=1000):
    counts = np.round(np.r_[share, np.full(k - 1, (1 - share) / (k - 1))] * n).astype(int)
    true = np.repeat(np.arange(k), counts)
    pred = np.zeros_like(true) if kind == "majority" else true.copy()
    if kind != "majority":
        for c in range(k):
            idx = np.flatnonzero(true == c)
            r = 0.6 if kind == "even-handed" else (0.9 if c == 0 else 0.35)
            wrong = idx[: int(round((1 - r) * idx.size))]
            others = [o for o in range(k) if o != c]
            pred[wrong] = np.resize(others, wrong.size) if (kind == "even-handed" or c == 0) else 0
    return true, pred


# %%
KINDS = ["majority", "even-handed", "majority-leaning"]


def curves(k):
    shares = np.linspace(1 / k, 0.9, 25)
    rows = [{"classifier": kind, "share": s, **scores(*simulate(kind, s, k))} for kind in KINDS for s in shares]
    return pd.DataFrame(rows)


def balance_view(share, k):
    share = max(share, 1 / k)
    table = curves(k)
    now = pd.DataFrame([{"classifier": kind, **scores(*simulate(kind, share, k))} for kind in KINDS])
    panels = []
    for metric, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        lines = hv.Overlay([hv.Curve(table[table["classifier"] == kind], "share", (metric, label), label=kind)
                            for kind in KINDS])
        title = label + " at s={:.2f}: ".format(share) + ", ".join(f"{v:.2f}" for v in now[metric])
        panels.append((lines * hv.VLine(share).opts(color="gray", line_dash="dashed")).opts(
            frame_width=300, frame_height=220, title=title, xlabel="share s of the majority class",
            ylabel=label, ylim=(0, 1), legend_position="right"))
    return hv.Layout(panels).opts(shared_axes=False)


# %% [markdown]
# Move the slider. On the left, accuracy: the majority dummy climbs in a straight line
# with the share, the majority-leaning classifier overtakes the even-handed one a little
# below s = 0.5, and beyond s ≈ 0.8 the dummy beats them both. On the right, macro F1
# keeps the dummy at the bottom whatever the share (its single non-zero F1 is divided by
# K). Notice also that macro F1 is not blind to the balance: the even-handed classifier
# sinks as the majority grows, because its mistakes on the many majority clips land in
# the small classes and ruin their precision. The numbers in the titles are the three
# classifiers' scores (majority, even-handed, majority-leaning) at the slider's position.
# Try `K = 8` with `s = 0.36` (SAMM) and `K = 3` with `s = 0.43` (SMIC).

# %%
widgets.interact(balance_view, share=widgets.FloatSlider(value=0.4, min=0.1, max=0.9, step=0.02, description="share s"),
                 k=widgets.IntSlider(value=5, min=2, max=8, description="classes K"));

# %% [markdown]
# ## Summary
#
# - Per class: precision TP/(TP+FP), recall TP/(TP+FN), F1 = 2TP/(2TP+FP+FN). Macro F1
#   averages the classes equally; weighted F1 by their size, and so hides the small ones.
# - The majority baseline follows from the counts: accuracy `n_m/n`, macro F1
#   `2n_m/(n_m+n)/K`. `baseline_scores` reproduces Table 3's baseline row to four
#   decimals (SMIC 0.4268/0.1994, CASME 0.3651/0.0669, CASME II 0.4008/0.1145, SAMM
#   0.3585/0.0660); weighted F1 would have said 0.26/0.20/0.23/0.19.
# - MEGC reports UF1 (pooled macro F1) and UAR (mean recall, 1/K for any dummy).
# - Two classifiers with the same accuracy can differ twofold in macro F1; the confusion
#   matrix shows which classes are sacrificed.
# - Under LOSO, pool the predictions of all folds before scoring; per-fold macro F1 is
#   coarse and depends on each subject's classes. Say which average you report.
#
# ## Exercises
#
# 1. Compute the majority baseline of the MEGC 2019 composite (SMIC-HS, CASME II and SAMM
#    with negative / positive / surprise). What are its accuracy, UF1 and UAR? *Hint: in
#    the composite, negative has 250 clips, positive 109, surprise 83 (442 in all); use
#    `baseline_scores`.*
# 2. In the tiny example, change one "others" prediction of a disgust clip into
#    "surprise". Which of accuracy, macro F1 and weighted F1 move, and why? *Hint:
#    recompute `scores(true, pred)`; a class that enters the predictions enters the
#    macro average.*
# 3. Run the majority classifier itself through LOSO on a balanced corpus,
#    `make_corpus(n_subjects=6, clips_per_subject=6, size=64)`, and compare its pooled
#    scores with `baseline_scores(corpus.class_counts())`. Why do they differ? *Hint:
#    `run_protocol(np.zeros((len(c), 1)), c.labels, groups=c.groups,
#    classifier="majority")`; which class is the majority of each training fold?*
# 4. In the widget, find the share at which the majority-leaning classifier's accuracy
#    overtakes the even-handed one. Does it depend on K? Is there a share at which it
#    also wins on macro F1? *Hint: write both accuracies as functions of s: 0.6 for one,
#    0.9 s + 0.35 (1 - s) for the other.*
