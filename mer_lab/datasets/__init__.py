"""Datasets: the Corpus object, class mappings, loaders and the synthetic corpus.

Real datasets are licensed and never shipped: point ``data_manifest.yaml`` (or
``$MER_LAB_DATA``) at your copies, then ``load("casme2")`` or call a loader directly.
"""

from .corpus import (  # noqa: F401
    CLASS_MAPPINGS,
    Corpus,
    DatasetError,
    LoaderWarning,
    class_mapping,
    composite,
)
from .casme import load_casme  # noqa: F401
from .casme2 import load_casme2  # noqa: F401
from .casme_sq import load_casme_sq  # noqa: F401
from .flow_images import load_flow_images, read_flow_image  # noqa: F401
from .manifest import Manifest, ManifestError, load_manifest  # noqa: F401
from .meview import load_meview  # noqa: F401
from .mmew import load_mmew  # noqa: F401
from .registry import DATASETS, available, datasets_table, load  # noqa: F401
from .samm import load_samm, load_samm_long  # noqa: F401
from .smic import load_smic  # noqa: F401
