"""A tiny synthetic corpus shared by the local/synthetic tests (generated once per session)."""
from __future__ import annotations

import pytest

from local.synthetic.generate import generate
from local.synthetic.plan import CorpusOptions

TINY = CorpusOptions(seed=3, num_train_spk=3, num_eval_spk=4, utts_per_spk=2, enroll_utts=2, test_utts=3,
                     min_dur=0.5, max_dur=0.8, spoof_per_attack=1, num_mix_train=2, num_mix_test=2)


@pytest.fixture(scope="session")
def tiny_options() -> CorpusOptions:
    return TINY


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = str(tmp_path_factory.mktemp("synthetic") / "corpus")
    generate(TINY, out, nj=1)
    return out
