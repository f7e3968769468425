"""local/cnceleb/prepare_data.sh and prepare_sr.sh on fake CN-Celeb / CNSRC SR trees that copy the real layouts
(tests/recipes/fake_corpora.py, docs/data_formats.md §3-5): ids, genres, trials, both enrollment forms, .wav
lists over .flac audio, short-clip joining, the SR format as score.bin.eval_retrieval reads it, and the
failure paths (each one clear line; nothing written; the rerun after the fix succeeds)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from common.io import read_kv, read_spk2utt
from pytorch.data.audio import read_audio
from tests.recipes.fake_corpora import make_fake_cnceleb, make_fake_sr, truncate

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "local" / "cnceleb"


def _run(script: str, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", str(LOCAL / script), *map(str, args)], env=env, capture_output=True, text=True)


def _ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def _one_error(p: subprocess.CompletedProcess, *words: str) -> str:
    assert p.returncode != 0, p.stdout
    errs = [ln for ln in p.stderr.splitlines() if "error" in ln.lower() or ln.startswith(str(LOCAL))]
    assert len(errs) == 1, p.stderr
    for w in words:
        assert w in errs[0], errs[0]
    return errs[0]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return make_fake_cnceleb(tmp_path_factory.mktemp("cnc") / "corpora")


def test_prepare(fake, tmp_path):
    data = tmp_path / "data"
    _ok(_run("prepare_data.sh", fake.cn1_root, fake.cn2_root, data))
    train = read_kv(data / "cnceleb_train" / "utt2spk")
    assert sorted(train) == fake.train_utts
    assert set(train.values()) == set(fake.dev_spk + fake.cn2_spk)       # CN-Celeb.T: CN-Celeb1 dev + CN-Celeb2
    assert all(u[:7] == s for u, s in train.items())
    assert Counter(read_kv(data / "cnceleb_train" / "utt2genre").values()) == fake.train_genres
    test = read_kv(data / "eval_test" / "utt2spk")
    assert sorted(test) == fake.test_utts and all(u[:7] == s for u, s in test.items())
    assert Counter(read_kv(data / "eval_test" / "utt2genre").values()) == fake.test_genres
    assert "live_broadcast" in fake.test_genres        # a genre with '_' stays whole
    # Lists say .wav, the release has .flac: wav.scp points at the flac files.
    assert all(p.endswith(".flac") and os.path.isfile(p) for p in read_kv(data / "eval_test" / "wav.scp").values())
    assert read_spk2utt(data / "eval_enroll" / "spk2utt") == {s: [f"{s}-enroll"] for s in fake.eval_spk}
    trials = [ln.split() for ln in (data / "eval_test" / "trials").read_text().splitlines()]
    assert Counter(t[2] for t in trials) == fake.trials
    assert all(t[0] in fake.eval_spk and t[1] in test and (t[1][:7] == t[0]) == (t[2] == "target") for t in trials)
    assert read_spk2utt(data / "eval_enroll_map" / "spk2utt") == fake.enroll_map
    assert set(test.values()) == set(fake.eval_spk + fake.test_only_spk) and fake.test_only_spk
    # Enrollment genre: that of its enroll.map utterances (each fake enrollment uses one genre).
    genre = read_kv(data / "eval_enroll_map" / "utt2genre")
    assert read_kv(data / "eval_enroll" / "spk2genre") == {s: genre[us[0]] for s, us in fake.enroll_map.items()}
    assert read_kv(data / "eval_enroll_map" / "spk2genre") == read_kv(data / "eval_enroll" / "spk2genre")
    assert not [f for f in os.listdir(data) if f.startswith(".")]


def test_combine_short_and_min_dur(fake, tmp_path):
    data = tmp_path / "data"
    _ok(_run("prepare_data.sh", "--combine-short", 2, "--cnceleb2-root", fake.cn2_root, fake.cn1_root, data))
    dur = {u: float(d) for u, d in read_kv(data / "cnceleb_train" / "utt2dur").items()}
    scp = read_kv(data / "cnceleb_train" / "wav.scp")
    genre = read_kv(data / "cnceleb_train" / "utt2genre")
    joined = [u for u in scp if "-comb" in u]
    assert joined and abs(sum(dur.values()) - sum(fake.durations.values())) < 1e-2   # nothing lost or doubled
    for u in joined:
        k = int(u.rsplit("-comb", 1)[1])
        parts = scp[u].split()[1:1 + k]
        assert scp[u].startswith("sox ") and scp[u].endswith("-t wav - |") and len(parts) == k
        assert all(f"/{u[:7]}/{genre[u]}-" in p for p in parts)             # one speaker, one genre
        assert sum(fake.durations[f"{u[:7]}-{Path(p).stem}"] for p in parts[:-1]) < 2 <= dur[u]
    x, rate = read_audio(scp[joined[0]], joined[0])
    assert abs(len(x) / rate - dur[joined[0]]) < 1e-3
    _ok(_run("prepare_data.sh", "--min-dur", 1.0, fake.cn1_root, tmp_path / "d2"))
    kept = read_kv(tmp_path / "d2" / "cnceleb_train" / "utt2spk")
    assert sorted(kept) == sorted(u for u in fake.train_utts if u[:7] in fake.dev_spk and fake.durations[u] >= 1.0)


def test_no_enroll_map(tmp_path):
    fk = make_fake_cnceleb(tmp_path / "c", n_dev=2, n_eval=2, cn2=False, enroll_map=False, audio_ext=".wav")
    data = tmp_path / "data"
    _ok(_run("prepare_data.sh", fk.cn1_root, data))
    assert not (data / "eval_enroll_map").exists()
    assert all(p.endswith(".wav") for p in read_kv(data / "eval_test" / "wav.scp").values())


def test_failures_one_line_then_rerun(fake, tmp_path):
    data = tmp_path / "data"
    _one_error(_run("prepare_data.sh", tmp_path / "nowhere", data), "nowhere", "no such directory")
    root = tmp_path / "CN-Celeb_flac"
    shutil.copytree(fake.cn1_root, root)
    trl = root / "eval" / "lists" / "trials.lst"
    good = trl.read_text()
    trl.write_text(good + "id00800-enroll test/id00899-drama-09-009.wav 0\n")
    n = len(good.splitlines()) + 1
    _one_error(_run("prepare_data.sh", root, data), f"trials.lst:{n}:", "id00899-drama-09-009", "test.lst")
    assert not data.exists()
    trl.write_text(good)
    victim = sorted((root / "eval" / "test").glob("*.flac"))[1]
    keep = victim.read_bytes()
    truncate(victim)
    _one_error(_run("prepare_data.sh", root, data), victim.name, "truncated")
    assert not data.exists()
    victim.write_bytes(keep)
    (root / "dev" / "dev.lst").rename(root / "dev" / "x")
    _one_error(_run("prepare_data.sh", root, data), "dev.lst", "not found")
    (root / "dev" / "x").rename(root / "dev" / "dev.lst")
    _ok(_run("prepare_data.sh", root, data))


def test_sr(tmp_path):
    dev = make_fake_sr(tmp_path / "Task2_dev")
    data = tmp_path / "data"
    _ok(_run("convert_sr.sh", dev.root, tmp_path / "sr_dev"))
    _ok(_run("prepare_sr.sh", tmp_path / "sr_dev", data, "sr_dev"))
    assert read_spk2utt(data / "sr_dev_enroll" / "spk2utt") == {t: [f"{t}-01"] for t in dev.targets}
    key = read_kv(data / "sr_dev_pool" / "utt2target")
    assert key == {u: (s if s in dev.targets else "none") for u, s in dev.pool.items()}
    assert sorted(read_kv(data / "sr_dev_pool" / "utt2spk")) == sorted(dev.pool)
    # The labels are what score.bin.eval_retrieval reads. Its own utterances ranked first give AP 1; one
    # non-target ahead of them gives, with R = 3 relevant, AP = (1/2 + 2/3 + 3/4) / 3 (by hand).
    for shift, want in ((0, 1.0), (1, (1 / 2 + 2 / 3 + 3 / 4) / 3)):
        lines = []
        for t in dev.targets:
            mine, rest = [u for u, s in key.items() if s == t], [u for u, s in key.items() if s != t]
            assert len(mine) == 3
            order = rest[:shift] + mine + rest[shift:]
            lines += [f"{t} {u} {i + 1} {1 - i / 100:.2f}" for i, u in enumerate(order)]
        rank = tmp_path / f"ranking{shift}"
        rank.write_text("\n".join(lines) + "\n")
        out = subprocess.run([sys.executable, "-m", "score.bin.eval_retrieval", "--ranking", rank, "--pool-labels",
                              data / "sr_dev_pool" / "utt2target", "--json", "true"], capture_output=True,
                             text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["mAP"] == pytest.approx(want)
    # SR.eval has no key: no utt2target. Relative audio paths in an asvlab folder are read from that folder.
    ev = make_fake_sr(tmp_path / "Task2_eval", with_key=False, seed=5)
    _ok(_run("convert_sr.sh", ev.root, tmp_path / "sr_eval"))
    assert not (tmp_path / "sr_eval" / "pool.key").exists()
    _ok(_run("prepare_sr.sh", tmp_path / "sr_eval", data, "sr_eval"))
    assert not (data / "sr_eval_pool" / "utt2target").exists()
    own = tmp_path / "own"
    own.mkdir()
    (own / "enroll.lst").write_text("".join(f"{t} ../Task2_eval/target/T{i + 1:05d}.wav\n"
                                            for i, t in enumerate(ev.targets)))
    (own / "pool.lst").write_text("".join(f"{u} ../Task2_eval/pool/{u}.wav\n" for u in ev.pool))
    _ok(_run("prepare_sr.sh", own, tmp_path / "d2", "x"))
    assert read_kv(tmp_path / "d2" / "x_pool" / "wav.scp") == read_kv(data / "sr_eval_pool" / "wav.scp")
    assert read_kv(tmp_path / "d2" / "x_enroll" / "wav.scp") == read_kv(data / "sr_eval_enroll" / "wav.scp")
    # A key naming a speaker that is no target: one line naming the file and line.
    (tmp_path / "sr_dev" / "pool.key").write_text("P000001 id99999\n")
    _one_error(_run("prepare_sr.sh", tmp_path / "sr_dev", tmp_path / "d3", "y"), "pool.key:1:", "id99999")
