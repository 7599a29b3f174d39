"""Closed-world defaults shared by every reader (see core.ttl, gk:whenAbsent)."""

from __future__ import annotations

from rdflib import URIRef

from ..model import PatientRecord
from ..vocabulary import vocabulary


def apply_defaults(record: PatientRecord) -> None:
    """Record an explicit 'not tested' value for each missing molecular result."""
    for prop, default in vocabulary().when_absent.items():
        if not record.values(prop):
            record.add(prop, URIRef(default))
