"""What the score/bin CLIs share: embedding tables loaded with their ids checked, the back-end chain applied
to every side, and trial pairs indexed into them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from common.embeddings import load_embeddings
from common.errors import AsvError, FormatError
from common.io import read_spk2utt
from score.chain import Chain
from score.classstats import check_matrix
from score.cosine import index_ids
from score.enroll import group_rows
from score.plda import PLDA


def load_table(paths: str | Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Keys and [N, D] rows of embedding scp(s); a NaN/inf embedding is an error naming its key."""
    keys, x = load_embeddings(paths)
    if not np.isfinite(x).all():
        check_matrix(x, paths if isinstance(paths, str) else ", ".join(paths), ids=keys)
    return keys, x


def load_chain(backend_dir: str | None) -> Chain | None:
    return Chain.load(backend_dir) if backend_dir else None


@dataclass
class TrialSet:
    enroll_keys: list[str]  # the enroll ids: rows of `enroll`, or with a spk2utt the entries of `groups`
    enroll: np.ndarray      # [E, D] embeddings (utterance-level with a spk2utt), chain-transformed
    test: np.ndarray        # [T, D]
    e_idx: np.ndarray       # each trial's enroll id (row of `enroll`, or entry of `groups`)
    t_idx: np.ndarray       # each trial's row of `test`
    chain: Chain | None
    groups: list[np.ndarray] | None = None  # with a spk2utt: rows of `enroll` of each enroll id


def load_trial_set(pairs: tuple[np.ndarray, np.ndarray], enroll_scp: str, test_scp: str,
                   backend_dir: str | None, spk2utt: str | None = None) -> TrialSet:
    """Embeddings of the trial pairs (enroll ids, test ids). With `spk2utt`, `enroll_scp` is utterance-level
    and each enroll id stands for its utterances."""
    e_keys, enroll = load_table(enroll_scp)
    t_keys, test = load_table(test_scp)
    if enroll.shape[1] != test.shape[1]:
        raise FormatError(f"{enroll_scp} has dim {enroll.shape[1]} but {test_scp} has dim {test.shape[1]}; "
                          "use embeddings of the same model")
    chain = load_chain(backend_dir)
    if chain is not None:
        enroll, test = chain.transform(enroll), chain.transform(test)
    groups = None
    if spk2utt:
        e_keys, groups = group_rows(read_spk2utt(spk2utt), e_keys, spk2utt, enroll_scp)
    e_idx = index_ids(pairs[0], e_keys, "enroll", spk2utt or enroll_scp)
    t_idx = index_ids(pairs[1], t_keys, "test", test_scp)
    return TrialSet(e_keys, enroll, test, e_idx, t_idx, chain, groups)


def plda_of(ts: TrialSet, backend_dir: str | None) -> PLDA:
    """The PLDA of the trial set's chain; an error saying how to get one when there is none."""
    if ts.chain is None or ts.chain.plda is None:
        raise AsvError(f"PLDA scoring needs --backend-dir with a chain ending in plda "
                       f"(got {backend_dir}); train one with score.bin.train_backend")
    return ts.chain.plda


def enroll_counts(spk2utt: str, keys: list[str]) -> np.ndarray:
    """Number of utterances behind each (already averaged) enroll embedding, for PLDA (Kaldi --num-utts);
    an id the spk2utt lacks counts one."""
    table = read_spk2utt(spk2utt)
    return np.array([len(table.get(k, [k])) for k in keys])
