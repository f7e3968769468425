"""egs/cnceleb stages 0-9 on fake CN-Celeb1/2 and CNSRC SR.dev trees (tests/recipes/fake_corpora.py) with a
tiny SE-ResNet on 81-dim fbank + VAD (the CNSRC baseline's front end) on CPU: speaker enrollment, per-genre
tables, the C-P map, the SR task's mAP; a truncated audio file stops stage 0 with a clear error and leaves
no marker, and the rerun after the fix completes."""
from __future__ import annotations

import shutil

import pytest

from tests.recipes.fake_corpora import make_fake_cnceleb, make_fake_sr, truncate
from tests.recipes.recipe_run import lines, recipe_copy, run_recipe, tiny_config

TINY_RESNET = {"name": "resnet", "feat_dim": 81, "depth": 10, "base_channels": 8, "se": True, "se_reduction": 4,
               "embed_dim": 32, "two_emb_layer": False, "pooling": {"name": "tsp"}, "head": "xvector",
               "embed_point": "near"}


@pytest.fixture(scope="module")
def cnc(tmp_path_factory):
    base = tmp_path_factory.mktemp("cnc")
    fake = make_fake_cnceleb(base / "corpora")
    sr = make_fake_sr(base / "corpora" / "Task2_dev")
    d = recipe_copy("cnceleb", "cnceleb", base / "recipe")
    tiny_config(d / "conf" / "resnet34se.yaml", d / "conf" / "tiny_resnet.yaml", TINY_RESNET)
    opts = ["--cnceleb1-root", fake.cn1_root, "--cnceleb2-root", fake.cn2_root, "--sr-dev-root", sr.root,
            "--nj", "1", "--gpus", "0", "--configs", "conf/tiny_resnet.yaml", "--cp-k", "3"]
    return d, fake, sr, run_recipe(d, *opts)


@pytest.mark.slow
def test_cnceleb_stages_0_to_9(cnc):
    d, fake, sr, r = cnc
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert len(lines(d / "data" / "eval_test" / "trials")) == sum(fake.trials.values())
    # stage 1: the feature-mode system's 81-dim fbank and VAD for every set it reads
    for s in ("cnceleb_train", "eval_enroll", "eval_test", "sr_dev_enroll", "sr_dev_pool"):
        assert (d / "data" / "fbank81" / s / "vad.scp").stat().st_size > 0, s
    exp = d / "exp" / "tiny_resnet"
    rows = [x.split("\t") for x in lines(exp / "results.tsv")[1:]]
    assert [(x[3], x[1], x[2]) for x in rows] == [("eval", "cosine", "none"), ("eval", "cosine", "asnorm3"),
                                                  ("eval", "mean-lda3-lnorm-plda", "none"),
                                                  ("eval", "mean-lda3-lnorm-plda", "asnorm3")]
    genre = (exp / "conditions" / "eval.cosine_asnorm.genre.md").read_text()
    assert all(g in genre for g in fake.test_genres)
    assert (exp / "conditions" / "eval.cosine.cp.png").stat().st_size > 1000
    sr_lines = lines(exp / "sr_dev.retrieval.txt")
    assert sr_lines[0].startswith("mAP=") and f"targets={len(sr.targets)}" in sr_lines[0]
    assert len(sr_lines) == 2 + len(sr.targets)
    assert "egs/cnceleb" in (d / "exp" / "RESULTS.md").read_text()


def test_cnceleb_truncated_audio_then_fixed(tmp_path):
    fake = make_fake_cnceleb(tmp_path / "corpora", n_dev=2, n_eval=2, n_cn2=0, cn2=False)
    d = recipe_copy("cnceleb", "cnceleb", tmp_path / "recipe")
    victim = sorted((fake.cn1_root / "eval" / "test").glob("*.flac"))[0]
    shutil.copy(victim, tmp_path / "saved")
    truncate(victim)
    opts = ["--cnceleb1-root", fake.cn1_root, "--stage", "0", "--stop-stage", "0", "--nj", "1"]
    r = run_recipe(d, *opts)
    assert r.returncode != 0 and victim.name in r.stderr, r.stderr[-2000:]
    assert not (d / "data" / ".prepared").exists()
    shutil.copy(tmp_path / "saved", victim)
    r = run_recipe(d, *opts)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (d / "data" / ".prepared").exists() and (d / "data" / "eval_test" / "trials").stat().st_size > 0
