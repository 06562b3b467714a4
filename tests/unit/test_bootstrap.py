"""Modules imported on first use instead of at cold start (bootstrap.IMPORTED_ON_FIRST_USE;
tests/integration/test_image_requirements.py checks they stay unloaded through init)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from bootstrap import ImportedOnFirstUse


@pytest.fixture
def slow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module whose import leaves a mark, so a test can tell whether its code ran."""
    name = "finday_slow_module_for_test"
    (tmp_path / f"{name}.py").write_text("import builtins\nbuiltins.finday_imported = True\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    yield name
    sys.modules.pop(name, None)
    import builtins

    if hasattr(builtins, "finday_imported"):
        del builtins.finday_imported


def test_module_is_imported_when_an_attribute_is_first_read(slow_module: str):
    import builtins

    sys.modules[slow_module] = ImportedOnFirstUse(slow_module)
    module = importlib.import_module(slow_module)  # what `import name` in a library does
    assert not hasattr(builtins, "finday_imported")

    assert module.VALUE == 42
    assert builtins.finday_imported is True
    assert type(sys.modules[slow_module]).__name__ == "module"  # the real module took its place
    assert module.VALUE == 42  # the stand-in keeps answering for those who hold it

