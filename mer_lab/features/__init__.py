"""Feature extraction: from a clip (or its optical flow) to one feature vector.

Modules
-------
``lbp``, ``hog``, ``colour``, ``stclqp``
    Appearance: LBP-TOP and its variants, HOG-TOP / HIGO-TOP, colour LBP-TOP (TICS),
    STCLQP.
``flow``, ``hoof``, ``biwoof``, ``fdm``, ``mdmo``, ``sparse_mdmo``
    Motion: optical flow and strain, and the descriptors built on them.
``blocks``
    The one partition of an image or a volume into a grid of blocks, used by every
    block descriptor and by the spotters.
``rois``, ``apex``, ``base``
    Facial regions of interest, apex estimation, and the scikit-learn transformer base.

Return types
------------
One rule for every per-clip feature function (``lbp_top``, ``lbp_xyot``, ``lbp_sip``,
``lbp_mop``, ``elbp_top``, ``hog_top``, ``higo_top``, ``lbp_top_tics``, ``hoof``,
``clip_hoof``, ``biwoof``, ``biwoof_phase``, ``fdm``, ``mdmo``):

    **A per-clip feature function returns a 1-D float64** :class:`numpy.ndarray`
    **(never an xarray object), whatever the input's type and dtype** (a cube, a plain
    ``(time, y, x)`` array, a flow field). Its names, one per element and in the same
    order, come from the matching ``*_names`` function, called with the same layout
    parameters (``lbp_top`` -> ``lbp_top_names``, ``clip_hoof`` -> ``hoof_names``), or
    from the transformer's ``get_feature_names_out``.

Feature vectors are rows of a design matrix: plain arrays stack into ``(sample, feature)``
matrices and go to scikit-learn as they are, and the samples' metadata and the feature
names label that matrix once, at the experiment level, rather than every row. The
transformers (:class:`mer_lab.features.base.CubeFeatures` subclasses) return the stacked
2-D float64 matrix.

What is not a per-clip feature vector keeps the type that carries its coordinates:
curves over time (:func:`mer_lab.features.apex.flow_magnitude_curve`, the spotters'),
flow fields and sequences are :class:`xarray.DataArray`; code volumes for figures
(:func:`mer_lab.features.lbp.lbp_top_codes`) are dicts of arrays.
``tests/features/test_return_types.py`` checks the rule for every function above.
``mdmo.mdmo_frames`` is per-frame, not per-clip: one MDMO row per frame, the input that
Sparse MDMO's fitted stage codes, returned as a DataArray ``(time, roi, quantity)``;
its transformer (:class:`mer_lab.features.steps.MDMOFrames`) flattens it into one row
per clip.
"""
