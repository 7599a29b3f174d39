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
from ..knowledge import knowledge
from ..namespaces import GK, PATIENT, curie, expand
from ..recommend import PatientResult
from ..vocabulary import vocabulary
from .fhir_actions import detected_issues, orders, output_parameters, plan_request, recommendation_action
from .fhir_issues import operation_outcome
from .fhir_knowledge import PLAN_URL, citations
from .fhir_patient import full_url, validated

MODULE = "https://w3id.org/guidekg/ontology"
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _subject(patient_id: str) -> dict[str, Any]:
    ref: dict[str, Any] = {"identifier": {"system": str(PATIENT), "value": patient_id}, "display": patient_id}
    if _FHIR_ID.match(patient_id):
        ref["reference"] = f"Patient/{patient_id}"
    return ref


def _artifacts(rec_or_alert: dict[str, Any]) -> list[dict[str, Any]]:
    derived = {"type": "derived-from", "label": rec_or_alert["id"], "url": expand(rec_or_alert["id"])}
    return [derived, *citations(rec_or_alert.get("evidence") or [])]


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


def patient_entries(index: int, result: PatientResult, mapping: FhirMapping | None = None) -> list[dict[str, Any]]:
    """The Bundle entries (validated resources) for one patient's result, GuidanceResponse first."""
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

    data = result.as_json()
    requirements = data_requirements(result, m) if result.status == "ok" else []
    plan = [dict(item, request=add(plan_request(item, f"{base}-plan{k + 1}", subject, m)))
            for k, item in enumerate(orders(data.get("plan") or [], result.record, m))]
    issues = detected_issues(result.alerts, plan, base, subject, add)
    group_url = None
    if result.status == "ok":
        actions = [recommendation_action(rec, f"{base}-rec{k + 1}", subject, add)
                   for k, rec in enumerate(result.recommendations)]
        group: dict[str, Any] = {"resourceType": "RequestGroup", "id": f"{base}-requests", "status": "active",
                                 "intent": "proposal", "subject": subject, "instantiatesCanonical": [PLAN_URL]}
        if actions:
            group["action"] = actions
        group_url = add(group)
    outcome_url = add(dict(operation_outcome(result, m), id=f"{base}-outcome")) if result.status != "ok" else None
    verdicts = [item for item in plan if item.get("verdict")]
    parameters = output_parameters(data, result.treatment_classes, verdicts, f"{base}-output")
    params_url = add(parameters) if parameters.get("parameter") else None
    response: dict[str, Any] = {
        "resourceType": "GuidanceResponse", "id": f"{base}-guidance",
        "requestIdentifier": {"system": str(PATIENT), "value": pid}, "moduleCanonical": PLAN_URL,
        "status": _status(result, requirements), "subject": subject}
    if group_url:
        response["result"] = {"reference": group_url}
    if outcome_url:
        response["evaluationMessage"] = [{"reference": outcome_url}]
    if params_url:
        response["outputParameters"] = {"reference": params_url}
    if requirements:
        response["dataRequirement"] = requirements
    if result.treatment_classes:
        response["reasonCode"] = [{"text": knowledge().label(c) or curie(c)} for c in result.treatment_classes]
    headline = (data.get("headline") or {}).get("text")
    notes = ([headline] if headline else []) + ([f"{len(issues)} alert(s): see DetectedIssue entries"] if issues else [])
    if notes:
        response["note"] = [{"text": n} for n in notes]
    entries.insert(0, {"fullUrl": full_url("result", f"{result.record.iri}/GuidanceResponse"), "resource": validated(response)})
    return entries


def render_fhir(results: Sequence[PatientResult]) -> str:
    """A FHIR R4 Bundle (type collection) of every patient's results, as JSON."""
    mapping = fhir_mapping()
    entries = [e for i, r in enumerate(results) for e in patient_entries(i, r, mapping)]
    bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries or None})
    return json.dumps(json.loads(bundle.model_dump_json(exclude_none=True)), indent=2, ensure_ascii=False)


__all__ = ["render_fhir", "patient_entries", "data_requirements", "GK"]
