"""Generated from the ontology and the shapes (issue 11 'Done when'): every action a triggered
recommendation proposes is judged recommended/consistent for at least one patient and not for
at least one other; every safety rule that judges the plan decides at least one verdict and
lets at least one judged action through. A rule that flags everything, or nothing, fails here.

Patients: a fixed synthetic cohort plus the regression rows of test_plan_verdicts, each given
every action of the vocabulary as planned, and (in a second copy) every systemic therapy as current.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import XSD, Literal, URIRef

from guidekg.ingest import read_patients
from guidekg.knowledge import knowledge
from guidekg.model import PatientRecord
from guidekg.namespaces import GK, curie, expand
from guidekg.recommend import assess
from guidekg.synthetic import write_cohort
from patients import patient
from test_plan_verdicts import KRAS_MUT, UNSAFE

CONVERTED = dict(treatmentPhase="OnFirstLineChemotherapy", monthsOnChemotherapy=4.0, monthsSinceResectabilityAssessment=0.5,
                 resectability="ConvertedResectable", hpbMdtReviewed=True)
# One row per branch of the pathway (on top of the base row, KRAS mutant)
SCENARIOS = [
    dict(krasStatus="KRAS_Wildtype"),  # left-sided all wild type: doublet + anti-EGFR
    dict(krasStatus="KRAS_Wildtype", primarySite="AscendingColon", rectalLevel=None, ecog=0),  # right-sided wild type: triplet + bev
    dict(msiStatus="MSI_High", mmrStatus="dMMR"),
    dict(msiStatus="MSI_NotTested", mmrStatus="MMR_NotTested"),
    dict(age=74, ecog=1),
    dict(ecog=3),
    dict(primarySymptomatic=True, primarySymptom="Bleeding"),
    dict(treatmentPhase="OnFirstLineChemotherapy", monthsOnChemotherapy=4.0, monthsSinceResectabilityAssessment=2.0),
    dict(CONVERTED, oneStageHepatectomyFeasible=True),
    dict(CONVERTED, oneStageHepatectomyFeasible=False),
    dict(CONVERTED, krasStatus="KRAS_Wildtype", oneStageHepatectomyFeasible=True),
    dict(treatmentPhase="PostHepatectomy", resectability="ConvertedResectable", resectionMargin="R0", monthsOnChemotherapy=4.0,
         primaryStatus="PrimaryUntreated", hpbMdtReviewed=True),
    dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R1", monthsOnChemotherapy=4.0),
    dict(CONVERTED, oneStageHepatectomyFeasible=True, currentRegimen=["FOLFOXIRI", "Bevacizumab"], plannedAction=["Hepatectomy"]),
]


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    kb = knowledge()
    tables = kb.plan_tables
    actions = sorted(a for a in tables.types if str(GK.Action) in tables.types[a])
    systemic = [a for a in actions if str(GK.SystemicTherapy) in tables.types[a]]
    path = write_cohort(Path(tmp_path_factory.mktemp("cov")) / "cohort.csv", 300, seed=23)
    records = [r for r in read_patients([path]) if not r.ingest_failed]
    rows = [facts for _, facts, *_rest in UNSAFE] + SCENARIOS
    for i, facts in enumerate(rows):
        records.append(patient(f"row-{i}", **dict(KRAS_MUT, patientId=Literal(f"row-{i}", datatype=XSD.string), **facts)))
    judged_records = list(records)  # each with its own plan, then:
    for record in records:  # once with every action planned, once with every systemic therapy current
        for prop, chosen in ((GK.plannedAction, actions), (GK.currentRegimen, systemic)):
            copy = PatientRecord(record.patient_id, record.iri + "-" + prop.fragment, record.source,
                                 {p: list(v) for p, v in record.facts.items()
                                  if p not in (str(GK.plannedAction), str(GK.currentRegimen))})
            for action in chosen:
                copy.add(str(prop), URIRef(action))
            judged_records.append(copy)
    results = [r for r in assess(judged_records) if r.status != "invalid"]
    assert len(results) > 500
    return tables, results


def _triggered_recommendations(kb) -> set[str]:
    return {expand(rec["id"]) for cls in kb.treatment_classes for rec in kb.recommendations(cls)}


def test_every_proposed_action_is_recommended_somewhere_and_not_everywhere(judged):
    tables, results = judged
    kb = knowledge()
    triggered = _triggered_recommendations(kb)
    pairs = {(item.iri, action) for item in tables.items.values() if item.proposes and item.iri in triggered
             for action in item.actions}
    assert pairs
    name = {a: tables.written.get(a) or tables.labels.get(a) or curie(a) for a in tables.types}
    supported: set[tuple[str, str]] = set()
    refused: set[str] = set()
    for result in results:
        applicable = {rec["id"] for rec in result.recommendations}
        verdicts = {}
        for entry in result.plan:
            verdicts.setdefault(entry["action"], set()).add(entry["verdict"])
        for rec, action in pairs:
            if curie(rec) in applicable and verdicts.get(name[action], set()) & {"recommended", "consistent"}:
                supported.add((rec, action))
        for written, found in verdicts.items():
            if not found & {"recommended", "consistent"}:
                refused.add(written)
    missing = sorted(f"{curie(rec)} -> {name[action]}" for rec, action in pairs if (rec, action) not in supported)
    assert not missing, f"proposed but never recommended/consistent where the recommendation applies: {missing}"
    # general principles (classes flagged gk:everyPatient) are meant to hold for every patient
    general = {expand(rec["id"]) for cls in tables.general_classes for rec in kb.recommendations(cls)}
    specific = {name[action] for rec, action in pairs if rec not in general}
    always = sorted(specific - refused)
    assert not always, f"recommended/consistent for every patient: {always}"


# Absolute prohibitions: the source forbids these actions for every patient (S19a never debulk,
# S19c never cancel a resection for a PET complete response), so no patient passes them.
ABSOLUTE = {"gk:Shape_DebulkingHepatectomy", "gk:Shape_CancelResectionAfterPETCR"}


def test_every_plan_safety_rule_fires_somewhere_and_not_everywhere(judged):
    tables, results = judged
    rules = {curie(rule.iri): rule for rule in tables.shapes_by_alert.values() if rule.verdict and rule.judges}
    assert len(rules) >= 15
    decided: set[str] = set()
    passed: set[str] = set()
    for result in results:
        fired = {entry["rule"] for entry in result.plan}
        alerts = {a["id"] for a in result.alerts}
        for rule_id, rule in rules.items():
            if rule_id in fired:
                decided.add(rule_id)
            if curie(rule.alert) not in alerts:
                passed.add(rule_id)
    assert sorted(set(rules) - decided) == [], "safety rules that never decide a verdict"
    assert sorted(set(rules) - passed - ABSOLUTE) == [], "safety rules that fire for every patient"
    assert ABSOLUTE <= set(rules)
