"""The data contracts that flow between ingest, validation, reasoning and export.

A patient travels as a :class:`PatientRecord`: its facts as (property IRI -> values) with
rdflib terms. Keeping records light (no rdflib Graph per patient) is what lets the batch
path stream a million patients; :meth:`PatientRecord.to_graph` builds the RDF view on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as TypingLiteral

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.term import Node

from .namespaces import GK

Severity = TypingLiteral["violation", "warning", "info"]
Status = TypingLiteral["ok", "invalid", "contradictory"]


@dataclass(frozen=True)
class SourceRef:
    """Where a patient came from: file and line (CSV/NDJSON) or resource, for error messages."""

    file: str
    line: int | None = None
    resource: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.resource:
            where += f" ({self.resource})"
        return where


@dataclass(frozen=True)
class Finding:
    """One validation or ingest problem, named precisely enough to fix it."""

    message: str
    severity: Severity = "violation"
    path: str | None = None
    source: str | None = None
    alert: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"path": self.path, "message": self.message, "severity": self.severity, "source": self.source}


@dataclass
class PatientRecord:
    """One input patient: identifier, facts and ingest findings."""

    patient_id: str
    iri: str
    source: SourceRef
    facts: dict[str, list[Node]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, prop: str, value: Node) -> None:
        values = self.facts.setdefault(prop, [])
        if value not in values:
            values.append(value)

    def values(self, prop: str) -> list[Node]:
        return self.facts.get(prop, [])

    @property
    def ingest_failed(self) -> bool:
        return any(f.severity == "violation" for f in self.findings)

    def triples(self) -> list[tuple[Node, Node, Node]]:
        subject = URIRef(self.iri)
        out: list[tuple[Node, Node, Node]] = [(subject, RDF.type, GK.Patient)]
        for prop, values in self.facts.items():
            for value in values:
                out.append((subject, URIRef(prop), value))
        return out

    def to_graph(self, graph: Graph | None = None) -> Graph:
        graph = graph if graph is not None else Graph()
        for triple in self.triples():
            graph.add(triple)
        return graph


@dataclass(frozen=True)
class Reasoned:
    """What a reasoner says about one patient."""

    consistent: bool
    classes: frozenset[str] = frozenset()
    conflicts: tuple[str, ...] = ()


def literal_key(value: Node) -> object:
    """Comparable value of a term: numbers by value (OWL compares 2 and 2.0 as equal)."""
    if isinstance(value, Literal):
        python = value.toPython()
        if isinstance(python, bool):
            return ("bool", python)
        if isinstance(python, (int, float)) or type(python).__name__ == "Decimal":
            return ("num", python)
        return ("lit", str(value), str(value.datatype or ""), value.language or "")
    return ("iri", str(value))
