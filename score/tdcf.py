"""Spoofing countermeasure (CM) metrics: CM EER, EER per attack, and the ASVspoof 2019 min t-DCF.

t-DCF (Kinnunen et al., Odyssey 2018; ASVspoof 2019 evaluation plan): the cost of a CM gating a fixed
ASV system. With the ASV system's miss rate P_miss_asv, false-alarm rate P_fa_asv (nontargets) and
the fraction of spoofs it rejects, P_miss_spoof_asv, all at its own EER threshold,

    t-DCF(s) = C1 * P_miss_cm(s) + C2 * P_fa_cm(s),   normalised by min(C1, C2),
    C1 = P_tar * (C_miss_cm - C_miss_asv * P_miss_asv) - P_non * C_fa_asv * P_fa_asv
    C2 = C_fa_cm * P_spoof * (1 - P_miss_spoof_asv)

where s is the CM threshold (bona fide accepted at CM score >= s). min t-DCF is its minimum over s.
The ASVspoof 2019 cost model (COST_2019) is P_spoof 0.05, P_tar 0.95 * 0.99, P_non 0.95 * 0.01,
C_miss_* 1 and C_fa_* 10, the constants of the official evaluation code (and of AASIST's).

The ASV operating point follows the official code: over the ASV scores sorted ascending, the threshold
is the score v where the error rates of rejecting every score <= v are closest (|P_miss - P_fa|
smallest); the ASV then accepts scores >= v. The organisers' ASV score files carry
`<bonafide|A01..A19> <target|nontarget|spoof> <score>` lines (ASVspoof2019.LA.asv.*.gi.trl.scores.txt).
CM EERs use score.metrics.eer (interpolated at the crossing), in %.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from common.errors import FormatError
from common.io import read_table
from score.metrics import eer, error_rates

BONAFIDE = "bonafide"


@dataclass(frozen=True)
class CostModel:
    p_spoof: float
    p_tar: float
    p_non: float
    c_miss_asv: float
    c_fa_asv: float
    c_miss_cm: float
    c_fa_cm: float


COST_2019 = CostModel(p_spoof=0.05, p_tar=0.95 * 0.99, p_non=0.95 * 0.01,
                      c_miss_asv=1.0, c_fa_asv=10.0, c_miss_cm=1.0, c_fa_cm=10.0)


@dataclass(frozen=True)
class AsvOperatingPoint:
    threshold: float
    p_miss: float        # targets rejected
    p_fa: float          # nontargets accepted
    p_miss_spoof: float  # spoofs rejected


def asv_operating_point(tar: np.ndarray, non: np.ndarray, spoof: np.ndarray) -> AsvOperatingPoint:
    """The ASV system's error rates at its EER threshold, chosen as the official evaluation code does
    (module docstring)."""
    tar, non, spoof = (np.asarray(x, dtype=np.float64) for x in (tar, non, spoof))
    if not spoof.size:
        raise ValueError("t-DCF needs the ASV scores of spoof trials; none given")
    s = np.r_[tar, non]
    p_miss, p_fa, thr = error_rates(s, np.r_[np.ones(tar.size, bool), np.zeros(non.size, bool)])
    # error_rates point k rejects the scores below thr[k]; rejecting "<= v" for the k-th distinct
    # value v is point k + 1, so the official threshold is thr[k] with k + 1 the closest crossing.
    k = int(np.argmin(np.abs(p_miss[1:] - p_fa[1:])))
    v = float(thr[k])
    return AsvOperatingPoint(threshold=v, p_miss=float(np.mean(tar < v)), p_fa=float(np.mean(non >= v)),
                             p_miss_spoof=float(np.mean(spoof < v)))


def tdcf_curve(bonafide_cm: np.ndarray, spoof_cm: np.ndarray, asv: AsvOperatingPoint,
               cost: CostModel = COST_2019) -> tuple[np.ndarray, np.ndarray]:
    """(normalised t-DCF, CM thresholds) at every distinct CM threshold, from 'pass all' to 'block all'."""
    c1 = cost.p_tar * (cost.c_miss_cm - cost.c_miss_asv * asv.p_miss) - cost.p_non * cost.c_fa_asv * asv.p_fa
    c2 = cost.c_fa_cm * cost.p_spoof * (1.0 - asv.p_miss_spoof)
    if c1 <= 0 or c2 <= 0:
        # C1 <= 0: the ASV alone errs more than blocking every target would; C2 = 0: it rejects every spoof
        raise ValueError(f"t-DCF weights C1={c1:.4g}, C2={c2:.4g} must be positive; check the ASV scores' "
                         "target/nontarget/spoof keys")
    bona = np.asarray(bonafide_cm, dtype=np.float64)
    spf = np.asarray(spoof_cm, dtype=np.float64)
    p_miss, p_fa, thr = error_rates(np.r_[bona, spf], np.r_[np.ones(bona.size, bool), np.zeros(spf.size, bool)])
    return (c1 * p_miss + c2 * p_fa) / min(c1, c2), thr


def min_tdcf(bonafide_cm: np.ndarray, spoof_cm: np.ndarray, asv: AsvOperatingPoint,
             cost: CostModel = COST_2019) -> float:
    """Normalised minimum t-DCF (ASVspoof 2019) of CM scores (higher = more bona fide)."""
    return float(tdcf_curve(bonafide_cm, spoof_cm, asv, cost)[0].min())


def read_organiser_asv_scores(path: str) -> dict[str, np.ndarray]:
    """{'target'|'nontarget'|'spoof': scores} of an organisers' ASV score file (module docstring)."""
    out: dict[str, list[float]] = {"target": [], "nontarget": [], "spoof": []}
    for n, (_, key, val) in enumerate(read_table(path, 3, 3), 1):
        if key not in out:
            raise FormatError(f"{path}:{n}: key {key!r} is not target|nontarget|spoof; expected the organisers' "
                              "`<bonafide|Axx> <target|nontarget|spoof> <score>` lines")
        try:
            out[key].append(float(val))
        except ValueError:
            raise FormatError(f"{path}:{n}: score {val!r} is not a number") from None
    return {k: np.array(v, dtype=np.float64) for k, v in out.items()}


def read_cm_scores(path: str) -> dict[str, float]:
    """`utt score` lines (pytorch.bin.score_cm's output) -> {utt: score}; a repeated utt or a score that
    is not a finite number is an error naming the line."""
    out: dict[str, float] = {}
    for n, (utt, val) in enumerate(read_table(path, 2, 2), 1):
        try:
            v = float(val)
        except ValueError:
            raise FormatError(f"{path}:{n}: score {val!r} is not a number") from None
        if not np.isfinite(v):
            raise FormatError(f"{path}:{n}: score of {utt} is {val}; fix the CM scoring run")
        if utt in out:
            raise FormatError(f"{path}:{n}: utterance {utt} is scored twice; keep one line per utterance")
        out[utt] = v
    return out


def cm_metrics(cm_scores: Mapping[str, float], utt2attack: Mapping[str, str],
               asv: Mapping[str, np.ndarray] | None = None, cost: CostModel = COST_2019,
               scores_path: str = "CM scores", labels_path: str = "utt2attack") -> dict:
    """CM EER (%), EER per attack (bona fide vs that attack's spoofs, %) and, given ASV scores
    {'target', 'nontarget', 'spoof': array}, the min t-DCF with the ASV operating point.

    utt2attack maps each utterance to `bonafide` or its attack id (a utt2label's `spoof` is one attack).
    Every scored utterance needs an entry, and every entry a score (a partial set would bias the EER).
    """
    missing = [u for u in utt2attack if u not in cm_scores]
    if missing:
        raise FormatError(f"{scores_path}: no score for {missing[0]} ({len(missing)} of {labels_path}'s "
                          "utterances unscored); score every utterance of the set")
    extra = [u for u in cm_scores if u not in utt2attack]
    if extra:
        raise FormatError(f"{labels_path}: no entry for the scored utterance {extra[0]} ({len(extra)} in all); "
                          "use the label file of the scored set")
    utts = list(utt2attack)
    s = np.fromiter((cm_scores[u] for u in utts), np.float64, len(utts))
    att = np.array([utt2attack[u] for u in utts])
    bona = att == BONAFIDE
    if bona.all() or not bona.any():
        raise FormatError(f"{labels_path}: need both bona fide and spoofed utterances, got "
                          f"{int(bona.sum())} bona fide and {int((~bona).sum())} spoofed")
    out: dict = {"cm_eer": 100.0 * eer(s, bona), "n_bonafide": int(bona.sum()), "n_spoof": int((~bona).sum())}
    out["eer_per_attack"] = {a: 100.0 * eer(np.r_[s[bona], s[att == a]],
                                            np.r_[np.ones(bona.sum(), bool), np.zeros((att == a).sum(), bool)])
                             for a in sorted(set(att[~bona].tolist()))}
    if asv is not None:
        op = asv_operating_point(asv["target"], asv["nontarget"], asv["spoof"])
        out["min_tdcf"] = min_tdcf(s[bona], s[~bona], op, cost)
        out["asv"] = asdict(op) | {"eer": 100.0 * eer(np.r_[asv["target"], asv["nontarget"]],
                                                      np.r_[np.ones(len(asv["target"]), bool),
                                                            np.zeros(len(asv["nontarget"]), bool)])}
    return out
