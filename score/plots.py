"""PNG plots (matplotlib, Agg backend): DET curves with probit axes, and C-P map heat maps.

Points come from score.metrics; the PNG is written atomically.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from common.io import atomic_write  # noqa: E402
from score import metrics  # noqa: E402

DET_TICKS = np.array([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 40])  # percent
DET_LIMITS = (0.0005, 0.45)


def _save(fig: plt.Figure, path: str | os.PathLike) -> None:
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def _thin(x: np.ndarray, y: np.ndarray, res: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Drop points that fall on the same (res-rounded) plot position as their predecessor: a DET of
    millions of trials draws the same line from a few thousand points."""
    rx, ry = np.round(x / res), np.round(y / res)
    keep = np.ones(len(x), bool)
    keep[1:] = (np.diff(rx) != 0) | (np.diff(ry) != 0)
    keep[-1] = True
    return x[keep], y[keep]


def plot_det(systems: Sequence[tuple[str, np.ndarray, np.ndarray]], out: str | os.PathLike,
             title: str | None = None) -> None:
    """systems: (label, scores, is_target) each; one curve per system with its EER point marked."""
    if not systems:
        raise ValueError("plot_det: no systems to plot")
    lo, hi = norm.ppf(DET_LIMITS[0]), norm.ppf(DET_LIMITS[1])
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    for label, scores, is_target in systems:
        p_miss, p_fa = metrics.det_curve(scores, is_target)
        x = norm.ppf(np.clip(p_fa, 1e-9, 1 - 1e-9))
        y = norm.ppf(np.clip(p_miss, 1e-9, 1 - 1e-9))
        x, y = _thin(x, y)
        eer = float(metrics.eer(scores, is_target))
        line, = ax.plot(x, y, lw=1.5, label=f"{label} (EER {100 * eer:.2f}%)")
        pe = norm.ppf(np.clip(eer, 1e-9, 1 - 1e-9))
        ax.plot([pe], [pe], "o", color=line.get_color(), ms=5)
    ticks = norm.ppf(DET_TICKS / 100)
    labels = [f"{t:g}" for t in DET_TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.plot([lo, hi], [lo, hi], ":", color="0.6", lw=0.8)
    ax.set_xlabel("False alarm probability (%)")
    ax.set_ylabel("Miss probability (%)")
    ax.grid(True, ls=":", lw=0.5)
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    _save(fig, out)


def plot_cp_map(m: np.ndarray, out: str | os.PathLike, metric: str = "eer", title: str | None = None,
                diff: bool = False) -> None:
    """Heat map of a [K, K] C-P map (rows: target groups, columns: nontarget groups, hard -> easy).
    With diff=True a diverging colour map centred on 0 (system A minus system B)."""
    k = m.shape[0]
    shown = 100 * m if metric == "eer" else m
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.6 + 0.5 * k))
    if diff:
        v = float(np.nanmax(np.abs(shown))) or 1.0
        im = ax.imshow(shown, cmap="RdBu_r", vmin=-v, vmax=v, origin="upper")
    else:
        im = ax.imshow(shown, cmap="viridis", origin="upper")
    fmt = ".1f" if metric == "eer" else ".2f"
    if k <= 12:  # annotate cells when they are large enough to read
        for i in range(k):
            for j in range(k):
                ax.text(j, i, format(shown[i, j], fmt), ha="center", va="center", fontsize=6, color="w"
                        if not diff else "k")
    ax.set_xticks(range(k), [str(j + 1) for j in range(k)])
    ax.set_yticks(range(k), [str(i + 1) for i in range(k)])
    ax.set_xlabel("nontarget group (hard -> easy)")
    ax.set_ylabel("target group (hard -> easy)")
    unit = "EER (%)" if metric == "eer" else "minDCF (0.01)"
    fig.colorbar(im, ax=ax, label=("difference in " if diff else "") + unit)
    if title:
        ax.set_title(title)
    _save(fig, out)


def plot_scatter(points: np.ndarray, labels: Sequence[str], out: str | os.PathLike, title: str | None = None,
                 max_classes: int = 20) -> None:
    """A 2-D scatter plot (e.g. a PCA of embeddings), one colour per label; labels beyond the
    `max_classes` most frequent are drawn grey, as 'other'."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels):
        raise ValueError(f"plot_scatter: need [N, 2] points and N labels, got {points.shape} and {len(labels)}")
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    shown = names[np.argsort(-counts, kind="stable")][:max_classes]
    fig, ax = plt.subplots(figsize=(6, 5.5))
    lab = np.asarray(labels)
    rest = ~np.isin(lab, shown)
    if rest.any():
        ax.scatter(points[rest, 0], points[rest, 1], s=6, color="0.8", label="other")
    cmap = plt.get_cmap("tab20")
    for i, name in enumerate(sorted(shown.tolist())):
        sel = lab == name
        ax.scatter(points[sel, 0], points[sel, 1], s=10, color=cmap(i % 20), label=name)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6, markerscale=1.5)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if title:
        ax.set_title(title)
    _save(fig, out)
