"""egs/voxceleb stages 0-9 on a fake VoxCeleb tree (tests/recipes/fake_corpora.py, VoxCeleb2 as m4a read
through an ffmpeg pipe) with a tiny wave-mode ECAPA-TDNN on CPU: the piped VoxCeleb2 recordings are decoded
once to FLAC and trained on from there; Vox1-O/E/H utterance-vs-utterance scoring through the shared stages,
one results row per trial list x back-end; a rerun reuses the model and the decoded audio; a missing corpus
root is one clear line."""
from __future__ import annotations

import os

import pytest

from common.io import read_kv
from pytorch.data.audio import read_audio
from tests.recipes.fake_corpora import make_fake_voxceleb, write_ffmpeg_shim
from tests.recipes.recipe_run import lines, recipe_copy, run_recipe, tiny_config

LISTS = ("vox1_O", "vox1_E", "vox1_H")
TINY_ECAPA = {"name": "ecapa_tdnn", "feat_dim": 80, "channels": 32, "embed_dim": 16, "scale": 4,
              "dilations": [2, 3, 4], "mfa_channels": 96, "se_bottleneck": 16,
              "pooling": {"name": "asp", "hidden": 16, "global_context": True}}


@pytest.fixture(scope="module")
def vox(tmp_path_factory):
    base = tmp_path_factory.mktemp("vox")
    fake = make_fake_voxceleb(base / "corpora", vox2_format="m4a")
    write_ffmpeg_shim(base / "bin")
    d = recipe_copy("voxceleb", "voxceleb", base / "recipe")
    tiny_config(d / "conf" / "ecapa_c512.yaml", d / "conf" / "tiny_ecapa.yaml", TINY_ECAPA)
    opts = ["--vox1-root", fake.vox1_root, "--vox2-root", fake.vox2_root, "--meta-dir", fake.meta_dir,
            "--nj", "1", "--gpus", "0", "--configs", "conf/tiny_ecapa.yaml"]
    return d, fake, opts, run_recipe(d, *opts, bindir=base / "bin")


@pytest.mark.slow
def test_voxceleb_stages_0_to_9(vox, monkeypatch):
    d, fake, opts, r = vox
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for t in LISTS:
        trials = lines(d / "data" / "vox1" / "trials" / t)
        assert len(trials) == sum(fake.trials[t].values())
        # utterance against utterance: both sides are VoxCeleb1 utterance ids (the speaker = 7 characters)
        assert all(len(x.split()[0]) > 7 and x.split()[0][:7] == x.split()[0].split("-")[0] for x in trials)
    exp = d / "exp" / "tiny_ecapa"
    rows = [x.split("\t") for x in lines(exp / "results.tsv")[1:]]
    assert [(x[3], x[1]) for x in rows] == [(t, b) for t in LISTS
                                            for b in ("cosine", "cosine", "mean-lda3-lnorm-plda",
                                                      "mean-lda3-lnorm-plda")]
    n_vox1 = len(fake.utts["vox1_dev"]) + len(fake.utts["vox1_test"])
    assert len(lines(exp / "embeddings" / "vox1" / "xvector.scp")) == n_vox1
    table = (d / "exp" / "RESULTS.md").read_text()
    assert all(t in table for t in LISTS) and "tiny_ecapa" in table
    assert (d / "exp" / "det_vox1_H_plda.png").stat().st_size > 1000

    # VoxCeleb2 came as ffmpeg pipes; training and the cohort read the FLAC files decoded from them.
    piped, decoded = (read_kv(d / "data" / s / "wav.scp") for s in ("vox2_dev", "vox2_dev_flac"))
    assert sorted(piped) == sorted(decoded) == fake.utts["vox2_dev"]
    assert all(v.startswith("ffmpeg ") and v.endswith("|") for v in piped.values())
    assert all(v == str((d / "audio" / "vox2_dev" / f"{k}.flac").resolve()) for k, v in decoded.items())
    monkeypatch.setenv("PATH", f"{d.parent / 'bin'}{os.pathsep}{os.environ['PATH']}")   # the ffmpeg shim
    for k in list(piped)[:3]:
        assert (read_audio(piped[k], k)[0] == read_audio(decoded[k], k)[0]).all()
    assert len(lines(exp / "embeddings" / "vox2_dev_flac" / "xvector.scp")) == len(piped)
    durs = read_kv(d / "data" / "vox2_dev_flac" / "utt2dur")    # from the FLAC headers (the fake utterances: 1 s)
    assert sorted(durs) == sorted(piped) and {float(v) for v in durs.values()} == {1.0}

    # A rerun of stages 0-5 finds them done: no prep, no decoding, no training, no extraction.
    keep = [exp / "models" / "avg.ts.pt", exp / "embeddings" / "vox1" / "xvector.scp", d / "data" / ".prepared",
            d / "data" / "vox2_dev_flac" / "wav.scp"]
    stamps = [p.stat().st_mtime for p in keep]
    r = run_recipe(d, *opts, "--stop-stage", "5", bindir=d.parent / "bin")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert stamps == [p.stat().st_mtime for p in keep]


def test_voxceleb_missing_root(tmp_path):
    d = recipe_copy("voxceleb", "voxceleb", tmp_path / "recipe")
    r = run_recipe(d, "--vox1-root", tmp_path / "nowhere", "--vox2-root", tmp_path)
    assert r.returncode != 0
    assert f"--vox1-root '{tmp_path / 'nowhere'}' is not a directory" in r.stderr
    assert not (d / "data" / ".prepared").exists()
    r = run_recipe(d, "--vox1-root", tmp_path)     # VoxCeleb2 dev is the default training set
    assert r.returncode != 0 and "--vox2-root '' is not a directory" in r.stderr
