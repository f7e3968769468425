"""Speaker means of utterance embeddings (spk_xvector), for training speakers and enrollment ids alike."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from common.errors import FormatError


def speaker_means(emb: Mapping[str, np.ndarray], spk2utt: Mapping[str, list[str]],
                  where: str = "spk2utt") -> list[tuple[str, np.ndarray]]:
    """Mean of the utterance embeddings of every speaker (for enrollment dirs: every enroll id)."""
    out = []
    for spk in sorted(spk2utt):
        utts = spk2utt[spk]
        missing = [u for u in utts if u not in emb]
        if missing:
            raise FormatError(f"{where}: speaker {spk!r}: no embedding for utterance {missing[0]!r} "
                              f"({len(missing)} missing); re-run extraction on this data dir")
        mean = np.mean(np.stack([emb[u] for u in utts]), axis=0, dtype=np.float64)
        out.append((spk, mean.astype(np.float32)))
    return out
