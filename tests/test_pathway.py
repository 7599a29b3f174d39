"""The care pathway: built from the ontology, the patient's real next step, and a legible deterministic SVG."""

from __future__ import annotations

from pathlib import Path

from guidekg.cli import main
from guidekg.commands.pathway import next_steps
from guidekg.namespaces import GK
from guidekg.pathway import EXIT, build_pathway, svg
from guidekg.review.model import load_ontology

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "patients.csv"


def _results():
    from guidekg.recommend import recommend

    return {r.record.patient_id: r for r in recommend([EXAMPLES])}


def test_real_next_step_not_every_successor():
    path = build_pathway(load_ontology().graph)
    results = _results()
    position = {pid: path.position(r.classes, r.record.values(str(GK.treatmentPhase))) for pid, r in results.items()}
    # at hepatectomy: the next step is postoperative care, never molecular testing (issue 15)
    assert position["EX12-converted-one-stage"] == (["gk:Step_Hepatectomy"], ["gk:Step_Postoperative"])
    assert position["EX11-reassessment-due"] == (["gk:Step_Reassessment"], ["gk:Step_Converted"])
    assert position["EX08-molecular-missing"][1] == ["gk:Step_FirstLine"]
    assert position["EX05-right-colon"] == ([EXIT], [])
    assert position["EX14-post-hepatectomy-r1"] == (["gk:Step_Postoperative"], [])
    # the pathway's shape still lists every successor
    assert "gk:Step_Converted" in path.next_steps(["gk:Step_Reassessment"])


def test_decision_layer_headline_wins_when_present():
    path = build_pathway(load_ontology().graph)
    result = _results()["EX12-converted-one-stage"]

    class WithHeadline:
        record, classes = result.record, result.classes

        def as_json(self):
            return {"headline": {"next_steps": [{"id": "gk:Rec_S16a", "label": "one-stage hepatectomy"}]}}

    # the §5.1 contract: next steps are {id, label}; printed as words, never as a Python dict
    assert next_steps(WithHeadline(), path)[1:] == (["one-stage hepatectomy (gk:Rec_S16a)"], "decision layer (headline.next_steps)")
    real = next_steps(result, path)
    assert real[2] == "decision layer (headline.next_steps)" and real[1]
    assert all("{" not in step and step.endswith(")") for step in real[1])


def test_pathway_svg_is_deterministic_with_conditions_branches_and_links():
    first = svg(build_pathway(load_ontology().graph))
    second = svg(build_pathway(load_ontology().graph))
    assert first == second
    assert 'data-id="branch:gk:NonIntensiveIndividualised"' in first and ">individualised</tspan>" in first  # ECOG 3-4 branch
    assert "ecog some integer[&gt;= 3]" in first  # its condition on the edge
    assert 'data-id="exit:out-of-scope"' in first and "extrahepatic disease" in first
    assert "converted to resectable" in first and "<title>" in first and 'href="#cls-' in first
    assert "<image" not in first and "http://" not in first.replace("http://www.w3.org/2000/svg", "")


def test_pathway_command_prints_the_real_next_step(tmp_path, capsys):
    out = tmp_path / "pathway.svg"
    assert main(["pathway", "--patient", str(EXAMPLES), "--id", "EX12-converted-one-stage", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "now at one-stage or two-stage hepatectomy" in text and "molecular testing" not in text.split("next:")[1]
    assert b"<svg" in out.read_bytes()[:300]
