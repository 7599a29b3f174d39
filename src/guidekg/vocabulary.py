"""Input vocabularies read from the content files: case-sheet columns, actions, defaults.

The CSV case sheet's columns and values map to ontology terms through
``ontology/mappings/casesheet.csv``; planned actions match the ``skos:altLabel`` of the
action individuals in ``core.ttl``; ``gk:whenAbsent`` gives the explicit 'not tested'
value ingest records for a missing molecular result. Nothing here is clinical logic.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import RDF, RDFS, URIRef

from . import resources
from .namespaces import GK, SKOS, expand


@dataclass(frozen=True)
class Column:
    name: str
    prop: str
    kind: str  # id | date | integer | decimal | boolean | enum | enum-list | action-list
    values: dict[str, str] = field(default_factory=dict)  # lower-cased input value -> individual IRI
    synonyms: dict[str, str] = field(default_factory=dict)  # lower-cased spelling people write -> canonical value
    read: bool = True  # False: no rule, shape or query reads this property (a bad value is only a warning)


@dataclass(frozen=True)
class Vocabulary:
    columns: dict[str, Column]
    actions: dict[str, str]  # lower-cased label -> action IRI
    when_absent: dict[str, str]  # property IRI -> default individual IRI
    labels: dict[str, str]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The input vocabulary, read once from the packaged content (or the knowledge cache)."""
    from .kcache import snapshot

    if (snap := snapshot()) is not None:
        return snap.vocabulary
    columns: dict[str, Column] = {}
    mapping = resources.data_dir("ontology") / "mappings" / "casesheet.csv"
    with mapping.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["column"]
            column = columns.get(name) or Column(name, expand(row["property"]), row["kind"], {})
            if row["value"]:
                column.values[row["value"].lower()] = expand(row["individual"])
            columns[name] = column
    _synonyms(columns)
    _mark_unread(columns)
    core = resources.shared_graph("ontology", *resources.LOGIC_MODULES)
    actions: dict[str, str] = {}
    action_classes = {GK.Action} | set(core.transitive_subjects(RDFS.subClassOf, GK.Action))
    for cls in action_classes:
        for individual in core.subjects(RDF.type, cls):
            for label in list(core.objects(individual, SKOS.altLabel)) + list(core.objects(individual, RDFS.label)):
                actions.setdefault(str(label).lower(), str(individual))
    when_absent = {str(p): str(v) for p, v in core.subject_objects(GK.whenAbsent)}
    labels = {str(s): str(o) for s, o in core.subject_objects(RDFS.label) if isinstance(s, URIRef)}
    return Vocabulary(columns, actions, when_absent, labels)


def _synonyms(columns: dict[str, Column]) -> None:
    """Spellings people write (``casesheet-synonyms.csv``), each mapped to a canonical value of its column."""
    path = resources.data_dir("ontology") / "mappings" / "casesheet-synonyms.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            targets = [c for c in columns.values() if c.kind == "boolean"] if row["column"] == "(boolean)" \
                else [columns[row["column"]]]
            for column in targets:
                column.synonyms[row["written"].lower()] = row["value"]


def _mark_unread(columns: dict[str, Column]) -> None:
    """Columns whose property no rule reads: the guideline, statements, safety shapes and queries are searched."""
    texts = [resources.data_dir("ontology") / f"{name}.ttl" for name in ("guideline", "statements")]
    texts += [resources.data_dir("shapes") / "safety.ttl"]
    texts += sorted(resources.data_dir("queries").glob("*.rq"))
    corpus = "\n".join(p.read_text(encoding="utf-8") for p in texts if p.is_file())
    for name, column in list(columns.items()):
        local = column.prop.rsplit("#", 1)[-1]
        if column.kind not in ("id", "action-list") and f"gk:{local}" not in corpus and column.prop not in corpus:
            columns[name] = Column(column.name, column.prop, column.kind, column.values, column.synonyms, read=False)
