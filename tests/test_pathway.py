"""The care pathway: built from the ontology, a patient's position and next steps, drawn via the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidekg.cli import main
from guidekg.pathway import build_pathway
from guidekg.review.drawing import available
from guidekg.review.model import load_ontology

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "patients.csv"


def test_patient_position_and_next_steps():
    from guidekg.recommend import recommend

    path = build_pathway(load_ontology().graph)
    result = next(r for r in recommend([EXAMPLES]) if r.record.patient_id == "EX11-reassessment-due")
    steps = path.steps_of(result.classes)
    assert "gk:Step_Reassessment" in steps
    assert "gk:Step_Converted" in path.next_steps(steps)


@pytest.mark.skipif(not available(), reason="matplotlib is not installed (pip install 'guidekg[review]')")
@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_pathway_command_draws(tmp_path, capsys, suffix):
    out = tmp_path / f"pathway.{suffix}"
    assert main(["pathway", "--patient", str(EXAMPLES), "--id", "EX03-kras-mutant-fit", "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in data[:2000]
    assert "EX03-kras-mutant-fit" in capsys.readouterr().out
