"""local/overlap: the held-out split, the protocol's triplets (A+B, A'+C, C'+D), the mixing at an SIR,
and the mixture data dir (the generated corpus's mix_* format plus trials)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from common.errors import FormatError
from local.overlap import make_mixtures
from local.overlap.mixtures import heldout_split, mix_pair, plan_triplets, read_sources, segment

RATE = 8000
UTT2SPK = {f"s{k}-u{j}": f"s{k}" for k in range(6) for j in range(3)}


def test_heldout_split():
    train, held = heldout_split(UTT2SPK, 1, seed=0)
    assert len(held) == 6 and len(train) == 12 and not set(train) & set(held)
    assert sorted({UTT2SPK[u] for u in held}) == sorted(set(UTT2SPK.values()))
    assert heldout_split(UTT2SPK, 1, seed=0) == (train, held)
    with pytest.raises(FormatError, match="heldout-per-spk"):
        heldout_split(UTT2SPK, 3, seed=0)


def test_triplets_follow_the_protocol():
    mixes, trials = plan_triplets(UTT2SPK, 20, seed=1, prefix="t")
    assert len(mixes) == 60 and len(trials) == 40
    for anc, pos, neg in zip(mixes[0::3], mixes[1::3], mixes[2::3]):
        a, b, c, d = anc.a.spk, anc.b.spk, pos.b.spk, neg.b.spk
        assert len({a, b, c, d}) == 4
        assert pos.a.spk == a and pos.a.utt != anc.a.utt            # A' is another utterance of A
        assert neg.a.spk == c and neg.a.utt != pos.b.utt            # C' another utterance of C
    assert trials[:2] == ["t-0000-anc t-0000-pos target", "t-0000-anc t-0000-neg nontarget"]
    with pytest.raises(FormatError, match="4 speakers"):
        plan_triplets({"a-1": "a", "a-2": "a", "b-1": "b"}, 1, 0, "t")


def test_mix_pair_sets_the_sir_and_sums():
    rng = np.random.default_rng(0)
    a, b = 0.1 * rng.standard_normal(4000), 0.3 * rng.standard_normal(4000)
    mix, s1, s2 = mix_pair(a, b, 5.0)
    assert 10 * np.log10(np.mean(s1 ** 2) / np.mean(s2 ** 2)) == pytest.approx(5.0, abs=1e-6)
    np.testing.assert_allclose(mix, s1 + s2)
    np.testing.assert_allclose(s1, a)                       # no rescaling below the peak limit
    seg, start = segment(np.arange(10.0), 4, np.random.default_rng(2))
    assert seg.tolist() == list(range(start, start + 4))
    assert segment(np.arange(3.0), 7, rng)[0].tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_cli_writes_the_data_dir(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(3)
    for u in sorted(UTT2SPK):
        sf.write(src / f"{u}.wav", 0.1 * rng.standard_normal(RATE // 2), RATE)
    (src / "wav.scp").write_text("".join(f"{u} {src / u}.wav\n" for u in sorted(UTT2SPK)))
    (src / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(UTT2SPK.items())))
    out = tmp_path / "mix"
    assert make_mixtures.main(["mix", "--triplets", "2", "--seg-dur", "0.25", "--sir-db", "0", "--seed", "4",
                               "--prefix", "x", str(src), str(tmp_path / "wav"), str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"wav.scp", "utt2spk", "spk2utt", "utt2dur", "utt2spks", "utt2sources", "utt2sir", "utt2overlap",
            "rttm", "utt2srcs", "trials"} <= names
    first = (out / "utt2sources").read_text().splitlines()[0].split()
    mix, _ = sf.read((out / "wav.scp").read_text().splitlines()[0].split()[1])
    s1, s2 = sf.read(first[1])[0], sf.read(first[2])[0]
    assert len(mix) == 2000 and np.abs(mix - s1 - s2).max() < 3e-4      # 16-bit rounding
    assert (out / "utt2dur").read_text().splitlines()[0].endswith(" 0.2500")
    (src / "wav.scp").write_text(f"{sorted(UTT2SPK)[0]} sox x.wav -t wav - |\n")
    with pytest.raises(FormatError, match="is a command"):
        read_sources(str(src))
