"""guidekg: a clinical guideline as an OWL ontology + SHACL shapes, with reasoners and SPARQL.

Public API (the CLI only calls these):

* :func:`recommend` - read inputs and assess every patient (one result per input patient)
* :func:`assess` - assess already-read :class:`PatientRecord` objects
* :func:`read_patients` - read CSV, RDF or FHIR inputs into records
* :func:`validate_records` - SHACL findings per patient
* :func:`get_reasoner` - a reasoner by name (``fast`` or ``hermit``)
* :func:`knowledge_graph`, :func:`load_query`, :func:`run_query` - SPARQL over the guideline and results
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import Any

# Imported on first use (PEP 562), so ``guidekg recommend one.csv`` does not load pySHACL,
# the SPARQL parser or every reader just by importing the package.
_LAZY = {
    "InputError": "ingest", "read_patients": "ingest",
    "Finding": "model", "PatientRecord": "model", "Reasoned": "model",
    "knowledge_graph": "query", "load_query": "query", "run_query": "query",
    "get_reasoner": "reasoning",
    "PatientResult": "recommend", "assess": "recommend", "exit_code": "recommend", "recommend": "recommend",
    "validate_records": "validate",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'guidekg' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Finding", "InputError", "PatientRecord", "PatientResult", "Reasoned", "__version__", "assess", "exit_code",
    "get_reasoner", "knowledge_graph", "load_query", "read_patients", "recommend", "run_query", "validate_records",
]
