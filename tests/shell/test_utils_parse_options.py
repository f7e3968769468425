"""utils/parse_options.sh: Kaldi option semantics, driven through a small script that sources it."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """nj=4
foo_bar=default
use_gpu=false
config=conf/a.yaml
cmd=run.pl
help_message="Usage: demo.sh [options] <a> <b>"
. "{po}" || exit 1
set -euo pipefail
echo "nj=$nj foo_bar=$foo_bar use_gpu=$use_gpu config=$config cmd=$cmd"
echo "nargs=$#"
for a in "$@"; do echo "arg=$a"; done
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "demo.sh"
    script.write_text(SCRIPT.format(po=ROOT / "utils" / "parse_options.sh"))
    return subprocess.run(["bash", str(script), *args], cwd=tmp_path, capture_output=True, text=True)


def test_sets_values_and_keeps_positional_args(tmp_path):
    p = _run(tmp_path, "--nj", "8", "--foo-bar", "x y", "--use-gpu", "true", "a", "--nj", "b c")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "nj=8 foo_bar=x y use_gpu=true config=conf/a.yaml cmd=run.pl"
    # Parsing stops at the first non-option: the later --nj is positional.
    assert lines[1:] == ["nargs=3", "arg=a", "arg=--nj", "arg=b c"]


def test_equals_form_and_config_is_an_ordinary_variable(tmp_path):
    p = _run(tmp_path, "--foo-bar=a=b", "--config", "conf/x.yaml", "--cmd=slurm.pl --mem 4G", "pos")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == \
        "nj=4 foo_bar=a=b use_gpu=false config=conf/x.yaml cmd=slurm.pl --mem 4G"


def test_boolean_needs_true_or_false(tmp_path):
    p = _run(tmp_path, "--use-gpu", "yes", "a")
    assert p.returncode != 0
    assert "--use-gpu" in p.stderr and "true or false" in p.stderr
    assert "nj=" not in p.stdout


def test_unknown_option_is_an_error_naming_it(tmp_path):
    p = _run(tmp_path, "--no-such-opt", "3", "a")
    assert p.returncode != 0
    assert "--no-such-opt" in p.stderr
    assert "nj=" not in p.stdout


def test_missing_value_and_empty_cmd_are_errors(tmp_path):
    assert _run(tmp_path, "--nj").returncode != 0
    p = _run(tmp_path, "--cmd", "", "a")
    assert p.returncode != 0 and "empty argument to --cmd" in p.stderr


def test_help_prints_help_message_and_exits_0(tmp_path):
    for flag in ("--help", "-h"):
        p = _run(tmp_path, "--nj", "3", flag)
        assert p.returncode == 0
        assert p.stdout.strip() == "Usage: demo.sh [options] <a> <b>"


def test_conf_file_is_sourced_and_command_line_wins(tmp_path):
    (tmp_path / "opts.conf").write_text("nj=16\nfoo_bar=from_conf\n")
    # --conf after --nj: the command line still wins, as in Kaldi.
    p = _run(tmp_path, "--nj", "2", "--conf", "opts.conf", "pos")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[:2] == \
        ["nj=2 foo_bar=from_conf use_gpu=false config=conf/a.yaml cmd=run.pl", "nargs=1"]
    p = _run(tmp_path, "--conf", "missing.conf")
    assert p.returncode != 0 and "missing.conf" in p.stderr


def test_double_dash_ends_options(tmp_path):
    p = _run(tmp_path, "--nj", "5", "--", "--foo-bar", "x")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1:] == ["nargs=2", "arg=--foo-bar", "arg=x"]
