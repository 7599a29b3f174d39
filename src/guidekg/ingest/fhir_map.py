"""The FHIR code mapping, read from data: ``ontology/mappings/fhir.csv`` and ``ontology/codesystem.ttl``.

Why two files: ``fhir.csv`` holds the standard codes (SNOMED CT, LOINC, HGNC, RxNorm) with the
public source each was checked against, one row per (slot, code[, gene, answer]) -> gk term;
``codesystem.ttl`` holds the project's own concepts for facts no standard code carries. Both
directions use this one table: ingest maps codes to facts, the example writer maps facts to
codes, so FHIR in and out cannot drift apart. No code appears in Python.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import RDF, RDFS, URIRef

from .. import resources
from ..namespaces import GK, SKOS, expand
from ..vocabulary import vocabulary

CODESYSTEM_URL = "https://w3id.org/guidekg/CodeSystem/guidekg"
"""Canonical URL of the project CodeSystem (the skos:ConceptScheme IRI in codesystem.ttl)."""


@dataclass(frozen=True)
class Rule:
    """One mapping row: in ``slot``, code ``system|code`` (with gene/answer/amino-acid change) means ``prop individual``."""

    slot: str
    system: str
    code: str
    gene: str = ""
    value_system: str = ""
    value_code: str = ""
    aa_change: tuple[str, ...] = ()
    prop: str = ""
    individual: str = ""
    kind: str = ""


@dataclass
class FhirMapping:
    """Lookups over the mapping rules and the project concepts, both directions."""

    rules: list[Rule]
    aliases: dict[str, str]
    concept_of: dict[str, str] = field(default_factory=dict)  # project code -> gk IRI
    code_of: dict[str, str] = field(default_factory=dict)  # gk IRI -> project code
    labels: dict[str, str] = field(default_factory=dict)  # project code -> preferred label
    definitions: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # gk property IRI -> case-sheet kind
    surgical: frozenset[str] = frozenset()  # action individuals and classes that are operations
    _by_code: dict[tuple[str, str, str], list[Rule]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str, str], list[Rule]] = defaultdict(list)
        for rule in self.rules:
            index[(rule.slot, rule.system, rule.code)].append(rule)
        self._by_code = dict(index)

    def system(self, system: str | None) -> str:
        """The canonical form of a code system URI (aliases from the mapping file)."""
        system = system or ""
        return self.aliases.get(system, system)

    def lookup(self, slot: str, system: str | None, code: str | None) -> list[Rule]:
        return self._by_code.get((slot, self.system(system), code or ""), [])

    def slot(self, slot: str) -> list[Rule]:
        return [r for r in self.rules if r.slot == slot]

    def statuses(self, slot: str) -> frozenset[str]:
        """Status codes of a status slot (planned-status, given-status, ...), system-independent."""
        return frozenset(r.code for r in self.rules if r.slot == slot)

    def extension_kind(self, url: str | None) -> str:
        rules = self.lookup("extension", url, "")
        return rules[0].kind if rules else ""

    def component_kind(self, system: str | None, code: str | None) -> str:
        rules = self.lookup("component", system, code)
        return rules[0].kind if rules else ""

    @property
    def known_systems(self) -> frozenset[str]:
        # rows with no system (data-required...) name no code system: "" must not make a system-less coding "known"
        systems = {r.system for r in self.rules if r.system and r.slot not in ("extension", "system-alias", "looks-relevant")}
        systems |= {r.value_system for r in self.rules if r.value_system}
        return frozenset(systems | set(self.aliases) | {CODESYSTEM_URL})

    def project(self, system: str | None, code: str | None) -> str | None:
        """The gk IRI a project code stands for, or None."""
        if self.system(system) != CODESYSTEM_URL:
            return None
        return self.concept_of.get(code or "")

    def standard_for(self, prop: str, value: str) -> list[Rule]:
        """Standard-code rules that encode ``prop = value`` (writer direction)."""
        return [r for r in self.rules if r.prop == prop and r.individual == value]


def _rules() -> tuple[list[Rule], dict[str, str]]:
    path = resources.data_dir("ontology") / "mappings" / "fhir.csv"
    rules: list[Rule] = []
    aliases: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["slot"] == "system-alias":
                aliases[row["system"]] = row["value_system"]
                continue
            individual = row["individual"]
            if individual and ":" in individual and not individual[0].isdigit():
                individual = expand(individual)
            rules.append(Rule(
                slot=row["slot"], system=row["system"], code=row["code"], gene=row["gene"],
                value_system=row["value_system"], value_code=row["value_code"],
                aa_change=tuple(a for a in row["aa_change"].split("|") if a),
                prop=expand(row["property"]) if row["property"] else "", individual=individual, kind=row["kind"]))
    return rules, aliases


@lru_cache(maxsize=1)
def fhir_mapping() -> FhirMapping:
    """The mapping, read once from the packaged content."""
    rules, aliases = _rules()
    mapping = FhirMapping(rules, aliases)
    concepts = resources.shared_graph("ontology", "codesystem")
    for concept in concepts.subjects(RDF.type, SKOS.Concept):
        code = str(next(concepts.objects(concept, SKOS.notation)))
        target = str(next(concepts.objects(concept, SKOS.exactMatch)))
        mapping.concept_of[code] = target
        mapping.code_of[target] = code
        mapping.labels[code] = str(next(concepts.objects(concept, SKOS.prefLabel), code))
        definition = next(concepts.objects(concept, SKOS.definition), None)
        if definition is not None:
            mapping.definitions[code] = str(definition)
    mapping.kinds = {c.prop: c.kind for c in vocabulary().columns.values()}
    core = resources.shared_graph("ontology", *resources.LOGIC_MODULES)
    surgical_classes = {GK.SurgicalProcedure} | set(core.transitive_subjects(RDFS.subClassOf, GK.SurgicalProcedure))
    surgical = {str(c) for c in surgical_classes}
    for cls in surgical_classes:
        surgical |= {str(i) for i in core.subjects(RDF.type, cls) if isinstance(i, URIRef)}
    mapping.surgical = frozenset(surgical)
    return mapping
