"""Checkpoint averaging on hand-made state dicts, atomic saving, name resolution, load_model."""
import os
import random

import numpy as np
import pytest
import torch
import yaml

from pytorch.bin import average as average_cli
from pytorch.models import build_model
from pytorch.training import checkpoint as ck

MODEL = {"name": "tdnn", "feat_dim": 5, "hidden": 8, "stats_dim": 12, "embed_dim": 6}


def test_average_state_dicts_by_hand():
    a = {"w": torch.tensor([1.0, 2.0]), "bn.running_var": torch.tensor([1.0]),
         "bn.num_batches_tracked": torch.tensor(10), "h": torch.tensor([1.0], dtype=torch.float16)}
    b = {"w": torch.tensor([3.0, 6.0]), "bn.running_var": torch.tensor([2.0]),
         "bn.num_batches_tracked": torch.tensor(20), "h": torch.tensor([2.0], dtype=torch.float16)}
    c = {"w": torch.tensor([5.0, 1.0]), "bn.running_var": torch.tensor([6.0]),
         "bn.num_batches_tracked": torch.tensor(30), "h": torch.tensor([6.0], dtype=torch.float16)}
    out = ck.average_state_dicts([a, b, c])
    assert torch.equal(out["w"], torch.tensor([3.0, 3.0]))
    assert torch.equal(out["bn.running_var"], torch.tensor([3.0]))
    assert out["bn.num_batches_tracked"].item() == 30 and out["bn.num_batches_tracked"].dtype == torch.int64
    assert out["h"].dtype == torch.float16 and out["h"].item() == 3.0
    with pytest.raises(ck.CheckpointError, match="parameters differ"):
        ck.average_state_dicts([a, {"w": a["w"]}], ["one.pt", "two.pt"])
    with pytest.raises(ck.CheckpointError, match="shape"):
        ck.average_state_dicts([a, {**b, "w": torch.zeros(3)}])


def _exp_with_epochs(tmp_path, n=3):
    exp = tmp_path / "exp"
    (exp / "models").mkdir(parents=True)
    torch.manual_seed(0)
    model = build_model(MODEL)
    (exp / "config.yaml").write_text(yaml.safe_dump({"model": MODEL, "train": {"average_last": 2}}))
    states = []
    for e in range(1, n + 1):
        sd = {k: (v + e if v.is_floating_point() else v + e) for k, v in model.state_dict().items()}
        states.append(sd)
        ck.save_checkpoint({"model": sd, "loss": {"weight": torch.full((2, 2), float(e))}, "epoch": e,
                            "config": {"model": MODEL}}, ck.epoch_path(exp, e))
    return exp, states


def test_average_last_cli_and_load_model(tmp_path):
    exp, states = _exp_with_epochs(tmp_path, 3)
    assert average_cli.main(["--exp", str(exp)]) == 0        # N from train.average_last = 2
    avg = torch.load(exp / "models" / "avg.pt", weights_only=True)
    assert avg["epochs"] == [2, 3]
    key = "segment.weight"
    torch.testing.assert_close(avg["model"][key], (states[1][key] + states[2][key]) / 2)
    assert torch.equal(avg["loss"]["weight"], torch.full((2, 2), 2.5))
    nbt = [k for k in avg["model"] if k.endswith("num_batches_tracked")][0]
    assert avg["model"][nbt].item() == states[2][nbt].item()
    model = ck.load_model(exp, "avg")
    assert not model.training
    torch.testing.assert_close(model.state_dict()[key], avg["model"][key])
    m1 = ck.load_model(exp, "epoch_1")
    torch.testing.assert_close(m1.state_dict()[key], states[0][key])
    assert ck.resolve_checkpoint(exp, "last").name == "epoch_3.pt"
    assert ck.resolve_checkpoint(exp, "models/avg.pt") == exp / "models" / "avg.pt"
    assert average_cli.main(["--exp", str(exp), "--last", "3", "--out", str(tmp_path / "a3.pt")]) == 0
    a3 = torch.load(tmp_path / "a3.pt", weights_only=True)
    torch.testing.assert_close(a3["model"][key], states[1][key])


def test_missing_checkpoint_messages(tmp_path, capsys):
    exp, _ = _exp_with_epochs(tmp_path, 1)
    with pytest.raises(ck.CheckpointError, match="avg.pt: checkpoint not found; run .*pytorch.bin.average"):
        ck.load_model(exp, "avg")
    with pytest.raises(ck.CheckpointError, match="epoch_9.pt: checkpoint not found"):
        ck.resolve_checkpoint(exp, "epoch_9")
    assert average_cli.main(["--exp", str(tmp_path / "nothing"), "--last", "2"]) == 1
    assert "average: error:" in capsys.readouterr().err


class _Payload:
    """Pickles as a call to os.system: what a hostile checkpoint would carry."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_checkpoint_with_a_pickled_object_is_refused(tmp_path, capfd):
    exp, _ = _exp_with_epochs(tmp_path, 1)
    path = ck.epoch_path(exp, 1)
    torch.save({**torch.load(path, weights_only=True), "extra": _Payload()}, path)
    with pytest.raises(ck.CheckpointError, match=r"epoch_1.pt: refused: .*pickled Python object \(posix.sys"):
        ck.load_checkpoint(path)
    assert average_cli.main(["--exp", str(exp), "--last", "1"]) == 1
    out, err = capfd.readouterr()
    assert err.count("\n") == 1 and "refused" in err and "pwned" not in out + err
    assert not (exp / "models" / "avg.pt").exists()


def test_save_is_atomic_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "models" / "epoch_1.pt"
    ck.save_checkpoint({"a": torch.ones(2)}, path)
    assert torch.equal(torch.load(path)["a"], torch.ones(2))

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        ck.save_checkpoint({"a": torch.zeros(2)}, path)
    assert torch.equal(torch.load(path)["a"], torch.ones(2))     # the old file is intact
    assert os.listdir(path.parent) == ["epoch_1.pt"]


def test_list_epochs_sorts_numerically(tmp_path):
    for e in (10, 2, 1):
        ck.save_checkpoint({"epoch": e}, ck.epoch_path(tmp_path, e))
    (tmp_path / "models" / "epoch_x.pt").write_text("")
    assert [e for e, _ in ck.list_epochs(tmp_path)] == [1, 2, 10]


def test_rng_states_of_older_checkpoints_still_load(tmp_path):
    """Epoch files saved before the RNG states became lists hold numpy's state as an array."""
    np.random.seed(5)
    path = tmp_path / "epoch_1.pt"
    torch.save({"rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                        "python": random.getstate()}}, path)
    expected = (np.random.rand(), random.random())
    np.random.seed(1)
    ck.restore_rng(ck.load_checkpoint(path)["rng"])
    assert (np.random.rand(), random.random()) == expected
