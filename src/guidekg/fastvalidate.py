"""SHACL validation at population scale, with pySHACL's exact findings.

pySHACL costs about 1.4 ms a patient: fine for a file, too slow for a million. This module
compiles the project's shapes (``shapes/*.ttl``) once into:

* plain Python checks for the SHACL Core constraints the shapes use on a patient's own
  facts (sh:minCount, sh:maxCount, sh:datatype, sh:or of datatypes, sh:in, sh:class,
  sh:minInclusive, sh:maxInclusive), and
* the shapes' own SHACL-SPARQL constraints (sh:select), run unchanged on pyoxigraph over a
  chunk of patients plus the ontology, and only for patients whose values on what the query
  reads have not been seen before (:mod:`guidekg.fastvalidate_sparql`).

Exactness has two guards. At compile time any shape feature outside that list raises
:class:`UnsupportedShape` and :func:`compile_validator` returns ``None``: callers then use
pySHACL. At run time a record whose values fall outside the simple cases (a literal with an
unexpected datatype, an IRI the ontology does not know ...) is validated by pySHACL itself.
tests/test_batch.py compares the findings with pySHACL's, finding for finding.

Running a sh:select over all patients at once rather than with ``$this`` pre-bound per focus
node is equivalent when every query binds ``$this`` through a triple pattern of its top
group, which :func:`_sparql_constraint` checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from . import resources
from .model import Finding, PatientRecord
from .namespaces import GK, SH, curie

if TYPE_CHECKING:
    from .sparql_footprint import Footprint

_CORE = {SH.minCount, SH.maxCount, SH.datatype, SH["or"], SH["in"], SH["class"], SH.minInclusive, SH.maxInclusive}
_IGNORED = {RDF.type, RDFS.label, RDFS.comment, SH.severity, SH.message, SH.path, SH.targetClass, SH.property,
            SH.sparql, SH.name, SH.description, GK.raisesAlert, SH.order, SH.group}
_NUMERIC = {str(XSD.integer), str(XSD.decimal)}
CORE_MEMO_LIMIT = 20_000
"""Terms whose Core findings are remembered per property check before that memo is cleared."""


class UnsupportedShape(ValueError):
    """A shape uses SHACL this compiler does not evaluate exactly like pySHACL."""


@dataclass
class _PropertyCheck:
    shape: str
    path: str
    severity: str
    message: str
    min_count: int | None = None
    max_count: int | None = None
    datatypes: tuple[str, ...] | None = None  # sh:datatype, or the datatypes of an sh:or
    members: frozenset[str] | None = None  # sh:in
    instances: frozenset[str] | None = None  # sh:class: individuals typed (transitively) in the ontology
    min_inclusive: Decimal | None = None
    max_inclusive: Decimal | None = None
    curie: str = ""
    alert: str | None = None


@dataclass
class _SparqlCheck:
    shape: str
    constraint: str
    severity: str
    message: str
    query: str
    footprint: Footprint
    narrowed: dict[str, frozenset[str]] = field(default_factory=dict)  # p -> the only values that matter (see narrowing)

    def may_match(self, record: PatientRecord) -> bool:
        """False when the record lacks a fact every solution needs (see :mod:`guidekg.sparql_footprint`)."""
        facts = record.facts
        for prop, obj in self.footprint.required:
            values = facts.get(prop)
            if not values or (obj is not None and not any(str(v) == obj for v in values)):
                return False
        return True

    @cached_property
    def key_predicates(self) -> tuple[str, ...] | None:
        """The predicates a patient's memo key is made of; None: never memoised (see fastvalidate_sparql)."""
        fp = self.footprint
        return tuple(sorted(fp.predicates)) if fp.predicates is not None and fp.focus_local else None

    @cached_property
    def quotes_focus(self) -> bool:
        """The message names the focus node ({$this}): its text differs per patient."""
        return re.search(r"\{[?$]this\}", self.message) is not None

    def alert(self, alerts: dict[str, str]) -> str | None:
        return alerts.get(self.shape) or alerts.get(self.constraint)


@dataclass
class CompiledValidator:
    properties: list[_PropertyCheck] = field(default_factory=list)
    sparql: list[_SparqlCheck] = field(default_factory=list)
    known: frozenset[str] = frozenset()  # every IRI the ontology says something about
    alerts: dict[str, str] | None = None  # shape or constraint IRI -> gk:raisesAlert (None: read from the shapes)
    narrowed_for: bytes | None = None  # the ontology text the checks' narrowed values were read from

    def validate(self, records: Sequence[PatientRecord]) -> dict[str, list[Finding]]:
        """Patient IRI -> findings, equal to :func:`guidekg.validate.validate_records`."""
        out: dict[str, list[Finding]] = {}
        hard: list[PatientRecord] = []
        easy: list[PatientRecord] = []
        iris = {r.iri for r in records}
        shared = set() if len(iris) == len(records) else _repeated(records)  # one node, merged facts: pySHACL
        for record in records:
            findings = None if record.iri in shared else self._core(record)
            if findings is None:
                hard.append(record)
            else:
                out[record.iri] = findings
                easy.append(record)
        if easy:
            retry = self._run_sparql(easy, out)
            hard.extend(r for r in easy if r.iri in retry)
        if hard:
            from .validate import validate_records  # pySHACL, imported only when a record needs it

            out.update(validate_records(hard))
        for findings in out.values():
            if len(findings) > 1:
                findings.sort(key=lambda f: (f.severity != "violation", f.path or "", f.message))
        return {r.iri: out[r.iri] for r in records}

    @cached_property
    def _sparql_predicates(self) -> frozenset[str] | None:
        """Every predicate some SPARQL check can read (None: any)."""
        readable = [c.footprint.predicates for c in self.sparql]
        return None if any(p is None for p in readable) else frozenset().union(*readable)  # type: ignore[arg-type]

    def _core(self, record: PatientRecord) -> list[Finding] | None:
        """Core findings of one record, or None when pySHACL must decide.

        What a check says of one value depends on that value only, and a population repeats a
        few thousand term objects (the ingest shares one per distinct cell): it is remembered
        per check by the term's identity (the entry holds the term, so the id is not reused
        while it is remembered), at most :data:`CORE_MEMO_LIMIT` terms a check.
        """
        found: list[Finding] = []
        facts = record.facts
        memos = self.__dict__.get("_core_memo")
        if memos is None or len(memos) != len(self.properties):
            memos = self.__dict__["_core_memo"] = [{} for _ in self.properties]
        for check, memo in zip(self.properties, memos, strict=True):
            values = facts.get(check.path, ())
            if not values and check.min_count is None:
                continue

            if check.min_count is not None and len(values) < check.min_count:
                found.append(_finding(check, None))
            if check.max_count is not None and len(values) > check.max_count:
                found.append(_finding(check, None))
            for value in values:
                entry = memo.get(id(value))
                if entry is None or entry[0] is not value:
                    if len(memo) >= CORE_MEMO_LIMIT:
                        memo.clear()
                    entry = memo[id(value)] = (value, self._value_findings(check, value))
                if entry[1] is None:
                    return None
                found.extend(entry[1])
        return found

    def _value_findings(self, check: _PropertyCheck, value: Node) -> tuple[Finding, ...] | None:
        """What ``check`` says of one of its values; None: pySHACL must decide."""
        found: list[Finding] = []
        if isinstance(value, Literal):
            if check.members is not None or check.instances is not None:
                return None
            if check.datatypes is not None:
                if value.datatype is None or str(value.datatype) not in check.datatypes or value.ill_typed:
                    return None
            if check.min_inclusive is not None or check.max_inclusive is not None:
                if str(value.datatype) not in _NUMERIC:
                    return None
                number = Decimal(str(value.toPython()))
                if check.min_inclusive is not None and not number >= check.min_inclusive:
                    found.append(_finding(check, value))
                if check.max_inclusive is not None and not number <= check.max_inclusive:
                    found.append(_finding(check, value))
        else:
            if check.datatypes is not None or check.min_inclusive is not None or check.max_inclusive is not None:
                return None
            if str(value) not in self.known:
                return None
            if check.members is not None and str(value) not in check.members:
                found.append(_finding(check, value))
            if check.instances is not None and str(value) not in check.instances:
                found.append(_finding(check, value))
        return tuple(found)

    def _run_sparql(self, records: Sequence[PatientRecord], out: dict[str, list[Finding]]) -> set[str]:
        """Add the SPARQL checks' findings to ``out``; return the patients pySHACL must redo
        (:func:`guidekg.fastvalidate_sparql.run_sparql`)."""
        from .fastvalidate_sparql import run_sparql

        return run_sparql(self, records, out)

    def __getstate__(self) -> dict:
        """Pickled (the knowledge cache, Spark) without the per-process memos."""
        state = dict(self.__dict__)
        for memo in ("_memo", "_core_memo", "_plans"):
            state.pop(memo, None)
        return state


def _repeated(records: Sequence[PatientRecord]) -> set[str]:
    seen: set[str] = set()
    return {r.iri for r in records if r.iri in seen or seen.add(r.iri)}


def _finding(check: _PropertyCheck, value: Node | None) -> Finding:
    return Finding(_text(check.message, value), severity=check.severity, path=check.curie, alert=check.alert)


def _text(message: str, value: Node | None) -> str:
    """The finding text exactly as :func:`guidekg.validate._describe` builds it."""
    if value is not None and isinstance(value, (Literal, URIRef)) and str(value) not in message:
        message += f" (value: {curie(str(value)) if isinstance(value, URIRef) else value})"
    return message


def _one(shapes: Graph, node: Node, prop: URIRef) -> Node | None:
    values = list(shapes.objects(node, prop))
    if len(values) > 1:
        raise UnsupportedShape(f"{node}: more than one {curie(str(prop))}")
    return values[0] if values else None


def _instances(ontology: Graph, cls: str) -> frozenset[str]:
    classes = {URIRef(cls)} | set(ontology.transitive_subjects(RDFS.subClassOf, URIRef(cls)))
    return frozenset(str(i) for c in classes for i in ontology.subjects(RDF.type, c))


def _property_check(shapes: Graph, ontology: Graph, node: Node) -> _PropertyCheck:
    unknown = {p for p in shapes.predicates(node) if p not in _CORE and p not in _IGNORED and str(p).startswith(str(SH))}
    if unknown:
        raise UnsupportedShape(f"{node}: {', '.join(sorted(curie(str(p)) for p in unknown))} not compiled")
    path = _one(shapes, node, SH.path)
    message = _one(shapes, node, SH.message)
    if not isinstance(path, URIRef) or message is None:
        raise UnsupportedShape(f"{node}: needs an IRI sh:path and one sh:message")
    from .validate import _SEVERITY, _shape_alerts

    check = _PropertyCheck(str(node), str(path), _SEVERITY.get(str(_one(shapes, node, SH.severity) or SH.Violation), "violation"), str(message),
                           curie=curie(str(path)), alert=_shape_alerts().get(str(node)))
    if (n := _one(shapes, node, SH.minCount)) is not None:
        check.min_count = int(n)
    if (n := _one(shapes, node, SH.maxCount)) is not None:
        check.max_count = int(n)
    if (dt := _one(shapes, node, SH.datatype)) is not None:
        check.datatypes = (str(dt),)
    if (alternatives := _one(shapes, node, SH["or"])) is not None:
        if check.datatypes is not None:
            raise UnsupportedShape(f"{node}: sh:datatype together with sh:or")
        datatypes = []
        for alt in Collection(shapes, alternatives):
            if set(shapes.predicates(alt)) != {SH.datatype}:
                raise UnsupportedShape(f"{node}: sh:or of anything but sh:datatype")
            datatypes.append(str(_one(shapes, alt, SH.datatype)))
        check.datatypes = tuple(datatypes)
    if check.datatypes is not None and not set(check.datatypes) <= (_NUMERIC | {str(XSD.string), str(XSD.boolean), str(XSD.date)}):
        raise UnsupportedShape(f"{node}: datatype {check.datatypes} not compiled")
    if (members := _one(shapes, node, SH["in"])) is not None:
        check.members = frozenset(str(m) for m in Collection(shapes, members))
    if (cls := _one(shapes, node, SH["class"])) is not None:
        check.instances = _instances(ontology, str(cls))
    for facet, attr in ((SH.minInclusive, "min_inclusive"), (SH.maxInclusive, "max_inclusive")):
        if (bound := _one(shapes, node, facet)) is not None:
            if not check.datatypes or not set(check.datatypes) <= _NUMERIC:
                raise UnsupportedShape(f"{node}: {curie(str(facet))} on a non-numeric property")
            setattr(check, attr, Decimal(str(bound.toPython())))
    return check


def _prefixes(shapes: Graph, constraint: Node) -> str:
    lines = []
    for owner in shapes.objects(constraint, SH.prefixes):
        for decl in shapes.objects(owner, SH.declare):
            lines.append(f"PREFIX {shapes.value(decl, SH.prefix)}: <{shapes.value(decl, SH.namespace)}>")
    return "\n".join(sorted(set(lines)))


def _narrowed(query: str, ontology: Graph) -> dict[str, frozenset[str]]:
    """:func:`guidekg.sparql_footprint.narrowing` evaluated on the ontology (IRIs only)."""
    from .sparql_footprint import narrowing

    out = {}
    for prop, (obj, conditions) in narrowing(query).items():
        if obj is not None:
            out[prop] = frozenset((obj,))
            continue
        values: set[Node] | None = None
        for kind, first, second in conditions:
            found = ({s for s, _, _ in ontology.triples((None, first, URIRef(second)))} if kind == "subject"
                     else {o for _, _, o in ontology.triples((URIRef(first), second, None))})
            values = found if values is None else values & found
        if values is not None and all(isinstance(v, URIRef) for v in values):
            out[prop] = frozenset(str(v) for v in values)
    return out


def _sparql_constraint(shapes: Graph, shape: Node, constraint: Node) -> _SparqlCheck:
    select = _one(shapes, constraint, SH.select)
    message = _one(shapes, constraint, SH.message) or _one(shapes, shape, SH.message)
    if select is None or message is None or _one(shapes, constraint, SH.deactivated) is not None:
        raise UnsupportedShape(f"{shape}: SPARQL constraint without sh:select or sh:message")
    text = str(select)
    if not re.search(r"WHERE\s*\{\s*(BIND\s*\([^)]*\)\s*)*\$this\s", text):
        raise UnsupportedShape(f"{shape}: $this is not bound by the first triple pattern; pre-binding would differ")
    query = _prefixes(shapes, constraint) + "\n" + text.replace("$this", "?this")
    from .sparql_footprint import footprint
    from .validate import _SEVERITY

    severity = _SEVERITY.get(str(_one(shapes, shape, SH.severity) or SH.Violation), "violation")
    return _SparqlCheck(str(shape), str(constraint), severity, str(message), query, footprint(query))


def _compile(shapes: Graph, ontology: Graph) -> CompiledValidator:
    compiled = CompiledValidator()
    for shape in set(shapes.subjects(SH.targetClass, None)):
        targets = set(shapes.objects(shape, SH.targetClass))
        if targets != {GK.Patient}:
            raise UnsupportedShape(f"{shape}: targets {targets}; only gk:Patient is compiled")
        if (shape, SH.path, None) in shapes:
            compiled.properties.append(_property_check(shapes, ontology, shape))
            continue
        unknown = {p for p in shapes.predicates(shape) if p not in _IGNORED and str(p).startswith(str(SH))}
        if unknown:
            raise UnsupportedShape(f"{shape}: {', '.join(sorted(curie(str(p)) for p in unknown))} not compiled")
        for prop_shape in shapes.objects(shape, SH.property):
            compiled.properties.append(_property_check(shapes, ontology, prop_shape))
        for constraint in shapes.objects(shape, SH.sparql):
            compiled.sparql.append(_sparql_constraint(shapes, shape, constraint))
    for other in ({SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target} & set(shapes.predicates())):
        raise UnsupportedShape(f"{curie(str(other))} targets are not compiled")
    compiled.known = frozenset(str(s) for s in ontology.subjects() if isinstance(s, URIRef))
    for check in compiled.sparql:
        check.narrowed = _narrowed(check.query, ontology)
    from .oxstore import _ontology_ntriples

    compiled.narrowed_for = _ontology_ntriples(compiled._sparql_predicates)
    from .validate import _shape_alerts

    compiled.alerts = dict(_shape_alerts())
    return compiled


@lru_cache(maxsize=1)
def compile_validator() -> CompiledValidator | None:
    """The compiled shapes, or None when they use SHACL outside the compiled subset (use pySHACL)."""
    from .kcache import snapshot

    if (snap := snapshot()) is not None:
        return snap.validator
    from .validate import _shapes

    try:
        return _compile(_shapes(), resources.shared_graph("ontology", *resources.LOGIC_MODULES))
    except UnsupportedShape:
        return None


def validate_fast(records: Sequence[PatientRecord]) -> dict[str, list[Finding]]:
    """Drop-in for :func:`guidekg.validate.validate_records`: compiled when possible, pySHACL otherwise."""
    compiled = compile_validator()
    if compiled is not None:
        return compiled.validate(records)
    from .validate import validate_records

    return validate_records(records)
