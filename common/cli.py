"""The one command-line convention of every CLI in `pytorch/bin` and `score/bin`.

Each CLI is `main(argv=None) -> int`, builds its parser with `make_parser` (the module docstring, which holds
a usage line with an `e.g.:` example, becomes the help text), takes booleans Kaldi-style (`--flag true|false`,
`add_bool`), and runs its body through `run_main`: errors a user can fix become one line `prog: error: ...`
and exit code 1, Ctrl-C becomes one line and exit code 130, and logging has one format.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from common.errors import AsvError

# Errors that describe bad input rather than a bug. KeyError's message is its repr, so it is unwrapped below.
USER_ERRORS: tuple[type[BaseException], ...] = (AsvError, OSError, ValueError, KeyError)

log = logging.getLogger(__name__)


def str2bool(value: str) -> bool:
    """Kaldi's boolean option values: `true` or `false`, nothing else."""
    if value == "true":
        return True
    if value == "false":
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def make_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A parser whose help is the module docstring, kept as written (it holds the usage and e.g. lines)."""
    return argparse.ArgumentParser(prog=prog, description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_bool(ap: argparse.ArgumentParser | argparse._ArgumentGroup, flag: str, default: bool,
             help: str = "") -> None:
    """Add `flag true|false`; the parsed value is a bool."""
    ap.add_argument(flag, type=str2bool, default=default, metavar="true|false",
                    help=f"{help} (default: {str(default).lower()})".strip())


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of the record, so a CLI run in-process (tests,
    notebooks) never logs into a stream that has since been closed."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(prog: str, verbose: bool = False) -> None:
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(f"%(asctime)s {prog} %(levelname)s: %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)


def run_main(prog: str, body: Callable[[], int | None]) -> int:
    """Run a CLI body. A user error prints `prog: error: <msg>` (the traceback only at DEBUG level) and
    returns 1; Ctrl-C prints one line and returns 130, the shell's code for SIGINT."""
    try:
        rc = body()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        log.debug("traceback", exc_info=True)
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return 1
    return 0 if rc is None else int(rc)


def refuse_overwrite(outputs: dict[str, str | None], inputs: dict[str, str | Sequence[str] | None]) -> None:
    """Raise when an output path names one of the inputs (also through a link), so no CLI writes over what it
    reads. Both mappings go from the option name (e.g. `--out`) to its path(s)."""
    def real(p: str) -> str:
        return os.path.realpath(p)
    ins: dict[str, str] = {}
    for opt, paths in inputs.items():
        for p in [paths] if isinstance(paths, (str, os.PathLike)) else (paths or []):
            ins.setdefault(real(p), f"{opt} {p}")
    for opt, path in outputs.items():
        if path and real(path) in ins:
            raise AsvError(f"{opt} {path} is also the input {ins[real(path)]}; "
                           "write the output to another file")
