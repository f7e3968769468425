"""Metrics per condition: any `utt2<key>` table (e.g. utt2genre on CN-Celeb) splits the trials.

Each trial gets the condition of its test utterance, or with `pairs` the pair
`<enroll condition> x <test condition>`; each condition gets EER, minDCF and its trial counts.
Metrics come from score.metrics (the repo's one metrics module).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from score import metrics
from score.trials import lookup


@dataclass(frozen=True)
class ConditionRow:
    condition: str
    eer: float        # in [0, 1]
    min_dcf: float
    n_tar: int
    n_non: int


def trial_conditions(ids: np.ndarray, utt2key: Mapping[str, str], source: str) -> np.ndarray:
    """Condition string of each trial side (looked up once per distinct id)."""
    return lookup(utt2key, ids, source)


def breakdown(scores: np.ndarray, is_target: np.ndarray, test_cond: np.ndarray,
              enroll_cond: np.ndarray | None = None, p_target: float = 0.01,
              include_all: bool = True) -> list[ConditionRow]:
    """One row per condition (sorted), plus an `all` row first when include_all.

    A condition without target or without nontarget trials gets NaN metrics (they are undefined).
    """
    scores = np.asarray(scores, dtype=np.float64)
    is_target = np.asarray(is_target, dtype=bool)
    if scores.shape != is_target.shape or scores.shape != np.shape(test_cond):
        raise ValueError("breakdown: scores, labels and conditions must have one entry per trial")
    cond = np.asarray(test_cond, dtype=object)
    if enroll_cond is not None:
        cond = np.asarray(enroll_cond, dtype=object) + " x " + cond
    values, inv = np.unique(cond.astype(str), return_inverse=True)
    rows = [_row("all", scores, is_target, p_target)] if include_all else []
    order = np.argsort(inv, kind="stable")  # group the trials by condition once
    bounds = np.concatenate(([0], np.cumsum(np.bincount(inv, minlength=len(values)))))
    for i, value in enumerate(values):
        sel = order[bounds[i]:bounds[i + 1]]
        rows.append(_row(str(value), scores[sel], is_target[sel], p_target))
    return rows


def _row(name: str, s: np.ndarray, y: np.ndarray, p_target: float) -> ConditionRow:
    n_tar, n_non = int(y.sum()), int((~y).sum())
    if n_tar == 0 or n_non == 0:
        return ConditionRow(name, float("nan"), float("nan"), n_tar, n_non)
    return ConditionRow(name, float(metrics.eer(s, y)), float(metrics.min_dcf(s, y, p_target)), n_tar, n_non)


def to_markdown(rows: list[ConditionRow], key: str = "condition", p_target: float = 0.01) -> str:
    def fmt(v: float, spec: str) -> str:
        return "-" if np.isnan(v) else format(v, spec)
    lines = [f"| {key} | EER (%) | minDCF ({p_target:g}) | #tar | #non |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r.condition} | {fmt(100 * r.eer, '.2f')} | {fmt(r.min_dcf, '.4f')} "
              f"| {r.n_tar} | {r.n_non} |"
              for r in rows]
    return "\n".join(lines) + "\n"
