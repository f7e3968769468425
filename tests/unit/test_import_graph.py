"""The package layering: `common` is the bottom layer (stdlib, numpy, kaldiio only), `pytorch` and `score`
never import each other, `local` and `common` never import the front or back end's internals the wrong way,
and no package has an import cycle, function-level imports included (they hide cycles rather than remove
them)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "pytorch", "score", "local")
COMMON_THIRD_PARTY = {"numpy", "kaldiio"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    """The longest prefix of `name` that is one of our modules."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in mods:
            return cand
    return None


def _imports(mod: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every name imported anywhere in the file (module level or inside functions), resolved to a module of
    ours where it is one, else kept as the top-level name of the third-party or stdlib package."""
    tree = ast.parse(path.read_text(), str(path))
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] if base else [a.name for a in node.names]
            names = [n if _resolve(n, mods) == n else base for n in names]
        else:
            continue
        for n in names:
            out.add(_resolve(n, mods) or n.split(".")[0])
    out.discard(mod)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def _top(name: str) -> str:
    return name.split(".")[0]


def test_no_edge_between_front_end_and_back_end(graph):
    bad = [f"{m} -> {d}" for m, deps in graph.items() for d in deps
           if {_top(m), _top(d)} == {"pytorch", "score"}]
    assert not bad, "pytorch/ and score/ must not import each other (use common/):\n" + "\n".join(sorted(bad))


def test_common_is_the_bottom_layer(graph):
    allowed = COMMON_THIRD_PARTY | set(sys.stdlib_module_names) | {"common", "__future__"}
    bad = [f"{m} -> {d}" for m, deps in graph.items() if _top(m) == "common" for d in deps
           if _top(d) not in allowed]
    assert not bad, "common/ may use only the stdlib, numpy and kaldiio:\n" + "\n".join(sorted(bad))


def test_no_package_imports_local(graph):
    bad = [f"{m} -> {d}" for m, deps in graph.items() if _top(m) != "local"
           for d in deps if _top(d) == "local"]
    assert not bad, "\n".join(sorted(bad))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles(graph):
    cycles = _cycles(graph)
    assert not cycles, ("import cycles (function-level imports count):\n"
                        + "\n".join(" <-> ".join(c) for c in cycles))
