"""Multi-utterance enrollment for cosine scoring: mean embedding, mean score, and alpha-QE.

For an enroll id with utterance embeddings e_1..e_m (after the back-end chain, then L2-normalised) and a
test embedding t (L2-normalised), with c_i = cos(e_i, t):
- `mean-emb`:   cos(sum_i e_i, t)                  (the mean embedding; its length does not matter)
- `mean-score`: (1/m) sum_i c_i
- `aqe`:        cos(sum_i w_i e_i, t),  w_i = max(cos(e_i, r), 0) ** alpha
  i.e. alpha query expansion (Radenovic et al., "Fine-tuning CNN image retrieval with no human annotation",
  TPAMI 2019) applied to enrollment aggregation as in Gusev et al., "STC-innovation speaker recognition
  systems for the SdSVC 2021" (Interspeech 2021) and CNSRC 2022 system T057: enrollment utterances close
  to the reference r count more. The reference r is the test embedding (`ref="test"`, trial-dependent, the
  default) or the normalised mean enrollment embedding (`ref="mean"`, one weighted mean per enroll id,
  which down-weights outlier enrollment utterances). When every weight is 0 (all c_i <= 0) the plain mean
  embedding is used. Negative similarities are clipped to 0 so that any real alpha is defined.

Vectorised per enroll id (a loop over enroll ids, never over trials):
score = sum_i w_i c_i / ||sum_i w_i e_i||, with ||sum_i w_i e_i||^2 = w^T G w from the m x m Gram matrix G
of the enrollment utterances.
"""
from __future__ import annotations

import numpy as np

from score.cosine import l2norm

ENROLL_MODES = ("mean-emb", "mean-score", "aqe")
AQE_REFS = ("test", "mean")


def group_rows(spk2utt: dict[str, list[str]], keys: list[str], spk2utt_path: str, scp_path: str
               ) -> tuple[list[str], list[np.ndarray]]:
    """Enroll ids of spk2utt and, for each, the rows of its utterances in `keys` (missing: an error)."""
    pos = {k: i for i, k in enumerate(keys)}
    ids, groups = [], []
    for spk, utts in spk2utt.items():
        miss = [u for u in utts if u not in pos]
        if miss:
            raise ValueError(f"{spk2utt_path}: enroll id {spk!r}: no embedding for utterance {miss[0]!r} "
                             f"in {scp_path}; extract it or fix the spk2utt")
        ids.append(spk)
        groups.append(np.fromiter((pos[u] for u in utts), dtype=np.int64, count=len(utts)))
    if not ids:
        raise ValueError(f"{spk2utt_path}: empty spk2utt")
    return ids, groups


def mean_embeddings(x: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """[E, D] mean of each group's rows (raw, as Kaldi's ivector-mean; for PLDA with --num-utts)."""
    return np.stack([x[g].mean(0) for g in groups]).astype(np.float32)


def multi_enroll_scores(utt: np.ndarray, groups: list[np.ndarray], test: np.ndarray, e_idx: np.ndarray,
                        t_idx: np.ndarray, mode: str = "mean-emb", alpha: float = 3.0, ref: str = "test"
                        ) -> np.ndarray:
    """Cosine score of each trial (e_idx into groups, t_idx into test) under an enrollment `mode`."""
    if mode not in ENROLL_MODES:
        raise ValueError(f"unknown enroll mode {mode!r}; use one of {', '.join(ENROLL_MODES)}")
    if ref not in AQE_REFS:
        raise ValueError(f"unknown aqe reference {ref!r}; use one of {', '.join(AQE_REFS)}")
    if utt.shape[1] != test.shape[1]:
        raise ValueError(f"enroll dim {utt.shape[1]} != test dim {test.shape[1]}")
    u, t = l2norm(utt), l2norm(test)
    out = np.empty(len(e_idx), dtype=np.float64)
    order = np.argsort(e_idx, kind="stable")
    bounds = np.searchsorted(e_idx[order], np.arange(len(groups) + 1))
    for e in range(len(groups)):
        sel = order[bounds[e]:bounds[e + 1]]
        if sel.size == 0:
            continue
        ue = u[groups[e]]                                   # [m, D]
        tt = t_idx[sel]
        # Dense trial lists: one matmul against every test row, then gather; sparse: only the needed rows.
        c = (ue @ t.T)[:, tt] if sel.size * 4 > len(t) else ue @ t[tt].T   # [m, n]
        c = c.astype(np.float64)
        if mode == "mean-score":
            out[sel] = c.mean(0)
            continue
        g = (ue @ ue.T).astype(np.float64)                  # Gram matrix [m, m]
        if mode == "mean-emb":
            w = np.ones_like(c)
        elif ref == "test":
            w = np.maximum(c, 0.0) ** alpha
        else:
            r = ue.mean(0)
            w = np.broadcast_to((np.maximum(ue @ (r / max(np.linalg.norm(r), 1e-12)), 0.0)
                                 ** alpha).astype(np.float64)[:, None], c.shape)
        dead = ~(w > 0).any(0)
        if dead.any():  # every weight 0: fall back to the plain mean embedding
            w = np.where(dead[None, :], 1.0, w)
        norm = np.sqrt(np.maximum(np.einsum("in,ij,jn->n", w, g, w), 1e-24))
        out[sel] = (w * c).sum(0) / norm
    return out
