"""Conformance suite: the same cases through every reasoner, with expected classes.

Each case names classes the patient must be in and classes it must not be in; both
reasoners must satisfy the expectation and return identical class sets and verdicts.
"""

from __future__ import annotations

import pytest

from guidekg.namespaces import GK
from patients import patient

CASES = {
    # id: (overrides, must include, must exclude)
    "msi_high_fit": (dict(msiStatus="MSI_High", mmrStatus="MMR_NotTested", krasStatus="KRAS_Mutant"),
                     {"ImmunotherapyFirstLine", "RareRectalMSIH"}, {"TripletPlusBevacizumab", "MolecularTestingRequired"}),
    "dmmr_only": (dict(msiStatus="MSI_NotTested", mmrStatus="dMMR", krasStatus="KRAS_NotTested", nrasStatus="NRAS_NotTested", brafStatus="BRAF_NotTested"),
                  {"ImmunotherapyFirstLine"}, {"MolecularTestingRequired"}),
    "left_wildtype": (dict(), {"DoubletPlusAntiEGFR", "SystemicTherapyFirst", "DeferPrimaryTreatment", "MultidisciplinaryDecisionRequired"},
                      {"TripletBackbone", "TripletPlusBevacizumab"}),
    "right_label_on_rectum": (dict(recordedSidedness="RightSidedLabel"), {"DoubletPlusAntiEGFR", "SidednessLabelConflict"}, {"TripletBackbone"}),
    "right_sided_colon": (dict(primarySite="AscendingColon"), {"TripletBackbone", "OutOfScopeNonRectalPrimary"}, {"DoubletPlusAntiEGFR"}),
    "kras_mutant": (dict(krasStatus="KRAS_Mutant"), {"TripletPlusBevacizumab"}, {"DoubletPlusAntiEGFR"}),
    "kras_wt_nras_mutant": (dict(nrasStatus="NRAS_Mutant"), {"TripletPlusBevacizumab"}, {"DoubletPlusAntiEGFR"}),
    "braf_v600e": (dict(brafStatus="BRAF_V600E"), {"TripletPlusBevacizumab", "RareRectalBRAFV600E"}, {"DoubletPlusAntiEGFR"}),
    "braf_non_v600e": (dict(brafStatus="BRAF_NonV600E"), {"DoubletPlusAntiEGFR"}, {"TripletPlusBevacizumab"}),
    "kras_exon2_only": (dict(krasStatus="KRAS_Exon2WildtypeOnly"), {"MolecularTestingRequired", "IncompleteRASTesting"}, {"DoubletPlusAntiEGFR"}),
    "kras_untested": (dict(krasStatus="KRAS_NotTested"), {"MolecularTestingRequired"}, {"DoubletPlusAntiEGFR", "TripletPlusBevacizumab"}),
    "msi_untested": (dict(msiStatus="MSI_NotTested", mmrStatus="MMR_NotTested"), {"MolecularTestingRequired"}, {"DoubletPlusAntiEGFR"}),
    "braf_untested": (dict(brafStatus="BRAF_NotTested"), {"MolecularTestingRequired"}, {"DoubletPlusAntiEGFR"}),
    "ecog3": (dict(ecog=3, krasStatus="KRAS_Mutant"), {"NonIntensiveIndividualised"}, {"TripletPlusBevacizumab", "SystemicTherapyFirst"}),
    "age72_ecog0_triplet": (dict(age=72, ecog=0, krasStatus="KRAS_Mutant"), {"TripletPlusBevacizumab"}, {"DoubletPlusBevacizumab"}),
    "age72_ecog1_doublet": (dict(age=72, ecog=1, krasStatus="KRAS_Mutant"), {"DoubletPlusBevacizumab"}, {"TripletPlusBevacizumab"}),
    "age76_doublet": (dict(age=76, ecog=0, krasStatus="KRAS_Mutant"), {"DoubletPlusBevacizumab"}, {"TripletPlusBevacizumab"}),
    "age70_ecog2_triplet": (dict(age=70, ecog=2, krasStatus="KRAS_Mutant"), {"TripletPlusBevacizumab"}, set()),
    "symptomatic": (dict(primarySymptomatic=True, primarySymptom="Bleeding"), {"SymptomaticPrimaryManagement"}, {"DeferPrimaryTreatment"}),
    "reassessment_due": (dict(treatmentPhase="OnFirstLineChemotherapy", monthsSinceResectabilityAssessment=2.0),
                         {"ResectabilityReassessmentDue"}, {"SystemicTherapyFirst"}),
    "reassessment_not_due": (dict(treatmentPhase="OnFirstLineChemotherapy", monthsSinceResectabilityAssessment=1.5),
                             set(), {"ResectabilityReassessmentDue"}),
    "converted_one_stage": (dict(treatmentPhase="OnFirstLineChemotherapy", resectability="ConvertedResectable", oneStageHepatectomyFeasible=True),
                            {"ConvertedToResectable", "ShortCourseRadiotherapy", "LiverFirstCandidate", "OneStageHepatectomy"}, {"TwoStageHepatectomy", "DeferPrimaryTreatment"}),
    "converted_two_stage": (dict(treatmentPhase="OnFirstLineChemotherapy", resectability="ConvertedResectable", oneStageHepatectomyFeasible=False),
                            {"TwoStageHepatectomy"}, {"OneStageHepatectomy"}),
    "post_r0": (dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R0", monthsOnChemotherapy=3.0),
                {"PostoperativeChemotherapyContinuation"}, {"PostoperativeChemotherapyAfterR1", "ShortCourseRadiotherapy"}),
    "post_r1": (dict(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", resectionMargin="R1", monthsOnChemotherapy=3.0),
                {"PostoperativeChemotherapyContinuation", "PostoperativeChemotherapyAfterR1"}, set()),
    "post_r2": (dict(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", resectionMargin="R2"),
                {"IncompleteResectionR2"}, {"PostoperativeChemotherapyContinuation"}),
    # discordant MSI/MMR: testing first, no regimen (issue 11; it used to get immunotherapy)
    "msi_mmr_discordant": (dict(msiStatus="MSI_High", mmrStatus="pMMR"), {"MSIMMRDiscordant", "MolecularTestingRequired"},
                           {"DoubletPlusAntiEGFR", "ImmunotherapyFirstLine", "SystemicTherapyFirst"}),
    "mss_dmmr_discordant": (dict(msiStatus="MSS", mmrStatus="dMMR"), {"MSIMMRDiscordant", "MolecularTestingRequired"},
                            {"DoubletPlusAntiEGFR", "ImmunotherapyFirstLine", "SystemicTherapyFirst"}),
    # issue 11: immunotherapy patients get no chemotherapy-backbone class
    "msi_high_no_backbone": (dict(msiStatus="MSI_High", mmrStatus="dMMR"), {"ImmunotherapyFirstLine"}, {"SystemicTherapyFirst"}),
    # issue 11: KRAS exon 2 only + NRAS mutant: anti-EGFR already excluded, no 'complete RAS testing'
    "kras_exon2_only_nras_mutant": (dict(krasStatus="KRAS_Exon2WildtypeOnly", nrasStatus="NRAS_Mutant"), {"TripletPlusBevacizumab"},
                                    {"IncompleteRASTesting", "MolecularTestingRequired", "DoubletPlusAntiEGFR"}),
    "kras_exon2_only_nras_untested": (dict(krasStatus="KRAS_Exon2WildtypeOnly", nrasStatus="NRAS_NotTested"),
                                      {"IncompleteRASTesting", "MolecularTestingRequired"}, set()),
    # issue 11 phases: liver-first after the hepatectomy, rectum untreated -> pelvic RT next; irradiated -> resection, window checked
    "liver_first_rectum_untreated": (dict(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", primaryStatus="PrimaryUntreated"),
                                     {"LiverFirstPrimaryUntreated"}, {"LiverFirstPrimaryIrradiated", "LiverFirstCandidate", "OneStageHepatectomy"}),
    "liver_first_rectum_irradiated_late": (dict(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", primaryStatus="PrimaryIrradiated",
                                                monthsSinceShortCourseRT=6.5),
                                           {"LiverFirstPrimaryIrradiated", "PrimarySurgeryBeyondRTWindow"}, {"LiverFirstPrimaryUntreated"}),
    "rt_window_after_primary_resected": (dict(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", primaryStatus="PrimaryResected",
                                              monthsSinceShortCourseRT=6.5),
                                         set(), {"PrimarySurgeryBeyondRTWindow", "LiverFirstPrimaryIrradiated", "LiverFirstPrimaryUntreated"}),
    # issue 11 phases: 6 months of perioperative chemotherapy reached -> target reached, not 'continue'
    "post_r0_six_months": (dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R0", monthsOnChemotherapy=6.0),
                           {"PerioperativeChemotherapyCompleted"}, {"PostoperativeChemotherapyContinuation"}),
    "post_r1_just_under_six": (dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R1", monthsOnChemotherapy=5.9),
                               {"PostoperativeChemotherapyContinuation", "PostoperativeChemotherapyAfterR1"}, {"PerioperativeChemotherapyCompleted"}),
    "post_r1_seven_months": (dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R1", monthsOnChemotherapy=7.0),
                             {"PerioperativeChemotherapyCompleted"}, {"PostoperativeChemotherapyContinuation", "PostoperativeChemotherapyAfterR1"}),
    "her2": (dict(her2Status="HER2_Amplified"), {"HER2AmplifiedNotAddressed"}, set()),
    "extrahepatic_unilobar_resectable": (dict(extrahepaticDisease=True, liverMetastasisExtent="Unilobar", resectability="Resectable"),
                                         {"OutOfScopeExtrahepaticDisease", "OutOfScopeUnilobar", "OutOfScopeResectableAtPresentation"}, {"SystemicTherapyFirst"}),
    "rt_window": (dict(treatmentPhase="OnFirstLineChemotherapy", monthsSinceShortCourseRT=6.5), {"PrimarySurgeryBeyondRTWindow"}, set()),
    "missing_ecog": (dict(ecog=None), set(), {"DoubletPlusAntiEGFR", "SystemicTherapyFirst"}),
}

CONTRADICTORY = {
    "two_msi": dict(msiStatus=["MSS", "MSI_High"]),
    "symptom_but_asymptomatic": dict(primarySymptomatic=False, primarySymptom="Obstruction"),
    "two_ecog": dict(ecog=[1, 2]),
}


def _check(result, include, exclude):
    names = {c.rsplit("#", 1)[-1] for c in result.classes}
    assert result.consistent
    assert include <= names, f"missing {include - names}"
    assert not (exclude & names), f"unexpected {exclude & names}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_reasoner_cases(fast, case):
    overrides, include, exclude = CASES[case]
    record = patient(case, **overrides)
    _check(fast.realize([record])[record.iri], include, exclude)


@pytest.mark.parametrize("case", sorted(CONTRADICTORY))
def test_fast_reasoner_contradictions(fast, case):
    record = patient(case, **CONTRADICTORY[case])
    verdict = fast.realize([record])[record.iri]
    assert not verdict.consistent and verdict.conflicts


@pytest.mark.hermit
def test_hermit_agrees_on_every_case_and_isolates_contradictions(fast, hermit):
    """One HermiT run over all cases (contradictory ones mixed in): same answers as alone."""
    records = [patient(c, **CASES[c][0]) for c in sorted(CASES)]
    records += [patient(c, **v) for c, v in sorted(CONTRADICTORY.items())]
    by_hermit = hermit.realize(records)
    by_fast = fast.realize(records)
    for record in records:
        h, f = by_hermit[record.iri], by_fast[record.iri]
        assert h.consistent == f.consistent, record.patient_id
        assert h.classes == f.classes, (record.patient_id, h.classes ^ f.classes)
        if record.patient_id in CASES:
            _check(h, *CASES[record.patient_id][1:])
        else:
            assert not h.consistent and h.conflicts
    # isolation: a contradictory neighbour changes nothing
    alone = hermit.realize([records[0]])[records[0].iri]
    assert alone.classes == by_hermit[records[0].iri].classes


def test_every_treatment_and_alert_class_is_exercised():
    from guidekg.knowledge import knowledge

    kb = knowledge()
    exercised = set().union(*(inc for _, inc, _ in CASES.values()))
    expected = {c.rsplit("#", 1)[-1] for c in kb.treatment_classes | kb.alert_classes}
    assert expected - exercised == set()
    assert str(GK.DoubletPlusAntiEGFR) in kb.treatment_classes
