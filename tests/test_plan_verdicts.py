"""Plan verdicts (issue 11, ARCHITECTURE §5.1): every unsafe plan the issue lists is flagged with
the right verdict, rule and alert, and the plans the guideline supports are not.

Base row of the issue: age 60, ECOG 1, mid rectum, bilobar, non-resectable, asymptomatic,
MSS/pMMR, KRAS mutant, NRAS/BRAF wild type, pre-treatment. Expectations are written by hand
from the guideline, never read from the output.
"""

from __future__ import annotations

import pytest
from rdflib import XSD, Literal

from guidekg.recommend import assess
from patients import patient

KRAS_MUT = dict(krasStatus="KRAS_Mutant", rectalLevel="MidRectum")
ON_CHEMO = dict(treatmentPhase="OnFirstLineChemotherapy", monthsOnChemotherapy=3.0, monthsSinceResectabilityAssessment=1.0)


def run(**facts):
    overrides = dict(KRAS_MUT, patientId=Literal("plan-case", datatype=XSD.string))
    overrides.update(facts)
    return assess([patient("plan-case", **overrides)])[0]


def verdict(result, action: str, origin: str = "planned") -> dict:
    found = [p for p in result.plan if p["action"] == action and p["from"] == origin]
    assert len(found) == 1, f"{action} ({origin}) not judged exactly once: {result.plan}"
    return found[0]


def alert_ids(result) -> dict[str, str]:
    return {a["id"]: a["severity"] for a in result.alerts}


# (case id, facts, action, from, verdict, rule, alert, severity)
UNSAFE = [
    ("current_cetuximab_kras_mutant_on_chemo", dict(ON_CHEMO, currentRegimen=["FOLFOX", "Cetuximab"]),
     "cetuximab", "current", "contraindicated", "gk:Shape_AntiEGFRNotEligible", "gk:Alert_AntiEGFRNotEligible", "violation"),
    ("current_cetuximab_kras_mutant_after_resection",
     dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R0", monthsOnChemotherapy=4.0,
          currentRegimen=["FOLFOX", "Cetuximab"]),
     "cetuximab", "current", "contraindicated", "gk:Shape_AntiEGFRNotEligible", "gk:Alert_AntiEGFRNotEligible", "violation"),
    ("anti_egfr_msi_high", dict(krasStatus="KRAS_Wildtype", msiStatus="MSI_High", mmrStatus="dMMR", plannedAction=["Cetuximab"]),
     "cetuximab", "planned", "contraindicated", "gk:Shape_AntiEGFRNotEligible", "gk:Alert_AntiEGFRNotEligible", "violation"),
    ("anti_egfr_dmmr_only", dict(krasStatus="KRAS_Wildtype", msiStatus="MSI_NotTested", mmrStatus="dMMR", plannedAction=["Panitumumab"]),
     "panitumumab", "planned", "contraindicated", "gk:Shape_AntiEGFRNotEligible", "gk:Alert_AntiEGFRNotEligible", "violation"),
    ("anti_egfr_msi_unknown", dict(krasStatus="KRAS_Wildtype", msiStatus="MSI_NotTested", mmrStatus="MMR_NotTested",
                                   plannedAction=["Panitumumab"]),
     "panitumumab", "planned", "contraindicated", "gk:Shape_AntiEGFRNotEligible", "gk:Alert_AntiEGFRNotEligible", "violation"),
    ("intensive_planned_ecog3", dict(ecog=3, plannedAction=["FOLFOX"]),
     "FOLFOX", "planned", "contraindicated", "gk:Shape_IntensiveRegimenUnfit", "gk:Alert_IntensiveRegimenUnfit", "violation"),
    ("intensive_current_ecog4", dict(ON_CHEMO, ecog=4, currentRegimen=["CAPOX"]),
     "CAPOX", "current", "contraindicated", "gk:Shape_IntensiveRegimenUnfit", "gk:Alert_IntensiveRegimenUnfit", "violation"),
    ("hepatectomy_non_resectable_no_hpb", dict(plannedAction=["Hepatectomy"]),
     "hepatectomy", "planned", "contraindicated", "gk:Shape_HepatectomyWithoutHPBReview", "gk:Alert_HepatectomyWithoutHPBReview", "violation"),
    ("hepatectomy_converted_no_hpb", dict(ON_CHEMO, resectability="ConvertedResectable", oneStageHepatectomyFeasible=True,
                                          hpbMdtReviewed=False, plannedAction=["Hepatectomy"]),
     "hepatectomy", "planned", "contraindicated", "gk:Shape_HepatectomyWithoutHPBReview", "gk:Alert_HepatectomyWithoutHPBReview", "violation"),
    ("one_stage_not_feasible", dict(ON_CHEMO, resectability="ConvertedResectable", oneStageHepatectomyFeasible=False,
                                    hpbMdtReviewed=True, plannedAction=["Hepatectomy"]),
     "hepatectomy", "planned", "contraindicated", "gk:Shape_OneStageNotFeasible", "gk:Alert_OneStageNotFeasible", "violation"),
    ("folfoxiri_73_ecog1", dict(age=73, ecog=1, plannedAction=["FOLFOXIRI"]),
     "FOLFOXIRI", "planned", "contraindicated", "gk:Shape_TripletOutsideTrialEligibility", "gk:Alert_TripletOutsideTrialEligibility", "violation"),
    ("folfoxiri_78_ecog1", dict(age=78, ecog=1, plannedAction=["FOLFOXIRI"]),
     "FOLFOXIRI", "planned", "contraindicated", "gk:Shape_TripletOutsideTrialEligibility", "gk:Alert_TripletOutsideTrialEligibility", "violation"),
    ("folfoxiri_80_ecog0", dict(age=80, ecog=0, plannedAction=["FOLFOXIRI"]),
     "FOLFOXIRI", "planned", "contraindicated", "gk:Shape_TripletOutsideTrialEligibility", "gk:Alert_TripletOutsideTrialEligibility", "violation"),
    ("pembrolizumab_planned_mss", dict(plannedAction=["Pembrolizumab"]),
     "pembrolizumab", "planned", "contraindicated", "gk:Shape_ImmunotherapyNotMSIH", "gk:Alert_ImmunotherapyNotMSIH", "violation"),
    ("pembrolizumab_current_mss", dict(ON_CHEMO, currentRegimen=["Pembrolizumab"]),
     "pembrolizumab", "current", "contraindicated", "gk:Shape_ImmunotherapyNotMSIH", "gk:Alert_ImmunotherapyNotMSIH", "violation"),
    ("short_course_rt_asymptomatic_non_resectable", dict(plannedAction=["ShortCourseRT"]),
     "short-course RT", "planned", "not-recommended", "gk:Rec_S10", "gk:Alert_PlanNotRecommended", "warning"),
    ("pelvic_rt_asymptomatic_non_resectable", dict(plannedAction=["PelvicRT"]),
     "pelvic RT", "planned", "not-recommended", "gk:Rec_S10", "gk:Alert_PlanNotRecommended", "warning"),
]


@pytest.mark.parametrize("case", UNSAFE, ids=[c[0] for c in UNSAFE])
def test_unsafe_plan_is_flagged(case):
    _, facts, action, origin, expected, rule, alert, severity = case
    result = run(**facts)
    assert result.status == "ok"
    entry = verdict(result, action, origin)
    assert (entry["verdict"], entry["rule"]) == (expected, rule), entry
    assert alert_ids(result).get(alert) == severity
    assert entry["reason"]


def test_no_continue_the_same_backbone_when_the_current_regimen_is_contraindicated():
    result = run(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R0",
                 monthsOnChemotherapy=4.0, currentRegimen=["FOLFOX", "Cetuximab"])
    assert "gk:Rec_S22a" not in {r["id"] for r in result.recommendations}
    safe = run(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R0",
               monthsOnChemotherapy=4.0, currentRegimen=["FOLFOX"])
    assert "gk:Rec_S22a" in {r["id"] for r in safe.recommendations}
    assert verdict(safe, "FOLFOX", "current")["verdict"] == "consistent"


@pytest.mark.parametrize("facts, expected", [
    # left-sided, all wild type, MSS: FOLFOX + panitumumab is the guideline's own plan
    (dict(krasStatus="KRAS_Wildtype", plannedAction=["FOLFOX", "Panitumumab"]),
     {("FOLFOX", "recommended", "gk:Rec_S0"), ("panitumumab", "recommended", "gk:Amend_AntiEGFREligibility")}),
    (dict(krasStatus="KRAS_Wildtype", plannedAction=["CAPOX", "AntiEGFR"]),
     {("CAPOX", "recommended", "gk:Rec_S1"), ("anti-EGFR", "consistent", "gk:Amend_AntiEGFREligibility")}),
    # KRAS mutant, 60, ECOG 1: FOLFOXIRI + bevacizumab (TRIBE-eligible)
    (dict(plannedAction=["FOLFOXIRI", "Bevacizumab"]),
     {("FOLFOXIRI", "recommended", "gk:Rec_S5"), ("bevacizumab", "recommended", "gk:Rec_S5")}),
    # 72 with ECOG 0 is inside TRIBE
    (dict(age=72, ecog=0, plannedAction=["FOLFOXIRI"]), {("FOLFOXIRI", "recommended", "gk:Rec_S5")}),
    # MSI-H/dMMR: pembrolizumab
    (dict(msiStatus="MSI_High", mmrStatus="dMMR", plannedAction=["Pembrolizumab"]),
     {("pembrolizumab", "recommended", "gk:Amend_MSIHNoRASNeeded")}),
    # converted, reviewed, one stage feasible: hepatectomy
    (dict(ON_CHEMO, resectability="ConvertedResectable", oneStageHepatectomyFeasible=True, hpbMdtReviewed=True,
          plannedAction=["Hepatectomy"]), {("hepatectomy", "recommended", "gk:Amend_OneStageConditional")}),
    # ECOG 3: the amendment's own proposal (was 'not-addressed' while the amendment was marked
    # gk:judgedBy the intensive-regimen shape, which made its actions restrictions)
    (dict(ecog=3, plannedAction=["IndividualisedSystemicTherapy"]),
     {("individualised non-intensive systemic therapy or best supportive care", "recommended",
       "gk:Amend_FitnessECOG3")}),
])
def test_supported_plan_is_recommended_or_consistent(facts, expected):
    result = run(**facts)
    got = {(p["action"], p["verdict"], p["rule"]) for p in result.plan}
    assert got == expected
    assert not any(a["severity"] == "violation" for a in result.alerts), result.alerts


def test_contradictory_patient_keeps_its_safety_alerts():
    """Issue 17: a planned cetuximab on a contradictory record still raises its alert."""
    result = run(primarySymptomatic=False, primarySymptom="Bleeding", plannedAction=["Cetuximab"])
    assert result.status == "contradictory"
    assert alert_ids(result).get("gk:Alert_AntiEGFRNotEligible") == "violation"
    entry = verdict(result, "cetuximab")
    assert (entry["verdict"], entry["rule"]) == ("contraindicated", "gk:Shape_AntiEGFRNotEligible")
    as_json = result.as_json()
    assert any(a["id"] == "gk:Alert_AntiEGFRNotEligible" for a in as_json["alerts"])
    assert as_json["headline"]["text"].startswith("Contradictory record")


def test_verdict_alerts_carry_the_action_and_reason():
    result = run(plannedAction=["ShortCourseRT"])
    alert = next(a for a in result.alerts if a["id"] == "gk:Alert_PlanNotRecommended")
    assert any("short-course RT" in d and "not-recommended" in d for d in alert["details"])


# ---------------------------------------------------------------- phases (issue 11 §3)
PRE_OPERATIVE = {"gk:Rec_S16a", "gk:Amend_OneStageConditional", "gk:Rec_S19c", "gk:Rec_S20", "gk:Rec_S8", "gk:Rec_S12", "gk:Rec_S15a"}


def test_nothing_pre_operative_after_hepatectomy():
    result = run(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", resectionMargin="R0",
                 monthsOnChemotherapy=4.0, primaryStatus="PrimaryResected")
    ids = {r["id"] for r in result.recommendations}
    assert not ids & PRE_OPERATIVE
    assert not {r["id"] for r in result.recommendations if r["category"] == "first-line-systemic"}
    assert "gk:Alert_MissingOneStageFeasibility" not in alert_ids(result)
    assert "gk:Rec_S22a" in ids
    before = run(**ON_CHEMO, resectability="ConvertedResectable")
    assert "gk:Alert_MissingOneStageFeasibility" in alert_ids(before)


def test_liver_first_after_hepatectomy_rectum_untreated_gets_pelvic_rt_then_resection():
    result = run(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", resectionMargin="R0",
                 monthsOnChemotherapy=4.0, primaryStatus="PrimaryUntreated", plannedAction=["ShortCourseRT", "RectalResection"])
    ids = {r["id"] for r in result.recommendations}
    assert {"gk:Amend_PelvicRadiotherapyByScenario", "gk:Rec_S11"} <= ids
    assert verdict(result, "short-course RT")["verdict"] == "recommended"
    assert verdict(result, "rectal resection")["verdict"] == "recommended"
    assert "gk:LiverFirstPrimaryUntreated" in {c.rsplit("#", 1)[-1] and "gk:" + c.rsplit("#", 1)[-1] for c in result.treatment_classes}


def test_rt_to_surgery_window_checked_after_hepatectomy():
    result = run(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", resectionMargin="R0",
                 monthsOnChemotherapy=4.0, primaryStatus="PrimaryIrradiated", monthsSinceShortCourseRT=7.0)
    assert "gk:Alert_PrimarySurgeryBeyondRTWindow" in alert_ids(result)
    assert "gk:Rec_S11" in {r["id"] for r in result.recommendations}


def test_bevacizumab_current_surgery_planned_without_last_dose_needs_data():
    result = run(**ON_CHEMO, resectability="ConvertedResectable", oneStageHepatectomyFeasible=True, hpbMdtReviewed=True,
                 currentRegimen=["FOLFOXIRI", "Bevacizumab"], plannedAction=["Hepatectomy"])
    entry = verdict(result, "hepatectomy")
    assert (entry["verdict"], entry["rule"]) == ("needs-data", "gk:Shape_BevacizumabLastDoseMissing")
    assert alert_ids(result).get("gk:Alert_BevacizumabLastDoseMissing") == "warning"
    assert "date of last bevacizumab dose" in result.headline["missing"]


def test_on_chemotherapy_without_duration_needs_data():
    result = run(treatmentPhase="OnFirstLineChemotherapy", currentRegimen=["FOLFOX", "Bevacizumab"])
    for action in ("FOLFOX", "bevacizumab"):
        entry = verdict(result, action, "current")
        assert (entry["verdict"], entry["rule"]) == ("needs-data", "gk:Shape_ChemotherapyDurationMissing")
    assert alert_ids(result).get("gk:Alert_ChemotherapyDurationMissing") == "warning"
    recorded = run(**ON_CHEMO, currentRegimen=["FOLFOXIRI", "Bevacizumab"])
    assert verdict(recorded, "FOLFOXIRI", "current")["verdict"] == "recommended"


# ---------------------------------------------------------------- class logic (issue 11 §2)
def test_discordant_msi_mmr_is_testing_first_with_no_regimen():
    for msi, mmr in (("MSI_High", "pMMR"), ("MSS", "dMMR")):
        result = run(msiStatus=msi, mmrStatus=mmr, plannedAction=["Pembrolizumab"])
        categories = {r["category"] for r in result.recommendations}
        assert "first-line-systemic" not in categories
        assert "testing" in categories
        assert result.headline["first_line"] is None
        assert result.headline["text"].startswith("Test first")
        assert verdict(result, "pembrolizumab")["verdict"] == "contraindicated"


def test_immunotherapy_patients_get_no_chemotherapy_backbone():
    result = run(msiStatus="MSI_High", mmrStatus="dMMR")
    ids = {r["id"] for r in result.recommendations}
    assert {"gk:Rec_S2", "gk:Amend_MSIHNoRASNeeded"} <= ids
    assert not ids & {"gk:Rec_S0", "gk:Rec_S1"}


def test_kras_exon2_only_with_nras_mutation_does_not_ask_to_complete_ras_testing():
    result = run(krasStatus="KRAS_Exon2WildtypeOnly", nrasStatus="NRAS_Mutant")
    assert "gk:Alert_IncompleteRASTesting" not in alert_ids(result)
    assert "gk:Amend_ExtendedRASTesting" not in {r["id"] for r in result.recommendations}
    still = run(krasStatus="KRAS_Exon2WildtypeOnly", nrasStatus="NRAS_Wildtype")
    assert "gk:Alert_IncompleteRASTesting" in alert_ids(still)


def test_six_months_of_perioperative_chemotherapy_is_target_reached_not_continue():
    post = dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R0")
    done = run(**post, monthsOnChemotherapy=6.0, currentRegimen=["FOLFOX"], plannedAction=["PostoperativeChemotherapy"])
    ids = {r["id"] for r in done.recommendations}
    assert "gk:Rec_S22a_TargetReached" in ids and "gk:Rec_S22a" not in ids
    for action, origin in (("postoperative chemotherapy", "planned"), ("FOLFOX", "current")):
        entry = verdict(done, action, origin)
        assert (entry["verdict"], entry["rule"]) == ("not-recommended", "gk:Rec_S22a_TargetReached")
    ongoing = run(**post, monthsOnChemotherapy=5.0, currentRegimen=["FOLFOX"])
    assert "gk:Rec_S22a" in {r["id"] for r in ongoing.recommendations}
    unknown = run(**post, currentRegimen=["FOLFOX"])
    entry = verdict(unknown, "FOLFOX", "current")
    assert (entry["verdict"], entry["rule"]) == ("needs-data", "gk:Shape_PerioperativeMonthsMissing")
    assert "months on chemotherapy" in unknown.headline["missing"]


def test_on_chemotherapy_two_months_without_reassessment_is_due():
    result = run(treatmentPhase="OnFirstLineChemotherapy", monthsOnChemotherapy=2.0, currentRegimen=["FOLFOXIRI", "Bevacizumab"])
    assert alert_ids(result).get("gk:Alert_ReassessmentNotRecorded") == "warning"
    assert "months since resectability assessment" in result.headline["missing"]
    early = run(treatmentPhase="OnFirstLineChemotherapy", monthsOnChemotherapy=1.5, currentRegimen=["FOLFOXIRI", "Bevacizumab"])
    assert "gk:Alert_ReassessmentNotRecorded" not in alert_ids(early)


@pytest.mark.slow
def test_new_plan_shapes_compiled_equal_pyshacl():
    """The compiled validator (the batch path) and pySHACL give the same findings on every case above
    (slow: pySHACL takes 7-15 s here; the quick loop checks the same cases through the compiled validator)."""
    from guidekg.fastvalidate import compile_validator
    from guidekg.validate import validate_records

    records = [patient(f"case-{i}", **dict(KRAS_MUT, patientId=Literal(f"case-{i}", datatype=XSD.string), **facts))
               for i, (_, facts, *_rest) in enumerate(UNSAFE)]
    records.append(patient("bev", **dict(KRAS_MUT, patientId=Literal("bev", datatype=XSD.string), **ON_CHEMO,
                                         resectability="ConvertedResectable", currentRegimen=["Bevacizumab"],
                                         plannedAction=["Hepatectomy"])))
    compiled = compile_validator()
    assert compiled is not None, "the safety shapes must stay within the compiled subset"
    fast = compiled.validate(records)
    reference = validate_records(records)
    key = lambda fs: sorted((f.severity, f.path or "", f.message, f.alert or "") for f in fs)  # noqa: E731
    for record in records:
        assert key(fast[record.iri]) == key(reference[record.iri]), record.patient_id
    assert sum(1 for r in records for f in fast[r.iri] if f.alert) >= len(UNSAFE)
