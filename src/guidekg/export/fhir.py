"""FHIR R4 output (``--format fhir``): CPG-on-FHIR style results in one collection Bundle.

Per patient: a GuidanceResponse (``success``; ``data-required`` when molecular testing or a
data-completeness alert says facts are missing, each listed as a dataRequirement with its
code; ``failure`` for invalid or contradictory records, explained by an OperationOutcome),
a RequestGroup with one action per recommendation (its evidence as ``documentation``
RelatedArtifacts with DOI/PubMed links) and a DetectedIssue per alert. Every resource is
built and checked with the FHIR R4 model classes (``fhir.resources`` R4B package).
Which alerts and classes mean 'data required' is data: ``ontology/mappings/fhir.csv``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from ..ingest.fhir_map import CODESYSTEM_URL, FhirMapping, fhir_mapping
from ..namespaces import GK, PATIENT, expand
from ..recommend import PatientResult
from ..vocabulary import vocabulary
from .fhir_patient import full_url, validated

MODULE = "https://w3id.org/guidekg/ontology"
SEVERITY = {"violation": "high", "warning": "moderate", "info": "low"}
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _subject(patient_id: str) -> dict[str, Any]:
    ref: dict[str, Any] = {"identifier": {"system": str(PATIENT), "value": patient_id}, "display": patient_id}
    if _FHIR_ID.match(patient_id):
        ref["reference"] = f"Patient/{patient_id}"
    return ref


def _concept(iri: str, label: str | None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": MODULE, "code": expand(iri).rsplit("#", 1)[-1]}
    if label:
        coding["display"] = label
    return {"coding": [coding], "text": label or coding["code"]}


def _artifacts(rec_or_alert: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"type": "derived-from", "label": rec_or_alert["id"], "url": expand(rec_or_alert["id"])}]
    seen: set[tuple] = set()
    for ev in rec_or_alert.get("evidence") or []:
        key = (ev.get("id"), ev.get("doi"), ev.get("pmid"))
        if key in seen:
            continue
        seen.add(key)
        artifact: dict[str, Any] = {"type": "citation", "label": ev.get("id"), "citation": ev.get("citation") or ev.get("id")}
        if ev.get("doi"):
            artifact["url"] = f"https://doi.org/{ev['doi']}"
        elif ev.get("pmid"):
            artifact["url"] = f"https://pubmed.ncbi.nlm.nih.gov/{ev['pmid']}/"
        out.append(artifact)
    return out


def data_requirements(result: PatientResult, mapping: FhirMapping | None = None) -> list[dict[str, Any]]:
    """What is missing for this patient, as FHIR DataRequirements with the codes that would carry it."""
    m = mapping or fhir_mapping()
    props: list[str] = []
    testing = {expand(r.code) for r in m.slot("data-required-class")}
    if testing & set(result.classes):
        defaults = vocabulary().when_absent
        props += [p for p, default in defaults.items() if default in {str(v) for v in result.record.values(p)}]
    alerts = {expand(a["id"]) for a in result.alerts}
    props += [r.prop for r in m.slot("data-requirement") if expand(r.code) in alerts]
    return [_requirement(p, m) for p in dict.fromkeys(props)]


def _requirement(prop: str, m: FhirMapping) -> dict[str, Any]:
    variant = [r for r in m.rules if r.slot == "variant" and r.prop == prop]
    coded = [r for r in m.rules if r.slot == "observation" and r.prop == prop]
    if variant:
        gene = next(r for r in m.slot("component") if r.kind == "gene")
        return {"type": "Observation", "profile": ["http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"],
                "codeFilter": [{"path": "code", "code": [{"system": variant[0].system, "code": variant[0].code}]},
                               {"path": "component.valueCodeableConcept", "code": [
                                   {"system": "http://www.genenames.org/geneId", "code": variant[0].gene}]}],
                "extension": [_property(prop), _component(gene)]}
    if coded:
        return {"type": "Observation", "codeFilter": [{"path": "code", "code": [{"system": coded[0].system, "code": coded[0].code}]}],
                "extension": [_property(prop)]}
    code = m.code_of.get(prop, prop.rsplit("#", 1)[-1])
    return {"type": "Observation", "codeFilter": [{"path": "code", "code": [
        {"system": CODESYSTEM_URL, "code": code, "display": m.labels.get(code, code)}]}], "extension": [_property(prop)]}


def _property(prop: str) -> dict[str, Any]:
    return {"url": f"{MODULE}/fhir/StructureDefinition/patient-attribute", "valueUri": prop}


def _component(rule: Any) -> dict[str, Any]:
    return {"url": f"{MODULE}/fhir/StructureDefinition/gene-component",
            "valueCoding": {"system": rule.system, "code": rule.code}}


def _status(result: PatientResult, requirements: list[dict[str, Any]]) -> str:
    if result.status != "ok":
        return "failure"
    return "data-required" if requirements else "success"


def _outcome(result: PatientResult) -> dict[str, Any]:
    issues = [{"severity": "error", "code": "conflict", "diagnostics": c} for c in result.conflicts]
    for finding in result.validation:
        severity = {"violation": "error", "warning": "warning"}.get(finding.severity, "information")
        issue: dict[str, Any] = {"severity": severity, "code": "invalid" if severity == "error" else "informational",
                                 "diagnostics": finding.message}
        if finding.path:
            issue["expression"] = [finding.path]
        issues.append(issue)
    if not issues:
        issues = [{"severity": "error", "code": "processing", "diagnostics": f"patient is {result.status}"}]
    return {"resourceType": "OperationOutcome", "issue": issues}


def patient_entries(index: int, result: PatientResult, mapping: FhirMapping | None = None) -> list[dict[str, Any]]:
    """The Bundle entries (validated resources) for one patient's result."""
    m = mapping or fhir_mapping()
    pid = result.record.patient_id
    subject = _subject(pid)
    base = f"p{index + 1}"
    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any]) -> str:
        key = f"{result.record.iri}/{resource['resourceType']}/{resource['id']}"
        url = full_url("result", key)
        entries.append({"fullUrl": url, "resource": validated(resource)})
        return url

    requirements = data_requirements(result, m) if result.status == "ok" else []
    issues = []
    for k, alert in enumerate(result.alerts):
        issues.append(add({
            "resourceType": "DetectedIssue", "id": f"{base}-issue{k + 1}", "status": "final",
            "code": _concept(alert["id"], alert.get("label")), "severity": SEVERITY.get(alert["severity"], "moderate"),
            "patient": subject, "detail": alert.get("message") or alert["id"], "reference": expand(alert["id"])}))
    group_url = None
    if result.status == "ok":
        actions = []
        for rec in result.recommendations:
            action: dict[str, Any] = {"id": expand(rec["id"]).rsplit("#", 1)[-1], "title": rec.get("title") or rec["id"],
                                      "description": rec.get("label") or rec["id"], "documentation": _artifacts(rec)}
            if rec.get("category"):
                action["prefix"] = rec["category"]
            codes = (rec.get("action") or {}).get("codes") or []
            if codes:
                action["code"] = [{"coding": [{"system": c["system"], "code": c["code"]} for c in codes],
                                   "text": rec["action"].get("label")}]
            if (rec.get("action") or {}).get("intent") == "avoid":
                action["textEquivalent"] = f"Do not: {rec['action'].get('label')}"
            actions.append(action)
        group: dict[str, Any] = {"resourceType": "RequestGroup", "id": f"{base}-requests", "status": "active",
                                 "intent": "proposal", "subject": subject, "instantiatesUri": [MODULE]}
        if actions:
            group["action"] = actions
        group_url = add(group)
    outcome_url = add(dict(_outcome(result), id=f"{base}-outcome")) if result.status != "ok" else None
    response: dict[str, Any] = {
        "resourceType": "GuidanceResponse", "id": f"{base}-guidance",
        "requestIdentifier": {"system": str(PATIENT), "value": pid}, "moduleUri": MODULE,
        "status": _status(result, requirements), "subject": subject}
    if group_url:
        response["result"] = {"reference": group_url}
    if outcome_url:
        response["evaluationMessage"] = [{"reference": outcome_url}]
    if requirements:
        response["dataRequirement"] = requirements
    if result.treatment_classes:
        response["reasonCode"] = [_concept(c, None) for c in result.treatment_classes]
    if issues:
        response["note"] = [{"text": f"{len(issues)} alert(s): see DetectedIssue entries"}]
    entries.insert(0, {"fullUrl": full_url("result", f"{result.record.iri}/GuidanceResponse"), "resource": validated(response)})
    return entries


def render_fhir(results: Sequence[PatientResult]) -> str:
    """A FHIR R4 Bundle (type collection) of every patient's results, as JSON."""
    mapping = fhir_mapping()
    entries = [e for i, r in enumerate(results) for e in patient_entries(i, r, mapping)]
    bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries or None})
    return json.dumps(json.loads(bundle.model_dump_json(exclude_none=True)), indent=2, ensure_ascii=False)


__all__ = ["render_fhir", "patient_entries", "data_requirements", "GK"]
