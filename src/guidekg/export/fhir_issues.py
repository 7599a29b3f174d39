"""DetectedIssue and OperationOutcome for ``--format fhir``: standard categories, a published code system.

Why: a DetectedIssue code from a URL with no CodeSystem behind it cannot be looked up by a receiver.
Each DetectedIssue now carries a category from the standard R4 value set ``detectedissue-category``
(v3 ActCode, mapped per alert as data in ``ontology/codesystem.ttl``) and the project's own code from
the CodeSystem :data:`DETECTED_ISSUE_URL`, which :func:`detected_issue_codesystem` publishes as a FHIR
resource (generated from the ontology's alerts and the plan-verdict concepts, so it cannot drift).
OperationOutcome expressions are FHIRPath into the FHIR form of the record (the same mapping the
reader uses), never the ontology's property names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdflib import RDF

from .. import resources
from ..ingest.fhir_map import CODESYSTEM_URL, FhirMapping, fhir_mapping
from ..knowledge import knowledge, prepared
from ..namespaces import GK, expand
from .fhir_patient import PUBLISHER

DETECTED_ISSUE_URL = "https://w3id.org/guidekg/CodeSystem/guidekg-detected-issue"
"""Canonical URL of the project's DetectedIssue CodeSystem (alerts and plan verdicts)."""

SEVERITY = {"violation": "high", "warning": "moderate", "info": "low"}
UNSAFE_VERDICTS = ("contraindicated", "not-recommended")
"""Plan verdicts that make a DetectedIssue implicating the planned or current order (ARCHITECTURE §5.1)."""


@dataclass(frozen=True)
class IssueCode:
    """One concept of the DetectedIssue CodeSystem, with its standard category if one fits."""

    code: str
    label: str
    definition: str | None
    severity: str | None
    category: dict[str, str] | None  # a Coding from detectedissue-category, or None


@lru_cache(maxsize=1)
def issue_codes() -> dict[str, IssueCode]:
    """Every DetectedIssue code, by code (an alert's local name, or ``plan-<verdict>``)."""
    graph = knowledge().graph
    out: dict[str, IssueCode] = {}
    for row in graph.query(prepared("fhir_detected_issue_codes")):
        code = str(row.code)
        category = None
        if row.category_code is not None:
            category = {"system": str(row.category_system), "code": str(row.category_code)}
            if row.category_label is not None:
                category["display"] = str(row.category_label)
        known = out.get(code)
        if known is not None and known.category is not None:
            continue
        out[code] = IssueCode(code, str(row.label) if row.label is not None else code,
                              str(row.definition) if row.definition is not None else None,
                              str(row.severity) if row.severity is not None else None, category)
    return out


@lru_cache(maxsize=1)
def alert_actions() -> dict[str, frozenset[str]]:
    """Alert IRI -> the action individuals it is about (``queries/fhir_alert_actions.rq``)."""
    out: dict[str, set[str]] = {}
    for row in knowledge().graph.query(prepared("fhir_alert_actions")):
        out.setdefault(str(row.alert), set()).add(str(row.action))
    return {alert: frozenset(actions) for alert, actions in out.items()}


@lru_cache(maxsize=1)
def rule_alerts() -> tuple[dict[str, str], dict[str, str]]:
    """(rule IRI -> alert IRI for safety shapes, verdict code -> alert IRI), from ``fhir_rule_alerts.rq``."""
    by_rule: dict[str, str] = {}
    by_verdict: dict[str, str] = {}
    for graph in (resources.shared_graph("shapes", *resources.SHAPES), knowledge().graph):
        for row in graph.query(prepared("fhir_rule_alerts")):
            if row.rule is not None:
                by_rule.setdefault(str(row.rule), str(row.alert))
            if row.verdict is not None:
                by_verdict.setdefault(str(row.verdict), str(row.alert))
    return by_rule, by_verdict


def plan_alert(item: dict[str, Any]) -> str | None:
    """The alert IRI a plan entry's verdict raises: its rule itself, the rule's alert, or the verdict's."""
    rule = expand(item.get("rule") or "")
    by_rule, by_verdict = rule_alerts()
    if rule in by_rule:
        return by_rule[rule]
    if rule in issue_codes_by_iri():
        return rule
    return by_verdict.get(item.get("verdict") or "")


@lru_cache(maxsize=1)
def issue_codes_by_iri() -> frozenset[str]:
    """IRIs of every gk:Alert (a plan rule may name the alert directly)."""
    return frozenset(str(a) for a in knowledge().graph.subjects(RDF.type, GK.Alert))


def issue_concept(code: str, fallback_label: str | None = None) -> dict[str, Any]:
    """DetectedIssue.code: the standard category coding (if mapped) then the project code."""
    known = issue_codes().get(code)
    project = {"system": DETECTED_ISSUE_URL, "code": code}
    label = known.label if known else (fallback_label or code)
    project["display"] = label
    codings = ([known.category] if known and known.category else []) + [project]
    return {"coding": codings, "text": fallback_label or label}


def alert_code(alert_id: str) -> str:
    """The DetectedIssue code of an alert: the local name of its IRI."""
    return expand(alert_id).rsplit("#", 1)[-1]


def detected_issue_codesystem() -> dict[str, Any]:
    """The project's DetectedIssue CodeSystem as a FHIR R4 CodeSystem resource."""
    concepts = []
    for code, known in sorted(issue_codes().items()):
        concept: dict[str, Any] = {"code": code, "display": known.label}
        if known.definition:
            concept["definition"] = known.definition
        concepts.append(concept)
    return {"resourceType": "CodeSystem", "id": "guidekg-detected-issue",
            "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/shareablecodesystem"]},
            "publisher": PUBLISHER, "url": DETECTED_ISSUE_URL,
            "version": knowledge().version.rsplit("/", 1)[-1], "name": "GuidekgDetectedIssueCodes",
            "title": "guidekg alerts and plan verdicts (DetectedIssue.code)", "status": "active",
            "experimental": False, "caseSensitive": True, "content": "complete",
            "description": "The alerts of the guidekg rectal cancer liver metastases guideline and the plan "
                           "verdicts that raise a DetectedIssue. Each DetectedIssue also carries a category "
                           "from http://hl7.org/fhir/ValueSet/detectedissue-category where one fits.",
            "count": len(concepts), "concept": concepts}


# ---------------------------------------------------------------- OperationOutcome.issue.expression

def _where(system: str, code: str) -> str:
    return f"code.coding.exists(system = '{system}' and code = '{code}')"


_STRUCTURAL = {  # where the reader finds facts that are not coded Observations (guidekg.ingest.fhir)
    str(GK.patientId): "Patient.id",
    str(GK.sex): "Patient.gender",
    str(GK.primarySite): "Condition.bodySite",
    str(GK.liverMetastasisExtent): "Condition.bodySite",
    str(GK.plannedAction): "MedicationRequest.medication | ServiceRequest.code",
    str(GK.currentRegimen): "MedicationStatement.medication",
    str(GK.lastBevacizumabDate): "MedicationAdministration.effective",
    str(GK.plannedSurgeryDate): "ServiceRequest.occurrence",
}


def fhirpath(path: str | None, mapping: FhirMapping | None = None) -> str | None:
    """A FHIRPath expression for the element that carries ``path`` (a gk property), or None."""
    if not path:
        return None
    prop = expand(path)
    if prop in _STRUCTURAL:
        return _STRUCTURAL[prop]
    m = mapping or fhir_mapping()
    variant = next((r for r in m.rules if r.slot == "variant" and r.prop == prop), None)
    if variant is not None:
        return (f"Observation.where({_where(variant.system, variant.code)} and component.value.ofType(CodeableConcept)"
                f".coding.exists(code = '{variant.gene}')).value")
    coded = next((r for r in m.rules if r.slot == "observation" and r.prop == prop), None)
    if coded is not None:
        return f"Observation.where({_where(coded.system, coded.code)}).value"
    code = m.code_of.get(prop)
    if code is not None:
        return f"Observation.where({_where(CODESYSTEM_URL, code)}).value"
    return None


def operation_outcome(result: Any, mapping: FhirMapping | None = None) -> dict[str, Any]:
    """Why a patient got no recommendations: conflicts and validation findings, FHIRPath-located."""
    issues: list[dict[str, Any]] = [{"severity": "error", "code": "conflict", "diagnostics": c} for c in result.conflicts]
    for finding in result.validation:
        severity = {"violation": "error", "warning": "warning"}.get(finding.severity, "information")
        issue: dict[str, Any] = {"severity": severity, "code": "invalid" if severity == "error" else "informational",
                                 "diagnostics": finding.message}
        expression = fhirpath(finding.path, mapping)
        if expression:
            issue["expression"] = [expression]
        if finding.path:
            issue["details"] = {"text": f"ontology property {finding.path}"}
        issues.append(issue)
    if not issues:
        issues = [{"severity": "error", "code": "processing", "diagnostics": f"patient is {result.status}"}]
    return {"resourceType": "OperationOutcome", "issue": issues}


__all__ = ["DETECTED_ISSUE_URL", "SEVERITY", "UNSAFE_VERDICTS", "IssueCode", "issue_codes", "alert_actions", "rule_alerts", "plan_alert", "issue_concept",
           "alert_code", "detected_issue_codesystem", "fhirpath", "operation_outcome"]
