import numpy as np
import pytest
import torch

from common.errors import ConfigError, FormatError
from pytorch.data.builder import build_train_data

LENGTHS = {f"s{k}-u{j}": (f"s{k}", 12 + 9 * j + k) for k in range(4) for j in range(4)}


def _cfg(d, workers=0, **data):
    return {"data": {"train": str(d), "num_frames": 20, **data},
            "train": {"batch_size": 4, "num_workers": workers, "seed": 5},
            "augment": {"specaug": {"prob": 0.5}}}


def _epoch(td, epoch):
    td.set_epoch(epoch)
    return [td.to_features(b, "cpu") for b in td.loader]


@pytest.mark.parametrize("sampler", ["random", "speaker_balanced"])
def test_same_batches_with_0_or_2_workers(feats_dir_factory, sampler):
    d, _ = feats_dir_factory(lengths=LENGTHS, dim=4)
    a = build_train_data(_cfg(d, 0, sampler=sampler))
    b = build_train_data(_cfg(d, 2, sampler=sampler))
    assert a.num_classes == 4 and a.feat_dim == 4 and a.spk2id == {"s0": 0, "s1": 1, "s2": 2, "s3": 3}
    ea, eb = _epoch(a, 1), _epoch(b, 1)
    assert len(ea) == len(eb) == 4
    for (fa, la), (fb, lb) in zip(ea, eb):
        assert fa.shape == (4, 20, 4) and fa.dtype == torch.float32 and la.dtype == torch.int64
        torch.testing.assert_close(fa, fb, rtol=0, atol=0)
        assert torch.equal(la, lb)
    # Another epoch gives other batches; the same epoch again gives the same ones.
    assert not torch.equal(_epoch(a, 2)[0][0], ea[0][0])
    torch.testing.assert_close(_epoch(a, 1)[0][0], ea[0][0], rtol=0, atol=0)


def test_chunks_are_cmn_crops_of_the_features(feats_dir_factory):
    d, mats = feats_dir_factory(lengths=LENGTHS, dim=3)
    td = build_train_data({**_cfg(d), "augment": {}})
    utts = td.dataset.index.utts
    for batch in td.loader:
        for _seed, feats, label in zip(batch["seed"], batch["feats"], batch["label"]):
            f = feats.numpy()
            assert np.abs(f.mean(axis=0)).max() < 1e-5  # per-chunk mean normalisation
            # The chunk (before CMN) is a crop or a repetition of an utterance of that speaker.
            found = False
            for u in utts:
                m = mats[u]
                if td.spk2id[u.split("-")[0]] != int(label):
                    continue
                src = np.take(m, np.arange(max(20, m.shape[0])) % m.shape[0], axis=0)
                for s in range(src.shape[0] - 19):
                    c = src[s:s + 20]
                    if np.allclose(c - c.mean(axis=0), f, atol=1e-5):
                        found = True
                        break
            assert found


def test_min_frames_filter_and_concat_short_clips(feats_dir_factory):
    d, mats = feats_dir_factory(lengths=LENGTHS, dim=3)
    td = build_train_data(_cfg(d, min_frames=15))
    assert all(mats[u].shape[0] >= 15 for u in td.dataset.index.utts)
    assert len(td.dataset.index.utts) == sum(m.shape[0] >= 15 for m in mats.values())
    cfg = _cfg(d, short_utt="concat", cmn=False)
    cfg["augment"] = {}
    td = build_train_data(cfg)
    ds = td.dataset
    short = ds.index.utts.index("s0-u0")  # 12 frames < 20
    rows = {tuple(r) for u in mats if u.startswith("s0-") for r in mats[u]}
    item = ds[(short, 123)]["feats"].numpy()
    assert all(tuple(r) in rows for r in item)          # only frames of the same speaker
    assert any(tuple(r) not in {tuple(x) for x in mats["s0-u0"]} for r in item)  # other clips joined


def test_bad_inputs_are_clear_errors(feats_dir_factory, tmp_path):
    d, _ = feats_dir_factory(lengths=LENGTHS, dim=3)
    with pytest.raises(ConfigError, match="num_franes"):
        build_train_data(_cfg(d, num_franes=3))
    with pytest.raises(ConfigError, match="snr_db"):
        build_train_data({**_cfg(d), "augment": {"noise": {"snr_db": [0, 1]}}})
    with pytest.raises(ConfigError, match="mode: wave"):
        build_train_data({**_cfg(d), "augment": {"noise": {"data": "x", "prob": 0.3}}})
    with pytest.raises(ConfigError, match="sampler"):
        build_train_data(_cfg(d, sampler="balanced"))
    with pytest.raises(FormatError, match="speaker 's0' has no usable"):
        build_train_data(_cfg(d, min_frames=40))       # every utterance of s0 is filtered out
    e, _ = feats_dir_factory("nofeats", lengths=LENGTHS, dim=3)
    (e / "feats.scp").unlink()
    with pytest.raises(FormatError, match="feats.scp"):
        build_train_data(_cfg(e))
    lengths = {"a-1": ("a", 30), "b-1": ("b", 30)}
    f, _ = feats_dir_factory("dims", lengths=lengths, dims={"a-1": 3, "b-1": 4})
    with pytest.raises(FormatError, match="dims differ"):
        build_train_data(_cfg(f))


def test_valid_split_uses_training_speaker_ids_and_fixed_crops(feats_dir_factory):
    d, _ = feats_dir_factory(lengths=LENGTHS, dim=3)
    v, _ = feats_dir_factory("valid", lengths={"s2-v": ("s2", 30), "s3-v": ("s3", 25)}, dim=3, seed=1)
    cfg = _cfg(d, valid=str(v))
    td = build_train_data(cfg, split="valid")
    labels = sorted(int(x) for b in td.loader for x in b["label"])
    assert labels == [2, 3]  # partial last batch kept, ids from the training dir
    first = [b["feats"] for b in td.loader]
    td.set_epoch(3)
    assert all(torch.equal(a, b["feats"]) for a, b in zip(first, td.loader))
    w, _ = feats_dir_factory("valid2", lengths={"zz-v": ("zz", 30)}, dim=3)
    with pytest.raises(FormatError, match="zz"):
        build_train_data(_cfg(d, valid=str(w)), split="valid")
