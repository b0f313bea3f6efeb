"""Preprocessing of clips (cube -> cube): face detection, landmarks, registration and
cropping (:mod:`.face`), temporal interpolation (:mod:`.tim`) and Eulerian video
magnification (:mod:`.evm`).

The submodules are imported lazily, so ``import mer_lab.preprocess`` stays light. The
functions are re-exported here, except :func:`mer_lab.preprocess.tim.tim`, whose name is
taken by its module: ``from mer_lab.preprocess.tim import tim``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "face": [
        "FaceDetectionWarning", "LANDMARK_GROUPS", "STABLE_POINTS", "detect_faces", "detect_face",
        "landmarks", "estimate_landmarks", "fit_point_transform", "transform_points", "register",
        "registration_transforms", "crop_face", "landmark_box",
    ],
    # the function tim lives in the module of the same name: mer_lab.preprocess.tim.tim
    "tim": ["linear_interpolate", "compare_tim_linear", "tim_weights"],
    "evm": ["magnify", "level_alphas", "iir_gain"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["face", "tim", "evm", *_WHERE]


def __getattr__(name):
    if name in _EXPORTS:
        return importlib.import_module(f".{name}", __name__)
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
