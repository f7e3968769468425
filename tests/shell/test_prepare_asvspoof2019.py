"""local/asvspoof2019/prepare_data.sh on a fake LA tree copying the real layout (docs/data_formats.md §6-7)
with real protocol lines (a subset) and short FLAC files (tests/recipes/fake_corpora.make_fake_la), and the
exact SASV counts of the real protocols (asvlab issue 10), which live in ../shared/data/asvspoof2019_la/protocols
relative to the repository."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from common.io import read_kv, read_spk2utt
from local.asvspoof2019.prepare import CM_PROTOCOL, prepare, read_asv_trials, read_cm_protocol
from pytorch.data.audio import read_audio
from tests.recipes.fake_corpora import make_fake_la

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = ROOT.parent / "shared" / "data" / "asvspoof2019_la" / "protocols"
needs_protocols = pytest.mark.skipif(not PROTOCOLS.is_dir(),
                                     reason=f"real ASVspoof 2019 LA protocols not present at {PROTOCOLS}")
SCRIPT = ROOT / "local" / "asvspoof2019" / "prepare_data.sh"


def _run(*args, check=True):
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{ROOT / 'utils'}:{Path(sys.executable).parent}:{env['PATH']}"
    p = subprocess.run(["bash", str(SCRIPT), *map(str, args)], env=env, capture_output=True, text=True)
    if check and p.returncode:
        raise AssertionError(f"rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _real(name: str) -> list[str]:
    return (PROTOCOLS / name).read_text().splitlines()


@needs_protocols
def test_fake_tree_end_to_end(tmp_path):
    fake = make_fake_la(tmp_path, trials_per_label=1)
    la = fake.root
    p = _run(la, tmp_path / "data")
    for part in ("dev", "eval"):
        n = Counter(t.split()[3] for t in fake.trials[part])
        assert f"sasv_{part}/trials: target={n['target']} nontarget={n['nontarget']} spoof={n['spoof']}" in p.stdout
    data = tmp_path / "data"
    train = read_kv(data / "spoof_train" / "utt2attack")
    assert sorted(train.values()) == sorted("bonafide" if f.split()[3] == "-" else f.split()[3]
                                            for f in fake.cm["train"])
    assert len(set(train.values())) > 2   # bona fide and more than one attack
    # ids are speaker-prefixed, the label follows the attack, wav.scp reads through the toolkit's reader
    for utt, attack in train.items():
        spk = read_kv(data / "spoof_train" / "utt2spk")[utt]
        assert utt.startswith(f"{spk}-LA_T_")
        assert read_kv(data / "spoof_train" / "utt2label")[utt] == ("bonafide" if attack == "bonafide" else "spoof")
        x, rate = read_audio(read_kv(data / "spoof_train" / "wav.scp")[utt], utt)
        assert rate == 16000 and len(x) >= 400
    for part in ("dev", "eval"):
        enroll = read_spk2utt(data / f"sasv_{part}_enroll" / "spk2utt")
        first = _real(f"ASVspoof2019.LA.asv.{part}.female.trn.txt")[0].split()
        assert sorted(enroll[first[0]]) == sorted(f"{first[0]}-{u}" for u in first[1].split(","))
        trials = [t.split() for t in (data / f"sasv_{part}" / "trials").read_text().splitlines()]
        raw = [t.split() for t in (la / "ASVspoof2019_LA_asv_protocols" /
                                   f"ASVspoof2019.LA.asv.{part}.gi.trl.txt").read_text().splitlines()]
        assert [(t[0], t[1].split("-", 1)[1], t[2]) for t in trials] == [(r[0], r[1], r[3]) for r in raw]
        utt2spk = read_kv(data / f"spoof_{part}" / "utt2spk")
        for enroll_spk, test, label in trials:
            assert test in utt2spk  # every test utterance is in the part's data dir
            assert (utt2spk[test] == enroll_spk) == (label != "nontarget")


@needs_protocols
def test_missing_flac_is_named_and_nothing_is_written(tmp_path):
    la = make_fake_la(tmp_path, trials_per_label=1).root
    cm = (la / "ASVspoof2019_LA_cm_protocols" / CM_PROTOCOL["dev"]).read_text().splitlines()
    gone = cm[1].split()[1]
    (la / "ASVspoof2019_LA_dev" / "flac" / f"{gone}.flac").unlink()
    p = _run(la, tmp_path / "data", check=False)
    assert p.returncode == 1
    assert f"{CM_PROTOCOL['dev']}:2: no audio" in p.stderr and gone in p.stderr
    assert not (tmp_path / "data" / "spoof_train").exists()


def test_missing_root(tmp_path):
    p = _run(tmp_path / "nope", tmp_path / "data", check=False)
    assert p.returncode == 1 and "no such directory" in p.stderr
    (tmp_path / "empty").mkdir()
    p = _run(tmp_path / "empty", tmp_path / "data", check=False)
    assert p.returncode == 1 and "ASVspoof2019_LA_cm_protocols" in p.stderr


def test_cm_protocol_columns_are_checked(tmp_path):
    bad = tmp_path / "cm.txt"
    bad.write_text("LA_0079 LA_T_1138215 - - bonafide\nLA_0079 LA_T_1004644 A01 - spoof\n")
    with pytest.raises(Exception, match=r"cm.txt:2: expected `speaker file - attack"):
        read_cm_protocol(str(bad))


@needs_protocols
def test_real_protocol_counts(tmp_path):
    """The whole real protocols through prepare() (empty files stand in for the audio): the published counts."""
    la = tmp_path / "LA"
    (la / "ASVspoof2019_LA_cm_protocols").mkdir(parents=True)
    (la / "ASVspoof2019_LA_asv_protocols").mkdir()
    for p in PROTOCOLS.iterdir():
        sub = "cm" if ".cm." in p.name else "asv"
        (la / f"ASVspoof2019_LA_{sub}_protocols" / p.name).symlink_to(p)
    for part in ("train", "dev", "eval"):
        utts = [r.utt for r in read_cm_protocol(str(PROTOCOLS / CM_PROTOCOL[part]))]
        if part != "train":
            for g in ("female", "male"):
                for line in _real(f"ASVspoof2019.LA.asv.{part}.{g}.trn.txt"):
                    utts += line.split()[1].split(",")
        d = la / f"ASVspoof2019_LA_{part}" / "flac"
        d.mkdir(parents=True)
        for u in utts:
            os.close(os.open(d / f"{u}.flac", os.O_CREAT | os.O_WRONLY))
    counts = prepare(str(la), str(tmp_path / "data"))
    assert counts["sasv_dev"] == Counter(target=1484, nontarget=5768, spoof=22296)
    assert counts["sasv_eval"] == Counter(target=5370, nontarget=33327, spoof=63882)
    assert counts["sasv_dev_enroll"]["speakers"] == 10 and counts["sasv_eval_enroll"]["speakers"] == 48
    seen = {p: set(counts[f"spoof_{p}"]) - {"bonafide"} for p in ("train", "dev", "eval")}
    assert seen["train"] == seen["dev"] == {f"A{i:02d}" for i in range(1, 7)}
    assert seen["eval"] == {f"A{i:02d}" for i in range(7, 20)}
    # the written trials agree with the counts, line for line with the protocol
    trials = (tmp_path / "data" / "sasv_eval" / "trials").read_text().splitlines()
    raw = read_asv_trials(str(PROTOCOLS / "ASVspoof2019.LA.asv.eval.gi.trl.txt"))
    assert len(trials) == len(raw) and trials[0].split()[2] == raw[0].label
    assert len(read_spk2utt(tmp_path / "data" / "sasv_eval_enroll" / "spk2utt")) == 48
