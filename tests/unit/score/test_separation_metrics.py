"""Separation metrics (score/separation.py, score.bin.separation_metrics): BSS-eval SDR against mir_eval's
value on constructed signals, SDRi/PESQi of the unprocessed mixture = 0, the permutation, and the CLI's tables
and trial lists on a small mixture dir."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import soundfile as sf

from common.io import read_table
from score.bin import separation_metrics as cli
from score.separation import pesq_wb, score_mixture, sdr

SR = 16000


def _voice(f0: float, seed: int, n: int = SR) -> np.ndarray:
    """Harmonics of f0, switched on and off at about 3 Hz (syllable-like), so PESQ finds speech in it."""
    r = np.random.default_rng(seed)
    t = np.arange(n) / SR
    env = (np.sin(2 * np.pi * 3 * t + r.uniform(0, 6)) > 0).astype(float)
    return 0.1 * env * sum(np.sin(2 * np.pi * f0 * h * t + r.uniform(0, 6)) / h for h in range(1, 15))


def test_sdr_equals_mir_eval_on_constructed_signals():
    mir_eval = pytest.importorskip("mir_eval")
    rng = np.random.default_rng(0)
    n = SR // 2
    refs = np.stack([_voice(120, 1, n), _voice(210, 2, n)])
    # a filtered, leaky, noisy estimate: the distortion filter, interference and artefacts all matter
    est = np.stack([np.convolve(refs[0], [1, 0.3, -0.2])[:n] + 0.3 * refs[1] + 0.01 * rng.standard_normal(n),
                    refs[1] + 0.5 * refs[0] + 0.05 * rng.standard_normal(n)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = mir_eval.separation.bss_eval_sources(refs, est, compute_permutation=False)[0]
    got = [sdr(refs[i], est[i]) for i in range(2)]
    assert got == pytest.approx(want, abs=1e-2)
    assert got[0] < 20 and got[1] < 20      # a real test: these estimates are far from perfect


def test_sdr_of_an_exact_estimate_is_high_and_zero_input_is_refused():
    ref = _voice(150, 3)
    assert sdr(ref, 0.5 * ref) == pytest.approx(100)      # a gain is a distortion BSS-eval allows; clamped
    with pytest.raises(ValueError, match="all-zero"):
        sdr(np.zeros(SR), ref)


def test_unprocessed_mixture_scores_zero_improvement_and_the_permutation():
    refs = np.stack([_voice(120, 1), _voice(210, 2)])
    mix = refs.sum(0)
    s = score_mixture(mix, refs, np.stack([mix, mix]), SR, permute=False)
    assert s.sdri == pytest.approx(0.0, abs=1e-9) and s.pesqi == pytest.approx(0.0, abs=1e-9)
    assert pesq_wb(refs[0], refs[0], SR) == pytest.approx(4.644, abs=1e-3)   # P.862.2's ceiling
    swapped = refs[::-1] + 1e-3 * np.random.default_rng(0).standard_normal((2, SR))
    blind = score_mixture(mix, refs, swapped, SR, permute=True, with_pesq=False)
    tied = score_mixture(mix, refs, swapped, SR, permute=False, with_pesq=False)
    assert blind.perm == (1, 0) and tied.perm == (0, 1)
    assert blind.sdri > 20 > 0 > tied.sdri
    assert math.isnan(blind.pesqi)
    with pytest.raises(ValueError, match="16000 Hz"):
        pesq_wb(refs[0], refs[0], 8000)


def _dirs(tmp_path, swap: bool):
    data, sep = tmp_path / "mix", tmp_path / "sep"
    (data / "w").mkdir(parents=True)
    (sep / "w").mkdir(parents=True)
    wav, src, spks, sep_wav, u2m = [], [], [], [], []
    rng = np.random.default_rng(0)
    for i, (a, b) in enumerate([("spA", "spB"), ("spC", "spA")]):
        s = np.stack([_voice(110 + 20 * i, i), _voice(200 + 15 * i, i + 5)])
        m = f"m{i}"
        for name, x in (("s1", s[0]), ("s2", s[1]), ("mix", s.sum(0))):
            sf.write(data / "w" / f"{m}-{name}.wav", x, SR, subtype="FLOAT")
        for k in (1, 2):
            est = s[(k - 1) ^ swap] + 0.3 * s[k % 2 ^ swap] + 0.001 * rng.standard_normal(SR)
            sf.write(sep / "w" / f"{m}-{k}.wav", est, SR, subtype="FLOAT")
            sep_wav.append(f"{m}-{k} {sep / 'w' / f'{m}-{k}.wav'}\n")
            u2m.append(f"{m}-{k} {m} {k}\n")
        wav.append(f"{m} {data / 'w' / f'{m}-mix.wav'}\n")
        src.append(f"{m} {data / 'w' / f'{m}-s1.wav'} {data / 'w' / f'{m}-s2.wav'}\n")
        spks.append(f"{m} {a} {b}\n")
    for d, name, lines in ((data, "wav.scp", wav), (data, "utt2sources", src), (data, "utt2spks", spks),
                           (sep, "wav.scp", sep_wav), (sep, "utt2mix", u2m)):
        (d / name).write_text("".join(lines))
    (tmp_path / "spk2utt").write_text("spA a1\nspB b1\nspC c1\nspD d1\n")
    return data, sep


def test_cli_tables_and_trials(tmp_path):
    data, sep = _dirs(tmp_path, swap=True)
    out, summ = tmp_path / "m.tsv", tmp_path / "summary.tsv"
    args = ["--data", str(data), "--sep", str(sep), "--out", str(out), "--summary", str(summ),
            "--system", "sys1", "--speakers", str(tmp_path / "spk2utt"), "--trials-out", str(tmp_path / "t"),
            "--mix-trials-out", str(tmp_path / "tm"), "--pesq", "false"]
    assert cli.main(args) == 0
    rows = read_table(out, 12)
    assert [r[0] for r in rows[1:]] == ["m0", "m1"] and all(r[1] == "2,1" for r in rows[1:])
    assert all(float(r[6]) > 5 for r in rows[1:])                     # 0.3 leakage: SDR ~10 dB vs ~0
    assert cli.main([*args[:-1], "false", "--system", "sys2"]) == 0     # the summary grows by a row
    summary = read_table(summ, 8)
    assert [r[0] for r in summary] == ["system", "sys1", "sys2"]
    assert float(summary[1][4]) == pytest.approx(np.mean([float(r[6]) for r in rows[1:]]), abs=2e-3)
    # outputs swapped: output 2 of m0 holds source 1 (spA); nontargets = speakers absent from the mixture
    trials = {tuple(r) for r in read_table(tmp_path / "t", 3)}
    assert ("spA", "m0-2", "target") in trials and ("spB", "m0-1", "target") in trials
    assert ("spC", "m0-2", "nontarget") in trials and ("spB", "m0-2", "target") not in trials
    assert not any(r[0] == "spB" and r[1] == "m0-2" for r in trials)
    assert len(trials) == 4 * 3     # 4 outputs x (1 target + 2 absent speakers)
    mix_trials = {tuple(r) for r in read_table(tmp_path / "tm", 3)}
    assert {("spA", "m0", "target"), ("spB", "m0", "target"), ("spC", "m0", "nontarget"),
            ("spD", "m0", "nontarget")} <= mix_trials and len(mix_trials) == 8
    # tied outputs scored as they are (no permutation): the swap now costs the SDR
    assert cli.main([*args, "--permute", "false", "--out", str(tmp_path / "tied.tsv")]) == 0
    assert all(float(r[6]) < 0 for r in read_table(tmp_path / "tied.tsv", 12)[1:])


def test_cli_errors_name_the_file(tmp_path, capsys):
    data, sep = _dirs(tmp_path, swap=False)
    (sep / "utt2mix").write_text("m0-1 m0 1\nm0-2 m0 2\nm1-1 m1 1\n")
    assert cli.main(["--data", str(data), "--sep", str(sep), "--out", str(tmp_path / "o"), "--pesq", "false"]) == 1
    err = capsys.readouterr().err
    assert f"{sep / 'utt2mix'}: mixture 'm1' lacks its two outputs" in err
    assert not (tmp_path / "o").exists()
    assert cli.main(["--data", str(data), "--sep", str(sep), "--out", str(data / "wav.scp")]) == 1
    assert "is also the input" in capsys.readouterr().err


def test_separation_table(tmp_path, capsys):
    from score.bin import separation_table
    from score.results import append_result
    summ = tmp_path / "summary.tsv"
    summ.write_text("system\tmixtures\tsdr_mix\tsdr_est\tsdri\tpesq_mix\tpesq_est\tpesqi\n"
                    "vf_none\t4\t0.100\t1.000\t0.900\t1.200\t1.300\t0.100\n"
                    "vf_none\t4\t0.100\t2.000\t1.900\t1.200\t1.500\t0.300\n")
    res = tmp_path / "results.tsv"
    for name, eer in (("vf_none", 12.5), ("unprocessed", 20.0)):
        append_result(res, name, "cosine", "none", "sep_test", {"eer": eer, "minDCF@0.01": 1.0, "minDCF@0.001": 1.0},
                      n_trials=8)
    assert separation_table.main(["--summary", str(summ), "--results", str(res), "--title", ""]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[2].startswith("| vf_none | 4 | 0.100 | 1.900 | 1.200 | 0.300 |")
    assert "12.5" in lines[2] and "20.0" in lines[2]
    assert separation_table.main(["--summary", str(summ), "--results", str(res), "--unprocessed", "x"]) == 1
    assert "no row of system 'x'" in capsys.readouterr().err
