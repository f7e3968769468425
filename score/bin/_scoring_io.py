"""Trial-list + embedding loading shared by the `score` and `norm` CLIs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.embeddings import load_embeddings
from common.io import read_spk2utt
from score.chain import Chain
from score.cosine import index_ids
from score.enroll import group_rows
from score.trials import read_pairs, write_score_file


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


def load_trial_set(trials: str, enroll_scp: str, test_scp: str, backend_dir: str | None,
                   pairs: tuple[np.ndarray, np.ndarray] | None = None) -> TrialSet:
    """Embeddings indexed by the trials of `trials` (or by `pairs` = (enroll ids, test ids) read already)."""
    # any third column (target/nontarget/spoof) is ignored; 'S' or str id arrays (see read_pairs)
    e_ids, t_ids = pairs if pairs is not None else read_pairs(trials, third=False)[:2]
    e_keys, enroll = load_embeddings(enroll_scp)
    t_keys, test = load_embeddings(test_scp)
    if enroll.shape[1] != test.shape[1]:
        raise ValueError(f"{enroll_scp} has dim {enroll.shape[1]} but {test_scp} has dim {test.shape[1]}; "
                         "use embeddings of the same model")
    chain = Chain.load(backend_dir) if backend_dir else None
    if chain is not None:
        enroll, test = chain.transform(enroll), chain.transform(test)
    e_idx = index_ids(e_ids, e_keys, "enroll", enroll_scp)
    t_idx = index_ids(t_ids, t_keys, "test", test_scp)
    return TrialSet(e_keys, e_ids, t_ids, enroll, test, e_idx, t_idx, chain)


@dataclass
class MultiEnrollSet:
    enroll_ids: np.ndarray  # per trial
    test_ids: np.ndarray
    ids: list[str]          # enroll ids of the spk2utt, in its order
    groups: list[np.ndarray]  # rows of `utt` for each of ids
    utt: np.ndarray         # [U, D] utterance-level enrollment embeddings (chain-transformed)
    test: np.ndarray
    e_idx: np.ndarray       # index into ids / groups of each trial
    t_idx: np.ndarray
    chain: Chain | None


def load_multi_enroll_set(pairs: tuple[np.ndarray, np.ndarray], enroll_scp: str, spk2utt: str, test_scp: str,
                          backend_dir: str | None) -> MultiEnrollSet:
    """Trials whose enroll ids map to several utterances (spk2utt) of an utterance-level scp."""
    u_keys, utt = load_embeddings(enroll_scp)
    t_keys, test = load_embeddings(test_scp)
    if utt.shape[1] != test.shape[1]:
        raise ValueError(f"{enroll_scp} has dim {utt.shape[1]} but {test_scp} has dim {test.shape[1]}; "
                         "use embeddings of the same model")
    chain = Chain.load(backend_dir) if backend_dir else None
    if chain is not None:
        utt, test = chain.transform(utt), chain.transform(test)
    ids, groups = group_rows(read_spk2utt(spk2utt), u_keys, spk2utt, enroll_scp)
    e_idx = index_ids(pairs[0], ids, "enroll", spk2utt)
    t_idx = index_ids(pairs[1], t_keys, "test", test_scp)
    return MultiEnrollSet(pairs[0], pairs[1], ids, groups, utt, test, e_idx, t_idx, chain)


def write_scores(path: str, enroll_ids: np.ndarray, test_ids: np.ndarray, scores: np.ndarray) -> None:
    write_score_file(path, enroll_ids, test_ids, scores)
