"""IRIs shared by every module, so no module spells a namespace twice."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from rdflib import Namespace

GK = Namespace("https://w3id.org/guidekg/ontology#")
PATIENT = Namespace("https://w3id.org/guidekg/patient/")
RUN = Namespace("https://w3id.org/guidekg/run/")
SH = Namespace("http://www.w3.org/ns/shacl#")
PROV = Namespace("http://www.w3.org/ns/prov#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = Namespace("http://purl.org/dc/terms/")

PREFIXES: dict[str, str] = {
    "gk": str(GK),
    "patient": str(PATIENT),
    "sh": str(SH),
    "prov": str(PROV),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def patient_iri(patient_id: str) -> str:
    """The IRI of a patient given its input identifier (percent-encoded, so any id is safe)."""
    return str(PATIENT) + quote(patient_id, safe="")


@lru_cache(maxsize=4096)
def curie(iri: str) -> str:
    """Shorten an IRI with the project prefixes; unknown namespaces stay full IRIs (cached:
    population runs shorten the same few hundred class and alert IRIs millions of times)."""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def expand(curie_or_iri: str) -> str:
    """Inverse of :func:`curie` for the project prefixes."""
    prefix, sep, local = curie_or_iri.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return curie_or_iri
