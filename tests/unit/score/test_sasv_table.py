"""score.bin.sasv_table: one row per system with DEV/EVAL SASV/SV/SPF-EER from its score files, and a CM table
from cm_metrics JSON files, on hand-made trial lists whose EERs are known (perfect and inverted systems)."""
from __future__ import annotations

import json

from score.bin import sasv_table

TRIALS = [("s1", "u1", "target"), ("s1", "u2", "nontarget"), ("s1", "u3", "spoof"),
          ("s2", "u4", "target"), ("s2", "u1", "nontarget"), ("s2", "u5", "spoof")]


def _write(tmp_path, name, score_of):
    p = tmp_path / name
    p.write_text("".join(f"{e} {t} {score_of[lab]}\n" for e, t, lab in TRIALS))
    return str(p)


def test_rows_and_cm_table(tmp_path, capsys):
    trials = tmp_path / "trials"
    trials.write_text("".join(" ".join(t) + "\n" for t in TRIALS))
    good = _write(tmp_path, "good", {"target": 2.0, "nontarget": 0.0, "spoof": 1.0})
    # spoofs outscore targets, nontargets do not: SV-EER 0, SPF-EER 100, SASV-EER 50 (2 of 4 negatives above)
    fooled = _write(tmp_path, "fooled", {"target": 1.0, "nontarget": 0.0, "spoof": 2.0})
    cm = tmp_path / "cm.json"
    cm.write_text(json.dumps({"cm_eer": 12.5, "min_tdcf": 0.25, "eer_per_attack": {"A01": 10.0, "A02": 15.0}}))
    rc = sasv_table.main(["--dev-trials", str(trials), "--eval-trials", str(trials), "--title", "T",
                          "--system", f"good=={good},{good}", "--system", f"x: fooled={fooled},{fooled}",
                          "--cm", f"aasist={cm},{cm}"])
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "# T"
    assert "| good= | 0.00 | 0.00 | 0.00 | 0.00 | 0.00 | 0.00 |" in out      # the name may hold '='
    assert "| x: fooled | 50.00 | 0.00 | 100.00 | 50.00 | 0.00 | 100.00 |" in out
    assert "| aasist | 12.50 | 0.2500 | 12.50 | 0.2500 | 10.00 | 15.00 |" in out
    assert any(line.endswith("EVAL EER A01 | EVAL EER A02 |") for line in out)


def test_bad_spec_is_one_line(tmp_path, capsys):
    assert sasv_table.main(["--dev-trials", "t", "--eval-trials", "t", "--system", "nofiles"]) == 1
    assert "expected <name>=<dev-file>,<eval-file>" in capsys.readouterr().err
