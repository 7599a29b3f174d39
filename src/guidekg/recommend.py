"""The pipeline: read -> validate (SHACL) -> reason (OWL) -> look up (SPARQL) -> results.

Every input patient yields exactly one :class:`PatientResult`, in input order:
``invalid`` (ingest or SHACL violations; no recommendations), ``contradictory`` (the reasoner
finds the facts inconsistent; the clashing facts are named) or ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .explain import because
from .fastvalidate import validate_fast
from .ingest import read_patients
from .knowledge import Knowledge, knowledge
from .model import Finding, PatientRecord, Reasoned, Status
from .namespaces import curie
from .reasoning import Reasoner, get_reasoner

_SEVERITY_ORDER = {"violation": 0, "warning": 1, "info": 2}


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

    def as_json(self, explain: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "patient": self.record.patient_id,
            "status": self.status,
            "treatment_classes": [curie(c) for c in self.treatment_classes],
            "recommendations": self.recommendations,
            "alerts": self.alerts,
            "validation": [f.as_dict() for f in self.validation],
        }
        if self.status == "contradictory":
            out["conflicts"] = self.conflicts
        if explain:
            out["explanation"] = self.explanation
        return out


def _alerts_for(kb: Knowledge, classes: Iterable[str], findings: Iterable[Finding]) -> list[dict[str, Any]]:
    alerts: dict[str, dict[str, Any]] = {}
    for cls in sorted(c for c in classes if c in kb.alert_classes):
        for alert in kb.class_alerts(cls):
            alerts.setdefault(alert, dict(kb.alert(alert), raised_by=curie(cls)))
    for finding in findings:
        if finding.alert:
            entry = alerts.setdefault(finding.alert, dict(kb.alert(finding.alert), raised_by="shacl"))
            entry.setdefault("details", [])
            if finding.message not in entry["details"]:
                entry["details"].append(finding.message)
    return sorted(alerts.values(), key=lambda a: (_SEVERITY_ORDER.get(a["severity"], 3), a["id"]))


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
    evaluator = None
    if explain:
        from .logic import Evaluator

        evaluator = Evaluator(kb.axioms)
    results: list[PatientResult] = []
    for record in records:
        if record.ingest_failed:  # checked first: a duplicate id shares its IRI with a valid record
            results.append(PatientResult(record, "invalid", validation=list(record.findings)))
            continue
        findings = [f for f in record.findings] + shacl.get(record.iri, [])
        data_findings = [f for f in findings if not f.alert]
        verdict = reasoned.get(record.iri)
        if verdict is None:
            results.append(PatientResult(record, "invalid", validation=data_findings))
            continue
        if not verdict.consistent:
            results.append(PatientResult(record, "contradictory", validation=data_findings,
                                         conflicts=list(verdict.conflicts)))
            continue
        treatment = sorted(c for c in verdict.classes if c in kb.treatment_classes)
        recs: dict[str, dict[str, Any]] = {}
        for cls in treatment:
            for rec in kb.recommendations(cls):
                entry = recs.setdefault(rec["id"], dict(rec, classes=[]))
                entry["classes"].append(curie(cls))
        result = PatientResult(
            record, "ok", classes=verdict.classes, treatment_classes=treatment,
            recommendations=sorted(recs.values(), key=lambda r: (r["category"] or "", r["id"])),
            alerts=_alerts_for(kb, verdict.classes, findings), validation=data_findings)
        if evaluator is not None:
            classes = set(verdict.classes)
            for cls in treatment + sorted(c for c in verdict.classes if c in kb.alert_classes):
                item: dict[str, Any] = {"class": curie(cls), "label": kb.label(cls),
                                        "because": because(evaluator, cls, record.facts, classes)}
                if cls in kb.treatment_classes:
                    item["recommendations"] = [
                        {"id": r["id"], "source_statement": r["source_statement"], "amends": r["amends"],
                         "evidence": [e["id"] for e in r["evidence"]]} for r in kb.recommendations(cls)]
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
