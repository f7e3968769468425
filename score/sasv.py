"""SASV 2022 metrics (Jung et al.): equal error rates of one score per SASV trial.

Trials are target (bona fide, enrolled speaker), nontarget (bona fide, another speaker) and spoof (a spoof of
the enrolled speaker). SASV-EER: target vs nontarget + spoof; SV-EER: target vs nontarget; SPF-EER: target vs
spoof (SASV baseline metrics.py `get_all_EERs`). Per attack, SPF-EER is target vs that attack's spoofs.
EERs are in % like score.metrics.summary; one that lacks a class (a list without spoofs) is None.

Score fusions of an ASV score (per trial) and a CM score (per test utterance, higher = more bona fide),
SasvFusion, each `fused = w_asv * asv + w_cm * f(cm) + b`, or a gate:
- asv: the ASV score alone; cm: the CM score alone.
- b1: ASV score + raw CM score (SASV 2022 Baseline 1).
- b1v2: ASV score + sigmoid(CM score) (Baseline 1 v2: the CM output through a softmax first). The
  2-class softmax's bona fide posterior is sigmoid(logit_bonafide - logit_spoof): given the logit
  difference (pytorch.bin.score_cm --logit-diff, what egs/sasv passes) this is the exact posterior; given
  the bona fide logit alone it is a monotone squashing into (0, 1) that keeps the fix's point, a bounded
  CM term that cannot swamp the cosine.
- calibrated: prior-weighted logistic regression (score.logreg) over [ASV, CM] trained on dev SASV
  trials, target vs nontarget + spoof; the output is a calibrated SASV LLR.
- llr: the ASV and CM scores each calibrated to an LLR on dev (score.logreg; ASV: target vs nontarget
  trials, CM: bona fide vs spoof trials), then combined as the LLR of target against the two negative
  hypotheses: assuming the ASV cannot tell a spoof from its target and the CM cannot tell a nontarget
  from a target (both bona fide), p(x|nontarget)/p(x|target) = exp(-llr_asv) and p(x|spoof)/p(x|target)
  = exp(-llr_cm), so  llr_sasv = -log(P_non * exp(-llr_asv) + P_spoof * exp(-llr_cm)),  with P_non and
  P_spoof the dev proportions of the two negative classes.
- cascade: the CM gates first at a threshold (by default the CM EER threshold on the dev trials' test
  utterances, bona fide vs spoof), then the ASV decides: a blocked trial keeps its ASV score shifted
  below every score of the set, so it ranks below every passed trial.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from common.errors import ConfigError
from score.logreg import train_logreg
from score.metrics import eer, eer_from_rates, error_rates
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


@dataclass(frozen=True)
class SasvFusion:
    method: str
    w_asv: float = 1.0
    w_cm: float = 1.0
    bias: float = 0.0
    cm_threshold: float | None = None  # cascade only
    cm_w: float = 1.0   # llr only: CM calibration llr_cm = cm_w * cm + cm_b; log P_spoof, log P_non
    cm_b: float = 0.0
    log_p_spoof: float | None = None
    log_p_non: float = 0.0

    def apply(self, asv: np.ndarray, cm: np.ndarray) -> np.ndarray:
        """Fused scores of per-trial ASV and CM scores (the CM score of each trial's test utterance)."""
        asv = np.asarray(asv, dtype=np.float64)
        cm = np.asarray(cm, dtype=np.float64)
        if self.cm_threshold is not None:
            passed = cm >= self.cm_threshold
            span = asv.max() - asv.min() + 1.0 if asv.size else 0.0
            return np.where(passed, asv, asv - span)
        if self.log_p_spoof is not None:
            llr_asv = self.w_asv * asv + self.bias
            llr_cm = self.cm_w * cm + self.cm_b
            return -np.logaddexp(self.log_p_non - llr_asv, self.log_p_spoof - llr_cm)
        return self.w_asv * asv + self.w_cm * _CM_MAP.get(self.method, _identity)(cm) + self.bias


def _identity(x: np.ndarray) -> np.ndarray:
    return x


_CM_MAP: dict[str, Callable[[np.ndarray], np.ndarray]] = {"b1v2": expit}


def _fixed(w_asv: float, w_cm: float) -> Callable[..., SasvFusion]:
    def make(method: str, *_: object, **__: object) -> SasvFusion:
        return SasvFusion(method, w_asv, w_cm)
    return make


def _need_dev(method: str, dev: tuple | None) -> tuple:
    if dev is None:
        raise ConfigError(f"fusion {method!r} is trained on dev: give the dev trials, ASV and CM scores")
    return dev


def _calibrated(method: str, dev: tuple | None, p_target: float, l2: float,
                cm_threshold: float | None) -> SasvFusion:
    asv, cm, labels, _ = _need_dev(method, dev)
    model = train_logreg(np.stack([asv, cm], axis=1), np.asarray(labels) == b"target", p_target, l2)
    return SasvFusion(method, float(model.weights[0]), float(model.weights[1]), model.bias)


def _llr(method: str, dev: tuple | None, p_target: float, l2: float,
         cm_threshold: float | None) -> SasvFusion:
    asv, cm, labels, _ = _need_dev(method, dev)
    labels = np.asarray(labels)
    tar, non, spf = labels == b"target", labels == b"nontarget", labels == b"spoof"
    if not non.any() or not spf.any():
        raise ConfigError(f"fusion {method!r} needs dev nontarget and spoof trials; got {int(non.sum())} "
                          f"nontarget and {int(spf.sum())} spoof")
    # p_target 0.5: each sub-system's LLR is calibrated with balanced class weights, so its bias carries no prior
    a = train_logreg(asv[tar | non, None], tar[tar | non], 0.5, l2)
    c = train_logreg(cm[:, None], ~spf, 0.5, l2)
    n_neg = non.sum() + spf.sum()
    return SasvFusion(method, float(a.weights[0]), 0.0, a.bias, cm_w=float(c.weights[0]), cm_b=c.bias,
                      log_p_spoof=float(np.log(spf.sum() / n_neg)), log_p_non=float(np.log(non.sum() / n_neg)))


def cm_eer_threshold(cm: np.ndarray, is_bonafide: np.ndarray) -> float:
    """The CM threshold (pass at cm >= it) at the first operating point where P_miss >= P_fa, the
    step at which score.metrics.eer_from_rates finds the EER."""
    p_miss, p_fa, thr = error_rates(cm, is_bonafide)
    eer_from_rates(p_miss, p_fa)  # same checks as the EER
    return float(thr[int(np.argmax(p_miss >= p_fa))])


def _cascade(method: str, dev: tuple | None, p_target: float, l2: float,
             cm_threshold: float | None) -> SasvFusion:
    if cm_threshold is None:
        _, cm, labels, test = _need_dev(method, dev)
        # one CM score per test utterance: an utterance tested against several speakers counts once
        _, first = np.unique(np.asarray(test), return_index=True)
        cm_threshold = cm_eer_threshold(cm[first], np.asarray(labels)[first] != b"spoof")
    return SasvFusion(method, cm_threshold=float(cm_threshold))


FUSION_METHODS: dict[str, Callable[..., SasvFusion]] = {
    "asv": _fixed(1.0, 0.0), "cm": _fixed(0.0, 1.0), "b1": _fixed(1.0, 1.0), "b1v2": _fixed(1.0, 1.0),
    "calibrated": _calibrated, "llr": _llr, "cascade": _cascade,
}
TRAINED = ("calibrated", "llr", "cascade")


def train_sasv_fusion(method: str, dev: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
                      p_target: float = 0.5, l2: float = 0.0, cm_threshold: float | None = None) -> SasvFusion:
    """The fusion `method` (module docstring). dev = (ASV scores, CM scores, labels 'S' target|nontarget|spoof,
    test utterance ids) of the dev SASV trials, for the trained methods; cm_threshold fixes the cascade's gate
    instead. p_target weighs targets against nontargets + spoofs in the calibrated fusion (0.5: balanced, the
    EER's operating region)."""
    if method not in FUSION_METHODS:
        raise ConfigError(f"unknown SASV fusion {method!r}; valid: {', '.join(FUSION_METHODS)}")
    if cm_threshold is not None and method != "cascade":
        raise ConfigError(f"a CM threshold is for the cascade fusion, not {method!r}")
    return FUSION_METHODS[method](method, dev, p_target, l2, cm_threshold)
