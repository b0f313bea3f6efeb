"""The built-in synthetic micro-expression corpus: procedural faces with known motion.

Every method in mer_lab can be run, checked and taught on this corpus without licensed
data. Nothing in it is a photograph: each subject's face is drawn from a few random
geometric numbers (face oval, eye spacing, brows, nose, mouth, skin tone, a smooth-noise
skin texture), and each micro-expression moves it with action-unit displacement fields
whose exact values are kept as ground truth.

How a clip is made
------------------
1. The subject's neutral face ``B`` is drawn once, with its 68 iBUG landmarks.
2. The clip's emotion picks action units (e.g. happiness: AU12, often AU6); each AU is a
   sum of smooth, compactly supported bumps anchored on landmarks and pointing in the
   anatomical direction (AU12 pulls the lip corners outward and up). Their sum is scaled
   so that its largest displacement is the clip's ``amplitude`` (pixels at the apex).
3. A raised-cosine profile ``a(t)`` rises from 0 at the onset to 1 at the apex and falls
   back to 0 at the offset (0.2-0.5 s), with neutral frames before and after.
4. Distractors: a slow head drift and rotation ``T_t``, blinks, an illumination flicker
   (global gain) and Gaussian sensor noise.
5. Frame ``t`` shows the point ``p`` of the neutral face at ``T_t(p + a(t) D(p))``; it is
   rendered by sampling ``B`` backwards at the inverse of that map.

The ground truth (:meth:`Corpus.ground_truth`) holds the landmarks of every frame, the
exact dense motion from the onset frame to the apex frame in the library's flow
convention (``flow[0]`` = u to the right, ``flow[1]`` = v downwards, and
``onset(y, x) ~ apex(y + v, x + u)``), the same motion without the head, the AUs, the key
frames, the amplitude and the per-frame head pose, blink closure and gain.

Examples
--------
>>> from mer_lab.datasets.synthetic import make_corpus
>>> corpus = make_corpus(n_subjects=3, clips_per_subject=5, seed=1)
>>> len(corpus), corpus.samples["dataset"].iloc[0]
(15, 'synthetic')
>>> cube = corpus.cube(0)
>>> cube.dtype, cube.dims
(dtype('uint8'), ('time', 'y', 'x'))
"""

from __future__ import annotations

import numbers
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import check_choice, check_int, check_number, describe
from ..cube import make_cube
from . import _motion as motion
from ._appearance import AppearanceLayer, make_appearance
from ._face import FaceModel, build_face, sample_identity
from .corpus import Corpus

__all__ = [
    "EMOTIONS",
    "EMOTION_AUS",
    "COMPOSITE_EMOTIONS",
    "DEFAULT_CLASSES",
    "BALANCES",
    "DIFFICULTIES",
    "KNOBS",
    "difficulty_knobs",
    "make_corpus",
    "make_long_video",
    "TWINS",
    "twin_plan",
]

DATASET = "synthetic"

# --------------------------------------------------------------------------- emotions
# emotion -> (AUs always present, groups of which one or two are present, optional AUs
# with their probability). Action units follow FACS; the choices follow the emotion
# prototypes used to code CASME II and SAMM.
EMOTION_AUS: dict[str, tuple[tuple, tuple, dict]] = {
    "happiness": ((12,), (), {6: 0.7}),
    "surprise": ((1, 2), (), {5: 0.4, 26: 0.3}),
    "disgust": ((), ((9, 10),), {4: 0.6, 17: 0.2}),
    "repression": ((), ((14, 15, 17),), {}),
    "sadness": ((1, 4, 15), (), {17: 0.3}),
    "anger": ((4,), ((7, 23),), {17: 0.2}),
    "fear": ((1, 2, 4, 20), (), {5: 0.3, 26: 0.2}),
    "contempt": ((14,), (), {}),  # unilateral: one side only
    "tense": ((), ((4, 14, 24),), {17: 0.3, 7: 0.2}),  # CASME's eighth class
}
# SMIC-style classes: each sample takes the AUs of one of the member emotions.
COMPOSITE_EMOTIONS = {
    "negative": ("disgust", "repression", "sadness", "anger", "fear", "contempt"),
    "positive": ("happiness",),
}
EMOTIONS = (*EMOTION_AUS, *COMPOSITE_EMOTIONS, "others")
_UNILATERAL = {"contempt"}
# AUs "others" may draw from (minus those that define a class of the corpus)
_OTHERS_POOL = (4, 5, 6, 7, 18, 20, 23, 24, 25, 26)

DEFAULT_CLASSES = {
    "casme2": ("happiness", "disgust", "repression", "surprise", "others"),
    "smic": ("negative", "positive", "surprise"),
    "samm": ("anger", "contempt", "happiness", "surprise", "others"),
}
# Class proportions of the real metadata (CASME II coding file, SMIC-HS, SAMM).
BALANCES: dict[str, dict[str, int]] = {
    "casme2": {"others": 99, "disgust": 63, "happiness": 33, "repression": 27, "surprise": 25,
               "sadness": 8, "fear": 2},
    "smic": {"negative": 70, "positive": 51, "surprise": 43},
    "samm": {"anger": 57, "contempt": 12, "fear": 8, "disgust": 9, "happiness": 26, "others": 26,
             "sadness": 6, "surprise": 15},
}

# --------------------------------------------------------------------------- dataset twins
@dataclass(frozen=True)
class Twin:
    """What a synthetic twin copies from a real dataset (thesis Tables 1-2)."""

    title: str
    n_subjects: int
    counts: dict  # class -> clips (in the dataset's own order)
    fps: float
    size: int  # frame side in pixels: the width of the dataset's cropped faces
    durations: tuple  # range of onset -> offset, seconds
    pads: tuple  # range of the neutral stretch before the onset and after the offset, seconds

    @property
    def n_clips(self) -> int:
        return int(sum(self.counts.values()))


# Subjects, classes and fps: thesis Tables 1-2 (CASME II with the coding file's 5-class
# counts, which its Table 3 baselines use; CASME with its Table 2 counts, 192 of the 195
# clips). Face sizes: the usual widths of the datasets' cropped faces (CASME II about
# 280 px, SMIC 190, CASME 150, SAMM 400). Durations: micro-expressions of 0.2-0.5 s
# (CASME from 0.15 s, SAMM's clips with longer neutral stretches); CASME's clips have
# little or no neutral lead-in (thesis, 2.3).
TWINS: dict[str, Twin] = {
    "casme2": Twin("CASME II", 26, {"others": 99, "disgust": 63, "happiness": 33, "repression": 27, "surprise": 25},
                   200, 280, (0.2, 0.5), (0.06, 0.16)),
    "smic": Twin("SMIC-HS", 16, {"negative": 70, "positive": 51, "surprise": 43}, 100, 190, (0.2, 0.5),
                 (0.06, 0.16)),
    "casme": Twin("CASME", 19, {"contempt": 3, "disgust": 88, "fear": 2, "happiness": 5, "repression": 40,
                                "tense": 28, "sadness": 6, "surprise": 20}, 60, 150, (0.15, 0.5), (0.0, 0.05)),
    "samm": Twin("SAMM", 32, {"anger": 57, "contempt": 12, "fear": 8, "disgust": 9, "happiness": 26, "others": 26,
                              "sadness": 6, "surprise": 15}, 200, 400, (0.2, 0.5), (0.1, 0.3)),
}


def twin_plan(like: str, scale: float = 1.0) -> dict:
    """Subjects, class counts, fps and size of the twin of ``like`` at ``scale``.

    The clip count is ``round(scale * n_clips)``, split over the classes in the real
    proportions (largest remainder) and over ``round(scale * n_subjects)`` subjects.

    Raises
    ------
    ValueError
        For an unknown ``like`` (naming the accepted ones), a ``scale`` outside (0, 1],
        or a scale that leaves a class or a subject without clips (naming the smallest
        scale that keeps them all).
    """
    check_choice("like", like, list(TWINS))
    twin = TWINS[like]
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not 0 < scale <= 1:
        raise ValueError(f"scale must be a number in (0, 1] (1 = the real dataset's size), got {describe(scale)}")
    scale = float(scale)
    names = list(twin.counts)
    weights = np.array([twin.counts[n] for n in names], float)
    n_subjects = int(round(scale * twin.n_subjects))
    total = int(round(scale * twin.n_clips))
    counts = _allocate(total, weights / weights.sum()) if total > 0 else np.zeros(len(names), int)
    if n_subjects < 1 or (counts == 0).any() or total < n_subjects:
        need = _smallest_scale(twin)
        empty = [n for n, k in zip(names, counts) if k == 0]
        what = (f"class {empty[0]!r} (it has {twin.counts[empty[0]]} clips at scale=1)" if empty
                else "a subject")
        raise ValueError(f"scale={scale:g} leaves {what} without clips in the {like!r} twin; use a scale "
                         f"in [{need:.3g}, 1]")
    return {"like": like, "title": twin.title, "n_subjects": n_subjects,
            "counts": {n: int(k) for n, k in zip(names, counts)}, "fps": twin.fps, "size": twin.size,
            "durations": twin.durations, "pads": twin.pads, "scale": scale}


def _smallest_scale(twin: Twin) -> float:
    """The smallest scale (in steps of 0.001) from which on every scale keeps every class and subject."""
    names = list(twin.counts)
    weights = np.array([twin.counts[n] for n in names], float)
    smallest = 1.0
    for k in range(1000, 0, -1):
        sc = k / 1000
        total = int(round(sc * twin.n_clips))
        n_sub = int(round(sc * twin.n_subjects))
        if not (total and n_sub >= 1 and total >= n_sub and (_allocate(total, weights / weights.sum()) > 0).all()):
            break
        smallest = sc
    return smallest


# --------------------------------------------------------------------------- difficulty
KNOBS = ("noise", "drift", "rotation", "blink", "flicker", "amplitude", "appearance", "idiosyncrasy")
# Anchor points of the difficulty scale; numbers in between are interpolated linearly.
# Level 0 is the clean motion-only corpus (no appearance change, no subject style).
#            level  noise  drift  rotation  blink  flicker  amp_lo  amp_hi  appearance  idiosyncrasy
_ANCHORS = np.array([
    [0.00, 0.0, 0.0, 0.00, 0.00, 0.000, 1.2, 2.5, 0.0, 0.0],
    [0.25, 1.0, 0.2, 0.15, 0.10, 0.005, 1.2, 2.5, 16.0, 0.25],
    [0.50, 2.0, 0.4, 0.25, 0.25, 0.015, 0.7, 1.8, 12.0, 0.5],
    [1.00, 5.0, 3.0, 2.00, 0.50, 0.040, 0.2, 0.6, 6.0, 0.8],
])
APPEARANCE_MAX = 60.0
DIFFICULTIES = {"easy": 0.25, "default": 0.5, "hard": 1.0}


def difficulty_knobs(difficulty="default", *, noise=None, drift=None, rotation=None, blink=None,
                     flicker=None, amplitude=None, appearance=None, idiosyncrasy=None) -> dict:
    """The distractor knobs of a difficulty level, with individual overrides.

    Parameters
    ----------
    difficulty : {"easy", "default", "hard"} or float in [0, 1]
        0 is a clean corpus (no distractors, the easy level's motions); "easy" = 0.25,
        "default" = 0.5, "hard" = 1. Numbers in between interpolate the knobs linearly.
    noise : float, optional
        Standard deviation of the Gaussian sensor noise, grey levels (>= 0).
    drift : float, optional
        Largest head translation within a clip, pixels (>= 0).
    rotation : float, optional
        Largest head rotation within a clip, degrees (0..30).
    blink : float, optional
        Probability that a clip holds a blink (0..1); in long videos, blinks per second.
    flicker : float, optional
        Relative amplitude of the illumination gain oscillation (0..0.5).
    amplitude : float or (float, float), optional
        Micro-expression amplitude at the apex in pixels: a fixed value or a range
        ``(low, high)`` drawn uniformly per clip (0 <= low <= high <= 20).
    appearance : float, optional
        Depth in grey levels, at the apex, of the appearance cues (wrinkles, furrows,
        bulges) of an action unit of weight 1 (0..60). 0 gives the motion-only corpus.
    idiosyncrasy : float, optional
        How strongly each subject shows emotions in their own way (0..1): their own AU
        subset per emotion, a preferred side, their own amplitude and timing. 0: every
        subject draws from the same distributions.

    Returns
    -------
    dict
        ``level`` (the number), ``noise``, ``drift``, ``rotation``, ``blink``,
        ``flicker``, ``amplitude`` (a ``(low, high)`` tuple), ``appearance``,
        ``idiosyncrasy``.

    Examples
    --------
    >>> difficulty_knobs("hard", noise=0)["noise"]
    0.0
    """
    level = _difficulty_level(difficulty)
    row = [float(np.interp(level, _ANCHORS[:, 0], _ANCHORS[:, j])) for j in range(1, _ANCHORS.shape[1])]
    knobs = {"level": level, "noise": row[0], "drift": row[1], "rotation": row[2], "blink": row[3],
             "flicker": row[4], "amplitude": (row[5], row[6]), "appearance": row[7], "idiosyncrasy": row[8]}
    if noise is not None:
        knobs["noise"] = check_number("noise", noise, low=0, high=255)
    if drift is not None:
        knobs["drift"] = check_number("drift", drift, low=0, high=50)
    if rotation is not None:
        knobs["rotation"] = check_number("rotation", rotation, low=0, high=30)
    if blink is not None:
        knobs["blink"] = check_number("blink", blink, low=0, high=1)
    if flicker is not None:
        knobs["flicker"] = check_number("flicker", flicker, low=0, high=0.5)
    if amplitude is not None:
        knobs["amplitude"] = _amplitude_range(amplitude)
    if appearance is not None:
        knobs["appearance"] = _knob_in_range("appearance", appearance, 0.0, APPEARANCE_MAX,
                                             "a depth in grey levels")
    if idiosyncrasy is not None:
        knobs["idiosyncrasy"] = _knob_in_range("idiosyncrasy", idiosyncrasy, 0.0, 1.0, "a strength")
    return knobs


def _knob_in_range(name, value, low, high, what) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value)
            or not low <= value <= high):
        raise ValueError(f"{name} must be {what} in [{low:g}, {high:g}], got {describe(value)}")
    return float(value)


def _difficulty_level(difficulty) -> float:
    if isinstance(difficulty, str):
        check_choice("difficulty", difficulty, list(DIFFICULTIES))
        return DIFFICULTIES[difficulty]
    if isinstance(difficulty, numbers.Real) and not isinstance(difficulty, bool):
        return check_number("difficulty", difficulty, low=0, high=1)
    raise ValueError(f"difficulty must be one of 'easy', 'default', 'hard' or a number in [0, 1], "
                     f"got {describe(difficulty)}")


def _amplitude_range(amplitude) -> tuple[float, float]:
    if isinstance(amplitude, numbers.Real) and not isinstance(amplitude, bool):
        a = check_number("amplitude", amplitude, low=0, high=20)
        return (a, a)
    if isinstance(amplitude, (tuple, list)) and len(amplitude) == 2:
        lo = check_number("amplitude[0]", amplitude[0], low=0, high=20)
        hi = check_number("amplitude[1]", amplitude[1], low=0, high=20)
        if lo > hi:
            raise ValueError(f"amplitude must be (low, high) with low <= high, got {describe(amplitude)}")
        return (lo, hi)
    raise ValueError(f"amplitude must be a number of pixels >= 0 or a (low, high) pair, got {describe(amplitude)}")


# --------------------------------------------------------------------------- classes and balance
def _resolve_classes(classes, balance) -> tuple[list[str], np.ndarray]:
    """Class names and their weights (summing to 1)."""
    if isinstance(balance, Mapping):
        if not balance:
            raise ValueError("balance must not be an empty dict")
        if classes is None:
            classes = list(balance)
    elif isinstance(balance, str):
        check_choice("balance", balance, ["balanced", *BALANCES])
    else:
        raise ValueError(f"balance must be 'balanced', one of {list(BALANCES)} or a dict of class weights, "
                         f"got {describe(balance)}")
    if classes is None:
        classes = list(DEFAULT_CLASSES.get(balance, DEFAULT_CLASSES["casme2"]))
    if isinstance(classes, str) or not isinstance(classes, Sequence):
        raise ValueError(f"classes must be a list of emotion names, got {describe(classes)}")
    names = []
    for c in classes:
        if not isinstance(c, str):
            raise ValueError(f"classes must hold emotion names (str), got {describe(c)}")
        name = c.strip().lower()
        check_choice("classes", name, EMOTIONS)
        if name in names:
            raise ValueError(f"classes lists {name!r} twice")
        names.append(name)
    if not names:
        raise ValueError("classes must name at least one emotion")
    if isinstance(balance, Mapping):
        lowered = {str(k).strip().lower(): v for k, v in balance.items()}
        if set(lowered) != set(names):
            raise ValueError(f"balance must give a weight for exactly the classes {names}, got keys {list(balance)}")
        weights = np.array([check_number(f"balance[{n!r}]", lowered[n], low=0) for n in names])
    elif balance == "balanced":
        weights = np.ones(len(names))
    else:
        table = BALANCES[balance]
        missing = [n for n in names if n not in table]
        if missing:
            raise ValueError(f"balance={balance!r} has no proportion for the classes {missing}; "
                             f"it covers {list(table)} (pass a dict of weights instead)")
        weights = np.array([float(table[n]) for n in names])
    if weights.sum() <= 0:
        raise ValueError(f"balance weights must not all be zero, got {describe(balance)}")
    return names, weights / weights.sum()


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total`` in the given proportions (largest remainder)."""
    raw = weights * total
    counts = np.floor(raw).astype(int)
    rest = total - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


def _defining_aus(classes) -> set:
    out = set()
    for c in classes:
        members = COMPOSITE_EMOTIONS.get(c, (c,))
        for m in members:
            if m in EMOTION_AUS:
                req, groups, _ = EMOTION_AUS[m]
                out.update(req)
                for g in groups:
                    out.update(g)
    return out


def _draw_aus(rng: np.random.Generator, emotion: str, others_pool: tuple) -> list[tuple[int, str, float]]:
    """(au, side, weight) triples of one sample; side "" = both, "R"/"L" = one side."""
    if emotion in COMPOSITE_EMOTIONS:
        members = COMPOSITE_EMOTIONS[emotion]
        emotion = members[int(rng.integers(len(members)))]
    if emotion == "others":
        k = 1 if rng.random() < 0.6 else 2
        chosen = rng.choice(np.array(others_pool), size=min(k, len(others_pool)), replace=False)
        aus = []
        for au in sorted(int(a) for a in chosen):
            side = "" if rng.random() < 0.8 else ("R" if rng.random() < 0.5 else "L")
            aus.append((au, side, float(rng.uniform(0.7, 1.0))))
        return aus
    req, groups, optional = EMOTION_AUS[emotion]
    picked = {au: float(rng.uniform(0.75, 1.0)) for au in req}
    for g in groups:
        k = 1 if (len(g) == 1 or rng.random() < 0.65) else 2
        for au in rng.choice(np.array(g), size=k, replace=False):
            picked[int(au)] = float(rng.uniform(0.75, 1.0))
    for au, p in optional.items():
        u = rng.random()
        w = float(rng.uniform(0.35, 0.7))
        if u < p and au not in picked:
            picked[au] = w
    side = ""
    if emotion in _UNILATERAL:
        side = "R" if rng.random() < 0.5 else "L"
    return [(au, side, picked[au]) for au in sorted(picked)]


def _au_string(aus) -> str:
    return "+".join(f"{side}{au}" for au, side, _ in aus) if aus else ""


# --------------------------------------------------------------------------- clips
@dataclass(frozen=True)
class ClipSpec:
    """Everything that defines one synthetic clip (the rest follows from the seeds)."""

    sample: str
    subject: str
    subject_index: int
    clip_index: int
    emotion: str
    aus: tuple
    amplitude: float
    n_frames: int
    onset: int  # positions along time
    apex: int
    offset: int
    appearance: float = 0.0  # depth of the appearance cues at the apex, grey levels (weight-1 AU)


def _clip_timing(rng, fps, *, durations=(0.2, 0.5), pads=(0.06, 0.16), style=None):
    """Frames, onset, apex, offset of a clip (positions). ``style`` (a subject's tempo, see
    :class:`_Style`) pulls the duration and the rise towards the subject's own."""
    duration = rng.uniform(*durations)
    rise = rng.uniform(0.3, 0.5)
    pre = rng.uniform(*pads)
    post = rng.uniform(*pads)
    if style is not None and style.strength > 0:
        k = 0.75 * style.strength
        lo, hi = durations
        u = (duration - lo) / (hi - lo) if hi > lo else 0.5
        duration = lo + (hi - lo) * ((1 - k) * u + k * style.tempo)
        rise = 0.3 + 0.2 * ((1 - k) * (rise - 0.3) / 0.2 + k * style.rise)
    onset = max(1, int(round(pre * fps)))
    length = max(3, int(round(duration * fps)))
    apex = onset + min(max(1, int(round(rise * length))), length - 1)
    offset = onset + length
    n_frames = offset + 1 + max(1, int(round(post * fps)))
    return n_frames, onset, apex, offset


def _seed_rng(*keys) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in keys]))


# stream tags for the seed sequences
_IDENTITY, _CLIP, _DYNAMICS, _TABLE, _LONG, _STYLE, _STYLE_CLIP, _SKIN = 0, 1, 2, 3, 4, 5, 6, 7


@dataclass(frozen=True)
class _Style:
    """One subject's way of showing emotions (drawn once per subject; see :func:`_subject_style`)."""

    strength: float  # the idiosyncrasy knob
    side: str  # preferred side for one-sided AUs, "R" or "L"
    asymmetry: float  # probability that a bilateral AU shows on the preferred side only
    strength_pref: float  # preferred position in the amplitude range (0 weakest .. 1 strongest)
    skin: float  # appearance depth factor (how deeply this subject's skin wrinkles)
    tempo: float  # preferred position in the duration range (0 short .. 1 long)
    rise: float  # preferred apex position in the rise range (0 early .. 1 late)
    extra: dict  # emotion -> an AU this subject adds to it (or absent)
    seed: int


def _subject_style(seed: int, subject_index: int, strength: float) -> _Style | None:
    if strength <= 0:
        return None
    rng = _seed_rng(seed, _STYLE, subject_index)
    side = "R" if rng.random() < 0.5 else "L"
    asym = float(rng.uniform(0.0, 1.0)) * strength
    strength_pref = float(rng.random())
    skin = float(np.exp(strength * 0.5 * rng.standard_normal()))
    tempo, rise = float(rng.random()), float(rng.random())
    extra = {}
    pool = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25)
    for emotion in EMOTIONS:
        au = int(pool[int(rng.integers(len(pool)))])
        if rng.random() < 0.6:
            extra[emotion] = au
    return _Style(strength=strength, side=side, asymmetry=asym, strength_pref=strength_pref, skin=skin, tempo=tempo, rise=rise,
                  extra=extra, seed=int(rng.integers(2**31 - 1)))


def _styled_aus(aus, emotion: str, style: _Style, seed: int, subject_index: int, clip_index: int, others_pool,
                avoid=frozenset()):
    """The clip's AUs the subject's way: with probability ``strength`` the subject's own AU
    set for this emotion (drawn once per subject and emotion), then the subject's extra AU
    for the emotion (never one of ``avoid``, the AUs that define the corpus's other
    classes), then bilateral AUs moved to the preferred side."""
    rng = _seed_rng(seed, _STYLE_CLIP, subject_index, clip_index)
    k = style.strength
    out = list(aus)
    if rng.random() < k:
        key = sum(ord(ch) for ch in emotion)
        own = _seed_rng(style.seed, key)
        out = _draw_aus(own, emotion, others_pool)
        # the subject's own weights, jittered a little per clip
        out = [(au, side, float(np.clip(w * rng.uniform(0.9, 1.1), 0.3, 1.0))) for au, side, w in out]
    base = emotion if emotion in style.extra else None
    present = {au for au, _, _ in out}
    if base is not None and style.extra[base] not in present | set(avoid) and rng.random() < k:
        out.append((style.extra[base], "", float(rng.uniform(0.4, 0.8))))
    styled = []
    for au, side, w in sorted(out):
        if side == "" and rng.random() < style.asymmetry:
            side = style.side
        styled.append((au, side, w))
    return styled


@dataclass
class _Dynamics:
    head: motion.HeadMotion
    closure: np.ndarray
    gain: np.ndarray
    rng: np.random.Generator  # continues with the sensor noise


def _dynamics(rng, n_frames, fps, knobs, centre, *, long=False) -> _Dynamics:
    """Head path, blinks and illumination of one clip (all random numbers always drawn,
    so that changing one knob leaves the other distractors of a clip unchanged)."""
    f_low, f_high, waves = (0.1, 1.0, 4) if long else (0.15, 1.0, 3)
    peak = knobs["drift"] * (max(1.0, n_frames / fps / 2.0) ** 0.5 if long else 1.0)
    shift = motion.smooth_path(rng, n_frames, fps, peak, dims=2, f_low=f_low, f_high=f_high, n_waves=waves)
    angle = motion.smooth_path(rng, n_frames, fps, knobs["rotation"], dims=1, f_low=f_low, f_high=f_high,
                               n_waves=waves)[:, 0]
    closure = np.zeros(n_frames)
    duration_s = n_frames / fps
    if long:
        n_blinks = int(rng.poisson(knobs["blink"] * duration_s))
        starts = rng.uniform(0, max(duration_s - 0.15, 0.0), size=n_blinks)
        lengths = rng.uniform(0.10, 0.15, size=n_blinks)
        for s, d in zip(starts, lengths):
            closure = np.maximum(closure, motion.blink_profile(n_frames, fps, s, d))
    else:
        u = rng.random()
        length = rng.uniform(0.10, 0.15)
        start = rng.uniform(-0.5 * length, max(duration_s - 0.5 * length, 0.0))
        if u < knobs["blink"]:
            closure = motion.blink_profile(n_frames, fps, start, length)
    freq = rng.uniform(1.5, 8.0)
    phase = rng.uniform(0, 2 * np.pi)
    t = np.arange(n_frames) / fps
    gain = 1.0 + knobs["flicker"] * np.sin(2 * np.pi * freq * t + phase)
    head = motion.HeadMotion(dx=shift[:, 0], dy=shift[:, 1], angle=angle, centre=centre)
    return _Dynamics(head=head, closure=closure, gain=gain, rng=rng)


class _Source:
    """Renders clips and their ground truth on demand (the corpus's loader and truth).

    Picklable: the face cache and the clip LRU are rebuilt after unpickling.
    """

    def __init__(self, specs: dict, *, seed: int, size: int, fps: float, first_frame: int, knobs: dict,
                 difficulty_label: str, cache_clips: int):
        self.specs = specs
        self.seed = seed
        self.size = size
        self.fps = fps
        self.first_frame = first_frame
        self.knobs = knobs
        self.difficulty_label = difficulty_label
        self.cache_clips = cache_clips
        self._init_caches()

    def _init_caches(self):
        self._faces: dict[int, FaceModel] = {}
        self._clips: OrderedDict = OrderedDict()
        self._truths: OrderedDict = OrderedDict()
        self._first_landmarks: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __getstate__(self):
        state = dict(self.__dict__)
        for k in ("_faces", "_clips", "_truths", "_first_landmarks", "_lock"):
            state.pop(k, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_caches()

    # -- pieces -------------------------------------------------------------------------
    def face(self, subject_index: int) -> FaceModel:
        face = self._faces.get(subject_index)
        if face is None:
            face = build_face(sample_identity(_seed_rng(self.seed, _IDENTITY, subject_index)), self.size)
            self._faces[subject_index] = face
        return face

    def spec(self, row) -> ClipSpec:
        try:
            return self.specs[row["sample"]]
        except KeyError:
            raise KeyError(f"the synthetic corpus has no sample {row['sample']!r}") from None

    def parts(self, spec: ClipSpec):
        face = self.face(spec.subject_index)
        expr = motion.make_expression(face, spec.aus, spec.amplitude)
        profile = motion.raised_cosine_profile(spec.n_frames, spec.onset, spec.apex, spec.offset)
        dyn = _dynamics(_seed_rng(self.seed, _DYNAMICS, spec.subject_index, spec.clip_index), spec.n_frames,
                        self.fps, self.knobs, face.centre)
        return face, expr, profile, dyn

    def layer(self, spec: ClipSpec, face: FaceModel, expr) -> AppearanceLayer | None:
        """The clip's appearance layer (None when the appearance knob is 0)."""
        if spec.appearance <= 0:
            return None
        skin = int(_seed_rng(self.seed, _SKIN, spec.subject_index).integers(2**31 - 1))
        return make_appearance(face, spec.aus, spec.appearance, widen=expr.widen, skin_seed=skin)

    def frames(self, spec: ClipSpec) -> np.ndarray:
        with self._lock:
            hit = self._clips.get(spec.sample)
            if hit is not None:
                self._clips.move_to_end(spec.sample)
                return hit
        face, expr, profile, dyn = self.parts(spec)
        frames = motion.render(face, n_frames=spec.n_frames, expressions=[expr], profiles=[profile], head=dyn.head,
                               closure=dyn.closure, gain=dyn.gain, noise=self.knobs["noise"], rng=dyn.rng,
                               layers=[self.layer(spec, face, expr)])
        frames.setflags(write=False)
        if self.cache_clips > 0:
            with self._lock:
                self._clips[spec.sample] = frames
                while len(self._clips) > self.cache_clips:
                    self._clips.popitem(last=False)
        return frames

    # -- the corpus's callables ------------------------------------------------------------
    def __call__(self, row) -> xr.DataArray:
        spec = self.spec(row)
        frames = self.frames(spec).copy()
        ff = self.first_frame
        return make_cube(
            frames, fps=self.fps, frame_numbers=range(ff, ff + spec.n_frames), dataset=DATASET,
            subject=spec.subject, sample=spec.sample, emotion=spec.emotion, onset=ff + spec.onset,
            apex=ff + spec.apex, offset=ff + spec.offset, action_units=_au_string(spec.aus),
            amplitude=spec.amplitude, difficulty=self.difficulty_label, landmarks=self.first_landmarks(spec),
        )

    def first_landmarks(self, spec: ClipSpec) -> np.ndarray:
        """Ground-truth landmarks of a clip's first frame, flattened (x0, y0, x1, ...): what
        MDMO's regions are placed on (``attrs["landmarks"]`` of every cube)."""
        hit = self._first_landmarks.get(spec.sample)
        if hit is None:
            face, expr, profile, dyn = self.parts(spec)
            hit = _landmarks(face, [expr], [profile], dyn, 1)[0].astype(np.float32).ravel()
            hit.setflags(write=False)
            self._first_landmarks[spec.sample] = hit
        return hit.copy()

    def truth(self, row) -> xr.Dataset:
        spec = self.spec(row)
        with self._lock:
            hit = self._truths.get(spec.sample)
            if hit is not None:
                self._truths.move_to_end(spec.sample)
                return hit.copy(deep=True)
        ds = self._make_truth(spec)
        if self.cache_clips > 0:
            with self._lock:
                self._truths[spec.sample] = ds
                while len(self._truths) > self.cache_clips:
                    self._truths.popitem(last=False)
        return ds.copy(deep=True)

    def _make_truth(self, spec: ClipSpec) -> xr.Dataset:
        face, expr, profile, dyn = self.parts(spec)
        return _truth_dataset(face, [expr], [profile], dyn, layer=self.layer(spec, face, expr),
                              n_frames=spec.n_frames, fps=self.fps,
                              first_frame=self.first_frame, onset=spec.onset, apex=spec.apex, offset=spec.offset,
                              attrs=dict(dataset=DATASET, subject=spec.subject, sample=spec.sample,
                                         emotion=spec.emotion, action_units=_au_string(spec.aus),
                                         amplitude=spec.amplitude, difficulty=self.difficulty_label,
                                         appearance_depth=spec.appearance, **_knob_attrs(self.knobs)))


def _knob_attrs(knobs) -> dict:
    return {"noise": knobs["noise"], "drift": knobs["drift"], "rotation": knobs["rotation"],
            "blink_probability": knobs["blink"], "flicker": knobs["flicker"],
            "amplitude_low": knobs["amplitude"][0], "amplitude_high": knobs["amplitude"][1],
            "appearance": knobs.get("appearance", 0.0), "idiosyncrasy": knobs.get("idiosyncrasy", 0.0)}


_UPPER_LID = [37, 38, 43, 44]
_LOWER_LID = [41, 40, 47, 46]


def _landmarks(face, expressions, profiles, dyn, n_frames) -> np.ndarray:
    base = face.landmarks
    disp = [e.at(base) for e in expressions]
    out = np.empty((n_frames, 68, 2))
    for t in range(n_frames):
        p = base.copy()
        for d, prof in zip(disp, profiles):
            if prof[t]:
                p += prof[t] * d
        c = dyn.closure[t]
        if c > 0:
            p[_UPPER_LID] += c * (p[_LOWER_LID] - p[_UPPER_LID])
        out[t] = dyn.head.forward(t, p)
    return out


def _flow_between(face, expressions, profiles, head, t0, t1):
    """Exact motion fields (total, expression only, head only) from frame t0 to t1, each (2, H, W)."""
    size = face.size
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    q = np.stack([xx, yy], axis=-1)
    # base point seen at q in frame t0: invert the head, then the expression state at t0
    r = head.inverse(t0, q)
    if any(p[t0] for p in profiles):
        # rare (t0 inside an expression): solve p + a D(p) = r by Newton on the exact field
        p = r.copy()
        for _ in range(30):
            d = sum(prof[t0] * e.at(p) for e, prof in zip(expressions, profiles))
            p = r - d
    else:
        p = r
    moved = p + sum((prof[t1] * e.at(p) for e, prof in zip(expressions, profiles)), np.zeros_like(p))
    total = head.forward(t1, moved) - q
    expr_only = sum((prof[t1] - prof[t0]) * e.at(q) for e, prof in zip(expressions, profiles)) + np.zeros_like(q)
    head_only = head.forward(t1, head.inverse(t0, q)) - q
    fields = [np.moveaxis(f, -1, 0).astype(np.float32) for f in (total, expr_only, head_only)]
    return (*fields, p)


def _truth_dataset(face, expressions, profiles, dyn, *, n_frames, fps, first_frame, onset, apex, offset, attrs,
                   extra_vars=None, layer=None) -> xr.Dataset:
    size = face.size
    frames = first_frame + np.arange(n_frames)
    coords = {
        "time": ("time", np.arange(n_frames) / fps, {"units": "s", "long_name": "time"}),
        "frame": ("time", frames, {"long_name": "frame number"}),
        "point": ("point", np.arange(68)),
        "coord": ("coord", ["x", "y"]),
        "component": ("component", ["u", "v"]),
        "y": ("y", np.arange(size), {"units": "px", "long_name": "row"}),
        "x": ("x", np.arange(size), {"units": "px", "long_name": "column"}),
    }
    head = dyn.head
    data = {
        "landmarks": (("time", "point", "coord"), _landmarks(face, expressions, profiles, dyn, n_frames).astype(np.float32),
                      {"units": "px", "long_name": "iBUG-68 landmarks (x, y)"}),
        "head_dx": ("time", head.dx.astype(np.float32), {"units": "px", "long_name": "head translation x"}),
        "head_dy": ("time", head.dy.astype(np.float32), {"units": "px", "long_name": "head translation y"}),
        "head_angle": ("time", head.angle.astype(np.float32),
                       {"units": "degree", "long_name": "head rotation (clockwise on screen)"}),
        "blink": ("time", dyn.closure.astype(np.float32), {"long_name": "eyelid closure (0 open, 1 shut)"}),
        "gain": ("time", dyn.gain.astype(np.float32), {"long_name": "illumination gain"}),
    }
    if onset is not None:
        total, expr_only, head_only, p_onset = _flow_between(face, expressions, profiles, head, onset, apex)
        flow_attrs = {"units": "px", "convention": "u right, v down; onset(y, x) ~ apex(y + v, x + u)"}
        data["flow_apex"] = (("component", "y", "x"), total, {**flow_attrs, "long_name": "motion onset -> apex"})
        data["flow_apex_expression"] = (("component", "y", "x"), expr_only,
                                        {**flow_attrs, "long_name": "expression motion onset -> apex (no head motion)"})
        data["flow_apex_head"] = (("component", "y", "x"), head_only,
                                  {**flow_attrs, "long_name": "head motion onset -> apex"})
        data["expression"] = ("time", profiles[0].astype(np.float32), {"long_name": "expression intensity (1 at apex)"})
        e = expressions[0]
        coords["au"] = ("au", list(e.au_peaks))
        data["au_amplitude"] = ("au", np.array(list(e.au_peaks.values()), np.float32),
                                {"units": "px", "long_name": "peak displacement of each action unit"})
        # the skin seen at q in the onset frame changes its grey level by this much at the apex
        change = np.zeros((size, size), np.float32)
        peaks = np.zeros(len(e.au_peaks), np.float32)
        if layer is not None and not layer.empty:
            a = float(profiles[0][apex] - profiles[0][onset])
            change = (a * layer.at(p_onset[..., 0], p_onset[..., 1])).astype(np.float32)
            peaks = np.array([layer.au_peaks.get(k, 0.0) for k in e.au_peaks], np.float32)
        data["appearance_apex"] = (("y", "x"), change, {
            "units": "grey level", "long_name": "appearance change onset -> apex (before gain and noise)",
            "convention": "onset(y, x) + appearance_apex(y, x) ~ apex(y + v, x + u) with flow_apex (u, v)"})
        data["au_appearance"] = ("au", peaks, {"units": "grey level",
                                               "long_name": "largest appearance change of each action unit"})
    if extra_vars:
        data.update(extra_vars)
    all_attrs = dict(attrs)
    all_attrs.update(fps=float(fps), head_center_x=float(head.centre[0]), head_center_y=float(head.centre[1]),
                     face_scale=float(face.scale))
    if onset is not None:
        all_attrs.update(onset=int(first_frame + onset), apex=int(first_frame + apex), offset=int(first_frame + offset),
                         widen=float(expressions[0].widen))
    return xr.Dataset(data, coords=coords, attrs=all_attrs)


# --------------------------------------------------------------------------- public API
def make_corpus(*, n_subjects: int | None = None, clips_per_subject: int | None = None, size: int | None = None,
                fps: float | None = None, classes=None, balance=None, difficulty="default", noise=None, drift=None,
                rotation=None, blink=None, flicker=None, amplitude=None, appearance=None, idiosyncrasy=None,
                like: str | None = None, scale: float = 1.0, seed: int = 0, first_frame: int = 0,
                cache_clips: int = 64) -> Corpus:
    """Build the synthetic micro-expression corpus.

    The samples table is built at once (well under a second); clips are rendered when
    first asked for, deterministically from ``(seed, subject, clip)``, and the last
    ``cache_clips`` are kept in memory.

    Parameters
    ----------
    n_subjects : int
        Number of subjects ("S01", "S02", ...), each with its own procedural face
        (default 12).
    clips_per_subject : int
        Clips per subject (default 10); classes are spread over the subjects as evenly as
        possible.
    size : int
        Frame width and height in pixels (32..1024; default 96, or the twin's face size).
    fps : float
        Frames per second (>= 20; default 100, or the twin's); clip durations are set in
        seconds.
    classes : list of str, optional
        Emotions to include, from :data:`EMOTIONS`: happiness, surprise, disgust, repression,
        sadness, anger, fear, contempt, negative, positive, others. Default: the CASME II
        five (happiness, disgust, repression, surprise, others); with ``balance="smic"``
        negative, positive, surprise; with ``balance="samm"`` anger, contempt, happiness,
        surprise, others.
    balance : str or dict
        "balanced" (equal counts), "casme2" (the coding file's proportions: others 99,
        disgust 63, happiness 33, repression 27, surprise 25), "smic" (negative 70,
        positive 51, surprise 43), "samm" (anger 57, contempt 12, fear 8, disgust 9,
        happiness 26, others 26, sadness 6, surprise 15), or a dict class -> weight.
        Counts are the proportions applied to ``n_subjects * clips_per_subject``
        (largest remainder), so 247 clips with "casme2" give exactly 99/63/33/27/25.
    difficulty : {"easy", "default", "hard"} or float in [0, 1]
        Sets every distractor knob together (see :func:`difficulty_knobs`).
    noise, drift, rotation, blink, flicker, amplitude, appearance, idiosyncrasy : optional
        Override one knob (see :func:`difficulty_knobs` for units and ranges).
    like : {"casme2", "smic", "casme", "samm"}, optional
        A twin of a real dataset: its subjects, clips per class, fps, face size and clip
        durations (:data:`TWINS`). ``n_subjects``, ``clips_per_subject``, ``classes`` and
        ``balance`` then come from the twin (passing them is an error); ``size`` and
        ``fps`` may still be overridden.
    scale : float in (0, 1]
        With ``like``: a smaller copy, ``round(scale * n)`` subjects and clips in the same
        class proportions. A scale that empties a class or a subject is an error.
    seed : int
        Seed of everything (>= 0).
    first_frame : int
        Frame number of each clip's first frame (>= 0).
    cache_clips : int
        How many rendered clips (and ground truths) to keep in memory (0 disables the
        cache). Cached items are handed out as copies.

    Returns
    -------
    Corpus
        Dataset name "synthetic"; the samples table has the standard columns plus
        ``action_units`` (e.g. "6+12", "R14"), ``amplitude`` (px at apex) and
        ``difficulty``. ``corpus.cube(uid)`` gives a grey uint8 cube,
        ``corpus.ground_truth(uid)`` an :class:`xarray.Dataset` (landmarks per frame,
        ``flow_apex``, ``flow_apex_expression``, ``flow_apex_head``, ``expression``,
        ``head_dx``/``head_dy``/``head_angle``, ``blink``, ``gain``, ``au_amplitude``).

    Notes
    -----
    Each AU field is a sum of bumps ``w (1 - rho^2)^3 e`` (``rho`` the elliptical distance
    to a landmark anchor, zero beyond it, ``e`` a unit direction); the clip's field is
    normalised so that ``max |D| = amplitude`` on the pixel grid. The intensity profile is
    ``a(t) = (1 - cos(pi (t - onset) / (apex - onset))) / 2`` on the rise and the mirror
    image on the fall. Frame ``t`` shows base point ``p`` at ``T_t(p + a(t) D(p))``.

    References
    ----------
    .. [1] P. Ekman, W. V. Friesen, *Facial Action Coding System*, Consulting
       Psychologists Press, 1978 (the action units).
    .. [2] W.-J. Yan et al., "CASME II: An improved spontaneous micro-expression
       database and the baseline evaluation", PLoS ONE 9(1), 2014,
       doi:10.1371/journal.pone.0086041 (class names and proportions of "casme2").
    .. [3] X. Li et al., "A spontaneous micro-expression database: Inducement,
       collection and baseline", IEEE FG 2013, doi:10.1109/FG.2013.6553717 ("smic").
    .. [4] A. K. Davison et al., "SAMM: A spontaneous micro-facial movement dataset",
       IEEE Trans. Affective Computing 9(1), 2018, doi:10.1109/TAFFC.2016.2573832 ("samm").

    Examples
    --------
    >>> corpus = make_corpus(n_subjects=2, clips_per_subject=5, classes=["happiness", "surprise"])
    >>> sorted(corpus.class_counts().to_dict().items())
    [('happiness', 5), ('surprise', 5)]
    >>> truth = corpus.ground_truth(0)
    >>> truth["flow_apex"].dims
    ('component', 'y', 'x')
    """
    plan = None
    if like is not None:
        if not isinstance(like, str):
            raise ValueError(f"like must be one of {list(TWINS)}, got {describe(like)}")
        plan = twin_plan(like.strip().lower(), scale)
        given = [k for k, v in (("n_subjects", n_subjects), ("clips_per_subject", clips_per_subject),
                                ("classes", classes), ("balance", balance)) if v is not None]
        if given:
            raise ValueError(f"like={like!r} sets {', '.join(given)} itself; pass scale= for a smaller copy, "
                             f"or drop like= to choose them")
        n_subjects = plan["n_subjects"]
        size = plan["size"] if size is None else size
        fps = plan["fps"] if fps is None else fps
        classes = list(plan["counts"])
        balance = dict(plan["counts"])
    elif scale != 1.0:
        raise ValueError(f"scale applies to a twin only (like= one of {list(TWINS)}), got scale={describe(scale)}")
    n_subjects = check_int("n_subjects", 12 if n_subjects is None else n_subjects, low=1, high=999)
    if plan is None:
        clips_per_subject = check_int("clips_per_subject", 10 if clips_per_subject is None else clips_per_subject,
                                      low=1, high=9999)
    size = check_int("size", 96 if size is None else size, low=32, high=1024)
    fps = check_number("fps", 100 if fps is None else fps, low=20, high=10000)
    seed = check_int("seed", seed, low=0)
    first_frame = check_int("first_frame", first_frame, low=0)
    cache_clips = check_int("cache_clips", cache_clips, low=0)
    names, weights = _resolve_classes(classes, "balanced" if balance is None else balance)
    durations, pads = (plan["durations"], plan["pads"]) if plan else ((0.2, 0.5), (0.06, 0.16))
    knobs = difficulty_knobs(difficulty, noise=noise, drift=drift, rotation=rotation, blink=blink,
                             flicker=flicker, amplitude=amplitude, appearance=appearance, idiosyncrasy=idiosyncrasy)
    label = difficulty if isinstance(difficulty, str) else f"{float(difficulty):g}"

    # classes -> samples: exact counts, dealt out to subjects in stripes so that every
    # subject gets a near-proportional mix (LOSO folds then hold every class)
    if plan is not None:
        counts = np.array([plan["counts"][n] for n in names])
        total = int(counts.sum())
    else:
        total = n_subjects * clips_per_subject
        counts = _allocate(total, weights)
    labels = np.repeat(np.arange(len(names)), counts)
    table_rng = _seed_rng(seed, _TABLE)
    per_subject = [[] for _ in range(n_subjects)]
    start = int(table_rng.integers(n_subjects))
    for i, lab in enumerate(labels):
        per_subject[(start + i) % n_subjects].append(int(lab))
    others_pool = tuple(au for au in _OTHERS_POOL if au not in _defining_aus([n for n in names if n != "others"]))
    if not others_pool:
        others_pool = _OTHERS_POOL

    own = {n: _defining_aus([n]) if n != "others" else set() for n in names}
    avoid = {n: frozenset(set().union(*(own[o] for o in names if o != n)) - own[n]) for n in names}
    sw = max(2, len(str(n_subjects)))
    cw = max(3, len(str(max(len(p) for p in per_subject))))
    specs = {}
    rows = []
    lo, hi = knobs["amplitude"]
    for s in range(n_subjects):
        mine = np.array(per_subject[s])
        table_rng.shuffle(mine)
        subject = f"S{s + 1:0{sw}d}"
        style = _subject_style(seed, s, knobs["idiosyncrasy"])
        for c in range(len(mine)):
            emotion = names[int(mine[c])]
            rng = _seed_rng(seed, _CLIP, s, c)
            aus = _draw_aus(rng, emotion, others_pool)
            amp = float(rng.uniform(lo, hi))
            n_frames, onset, apex, offset = _clip_timing(rng, fps, durations=durations, pads=pads, style=style)
            depth = knobs["appearance"]
            if style is not None:
                aus = _styled_aus(aus, emotion, style, seed, s, c, others_pool, avoid[emotion])
                if hi > lo:  # the subject's own amplitude, inside the knob's range
                    k = 0.75 * style.strength
                    amp = float(lo + (hi - lo) * ((1 - k) * (amp - lo) / (hi - lo) + k * style.strength_pref))
                depth = float(min(depth * style.skin, APPEARANCE_MAX))
            aus = tuple(aus)
            sample = f"{subject}_{c + 1:0{cw}d}"
            specs[sample] = ClipSpec(sample=sample, subject=subject, subject_index=s, clip_index=c, emotion=emotion,
                                     aus=aus, amplitude=amp, n_frames=n_frames, onset=onset, apex=apex, offset=offset,
                                     appearance=depth)
            rows.append((DATASET, subject, sample, emotion, emotion, first_frame + onset, first_frame + apex,
                         first_frame + offset, n_frames, fps, _au_string(aus), amp, label))
    samples = pd.DataFrame(rows, columns=["dataset", "subject", "sample", "emotion", "label", "onset", "apex", "offset",
                                          "n_frames", "fps", "action_units", "amplitude", "difficulty"])
    source = _Source(specs, seed=seed, size=size, fps=fps, first_frame=first_frame, knobs=knobs,
                     difficulty_label=label, cache_clips=cache_clips)
    info = {"seed": seed, "size": size, "fps": fps, "classes": names,
            "balance": (balance or "balanced") if not isinstance(balance, Mapping) else dict(balance),
            "difficulty": label, **_knob_attrs(knobs)}
    if plan is not None:
        info.update(like=plan["like"], scale=plan["scale"], twin_of=plan["title"])
    return Corpus(samples, loader=source, name=DATASET, truth=source.truth, info=info)


def make_long_video(*, n_expressions: int = 3, duration_s: float | None = None, fps: float = 100, size: int = 96,
                    seed: int = 0, difficulty="default", subject=1, classes=None, n_macro: int = 1, noise=None,
                    drift=None, rotation=None, blink=None, flicker=None, amplitude=None, first_frame: int = 0,
                    return_truth: bool = False):
    """A long clip with micro-expressions at known times among distractors (for spotting).

    Parameters
    ----------
    n_expressions : int
        Number of micro-expressions (0.2-0.5 s each, amplitude from the difficulty).
    duration_s : float, optional
        Length of the video in seconds; default ``2 + 1.5 * (n_expressions + n_macro)``.
        Too short a video for the expressions raises a ValueError.
    fps : float
        Frames per second (>= 20).
    size : int
        Frame width and height in pixels.
    seed : int
        Seed; with the same seed the face of ``subject`` is the one ``make_corpus`` draws.
    difficulty, noise, drift, rotation, blink, flicker, amplitude
        As in :func:`make_corpus`. Here ``blink`` is a rate (blinks per second) and the
        head drifts over the whole video (peak ``drift * sqrt(duration_s / 2)``).
    subject : int or str
        Subject number (1-based) or name ("S03").
    classes : list of str, optional
        Emotions the micro-expressions are drawn from (default the CASME II five).
    n_macro : int
        Number of macro-expressions (larger: 2.5-6 px, longer: 0.6-1.5 s), type "macro".
    first_frame : int
        Frame number of the first frame.
    return_truth : bool
        Also return the ground truth (landmarks, head pose, blinks, gain and each
        expression's intensity per frame).

    Returns
    -------
    cube : xarray.DataArray
        Grey uint8 cube (time, y, x), sample "<subject>_long".
    intervals : pandas.DataFrame
        One row per expression, by onset: ``onset``, ``apex``, ``offset`` (frame numbers),
        ``emotion``, ``type`` ("micro" or "macro"), ``action_units``, ``amplitude``.
    truth : xarray.Dataset
        Only with ``return_truth=True``.

    Examples
    --------
    >>> cube, intervals = make_long_video(n_expressions=2, n_macro=0, seed=3)
    >>> list(intervals["type"])
    ['micro', 'micro']
    """
    n_expressions = check_int("n_expressions", n_expressions, low=0, high=1000)
    n_macro = check_int("n_macro", n_macro, low=0, high=1000)
    fps = check_number("fps", fps, low=20, high=10000)
    size = check_int("size", size, low=32, high=1024)
    seed = check_int("seed", seed, low=0)
    first_frame = check_int("first_frame", first_frame, low=0)
    if isinstance(subject, str):
        digits = subject.strip().upper().lstrip("S")
        if not digits.isdigit() or int(digits) < 1:
            raise ValueError(f"subject must be a number >= 1 or a name like 'S03', got {describe(subject)}")
        subject_index = int(digits) - 1
    else:
        subject_index = check_int("subject", subject, low=1) - 1
    names, _ = _resolve_classes(classes, "balanced")
    knobs = difficulty_knobs(difficulty, noise=noise, drift=drift, rotation=rotation, flicker=flicker,
                             amplitude=amplitude)
    if blink is not None:
        knobs["blink"] = check_number("blink", blink, low=0, high=10)
    n_events = n_expressions + n_macro
    if duration_s is None:
        duration_s = 2.0 + 1.5 * n_events
    duration_s = check_number("duration_s", duration_s, low=0, low_open=True, high=3600)
    rng = _seed_rng(seed, _LONG, subject_index)
    others_pool = tuple(au for au in _OTHERS_POOL if au not in _defining_aus([n for n in names if n != "others"]))
    lo, hi = knobs["amplitude"]
    events = []
    for i in range(n_events):
        macro = i >= n_expressions
        if macro:
            emotion = str(rng.choice(["happiness", "surprise", "disgust", "sadness"]))
            amp = float(rng.uniform(max(2.5, 2 * hi), max(6.0, 3 * hi)))
            dur = float(rng.uniform(0.6, 1.5))
        else:
            emotion = names[int(rng.integers(len(names)))]
            amp = float(rng.uniform(lo, hi))
            dur = float(rng.uniform(0.2, 0.5))
        aus = _draw_aus(rng, emotion, others_pool or _OTHERS_POOL)
        events.append({"emotion": emotion, "aus": aus, "amplitude": amp, "duration": dur,
                       "rise": float(rng.uniform(0.3, 0.5)), "type": "macro" if macro else "micro"})
    order = rng.permutation(n_events)
    gap_min = 0.3
    busy = sum(e["duration"] for e in events)
    slack = duration_s - busy - gap_min * (n_events + 1)
    if slack < 0:
        need = busy + gap_min * (n_events + 1)
        raise ValueError(f"duration_s={duration_s:g} s is too short for {n_expressions} micro- and {n_macro} "
                         f"macro-expressions; they need at least {need:.2f} s")
    gaps = gap_min + slack * rng.dirichlet(np.ones(n_events + 1)) if n_events else np.array([duration_s])
    n_frames = int(round(duration_s * fps))
    face = build_face(sample_identity(_seed_rng(seed, _IDENTITY, subject_index)), size)
    t = gaps[0]
    expressions, profiles, rows = [], [], []
    for j, idx in enumerate(order):
        e = events[idx]
        onset = int(round(t * fps))
        length = max(3, int(round(e["duration"] * fps)))
        apex = onset + min(max(1, int(round(e["rise"] * length))), length - 1)
        offset = min(onset + length, n_frames - 1)
        apex = min(apex, offset)
        expressions.append(motion.make_expression(face, e["aus"], e["amplitude"]))
        profiles.append(motion.raised_cosine_profile(n_frames, onset, apex, offset))
        rows.append((first_frame + onset, first_frame + apex, first_frame + offset, e["emotion"], e["type"],
                     _au_string(e["aus"]), e["amplitude"]))
        t += e["duration"] + gaps[j + 1]
    dyn = _dynamics(rng, n_frames, fps, knobs, face.centre, long=True)
    frames = motion.render(face, n_frames=n_frames, expressions=expressions, profiles=profiles, head=dyn.head,
                           closure=dyn.closure, gain=dyn.gain, noise=knobs["noise"], rng=dyn.rng)
    label = difficulty if isinstance(difficulty, str) else f"{float(difficulty):g}"
    subject_name = f"S{subject_index + 1:02d}"
    cube = make_cube(frames, fps=fps, frame_numbers=range(first_frame, first_frame + n_frames), dataset=DATASET,
                     subject=subject_name, sample=f"{subject_name}_long", difficulty=label)
    intervals = pd.DataFrame(rows, columns=["onset", "apex", "offset", "emotion", "type", "action_units", "amplitude"])
    intervals = intervals.sort_values("onset", kind="stable").reset_index(drop=True)
    if not return_truth:
        return cube, intervals
    extra = {}
    if expressions:
        extra["expression"] = (("event", "time"), np.array(profiles, np.float32),
                               {"long_name": "intensity of each expression (1 at its apex)"})
    truth = _truth_dataset(face, expressions, profiles, dyn, n_frames=n_frames, fps=fps, first_frame=first_frame,
                           onset=None, apex=None, offset=None, extra_vars=extra,
                           attrs=dict(dataset=DATASET, subject=subject_name, sample=f"{subject_name}_long",
                                      difficulty=label, **_knob_attrs(knobs)))
    return cube, intervals, truth
