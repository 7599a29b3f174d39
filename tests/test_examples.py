"""The bundled examples: every patient gets the answer the README table documents."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from rdflib import RDF

from guidekg.cli import main
from guidekg.knowledge import knowledge
from guidekg.namespaces import GK, curie

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# patient -> (status, first-line or key classes that must be present, alerts that must be present)
EXPECTED = {
    "EX01-left-ras-wt": ("ok", {"gk:DoubletPlusAntiEGFR", "gk:SystemicTherapyFirst", "gk:DeferPrimaryTreatment"}, set()),
    "EX02-msi-high": ("ok", {"gk:ImmunotherapyFirstLine"}, {"gk:Alert_ConfirmRectalMSIH"}),
    "EX03-kras-mutant-fit": ("ok", {"gk:TripletPlusBevacizumab"}, set()),
    "EX04-braf-v600e-older": ("ok", {"gk:DoubletPlusBevacizumab"}, {"gk:Alert_ConfirmRectalBRAFV600E"}),
    "EX05-right-colon": ("ok", {"gk:TripletBackbone"}, {"gk:Alert_OutOfScopeNonRectal"}),
    "EX06-rectum-labelled-right": ("ok", {"gk:DoubletPlusAntiEGFR"}, {"gk:Alert_SidednessLabelConflict"}),
    "EX07-ecog3": ("ok", {"gk:NonIntensiveIndividualised"}, set()),
    "EX08-molecular-missing": ("ok", {"gk:MolecularTestingRequired"}, {"gk:Alert_AntiEGFRNotEligible"}),
    "EX09-kras-exon2-only-her2": ("ok", {"gk:MolecularTestingRequired"}, {"gk:Alert_IncompleteRASTesting", "gk:Alert_HER2Amplified"}),
    "EX10-symptomatic-low": ("ok", {"gk:SymptomaticPrimaryManagement", "gk:TripletPlusBevacizumab"}, {"gk:Alert_StentLowRectum"}),
    "EX11-reassessment-due": ("ok", {"gk:ResectabilityReassessmentDue"}, {"gk:Alert_LiverBiopsyWithoutHPBReview"}),
    "EX12-converted-one-stage": ("ok", {"gk:ConvertedToResectable", "gk:ShortCourseRadiotherapy", "gk:LiverFirstCandidate", "gk:OneStageHepatectomy"},
                                 {"gk:Alert_BevacizumabSurgeryInterval", "gk:Alert_CancelResectionAfterPETCR"}),
    "EX13-converted-two-stage": ("ok", {"gk:TwoStageHepatectomy"}, {"gk:Alert_PrimarySurgeryBeyondRTWindow"}),
    "EX14-post-hepatectomy-r1": ("ok", {"gk:PostoperativeChemotherapyContinuation", "gk:PostoperativeChemotherapyAfterR1"}, set()),
    "EX15-post-resection-r2": ("ok", set(), {"gk:Alert_IncompleteResectionR2", "gk:Alert_DebulkingHepatectomy"}),
    "EX16-contradictory-symptoms": ("contradictory", set(), set()),
    "EX17-unsafe-upfront-pelvis": ("ok", {"gk:ImmunotherapyFirstLine"},
                                   {"gk:Alert_MSIMMRDiscordant", "gk:Alert_UpfrontLongCourseCRT", "gk:Alert_PrimaryResectionAsymptomatic"}),
    "EX18-out-of-scope-missing-fitness": ("ok", set(), {"gk:Alert_OutOfScopeExtrahepatic", "gk:Alert_OutOfScopeUnilobar",
                                                        "gk:Alert_OutOfScopeResectable", "gk:Alert_MissingECOG", "gk:Alert_MissingAge"}),
    "EX19-converted-feasibility-missing": ("ok", {"gk:ConvertedToResectable"}, {"gk:Alert_MissingOneStageFeasibility", "gk:Alert_ReassessmentNotRecorded"}),
    "EX20-post-resection-margin-missing": ("ok", set(), {"gk:Alert_MissingResectionMargin"}),
    "EX21-symptoms-phase-unrecorded": ("ok", {"gk:DoubletPlusAntiEGFR"}, {"gk:Alert_MissingSymptomStatus", "gk:Alert_MissingTreatmentPhase"}),
}


@pytest.fixture(scope="module")
def csv_results():
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(["recommend", str(EXAMPLES / "patients.csv"), "--format", "json", "--explain"])
    return code, json.loads(buffer.getvalue())


def test_every_example_in_input_order_with_expected_answer(csv_results):
    code, data = csv_results
    assert code == 1  # the examples contain unsafe plans on purpose
    assert [d["patient"] for d in data] == list(EXPECTED)
    for entry in data:
        status, classes, alerts = EXPECTED[entry["patient"]]
        assert entry["status"] == status, entry["patient"]
        assert classes <= set(entry["treatment_classes"]), (entry["patient"], classes - set(entry["treatment_classes"]))
        got_alerts = {a["id"] for a in entry["alerts"]}
        assert alerts <= got_alerts, (entry["patient"], alerts - got_alerts)


def test_examples_reach_every_treatment_class_and_every_alert(csv_results):
    _, data = csv_results
    kb = knowledge()
    reached = {c for d in data for c in d["treatment_classes"]}
    assert {curie(c) for c in kb.treatment_classes} - reached == set()
    alerts = {a["id"] for d in data for a in d["alerts"]}
    declared = {curie(str(a)) for a in kb.graph.subjects(RDF.type, GK.Alert)}
    assert declared and declared - alerts == set()


def test_recommendations_carry_evidence_and_explanations(csv_results):
    _, data = csv_results
    first = data[0]
    recs = {r["id"]: r for r in first["recommendations"]}
    amend = recs["gk:Amend_AntiEGFREligibility"]
    assert amend["amends"] == "gk:Rec_S6b" and amend["category"] == "first-line-systemic"
    assert any(e.get("doi") for e in amend["evidence"])
    why = {e["class"]: e["because"] for e in first["explanation"]}
    assert any("KRAS" in line for line in why["gk:DoubletPlusAntiEGFR"])
    assert any("gk:Rectum" in line for line in why["gk:DoubletPlusAntiEGFR"])


def test_turtle_examples_give_the_same_answers(csv_results):
    from guidekg.recommend import recommend

    _, data = csv_results
    by_csv = {d["patient"]: d for d in data}
    for result in recommend([EXAMPLES / "patients.ttl"]):
        entry = result.as_json()
        ref = by_csv[entry["patient"]]
        assert entry["status"] == ref["status"]
        assert entry["treatment_classes"] == ref["treatment_classes"]
        assert [r["id"] for r in entry["recommendations"]] == [r["id"] for r in ref["recommendations"]]
        assert [a["id"] for a in entry["alerts"]] == [a["id"] for a in ref["alerts"]]
