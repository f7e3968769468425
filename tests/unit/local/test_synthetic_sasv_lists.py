"""Spoof and SASV-list options of the plan: counts, LA-like subsampling, and nothing else changes."""
from __future__ import annotations

import dataclasses
from collections import Counter

from local.synthetic.attacks import EVAL_ATTACKS, TRAIN_ATTACKS
from local.synthetic.plan import CorpusOptions, make_plan

BASE = CorpusOptions(seed=5, num_train_spk=4, num_eval_spk=8, utts_per_spk=2, enroll_utts=1, test_utts=3,
                     min_dur=0.5, max_dur=0.6, spoof_per_attack=2, spoof_train_per_attack=3,
                     sasv_nontargets_per_spk=0, num_mix_train=3, num_mix_test=2, augsets=False)


def _astuples(jobs: list) -> list[tuple]:
    return [dataclasses.astuple(j) for j in jobs]


def test_spoof_counts_follow_the_options():
    p = make_plan(BASE)
    n = Counter(s.set for s in p.spoofs)
    # spoof_train: every other train speaker (2); dev/eval: 4 speakers each
    assert n == {"spoof_train": 2 * len(TRAIN_ATTACKS) * 3, "spoof_dev": 4 * len(TRAIN_ATTACKS) * 2,
                 "spoof_eval": 4 * len(EVAL_ATTACKS) * 2}


def test_sasv_nontargets_subsampled_per_enrolled_speaker():
    full = make_plan(BASE).trials
    sub = make_plan(dataclasses.replace(BASE, sasv_nontargets_per_spk=2)).trials
    assert sub["trials"] == full["trials"]                 # the ASV list never changes
    for name in ("sasv_dev", "sasv_eval"):
        assert Counter(t[2] for t in full[name])["nontarget"] == 4 * 3 * 3   # 4 enrolled x 9 other test utts
        per = Counter(e for e, _, lab in sub[name] if lab == "nontarget")
        assert sorted(per.values()) == [2, 2, 2, 2]
        assert set(sub[name]) <= set(full[name])
        for lab in ("target", "spoof"):                    # every target and spoof trial is kept
            assert [t for t in sub[name] if t[2] == lab] == [t for t in full[name] if t[2] == lab]
    # more than there are: all of them
    assert make_plan(dataclasses.replace(BASE, sasv_nontargets_per_spk=50)).trials == full


def test_spoof_options_change_nothing_else():
    a = make_plan(BASE)
    b = make_plan(dataclasses.replace(BASE, spoof_per_attack=1, spoof_train_per_attack=5))
    assert _astuples(a.utts) == _astuples(b.utts)
    assert _astuples(a.mixes) == _astuples(b.mixes)
    assert _astuples(a.corrupts) == _astuples(b.corrupts)
    assert a.trials["trials"] == b.trials["trials"]
