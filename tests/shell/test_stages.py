"""utils/stages/*.sh (the stage bodies every recipe shares) on hand-made exp dirs: random embeddings
around speaker centres, so no model is trained. Speaker and utterance enrollment, several trial lists
(one results row per list x back-end), systems with and without PLDA, fusion (mean and dev-trained
logreg), the results table, per-genre tables; a failed stage leaves no done marker and the rerun
after the fix completes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from common.embeddings import write_embeddings
from score.bin import norm as norm_cli
from score.bin import score as score_cli

ROOT = Path(__file__).resolve().parents[2]
DIM, N_TRAIN, N_EVAL = 8, 6, 3
GENRES = ("speech", "singing")


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in sorted(lines)))


def _datadir(d: Path, utts: dict[str, str]) -> None:
    """utt2spk and spk2utt of {utt: spk}."""
    _write(d / "utt2spk", [f"{u} {s}" for u, s in utts.items()])
    spk: dict[str, list[str]] = {}
    for u, s in sorted(utts.items()):
        spk.setdefault(s, []).append(u)
    _write(d / "spk2utt", [f"{s} {' '.join(us)}" for s, us in spk.items()])


def _system(recipe: Path, name: str, chain: list[str], sets: dict[str, dict[str, str]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    # sorted: a set's order follows the per-process string hash, and the data must not change from run to run
    centres = {s: rng.normal(size=DIM) * 3 for s in sorted({s for utts in sets.values() for s in utts.values()})}
    exp = recipe / "exp" / name
    for set_name, utts in sets.items():
        out = exp / "embeddings" / set_name
        out.mkdir(parents=True)
        vec = {u: centres[s] + rng.normal(size=DIM) for u, s in sorted(utts.items())}
        write_embeddings(list(vec), list(vec.values()), out / "xvector.ark", out / "xvector.scp")
        spk = sorted(set(utts.values()))
        means = [np.mean([v for u, v in vec.items() if utts[u] == s], axis=0) for s in spk]
        write_embeddings(spk, means, out / "spk_xvector.ark", out / "spk_xvector.scp")
    cfg = {"data": {"train": "data/train"}, "backend": {"chain": chain, "top_n": 3}}
    (exp / "config.yaml").write_text(yaml.safe_dump(cfg))


def _build(r: Path) -> Path:
    """A recipe dir: data/{train,enroll,test} with speaker and utterance trial lists, two systems
    (sys_plda: LDA+PLDA chain; sys_cos: cosine only)."""
    r.mkdir()
    for name in ("utils", "path.sh"):
        os.symlink(ROOT / name, r / name)
    train = {f"t{s}-{i}": f"t{s}" for s in range(N_TRAIN) for i in range(5)}
    enroll = {f"e{s}-{i}": f"e{s}" for s in range(N_EVAL) for i in range(2)}
    test = {f"e{s}-x{i}": f"e{s}" for s in range(N_EVAL) for i in range(4)}
    for name, utts in (("train", train), ("enroll", enroll), ("test", test)):
        _datadir(r / "data" / name, utts)
    trials = [f"e{s} {u} {'target' if spk == f'e{s}' else 'nontarget'}"
              for s in range(N_EVAL) for u, spk in test.items()]
    _write(r / "data/test/trials", trials)
    _write(r / "data/test/trials_half", trials[::2])
    ids = sorted(test)
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    _write(r / "data/test/trials_utt", [f"{a} {b} {'target' if test[a] == test[b] else 'nontarget'}" for a, b in pairs])
    _write(r / "data/test/utt2genre", [f"{u} {GENRES[i % 2]}" for i, u in enumerate(sorted(test))])
    # test_b: the same utterances drawn again (another test set on the same trials, like test_corrupt)
    sets = {"train": train, "enroll": enroll, "test": test, "test_b": test}
    _system(r, "sys_plda", ["mean", "lda:4", "lnorm", "plda"], sets, 1)
    _system(r, "sys_cos", ["mean", "lnorm"], sets, 2)
    return r


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    return _build(tmp_path / "recipe")


SYSTEMS = ("exp/sys_plda", "exp/sys_cos")
SPK_TRIALS = "test=data/test/trials half=data/test/trials_half@test_b"  # half is scored on test_b


@pytest.fixture(scope="module")
def scored_once(tmp_path_factory) -> Path:
    """Stages 6-7 run once (speaker enrollment, two trial lists on two test sets) for the tests that read or go
    on from them."""
    r = _build(tmp_path_factory.mktemp("stages") / "recipe")
    _ok(_stage(r, "backend.sh", "--train-set", "train", *SYSTEMS))
    _ok(_stage(r, "score.sh", "--enroll-kind", "spk", "--trials", SPK_TRIALS, *SYSTEMS))
    return r


@pytest.fixture
def scored(scored_once: Path, tmp_path: Path) -> Path:
    """A private copy of scored_once, for tests that write."""
    dst = tmp_path / "recipe"
    shutil.copytree(scored_once, dst, symlinks=True)
    return dst


def _stage(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    cmd = '. ./path.sh; "$@"'
    return subprocess.run(["bash", "-c", cmd, "stage", f"utils/stages/{script}", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def _ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    assert lines[0].split("\t")[:4] == ["system", "backend", "norm", "trials"]
    return [line.split("\t") for line in lines[1:]]


def test_speaker_enrollment_several_lists(scored_once, monkeypatch):
    recipe = scored_once
    monkeypatch.chdir(recipe)  # the scp files name their arks relative to the recipe dir
    assert (recipe / "exp/sys_plda/backend/plda").is_dir() and not (recipe / "exp/sys_cos/backend/plda").exists()
    # one row per trial list x back-end; the cosine-only system has no PLDA row
    plda = _rows(recipe / "exp/sys_plda/results.tsv")
    assert [(r[0], r[1], r[2], r[3]) for r in plda] == [
        ("sys_plda", b, n, t) for t in ("test", "half")
        for b, n in (("cosine", "none"), ("cosine", "asnorm3"), ("mean-lda4-lnorm-plda", "none"),
                     ("mean-lda4-lnorm-plda", "asnorm3"))]
    assert [(r[2], r[3]) for r in _rows(recipe / "exp/sys_cos/results.tsv")] == [
        ("none", "test"), ("asnorm3", "test"), ("none", "half"), ("asnorm3", "half")]
    assert not list((recipe / "exp/sys_cos/scores").glob("*.plda*"))
    n = N_EVAL * N_EVAL * 4
    for m in ("cosine", "cosine_asnorm", "plda", "plda_asnorm"):
        assert len((recipe / f"exp/sys_plda/scores/test.{m}").read_text().splitlines()) == n
        assert len((recipe / f"exp/sys_plda/scores/half.{m}").read_text().splitlines()) == (n + 1) // 2
    # each list against its own test set, and PLDA + AS-Norm as score.bin.norm --scoring plda gives it
    sys_ = recipe / "exp/sys_plda"
    for t, test_set, trials in (("test", "test", "trials"), ("half", "test_b", "trials_half")):
        common = ["--backend-dir", str(sys_ / "backend/plda"), "--enroll-spk2utt", str(recipe / "data/enroll/spk2utt"),
                  "--enroll", str(sys_ / "embeddings/enroll/spk_xvector.scp"),
                  "--test", str(sys_ / f"embeddings/{test_set}/xvector.scp")]
        ref = recipe / f"ref.{t}"
        assert score_cli.main(["--method", "plda", *common, "--trials", str(recipe / f"data/test/{trials}"),
                               "--out", str(ref)]) == 0
        assert ref.read_text() == (sys_ / f"scores/{t}.plda").read_text()
        assert norm_cli.main(["--method", "asnorm", "--scoring", "plda", "--top-n", "3", *common,
                              "--cohort", str(sys_ / "backend/cohort.scp"), "--scores", str(ref),
                              "--out", str(ref) + ".asnorm"]) == 0
        assert Path(str(ref) + ".asnorm").read_text() == (sys_ / f"scores/{t}.plda_asnorm").read_text()
    # the PLDA + AS-Norm scores are not the PLDA scores
    assert (sys_ / "scores/test.plda").read_text() != (sys_ / "scores/test.plda_asnorm").read_text()
    # well-separated speakers: every back-end's EER is well below chance (50%); with 6 target trials per list
    # an EER moves in steps of several points, so the bound leaves room for one unlucky step
    assert all(float(r[4]) < 40.0 for r in plda)


def test_fusion_results_and_genres(scored):
    recipe = scored
    _ok(_stage(recipe, "fuse.sh", "--trials", SPK_TRIALS, "--out", "exp/fusion", *SYSTEMS))
    fused = _rows(recipe / "exp/fusion/results.tsv")
    assert [(r[0], r[1], r[2], r[3]) for r in fused] == [
        ("fusion", "mean(sys_plda+sys_cos)", "asnorm", t) for t in ("test", "half")]
    assert (recipe / "exp/fusion/scores/test.mean_asnorm").is_file()

    r = _ok(_stage(recipe, "results.sh", "--title", "demo", "--trials", SPK_TRIALS, "--methods", "cosine_asnorm",
                   "--also", "cosine_asnorm=fusion:mean_asnorm", *SYSTEMS, "exp/fusion"))
    table = (recipe / "exp/RESULTS.md").read_text()
    assert table in r.stdout and "data/test/trials_half (18 trials)" in table
    for name in ("sys_plda", "sys_cos", "fusion"):
        assert name in table
    # several lists: one plot per list and method
    for t in ("test", "half"):
        assert (recipe / f"exp/det_{t}_cosine_asnorm.png").stat().st_size > 1000
    assert not (recipe / "exp/det_test_plda.png").exists()

    _ok(_stage(recipe, "conditions.sh", "--trials", "test=data/test/trials", "--methods", "plda",
               "--utt2key", "data/test/utt2genre", "exp/sys_plda"))
    genre = (recipe / "exp/sys_plda/conditions/test.plda.genre.md").read_text()
    assert all(g in genre for g in ("all", *GENRES))
    assert (recipe / "exp/sys_plda/conditions/test.plda.cp.png").is_file()


def test_utterance_trials(recipe):
    """Utterance-vs-utterance lists (VoxCeleb): the test set's xvector.scp is the enroll side."""
    _ok(_stage(recipe, "backend.sh", "exp/sys_plda"))
    _ok(_stage(recipe, "score.sh", "--enroll-kind", "utt", "--enroll-set", "test", "--test-set", "test",
               "--trials", "utt=data/test/trials_utt", "exp/sys_plda"))
    n = len((recipe / "data/test/trials_utt").read_text().splitlines())
    for m in ("cosine", "cosine_asnorm", "plda", "plda_asnorm"):
        scores = (recipe / f"exp/sys_plda/scores/utt.{m}").read_text().splitlines()
        assert len(scores) == n and scores[0].split()[0].startswith("e0-x")
    assert {r[3] for r in _rows(recipe / "exp/sys_plda/results.tsv")} == {"utt"}
    # speaker enrollment of an utterance list finds no speaker embedding for its enroll ids
    r = _stage(recipe, "score.sh", "--enroll-kind", "spk", "--trials", "utt=data/test/trials_utt", "exp/sys_plda")
    assert r.returncode != 0 and not (recipe / "exp/sys_plda/results.tsv").exists()


def test_dev_trials_calibrate_and_logreg(scored):
    recipe = scored
    r = _stage(recipe, "fuse.sh", "--trials", SPK_TRIALS, "--dev-trials", "nodev", *SYSTEMS)
    assert r.returncode != 0 and "--dev-trials nodev is not one of the --trials names: test half" in r.stderr
    _ok(_stage(recipe, "fuse.sh", "--trials", SPK_TRIALS, "--dev-trials", "half", "--out", "exp/fusion", *SYSTEMS))
    rows = [(r[0], r[1], r[3]) for r in _rows(recipe / "exp/fusion/results.tsv")]
    assert rows == [("sys_plda", "cosine_asnorm-cal", "test"), ("sys_cos", "cosine_asnorm-cal", "test"),
                    ("fusion", "logreg(sys_plda+sys_cos)", "test")]


@pytest.mark.parametrize("spec, message", [
    ("test", "bad trials spec 'test': expected name=path"),
    ("=data/test/trials", "bad trials spec '=data/test/trials'"),
    ("x=data/test/nothing", "trials 'x': no such file or empty: data/test/nothing"),
    ("x=data/test/trials@", "bad trials spec 'x=data/test/trials@'"),
    ("x=data/test/trials@nothing", "no exp/sys_cos/embeddings/nothing/xvector.scp for trials x"),
])
def test_bad_trials_spec(recipe, spec, message):
    r = _stage(recipe, "score.sh", "--trials", spec, "exp/sys_cos")
    assert r.returncode != 0 and message in r.stderr


def test_failed_scoring_leaves_no_marker_and_rerun_completes(scored):
    """A trial naming an utterance without an embedding stops scoring with a line naming it; results.tsv
    (the done marker) is absent, also when an earlier run had written one; after the fix the rerun writes it."""
    recipe = scored
    bad = recipe / "data/test/trials_half"
    good = bad.read_text()
    bad.write_text(good + "e0 e9-x9 target\n")
    r = _stage(recipe, "score.sh", "--trials", SPK_TRIALS, "exp/sys_plda")
    assert r.returncode != 0 and "e9-x9" in r.stderr, r.stderr[-2000:]
    assert not (recipe / "exp/sys_plda/results.tsv").exists()
    r = _stage(recipe, "results.sh", "--trials", SPK_TRIALS, "exp/sys_plda")
    assert r.returncode != 0 and "no exp/sys_plda/results.tsv (run stage 7 or 8)" in r.stderr
    assert not (recipe / "exp/RESULTS.md").exists()
    bad.write_text(good)
    _ok(_stage(recipe, "score.sh", "--trials", SPK_TRIALS, "exp/sys_plda"))
    assert len(_rows(recipe / "exp/sys_plda/results.tsv")) == 8


def test_stage_scripts_print_usage(recipe):
    for script in sorted(p.name for p in (ROOT / "utils/stages").glob("*.sh")):
        r = _stage(recipe, script, "--help")
        assert r.returncode == 0 and "Usage:" in r.stdout + r.stderr and "e.g.:" in r.stdout + r.stderr, script
        r = _stage(recipe, script)
        assert r.returncode != 0 and "Usage:" in r.stderr, script
