"""One place for argument validation, so every error reads the same way.

Each helper raises a :class:`ValueError` (or :class:`TypeError`) whose message names
the parameter, what it received and what is accepted.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

__all__ = [
    "check_choice",
    "check_number",
    "check_int",
    "check_array",
    "describe",
]


def describe(value) -> str:
    """A short, safe description of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_choice(name: str, value, choices: Iterable):
    """Return ``value`` if it is one of ``choices``; raise a ValueError otherwise."""
    choices = list(choices)
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={describe(value)} is not accepted; choose one of: {listed}")
    return value


def check_number(name: str, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``float(value)`` if it is a finite real number inside the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {describe(value)}")
    _check_bounds(name, value, low, high, low_open, high_open)
    return float(value)


def check_int(name: str, value, *, low=None, high=None):
    """Return ``int(value)`` if it is an integer inside ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {describe(value)}")
    _check_bounds(name, value, low, high, False, False)
    return int(value)


def _check_bounds(name, value, low, high, low_open, high_open):
    if low is not None and (value < low or (low_open and value == low)):
        sign = ">" if low_open else ">="
        raise ValueError(f"{name} must be {sign} {low}, got {describe(value)}")
    if high is not None and (value > high or (high_open and value == high)):
        sign = "<" if high_open else "<="
        raise ValueError(f"{name} must be {sign} {high}, got {describe(value)}")


def check_array(name: str, value, *, ndim=None, finite=True, dtype=None) -> np.ndarray:
    """Convert ``value`` to an ndarray once and check its rank and values.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : array_like
    ndim : int or tuple of int, optional
        Accepted numbers of dimensions.
    finite : bool
        Reject NaN and infinity (only checked for floating arrays).
    dtype : numpy dtype, optional
        Convert to this dtype after the checks.
    """
    arr = np.asarray(value)
    if arr.dtype == object:
        raise ValueError(f"{name} must be a numeric array, got {describe(value)}")
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in accepted:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, accepted))} dimensions, "
                f"got {arr.ndim} (shape {arr.shape})"
            )
    if finite and np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite values; only finite values are accepted")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr
