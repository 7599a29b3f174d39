"""Coverage and conflicts of the first-line decision, by model checking every profile.

Over the profile space of the first-line classes, molecular testing and the literal reading
(see :mod:`.profiles`), each profile is classified and the review reports (a) profiles with
no first-line systemic class that are not sent to molecular testing, (b) profiles in two or
more first-line classes, (c) profiles where the literal source reading and the amended rules
disagree, and pairs of literal statements that contradict each other. Findings are grouped,
each with a witness profile and, where one exists, the single fact whose change makes both
sides agree (the 'pivot'): that is what an author needs to see the cause.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDF, URIRef

from ..logic import Axioms
from ..model import PatientRecord, SourceRef
from ..namespaces import GK, curie
from .explain import justification, minimal, relevant, why_not, witness
from .model import Finding, OntologySet, finding
from .profiles import Classifier, ProfileSpace, Value, build_space, closure

SAMPLE = 150


@dataclass
class Coverage:
    space: ProfileSpace
    first_line: list[str]
    literal: list[str]
    profiles: int = 0
    inconsistent: int = 0
    seconds: float = 0.0
    class_counts: dict[str, int] = field(default_factory=dict)
    matrix: dict[tuple[str, str], int] = field(default_factory=dict)
    cross_checked: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"profiles": self.profiles, "inconsistent_profiles": self.inconsistent, "seconds": round(self.seconds, 2),
                "dimensions": {curie(d.prop): len(d.values) for d in self.space.dimensions},
                "class_counts": {curie(k): v for k, v in sorted(self.class_counts.items())},
                "cross_checked": self.cross_checked}


def counterparts(onto: OntologySet, literal: str, candidates: set[str]) -> set[str]:
    """Amended classes that decide what a literal-reading class decides (linked through its statements)."""
    g = onto.graph
    statements = set(g.objects(URIRef(literal), GK.encodesStatement))
    recs = {r for s in statements for r in g.subjects(GK.encodesStatement, s)}
    recs |= {a for r in list(recs) for a in g.subjects(GK.amends, r)}
    return {str(c) for r in recs for c in g.subjects(GK.triggersRecommendation, r)} & candidates


def jointly_encoded(onto: OntologySet, a: str, b: str) -> bool:
    """Whether one recommendation or amendment encodes a statement of each literal class.

    That is the authors' own record that the two statements decide the same thing, so a
    disagreement between their literal readings is a contradiction inside the source.
    """
    g = onto.graph
    sa, sb = (set(g.objects(URIRef(x), GK.encodesStatement)) for x in (a, b))
    if sa & sb:
        return True
    for rec in {r for s in sa for r in g.subjects(GK.encodesStatement, s)}:
        if set(g.objects(rec, GK.encodesStatement)) & sb:
            return True
    return False


def _pivots(space: ProfileSpace, index: dict[tuple, frozenset[str]], profile: tuple, both) -> list[int]:
    """Dimensions where changing this one fact makes both sides hold."""
    found = []
    for i, dim in enumerate(space.dimensions):
        for value in dim.values:
            if value is profile[i] or value == profile[i]:
                continue
            other = index.get(profile[:i] + (value,) + profile[i + 1:])
            if other is not None and both(other):
                found.append(i)
                break
    return found


def _cases(onto, space, index, ordered, left: str, right: set[str], what: str) -> list[dict[str, Any]]:
    """Profiles where `left` holds and none of `right` does, grouped by the one fact that resolves them (pivot).

    Each case carries the smallest witness: every fact that can be dropped without losing the
    disagreement is dropped (the pivot is kept).
    """
    groups: dict[str, list[tuple]] = {}
    pivot_dim: dict[str, int] = {}
    both = lambda classes: left in classes and bool(right & classes)  # noqa: E731
    keeps = lambda classes: left in classes and not right & classes  # noqa: E731
    for profile in ordered:
        classes = index[profile]
        if keeps(classes):
            pivots = _pivots(space, index, profile, both)
            key = curie(space.dimensions[pivots[0]].prop) if pivots else "several facts"
            groups.setdefault(key, []).append(profile)
            if pivots:
                pivot_dim.setdefault(key, pivots[0])
    if len(groups) > 1:
        groups.pop("several facts", None)  # single-fact explanations say it better
    out = []
    for pivot, profiles in sorted(groups.items()):
        dim = pivot_dim.get(pivot)

        def resolvable(p, i=dim) -> bool:  # the pivot fact alone still resolves the case
            return i is None or any(both(index.get(p[:i] + (v,) + p[i + 1:], frozenset())) for v in space.dimensions[i].values)
        small = min((minimal(space, index, p, keeps, [dim] if dim is not None else [], resolvable) for p in profiles[:40]),
                    key=lambda p: (sum(v is not None for v in p), repr(p)))
        out.append({"what": what, "pivot": pivot, "profiles": len(profiles),
                    "witness": witness(onto, space, small, only=relevant(space, index, small, keeps))})
    return out


def _categories(onto: OntologySet, cls: str) -> set[str]:
    """The gk:category of the source recommendations (not amendments) encoding a literal class's statements ('testing', 'first-line-systemic')."""
    g = onto.graph
    statements = set(g.objects(URIRef(cls), GK.encodesStatement))
    recs = {r for s in statements for r in g.subjects(GK.encodesStatement, s) if (r, RDF.type, GK.Recommendation) in g}
    return {str(c) for r in recs for c in g.objects(r, GK.category)}


def _case_finding(rule: str, subject: str, cases: list[dict[str, Any]], message: str, axioms, versus: list[str]) -> Finding:
    total = sum(c["profiles"] for c in cases)
    return finding(rule, subject, "", ", ".join(versus), f"{message}: {total} profiles in {len(cases)} case(s), resolved by "
                   + ", ".join(sorted({c['pivot'] for c in cases})), witness=cases[0]["witness"], axioms=axioms,
                   cases=cases, profiles=total)


def analyse_coverage(onto: OntologySet, ax: Axioms, reasoner: str = "fast") -> Coverage:
    first_line = sorted(ax.descendants(str(GK.FirstLineSystemicClass)) - {str(GK.FirstLineSystemicClass)})
    testing = str(GK.MolecularTestingRequired)
    literal = sorted(ax.descendants(str(GK.LiteralReadingClass)) - {str(GK.LiteralReadingClass)})
    when_absent = {str(p): str(v) for p, v in onto.logic.subject_objects(GK.whenAbsent)}
    targets = set(first_line) | {testing} | set(literal)
    space = build_space(ax, targets, honour_when_absent=when_absent)
    cov = Coverage(space, first_line, literal)
    classifier = Classifier(space.axioms, closure(space.axioms, targets))
    decision_props = {p for c in closure(ax, set(first_line) | {testing}) for p in _props(ax, c)}
    started = time.perf_counter()
    index: dict[tuple, frozenset[str]] = {}
    for profile in space:
        classes = classifier.classify(space.facts(profile))
        if classes is None:
            cov.inconsistent += 1
            continue
        index[profile] = classes
    cov.profiles = space.size
    counts: Counter[str] = Counter()
    gaps: dict[tuple[str, ...], list[tuple]] = {}
    overlaps: dict[frozenset[str], list[tuple]] = {}
    ordered = sorted(index, key=lambda p: sum(v is None for v in p))  # fully recorded witnesses first
    for profile in ordered:
        classes = index[profile]
        chosen = [c for c in first_line if c in classes]
        counts.update(c for c in classes if c in targets)
        rows = chosen or ([testing] if testing in classes else ["(none)"])
        cols = [c for c in literal if c in classes] or ["(no literal class)"]
        for r in rows:
            for c in cols:
                cov.matrix[(r, c)] = cov.matrix.get((r, c), 0) + 1
        if not chosen and testing not in classes:
            missing = tuple(curie(d.prop) for d, v in zip(space.dimensions, profile, strict=True) if v is None and d.prop in decision_props)
            gaps.setdefault(missing, []).append(profile)
        if len(chosen) > 1:
            overlaps.setdefault(frozenset(chosen), []).append(profile)
    cov.class_counts = dict(counts)
    decision = set(first_line) | {testing}
    for missing, profiles in sorted(gaps.items()):
        rule = "coverage_gap_missing_data" if missing else "coverage_gap"
        decided = [i for i, d in enumerate(space.dimensions) if d.prop in decision_props]  # the gap's own facts stay
        small = minimal(space, index, profiles[0], lambda c: not (decision & c), decided)
        facts = space.facts(small)
        cov.findings.append(finding(rule, "gk:FirstLineSystemicClass", ", ".join(missing), "",
                                    f"{len(profiles)} profiles get no first-line class"
                                    + (f" when {', '.join(missing)} is missing" if missing else ""),
                                    witness=witness(onto, space, small, missing, relevant(space, index, small, lambda c: not (decision & c))),
                                    profiles=len(profiles),
                                    axioms=justification(onto, ax, sorted(decision), depth=1),
                                    why_not={curie(c): why_not(ax, c, facts, index[small]) for c in sorted(decision)}))
    for classes, profiles in sorted(overlaps.items(), key=lambda kv: sorted(kv[0])):
        names = " and ".join(curie(c) for c in sorted(classes))
        small = min((minimal(space, index, p, lambda c, k=classes: k <= c) for p in profiles[:40]),
                    key=lambda p: (sum(v is not None for v in p), repr(p)))
        cov.findings.append(finding("first_line_overlap", names, "", "", f"{len(profiles)} profiles are in {names}",
                                    witness=witness(onto, space, small, only=relevant(space, index, small, lambda c, k=classes: k <= c)),
                                    profiles=len(profiles), axioms=justification(onto, ax, sorted(classes))))
    candidates = set(first_line) | {testing}
    for lit in literal:
        amended = counterparts(onto, lit, candidates)
        if not amended:
            continue
        names = ", ".join(curie(a) for a in sorted(amended))
        cases = _cases(onto, space, index, ordered, lit, amended, f"literal reading holds, amended {names} does not")
        for cls in sorted(amended):
            cases += _cases(onto, space, index, ordered, cls, {lit}, f"amended {curie(cls)} holds, the literal reading does not")
        if cases:
            cov.findings.append(_case_finding("literal_reading_disagreement", curie(lit), cases,
                                              f"the literal reading of {_statements(onto, lit)} and the amended rules disagree",
                                              justification(onto, ax, [lit, *sorted(amended)], depth=1), [curie(a) for a in sorted(amended)]))
    for i, a in enumerate(literal):
        for b in literal[i + 1:]:
            if not jointly_encoded(onto, a, b) or not (_categories(onto, a) & _categories(onto, b)):
                continue  # a testing rule and a treatment rule decide different things: no contradiction
            cases = []
            for left, right in ((a, b), (b, a)):
                cases += _cases(onto, space, index, ordered, left, {right},
                                f"{_statements(onto, left)} allows what {_statements(onto, right)} rules out")
            if cases:
                cov.findings.append(_case_finding("source_internal_contradiction", f"{curie(a)} vs {curie(b)}", cases,
                                                  f"{_statements(onto, a)} and {_statements(onto, b)} contradict each other",
                                                  justification(onto, ax, [a, b], depth=1), []))
    cov.findings += cross_check(onto, space, index, reasoner, cov)
    cov.seconds = time.perf_counter() - started
    return cov


def _props(ax: Axioms, cls: str) -> set[str]:
    from .profiles import _walk

    expr = ax.definitions.get(cls)
    return {e.prop for e in _walk(expr) if hasattr(e, "prop")} if expr is not None else set()


def _statements(onto: OntologySet, cls: str) -> str:
    return "/".join(curie(str(s)) for s in sorted(onto.graph.objects(URIRef(cls), GK.encodesStatement))) or curie(cls)


def records_for(space: ProfileSpace, profiles: list[tuple[Value, ...]], prefix: str = "urn:guidekg:profile:") -> list[PatientRecord]:
    """Profiles as patient records, for the real reasoners."""
    out = []
    for i, profile in enumerate(profiles):
        record = PatientRecord(f"profile-{i}", f"{prefix}{i}", SourceRef("review profile", i))
        for prop, values in space.facts(profile).items():
            for value in values:
                record.add(prop, value)
        out.append(record)
    return out


def cross_check(onto: OntologySet, space: ProfileSpace, index: dict[tuple, frozenset[str]], reasoner: str, cov: Coverage) -> list[Finding]:
    """Classify a fixed random sample with the real reasoners and compare with the enumeration."""
    from ..reasoning.fast import FastReasoner

    engines: list[Any] = [FastReasoner(onto.logic)]
    if reasoner == "hermit":
        from ..reasoning.hermit import HermitReasoner

        engines.append(HermitReasoner(onto.logic))
    keys = sorted(index, key=repr)
    sample = random.Random(7).sample(keys, min(SAMPLE, len(keys)))
    records = records_for(space, sample)
    watched = set(cov.first_line) | set(cov.literal) | {str(GK.MolecularTestingRequired)}
    out = []
    for engine in engines:
        verdicts = engine.realize(records)
        for profile, record in zip(sample, records, strict=True):
            got = verdicts[record.iri]
            mine = index[profile] & watched
            theirs = (got.classes & watched) if got.consistent else None
            if theirs != mine:
                differ = sorted(curie(c) for c in (theirs or frozenset()) ^ mine) or ["consistency"]
                out.append(finding("reasoner_disagreement", engine.name, "", " ".join(differ),
                                   f"{engine.name} says {sorted(curie(c) for c in theirs or [])}, enumeration says {sorted(curie(c) for c in mine)}",
                                   witness=witness(onto, space, profile)))
        cov.cross_checked[engine.name] = len(records)
    return out


__all__ = ["Coverage", "analyse_coverage", "counterparts", "records_for"]
