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

from .ingest import InputError, read_patients
from .model import Finding, PatientRecord, Reasoned
from .query import knowledge_graph, load_query, run_query
from .reasoning import get_reasoner
from .recommend import PatientResult, assess, exit_code, recommend
from .validate import validate_records

__all__ = [
    "Finding", "InputError", "PatientRecord", "PatientResult", "Reasoned", "__version__", "assess", "exit_code",
    "get_reasoner", "knowledge_graph", "load_query", "read_patients", "recommend", "run_query", "validate_records",
]
