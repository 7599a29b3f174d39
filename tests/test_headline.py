"""Headline and terminal output (issue 11 §4), and the examples' plan verdicts as exact data
(issue 17: anything extra or missing fails).

tests/data/expected/examples-plan.json was written by hand from the guideline for each example
of examples/patients.csv; it is never regenerated from the output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guidekg.export.table import render_table
from guidekg.recommend import recommend

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "tests" / "data" / "expected" / "examples-plan.json").read_text(encoding="utf-8"))
EXPECTED.pop("_comment")


@pytest.fixture(scope="module")
def results():
    return recommend([ROOT / "examples" / "patients.csv"])


def test_examples_plan_is_exactly_as_expected(results):
    got = {r.record.patient_id: [{k: p[k] for k in ("action", "from", "verdict", "rule")} for p in r.plan] for r in results}
    assert set(got) == set(EXPECTED), "every example patient has a hand-checked plan expectation"
    for patient, plan in EXPECTED.items():
        assert got[patient] == plan, patient


def test_plan_and_headline_json_shape(results):
    for result in results:
        data = result.as_json()
        headline = data["headline"]
        assert set(headline) == {"text", "first_line", "next_steps", "missing"}
        assert isinstance(headline["text"], str) and headline["text"]
        assert headline["first_line"] is None or set(headline["first_line"]) == {"class", "label"}
        assert all(set(step) == {"id", "label"} for step in headline["next_steps"])
        for entry in data["plan"]:
            assert set(entry) == {"action", "from", "codes", "verdict", "reason", "rule", "evidence"}
            assert entry["from"] in ("planned", "current")
            assert entry["verdict"] in ("recommended", "consistent", "not-recommended", "contraindicated", "needs-data", "not-addressed")


@pytest.mark.parametrize("patient, first_line, starts", [
    ("EX01-left-ras-wt", "gk:DoubletPlusAntiEGFR", "First line: doublet chemotherapy plus anti-EGFR."),
    ("EX02-msi-high", "gk:ImmunotherapyFirstLine", "First line: first-line immunotherapy"),
    ("EX08-molecular-missing", None, "Test first: Comprehensive molecular profiling"),
    ("EX17-unsafe-upfront-pelvis", None, "Test first:"),  # discordant MSI/MMR: testing first, no regimen
    ("EX14-post-hepatectomy-r1", None, "No first-line choice at this stage."),  # nothing pre-operative after hepatectomy
    ("EX16-contradictory-symptoms", None, "Contradictory record"),
])
def test_headline_first_line_or_what_comes_first(results, patient, first_line, starts):
    result = next(r for r in results if r.record.patient_id == patient)
    assert (result.headline["first_line"] or {}).get("class") == first_line
    assert result.headline["text"].startswith(starts)


def test_headline_names_next_step_contraindications_and_missing_facts(results):
    by_id = {r.record.patient_id: r for r in results}
    assert by_id["EX11-reassessment-due"].headline["next_steps"][0]["id"] == "gk:Rec_S7"
    assert "Contraindicated in the plan: liver biopsy." in by_id["EX11-reassessment-due"].headline["text"]
    assert by_id["EX18-out-of-scope-missing-fitness"].headline["missing"] == ["age in years", "ECOG performance status"]
    assert by_id["EX22-liver-first-rectum-untreated"].headline["next_steps"][0]["id"] == "gk:Amend_PelvicRadiotherapyByScenario"


def test_table_is_headline_first_and_collapses_general_principles(results):
    text = render_table(results)
    block = text.split("== EX11-reassessment-due")[1].split("\n== ")[0].splitlines()
    assert block[1].startswith("   >> First line: triplet chemotherapy plus bevacizumab.")
    assert block[2].startswith("   plan XX liver biopsy (planned): contraindicated")
    alert = block.index("   ALERT violation: Liver biopsy planned before hepatobiliary discussion")
    assert "hepatobiliary" in block[alert + 1]  # the message, not only the title
    assert "Multidisciplinary decisions with hepatobiliary resectability review" not in "\n".join(block)
    assert "   + 3 general principles that apply to every patient (--all shows them)" in block
    everything = render_table(results, show_all=True)
    assert everything.count("Multidisciplinary decisions with hepatobiliary resectability review") == 23  # all but the contradictory


def test_cli_recommend_examples_headline_first(tmp_path):
    from guidekg.cli import main

    out = tmp_path / "out.txt"
    assert main(["recommend", str(ROOT / "examples" / "patients.csv"), "--out", str(out)]) == 1
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("== EX01-left-ras-wt") and lines[1].startswith("   >> First line:")
