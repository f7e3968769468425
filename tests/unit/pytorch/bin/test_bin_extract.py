"""pytorch.bin.extract refuses option combinations it cannot honour, before touching any file."""
import pytest

from pytorch.bin import extract


def test_bfloat16_needs_the_torch_engine(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        extract.main(["--exp", str(tmp_path / "exp"), "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"),
                      "--engine", "onnx", "--dtype", "bfloat16"])
    assert e.value.code == 2
    assert "--dtype bfloat16 needs --engine torch" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
