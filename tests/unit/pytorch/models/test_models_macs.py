"""MAC counter on hand-computed cases, and the model_info CLI."""
import torch
from torch import nn

from pytorch.bin.model_info import main as info_main
from pytorch.models.macs import count_macs

torch.set_num_threads(1)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3, padding=1)
        self.grouped = nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.fc = nn.Linear(6, 5)
        self.w = nn.Parameter(torch.randn(5, 7))

    def forward(self, x):                     # x [1, 4, 10]
        y = self.conv(x)                      # 6*10 outputs x 4*3 = 720
        z = self.grouped(x.unsqueeze(2).expand(-1, -1, 2, -1))   # 8*2*10 outputs x 2*9 = 2880
        h = self.fc(y.transpose(1, 2))        # 10*5 outputs x 6 = 300
        return h @ self.w + z.sum()           # 10*7 outputs x 5 = 350


def test_count_macs_by_hand():
    assert count_macs(Tiny(), torch.randn(1, 4, 10)) == 720 + 2880 + 300 + 350


def test_model_info_cli(tmp_path, capsys):
    cfg = tmp_path / "m.yaml"
    cfg.write_text("model: {name: ecapa_tdnn, feat_dim: 80, channels: 512}\n")
    assert info_main(["--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "6,190,720" in out and "embed_dim:  192" in out and "200 frames (2.00 s)" in out
    gmacs = float(out.split("MACs:")[1].split()[0])
    # per frame: stem 80*512*5, 3 blocks x (2*512^2 + 7*64*64*3), MFA 1536^2, attention 2*1536*128
    # = 4.79M; x 200 frames = 0.958G, plus the per-utterance head and SE (~1M)
    assert 0.94 < gmacs < 0.97


def test_model_info_bad_key(tmp_path, capsys):
    cfg = tmp_path / "m.yaml"
    cfg.write_text("model: {name: ecapa_tdnn, feat_dim: 80, chanels: 512}\n")
    assert info_main(["--config", str(cfg)]) == 1
    assert "model_info: error: model (ecapa_tdnn): unknown key 'chanels'" in capsys.readouterr().err
