"""Quantities of a flow field: optical strain, magnitude, direction, colour-wheel picture.

Flows follow the convention of :mod:`mer_lab.features.flow`: ``(2, H, W)`` arrays (or
DataArrays with a ``component`` dim) holding ``(u, v)`` in pixels, ``v`` downwards.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..._validate import check_array, check_number

__all__ = ["strain_components", "optical_strain", "flow_magnitude", "flow_angle", "flow_to_rgb"]


def _flow_array(flow, name="flow") -> np.ndarray:
    if isinstance(flow, xr.DataArray):
        if "component" in flow.dims:
            flow = flow.transpose(..., "component", "y", "x")
            comps = [str(c) for c in flow["component"].values] if "component" in flow.coords else None
            if comps is not None and "u" in comps and "v" in comps:
                flow = flow.sel(component=["u", "v"])
        flow = flow.values
    arr = check_array(name, flow, ndim=(3, 4))
    if arr.shape[-3] != 2:
        raise ValueError(f"{name} must have shape (2, H, W) (u, v first), got {arr.shape}")
    return arr


def strain_components(flow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Components ``(e_xx, e_yy, e_xy)`` of the optical strain tensor.

    Parameters
    ----------
    flow : array_like or DataArray, shape (2, H, W)
        Flow in the library convention.

    Returns
    -------
    e_xx, e_yy, e_xy : numpy.ndarray, shape (H, W), float32
        ``e_xx = du/dx``, ``e_yy = dv/dy``, ``e_xy = (du/dy + dv/dx) / 2``; derivatives by
        central differences (one-sided at the border).
    """
    f = _flow_array(flow).astype(np.float32, copy=False)
    du_dy, du_dx = np.gradient(f[0])
    dv_dy, dv_dx = np.gradient(f[1])
    return du_dx, dv_dy, 0.5 * (du_dy + dv_dx)


def optical_strain(flow):
    """Optical strain magnitude of a flow field.

    Parameters
    ----------
    flow : array_like or DataArray, shape (2, H, W)

    Returns
    -------
    numpy.ndarray or DataArray, shape (H, W), float32
        ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)``; a DataArray (y, x) when ``flow`` is one.

    Notes
    -----
    The strain tensor of a displacement field ``(u, v)`` is
    ``e = [[du/dx, (du/dy + dv/dx)/2], [(du/dy + dv/dx)/2, dv/dy]]``; its Frobenius norm
    is ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)``. Note that the shear term enters as the
    square of the *sum* ``(du/dy + dv/dx)``, not as the sum of the two squares.

    References
    ----------
    Shreve et al., "Macro- and micro-expression spotting in long videos using
    spatio-temporal strain", FG 2011, doi:10.1109/FG.2011.5771451.

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[0:16, 0:16].astype(np.float32)
    >>> flow = np.stack([0.1 * x, 0.0 * y])           # uniform stretch along x
    >>> round(float(optical_strain(flow)[8, 8]), 3)
    0.1
    """
    exx, eyy, exy = strain_components(flow)
    mag = np.sqrt(exx * exx + eyy * eyy + 2.0 * exy * exy).astype(np.float32)
    if isinstance(flow, xr.DataArray):
        coords = {k: flow.coords[k] for k in ("y", "x") if k in flow.coords}
        return xr.DataArray(mag, dims=("y", "x"), coords=coords, attrs={
            **{k: v for k, v in flow.attrs.items() if k not in ("units", "long_name")},
            "units": "1", "long_name": "optical strain"})
    return mag


def flow_magnitude(flow) -> np.ndarray:
    """Per-pixel length ``sqrt(u^2 + v^2)`` (px) of a flow (``(2, ...)`` -> ``(...)``)."""
    f = _flow_array(flow)
    return np.hypot(f[0], f[1]).astype(np.float32)


def flow_angle(flow) -> np.ndarray:
    """Per-pixel direction ``atan2(v, u)`` in radians, in (-pi, pi].

    Image axes: 0 = right, +pi/2 = down, +-pi = left, -pi/2 = up (``v`` grows downwards).
    """
    f = _flow_array(flow)
    return np.arctan2(f[1], f[0]).astype(np.float32)


def flow_to_rgb(flow, *, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-wheel picture of a flow: hue = direction, brightness = magnitude.

    Parameters
    ----------
    flow : array_like, shape (2, H, W)
    max_magnitude : float, optional
        Magnitude shown at full brightness; default the largest in ``flow``.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8 RGB
        Hue follows the direction on the image (0 deg = right red, 90 deg = down,
        180 deg = left, 270 deg = up), saturation is full, value is the magnitude.
    """
    import cv2

    f = _flow_array(flow)
    mag = np.hypot(f[0], f[1])
    ang = np.degrees(np.arctan2(f[1], f[0])) % 360.0
    top = float(mag.max()) if max_magnitude is None else check_number("max_magnitude", max_magnitude, low=0, low_open=True)
    hsv = np.empty(mag.shape + (3,), np.uint8)
    hsv[..., 0] = np.rint(ang / 2.0).astype(np.uint8) % 180  # OpenCV hue runs 0..179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(np.rint(255.0 * mag / top), 0, 255).astype(np.uint8) if top > 0 else 0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
