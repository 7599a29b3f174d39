"""The population memos never change an answer, and stay bounded.

Two memos make the million-patient run fast: the fast reasoner's per-mask classes
(:mod:`guidekg.reasoning.atoms`) and the plan judgement's parts (:mod:`guidekg.decision.memo`).
A memo whose key misses something the answer depends on would give one patient another's
answer, so each test puts two patients that differ in exactly one such fact through the memo,
in one chunk and in separate calls (a warm memo, both orders), and compares with a computation
that has no memo: the reasoner's AST-walking reference, and for the plan the pre-memo pipeline
(kept below, verbatim, on the library's unmemoised plan.judge and headline functions).
"""

from __future__ import annotations

from typing import Any

import pytest
from rdflib import XSD, Literal

from guidekg.decision import memo as plan_memo_module
from guidekg.decision.headline import headline
from guidekg.decision.plan import PlanContext, judge, patient_phases, plan_entries, shape_verdicts
from guidekg.fastvalidate import validate_fast
from guidekg.knowledge import knowledge
from guidekg.namespaces import curie, expand
from guidekg.reasoning import atoms
from guidekg.reasoning.fast import FastReasoner
from guidekg.recommend import assess
from patients import patient

# ------------------------------------------------------------------------------ reasoner: per-mask memo

POST_RESECTION = dict(treatmentPhase="PostResection", resectability="ConvertedResectable", resectionMargin="R0")

# (why, facts of A, facts of B): each pair differs in one fact that changes the classes
CLASS_PAIRS = [
    ("age threshold of a datatype range (TRIBE: 70 or under)", dict(age=70), dict(age=71)),
    ("ECOG threshold (TRIBE: 71-75 only at ECOG 0)", dict(age=73, ecog=0), dict(age=73, ecog=1)),
    ("an IRI value (hasValue)", dict(krasStatus="KRAS_Wildtype"), dict(krasStatus="KRAS_Mutant")),
    ("a value individual's class (someValuesFrom)", dict(primarySite="SigmoidColon"), dict(primarySite="AscendingColon")),
    ("a boolean literal (hasValue)", dict(extrahepaticDisease=True), dict(extrahepaticDisease=False)),
    ("a decimal threshold (six months of perioperative chemotherapy)", dict(POST_RESECTION, monthsOnChemotherapy=5.0),
     dict(POST_RESECTION, monthsOnChemotherapy=6.0)),
]

# the fact a class implies (a recorded symptom implies a symptomatic primary) against the record's own value
IMPLIED_PAIR = (dict(primarySymptom="Bleeding", primarySymptomatic=False), dict(primarySymptom="Bleeding", primarySymptomatic=True))


def _answer(reasoned) -> tuple:
    return reasoned.consistent, reasoned.classes, reasoned.conflicts


def _check_pair(engine: FastReasoner, a, b) -> None:
    reference = {r.iri: _answer(engine.realize_uncached(r)) for r in (a, b)}
    assert reference[a.iri] != reference[b.iri], "the pair must differ in the reference, or it pins nothing"
    together = engine.realize([a, b])  # one chunk
    assert {iri: _answer(v) for iri, v in together.items()} == reference
    for first, second in ((a, b), (b, a), (a, b)):  # separate calls on a warm memo, both orders
        assert _answer(engine.realize([first])[first.iri]) == reference[first.iri]
        assert _answer(engine.realize([second])[second.iri]) == reference[second.iri]


@pytest.mark.parametrize("why,facts_a,facts_b", CLASS_PAIRS, ids=[p[0] for p in CLASS_PAIRS])
def test_mask_memo_tells_apart_patients_that_differ_in_one_fact(why, facts_a, facts_b):
    engine = FastReasoner()
    _check_pair(engine, patient("memo-a", **facts_a), patient("memo-b", **facts_b))
    assert engine.hits > 0, "the memo was never hit: the test would not see a key that misses a fact"


def test_mask_memo_keeps_the_clash_with_an_implied_fact():
    """A recorded symptom implies primarySymptomatic true: with 'false' recorded that is a clash
    (contradictory), with 'true' it is the same value (nothing added)."""
    engine = FastReasoner()
    a, b = patient("implied-a", **IMPLIED_PAIR[0]), patient("implied-b", **IMPLIED_PAIR[1])
    _check_pair(engine, a, b)
    assert not engine.realize([a])[a.iri].consistent and engine.realize([b])[b.iri].consistent


def test_mask_memo_and_value_tables_are_bounded(monkeypatch):
    """Memory stays flat whatever the cohort: the mask memo and the per-value tables are emptied when full."""
    monkeypatch.setattr(atoms, "_FEATURE_CACHE", 5)
    engine = FastReasoner(cache_size=7)
    sites, kras = ("Rectum", "SigmoidColon", "AscendingColon"), ("KRAS_Wildtype", "KRAS_Mutant")
    records = [patient(f"bound-{i}", age=40 + i % 50, ecog=i % 4, primarySite=sites[i % 3], krasStatus=kras[i % 2])
               for i in range(150)]
    for record in records:
        assert _answer(engine.realize([record])[record.iri]) == _answer(engine.realize_uncached(record))
    masks = engine.masks
    assert masks.misses > 20, "too few distinct masks to fill the memo"
    assert len(masks.memo) <= 7 and len(masks._class_sets) <= 7
    assert all(len(table) <= 5 for table in [*masks.by_value.values(), *masks.by_datatype.values()])


# ------------------------------------------------------------------------------ plan: memoised parts

def _reference_alerts(kb, classes, findings, phases, raised) -> list[dict[str, Any]]:
    items = kb.plan_tables.items
    alerts: dict[str, dict[str, Any]] = {}

    def add(alert, raised_by, detail=None):
        item = items.get(alert)
        if item is not None and not item.applies_in(phases):
            return
        entry = alerts.setdefault(alert, dict(kb.alert(alert), raised_by=raised_by))
        if detail is not None:
            entry.setdefault("details", [])
            if detail not in entry["details"]:
                entry["details"].append(detail)

    for cls in sorted(c for c in classes if c in kb.alert_classes):
        for alert in kb.class_alerts(cls):
            add(alert, curie(cls))
    for finding in findings:
        if finding.alert:
            add(finding.alert, "shacl", finding.message)
    for alert, detail in raised:
        add(alert, "plan", detail)
    order = {"violation": 0, "warning": 1, "info": 2}
    return sorted(alerts.values(), key=lambda a: (order.get(a["severity"], 3), a["id"]))


def _reference(kb, record, findings, classes, treatment, contradictory) -> dict[str, Any]:
    """The pre-memo pipeline (recommend._judge_plan and the headline call before decision/memo.py)."""
    tables = kb.plan_tables
    phases = patient_phases(record)
    fired = {f.alert for f in findings if f.alert and f.alert in tables.shapes_by_alert}
    entries = plan_entries(record)
    current_unsafe = any(any(code == "contraindicated" for _, code, _ in shape_verdicts(tables, action, fired))
                         for action, origin in entries if origin == "current")
    recs: dict[str, dict[str, Any]] = {}
    general: set[str] = set()
    specific: set[str] = set()
    for cls in treatment:
        for rec in kb.recommendations(cls):
            item = tables.items.get(expand(rec["id"]))
            if item is not None and (not item.applies_in(phases) or (item.continues and current_unsafe)):
                continue
            entry = recs.setdefault(rec["id"], dict(rec, classes=[]))
            entry["classes"].append(curie(cls))
            (general if cls in tables.general_classes else specific).add(rec["id"])
    ordered = sorted(recs.values(), key=lambda r: (r["category"] or "", r["id"]))
    class_alerts = [a for c in sorted(classes) if c in kb.alert_classes for a in kb.class_alerts(c)]
    shacl_alerts = [f.alert for f in findings if f.alert]
    context = PlanContext(record, [tables.items[expand(r["id"])] for r in ordered if expand(r["id"]) in tables.items],
                          [tables.items[a] for a in class_alerts + shacl_alerts if a in tables.items], fired,
                          contradictory=contradictory, entries=entries)
    plan, raised = judge(tables, kb, context)
    alerts = _reference_alerts(kb, classes, findings, phases, raised)
    status = "contradictory" if contradictory else "ok"
    top = headline(kb, tables, status, treatment, ordered, general - specific, [expand(a["id"]) for a in alerts], plan)
    return {"recommendations": ordered, "plan": plan, "alerts": alerts, "headline": top,
            "general": frozenset(general - specific) if not contradictory else frozenset()}


def _observed(result) -> dict[str, Any]:
    return {"recommendations": result.recommendations, "plan": result.plan, "alerts": result.alerts,
            "headline": result.headline, "general": result.general}


def _expected(records) -> dict[str, dict[str, Any]]:
    kb = knowledge()
    shacl = validate_fast(records)
    verdicts = FastReasoner().realize(records)
    out = {}
    for record in records:
        verdict = verdicts[record.iri]
        findings = list(record.findings) + shacl[record.iri]
        if verdict.consistent:
            treatment = sorted(c for c in verdict.classes if c in kb.treatment_classes)
            out[record.iri] = _reference(kb, record, findings, verdict.classes, treatment, False)
        else:
            out[record.iri] = _reference(kb, record, findings, (), (), True)
    return out


def _check_plans(records) -> None:
    expected = _expected(records)
    for result in assess(records):  # one chunk
        assert result.status != "invalid", result.validation
        assert _observed(result) == expected[result.record.iri], result.record.patient_id
    for record in [*records, *reversed(records)]:  # separate calls on a warm memo, both orders
        assert _observed(assess([record])[0]) == expected[record.iri], record.patient_id


def _valid(pid: str, **facts):
    return patient(pid, patientId=Literal(pid, datatype=XSD.string), **facts)


KRAS_MUT_CHEMO = dict(krasStatus="KRAS_Mutant", treatmentPhase="OnFirstLineChemotherapy", monthsOnChemotherapy=3.0,
                      monthsSinceResectabilityAssessment=1.0)

# (why, facts of A, facts of B): each pair differs in one fact a plan verdict, a recommendation or the headline depends on
PLAN_PAIRS = [
    ("a fired shape (age) judging the same planned action", dict(age=60, ecog=1, plannedAction=["FOLFOXIRI"]),
     dict(age=73, ecog=1, plannedAction=["FOLFOXIRI"])),
    ("the phase alone (same treatment classes, recommendations filtered by phase)",
     dict(ecog=3, resectionMargin="R2", monthsOnChemotherapy=2.0, treatmentPhase="OnFirstLineChemotherapy",
          monthsSinceResectabilityAssessment=1.0, plannedAction=["FOLFOX"]),
     dict(ecog=3, resectionMargin="R2", monthsOnChemotherapy=2.0, treatmentPhase="PostHepatectomy",
          monthsSinceResectabilityAssessment=1.0, plannedAction=["FOLFOX"])),
    ("a contraindicated current drug drops 'continue the same backbone'",
     dict(POST_RESECTION, krasStatus="KRAS_Mutant", monthsOnChemotherapy=4.0, currentRegimen=["FOLFOX", "Bevacizumab"]),
     dict(POST_RESECTION, krasStatus="KRAS_Mutant", monthsOnChemotherapy=4.0, currentRegimen=["FOLFOX", "Cetuximab"])),
    ("the origin of the same action", dict(KRAS_MUT_CHEMO, plannedAction=["FOLFOX"]), dict(KRAS_MUT_CHEMO, currentRegimen=["FOLFOX"])),
    ("an alert naming the action (MSI-H rectal: confirm, germline testing)",
     dict(msiStatus="MSI_High", mmrStatus="dMMR", plannedAction=["GermlineTesting"]),
     dict(msiStatus="MSS", mmrStatus="pMMR", plannedAction=["GermlineTesting"])),
    ("a contradictory record with the same plan", dict(primarySymptom="Bleeding", primarySymptomatic=True, plannedAction=["FOLFOX"]),
     dict(primarySymptom="Bleeding", primarySymptomatic=False, plannedAction=["FOLFOX"])),
    ("a missing fact in the headline", dict(plannedAction=["FOLFOX"]), dict(ecog=None, plannedAction=["FOLFOX"])),
]


@pytest.mark.parametrize("why,facts_a,facts_b", PLAN_PAIRS, ids=[p[0] for p in PLAN_PAIRS])
def test_plan_memo_tells_apart_patients_that_differ_in_one_fact(why, facts_a, facts_b):
    a, b = _valid("plan-a", **facts_a), _valid("plan-b", **facts_b)
    expected = _expected([a, b])
    assert expected[a.iri] != expected[b.iri], "the pair must differ in the reference, or it pins nothing"
    _check_plans([a, b])


def test_plan_memo_equals_the_pre_memo_pipeline_on_a_synthetic_cohort(tmp_path):
    from guidekg.ingest import read_patients
    from guidekg.synthetic import write_cohort

    records = list(read_patients([write_cohort(tmp_path / "cohort.csv", 400, seed=7)]))
    expected = _expected(records)
    plan_memo_module._MEMOS.clear()
    for batch in (records, records[::-1], records[1::2]):  # one chunk on a cold memo, then on a warm one
        results = assess(batch)
        assert sum(r.status == "ok" for r in results) > len(batch) * 0.75 and any(r.status == "contradictory" for r in results)
        for result in results:
            assert _observed(result) == expected[result.record.iri], result.record.patient_id


def test_plan_memo_tables_are_bounded(monkeypatch):
    monkeypatch.setattr(plan_memo_module, "LIMIT", 3)
    plan_memo_module._MEMOS.clear()
    records = [_valid(f"plan-bound-{i}", age=50 + i, ecog=i % 3, plannedAction=[("FOLFOX", "FOLFOXIRI", "Cetuximab")[i % 3]],
                       treatmentPhase=("PreTreatment", "OnFirstLineChemotherapy")[i % 2], monthsOnChemotherapy=3.0,
                       monthsSinceResectabilityAssessment=1.0) for i in range(30)]
    _check_plans(records)
    memo = plan_memo_module.plan_memo(knowledge())
    tables = [v for v in vars(memo).values() if isinstance(v, dict)]
    assert len(tables) >= 8 and all(len(t) <= 3 for t in tables)
    plan_memo_module._MEMOS.clear()


class _PhasedClassAlerts:
    """The shipped knowledge, except that one alert class also raises an alert that applies only in
    some phases (the shipped class alerts apply in every phase, so the phase in the class-alert key
    could not be seen otherwise)."""

    def __init__(self, kb, cls: str, alert: str) -> None:
        self._kb, self._cls, self._alert = kb, cls, alert

    def __getattr__(self, name: str):
        return getattr(self._kb, name)

    def class_alerts(self, cls: str):
        return (*self._kb.class_alerts(cls), self._alert) if cls == self._cls else self._kb.class_alerts(cls)


def test_plan_memo_keys_the_contradictory_flag_the_status_and_the_phase():
    """Keys that only a patient with no treatment class, or a phased class alert, could tell
    apart: put the two inputs through one memo directly, against the unmemoised functions."""
    from guidekg.decision.headline import headline_of
    from guidekg.decision.plan import contradictory_entry, judge_by_recommendations, raised_by

    kb = knowledge()
    tables = kb.plan_tables
    action = expand("gk:FOLFOX")
    for order in ((False, True), (True, False)):
        memo = plan_memo_module.PlanMemo(kb)
        ctx = memo.context((), frozenset(), False)
        for contradictory in order:
            entry = (contradictory_entry(tables, kb, action, "planned") if contradictory else
                     judge_by_recommendations(tables, kb, action, "planned", [], None, [], [], set()))
            assert memo.entry(action, "planned", set(), ctx, [], contradictory) == (entry, raised_by(tables, entry, "planned"))
        for status in ("ok" if order[0] else "contradictory", "contradictory" if order[0] else "ok"):
            assert memo.headline(status, ctx, [], ()) == headline_of(kb, tables, status, (), [], set(), [], ())
    cls, alert = expand("gk:MSIMMRDiscordant"), expand("gk:Alert_MissingOneStageFeasibility")
    assert tables.items[alert].phases, "the alert must be phased, or this pins nothing"
    phased = _PhasedClassAlerts(kb, cls, alert)
    memo = plan_memo_module.PlanMemo(phased)
    for phase in ("gk:PostHepatectomy", "gk:PreTreatment", "gk:PostHepatectomy"):
        phases = frozenset({expand(phase)})
        got = memo.alerts((cls,), [], phases, [])
        assert got == _reference_alerts(phased, [cls], [], phases, [])
        assert (curie(alert) in {a["id"] for a in got}) == (phase == "gk:PreTreatment")
