"""local/musan/prepare_data.sh and local/rirs/prepare_data.sh on fake trees that copy the real
MUSAN / RIRS_NOISES layouts file for file (docs/data_formats.md sections 8 and 9)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from common.io import read_kv
from pytorch.data.audio import SourceLoader
from pytorch.data.augment import Augmenter, AugmentSources
from pytorch.data.options import augment_options
from pytorch.data.sources import load_sources

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (ROOT / "utils" / "parse_options.sh").exists(),
                                reason="utils/parse_options.sh not present")
RATE = 16000


def _wav(path: Path, seconds: float, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(len(str(path))).standard_normal((int(seconds * RATE), channels)) * 0.1
    sf.write(path, x.astype(np.float32), RATE, subtype="PCM_16")


def _run(*args, check=True):
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{ROOT / 'utils'}:{Path(sys.executable).parent}:{env['PATH']}"
    p = subprocess.run(["bash", *map(str, args)], env=env, capture_output=True, text=True)
    if check and p.returncode:
        raise AssertionError(f"rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _musan(root: Path) -> Path:
    m = root / "musan"
    music = {"fma": "music-fma", "fma-western-art": "music-fma-wa", "hd-classical": "music-hd",
             "jamendo": "music-jamendo", "rfm": "music-rfm"}
    for sub, infix in music.items():
        for i in range(2):
            _wav(m / "music" / sub / f"{infix}-{i:04d}.wav", 0.3)
        # Second file of jamendo has vocals; rfm's second file is not annotated (Kaldi drops it).
        lines = [f"{infix}-0000 classical N Some_Artist\n"]
        if sub != "rfm":
            lines.append(f"{infix}-0001 pop,rock {'Y' if sub == 'jamendo' else 'N'} Other\n")
        (m / "music" / sub / "ANNOTATIONS").write_text("".join(lines))
        (m / "music" / sub / "LICENSE").write_text("license\n")
    for sub, n in (("free-sound", 3), ("sound-bible", 2)):
        for i in range(n):
            _wav(m / "noise" / sub / f"noise-{sub}-{i:04d}.wav", 0.25 + 0.05 * i)
        (m / "noise" / sub / "LICENSE").write_text("license\n")
    for sub in ("librivox", "us-gov"):
        for i in range(2):
            _wav(m / "speech" / sub / f"speech-{sub}-{i:04d}.wav", 0.4)
    (m / "speech" / "librivox" / "ANNOTATIONS").write_text(
        "speech-librivox-0000 m english\nspeech-librivox-0001 f english\n")
    return m


def test_musan_dirs_follow_kaldi_make_musan(tmp_path):
    musan = _musan(tmp_path)
    data = tmp_path / "data"
    _run(ROOT / "local/musan/prepare_data.sh", musan, data)
    noise = read_kv(data / "musan_noise/wav.scp")
    assert sorted(noise) == ["noise-free-sound-0000", "noise-free-sound-0001", "noise-free-sound-0002",
                             "noise-sound-bible-0000", "noise-sound-bible-0001"]
    want = musan.resolve() / "noise/sound-bible/noise-sound-bible-0001.wav"
    assert noise["noise-sound-bible-0001"] == str(want)
    music = read_kv(data / "musan_music/wav.scp")
    assert "music-rfm-0001" not in music            # not in ANNOTATIONS
    assert "music-jamendo-0001" in music            # vocals kept by default (Kaldi's default)
    assert "music-fma-wa-0001" in music and len(music) == 9
    speech = read_kv(data / "musan_speech/wav.scp")
    assert sorted(speech) == ["speech-librivox-0000", "speech-librivox-0001", "speech-us-gov-0000",
                              "speech-us-gov-0001"]     # us-gov has no ANNOTATIONS and is kept
    for d in ("musan_noise", "musan_music", "musan_speech"):
        u2s = read_kv(data / d / "utt2spk")
        assert all(u == s for u, s in u2s.items()) and read_kv(data / d / "spk2utt") == u2s
        assert list(u2s) == sorted(u2s)
    dur = read_kv(data / "musan_noise/utt2dur")
    assert float(dur["noise-free-sound-0002"]) == pytest.approx(0.35)
    assert not list(data.glob(".musan*"))

    _run(ROOT / "local/musan/prepare_data.sh", "--use-vocals", "false", "--sampling-rate", "8000",
         musan, data)
    music = read_kv(data / "musan_music/wav.scp")
    assert "music-jamendo-0001" not in music and len(music) == 8
    assert music["music-fma-0000"].startswith("sox -t wav ")
    assert music["music-fma-0000"].endswith("-r 8000 -t wav - |")
    assert float(read_kv(data / "musan_music/utt2dur")["music-fma-0000"]) == pytest.approx(0.3)

    p = _run(ROOT / "local/musan/prepare_data.sh", tmp_path / "nowhere", data, check=False)
    assert p.returncode != 0 and "music" in p.stderr


def _rirs(root: Path) -> Path:
    r = root / "RIRS_NOISES"
    short = {"smallroom": "small", "mediumroom": "medium", "largeroom": "large"}
    for size in ("smallroom", "mediumroom", "largeroom"):
        lines = []
        for room in (1, 2):
            for k in (1, 2):
                rel = f"simulated_rirs/{size}/Room{room:03d}/Room{room:03d}-{k:05d}.wav"
                _wav(r / rel, 0.05)
                rid = f"{short[size]}-Room{room:03d}"
                lines.append(f"--rir-id {rid}-{k:05d} --room-id {rid} RIRS_NOISES/{rel}\n")
        (r / "simulated_rirs" / size / "rir_list").write_text("".join(lines))
    real = r / "real_rirs_isotropic_noises"
    _wav(real / "air_type1_air_binaural_stairway_1_1_90.wav", 0.06)
    _wav(real / "RWCP_type4_rir_p70r.wav", 0.06, channels=2)
    _wav(real / "RVB2014_type1_rir_largeroom1_1.wav", 0.06)
    _wav(real / "RVB2014_type1_noise_largeroom1_1.wav", 0.2)
    (real / "rir_list").write_text(
        "--rir-id 00001 --room-id air_type1_air_binaural_stairway "
        "RIRS_NOISES/real_rirs_isotropic_noises/air_type1_air_binaural_stairway_1_1_90.wav\n"
        "--rir-id 00002 --room-id RWCP_type4_rir "
        "RIRS_NOISES/real_rirs_isotropic_noises/RWCP_type4_rir_p70r.wav\n"
        "--rir-id 00003 --room-id RVB2014_type1_rir_largeroom1 "
        "RIRS_NOISES/real_rirs_isotropic_noises/RVB2014_type1_rir_largeroom1_1.wav\n")
    (real / "noise_list").write_text(
        "--noise-id 00001 --noise-type isotropic --room-linkage RVB2014_type1_rir_largeroom1 "
        "RIRS_NOISES/real_rirs_isotropic_noises/RVB2014_type1_noise_largeroom1_1.wav\n")
    _wav(r / "pointsource_noises" / "noise-free-sound-0000.wav", 0.2)
    (r / "pointsource_noises" / "noise_list").write_text(
        "--noise-id noise-free-sound-0000 --noise-type point-source --bg-fg-type foreground "
        "RIRS_NOISES/pointsource_noises/noise-free-sound-0000.wav\n")
    return r


def test_rirs_dir_has_small_medium_and_real_rirs(tmp_path):
    rirs = _rirs(tmp_path / "corpora")
    out = tmp_path / "data" / "rirs"
    _run(ROOT / "local/rirs/prepare_data.sh", rirs, out)
    wav = read_kv(out / "wav.scp")
    assert len(wav) == 4 + 4 + 3
    # Basenames collide across sizes; the ids do not.
    assert wav["smallroom-Room001-00001"].endswith("simulated_rirs/smallroom/Room001/Room001-00001.wav")
    assert wav["mediumroom-Room001-00001"].endswith("simulated_rirs/mediumroom/Room001/Room001-00001.wav")
    assert "real-RWCP_type4_rir_p70r" in wav and not any(k.startswith("largeroom") for k in wav)
    assert all(Path(p).is_file() for p in wav.values()) and list(wav) == sorted(wav)
    assert not any("noise" in k for k in wav)  # isotropic / point-source noises are not RIRs
    assert float(read_kv(out / "utt2dur")["real-RWCP_type4_rir_p70r"]) == pytest.approx(0.06)

    # The prepared dirs drive the augmenter (the 2-channel RIR is read as its first channel).
    musan = _musan(tmp_path)
    _run(ROOT / "local/musan/prepare_data.sh", musan, tmp_path / "data")
    opts = augment_options({"reverb": {"data": str(out), "prob": 0.5},
                            "babble": {"data": str(tmp_path / "data/musan_speech"), "prob": 0.5}})
    srcs = AugmentSources([], [], load_sources(opts.babble.data, RATE, "babble"),
                          load_sources(opts.reverb.data, RATE, "reverb"))
    assert srcs.reverb[0].num_samples == int(0.05 * RATE)
    aug = Augmenter(opts, srcs, SourceLoader(RATE))
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(12):
        out_wave, kind = aug(np.random.default_rng(1).standard_normal(3000).astype(np.float32), rng)
        assert out_wave.shape == (3000,) and np.isfinite(out_wave).all()
        kinds.add(kind)
    assert kinds == {"reverb", "babble"}

    _run(ROOT / "local/rirs/prepare_data.sh", "--sets", "largeroom", rirs, tmp_path / "large")
    assert len(read_kv(tmp_path / "large/wav.scp")) == 4
    (rirs / "simulated_rirs/mediumroom/Room002/Room002-00002.wav").unlink()
    p = _run(ROOT / "local/rirs/prepare_data.sh", rirs, tmp_path / "bad", check=False)
    assert p.returncode != 0 and "mediumroom/rir_list:4" in p.stderr and "Room002-00002.wav" in p.stderr
    assert not (tmp_path / "bad").exists()


def test_rirs_pointsource_noises(tmp_path):
    rirs = _rirs(tmp_path / "corpora")
    _run(ROOT / "local/rirs/prepare_data.sh", "--sets", "smallroom", "--pointsource-noises",
         tmp_path / "data" / "rirs_noises", rirs, tmp_path / "data" / "rirs")
    wav = read_kv(tmp_path / "data" / "rirs_noises" / "wav.scp")
    # Prefixed: the file names are MUSAN's free-sound names (data_formats.md §9.1).
    assert list(wav) == ["pointsource-noise-free-sound-0000"]
    assert wav["pointsource-noise-free-sound-0000"].endswith("RIRS_NOISES/pointsource_noises/noise-free-sound-0000.wav")
    assert len(read_kv(tmp_path / "data" / "rirs" / "wav.scp")) == 4
    (rirs / "pointsource_noises" / "noise-free-sound-0000.wav").unlink()
    p = _run(ROOT / "local/rirs/prepare_data.sh", "--pointsource-noises", tmp_path / "n2", rirs, tmp_path / "r2",
             check=False)
    assert p.returncode != 0 and "pointsource_noises/noise_list:1" in p.stderr and not (tmp_path / "n2").exists()


def test_stage_augsets_skips_finished_work_and_leaves_no_marker_on_failure(tmp_path):
    """utils/stages/augsets.sh (recipe stage 2) runs both preps, then redoes nothing on a rerun; a changed root
    or a missing dir redoes that corpus alone; a failed prep leaves no marker and the rerun after the fix
    completes."""
    musan, rirs = _musan(tmp_path / "corpora"), _rirs(tmp_path / "corpora")
    data = tmp_path / "data"
    stage = ROOT / "utils" / "stages" / "augsets.sh"
    dirs = ("musan_noise", "musan_music", "musan_speech", "rirs")

    def run(rirs_root: Path, check: bool = True) -> subprocess.CompletedProcess:
        return _run(stage, "--musan-root", musan, "--rirs-root", rirs_root, data, check=check)

    def stamps() -> dict[str, int]:
        return {d: (data / d / "wav.scp").stat().st_mtime_ns for d in dirs}

    p = run(rirs)
    assert "musan/prepare_data.sh" in p.stdout and "rirs/prepare_data.sh" in p.stdout
    assert len(read_kv(data / "musan_noise/wav.scp")) == 5 and len(read_kv(data / "rirs/wav.scp")) == 11
    assert (data / ".prepared_musan").read_text() == f"{musan}\n"
    before = stamps()
    p = run(rirs)
    assert "prepare_data.sh" not in p.stdout and stamps() == before
    assert "stage 2: augmentation data dirs" in p.stdout

    other = tmp_path / "other" / "RIRS_NOISES"
    other.parent.mkdir()
    os.symlink(rirs, other)
    p = run(other)
    assert "musan/prepare_data.sh" not in p.stdout and "rirs/prepare_data.sh" in p.stdout
    assert (data / ".prepared_rirs").read_text() == f"{other}\n"
    (data / "musan_music/wav.scp").unlink()
    p = run(other)
    assert "musan/prepare_data.sh" in p.stdout and "rirs/prepare_data.sh" not in p.stdout
    assert len(read_kv(data / "musan_music/wav.scp")) == 9

    gone = rirs / "simulated_rirs/smallroom/Room001/Room001-00002.wav"
    gone.unlink()
    p = run(rirs, check=False)
    assert p.returncode != 0 and "Room001-00002.wav" in p.stderr
    assert not (data / ".prepared_rirs").exists() and (data / ".prepared_musan").exists()
    _wav(gone, 0.05)
    run(rirs)
    assert (data / ".prepared_rirs").read_text() == f"{rirs}\n"

    p = _run(stage, tmp_path / "data2")
    assert "no --musan-root / --rirs-root" in p.stdout and not (tmp_path / "data2").exists()
