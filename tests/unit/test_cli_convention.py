"""Every CLI (pytorch/bin, score/bin) follows the one convention of common/cli.py: `main(argv=None) -> int`
run through `run_main`, help from `make_parser` with a usage line and an `e.g.:` example, Kaldi booleans
(`--flag true|false`, never a bare switch), one logging setup, and the same option names for the same
things."""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIS = sorted(p for d in ("pytorch/bin", "score/bin") for p in (ROOT / d).glob("*.py")
              if not p.name.startswith("_"))
# One name per concept: the left-hand spellings are refused wherever they appear.
SYNONYMS = {"--topk": "--top-n", "--top-k": "--top-n", "--topn": "--top-n", "--nj-jobs": "--nj",
            "--num-jobs": "--nj", "--out-dir": "--out", "--output": "--out", "--outdir": "--out"}


def _ids(p: Path) -> str:
    return f"{p.parent.parent.name}.bin.{p.stem}"


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_there_are_clis():
    assert len(CLIS) >= 20


@pytest.mark.parametrize("path", CLIS, ids=_ids)
def test_source_follows_the_convention(path):
    tree = ast.parse(path.read_text(), str(path))
    calls = _calls(tree)
    names = {_name(c.func) for c in calls}
    assert "run_main" in names, "main() must run its body through common.cli.run_main"
    assert "make_parser" in names, "build the parser with common.cli.make_parser(prog, __doc__)"
    assert "basicConfig" not in names, "set up logging with common.cli.setup_logging"
    for c in calls:
        for kw in c.keywords:
            val = kw.value
            if kw.arg == "action" and isinstance(val, ast.Constant):
                assert val.value not in ("store_true", "store_false", "store_const"), \
                    f"line {c.lineno}: booleans are --flag true|false (common.cli.add_bool)"
            if kw.arg == "type":
                assert _name(val) != "bool", f"line {c.lineno}: type=bool; use common.cli.add_bool"
            if kw.arg == "choices" and isinstance(val, (ast.Tuple, ast.List)):
                consts = {e.value for e in val.elts if isinstance(e, ast.Constant)}
                assert consts != {"true", "false"}, f"line {c.lineno}: use common.cli.add_bool"


@pytest.mark.parametrize("path", CLIS, ids=_ids)
def test_main_signature_and_help(path, capsys):
    mod = importlib.import_module(_ids(path))
    sig = inspect.signature(mod.main)
    (param,) = sig.parameters.values()
    assert param.name == "argv" and param.default is None
    assert sig.return_annotation in (int, "int")
    with pytest.raises(SystemExit) as e:
        mod.main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: ")
    assert "e.g.:" in text, "the help needs an example line starting with 'e.g.:'"
    for bad, good in SYNONYMS.items():
        assert f"{bad} " not in text and f"{bad}\n" not in text, f"use {good}, not {bad}"
