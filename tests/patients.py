"""Patient builders for tests (import as ``from patients import patient``)."""

from __future__ import annotations

from guidekg.ingest.defaults import apply_defaults
from guidekg.model import PatientRecord, SourceRef
from guidekg.mutation.expectations import fact_term
from guidekg.namespaces import GK, patient_iri


def make_patient(pid: str, defaults: bool = True, **facts) -> PatientRecord:
    """A record from keyword facts: gk local name -> value (str = gk individual, int/bool/float = literal, list = several)."""
    record = PatientRecord(pid, patient_iri(pid), SourceRef("test", None))
    for prop, value in facts.items():
        for item in value if isinstance(value, list) else [value]:
            record.add(str(GK[prop]), fact_term(item))
    if defaults:
        apply_defaults(record)
    return record


BASE = dict(primarySite="Rectum", liverMetastasisExtent="Bilobar", resectability="NonResectable",
            primarySymptomatic=False, treatmentPhase="PreTreatment", age=60, ecog=1,
            msiStatus="MSS", mmrStatus="pMMR", krasStatus="KRAS_Wildtype", nrasStatus="NRAS_Wildtype",
            brafStatus="BRAF_Wildtype", her2Status="HER2_NotAmplified")


def patient(pid: str, **overrides) -> PatientRecord:
    """A fully recorded, in-scope rectal patient with overrides (None removes a fact)."""
    facts = dict(BASE)
    for key, value in overrides.items():
        if value is None:
            facts.pop(key, None)
        else:
            facts[key] = value
    return make_patient(pid, **facts)
