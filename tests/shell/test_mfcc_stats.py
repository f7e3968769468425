"""local/baseline/mfcc_stats.sh (the MFCC-statistics baseline) on a tiny hand-made corpus of harmonic tones:
utterance trials within one set (--enroll-kind utt, as VoxCeleb's Vox1-O: enroll dir = test dir, its MFCCs
computed once), a rerun that finds results.tsv up to date, and a bad option named in one line. Speaker
enrollment (the default, --enroll-kind spk) runs in egs/mini's stage 0 (tests/recipes/test_mini.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import soundfile as sf

from common.io import read_kv

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000


def _datadir(d: Path, utts: dict[str, tuple[str, float]]) -> None:
    """{utt: (spk, f0)}: 1 s of a harmonic tone at f0 in a little noise per utterance, and the data dir."""
    (d / "wav").mkdir(parents=True)
    t = np.arange(RATE) / RATE
    for i, (u, (_, f0)) in enumerate(sorted(utts.items())):
        x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
        x = 0.2 * x + 0.01 * np.random.default_rng(i).standard_normal(RATE)
        sf.write(d / "wav" / f"{u}.wav", (0.3 * x).astype(np.float32), RATE, subtype="PCM_16")
    spk2utt: dict[str, list[str]] = {}
    for u, (s, _) in sorted(utts.items()):
        spk2utt.setdefault(s, []).append(u)
    (d / "wav.scp").write_text("".join(f"{u} {d / 'wav' / u}.wav\n" for u in sorted(utts)))
    (d / "utt2spk").write_text("".join(f"{u} {utts[u][0]}\n" for u in sorted(utts)))
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))


def _recipe(r: Path) -> Path:
    (r / "conf").mkdir(parents=True)
    for name in ("utils", "path.sh"):
        os.symlink(ROOT / name, r / name)
    for name in ("mfcc.yaml", "vad.yaml"):
        shutil.copy(ROOT / "egs" / "mini" / "conf" / name, r / "conf" / name)
    _datadir(r / "data" / "train", {f"t{s}-{i}": (f"t{s}", 110 + 40 * s + 3 * i) for s in range(4) for i in range(3)})
    test = {f"e{s}-{i}": (f"e{s}", 130 + 50 * s + 2 * i) for s in range(3) for i in range(2)}
    _datadir(r / "data" / "test", test)
    # utterance pairs, and two utterances against themselves (cosine 1 exactly when the enroll side is
    # the utterance's own embedding, not a speaker mean)
    pairs = [*combinations(sorted(test), 2), ("e0-0", "e0-0"), ("e2-1", "e2-1")]
    (r / "data" / "test" / "trials_utt").write_text(
        "".join(f"{a} {b} {'target' if test[a][0] == test[b][0] else 'nontarget'}\n" for a, b in pairs))
    return r


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    return subprocess.run(["bash", "-c", '. ./path.sh; "$@"', "run", str(ROOT / "local/baseline/mfcc_stats.sh"),
                           "--nj", "1", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _ok(p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]


def _scores(path: Path) -> list[tuple[str, str, float]]:
    return [(a, b, float(s)) for a, b, s in (line.split() for line in path.read_text().splitlines())]


def test_utterance_enrollment(tmp_path):
    r = _recipe(tmp_path / "recipe")
    utt = ["--enroll-kind", "utt", "--trials", "data/test/trials_utt", "--trials-name", "test_utt"]
    _ok(_run(r, *utt, "data/train", "data/test", "data/test", "exp/utt"))
    exp = r / "exp" / "utt"
    scores = _scores(exp / "scores" / "test_utt.cos")
    trials = (r / "data/test/trials_utt").read_text().split("\n")[:-1]
    assert [(a, b) for a, b, _ in scores] == [tuple(t.split()[:2]) for t in trials]
    same = [s for a, b, s in scores if a == b]
    assert len(same) == 2 and all(abs(s - 1.0) < 1e-5 for s in same)
    assert all(s < 0.9999 for a, b, s in scores if a != b)
    # the enroll dir is the test dir: its MFCCs and embeddings once
    assert not (exp / "embeddings" / "enroll").exists() and not (exp / "log" / "make_mfcc_enroll").exists()
    assert len(read_kv(r / "data/test_mfcc/feats.scp")) == 6
    row = (exp / "results.tsv").read_text().splitlines()[1].split("\t")
    assert row[0] == "utt" and row[3] == "test_utt"
    stamp = (exp / "results.tsv").stat().st_mtime_ns
    p = _run(r, *utt, "data/train", "data/test", "data/test", "exp/utt")
    _ok(p)
    assert "up to date" in p.stdout and (exp / "results.tsv").stat().st_mtime_ns == stamp

    p = _run(r, "--enroll-kind", "speaker", "data/train", "data/test", "data/test", "exp/bad")
    assert p.returncode != 0 and "--enroll-kind must be spk or utt, not 'speaker'" in p.stderr
