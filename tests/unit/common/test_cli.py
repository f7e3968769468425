"""The CLI runner: one-line errors with exit 1, Ctrl-C as exit 130, Kaldi booleans, no output over an
input."""
from __future__ import annotations

import argparse
import os

import pytest

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, str2bool
from common.errors import AsvError, ConfigError, FormatError


def test_user_errors_are_one_line_exit_1(capsys):
    def body():
        raise FormatError("x.scp:3: expected 2 fields; fix the line")
    assert run_main("tool", body) == 1
    assert capsys.readouterr().err == "tool: error: x.scp:3: expected 2 fields; fix the line\n"


def test_key_error_message_is_unwrapped(capsys):
    def body():
        raise KeyError("spk1: no such speaker")
    assert run_main("tool", body) == 1
    assert capsys.readouterr().err == "tool: error: spk1: no such speaker\n"


def test_ctrl_c_is_exit_130_without_traceback(capsys):
    def body():
        raise KeyboardInterrupt
    assert run_main("tool", body) == 130
    assert capsys.readouterr().err == "tool: interrupted\n"


def test_bugs_still_raise():
    def body():
        raise ZeroDivisionError
    with pytest.raises(ZeroDivisionError):
        run_main("tool", body)


def test_return_code_passes_through():
    assert run_main("tool", lambda: None) == 0
    assert run_main("tool", lambda: 3) == 3


def test_errors_share_one_base():
    assert issubclass(ConfigError, AsvError) and issubclass(FormatError, AsvError)


def test_kaldi_booleans():
    ap = make_parser("tool", "tool: does x\n\ne.g.: tool --flag true")
    add_bool(ap, "--flag", False, "a flag")
    assert ap.parse_args(["--flag", "true"]).flag is True
    assert ap.parse_args([]).flag is False
    with pytest.raises(argparse.ArgumentTypeError):
        str2bool("yes")
    with pytest.raises(SystemExit):
        ap.parse_args(["--flag", "1"])


def test_refuse_overwrite(tmp_path):
    (tmp_path / "trials").write_text("a b target\n")
    os.symlink(tmp_path / "trials", tmp_path / "link")
    refuse_overwrite({"--out": str(tmp_path / "scores")}, {"--trials": str(tmp_path / "trials")})
    with pytest.raises(AsvError, match="--out .* is also the input --trials"):
        refuse_overwrite({"--out": str(tmp_path / "link")}, {"--trials": str(tmp_path / "trials")})
    with pytest.raises(AsvError, match="--scores"):
        refuse_overwrite({"--out": str(tmp_path / "b")},
                         {"--scores": [str(tmp_path / "a"), str(tmp_path / "b")]})
