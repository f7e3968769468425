"""Separation quality: SDR improvement (BSS-eval SDR from fast-bss-eval) and PESQ improvement (ITU-T P.862.2
wide band, from `pesq`), per mixture of two sources.

The SDR is BSS-eval's (a 512-tap distortion filter is allowed on the reference, as mir_eval's
bss_eval_sources, which fast-bss-eval reproduces, much faster); the improvement is SDR(estimate) minus
SDR(mixture), both against the same source image. With two references, the SDR of an estimate against one
reference does not depend on the other, so it is computed pair by pair: `permute=False` scores estimate k
against source k (outputs tied to a speaker, e.g. conditioned on its enrollment), `permute=True` scores the
assignment with the higher mean SDR (blind outputs: uPIT, or embeddings taken from the mixture).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PESQ_RATE = 16000  # wide-band PESQ is defined at 16 kHz
CLAMP_DB = 100.0


def sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """BSS-eval SDR (dB) of one estimate [N] against one reference [N]."""
    import fast_bss_eval  # a separation-stage dependency; the rest of score/ runs without it
    ref = np.asarray(ref, np.float64)
    est = np.asarray(est, np.float64)
    if ref.shape != est.shape or ref.ndim != 1:
        raise ValueError(f"sdr: reference {ref.shape} and estimate {est.shape} must be 1-D and the same length")
    if not np.any(ref) or not np.any(est):
        raise ValueError("sdr: an all-zero reference or estimate has no defined SDR")
    # clamped so that a perfect estimate scores 100 dB rather than inf (which also breaks its permutation solver)
    return float(fast_bss_eval.sdr(ref[None], est[None], clamp_db=CLAMP_DB)[0])


def pesq_wb(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    """Wide-band PESQ (MOS-LQO) of a degraded signal against its reference, at 16 kHz."""
    from pesq import pesq
    if rate != PESQ_RATE:
        raise ValueError(f"wide-band PESQ needs {PESQ_RATE} Hz audio, got {rate} Hz")
    return float(pesq(rate, np.asarray(ref, np.float64), np.asarray(deg, np.float64), "wb"))


@dataclass
class MixtureScores:
    perm: tuple[int, ...]        # estimate index for each source
    sdr_mix: list[float]         # per source: the unprocessed mixture's SDR
    sdr_est: list[float]         # per source: its estimate's SDR
    pesq_mix: list[float]        # empty when PESQ is not computed
    pesq_est: list[float]

    @property
    def sdri(self) -> float:
        return float(np.mean(self.sdr_est) - np.mean(self.sdr_mix))

    @property
    def pesqi(self) -> float:
        return float(np.mean(self.pesq_est) - np.mean(self.pesq_mix)) if self.pesq_est else float("nan")


def score_mixture(mix: np.ndarray, refs: np.ndarray, ests: np.ndarray, rate: int, permute: bool,
                  with_pesq: bool = True) -> MixtureScores:
    """Scores of the estimates [2, N] of the sources [2, N] of a mixture [N]."""
    if refs.shape != ests.shape or refs.shape[0] != 2 or refs.shape[1] != len(mix):
        raise ValueError(f"expected 2 sources and 2 estimates of the mixture's length {len(mix)}, got "
                         f"{refs.shape} and {ests.shape}")
    pair = {(i, j): sdr(refs[i], ests[j]) for i in range(2) for j in range(2)
            if permute or i == j}
    perm = (0, 1)
    if permute and pair[0, 1] + pair[1, 0] > pair[0, 0] + pair[1, 1]:
        perm = (1, 0)
    sdr_est = [pair[i, perm[i]] for i in range(2)]
    sdr_mix = [sdr(refs[i], mix) for i in range(2)]
    pesq_mix, pesq_est = [], []
    if with_pesq:
        pesq_mix = [pesq_wb(refs[i], mix, rate) for i in range(2)]
        pesq_est = [pesq_wb(refs[i], ests[perm[i]], rate) for i in range(2)]
    return MixtureScores(perm, sdr_mix, sdr_est, pesq_mix, pesq_est)
