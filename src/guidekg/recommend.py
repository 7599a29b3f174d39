"""The pipeline: read -> validate (SHACL) -> reason (OWL) -> look up (SPARQL) -> results.

Every input patient yields exactly one :class:`PatientResult`, in input order:
``invalid`` (ingest or SHACL violations; no recommendations), ``contradictory`` (the reasoner
finds the facts inconsistent; the clashing facts are named) or ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .decision.headline import unsafe_actions
from .decision.memo import PlanMemo, plan_memo
from .decision.plan import patient_phases, plan_entries
from .explain import because
from .fastvalidate import validate_fast
from .ingest import read_patients
from .knowledge import Knowledge, knowledge
from .model import Finding, PatientRecord, Reasoned, Status
from .namespaces import curie, expand
from .reasoning import Reasoner, get_reasoner


@dataclass
class PatientResult:
    """The outcome for one input patient (JSON contract: ARCHITECTURE §5.1)."""

    record: PatientRecord
    status: Status
    classes: frozenset[str] = frozenset()
    treatment_classes: list[str] = field(default_factory=list)
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    validation: list[Finding] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    explanation: list[dict[str, Any]] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)
    general: frozenset[str] = frozenset()  # ids of recommendations that are general principles

    def as_json(self, explain: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "patient": self.record.patient_id,
            "status": self.status,
            "treatment_classes": [curie(c) for c in self.treatment_classes],
            "recommendations": self.recommendations,
            "alerts": self.alerts,
            "validation": [f.as_dict() for f in self.validation],
            "headline": self.headline,
            "plan": self.plan,
        }
        if self.status == "contradictory":
            out["conflicts"] = self.conflicts
        if explain:
            out["explanation"] = self.explanation
        return out


@lru_cache(maxsize=4096)
def _iri(curie_or_iri: str) -> str:
    return expand(curie_or_iri)


def _judge_plan(memo: PlanMemo, record: PatientRecord, findings: Sequence[Finding], treatment: Sequence[str],
                alert_classes: tuple[str, ...], class_alerts: Sequence[str], contradictory: bool = False) -> dict[str, Any]:
    """Recommendations (phase-filtered), plan verdicts, alerts and headline of one patient.

    ``alert_classes``: the patient's alert classes, sorted; ``class_alerts``: their alerts in
    that order (:meth:`PlanMemo.classes`). The parts come from :mod:`guidekg.decision.memo`,
    each keyed on exactly what it depends on."""
    tables = memo.tables
    phases = patient_phases(record)
    fired = {f.alert for f in findings if f.alert and f.alert in tables.shapes_by_alert}
    entries = plan_entries(record)
    current_unsafe = any(any(code == "contraindicated" for _, code, _ in memo.shaped(action, fired))
                         for action, origin in entries if origin == "current")
    ctx = memo.context(tuple(treatment), phases, current_unsafe)
    alert_ids = [*class_alerts, *(f.alert for f in findings if f.alert)]
    plan: list[dict[str, Any]] = []
    raised: list[tuple[str, str]] = []
    for action, origin in entries:
        entry, alert = memo.entry(action, origin, fired, ctx, alert_ids, contradictory)
        plan.append(entry)
        if alert is not None:
            raised.append(alert)
    alerts = memo.alerts(alert_classes, findings, phases, raised)
    status = "contradictory" if contradictory else "ok"
    return {"recommendations": list(ctx.ordered), "plan": plan, "alerts": alerts, "general": ctx.general,
            "headline": memo.headline(status, ctx, tuple(_iri(a["id"]) for a in alerts), unsafe_actions(plan))}


def _invalid(record: PatientRecord, findings: list[Finding]) -> PatientResult:
    return PatientResult(record, "invalid", validation=findings,
                         headline={"text": "Invalid record: correct the validation findings before any recommendation.",
                                   "first_line": None, "next_steps": [], "missing": []})


def assess(records: Sequence[PatientRecord], reasoner: Reasoner | str = "fast", explain: bool = False,
           kb: Knowledge | None = None,
           validator: Callable[[Sequence[PatientRecord]], dict[str, list[Finding]]] | None = None) -> list[PatientResult]:
    """Assess already-read patient records; the building block of every front end.

    Validation defaults to the shapes compiled to Python checks (:mod:`guidekg.fastvalidate`),
    which tests prove equal to pySHACL and which fall back to pySHACL for any shape or value
    they cannot handle; pass ``validator=validate_records`` to force pySHACL itself.
    """
    kb = kb or knowledge()
    engine = get_reasoner(reasoner) if isinstance(reasoner, str) else reasoner
    readable = [r for r in records if not r.ingest_failed]
    shacl = (validator or validate_fast)(readable)
    usable = [r for r in readable if not any(f.severity == "violation" and not f.alert for f in shacl[r.iri])]
    reasoned: dict[str, Reasoned] = engine.realize(usable) if usable else {}
    memo = plan_memo(kb)
    evaluator = None
    if explain:
        from .logic import Evaluator

        evaluator = Evaluator(kb.axioms)
    results: list[PatientResult] = []
    for record in records:
        if record.ingest_failed:  # checked first: a duplicate id shares its IRI with a valid record
            results.append(_invalid(record, list(record.findings)))
            continue
        findings = [f for f in record.findings] + shacl.get(record.iri, [])
        data_findings = [f for f in findings if not f.alert]
        verdict = reasoned.get(record.iri)
        if verdict is None:
            results.append(_invalid(record, data_findings))
            continue
        if not verdict.consistent:
            # the reasoner gives no classes, but the safety shapes still judged the plan: keep their alerts
            judged = _judge_plan(memo, record, findings, (), (), (), contradictory=True)
            result = PatientResult(record, "contradictory", validation=data_findings, conflicts=list(verdict.conflicts),
                                   alerts=judged["alerts"], plan=judged["plan"], headline=judged["headline"])
            results.append(result)
            continue
        classes = verdict.classes if isinstance(verdict.classes, frozenset) else frozenset(verdict.classes)
        treatment_classes, alert_classes, class_alerts = memo.classes(classes)
        treatment = list(treatment_classes)
        judged = _judge_plan(memo, record, findings, treatment, alert_classes, class_alerts)
        result = PatientResult(
            record, "ok", classes=verdict.classes, treatment_classes=treatment,
            recommendations=judged["recommendations"], alerts=judged["alerts"], validation=data_findings,
            plan=judged["plan"], general=judged["general"], headline=judged["headline"])
        if evaluator is not None:
            classes = set(verdict.classes)
            shown = {r["id"] for r in result.recommendations}
            for cls in treatment + sorted(c for c in verdict.classes if c in kb.alert_classes):
                item: dict[str, Any] = {"class": curie(cls), "label": kb.label(cls),
                                        "because": because(evaluator, cls, record.facts, classes)}
                if cls in kb.treatment_classes:
                    item["recommendations"] = [
                        {"id": r["id"], "source_statement": r["source_statement"], "amends": r["amends"],
                         "evidence": [e["id"] for e in r["evidence"]]} for r in kb.recommendations(cls)
                        if r["id"] in shown]  # as shown: filtered by phase and plan
                result.explanation.append(item)
        results.append(result)
    return results


def recommend(inputs: Iterable[str | Path], reasoner: Reasoner | str = "fast", explain: bool = False) -> list[PatientResult]:
    """Read every input and assess every patient in it (one result per input patient)."""
    return assess(list(read_patients(inputs)), reasoner=reasoner, explain=explain)


def exit_code(results: Sequence[PatientResult]) -> int:
    """0 when clean; 1 when any patient is invalid or contradictory or has a violation alert."""
    for result in results:
        if result.status != "ok" or any(a["severity"] == "violation" for a in result.alerts):
            return 1
    return 0
