"""mer_lab: a workbench for learning and comparing facial micro-expression analysis.

Subpackages
-----------
cube
    The video cube convention (xarray DataArray with dims time, y, x).
datasets
    Loaders for the real datasets as their owners distribute them, the built-in
    synthetic corpus, and the Corpus object (samples table + lazy cubes).
preprocess
    Face detection, landmarks, registration and cropping; TIM; Eulerian magnification.
features
    LBP-TOP family, HOG/HIGO-TOP, optical flow, strain, HOOF, MDMO, Sparse MDMO, FDM, Bi-WOOF.
evaluation
    Metrics, protocols (LOVO, LOSO, cross-database, MEGC composite), grid searches, experiments.
spotting
    Feature-difference and 3D-FFT apex spotting with MEGC interval metrics.
"""

__version__ = "0.1.0"

from . import cube  # noqa: F401  (light: numpy + xarray)
