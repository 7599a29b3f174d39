"""Closed-world defaults shared by every reader (see core.ttl, gk:whenAbsent)."""

from __future__ import annotations

from functools import lru_cache

from rdflib import URIRef

from ..model import PatientRecord
from ..vocabulary import vocabulary


@lru_cache(maxsize=1)
def _defaults() -> tuple[tuple[str, URIRef], ...]:
    """(property, default individual) pairs, built once: every record of a population reads them."""
    return tuple((prop, URIRef(default)) for prop, default in vocabulary().when_absent.items())


def apply_defaults(record: PatientRecord) -> None:
    """Record an explicit 'not tested' value for each missing molecular result."""
    facts = record.facts
    for prop, default in _defaults():
        if not facts.get(prop):
            facts[prop] = [default]
