"""Logic checks: consistency, unsatisfiable classes, unexpected equivalence and subsumption.

Subsumption between decision classes is decided by model checking: for each defined decision
class A, every profile over the facts A reads (open world: one prototype value per class a
``some`` restriction names, so the answer holds in every OWL model, not only for the named
values) is classified; the classes present in *every* profile of A are A's subsumers. The
fragment has no negation, so the profile with the fewest facts is the hardest case and the
enumeration is exact. With ``--reasoner hermit`` HermiT also classifies one prototype
individual per class (asserted only to be in it) and any difference is an error.
"""

from __future__ import annotations

from rdflib import OWL, RDF, URIRef

from ..logic import And, Axioms, Named
from ..model import PatientRecord, SourceRef
from ..namespaces import GK, curie
from .explain import justification
from .model import Finding, OntologySet, finding
from .profiles import Classifier, build_space, closure


def decision_classes(ax: Axioms) -> list[str]:
    groups = {str(GK.DecisionClass), str(GK.TreatmentClass), str(GK.FirstLineSystemicClass), str(GK.AlertClass)}
    return sorted(c for c in ax.descendants(str(GK.DecisionClass)) - groups if c in ax.definitions)


def declared(ax: Axioms, a: str, b: str) -> bool:
    """B is a told superclass of A, or a named conjunct of A's definition (or A is defined as B)."""
    if b in ax.ancestors(a):
        return True
    todo = [ax.definitions.get(a)]
    while todo:
        expr = todo.pop()
        if isinstance(expr, Named):
            if expr.iri == b or b in ax.ancestors(expr.iri):
                return True
        elif isinstance(expr, And):
            todo.extend(expr.parts)
    return False


def subsumers(ax: Axioms, classes: list[str]) -> tuple[dict[str, frozenset[str]], int]:
    """Class -> every class holding in all its profiles (empty dict entry missing = never satisfied)."""
    scope = closure(ax, classes)
    opened = build_space(ax, classes, open_world=True).axioms
    classifier = Classifier(opened, scope)
    cache: dict[tuple, frozenset[str] | None] = {}
    out: dict[str, frozenset[str]] = {}
    for a in classes:
        space = build_space(opened, [a], open_world=True, signature_classes=scope)
        common: frozenset[str] | None = None
        own = Classifier(opened, closure(opened, [a]))  # cheap filter: most profiles are not in A
        for profile in space:
            facts = space.facts(profile)
            first = own.classify(facts)
            if first is None or a not in first:
                continue
            key = tuple(sorted((p, str(v[0])) for p, v in facts.items()))
            if key not in cache:
                cache[key] = classifier.classify(facts)
            got = cache[key]
            if got is not None and a in got:
                common = got if common is None else common & got
        if common is not None:
            out[a] = common
    return out, len(cache)


def hermit_subsumers(onto: OntologySet, classes: list[str]) -> dict[str, frozenset[str]]:
    """HermiT's classification via realization of one prototype individual per class.

    Punned IRIs (a class that is also an individual) are left out: owlready2 resolves them
    to the individual, so HermiT's answer would be read wrongly (the punned_class_and_individual
    query reports them).
    """
    from rdflib import OWL

    from ..reasoning.hermit import HermitReasoner

    classes = [c for c in classes if (URIRef(c), RDF.type, OWL.NamedIndividual) not in onto.logic]
    records = []
    for i, cls in enumerate(classes):
        record = PatientRecord(f"proto-{i}", f"urn:guidekg:class-prototype:{i}", SourceRef("review", i))
        record.add(str(RDF.type), URIRef(cls))
        records.append(record)
    verdicts = HermitReasoner(onto.logic).realize(records)
    return {cls: verdicts[r.iri].classes for cls, r in zip(classes, records, strict=True) if verdicts[r.iri].consistent}


def logic_findings(onto: OntologySet, ax: Axioms, reasoner: str = "fast") -> tuple[list[Finding], dict[str, int]]:
    out: list[Finding] = []
    stats: dict[str, int] = {}
    for ind, types in sorted(ax.individual_types.items()):
        every = set().union(*(ax.ancestors(t) for t in types))
        for pair in ax.disjoint:
            if pair <= every:
                out.append(finding("ontology_inconsistent", curie(ind), "rdf:type", ", ".join(sorted(curie(c) for c in pair)),
                                   f"{curie(ind)} is typed with disjoint classes {' and '.join(sorted(curie(c) for c in pair))}"))
    unsat: dict[str, set[str]] = {}  # class -> the engines that prove it empty
    for cls in sorted(ax.classes):
        for pair in ax.disjoint:
            if pair <= ax.ancestors(cls):
                unsat.setdefault(cls, set()).add("told disjointness")
    classes = decision_classes(ax)
    found, stats["subsumption_profiles"] = subsumers(ax, classes)
    stats["decision_classes"] = len(classes)
    for cls in classes:
        if cls not in found:
            unsat.setdefault(cls, set()).add("model checking")
    if reasoner == "hermit":
        from ..reasoning.hermit import HermitReasoner

        try:
            for cls in sorted(HermitReasoner(onto.logic).unsatisfiable_classes()):
                if cls != str(OWL.Nothing):  # owl:Nothing is empty by definition: not a finding
                    unsat.setdefault(cls, set()).add("HermiT")
        except Exception as exc:  # owlready2's inconsistency error is only importable inside reasoning.hermit
            if "Inconsistent" not in type(exc).__name__:
                raise
            out.append(finding("ontology_inconsistent", "ontology", message=f"HermiT: {exc}"))
    for cls, engines in sorted(unsat.items()):
        # one message whatever the reasoner: which engines proved it is a detail, not a different finding
        out.append(finding("unsatisfiable_class", curie(cls), "owl:equivalentClass", "",
                           axioms=justification(onto, ax, [cls]), proved_by=sorted(engines)))
    if reasoner == "hermit":
        told = hermit_subsumers(onto, classes)
        for cls in classes:
            mine = found.get(cls, frozenset()) & set(classes)
            theirs = told.get(cls, frozenset()) & set(classes)
            if cls in found and cls in told and mine != theirs:
                out.append(finding("reasoner_disagreement", curie(cls), "rdfs:subClassOf", "",
                                   f"HermiT subsumers {sorted(curie(c) for c in theirs)} vs model checking {sorted(curie(c) for c in mine)}"))
    reported: set[frozenset[str]] = set()
    for a in classes:
        for b in sorted(found.get(a, frozenset()) & set(classes) - {a}):
            if declared(ax, a, b):
                continue
            if a in found.get(b, frozenset()):
                if frozenset((a, b)) not in reported and not declared(ax, b, a):
                    reported.add(frozenset((a, b)))
                    out.append(finding("unexpected_equivalence", curie(a), "owl:equivalentClass", curie(b),
                                       f"{curie(a)} and {curie(b)} contain exactly the same patients"))
            else:
                out.append(finding("unexpected_subsumption", curie(a), "rdfs:subClassOf", curie(b),
                                   f"every patient in {curie(a)} is also in {curie(b)}, so {curie(b)}'s recommendations always fire with {curie(a)}'s"))
    return out, stats
