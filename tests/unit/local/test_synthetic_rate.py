"""The sample rate of the synthetic corpus has one home, local/synthetic/rate.py: no module repeats it."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from local.synthetic.rate import SR

PKG = Path(__file__).resolve().parents[3] / "local" / "synthetic"
MODULES = sorted(p for p in PKG.glob("*.py") if p.name != "rate.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_no_module_defines_its_own_sample_rate(path):
    tree = ast.parse(path.read_text(), str(path))
    literals = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value == SR]
    assigned = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "SR" for t in n.targets)]
    assert not literals and not assigned, f"{path}: lines {literals + assigned}; import SR from local.synthetic.rate"


@pytest.mark.parametrize("name", ["augsets", "datadirs", "noises", "sessions", "voices", "render", "speak"])
def test_modules_use_the_one_rate(name):
    assert importlib.import_module(f"local.synthetic.{name}").SR is SR
