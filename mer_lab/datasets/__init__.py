"""Datasets: the Corpus object, class mappings, loaders and the synthetic corpus."""

from .corpus import (  # noqa: F401
    CLASS_MAPPINGS,
    Corpus,
    DatasetError,
    LoaderWarning,
    class_mapping,
    composite,
)
