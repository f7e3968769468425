"""Trial-list + embedding loading shared by the `score` and `norm` CLIs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from score.chain import Chain
from score.cosine import index_ids
from score.embeddings import load_embeddings
from score.trials import _columns


@dataclass
class TrialSet:
    enroll_keys: list[str]  # rows of `enroll`
    enroll_ids: np.ndarray
    test_ids: np.ndarray
    enroll: np.ndarray      # [E, D] embeddings, chain-transformed when a backend dir is given
    test: np.ndarray        # [T, D]
    e_idx: np.ndarray       # row of each trial's enroll embedding
    t_idx: np.ndarray
    chain: Chain | None


def load_trial_set(trials: str, enroll_scp: str, test_scp: str, backend_dir: str | None) -> TrialSet:
    cols = _columns(trials, 2, "trial list")  # any third column (target/nontarget/spoof) is ignored
    e_keys, enroll = load_embeddings(enroll_scp)
    t_keys, test = load_embeddings(test_scp)
    if enroll.shape[1] != test.shape[1]:
        raise ValueError(f"{enroll_scp} has dim {enroll.shape[1]} but {test_scp} has dim {test.shape[1]}; "
                         "use embeddings of the same model")
    chain = Chain.load(backend_dir) if backend_dir else None
    if chain is not None:
        enroll, test = chain.transform(enroll), chain.transform(test)
    e_idx = index_ids(cols[:, 0], e_keys, "enroll", enroll_scp)
    t_idx = index_ids(cols[:, 1], t_keys, "test", test_scp)
    return TrialSet(e_keys, cols[:, 0], cols[:, 1], enroll, test, e_idx, t_idx, chain)


def write_scores(path: str, enroll_ids: np.ndarray, test_ids: np.ndarray, scores: np.ndarray) -> None:
    from score.io import atomic_write
    with atomic_write(path) as f:
        f.write("".join(f"{e} {t} {s:.6f}\n" for e, t, s in zip(enroll_ids.tolist(), test_ids.tolist(),
                                                               scores.tolist())))
