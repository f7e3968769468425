"""TorchScript and ONNX exports match eager PyTorch within 1e-4, with dynamic batch/time axes."""
import numpy as np
import pytest
import torch
import yaml
from torch import nn

from pytorch.bin.export import checkpoint_name
from pytorch.bin.export import main as export_main
from pytorch.export import ExportError, check_parity, export_model, torchscript_bytes
from pytorch.models import build_model
from pytorch.training.checkpoint import save_checkpoint

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")

SMALL = {
    "resnet34se": dict(feat_dim=16, base_channels=4, embed_dim=24, pooling={"name": "asp", "hidden": 8}),
    "ecapa_tdnn": dict(feat_dim=16, channels=32, mfa_channels=96, se_bottleneck=8, scale=4, embed_dim=24),
    "res2next50": dict(feat_dim=16, base_channels=16, embed_dim=24),
    "tdnn": dict(feat_dim=16, hidden=32, stats_dim=48, embed_dim=24, pooling={"name": "mqmha", "heads": 2}),
}


def small(name):
    torch.manual_seed(0)
    model = build_model({"name": name, **SMALL[name]})
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_export_both_formats_with_parity(name, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    model = small(name)
    res = export_model(model, tmp_path / "models", "avg", ["torchscript", "onnx"])
    assert res["torchscript"][0] == tmp_path / "models" / "avg.ts.pt"
    assert res["onnx"][0] == tmp_path / "models" / "avg.onnx"
    assert all(d <= 1e-4 for _, d in res.values())
    # reload from disk and run a shape not used during export or parity
    ts = torch.jit.load(str(res["torchscript"][0]))
    import onnxruntime as ort
    sess = ort.InferenceSession(str(res["onnx"][0]), providers=["CPUExecutionProvider"])
    x = torch.randn(5, 63, 16)
    with torch.no_grad():
        ref = model(x).numpy()
        assert np.abs(ts(x).numpy() - ref).max() <= 1e-4
    assert np.abs(sess.run(None, {"feats": x.numpy()})[0] - ref).max() <= 1e-4


def test_parity_failure_is_detected_and_nothing_written(tmp_path):
    model = small("tdnn")
    other = small("tdnn")
    with torch.no_grad():
        other.segment.bias.add_(1.0)
    with pytest.raises(ExportError, match="exceeds"):
        check_parity(model, torchscript_bytes(other), "torchscript")


def test_unknown_format(tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_model(small("tdnn"), tmp_path, "avg", ["tflite"])
    assert not list(tmp_path.iterdir())


def test_checkpoint_name():
    assert checkpoint_name("avg") == "avg"
    assert checkpoint_name("models/avg.pt") == "avg"
    assert checkpoint_name("epoch_10.pt") == "epoch_10"


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert export_main(["--exp", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("export: error:") and "config.yaml not found" in err and err.count("\n") == 1
    assert export_main(["--exp", str(tmp_path), "--formats", "onnx,tflite"]) == 1
    assert "--formats" in capsys.readouterr().err


def test_cli_exports_a_saved_checkpoint(tmp_path, capsys):
    """The CLI loads models/avg.pt through the checkpoint loader (weights only) and exports it."""
    pytest.importorskip("onnxruntime")
    cfg = {"model": {"name": "ecapa_tdnn", **SMALL["ecapa_tdnn"]}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    model = small("ecapa_tdnn")
    save_checkpoint({"model": model.state_dict(), "epochs": [1], "config": cfg},
                    tmp_path / "models" / "avg.pt")
    assert export_main(["--exp", str(tmp_path), "--checkpoint", "models/avg.pt", "--verbose", "true"]) == 0
    ts = torch.jit.load(str(tmp_path / "models" / "avg.ts.pt"))
    x = torch.randn(2, 50, SMALL["ecapa_tdnn"]["feat_dim"])
    with torch.no_grad():
        torch.testing.assert_close(ts(x), model.eval()(x), atol=1e-4, rtol=0)
    assert (tmp_path / "models" / "avg.ts.pt").is_file() and (tmp_path / "models" / "avg.onnx").is_file()
    out = capsys.readouterr().out
    assert "torchscript:" in out and "onnx:" in out
