"""Multi-utterance enrollment (mean-emb, mean-score, alpha-QE) against a direct per-trial loop."""
import numpy as np
import pytest

from score.enroll import group_rows, mean_embeddings, multi_enroll_scores


def _n(v):
    return v / np.linalg.norm(v)


def _loop(utt, groups, test, e_idx, t_idx, mode, alpha, ref):
    out = []
    for e, t in zip(e_idx, t_idx):
        es = [_n(utt[i]) for i in groups[e]]
        tv = _n(test[t])
        c = np.array([x @ tv for x in es])
        if mode == "mean-score":
            out.append(c.mean())
            continue
        if mode == "mean-emb":
            w = np.ones(len(es))
        else:
            r = tv if ref == "test" else _n(np.mean(es, 0))
            w = np.array([max(x @ r, 0.0) ** alpha for x in es])
            if not (w > 0).any():
                w = np.ones(len(es))
        agg = sum(wi * x for wi, x in zip(w, es))
        out.append(_n(agg) @ tv)
    return np.array(out)


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    utt = rng.normal(size=(12, 6))
    groups = [np.array([0, 1, 2]), np.array([3]), np.array([4, 5, 6, 7]), np.array([8, 9, 10, 11])]
    test = rng.normal(size=(9, 6))
    pairs = rng.permutation(4 * 9)[:30]  # distinct (enroll, test) pairs: a trial list holds each once
    e_idx, t_idx = pairs // 9, pairs % 9
    return utt, groups, test, e_idx, t_idx


@pytest.mark.parametrize("mode,ref", [("mean-emb", "test"), ("mean-score", "test"), ("aqe", "test"),
                                      ("aqe", "mean")])
@pytest.mark.parametrize("n_trials", [40, 3])  # dense (gather from the grid) and sparse paths
def test_modes_equal_loop(data, mode, ref, n_trials):
    utt, groups, test, e_idx, t_idx = data
    e_idx, t_idx = e_idx[:n_trials], t_idx[:n_trials]
    got = multi_enroll_scores(utt, groups, test, e_idx, t_idx, mode, alpha=2.5, ref=ref)
    np.testing.assert_allclose(got, _loop(utt, groups, test, e_idx, t_idx, mode, 2.5, ref), atol=1e-5)


def test_aqe_single_utterance_is_cosine(data):
    utt, groups, test, e_idx, t_idx = data
    sel = e_idx == 1  # group 1 has one utterance: every mode is plain cosine
    for mode in ("mean-emb", "mean-score", "aqe"):
        got = multi_enroll_scores(utt, groups, test, e_idx[sel], t_idx[sel], mode)
        np.testing.assert_allclose(got, [_n(utt[3]) @ _n(test[t]) for t in t_idx[sel]], atol=1e-6)


def test_aqe_all_negative_falls_back_to_mean():
    utt = np.array([[1.0, 0.0], [0.0, 1.0]])
    test = np.array([[-1.0, -1.0]])
    got = multi_enroll_scores(utt, [np.array([0, 1])], test, np.array([0]), np.array([0]), "aqe")
    # mean embedding (1,1)/sqrt2 against (-1,-1)/sqrt2 -> cosine -1
    assert got[0] == pytest.approx(-1.0, abs=1e-6)


def test_errors_and_grouping(data):
    utt, groups, test, e_idx, t_idx = data
    with pytest.raises(ValueError, match="unknown enroll mode"):
        multi_enroll_scores(utt, groups, test, e_idx, t_idx, "median")
    with pytest.raises(ValueError, match="dim"):
        multi_enroll_scores(utt, groups, test[:, :4], e_idx, t_idx)
    ids, g = group_rows({"s1": ["b", "a"], "s2": ["c"]}, ["a", "b", "c"], "spk2utt", "x.scp")
    assert ids == ["s1", "s2"] and g[0].tolist() == [1, 0] and g[1].tolist() == [2]
    with pytest.raises(ValueError, match="no embedding for utterance 'z'"):
        group_rows({"s1": ["a", "z"]}, ["a"], "spk2utt", "x.scp")
    np.testing.assert_allclose(mean_embeddings(utt, groups)[2], utt[4:8].mean(0), rtol=1e-6)


def _scp(tmp_path, name, keys, x):
    from common.embeddings import write_embeddings
    write_embeddings(keys, x, str(tmp_path / f"{name}.ark"), str(tmp_path / f"{name}.scp"))
    return str(tmp_path / f"{name}.scp")


def test_score_cli_multi_enroll(tmp_path, data, capsys):
    from score.bin import score as score_cli
    from score.bin import train_backend
    from score.chain import Chain
    utt, groups, test, e_idx, t_idx = data
    ukeys, tkeys, spks = [f"u{i:02d}" for i in range(12)], [f"t{i}" for i in range(9)], ["A", "B", "C", "D"]
    u_scp, t_scp = _scp(tmp_path, "utt", ukeys, utt), _scp(tmp_path, "test", tkeys, test)
    (tmp_path / "spk2utt").write_text("".join(f"{s} {' '.join(ukeys[i] for i in g)}\n"
                                              for s, g in zip(spks, groups)))
    (tmp_path / "trials").write_text("".join(f"{spks[e]} {tkeys[t]} nontarget\n"
                                             for e, t in zip(e_idx, t_idx)))
    out = tmp_path / "scores"
    base = ["--enroll", u_scp, "--enroll-spk2utt", str(tmp_path / "spk2utt"), "--test", t_scp,
            "--trials", str(tmp_path / "trials"), "--out", str(out)]
    assert score_cli.main(["--method", "cosine", "--enroll-mode", "aqe", "--aqe-alpha", "2.5"] + base) == 0
    got = np.array([float(ln.split()[2]) for ln in out.read_text().splitlines()])
    np.testing.assert_allclose(got, _loop(utt, groups, test, e_idx, t_idx, "aqe", 2.5, "test"), atol=1e-5)

    # PLDA: mean-emb with the number of utterances, and mean-score, against direct calls.
    rng = np.random.default_rng(1)
    spk = rng.normal(size=(30, 6)) * 2
    lab = np.repeat(np.arange(30), 8)
    train = spk[lab] + rng.normal(size=(240, 6))
    tr_scp = _scp(tmp_path, "train", [f"x{i:03d}" for i in range(240)], train)
    (tmp_path / "utt2spk").write_text("".join(f"x{i:03d} s{lab[i]:02d}\n" for i in range(240)))
    be = str(tmp_path / "backend")
    assert train_backend.main(["--chain", "mean,lnorm,plda", "--train", tr_scp, "--utt2spk",
                               str(tmp_path / "utt2spk"), "--out", be]) == 0
    chain = Chain.load(be)
    u, t = chain.transform(utt.astype(np.float32)), chain.transform(test.astype(np.float32))
    sizes = np.array([len(g) for g in groups])
    assert score_cli.main(["--method", "plda", "--backend-dir", be, "--enroll-mode", "mean-emb"] + base) == 0
    got = np.array([float(ln.split()[2]) for ln in out.read_text().splitlines()])
    means = np.stack([u[g].mean(0) for g in groups])
    want = chain.plda.score_trials(means, t, e_idx, t_idx, sizes)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    plda_args = ["--method", "plda", "--backend-dir", be]
    assert score_cli.main(plda_args + ["--enroll-mode", "mean-score"] + base) == 0
    got = np.array([float(ln.split()[2]) for ln in out.read_text().splitlines()])
    want = [np.mean([chain.plda.score_trials(u, t, np.array([i]), np.array([tt]))[0] for i in groups[e]])
            for e, tt in zip(e_idx, t_idx)]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert score_cli.main(["--method", "plda", "--backend-dir", be, "--enroll-mode", "aqe"] + base) == 1
    assert "PLDA takes mean-emb or mean-score" in capsys.readouterr().err
    # An enroll id of the trials that spk2utt lacks, and a missing utterance embedding, are named.
    (tmp_path / "trials").write_text("Z t0 target\n")
    assert score_cli.main(["--method", "cosine", "--enroll-mode", "mean-emb"] + base) == 1
    assert "no embedding for enroll id 'Z'" in capsys.readouterr().err
    (tmp_path / "spk2utt").write_text("A u00 u99\n")
    assert score_cli.main(["--method", "cosine", "--enroll-mode", "mean-emb"] + base) == 1
    assert "no embedding for utterance 'u99'" in capsys.readouterr().err


def test_norm_cli_utterance_enroll_and_num_utts(tmp_path, data):
    from score.bin import norm as norm_cli
    from score.bin import score as score_cli
    from score.bin import train_backend
    from score.chain import Chain
    from score.norm import score_norm
    utt, groups, test, e_idx, t_idx = data
    rng = np.random.default_rng(2)
    cohort = rng.normal(size=(8, 6))
    ukeys, tkeys, spks = [f"u{i:02d}" for i in range(12)], [f"t{i}" for i in range(9)], ["A", "B", "C", "D"]
    u_scp, t_scp = _scp(tmp_path, "utt", ukeys, utt), _scp(tmp_path, "test", tkeys, test)
    c_scp = _scp(tmp_path, "cohort", [f"c{i}" for i in range(8)], cohort)
    (tmp_path / "spk2utt").write_text("".join(f"{s} {' '.join(ukeys[i] for i in g)}\n"
                                              for s, g in zip(spks, groups)))
    (tmp_path / "trials").write_text("".join(f"{spks[e]} {tkeys[t]} nontarget\n"
                                             for e, t in zip(e_idx, t_idx)))
    raw, normed = tmp_path / "raw", tmp_path / "normed"
    s2u = str(tmp_path / "spk2utt")
    assert score_cli.main(["--method", "cosine", "--enroll", u_scp, "--enroll-spk2utt", s2u,
                           "--enroll-mode", "mean-emb", "--test", t_scp, "--trials", str(tmp_path / "trials"),
                           "--out", str(raw)]) == 0
    assert norm_cli.main(["--method", "asnorm", "--top-n", "3", "--cohort", c_scp, "--enroll", u_scp,
                          "--enroll-spk2utt", s2u, "--test", t_scp, "--scores", str(raw),
                          "--out", str(normed)]) == 0
    s = np.array([float(ln.split()[2]) for ln in raw.read_text().splitlines()])
    got = np.array([float(ln.split()[2]) for ln in normed.read_text().splitlines()])
    enroll = np.stack([_n_rows(utt[g]).mean(0) for g in groups])
    want = score_norm("asnorm", s, enroll, test, e_idx, t_idx, cohort, top_n=3)
    np.testing.assert_allclose(got, want, atol=2e-5)

    # --num-utts (Kaldi table) gives PLDA the same counts as a spk2utt.
    lab = np.repeat(np.arange(20), 6)
    train = rng.normal(size=(20, 6))[lab] * 2 + rng.normal(size=(120, 6))
    tr_scp = _scp(tmp_path, "train", [f"x{i:03d}" for i in range(120)], train)
    (tmp_path / "utt2spk").write_text("".join(f"x{i:03d} s{lab[i]:02d}\n" for i in range(120)))
    be = str(tmp_path / "be")
    assert train_backend.main(["--chain", "mean,lnorm,plda", "--train", tr_scp, "--utt2spk",
                               str(tmp_path / "utt2spk"), "--out", be]) == 0
    means = np.stack([utt[g].mean(0) for g in groups])
    m_scp = _scp(tmp_path, "means", spks, means)
    (tmp_path / "num_utts").write_text("".join(f"{s} {len(g)}\n" for s, g in zip(spks, groups)))
    base = ["--method", "plda", "--backend-dir", be, "--enroll", m_scp, "--test", t_scp,
            "--trials", str(tmp_path / "trials"), "--out", str(raw)]
    assert score_cli.main(base + ["--num-utts", str(tmp_path / "num_utts")]) == 0
    a = raw.read_text()
    assert score_cli.main(base + ["--enroll-spk2utt", str(tmp_path / "spk2utt")]) == 0
    assert raw.read_text() == a
    chain = Chain.load(be)
    tm, tt = chain.transform(means.astype(np.float32)), chain.transform(test.astype(np.float32))
    want = chain.plda.score_trials(tm, tt, e_idx, t_idx, np.array([len(g) for g in groups]))
    np.testing.assert_allclose([float(ln.split()[2]) for ln in a.splitlines()], want, rtol=1e-4, atol=1e-4)


def _n_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)
