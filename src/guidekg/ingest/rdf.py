"""RDF input in the guidekg vocabulary: every ``gk:Patient`` in the file is one patient.

Decision classes are derived, never taken from input: an asserted type other than
gk:Patient is dropped with a warning, so a record cannot claim its own recommendation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rdflib import RDF, BNode, Graph, Literal, URIRef

from ..model import Finding, PatientRecord, SourceRef
from ..namespaces import GK, curie
from .defaults import apply_defaults
from .errors import InputError


def read_rdf(path: Path, fmt: str) -> Iterator[PatientRecord]:
    if path.stat().st_size == 0:
        raise InputError(str(path), None, "the file is empty")
    graph = Graph()
    try:
        graph.parse(path, format=fmt)
    except Exception as exc:  # rdflib raises many parser-specific types
        message = str(exc).strip().splitlines()
        raise InputError(str(path), None, f"cannot parse as {fmt}: {' '.join(message)[:500]}") from exc
    patients = sorted(graph.subjects(RDF.type, GK.Patient), key=str)
    if not patients:
        raise InputError(str(path), None, "no gk:Patient resource found (type each patient with gk:Patient)")
    for subject in patients:
        name = curie(str(subject)) if isinstance(subject, URIRef) else f"_:{subject}"
        source = SourceRef(str(path), resource=name)
        ids = [str(o) for o in graph.objects(subject, GK.patientId)]
        patient_id = ids[0] if ids else (str(subject).rsplit("/", 1)[-1] if isinstance(subject, URIRef) else str(subject))
        iri = str(subject) if isinstance(subject, URIRef) else f"urn:guidekg:bnode:{path.name}:{subject}"
        record = PatientRecord(patient_id, iri, source)
        if isinstance(subject, BNode):
            record.findings.append(Finding("a patient must have an IRI, not a blank node", source=str(source)))
        for prop, value in graph.predicate_objects(subject):
            if prop == RDF.type:
                if value != GK.Patient:
                    record.findings.append(Finding(
                        f"asserted type {curie(str(value))} ignored: decision classes are derived by the reasoner",
                        severity="warning", path="rdf:type", source=str(source)))
                continue
            if isinstance(value, BNode):
                record.findings.append(Finding(
                    f"{curie(str(prop))} points to a blank node; use a value individual or a literal",
                    path=curie(str(prop)), source=str(source)))
                continue
            assert isinstance(value, (URIRef, Literal))
            record.add(str(prop), value)
        apply_defaults(record)
        yield record
