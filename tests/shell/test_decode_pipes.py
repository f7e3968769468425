"""utils/decode_pipes.sh through subprocess: a data dir with sox pipes, a plain file and segments
becomes a copy that reads FLAC files with the same samples; a rerun decodes nothing again; a failing
pipe leaves no dest dir; dest = src is refused."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from common.io import read_kv
from pytorch.data.audio import PipeOutput, iter_data_dir

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
RATE = 16000


def _run(*args, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{ROOT / 'utils'}:{Path(sys.executable).parent}:{env['PATH']}"
    return subprocess.run(["bash", str(ROOT / "utils" / "decode_pipes.sh"), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True)


def _data_dir(tmp: Path) -> Path:
    """Recordings r0-r2 through sox pipes, r3 a file; two segments per recording."""
    d = tmp / "data" / "src"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    wav, segs, u2s = [], [], []
    for r in range(4):
        path = tmp / f"r{r}.wav"
        sf.write(path, (rng.standard_normal(RATE * 2) * 2000).astype(np.int16), RATE)
        wav.append(f"r{r} sox {path} -t wav - |" if r < 3 else f"r{r} {path}")
        for k in range(2):
            segs.append(f"spk{r % 2}-r{r}-{k} r{r} {0.9 * k:.1f} {0.9 * k + 1.0:.1f}")
            u2s.append(f"spk{r % 2}-r{r}-{k} spk{r % 2}")
    (d / "wav.scp").write_text("\n".join(wav) + "\n")
    (d / "segments").write_text("\n".join(sorted(segs)) + "\n")
    (d / "utt2spk").write_text("\n".join(sorted(u2s)) + "\n")
    spk2utt: dict[str, list[str]] = {}
    for line in sorted(u2s):
        u, s = line.split()
        spk2utt.setdefault(s, []).append(u)
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    return d


def test_decoded_copy_reads_the_same_samples_and_a_rerun_keeps_it(tmp_path):
    src = _data_dir(tmp_path)
    # What a killed earlier run left in the audio dir: a pipe's output and a half-written FLAC.
    (tmp_path / "audio").mkdir()
    pipes = PipeOutput(tmp_path / "audio", prefix=".decode-pipe.")
    stale = [Path(pipes.path(f"sox {tmp_path / 'r0.wav'} -t wav - |", "r0")), tmp_path / "audio" / ".r1.flac.999.tmp"]
    pipes._finalizer.detach()
    stale[1].write_text("partial")
    r = _run("--nj", "3", "data/src", "audio", "data/flac", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    dest = tmp_path / "data" / "flac"
    wav = read_kv(dest / "wav.scp")
    assert sorted(wav) == ["r0", "r1", "r2", "r3"]
    assert [wav[f"r{i}"] for i in range(3)] == [str(tmp_path / "audio" / f"r{i}.flac") for i in range(3)]
    assert wav["r3"] == str(tmp_path / "r3.wav")
    for f in ("segments", "utt2spk", "spk2utt"):
        assert (dest / f).read_text() == (src / f).read_text()
    assert (dest / "utt2dur").read_text().split() == [x for ln in (src / "segments").read_text().splitlines()
                                                      for x in (ln.split()[0], "1.0")]
    before = list(iter_data_dir(src))
    after = list(iter_data_dir(dest))
    assert [u for u, _, _ in after] == [u for u, _, _ in before]
    for (_, x, _), (_, y, _) in zip(before, after):
        np.testing.assert_array_equal(x, y)
    assert not [p for p in os.listdir(tmp_path / "data") if p.startswith(".")]   # no temp dir left
    assert not any(p.exists() for p in stale)

    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "audio").glob("*.flac")}
    r = _run("--nj", "2", "data/src", "audio", "data/flac", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "audio").glob("*.flac")} == stamps
    assert "decoded 0 pipes" in (tmp_path / "audio" / "log" / "decode.1.log").read_text()


def test_failing_pipe_leaves_no_dest_and_same_dir_is_refused(tmp_path):
    src = _data_dir(tmp_path)
    wav = (src / "wav.scp").read_text().replace(f"sox {tmp_path / 'r1.wav'}", f"sox {tmp_path / 'missing.wav'}")
    (src / "wav.scp").write_text(wav)
    r = _run("--nj", "2", "data/src", "audio", "data/flac", cwd=tmp_path)
    assert r.returncode != 0
    assert "error decoding the pipes of data/src" in r.stderr and "r1" in r.stderr
    assert not (tmp_path / "data" / "flac").exists()
    assert not [p for p in os.listdir(tmp_path / "audio") if p.endswith(".tmp") or p.startswith(".decode")]
    r = _run("data/src", "audio", "data/src/", cwd=tmp_path)
    assert r.returncode != 0 and "are the same" in r.stderr
