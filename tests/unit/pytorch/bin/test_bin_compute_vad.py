"""pytorch.bin.compute_vad reads column 0 block by block (a long recording's matrix is never held whole)
with the same decisions as compute_vad on kaldiio's full read, compressed or not, and from a pipe."""
from __future__ import annotations

import kaldiio
import numpy as np
import pytest
import torch

from pytorch.bin import compute_vad as cli
from pytorch.features import compute_vad

OPTS = {"vad_energy_threshold": 5.5, "vad_energy_mean_scale": 0.5, "vad_frames_context": 2,
        "vad_proportion_threshold": 0.12}


@pytest.mark.parametrize("method", [None, 2])   # uncompressed, Kaldi's default compression
def test_blocks_give_the_decisions_of_the_whole_matrix(tmp_path, monkeypatch, method):
    rng = np.random.default_rng(0)
    mats = {f"u{i}": np.concatenate([rng.uniform(0, 20, (n, 1)), rng.standard_normal((n, 5))], 1).astype(np.float32)
            for i, n in enumerate((1000, 37, 300))}
    kw = {} if method is None else {"compression_method": method}
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/f.ark,{tmp_path}/f.scp", **kw) as w:
        for u, m in mats.items():
            w(u, m)
    kaldiio.save_mat(str(tmp_path / "p.mat"), mats["u1"])
    scp = (tmp_path / "f.scp").read_text() + f"u3 cat {tmp_path / 'p.mat'} |\n"
    (tmp_path / "feats.scp").write_text(scp)
    conf = tmp_path / "vad.yaml"
    conf.write_text("".join(f"{k}: {v}\n" for k, v in OPTS.items()))
    monkeypatch.setattr(cli, "BLOCK_ROWS", 64)
    assert cli.main(["--config", str(conf), str(tmp_path / "feats.scp"), str(tmp_path / "v.ark"),
                     str(tmp_path / "v.scp")]) == 0
    got = dict(kaldiio.load_scp(str(tmp_path / "v.scp")).items())
    full = {u: np.asarray(m) for u, m in kaldiio.load_scp(str(tmp_path / "feats.scp")).items()}
    assert list(got) == ["u0", "u1", "u2", "u3"]
    for u, m in full.items():
        np.testing.assert_array_equal(got[u], compute_vad(torch.from_numpy(m), **OPTS).numpy())
    assert got["u0"].sum() not in (0, 1000)   # both decisions occur
