"""The SHACL-SPARQL half of the compiled validator: each check run once per distinct projection.

A check's solutions for a patient depend only on the patient's triples whose predicate the
check can read (:attr:`guidekg.sparql_footprint.Footprint.predicates`) and on the ontology.
Two patients whose *projections* on those predicates are equal (same IRIs, same lexical
forms, datatypes and languages) therefore get the same solutions, up to the focus node
itself, and the same decision to hand the patient to pySHACL (an ambiguous spelling). A
population repeats a few thousand projections per check, so each check keeps a memo
(projection -> its findings with the focus left open) across chunks, and only the first
patient of an unseen projection goes into the pyoxigraph store: per patient a dictionary
lookup per candidate check instead of loading quads, querying and converting rows
(0.15 -> ~0.025 ms a patient on the synthetic cohorts, Core checks apart).

Two things keep the keys few and the candidates rare. A predicate the query names once, in
``?this p <o>`` or ``?this p ?v . ?v rdf:type/rdfs:subClassOf* <C>`` (conjunctive), only
counts through those values (:func:`guidekg.sparql_footprint.narrowing`, evaluated on the
ontology when the shapes are compiled): the anti-EGFR check keys on the anti-EGFR drugs among
a patient's planned actions, not on all of them. And the candidates of each check are found
through an index of the facts it requires, so a check costs nothing for a patient it cannot
match. Like loading only the candidates, this takes each query to read the focus's own facts
and the ontology, never another patient's (the shapes' queries all do).

Exactness guards:

* a check whose footprint may read any predicate, or whose query uses ``$this`` other than as
  the subject of triple patterns (in a FILTER, a BIND, as an object), is never memoised
  (:attr:`Footprint.focus_local`); its candidates are all loaded, as before;
* the patient's own IRI among its values is keyed as "the focus", not as that IRI, and a
  message that quotes the focus (``{$this}``, or a finding without ``?value``) is built per
  patient from the memoised bindings;
* blank nodes are never shared between patients;
* the memo belongs to one ontology text (content swapped in process starts a new one, and
  the narrowing is used only with the ontology it was read from) and is cleared at
  :data:`MEMO_LIMIT` keys a check, so memory stays flat over any population.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import RDF, Literal, URIRef
from rdflib.term import Node

from . import oxstore
from .model import Finding, PatientRecord
from .namespaces import GK, curie
from .oxstore import CHUNK_GRAPH, from_ox, named, to_ox

if TYPE_CHECKING:
    from .fastvalidate import CompiledValidator, _SparqlCheck

MEMO_LIMIT = 8192
"""Projections remembered per check before its memo is cleared (a few MB at most)."""

VALUE_KEYS_LIMIT = 50_000
"""rdflib terms whose key is remembered by identity before that table is cleared."""

_FOCUS = ("focus",)  # key of the patient's own IRI among its values (IRIs are str, literals 3-tuples)
_FOCUS_TERM = object()  # the focus in a memoised binding, replaced by each patient's IRI
_RETRY = "retry"  # memoised decision: pySHACL must validate the patient
_VALUE_KEYS: dict[int, tuple[Node, Any, tuple]] = {}


def _value_entry(value: Node) -> tuple[Node, Any, tuple]:
    """(term, key, (key,)): a cheap, exact key of one term (hashing rdflib terms runs Python code,
    plain str and tuples do not), and the key of a predicate with that one value.

    Keyed by identity (the ingest reuses one term object per distinct cell); the entry holds
    the term, so its id cannot be reused while the entry exists.
    """
    entry = _VALUE_KEYS.get(id(value))
    if entry is not None and entry[0] is value:
        return entry
    if isinstance(value, URIRef):
        key: Any = str(value)
    elif isinstance(value, Literal):
        key = (str(value), str(value.datatype) if value.datatype is not None else None, value.language)
    else:
        key = None  # a blank node: keyed per patient (see _projections)
    if len(_VALUE_KEYS) >= VALUE_KEYS_LIMIT:
        _VALUE_KEYS.clear()
    entry = _VALUE_KEYS[id(value)] = (value, key, (key,))
    return entry


def _projections(records: Sequence[PatientRecord], predicates: frozenset[str] | None, indexed: dict[str, frozenset[str]],
                 present: frozenset[str]) -> tuple[list[dict[str, Any]], dict[Any, list[int]]]:
    """Each record's projection (predicate -> key of its values: a 1-tuple, or a frozenset when
    several, a graph having no order) and an index of the records by the facts checks require:
    ``(p, value key)`` for ``indexed[p]``, ``p`` for ``present``, ``(p, _FOCUS)`` always."""
    projections = []
    index: defaultdict[Any, list[int]] = defaultdict(list)
    cached = _VALUE_KEYS.get
    actions = {p: (p in present, indexed.get(p)) for p in (predicates or ())}
    for position, record in enumerate(records):
        proj: dict[str, Any] = {}
        iri = record.iri
        for prop, values in record.facts.items():
            action = actions.get(prop)
            if action is None:
                if predicates is not None:
                    continue
                action = (prop in present, indexed.get(prop))
            if len(values) == 1:  # the common case, without building a key
                value = values[0]
                entry = cached(id(value))
                if entry is None or entry[0] is not value:
                    entry = _value_entry(value)
                key = entry[1]
                if key is not None and key != iri:
                    proj[prop] = entry[2]
                    if action[0]:
                        index[prop].append(position)
                    if action[1] is not None and key in action[1]:
                        index[(prop, key)].append(position)
                    continue
            elif not values:
                continue
            keys = []
            for value in values:
                key = _value_entry(value)[1]
                if key is None:
                    key = ("bnode", str(value), iri)  # never equal to another patient's
                elif key == iri:
                    key = _FOCUS
                    index[(prop, _FOCUS)].append(position)
                keys.append(key)
            proj[prop] = (keys[0],) if len(keys) == 1 else frozenset(keys)
            if action[0]:
                index[prop].append(position)
            if action[1] is not None:
                for key in keys:
                    if key in action[1]:
                        index[(prop, key)].append(position)
        projections.append(proj)
    return projections, index


def _requirements(check: _SparqlCheck, narrow: bool) -> list[tuple[Any, ...]]:
    """What a candidate must have: per required fact, the index entries of which it needs one."""
    narrowed = check.narrowed if narrow and check.key_predicates is not None else {}
    required = check.footprint.required
    out = [((p, obj),) if obj is not None else tuple((p, v) for v in sorted(narrowed[p])) if p in narrowed else (p,)
           for p, obj in required]
    out += [tuple((p, v) for v in sorted(values)) for p, values in narrowed.items() if p not in {r for r, _ in required}]
    return out


def _plan(validator: CompiledValidator, narrow: bool) -> tuple[dict[str, frozenset[str]], frozenset[str], list]:
    """The index the checks' requirements need, derived once per validator."""
    cache = validator.__dict__.setdefault("_plans", {})
    if narrow not in cache:
        requirements = [_requirements(c, narrow) for c in validator.sparql]
        indexed: dict[str, set[str]] = {}
        present = set()
        for entry in (e for reqs in requirements for req in reqs for e in req):
            if isinstance(entry, tuple):
                indexed.setdefault(entry[0], set()).add(entry[1])
            else:
                present.add(entry)
        cache[narrow] = ({p: frozenset(v) for p, v in indexed.items()}, frozenset(present), requirements)
    return cache[narrow]


def _candidates(requirements: list[tuple[Any, ...]], index: dict[Any, list[int]], records: Sequence[PatientRecord]) -> list[int]:
    """Positions of the records that have, for every requirement, one of its facts (a necessary condition)."""
    found: set[int] | None = None
    for requirement in requirements:
        having: set[int] = set()
        for entry in requirement:
            having.update(index.get(entry, ()))
            if isinstance(entry, tuple):  # the patient's own IRI as that value (keyed as the focus)
                having.update(i for i in index.get((entry[0], _FOCUS), ()) if records[i].iri == entry[1])
        found = having if found is None else found & having
        if not found:
            return []
    return sorted(found) if found is not None else list(range(len(records)))


def _narrow(key: list, narrowed: list[tuple[int, frozenset[str]]], iri: str) -> tuple | None:
    """The key with only the values that can matter of each narrowed predicate; None: cannot match."""
    for i, allowed in narrowed:
        keys = key[i]
        if keys is None:
            return None
        kept = [k for k in keys if k in allowed or (k is _FOCUS and iri in allowed)]
        if not kept:
            return None
        key[i] = (kept[0],) if len(kept) == 1 else frozenset(kept)
    return tuple(key)


def _memos(validator: CompiledValidator, ontology: bytes) -> list[dict]:
    state = validator.__dict__.get("_memo")
    if state is None or (state[0] is not ontology and state[0] != ontology) or len(state[1]) != len(validator.sparql):
        state = (ontology, [{} for _ in validator.sparql])
        validator.__dict__["_memo"] = state
    return state[1]


def run_sparql(validator: CompiledValidator, records: Sequence[PatientRecord], out: dict[str, list[Finding]]) -> set[str]:
    """Add the SPARQL checks' findings to ``out``; return the patients pySHACL must redo.

    pyoxigraph returns canonical lexical forms ("6" for "6.0"), and findings quote values
    as the patient wrote them (as pySHACL does), so each returned literal is mapped back to
    the patient's own spelling among the values the check reads. When the patient spells one
    value two ways there ("2" and "2.0" months), that mapping is ambiguous only if a solution
    binds that value: then, and only then, the patient is handed to pySHACL, which knows
    which one it bound.
    """
    retry: set[str] = set()
    checks = validator.sparql
    if not checks:
        return retry
    predicates = validator._sparql_predicates
    ontology = oxstore._ontology_ntriples(predicates)
    memos = _memos(validator, ontology)
    compiled_for = validator.narrowed_for
    narrow = compiled_for is not None and (ontology is compiled_for or ontology == compiled_for)
    indexed, present, requirements = _plan(validator, narrow)
    projections, index = _projections(records, predicates, indexed, present)
    work = []  # per check: [(record, key)], key -> result (None until run), rep IRI -> key
    load: dict[str, PatientRecord] = {}
    for check, memo, needs in zip(checks, memos, requirements, strict=True):
        keyed = check.key_predicates
        narrowed = [(i, check.narrowed[p]) for i, p in enumerate(keyed) if p in check.narrowed] \
            if narrow and keyed is not None else []
        entries: list[tuple[PatientRecord, Any]] = []
        results: dict[Any, Any] = {}
        reps: dict[str, Any] = {}
        for position in _candidates(needs, index, records):
            record, proj = records[position], projections[position]
            if keyed is None:
                key: Any = record.iri
            elif narrowed:
                key = list(map(proj.get, keyed))
                for i, allowed in narrowed:
                    keys = key[i]  # one value, already known to be allowed: the common case
                    if keys is None or len(keys) != 1 or keys[0] not in allowed:
                        key = _narrow(key, narrowed, record.iri)
                        break
                else:
                    key = tuple(key)
                if key is None:
                    continue
            else:
                key = tuple(map(proj.get, keyed))
            entries.append((record, key))
            if key in results:
                continue
            hit = memo.get(key) if keyed is not None else None
            results[key] = hit
            if hit is None:
                reps[record.iri] = key
                load[record.iri] = record
        work.append((entries, results, reps))
    if load:
        _query(validator, list(load.values()), predicates, work, memos)
    for check, (entries, results, _) in zip(checks, work, strict=True):
        for record, key in entries:
            result = results[key]
            if result is _RETRY:
                retry.add(record.iri)
            elif result:
                out[record.iri].extend(t if isinstance(t, Finding) else _finding(check, *t, URIRef(record.iri)) for t in result)
    return retry


def _query(validator: CompiledValidator, records: list[PatientRecord], predicates: frozenset[str] | None,
           work: list, memos: list[dict]) -> None:
    """Run the checks over the patients of unseen projections; fill ``work``'s results and the memos.

    Every patient some check needs goes in once; a check's rows are kept only for the
    patients it needs (the others are answered by the memo or cannot match).
    """
    with oxstore.ontology_store(predicates, patients=len(records)) as store:
        quads = []
        patient_type = ox.NamedNode(str(GK.Patient))
        rdf_type = ox.NamedNode(str(RDF.type))
        for record in records:
            subject = ox.NamedNode(record.iri)
            quads.append(ox.Quad(subject, rdf_type, patient_type, CHUNK_GRAPH))
            for prop, values in record.facts.items():
                if predicates is not None and prop not in predicates:
                    continue
                predicate = named(prop)
                for value in values:
                    quads.append(ox.Quad(subject, predicate, to_ox(value), CHUNK_GRAPH))
        store.extend(quads)
        if validator.alerts is None:
            from .validate import _shape_alerts

            validator.alerts = dict(_shape_alerts())
        by_iri = {r.iri: r for r in records}
        for check, memo, (_, results, reps) in zip(validator.sparql, memos, work, strict=True):
            if not reps:
                continue
            rows: dict[str, list] = {iri: [] for iri in reps}
            solutions = store.query(check.query, use_default_graph_as_union=True)
            variables = solutions.variables
            for row in solutions:
                focus = row["this"]
                if isinstance(focus, ox.NamedNode) and focus.value in rows:
                    rows[focus.value].append({var.value: from_ox(row[var]) for var in variables
                                              if var.value != "this" and row[var] is not None})
            for iri, key in reps.items():
                result = _templates(check, rows[iri], by_iri[iri], validator.alerts)
                results[key] = result
                if check.key_predicates is not None:
                    if len(memo) >= MEMO_LIMIT:
                        memo.clear()
                    memo[key] = result


def _templates(check: _SparqlCheck, rows: list[dict[str, Node]], record: PatientRecord, alerts: dict[str, str]) -> Any:
    """One patient's rows as findings with the focus left open, or :data:`_RETRY`."""
    if not rows:
        return ()
    focus = URIRef(record.iri)
    spelling = _spellings(record, check.footprint.predicates)
    seen: set = set()
    out: list = []
    for bound in rows:
        mapped = {}
        for var, value in bound.items():
            if isinstance(value, Literal):
                value = spelling.get((str(value.datatype or ""), _comparable(value)), value)
                if value is None:
                    return _RETRY
            mapped[var] = _FOCUS_TERM if value == focus else value
        path = mapped.pop("path", None)
        value = mapped.pop("value", None)
        dedup = (path, value, tuple(sorted(mapped.items(), key=lambda item: item[0])))
        if dedup in seen:
            continue
        seen.add(dedup)
        template = (mapped, path, value, check.alert(alerts))
        if value is None or value is _FOCUS_TERM or path is _FOCUS_TERM or _FOCUS_TERM in mapped.values() \
                or check.quotes_focus:
            out.append(template)
        else:
            out.append(_finding(check, *template, focus))
    return tuple(out)


def _finding(check: _SparqlCheck, bound: dict[str, Any], path: Any, value: Any, alert: str | None, focus: URIRef) -> Finding:
    """The finding of one solution, its text built as :func:`guidekg.validate._describe` does."""
    bound = {k: focus if v is _FOCUS_TERM else v for k, v in bound.items()}
    path = focus if path is _FOCUS_TERM else path
    value = focus if value is None or value is _FOCUS_TERM else value
    message = check.message
    for var, val in {**bound, "this": focus, **({"path": path} if path is not None else {}), "value": value}.items():
        message = _placeholder(var).sub(lambda _, text=str(val): text, message)
    if isinstance(value, (Literal, URIRef)) and str(value) not in message:
        message += f" (value: {curie(str(value)) if isinstance(value, URIRef) else value})"
    return Finding(message, severity=check.severity, path=curie(str(path)) if path is not None else None, alert=alert)


@lru_cache(maxsize=256)
def _placeholder(var: str) -> re.Pattern[str]:
    return re.compile(f"{{[?$]{re.escape(var)}}}")


def _spellings(record: PatientRecord, predicates: frozenset[str] | None) -> dict[tuple[str, object], Literal | None]:
    """(datatype, value) -> the patient's own literal among what the check reads (None: spelt two ways)."""
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


def _comparable(value: Literal) -> object:
    python = value.toPython()
    return python if isinstance(python, (int, Decimal, bool, str)) else str(value)
