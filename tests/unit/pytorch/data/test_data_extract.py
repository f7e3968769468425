import numpy as np
import pytest
import torch
import yaml

import pytorch.bin.extract as extract_cli
from common.embeddings import load_embeddings
from common.errors import AsvError
from common.io import read_kv
from pytorch.data.datadir import DataDir
from pytorch.data.extraction import chunk_starts, extract_embeddings, feats_source


class TinyXvector(torch.nn.Module):
    """Stand-in that follows the model contract: forward(feats[B, T, F]) -> [B, D], embed_dim."""

    def __init__(self, feat_dim=4, embed_dim=3):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(feat_dim, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm1d(8)
        self.out = torch.nn.Linear(16, embed_dim)
        self.embed_dim = embed_dim
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, feats):
        h = torch.relu(self.bn(self.conv(feats.transpose(1, 2))))
        return self.out(torch.cat([h.mean(-1), h.std(-1)], dim=1))


LENGTHS = {f"s{k}-u{j}": (f"s{k}", 9 + 7 * j + 3 * k) for k in range(3) for j in range(4)}


def _vad(lengths):
    rng = np.random.default_rng(1)
    return {u: (rng.random(n) > 0.3) for u, (_, n) in lengths.items()}


def test_chunk_starts():
    assert chunk_starts(50, 0).tolist() == [0] and chunk_starts(50, 50).tolist() == [0]
    assert chunk_starts(51, 25).tolist() == [0, 13, 26]
    assert chunk_starts(100, 25).tolist() == [0, 25, 50, 75]


@pytest.mark.parametrize("max_chunk", [0, 10])
def test_bucketed_extraction_equals_one_by_one(feats_dir_factory, max_chunk):
    vad = _vad(LENGTHS)
    d, mats = feats_dir_factory(lengths=LENGTHS, dim=4, vad=vad)
    model = TinyXvector().eval()
    src = feats_source(DataDir(d), use_vad=True)
    emb, frames = extract_embeddings(model, src, max_chunk, batch_size=4)
    assert emb.shape == (len(LENGTHS), 3)
    assert frames.tolist() == [int(vad[u].sum()) for u in src.utts]
    with torch.no_grad():
        for i, u in enumerate(src.utts):
            x = mats[u][vad[u]]
            embs = []
            for s in chunk_starts(x.shape[0], max_chunk):
                c = x[s:s + (max_chunk or x.shape[0])]
                c = c - c.mean(axis=0)
                embs.append(model(torch.from_numpy(c)[None])[0].numpy())
            np.testing.assert_allclose(emb[i], np.mean(embs, axis=0), atol=1e-4)
    one, _ = extract_embeddings(model, src, max_chunk, batch_size=1)
    np.testing.assert_allclose(emb, one, atol=1e-4)


def _exp(tmp_path, **extract):
    exp = tmp_path / "exp"
    (exp / "models").mkdir(parents=True)
    cfg = {"data": {"train": "unused", "num_frames": 20}, "extract": {"batch_size": 3, **extract}}
    (exp / "config.yaml").write_text(yaml.safe_dump(cfg))
    return exp


def _split(d, parts):
    """Two job dirs by utterance, like utils/split_data.sh --per-utt."""
    utts = sorted(read_kv(d / "utt2spk"))
    out = []
    for j in range(parts):
        s = d / "split" / str(j + 1)
        s.mkdir(parents=True)
        mine = utts[j::parts]
        for name in ("utt2spk", "feats.scp"):
            tab = read_kv(d / name)
            (s / name).write_text("".join(f"{u} {tab[u]}\n" for u in mine))
        out.append(s)
    return out


def test_cli_writes_tables_speaker_means_and_merges_jobs(tmp_path, feats_dir_factory, monkeypatch, capsys):
    d, mats = feats_dir_factory(lengths=LENGTHS, dim=4)
    exp = _exp(tmp_path, max_chunk_frames=12)
    model = TinyXvector().eval()
    monkeypatch.setattr(extract_cli, "load_model", lambda e, c, dev: model)
    out = tmp_path / "emb"
    assert extract_cli.main(["--exp", str(exp), "--data", str(d), "--out", str(out)]) == 0
    emb = _read(out / "xvector.scp")
    ref, frames = extract_embeddings(model, feats_source(DataDir(d), True), 12, 1)
    np.testing.assert_allclose(np.stack([emb[u] for u in sorted(LENGTHS)]), ref, atol=1e-5)
    assert read_kv(out / "utt2num_frames") == {u: str(n) for u, (_, n) in LENGTHS.items()}
    spk = _read(out / "spk_xvector.scp")
    assert sorted(spk) == ["s0", "s1", "s2"]
    np.testing.assert_allclose(spk["s1"], np.mean([emb[f"s1-u{j}"] for j in range(4)], axis=0), atol=1e-6)
    assert not list(out.glob(".*tmp"))  # no temp files left behind

    jobs = _split(d, 2)
    for j in jobs:
        assert extract_cli.main(["--exp", str(exp), "--data", str(j), "--out", str(j / "emb"),
                                 "--speaker-means", "false"]) == 0
        assert not (j / "emb" / "spk_xvector.scp").exists()
    merged = tmp_path / "merged"
    assert extract_cli.main(["--merge", *[str(j / "emb") for j in jobs], "--data", str(d),
                             "--out", str(merged)]) == 0
    m = _read(merged / "xvector.scp")
    assert sorted(m) == sorted(emb)
    for u in emb:
        np.testing.assert_allclose(m[u], emb[u], atol=1e-5)
    np.testing.assert_allclose(_read(merged / "spk_xvector.scp")["s2"], spk["s2"], atol=1e-5)
    assert read_kv(merged / "utt2num_frames") == read_kv(out / "utt2num_frames")

    # A job that did not finish is a clear error, not a partial table.
    (jobs[1] / "emb" / "xvector.scp").unlink()
    capsys.readouterr()
    assert extract_cli.main(["--merge", *[str(j / "emb") for j in jobs], "--data", str(d),
                             "--out", str(tmp_path / "m2")]) == 1
    assert "extract: error:" in capsys.readouterr().err


def test_cli_errors(tmp_path, feats_dir_factory, monkeypatch, capsys):
    d, _ = feats_dir_factory(lengths=LENGTHS, dim=4)
    exp = _exp(tmp_path)
    monkeypatch.setattr(extract_cli, "load_model", lambda e, c, dev: TinyXvector().eval())
    (d / "feats.scp").unlink()
    assert extract_cli.main(["--exp", str(exp), "--data", str(d), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("extract: error:") and "feats.scp" in err and "Traceback" not in err
    bad = _exp(tmp_path / "b", max_chunk=3)
    e, _ = feats_dir_factory("e", lengths=LENGTHS, dim=4)
    assert extract_cli.main(["--exp", str(bad), "--data", str(e), "--out", str(tmp_path / "o")]) == 1
    assert "max_chunk" in capsys.readouterr().err
    # An enrollment spk2utt that names an utterance the data dir lacks.
    (e / "spk2utt").write_text("enr1 s0-u0 s0-u9\n")
    assert extract_cli.main(["--exp", str(exp), "--data", str(e), "--out", str(tmp_path / "o")]) == 1
    assert "s0-u9" in capsys.readouterr().err


def _read(scp):
    return dict(zip(*load_embeddings(scp)))


def test_nan_embedding_fails_naming_the_utterance(feats_dir_factory):
    """A model that gives NaN (e.g. NaN weights) for one utterance is named, not averaged into a table."""
    class NanFor19Frames(TinyXvector):
        def forward(self, feats):
            out = super().forward(feats)
            return out * float("nan") if feats.shape[1] == 19 else out    # s1-u1 has 19 frames
    d, _ = feats_dir_factory(lengths=LENGTHS, dim=4)
    with pytest.raises(AsvError, match=r"utterance 's1-u1': the model gave a NaN or inf embedding"):
        extract_embeddings(NanFor19Frames().eval(), feats_source(DataDir(d), use_vad=False), 0, batch_size=4)
