"""Corpus layout: Kaldi data dirs, trials, splits, attacks, mixtures, MUSAN / RIRS_NOISES trees."""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
import soundfile as sf

from local.synthetic.attacks import EVAL_ATTACKS, TRAIN_ATTACKS
from local.synthetic.corrupt import KINDS
from local.synthetic.datadirs import prepare

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def data(tiny_corpus, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("data"))
    prepare(tiny_corpus, out)
    return out


def _kv(path: str) -> dict[str, list[str]]:
    with open(path) as f:
        return {p[0]: p[1:] for p in (line.split() for line in f)}


def _lines(path: str) -> list[str]:
    with open(path) as f:
        return f.read().splitlines()


DIRS = ["train", "enroll", "test", "test_corrupt", "spoof_train", "spoof_dev", "spoof_eval", "mix_train", "mix_test"]


@pytest.mark.parametrize("name", DIRS)
def test_data_dirs_sorted_and_valid(data, name):
    d = os.path.join(data, name)
    for f in os.listdir(d):
        if f != "rttm" and os.path.isfile(os.path.join(d, f)):
            lines = _lines(os.path.join(d, f))
            assert lines == sorted(lines), f"{name}/{f} not sorted"
    for path in (p[0] for p in _kv(os.path.join(d, "wav.scp")).values()):
        assert os.path.isfile(path)
    env = dict(os.environ, LC_ALL="C")
    validate = os.path.join(ROOT, "utils", "validate_data_dir.sh")
    r = subprocess.run(["bash", validate, "--no-feats", "--no-text", d], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr


def test_wavs_are_16k_pcm16(data):
    path = next(iter(_kv(os.path.join(data, "test", "wav.scp")).values()))[0]
    info = sf.info(path)
    assert (info.samplerate, info.subtype, info.channels) == (16000, "PCM_16", 1)


def test_speakers_disjoint_and_enroll_ids_are_speakers(data):
    train = {s[0] for s in _kv(os.path.join(data, "train", "utt2spk")).values()}
    test = {s[0] for s in _kv(os.path.join(data, "test", "utt2spk")).values()}
    enroll = _kv(os.path.join(data, "enroll", "spk2utt"))
    assert train and test and not train & test
    assert set(enroll) == test
    assert all(len(u) >= 2 for u in enroll.values())      # multi-utterance enrollment


def test_trials_reference_existing_ids_and_cross_sessions(data):
    enroll = _kv(os.path.join(data, "enroll", "spk2utt"))
    test = _kv(os.path.join(data, "test", "utt2spk"))
    genre = _kv(os.path.join(data, "test", "utt2genre"))
    trials = [line.split() for line in _lines(os.path.join(data, "test", "trials"))]
    labels = {t[2] for t in trials}
    assert labels == {"target", "nontarget"}
    for e, t, lab in trials:
        assert e in enroll and t in test
        assert (test[t][0] == e) == (lab == "target")
        assert genre[t][0] in ("speech", "interview", "vlog", "singing")
    # Enrollment is session 00, tests come from other sessions.
    enroll_utts = {u for us in enroll.values() for u in us}
    assert all(u.split("-")[2] == "00" for u in enroll_utts)
    assert all(t.split("-")[2] != "00" for _, t, _ in trials)


def test_test_corrupt_mirrors_test_with_other_audio(data):
    test, corr = os.path.join(data, "test"), os.path.join(data, "test_corrupt")
    for f in ("utt2spk", "spk2utt", "utt2dur", "utt2genre", "trials"):
        assert _lines(os.path.join(corr, f)) == _lines(os.path.join(test, f)), f
    kinds = _kv(os.path.join(corr, "utt2corruption"))
    assert set(kinds) == set(_kv(os.path.join(test, "utt2spk")))
    assert {k[0] for k in kinds.values()} == set(KINDS)          # 12 test utterances, 5 kinds in turn
    clean, noisy = _kv(os.path.join(test, "wav.scp")), _kv(os.path.join(corr, "wav.scp"))
    for utt in clean:
        a, _ = sf.read(clean[utt][0])
        b, _ = sf.read(noisy[utt][0])
        assert len(a) == len(b) and not np.allclose(a, b), utt


def test_attacks_train_dev_disjoint_from_eval(data):
    seen = {}
    for part in ("train", "dev", "eval"):
        a = {v[0] for v in _kv(os.path.join(data, f"spoof_{part}", "utt2attack")).values()}
        assert "bonafide" in a
        seen[part] = a - {"bonafide"}
    assert seen["train"] == seen["dev"] == set(TRAIN_ATTACKS)
    assert seen["eval"] == set(EVAL_ATTACKS)
    assert not set(TRAIN_ATTACKS) & set(EVAL_ATTACKS)


@pytest.mark.parametrize("part", ["dev", "eval"])
def test_sasv_trials(data, part):
    cm = _kv(os.path.join(data, f"spoof_{part}", "utt2attack"))
    utt2spk = _kv(os.path.join(data, f"spoof_{part}", "utt2spk"))
    enroll = _kv(os.path.join(data, "enroll", "spk2utt"))
    trials = [line.split() for line in _lines(os.path.join(data, f"sasv_{part}", "trials"))]
    assert {t[2] for t in trials} == {"target", "nontarget", "spoof"}
    for e, t, lab in trials:
        assert e in enroll and t in cm
        assert (cm[t][0] != "bonafide") == (lab == "spoof")
        if lab == "spoof":
            assert utt2spk[t][0] == e          # a spoof claims the enrolled speaker


def test_mixtures(data):
    train = {s[0] for s in _kv(os.path.join(data, "train", "utt2spk")).values()}
    test = {s[0] for s in _kv(os.path.join(data, "test", "utt2spk")).values()}
    for name, spks in (("mix_train", train), ("mix_test", test)):
        d = os.path.join(data, name)
        u2s = _kv(os.path.join(d, "utt2spks"))
        ov = _kv(os.path.join(d, "utt2overlap"))
        src = _kv(os.path.join(d, "utt2sources"))
        wav = _kv(os.path.join(d, "wav.scp"))
        for utt, (a, b) in u2s.items():
            assert a != b and a in spks and b in spks
            assert 0.0 < float(ov[utt][0]) < 1.0
            m, _ = sf.read(wav[utt][0])
            s1, _ = sf.read(src[utt][0])
            s2, _ = sf.read(src[utt][1])
            assert len(m) == len(s1) == len(s2)


def test_musan_layout(tiny_corpus):
    m = os.path.join(tiny_corpus, "musan")
    assert os.path.isfile(os.path.join(m, "noise/free-sound/noise-free-sound-0000.wav"))
    assert os.path.isfile(os.path.join(m, "music/hd-classical/music-hd-0000.wav"))
    assert os.path.isfile(os.path.join(m, "speech/us-gov/speech-us-gov-0000.wav"))
    assert not os.path.exists(os.path.join(m, "speech/us-gov/ANNOTATIONS"))
    for line in _lines(os.path.join(m, "music/fma/ANNOTATIONS")):
        uid, genre, vocals, artist = line.split()
        assert os.path.isfile(os.path.join(m, "music/fma", uid + ".wav")) and vocals in "YN"
    for line in _lines(os.path.join(m, "speech/librivox/ANNOTATIONS")):
        uid, gender, lang = line.split()
        assert gender in ("m", "f") and os.path.isfile(os.path.join(m, "speech/librivox", uid + ".wav"))


def test_rirs_layout(tiny_corpus):
    r = os.path.join(tiny_corpus, "RIRS_NOISES")
    assert os.path.isfile(os.path.join(r, "simulated_rirs/smallroom/Room001/Room001-00001.wav"))
    lists = ["simulated_rirs/smallroom/rir_list", "simulated_rirs/mediumroom/rir_list",
             "simulated_rirs/largeroom/rir_list", "real_rirs_isotropic_noises/rir_list",
             "real_rirs_isotropic_noises/noise_list", "pointsource_noises/noise_list"]
    for lst in lists:
        for line in _lines(os.path.join(r, lst)):
            rel = line.split()[-1]
            assert rel.startswith("RIRS_NOISES/"), line    # relative to the parent of RIRS_NOISES
            assert os.path.isfile(os.path.join(tiny_corpus, rel)), line
    assert line.split()[:2] == ["--noise-id", "noise-free-sound-0001"]
    two = sf.info(os.path.join(r, "real_rirs_isotropic_noises/air_type1_air_binaural_stairway_1_1_90.wav"))
    assert two.channels == 2
