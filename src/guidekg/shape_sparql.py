"""The shapes' SPARQL constraints over a chunk of patients, each patient's answer memoised.

:meth:`guidekg.fastvalidate.CompiledValidator.validate` runs every sh:select of the shapes on
pyoxigraph over a chunk of patients plus the ontology. Building that store and running 23
queries was ~40% of the population path, although a cohort repeats the same few
combinations of the handful of facts each query reads.

What one query returns for one patient is fixed by what it can see: the triples whose
predicate it names (:attr:`guidekg.sparql_footprint.Footprint.predicates`; a query cannot see
a triple whose predicate it never names), the ontology, and the patient's own node. The
patient's own triples on those predicates are its facts on them; other patients' triples
have other subjects, and an IRI value the ontology knows is not a patient, so a query
starting from ``?this`` reaches them only through the ontology, as it does for every patient.
So the rows a query returns for a patient are memoised on exactly

* the patient's values of the query's predicates, in order, each as (lexical form,
  datatype, language) or its IRI string, with
* every term equal to the patient's own IRI replaced by :data:`FOCUS`,

and turned into findings by the same code (spelling map, dedup, message) for every patient,
memo hit or not. A patient with a blank-node value or an IRI the ontology does not know
is never memoised (run fresh), nor is a query whose footprint is unknown.
tests/test_fast_memo.py checks memoised findings equal fresh ones on thousands of patients.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import RDF, Literal, URIRef

from .model import Finding, PatientRecord
from .namespaces import GK, curie
from .oxstore import from_ox, named, ontology_store, to_ox

if TYPE_CHECKING:
    from .fastvalidate import CompiledValidator, _SparqlCheck

MEMO_SIZE = 100_000
"""Rows kept per (query, projection); cleared when full (the answer is recomputed, never wrong)."""

FOCUS = URIRef("urn:guidekg:memo:focus")  # stands for the patient's own IRI in memoised rows

_ROWS: dict[tuple[str, tuple], list[dict[str, Any]]] = {}
_UNMEMOISABLE = object()


def _term(value: Any) -> Any:
    if type(value) is URIRef:
        return str(value)
    if type(value) is Literal:
        return (str(value), value.datatype, value.language)
    return None


def projection(record: PatientRecord, predicates: frozenset[str], known: frozenset[str]) -> dict[str, tuple] | None:
    """The record's values of ``predicates`` as plain hashable parts (None: not memoisable)."""
    out: dict[str, tuple] = {}
    for prop, values in record.facts.items():
        if prop not in predicates:
            continue
        parts = []
        for value in values:
            part = _term(value)
            if part is None or (type(part) is str and part not in known):
                return None
            parts.append(part)
        out[prop] = tuple(parts)
    return out


def _comparable(value: Literal) -> object:
    from decimal import Decimal

    python = value.toPython()
    return python if isinstance(python, (int, Decimal, bool, str)) else str(value)


def _spellings(record: PatientRecord, predicates: frozenset[str] | None) -> dict[tuple[str, object], Literal | None]:
    """(datatype, value) -> the patient's own spelling of it among ``predicates`` (None: two spellings)."""
    mine: dict[tuple[str, object], Literal | None] = {}
    for prop, values in record.facts.items():
        if predicates is not None and prop not in predicates:
            continue
        for value in values:
            if isinstance(value, Literal):
                key = (str(value.datatype or ""), _comparable(value))
                if key not in mine:
                    mine[key] = value
                elif mine[key] is not None and str(mine[key]) != str(value):
                    mine[key] = None
    return mine


def run(validator: CompiledValidator, records: Sequence[PatientRecord], out: dict[str, list[Finding]]) -> set[str]:
    """Add the SPARQL checks' findings to ``out``; return the patients pySHACL must redo.

    pyoxigraph returns canonical lexical forms ("6" for "6.0"), and findings quote values
    as the patient wrote them (as pySHACL does), so each returned literal is mapped back to
    the patient's own spelling. When one patient has two spellings of one value among the
    predicates read, that mapping is ambiguous only if a solution binds that value: then,
    and only then, the patient is handed to pySHACL, which knows which one it bound.
    """
    retry: set[str] = set()
    if not validator.sparql:
        return retry
    predicates = validator._sparql_predicates
    known = validator.known
    # per check: its candidates (patients it can match) as (record, memo key or None, memoised rows or None)
    plan: list[tuple[_SparqlCheck, list[tuple[PatientRecord, tuple | None, list | None]]]] = []
    projections: dict[str, dict[str, tuple] | None] = {}
    fresh: set[str] = set()  # patients some check must run for
    for check in validator.sparql:
        reads = check.footprint.predicates
        order = sorted(reads) if reads is not None else None
        candidates = []
        for record in records:
            if not check.may_match(record):
                continue
            key = None
            if order is not None:
                if record.iri not in projections:
                    projections[record.iri] = projection(record, predicates, known) if predicates is not None else None
                proj = projections[record.iri]
                if proj is not None:
                    key = (check.query, tuple(proj.get(p, ()) for p in order))
            rows = _ROWS.get(key) if key is not None else None
            if rows is None:
                fresh.add(record.iri)
            candidates.append((record, key, rows))
        plan.append((check, candidates))
    found = _query(validator, [r for r in records if r.iri in fresh], plan) if fresh else {}
    alerts = validator.alerts or {}
    spellings: dict[str, dict] = {}
    for check, candidates in plan:
        for record, key, rows in candidates:
            if rows is None:
                rows = found.get((check.query, record.iri), [])
                if key is not None:
                    if len(_ROWS) >= MEMO_SIZE:
                        _ROWS.clear()
                    _ROWS[key] = rows
            if rows and record.iri in out:
                if record.iri not in spellings:
                    spellings[record.iri] = _spellings(record, predicates)
                if _findings(check, rows, URIRef(record.iri), spellings[record.iri], alerts, out[record.iri]):
                    retry.add(record.iri)
    return retry


def _query(validator: CompiledValidator, records: list[PatientRecord], plan: list) -> dict[tuple[str, str], list]:
    """(query, patient IRI) -> its rows (focus IRI as :data:`FOCUS`), for the patients not memoised."""
    predicates = validator._sparql_predicates
    store = ontology_store(predicates)
    chunk = ox.NamedNode("urn:guidekg:chunk")
    patient_type = ox.NamedNode(str(GK.Patient))
    rdf_type = ox.NamedNode(str(RDF.type))
    quads = []
    for record in records:
        subject = ox.NamedNode(record.iri)
        quads.append(ox.Quad(subject, rdf_type, patient_type, chunk))
        for prop, values in record.facts.items():
            if predicates is not None and prop not in predicates:
                continue
            predicate = named(prop)
            for value in values:
                quads.append(ox.Quad(subject, predicate, to_ox(value), chunk))
    store.extend(quads)
    found: dict[tuple[str, str], list] = {}
    for check, candidates in plan:
        wanted = {record.iri for record, _, rows in candidates if rows is None}
        if not wanted:
            continue
        solutions = store.query(check.query, use_default_graph_as_union=True)
        variables = solutions.variables
        for row in solutions:
            bound = {var.value: from_ox(row[var]) for var in variables if row[var] is not None}
            focus = bound.pop("this", None)
            if focus is None or str(focus) not in wanted:
                continue
            found.setdefault((check.query, str(focus)), []).append(
                {k: (FOCUS if v == focus and type(v) is URIRef else v) for k, v in bound.items()})
    return found


def _findings(check: _SparqlCheck, rows: list[dict[str, Any]], focus: URIRef, mine: dict, alerts: dict[str, str],
              out: list[Finding]) -> bool:
    """Append one patient's findings from its rows; True when pySHACL must redo the patient."""
    seen: set = set()
    retry = False
    for abstract in rows:
        bound = {}
        for k, v in abstract.items():
            if v is FOCUS:
                v = focus
            elif isinstance(v, Literal):
                v = mine.get((str(v.datatype or ""), _comparable(v)), v)
            bound[k] = v
        if any(v is None for v in bound.values()):
            retry = True
            continue
        path = bound.pop("path", None)
        value = bound.pop("value", None)
        dedup = (path, value, tuple(sorted(bound.items())))
        if dedup in seen:
            continue
        seen.add(dedup)
        if value is None:
            value = focus
        message = check.message
        for var, val in {**bound, "this": focus, **({"path": path} if path is not None else {}), "value": value}.items():
            message = re.sub(f"{{[?$]{var}}}", str(val).replace("\\", "\\\\"), message)
        from .fastvalidate import _text

        out.append(Finding(_text(message, value), severity=check.severity,
                           path=curie(str(path)) if path is not None else None,
                           alert=alerts.get(check.shape) or alerts.get(check.constraint)))
    return retry
