"""Run a script of the user's WeSpeaker checkout as its own process, for the side-by-side benchmarks.

    python bench/wespeaker_ref.py <wespeaker-checkout> <script under it> [script args...]
 e.g.: python bench/wespeaker_ref.py ~/wespeaker wespeaker/bin/train_plda.py --scp_path x.scp ...

WeSpeaker's code is used from the checkout at run time, never copied here. The packages `wespeaker`,
`wespeaker.utils` and `wespeaker.models` are registered bare (their __init__ is not run) because
`wespeaker/__init__.py` imports the CLI with its own dependencies (silero_vad, ...), which the back-end
scripts do not need. The script then runs as `__main__`, so its timing includes its imports, its reading
and writing, exactly as `python wespeaker/bin/<x>.py` in a WeSpeaker install would (minus that CLI import).
"""
from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path

BARE = ("wespeaker", "wespeaker.utils", "wespeaker.models")


def register_bare(checkout: str | Path) -> None:
    """Make `import wespeaker.<x>` load modules from `checkout` without running the package __init__ files."""
    root = Path(checkout)
    if not (root / "wespeaker").is_dir():
        raise SystemExit(f"--wespeaker {root}: no wespeaker/ package here; pass the repository root")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for pkg in BARE:
        if pkg not in sys.modules:
            mod = types.ModuleType(pkg)
            mod.__path__ = [str(root / pkg.replace(".", "/"))]
            sys.modules[pkg] = mod


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    checkout, script = sys.argv[1], sys.argv[2]
    register_bare(checkout)
    sys.argv = [script, *sys.argv[3:]]
    runpy.run_path(str(Path(checkout) / script), run_name="__main__")


if __name__ == "__main__":
    main()
