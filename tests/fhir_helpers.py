"""Small builders of FHIR R4 JSON for the FHIR tests (codes spelled as in ontology/mappings/fhir.csv)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HGNC = "http://www.genenames.org/geneId"
GKCS = "https://w3id.org/guidekg/CodeSystem/guidekg"
LATERALITY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"


def cc(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def patient(pid: str = "p1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, **extra}


def rectal_primary(pid: str = "p1", rid: str = "c1") -> dict[str, Any]:
    return {"resourceType": "Condition", "id": rid, "subject": {"reference": f"Patient/{pid}"},
            "code": cc(SCT, "363351006"), "bodySite": [cc(SCT, "34402009")]}


def obs(code: dict[str, Any], pid: str = "p1", rid: str = "o1", **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": f"Patient/{pid}"},
            "code": code, **value}


def variant(gene: str, present: bool, aa: str | None = None, pid: str = "p1", rid: str = "v1") -> dict[str, Any]:
    components = [{"code": cc(LOINC, "48018-6"), "valueCodeableConcept": cc(HGNC, gene)}]
    if aa:
        components.append({"code": cc(LOINC, "48005-3"), "valueCodeableConcept": cc("http://varnomen.hgvs.org", aa)})
    return obs(cc(LOINC, "69548-6"), pid, rid, valueCodeableConcept=cc(LOINC, "LA9633-4" if present else "LA9634-2"),
               component=components)


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def required_facts(pid: str = "p1") -> list[dict[str, Any]]:
    """A rectal primary, bilobar liver metastases and resectability: what the patient shapes require."""
    liver = {"resourceType": "Condition", "id": "m1", "subject": {"reference": f"Patient/{pid}"}, "code": cc(SCT, "94381002"),
             "bodySite": [dict(cc(SCT, "10200004"), extension=[{"url": LATERALITY, "valueCodeableConcept": cc(SCT, "51440002")}])]}
    return [rectal_primary(pid), liver, obs(cc(GKCS, "resectability"), pid, "r1", valueCodeableConcept=cc(GKCS, "non-resectable"))]
