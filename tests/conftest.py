"""Test-session wiring shared by the whole suite.

`make test` (and so CI) runs pytest on two workers with pytest-xdist (`-n 2 --dist loadgroup`). A session
or module fixture would otherwise be built once per worker: the tiny egs/mini run alone takes about three
minutes. So every test that uses such a fixture is put in one xdist group, named after the fixture, and
the workers split only the rest. Without xdist the marks do nothing. Each worker computes on one
thread (and so do the jobs it starts), so two workers do not oversubscribe two cores.
"""
from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
        import torch
        torch.set_num_threads(1)


def _shared_fixture(item: pytest.Item) -> str | None:
    """The name of the widest-scoped fixture of ours the item uses ('session' before 'module'), if any."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    best: tuple[int, str] | None = None
    for name, defs in info.name2fixturedefs.items():
        fdef = defs[-1]
        if fdef.scope not in ("session", "module") or not fdef.baseid:
            continue                               # function scope, or pytest's own (tmp_path_factory ...)
        if fdef.scope == "session" and not fdef.argnames:
            continue                               # a constant (tiny_options): nothing built, no need to share
        rank = 0 if fdef.scope == "session" else 1
        key = name if fdef.scope == "session" else f"{item.nodeid.split('::')[0]}::{name}"
        if best is None or rank < best[0]:
            best = (rank, key)
    return best[1] if best else None


@pytest.hookimpl(tryfirst=True)   # before xdist's own hook, which reads the marks into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith("tests/cluster/"):
            group = "slurm"                        # one local Slurm: its jobs must not race each other
        else:
            group = _shared_fixture(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
