"""Make the fixture-tree builders importable as ``dataset_fixtures``."""

import importlib.util
import sys
from pathlib import Path

if "dataset_fixtures" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("dataset_fixtures", Path(__file__).with_name("fixtures.py"))
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["dataset_fixtures"] = _module
    _spec.loader.exec_module(_module)
