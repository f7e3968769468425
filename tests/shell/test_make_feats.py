"""utils/make_fbank.sh, make_mfcc.sh, compute_vad_decision.sh, get_utt2dur.sh through subprocess,
on tiny data dirs with file paths, a sox pipe and segments."""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch

from pytorch.data.audio import PipeOutput, iter_data_dir
from pytorch.features import Fbank, Mfcc
from pytorch.features.ark import ArkScpWriter

ROOT = Path(__file__).resolve().parents[2]
UTILS = ROOT / "utils"
NEEDED = ["parse_options.sh", "run.pl", "split_data.sh"]
pytestmark = [
    pytest.mark.skipif(any(not (UTILS / f).exists() for f in NEEDED), reason="utils/ job tools not present"),
    pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed"),
]
RATE = 16000
FBANK = {"name": "fbank", "num_mel_bins": 40, "dither": 0.0}
MFCC = {"name": "mfcc", "num_mel_bins": 30, "num_ceps": 30, "high_freq": 7600, "snip_edges": False,
        "dither": 0.0}


def _env() -> dict:
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{UTILS}:{Path(sys.executable).parent}:{env['PATH']}"
    return env


def _run(*args, cwd, check=True) -> subprocess.CompletedProcess:
    p = subprocess.run(["bash", *map(str, args)], cwd=cwd, env=_env(), capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


def _data_dir(tmp: Path, name: str, spks=("spk1", "spk2"), per_spk=2, segments=False) -> Path:
    d = tmp / name
    d.mkdir()
    rng = np.random.default_rng(len(name))
    wav, utt2spk, segs = [], [], []
    for s in spks:
        for i in range(per_spk):
            utt = f"{s}-u{i}"
            path = tmp / f"{name}-{utt}.wav"
            sf.write(path, (rng.standard_normal(int(RATE * (0.5 + 0.1 * i))) * 2000).astype(np.int16), RATE)
            # The first recording of each speaker comes through a pipe, the others as file paths.
            wav.append(f"{utt} sox {path} -t wav - |" if i == 0 else f"{utt} {path}")
            if segments:
                segs += [f"{utt}-a {utt} 0.0 0.2", f"{utt}-b {utt} 0.2 0.45"]
                utt2spk += [f"{utt}-a {s}", f"{utt}-b {s}"]
            else:
                utt2spk.append(f"{utt} {s}")
    (d / "wav.scp").write_text("\n".join(sorted(wav)) + "\n")
    (d / "utt2spk").write_text("\n".join(sorted(utt2spk)) + "\n")
    spk2utt = {s: [u.split()[0] for u in sorted(utt2spk) if u.endswith(s)] for s in spks}
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in spk2utt.items()))
    if segments:
        (d / "segments").write_text("\n".join(sorted(segs)) + "\n")
    return d


def _conf(tmp: Path, name: str, cfg: dict) -> Path:
    p = tmp / "conf" / f"{name}.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text("".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in cfg.items()))
    return p


def _api_feats(d: Path, module) -> dict[str, np.ndarray]:
    return {u: module(torch.from_numpy(x)).numpy() for u, x, _ in iter_data_dir(d, RATE, int16_scale=True)}


def test_make_fbank_two_jobs_matches_python_api(tmp_path):
    torch.set_num_threads(1)
    d = _data_dir(tmp_path, "train")
    conf = _conf(tmp_path, "fbank", FBANK)
    _run(UTILS / "make_fbank.sh", "--nj", 2, "--fbank-config", conf, "--compress", "false", d, cwd=tmp_path)
    scp = kaldiio.load_scp(str(d / "feats.scp"))
    want = _api_feats(d, Fbank(**{k: v for k, v in FBANK.items() if k != "name"}))
    assert sorted(scp) == sorted(want) == [ln.split()[0] for ln in (d / "feats.scp").read_text().splitlines()]
    for utt, feats in want.items():
        np.testing.assert_allclose(scp[utt], feats, atol=1e-5)
    n2f = dict(ln.split() for ln in (d / "utt2num_frames").read_text().splitlines())
    assert n2f == {u: str(f.shape[0]) for u, f in want.items()}
    assert (d / "split2" / "1").is_dir() and list((d / "log").glob("make_fbank_train.*.log"))
    # Compressed (the default) stays close to the exact values.
    _run(UTILS / "make_fbank.sh", "--nj", 2, "--fbank-config", conf, d, d / "log", tmp_path / "fb",
         cwd=tmp_path)
    scp = kaldiio.load_scp(str(d / "feats.scp"))
    assert str(tmp_path / "fb") in (d / "feats.scp").read_text()
    for utt, feats in want.items():
        np.testing.assert_allclose(scp[utt], feats, atol=0.1)


def test_make_mfcc_with_segments_then_vad_and_utt2dur(tmp_path):
    torch.set_num_threads(1)
    d = _data_dir(tmp_path, "seg", segments=True)
    conf = _conf(tmp_path, "mfcc", MFCC)
    _run(UTILS / "make_mfcc.sh", "--nj", 2, "--mfcc-config", conf, "--compress", "false", d, cwd=tmp_path)
    scp = kaldiio.load_scp(str(d / "feats.scp"))
    want = _api_feats(d, Mfcc(**{k: v for k, v in MFCC.items() if k != "name"}))
    assert len(scp) == 8 and sorted(scp) == sorted(want)
    for utt, feats in want.items():
        np.testing.assert_allclose(scp[utt], feats, atol=1e-4)
    vad_conf = _conf(tmp_path, "vad", {"vad_energy_threshold": 5.5, "vad_proportion_threshold": 0.12,
                                       "vad_frames_context": 2})
    _run(UTILS / "compute_vad_decision.sh", "--nj", 2, "--vad-config", vad_conf, d, cwd=tmp_path)
    vad = kaldiio.load_scp(str(d / "vad.scp"))
    assert sorted(vad) == sorted(want)
    assert all(vad[u].shape == (want[u].shape[0],) and set(np.unique(vad[u])) <= {0.0, 1.0} for u in vad)
    _run(UTILS / "get_utt2dur.sh", d, cwd=tmp_path)
    dur = dict(ln.split() for ln in (d / "utt2dur").read_text().splitlines())
    assert dur["spk1-u0-a"] == "0.2" and dur["spk2-u1-b"] == "0.25"


def test_get_utt2dur_runs_pipes_in_jobs(tmp_path):
    d = _data_dir(tmp_path, "dur")
    _run(UTILS / "get_utt2dur.sh", "--nj", 2, d, cwd=tmp_path)
    dur = dict(ln.split() for ln in (d / "utt2dur").read_text().splitlines())
    assert dur == {"spk1-u0": "0.5", "spk1-u1": "0.6", "spk2-u0": "0.5", "spk2-u1": "0.6"}


def test_missing_wav_fails_without_feats_scp(tmp_path):
    d = _data_dir(tmp_path, "bad")
    (d / "feats.scp").write_text("stale x.ark:1\n")  # an old result must not survive the failure
    lines = (d / "wav.scp").read_text().splitlines()
    lines[-1] = f"{lines[-1].split()[0]} {tmp_path}/gone.wav"
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    conf = _conf(tmp_path, "fbank", FBANK)
    p = _run(UTILS / "make_fbank.sh", "--nj", 2, "--fbank-config", conf, d, cwd=tmp_path, check=False)
    assert p.returncode != 0
    assert not (d / "feats.scp").exists() and not (d / "utt2num_frames").exists()
    logs = "".join(f.read_text() for f in (d / "log").glob("make_fbank_bad.*.log"))
    assert "utterance spk2-u1" in logs and f"{tmp_path}/gone.wav" in logs
    assert "spk2-u1" in p.stderr and "gone.wav" in p.stderr


@contextlib.contextmanager
def _lock_held(d: Path) -> Iterator[None]:
    """Holds <d>/.lock as another running make_feats would."""
    with open(d / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


@pytest.mark.parametrize("tool", ["make_fbank.sh", "compute_vad_decision.sh"])
def test_second_run_on_same_data_dir_is_refused(tmp_path, tool):
    d = _data_dir(tmp_path, "train")
    fb = _conf(tmp_path, "fbank", FBANK)
    vad = _conf(tmp_path, "vad", {"vad_energy_threshold": 5.5})
    if tool == "compute_vad_decision.sh":
        _run(UTILS / "make_fbank.sh", "--nj", 1, "--fbank-config", fb, d, cwd=tmp_path)
    opts = ["--fbank-config", fb] if tool == "make_fbank.sh" else ["--vad-config", vad]
    out = "feats.scp" if tool == "make_fbank.sh" else "vad.scp"
    before = (d / out).read_text() if (d / out).exists() else None
    with _lock_held(d):
        p = _run(UTILS / tool, "--nj", 2, *opts, d, cwd=tmp_path, check=False)
    assert p.returncode == 1 and f"another run is writing to {d}" in p.stderr
    # The refused run touched nothing: the running one's outputs and split dirs are intact.
    assert ((d / out).read_text() if (d / out).exists() else None) == before
    assert not (d / "split2").exists()
    _run(UTILS / tool, "--nj", 2, *opts, d, cwd=tmp_path)
    assert (d / out).exists()


def test_two_concurrent_runs_one_refused_output_intact(tmp_path):
    d = _data_dir(tmp_path, "train")
    conf = _conf(tmp_path, "fbank", FBANK)
    args = ["bash", str(UTILS / "make_fbank.sh"), "--nj", "2", "--fbank-config", str(conf), str(d)]
    procs = [subprocess.Popen(args, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 1], results
    assert any("another run is writing" in err for rc, err in results if rc == 1)
    assert len(kaldiio.load_scp(str(d / "feats.scp"))) == 4


def test_temp_arks_of_killed_jobs_are_removed_at_next_run(tmp_path):
    d = _data_dir(tmp_path, "train")
    conf = _conf(tmp_path, "fbank", FBANK)
    fb = tmp_path / "fb"
    fb.mkdir()
    stale = [ArkScpWriter(fb / f"raw_fbank_train.{j}.ark", fb / f"raw_fbank_train.{j}.scp", compress=True)
             for j in (1, 2)]
    stale = [stale[0].ark_tmp, stale[1].scp_tmp, stale[1].spill]   # the names compute_feats' jobs write
    other = fb / ".raw_fbank_test.1.ark.12347.tmp"  # another data dir's step: not ours to remove
    for f in (*stale, other):
        f.write_text("partial")
    # and the temporary copy of a pipe's output that job 1 (pytorch.bin.compute_feats) was reading
    pipes = PipeOutput(fb, prefix=".raw_fbank_train.1.ark.")
    stale.append(Path(pipes.path(f"cat {tmp_path / 'train-spk1-u1.wav'} |", "spk1-u1")))
    pipes._finalizer.detach()   # killed: nothing removes it
    _run(UTILS / "make_fbank.sh", "--nj", 2, "--fbank-config", conf, d, d / "log", fb, cwd=tmp_path)
    assert not any(f.exists() for f in stale) and other.exists()


def test_fewer_than_95_percent_leaves_no_feats_scp(tmp_path):
    d = _data_dir(tmp_path, "train")
    conf = _conf(tmp_path, "fbank", FBANK)
    # A $cmd whose jobs "succeed" but lose utterances (as a broken cluster filesystem would).
    lossy = tmp_path / "lossy.sh"
    lossy.write_text(f'#!/bin/bash\nrun.pl "$@" || exit 1\nsed -i 1d {tmp_path}/fb/raw_fbank_train.2.scp\n')
    lossy.chmod(0o755)
    p = _run(UTILS / "make_fbank.sh", "--nj", 2, "--cmd", lossy, "--fbank-config", conf, d, d / "log",
             tmp_path / "fb", cwd=tmp_path, check=False)
    assert p.returncode == 1 and "less than 95%" in p.stderr
    assert not (d / "feats.scp").exists() and not (d / "utt2num_frames").exists()
    assert not list(d.glob(".*.tmp"))


def test_data_dir_is_validated_before_any_job(tmp_path):
    d = _data_dir(tmp_path, "train")
    (d / "wav.scp").write_text("".join(ln + "\n" for ln in (d / "wav.scp").read_text().splitlines()[1:]))
    conf = _conf(tmp_path, "fbank", FBANK)
    p = _run(UTILS / "make_fbank.sh", "--nj", 2, "--fbank-config", conf, d, cwd=tmp_path, check=False)
    assert p.returncode == 1 and "validate_data_dir.sh: error" in p.stderr and "wav.scp" in p.stderr
    assert not list((d / "log").glob("*.log")) and not (d / "split2").exists()
