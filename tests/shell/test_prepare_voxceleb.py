"""local/voxceleb/prepare_data.sh on fake VoxCeleb trees that copy the real layouts (tests/recipes/fake_corpora.py,
docs/data_formats.md §1-2): id scheme, both VoxCeleb1 layouts, VoxCeleb2 m4a and converted wav, trial counts,
and the failure paths (each one clear line; nothing written; the rerun after the fix succeeds)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from common.io import read_kv, read_spk2utt
from pytorch.data.audio import read_audio
from tests.recipes.fake_corpora import make_fake_voxceleb, truncate, write_ffmpeg_shim

ROOT = Path(__file__).resolve().parents[2]
PREP = ROOT / "local" / "voxceleb" / "prepare_data.sh"


def _run(*args, bindir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    # A PATH without any real ffmpeg, so the m4a checks do not depend on the machine.
    env["PATH"] = os.pathsep.join(([str(bindir)] if bindir else []) + [str(Path(sys.executable).parent),
                                                                       "/usr/bin", "/bin"])
    return subprocess.run(["bash", str(PREP), *map(str, args)], env=env, capture_output=True, text=True)


def _ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def _one_error(p: subprocess.CompletedProcess, *words: str) -> str:
    assert p.returncode != 0, p.stdout
    errs = [ln for ln in p.stderr.splitlines() if "error" in ln.lower() or ln.startswith(str(PREP))]
    assert len(errs) == 1, p.stderr
    for w in words:
        assert w in errs[0], errs[0]
    return errs[0]


def _trials(path: Path) -> list[list[str]]:
    return [ln.split() for ln in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return make_fake_voxceleb(tmp_path_factory.mktemp("vox") / "corpora", vox2_format="m4a")


def test_split_layout_m4a(fake, tmp_path):
    shim = tmp_path / "bin"
    write_ffmpeg_shim(shim)
    data = tmp_path / "data"
    p = _ok(_run("--vox2-root", fake.vox2_root, fake.vox1_root, data, bindir=shim))
    for name in ("vox1_dev", "vox1_test", "vox2_dev"):
        u2s = read_kv(data / name / "utt2spk")
        assert sorted(u2s) == fake.utts[name]
        # Kaldi ids <spk>-<ytid>-<NNNNN>; the speaker is the first 7 characters whatever the ytid holds.
        assert all(s == u[:7] and len(u) == 7 + 1 + 11 + 1 + 5 for u, s in u2s.items())
        assert set(read_spk2utt(data / name / "spk2utt")) == {u[:7] for u in fake.utts[name]}
    allv1 = read_kv(data / "vox1" / "utt2spk")
    assert sorted(allv1) == sorted(fake.utts["vox1_dev"] + fake.utts["vox1_test"])
    assert "id10270-na8-QEFmj44-00004" in allv1          # a '-' inside the YouTube id survives
    for name, want in fake.trials.items():
        rows = _trials(data / "vox1" / "trials" / name)
        assert Counter(r[2] for r in rows) == want
        assert all(r[0] in allv1 and r[1] in allv1 for r in rows)
        assert all((r[0][:7] == r[1][:7]) == (r[2] == "target") for r in rows)
    assert all(r[0] in fake.utts["vox1_test"] and r[1] in fake.utts["vox1_test"]
               for r in _trials(data / "vox1" / "trials" / "vox1_O"))
    # m4a -> ffmpeg pipe; through the shim it decodes like the wav it holds.
    scp = read_kv(data / "vox2_dev" / "wav.scp")
    u, spec = next(iter(scp.items()))
    assert spec.startswith("ffmpeg -v 8 -i /") and spec.endswith("-f wav -acodec pcm_s16le - |")
    os.environ["PATH"] = f"{shim}{os.pathsep}{os.environ['PATH']}"
    try:
        x, rate = read_audio(spec, u)
    finally:
        os.environ["PATH"] = os.environ["PATH"].split(os.pathsep, 1)[1]
    assert rate == 16000 and len(x) > 8000
    assert "the full release has speakers=1,211" in p.stderr   # a partial copy is reported, not refused
    assert not [f for f in os.listdir(data) if f.startswith(".")]   # no temp dirs left


def test_combined_layout_and_converted_vox2(tmp_path):
    fk = make_fake_voxceleb(tmp_path / "c", layout="combined", vox2_format="wav", n_dev=2, n_test=2, n_vox2=2)
    split = make_fake_voxceleb(tmp_path / "s", vox2_format="wav-aac", n_dev=2, n_test=2, n_vox2=2)
    _ok(_run("--vox2-root", fk.vox2_root, fk.vox1_root, tmp_path / "dc"))
    _ok(_run("--vox2-root", split.vox2_root, split.vox1_root, tmp_path / "ds"))
    for name in ("vox1_dev", "vox1_test", "vox1", "vox2_dev"):
        assert read_kv(tmp_path / "dc" / name / "utt2spk") == read_kv(tmp_path / "ds" / name / "utt2spk")
    assert (tmp_path / "dc" / "vox1" / "trials" / "vox1_O").read_text() == \
        (tmp_path / "ds" / "vox1" / "trials" / "vox1_O").read_text()
    assert all(v.endswith(".wav") for v in read_kv(tmp_path / "dc" / "vox2_dev" / "wav.scp").values())
    assert "/dev/aac/" in next(iter(read_kv(tmp_path / "ds" / "vox2_dev" / "wav.scp").values()))
    # Without vox1_meta.csv the combined tree is split by the Vox1-O speakers.
    (fk.meta_dir / "vox1_meta.csv").unlink()
    _ok(_run(fk.vox1_root, tmp_path / "dn"))
    assert read_kv(tmp_path / "dn" / "vox1_test" / "utt2spk") == read_kv(tmp_path / "ds" / "vox1_test" / "utt2spk")


def test_test_only_skips_e_and_h(fake, tmp_path):
    root = tmp_path / "voxceleb1"
    shutil.copytree(fake.vox1_root, root)
    shutil.rmtree(root / "dev")
    p = _ok(_run(root, tmp_path / "data"))
    assert sorted(os.listdir(tmp_path / "data" / "vox1" / "trials")) == ["vox1_O"]
    assert "vox1_E: skipped" in p.stderr and not (tmp_path / "data" / "vox1_dev").exists()


def test_failures_one_line_then_rerun(fake, tmp_path):
    data = tmp_path / "data"
    _one_error(_run(tmp_path / "nowhere", data), "nowhere", "no such directory")
    root = tmp_path / "voxceleb1"
    shutil.copytree(fake.vox1_root, root)
    # A trial naming an utterance that is not in the corpus: the list file and line are named.
    gone = root / "test" / "wav" / "id10271"
    shutil.move(gone, tmp_path / "moved")
    err = _one_error(_run(root, data), "veri_test2.txt:", "is not in the VoxCeleb1 audio")
    assert "id10271/" in err
    assert not data.exists()                       # nothing written before everything is checked
    shutil.move(tmp_path / "moved", gone)
    # A truncated wav.
    victim = sorted((root / "dev" / "wav").rglob("*.wav"))[0]
    keep = victim.read_bytes()
    truncate(victim)
    _one_error(_run(root, data), str(victim), "truncated")
    assert not data.exists()
    victim.write_bytes(keep)
    # No Vox1-O list.
    (root / "veri_test2.txt").rename(root / "x.txt")
    _one_error(_run(root, data), "veri_test2.txt", "--meta-dir")
    (root / "x.txt").rename(root / "veri_test2.txt")
    # m4a without ffmpeg.
    _one_error(_run("--vox2-root", fake.vox2_root, root, data), "ffmpeg is not on PATH")
    # Fixed: the rerun succeeds.
    _ok(_run(root, data))
    assert (data / "vox1" / "trials" / "vox1_H").exists()
