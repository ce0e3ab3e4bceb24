"""`scripts/dev.py` loaded as a module (it is a script, not part of a package), and its uv."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "dev.py"
# The `test` extra pins uv, so the virtualenv running the tests has the locked release.
UV = Path(sys.executable).with_name("uv")
VENV = Path(sys.prefix)
NAME = "pylon_dev_script"


def load_dev_script() -> ModuleType:
    """Import the script once (importing it runs nothing: it only defines functions)."""
    if NAME in sys.modules:
        return sys.modules[NAME]
    spec = importlib.util.spec_from_file_location(NAME, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module  # dataclasses look their module up while the script runs
    spec.loader.exec_module(module)
    return module
