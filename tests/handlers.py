"""The deploy-time handlers as their tests load them: each `index.py` from its folder, as Lambda loads it, with the
AWS SDK (and whatever else a test stands in for) replaced."""

from __future__ import annotations

import importlib.util
import io
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import pytest


def load_handler(monkeypatch: pytest.MonkeyPatch, handler_dir: Path, *, modules: Mapping[str, object]) -> ModuleType:
    """`handler_dir`/index.py, imported with `modules` (name -> stand-in, e.g. boto3) in sys.modules."""
    for name, stand_in in modules.items():
        monkeypatch.setitem(sys.modules, name, stand_in)
    spec = importlib.util.spec_from_file_location(f"{handler_dir.name}_index", handler_dir / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeResponse(io.BytesIO):
    """What `urllib.request.urlopen` returns, as a context manager, with this body."""

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> bool:
        return False
