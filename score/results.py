"""Result lines (`exp/<sys>/results.tsv`) and their Markdown rendering (`exp/RESULTS.md`).

results.tsv is tab-separated with a header line; each scoring run appends one row. A rerun of the same
(system, backend, norm, trials) appends a newer row; rendering keeps the last one.
"""
from __future__ import annotations

import datetime
import os
import re
import subprocess
from pathlib import Path

from common.errors import FormatError
from common.io import atomic_write

COLUMNS = ("system", "backend", "norm", "trials", "eer", "minDCF@0.01", "minDCF@0.001", "actDCF", "Cllr",
           "n_trials", "date", "git_sha")
KEY = ("system", "backend", "norm", "trials")


def git_sha(cwd: str | os.PathLike | None = None) -> str:
    """Short SHA of HEAD of the repository holding `cwd` (default: this package), or 'unknown'."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    s = str(v)
    if not s or any(c in s for c in "\t\n"):
        raise ValueError(f"results.tsv field {s!r} is empty or holds a tab/newline")
    return s


def append_result(path: str | os.PathLike, system: str, backend: str, norm: str, trials: str,
                  metrics: dict[str, float], n_trials: int, date: str | None = None,
                  sha: str | None = None) -> dict[str, str]:
    """Append one row (written atomically: the old rows plus the new one replace the file).

    `metrics` needs keys eer (%), minDCF@0.01, minDCF@0.001; actDCF and Cllr may be absent ('-').
    """
    missing = [k for k in ("eer", "minDCF@0.01", "minDCF@0.001") if k not in metrics]
    if missing:
        raise ValueError(f"result row lacks {', '.join(missing)}")
    row = {"system": system, "backend": backend, "norm": norm, "trials": trials,
           **{k: metrics.get(k, "-") for k in ("eer", "minDCF@0.01", "minDCF@0.001", "actDCF", "Cllr")},
           "n_trials": int(n_trials), "date": date or datetime.date.today().isoformat(),
           "git_sha": sha or git_sha()}
    line = "\t".join(_fmt(row[c]) for c in COLUMNS) + "\n"
    old = Path(path).read_text() if os.path.isfile(path) else ""
    if old:
        read_results(path)  # refuse to append to a malformed file
    with atomic_write(path) as f:
        f.write(old or "\t".join(COLUMNS) + "\n")
        if old and not old.endswith("\n"):
            f.write("\n")
        f.write(line)
    return {c: _fmt(row[c]) for c in COLUMNS}


def read_results(path: str | os.PathLike) -> list[dict[str, str]]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such results file")
    lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip()]
    if not lines or tuple(lines[0].split("\t")) != COLUMNS:
        raise FormatError(f"{path}:1: header is not the results.tsv header ({' '.join(COLUMNS)}); "
                          "write it with score.bin.compute_metrics --results")
    rows = []
    for n, ln in enumerate(lines[1:], 2):
        parts = ln.split("\t")
        if len(parts) != len(COLUMNS):
            raise FormatError(f"{path}:{n}: expected {len(COLUMNS)} tab-separated fields, got {len(parts)}")
        rows.append(dict(zip(COLUMNS, parts)))
    return rows


def _fill(cell: str, row: dict[str, str]) -> str:
    """`{column}` placeholders (column names hold dots and @, so str.format cannot be used)."""
    return re.sub(r"\{([^{}]+)\}", lambda m: row[m.group(1)], cell)


def render_markdown(rows: list[dict[str, str]], cell: str = "{eer}% / {minDCF@0.01}") -> str:
    """Rows system x backend(+norm), columns trial lists; the last row per key wins."""
    if not rows:
        raise ValueError("no result rows to render")
    latest = {tuple(r[k] for k in KEY): r for r in rows}
    systems = list(dict.fromkeys((r["system"], r["backend"], r["norm"]) for r in latest.values()))
    trials = list(dict.fromkeys(r["trials"] for r in latest.values()))
    head = ["system", "backend", "norm", *trials]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for sys_, be, nm in systems:
        cells = []
        for t in trials:
            r = latest.get((sys_, be, nm, t))
            cells.append(_fill(cell, r) if r else "–")
        out.append("| " + " | ".join([sys_, be, nm, *cells]) + " |")
    legend = "Cells: " + cell.replace("{", "").replace("}", "")
    return "\n".join(out) + f"\n\n{legend}\n"
