"""Write a patient record as FHIR R4 resources (mCODE / Genomics Reporting conventions).

Why: the example patients exist once, as a CSV case sheet; their FHIR forms are generated
from it through the same mapping the reader uses (:mod:`guidekg.ingest.fhir_map`), so a
test can show that CSV, Turtle and FHIR give the same results. Standard codes are used
where the mapping has one; every other fact travels with a project CodeSystem code.
Every resource is validated by its FHIR model class before it is returned.

No patient resource declares ``meta.profile``: the mCODE STU4 profiles these resources follow in spirit were
checked (npm package hl7.fhir.us.mcode@4.0.0) and are not met (mcode-cancer-patient requires
Patient.identifier and Patient.name, which a case sheet does not have; the cancer-condition profiles
require Condition.category; mcode-patient-bundle requires a conforming cancer patient). A profile is
declared only where the resource meets it (the project CodeSystem meets the core shareablecodesystem).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from rdflib import OWL, RDF, RDFS, Literal, URIRef
from rdflib.namespace import SKOS

from .. import resources
from ..ingest.fhir_map import CODESYSTEM_URL, FhirMapping, fhir_mapping
from ..model import PatientRecord
from ..namespaces import GK
from ..vocabulary import vocabulary

UCUM = "http://unitsofmeasure.org"
PUBLISHER = "guidekg developers"
"""Publisher of the CodeSystems and knowledge artifacts (the pyproject authors)."""


def full_url(rtype: str, rid: str) -> str:
    """A stable absolute entry URL (urn:uuid) for a resource, so regenerated files do not churn."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'https://w3id.org/guidekg/fhir/{rtype}/{rid}')}"


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as the FHIR R4 model serialises it (raises if it does not conform)."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return json.loads(model.model_dump_json(exclude_none=True))


@lru_cache(maxsize=1)
def systemic_actions() -> frozenset[str]:
    core = resources.shared_graph("ontology", *resources.LOGIC_MODULES)
    classes = {GK.SystemicTherapy} | set(core.transitive_subjects(RDFS.subClassOf, GK.SystemicTherapy))
    return frozenset(str(i) for c in classes for i in core.subjects(RDF.type, c))


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


class _Writer:
    def __init__(self, record: PatientRecord, mapping: FhirMapping) -> None:
        self.record, self.m = record, mapping
        self.pid = record.patient_id
        self.out: list[dict[str, Any]] = []
        self.count = 0

    def project(self, iri: str) -> dict[str, Any]:
        code = self.m.code_of.get(iri)
        if code is None:
            raise ValueError(f"patient {self.pid}: no standard or project code for {iri}; add one to ontology/codesystem.ttl")
        return {"coding": [_coding(CODESYSTEM_URL, code, self.m.labels.get(code))]}

    def emit(self, rtype: str, body: dict[str, Any]) -> None:
        self.count += 1
        resource: dict[str, Any] = {"resourceType": rtype, "id": f"{self.pid}-{rtype[:3].lower()}{self.count}"}
        if rtype != "Patient":
            resource["subject"] = {"reference": f"Patient/{self.pid}"}
        resource.update(body)
        self.out.append(validated(resource))

    def observation(self, code: dict[str, Any], value: dict[str, Any], **extra: Any) -> None:
        self.emit("Observation", {"status": "final", "code": code, **value, **extra})

    # ------------------------------------------------------------------ one fact
    def fact(self, prop: str, value: Any) -> None:
        m = self.m
        standard = m.standard_for(prop, str(value)) if isinstance(value, URIRef) else []
        by_slot = {r.slot: r for r in reversed(standard)}
        if prop == str(GK.sex):
            return  # on the Patient resource
        if prop == str(GK.primarySite):
            cancer = by_slot.get("primary-cancer") or next(r for r in m.slot("primary-cancer") if not r.individual)
            site = by_slot["primary-site"]
            self.emit("Condition", {"code": {"coding": [_coding(cancer.system, cancer.code)]},
                                    "bodySite": [{"coding": [_coding(site.system, site.code)]}]})
        elif prop == str(GK.liverMetastasisExtent):
            cancer = next(r for r in m.slot("metastasis") if r.kind == "liver")
            liver = m.slot("metastasis-site")[0]
            side = by_slot["laterality"]
            url = next(r.system for r in m.slot("extension") if r.kind == "laterality")
            self.emit("Condition", {"code": {"coding": [_coding(cancer.system, cancer.code)]},
                                    "bodySite": [{"coding": [_coding(liver.system, liver.code)],
                                                  "extension": [{"url": url, "valueCodeableConcept": {
                                                      "coding": [_coding(side.system, side.code)]}}]}]})
        elif "variant" in by_slot:
            self.variant([r for r in standard if r.slot == "variant"])
        elif "observation" in by_slot:
            rule = by_slot["observation"]
            self.observation({"coding": [_coding(rule.system, rule.code)]},
                             {"valueCodeableConcept": {"coding": [_coding(rule.value_system, rule.value_code)]}})
        elif prop in (str(GK.plannedAction), str(GK.currentRegimen)):
            self.action(prop, str(value))
        elif prop == str(GK.lastBevacizumabDate):
            rule = next(r for r in m.slot("last-given") if r.prop == prop)
            self.emit("MedicationAdministration", {"status": "completed", "effectiveDateTime": str(value),
                                                   "medicationCodeableConcept": {"coding": [_coding(rule.system, rule.code)]}})
        elif prop == str(GK.plannedSurgeryDate):
            self.emit("ServiceRequest", {"status": "active", "intent": "plan", "occurrenceDateTime": str(value),
                                         "code": self.project(str(GK.SurgicalProcedure))})
        else:
            self.numeric_or_project(prop, value)

    def numeric_or_project(self, prop: str, value: Any) -> None:
        plain = [r for r in self.m.rules if r.slot == "observation" and r.prop == prop and not r.value_code]
        if plain:  # ECOG, age: standard LOINC observations with a number
            rule = plain[0]
            number = int(value.toPython())
            body = {"valueInteger": number} if prop == str(GK.ecog) else {
                "valueQuantity": {"value": number, "unit": "a", "system": UCUM, "code": "a"}}
            self.observation({"coding": [_coding(rule.system, rule.code)]}, body)
            return
        kind = self.m.kinds[prop]
        if isinstance(value, URIRef):
            body: dict[str, Any] = {"valueCodeableConcept": self.project(str(value))}
        elif kind == "boolean":
            body = {"valueBoolean": bool(value.toPython())}
        elif kind == "integer":
            body = {"valueInteger": int(value.toPython())}
        elif kind == "decimal":
            body = {"valueQuantity": {"value": value.toPython(), "unit": "mo", "system": UCUM, "code": "mo"}}
        elif kind == "date":
            body = {"valueDateTime": str(value)}
        else:
            raise ValueError(f"patient {self.pid}: cannot write {prop} = {value} as FHIR")
        self.observation(self.project(prop), body)

    def variant(self, rules: list) -> None:
        rule = next((r for r in rules if r.aa_change), rules[0])
        gene_code = next(r for r in self.m.slot("component") if r.kind == "gene")
        components = [{"code": {"coding": [_coding(gene_code.system, gene_code.code)]},
                       "valueCodeableConcept": {"coding": [_coding("http://www.genenames.org/geneId", rule.gene)]}}]
        if rule.aa_change:
            aa = next(r for r in self.m.slot("component") if r.kind == "aa-change")
            components.append({"code": {"coding": [_coding(aa.system, aa.code)]},
                               "valueCodeableConcept": {"coding": [_coding("http://varnomen.hgvs.org", rule.aa_change[0])]}})
        self.observation({"coding": [_coding(rule.system, rule.code)]},
                         {"valueCodeableConcept": {"coding": [_coding(rule.value_system, rule.value_code)]}},
                         component=components)

    def action(self, prop: str, action: str) -> None:
        drug = [r for r in self.m.rules if r.slot == "medication" and r.individual == action]
        concept = {"coding": [_coding(drug[0].system, drug[0].code)]} if drug else self.project(action)
        if prop == str(GK.currentRegimen):
            self.emit("MedicationStatement", {"status": "active", "medicationCodeableConcept": concept})
        elif drug or action in systemic_actions():
            self.emit("MedicationRequest", {"status": "active", "intent": "plan", "medicationCodeableConcept": concept})
        else:
            self.emit("ServiceRequest", {"status": "active", "intent": "plan", "code": concept})


def patient_resources(record: PatientRecord) -> list[dict[str, Any]]:
    """The FHIR R4 resources (Patient first) that carry every fact of ``record``."""
    mapping = fhir_mapping()
    writer = _Writer(record, mapping)
    defaults = vocabulary().when_absent
    patient: dict[str, Any] = {"resourceType": "Patient", "id": record.patient_id}
    for sex in record.values(str(GK.sex)):
        rule = next(r for r in mapping.slot("gender") if r.individual == str(sex))
        patient["gender"] = rule.code
    writer.out.append(validated(patient))
    for prop, values in record.facts.items():
        if prop == str(GK.patientId):
            continue
        for value in values:
            if defaults.get(prop) == str(value):
                continue  # explicit 'not tested' is written back by ingest
            writer.fact(prop, value if isinstance(value, (URIRef, Literal)) else Literal(value))
    return writer.out


def patient_bundle(record: PatientRecord) -> dict[str, Any]:
    """A Bundle (type collection) with one patient's resources."""
    entries = [{"fullUrl": full_url(r["resourceType"], r["id"]), "resource": r} for r in patient_resources(record)]
    return validated({"resourceType": "Bundle", "id": f"{record.patient_id}-bundle", "type": "collection",
                      "entry": entries})


def codesystem_resource(mapping: FhirMapping | None = None) -> dict[str, Any]:
    """The project CodeSystem as a FHIR R4 CodeSystem resource (from ontology/codesystem.ttl)."""
    mapping = mapping or fhir_mapping()
    concepts = [{"code": code, "display": mapping.labels.get(code, code),
                 **({"definition": mapping.definitions[code]} if code in mapping.definitions else {})}
                for code in sorted(mapping.concept_of)]
    scheme = resources.shared_graph("ontology", "codesystem")
    description = next(scheme.objects(URIRef(CODESYSTEM_URL), SKOS.definition), None)
    version = next(scheme.objects(URIRef(CODESYSTEM_URL), OWL.versionInfo), None)
    return validated({"resourceType": "CodeSystem", "id": "guidekg", "url": CODESYSTEM_URL,
                      "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/shareablecodesystem"]},
                      "version": str(version or "0.1.0"), "publisher": PUBLISHER,
                      "description": str(description or "guidekg codes for facts without a standard code"),
                      "name": "GuidekgCodes", "title": "guidekg codes for facts without a standard code",
                      "status": "active", "experimental": False, "caseSensitive": True, "content": "complete",
                      "count": len(concepts), "concept": concepts})


def bulk_lines(records: Iterable[PatientRecord]) -> dict[str, list[str]]:
    """NDJSON lines per resource type (a Bulk Data export) for the given patients."""
    out: dict[str, list[str]] = {}
    for record in records:
        for resource in patient_resources(record):
            out.setdefault(resource["resourceType"], []).append(json.dumps(resource, separators=(",", ":")))
    return out
