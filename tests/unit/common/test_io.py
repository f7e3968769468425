"""Atomic writes (no partial file, ordinary permissions from the umask at write time) and table readers."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from common.errors import FormatError
from common.io import atomic_write, read_kv, read_table


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "out.txt") as f:
            f.write("half")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


def test_atomic_write_uses_the_umask_at_write_time(tmp_path):
    old = os.umask(0o077)
    try:
        with atomic_write(tmp_path / "a") as f:
            f.write("x")
        os.umask(0o022)
        with atomic_write(tmp_path / "b") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o644


def test_import_has_no_side_effect_on_umask():
    code = ("import os; os.umask(0o027); import common.io, common.embeddings, common.cli; "
            "print(oct(os.umask(0)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    assert out.stdout.strip() == "0o27"


def test_read_kv_names_the_line(tmp_path):
    p = tmp_path / "utt2spk"
    p.write_text("u1 s1\nu2\n")
    with pytest.raises(FormatError, match=r"utt2spk:2: expected"):
        read_kv(p)
    p.write_text("u1 s1\nu1 s2\n")
    with pytest.raises(FormatError, match=r"utt2spk:2: duplicate key 'u1'"):
        read_kv(p)


def test_read_table_column_count(tmp_path):
    p = tmp_path / "trials"
    p.write_text("a b target\n\nc d\n")
    with pytest.raises(FormatError, match=r"trials:3: expected 3 fields, got 2"):
        read_table(p, 3, 3)
