"""SASV 2022 metrics (Jung et al.): equal error rates of one score per SASV trial.

Trials are target (bona fide, enrolled speaker), nontarget (bona fide, another speaker) and spoof (a spoof of
the enrolled speaker). SASV-EER: target vs nontarget + spoof; SV-EER: target vs nontarget; SPF-EER: target vs
spoof (SASV baseline metrics.py `get_all_EERs`). Per attack, SPF-EER is target vs that attack's spoofs.
EERs are in % like score.metrics.summary; one that lacks a class (a list without spoofs) is None.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from score.metrics import eer
from score.trials import join_scores, lookup, read_sasv_trials

_NEGATIVES = {"sasv_eer": (b"nontarget", b"spoof"), "sv_eer": (b"nontarget",), "spf_eer": (b"spoof",)}


def _eer_pct(scores: np.ndarray, labels: np.ndarray, negatives: tuple[bytes, ...]) -> float | None:
    tar = labels == b"target"
    keep = tar | np.isin(labels, np.array(negatives))
    if not tar.any() or tar.sum() == keep.sum():
        return None
    return 100.0 * eer(scores[keep], tar[keep])


def sasv_eers(scores: np.ndarray, labels: np.ndarray, attacks: np.ndarray | None = None) -> dict:
    """SASV/SV/SPF-EER (%) of scores with 'S' labels target|nontarget|spoof, plus, given the attack id of
    each trial's test utterance, `spf_eer_per_attack` {attack: EER %} over the spoof trials' attacks."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    out: dict = {k: _eer_pct(scores, labels, neg) for k, neg in _NEGATIVES.items()}
    out.update({f"n_{k.decode()}": int((labels == k).sum()) for k in (b"target", b"nontarget", b"spoof")})
    if attacks is not None:
        attacks = np.asarray(attacks, dtype=str)
        spoof, tar = labels == b"spoof", labels == b"target"
        out["spf_eer_per_attack"] = {}
        for a in sorted(set(attacks[spoof].tolist())) if tar.any() else []:
            keep = tar | (spoof & (attacks == a))
            out["spf_eer_per_attack"][a] = 100.0 * eer(scores[keep], tar[keep])
    return out


def sasv_metrics(trials: str, scores: str, utt2attack: Mapping[str, str] | None = None,
                 utt2attack_path: str = "utt2attack") -> dict:
    """sasv_eers of a score file (`enroll test score`, any order) on an SASV trial list; with utt2attack
    (test utt -> attack id), the per-attack SPF-EER too. A spoof trial whose test utterance has no
    attack in utt2attack is an error naming utt2attack_path."""
    e, t, labels = read_sasv_trials(trials)
    s = join_scores(e, t, scores)
    attacks = None
    if utt2attack is not None:
        attacks = np.full(len(t), "", dtype=object)
        spoof = labels == b"spoof"
        attacks[spoof] = lookup(utt2attack, t[spoof], utt2attack_path)
    return sasv_eers(s, labels, attacks)
