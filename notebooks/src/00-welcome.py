# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Welcome: micro-expressions and how machines look for them
#
# A **micro-expression** (ME) is a brief, involuntary facial movement that leaks an
# emotion a person is trying to hide or does not know they feel. Where an ordinary
# ("macro") expression may last seconds, an ME is over in less than half a second, and
# it is faint: at the apex, the skin may move by a pixel or two in a close-up video.
# The classic story is Ekman and Friesen's 1969 observation of a patient who smiled
# through an interview while a single frame of film showed intense anguish.
#
# Psychologists describe facial movements with the **Facial Action Coding System
# (FACS)**: each *action unit* (AU) is one muscle movement — AU12 pulls the lip corners,
# AU4 lowers the brows. Emotion labels are built on top: a smile of happiness is, roughly,
# AU6 + AU12.
#
# This course follows a master's thesis on automatic ME recognition and turns each of
# its chapters into code you can run, inspect and change.

# %% [markdown]
# ## The analysis system
#
# An automatic ME system has two stages:
#
# 1. **Spotting** — in a long video, find *when* an ME happens (its onset, apex and
#    offset frames). Chapter 9.
# 2. **Recognition** — given a clip that holds one ME, say *which* emotion class it
#    belongs to. This is the bulk of the course:
#    - *preprocessing*: find the face, align it, normalise the clip length (TIM), maybe
#      magnify the motion (EVM) — chapters 2-4;
#    - *features*: describe the clip's appearance change (LBP-TOP and its relatives,
#      chapter 5) or its motion (optical flow, HOOF, MDMO, Bi-WOOF..., chapter 6);
#    - *classification and evaluation*: an SVM with a grid search, evaluated so that no
#      person is in both the training and the test data — chapters 7 and 8.
#
# Chapter 10 runs the thesis's comparison of LBP-TOP, MDMO and Sparse MDMO; chapter 11
# goes on to the deep models of section 3.2.3.

# %% [markdown]
# ## How to use the course
#
# | chapter | notebook | what you will do |
# |---|---|---|
# | 1 | `01-datasets` | meet the datasets and the synthetic corpus; browse clips |
# | 2 | `02-faces` | detect faces, place landmarks, register and crop |
# | 3 | `03-tim` | build the temporal interpolation model from scratch |
# | 4 | `04-evm` | magnify invisible motion, and the noise that comes with it |
# | 5 | `05-lbp-top` | local binary patterns on three orthogonal planes and their variants |
# | 6 | `06-optical-flow` | optical flow, strain, HOOF, MDMO, Bi-WOOF, FDM |
# | 7 | `07-recognition` | SVMs, the thesis's grid search, and why nested LOSO matters |
# | 8 | `08-metrics` | accuracy vs macro F1 under class imbalance |
# | 9 | `09-spotting` | find MEs in long videos |
# | 10 | `10-compare` | the thesis's Table 3 experiment |
# | 11 | `11-deep-learning` | from a linear model to STSTNet on flow, saliency, test-fold leakage, transfer (needs `mer_lab[deep]`) |
#
# Every notebook runs top to bottom on the **built-in synthetic corpus**: procedural
# faces (no photographs of anyone) making action-unit movements of known size, with
# known onset, apex and offset. Because the truth is known, you can check each method
# against it. Each notebook ends with a summary and exercises.

# %% [markdown]
# ## Your own copies of the real datasets
#
# SMIC, CASME, CASME II, CAS(ME)², SAMM, MEVIEW and MMEW are distributed by their owners
# under licence agreements. mer_lab never downloads them. If you hold copies, write their
# locations into `data_manifest.yaml` at the top of the repository (or set the environment
# variable `MER_LAB_DATA` to a folder holding them), then check what is found:

# %%
import mer_lab
from mer_lab.datasets import datasets_table

print("mer_lab", mer_lab.__version__)
datasets_table()

# %% [markdown]
# Each later notebook has a `DATASET` parameter in its first code cell: leave it at
# `"synthetic"`, or name a dataset that the table above shows as found.

# %% [markdown]
# ## The ethics of reading hidden emotions
#
# An ME is, by definition, something its owner did not choose to show. A system that
# recognises MEs from a camera reads information the person is actively keeping private,
# often without their knowledge. Lie detection in high-stakes settings, where people know
# they are being assessed, is one thing; emotion reading from a shop or street camera is
# another. The labels themselves are uncertain: datasets are coded from the participants'
# self-reports and from AUs, and different emotions share AUs.
#
# Keep three questions in mind throughout the course:
#
# - **Consent**: did the people in the data, and the people the system will be used on,
#   agree to this use?
# - **Validity**: the best numbers in this field are around 50-60 % accuracy on a few
#   classes. What decisions could such a system honestly support?
# - **Harm**: who bears the cost of a wrong reading?
#
# This is why mer_lab's own examples use synthetic faces, and why its results tables
# always show the chance-level baseline next to every method.

# %% [markdown]
# ## Summary
#
# - MEs are short (< 0.5 s) and faint (a pixel or two); spotting finds them, recognition
#   names them.
# - The course follows the thesis chapter by chapter on a synthetic corpus with ground truth.
# - Real datasets are licensed: point the manifest at your copies.
#
# ## Exercises
#
# 1. Run `mer-lab datasets` in a terminal (inside `.venv`). Which columns tell you the
#    expected numbers of samples per class? *Hint: they come from the manifest.*
# 2. Think of one application of ME recognition you find acceptable and one you do not.
#    What distinguishes them?
