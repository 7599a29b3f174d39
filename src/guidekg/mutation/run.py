"""Run every mutant against the expectation corpus, in this process.

The corpus (examples, conformance and safety cases with their hand-reviewed expectations,
plus the boundary cases generated from the ORIGINAL content's thresholds and frozen before
any mutant is applied) is assessed once per mutant through the real pipeline
(:func:`guidekg.recommend.assess`: compiled shapes, fast reasoner, knowledge lookups). A
mutant is killed when any case's answer differs from its expectation; it survives otherwise.
Survivors listed in ``tests/data/mutation/equivalent.csv`` (key, reason) are explained;
any other survivor is a rule no test pins.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import Graph

from .. import resources
from ..knowledge import Knowledge
from ..logic import Axioms, read_axioms
from ..namespaces import curie
from . import content
from .boundaries import FACETS, ontology_cases, shape_cases, shape_thresholds
from .expectations import EXPECTED_DIR, Case, constructed_cases, example_cases, mismatches, observed
from .mutants import Mutant, generate

EQUIVALENT = EXPECTED_DIR.parent / "mutation" / "equivalent.csv"


@dataclass
class Corpus:
    cases: list[Case]

    @property
    def records(self):
        return [c.record for c in self.cases]


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | stillborn
    by: str = ""  # first case that noticed, or why it could not run


@dataclass
class MutationReport:
    outcomes: list[Outcome] = field(default_factory=list)
    equivalent: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    corpus_size: int = 0
    generated: set[str] = field(default_factory=set)

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def unexplained(self) -> list[Outcome]:
        return [o for o in self.by_status("survived") if o.mutant.key not in self.equivalent]

    @property
    def stale_equivalents(self) -> list[str]:
        """Listed as equivalent but killed (among the mutants run) or no longer generated: the list needs pruning."""
        survived = {o.mutant.key for o in self.by_status("survived")}
        ran = {o.mutant.key for o in self.outcomes}
        return sorted(k for k in self.equivalent if k not in self.generated or (k in ran and k not in survived))

    def summary(self) -> dict[str, Any]:
        survived = self.by_status("survived")
        return {"mutants": len(self.outcomes), "killed": len(self.by_status("killed")),
                "survived": len(survived), "equivalent": len(survived) - len(self.unexplained),
                "unexplained": [o.mutant.key for o in self.unexplained], "stillborn": len(self.by_status("stillborn")),
                "stale_equivalents": self.stale_equivalents, "corpus_cases": self.corpus_size, "seconds": round(self.seconds, 1)}


def load_equivalents(path: Path = EQUIVALENT) -> dict[str, str]:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["mutant"]: row["reason"] for row in csv.DictReader(handle) if row.get("mutant")}


def build_corpus(folder: Path = EXPECTED_DIR) -> Corpus:
    """The expectation corpus from the current (unmutated) content."""
    from ..knowledge import knowledge

    content.reset()
    cases = (example_cases(folder) + constructed_cases("conformance", folder) + constructed_cases("safety", folder)
             + constructed_cases("data-errors", folder))
    kb = knowledge()
    bases = [c.record for c in cases if c.source in ("examples", "conformance") and c.expect.get("consistent", True) and c.expect.get("status", "ok") == "ok"]
    for case in cases:
        if "status" in case.expect:  # through the pipeline the status says it (two ECOG values are invalid, not contradictory)
            case.expect.pop("consistent", None)
    boundary, _ = ontology_cases(kb.axioms, bases, per_threshold=2)
    bounds = shape_thresholds(resources.shared_graph("shapes", *resources.SHAPES))
    for b in boundary:
        value = Decimal(str(b.record.facts[b.threshold.atom.prop][0].toPython()))
        if not all(FACETS[f](value, bound) for _, prop, f, bound in bounds if prop == b.threshold.atom.prop):
            continue  # outside the data shapes: the patient is invalid, the shape-boundary cases cover it
        cases.append(Case(b.name, b.record, {"classes": sorted(curie(c) for c in b.expected)}, "boundary"))
    base = next(c.record for c in cases if c.source == "conformance")
    for s in shape_cases(resources.shared_graph("shapes", *resources.SHAPES), base):
        cases.append(Case(s.name, s.record, {"status": "invalid" if s.violates else "ok"}, "shape-boundary"))
    return Corpus(cases)


class _MutantKnowledge(Knowledge):
    """The baseline knowledge (its cached SPARQL lookups: recommendation texts, alert details)
    with a mutant's axioms. Guideline mutants change class definitions and the class tree,
    never the recommendation, alert or evidence individuals those lookups read."""

    def __init__(self, base: Knowledge, axioms: Axioms) -> None:
        super().__init__(base.graph)
        self._base = base
        self.__dict__["axioms"] = axioms

    def recommendations(self, cls: str):  # type: ignore[override]
        return self._base.recommendations(cls)

    def class_alerts(self, cls: str):  # type: ignore[override]
        return self._base.class_alerts(cls)

    def alert(self, alert: str):  # type: ignore[override]
        return self._base.alert(alert)


@dataclass
class Baseline:
    """What a mutant of one kind of content reuses from the unmutated run."""

    kb: Knowledge
    engine: Any
    shacl: dict[str, list]
    defined: frozenset[str]


def evaluate(corpus: Corpus, kb: Knowledge, engine: Any, validator: Callable | None, defined: frozenset[str]) -> list[tuple[Case, list[str]]]:
    """Assess every case; (case, mismatches) for each case whose answer differs from its expectation."""
    from ..fastvalidate import validate_fast
    from ..recommend import assess

    decision = kb.treatment_classes | kb.alert_classes
    results = assess(corpus.records, reasoner=engine, kb=kb, validator=validator)
    direct = [c.record for c in corpus.cases if "shacl_alerts" in c.expect]
    shacl = (validator or validate_fast)(direct) if direct else {}
    failures = []
    for case, result in zip(corpus.cases, results, strict=True):
        got = observed(result, decision)
        if case.record.iri in shacl:
            got["shacl_alerts"] = {curie(f.alert): f.severity for f in shacl[case.record.iri] if f.alert}
        if case.source == "boundary":
            got["classes"] = sorted(curie(c) for c in result.classes if c in defined)
        problems = mismatches(case.expect, got)
        if problems:
            failures.append((case, problems))
    return failures


def baseline(corpus: Corpus) -> Baseline:
    from ..fastvalidate import validate_fast
    from ..knowledge import knowledge
    from ..reasoning.fast import FastReasoner

    content.reset()
    kb = knowledge()
    shacl = validate_fast(corpus.records)
    return Baseline(kb, FastReasoner(), shacl, frozenset(kb.axioms.definitions))


def _original_graphs() -> tuple[dict[str, Any], dict[str, Any], Any]:
    ontology = {"guideline": resources.shared_graph("ontology", "guideline")}
    shapes = {name: resources.shared_graph("shapes", name) for name in resources.SHAPES}
    return ontology, shapes, resources.shared_graph("ontology", *resources.LOGIC_MODULES)


def run(select: Callable[[Mutant], bool] | None = None, folder: Path = EXPECTED_DIR,
        equivalents: Path = EQUIVALENT, progress: Callable[[Outcome], None] | None = None) -> MutationReport:
    """Generate the mutants of the current content and evaluate each; see :class:`MutationReport`."""
    started = time.perf_counter()
    corpus = build_corpus(folder)
    base = baseline(corpus)
    failing = evaluate(corpus, base.kb, base.engine, lambda records: {r.iri: base.shacl[r.iri] for r in records}, base.defined)
    if failing:
        case, problems = failing[0]
        raise RuntimeError(f"the unmutated content fails its own expectations ({len(failing)} cases), first: {case.name}: {problems}")
    ontology, shapes, context = _original_graphs()
    report = MutationReport(equivalent=load_equivalents(equivalents), corpus_size=len(corpus.cases))
    mutants = generate(ontology, shapes, context)
    report.generated = {m.key for m in mutants}
    for mutant in mutants:
        if select is not None and not select(mutant):
            continue
        original = ontology.get(mutant.file[1]) if mutant.file[0] == "ontology" else shapes[mutant.file[1]]
        outcome = _one(mutant, original, corpus, base, context)
        report.outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    content.reset()
    report.seconds = time.perf_counter() - started
    return report


def _one(mutant: Mutant, original, corpus: Corpus, base: Baseline, context) -> Outcome:
    from ..reasoning.fast import FastReasoner

    try:
        mutated = mutant.apply(original)
    except Exception as exc:  # noqa: BLE001 - a mutant that cannot be built is reported, not fatal
        return Outcome(mutant, "stillborn", f"cannot apply: {exc}")
    try:
        if mutant.file[0] == "ontology":
            # the shapes read action and value individuals of core.ttl, never guideline classes: reuse their findings
            logic = Graph()
            logic += resources.shared_graph("ontology", *(m for m in resources.LOGIC_MODULES if m != mutant.file[1]))
            logic += mutated
            failures = evaluate(corpus, _MutantKnowledge(base.kb, read_axioms(logic)), FastReasoner(logic),
                                lambda records: {r.iri: base.shacl[r.iri] for r in records}, base.defined)
        else:
            with content.using({mutant.file: mutated}):
                from ..fastvalidate import compile_validator

                compiled = compile_validator()
                if compiled is None:
                    return Outcome(mutant, "stillborn", "shapes outside the compiled subset")
                failures = evaluate(corpus, base.kb, base.engine, compiled.validate, base.defined)
    except Exception as exc:  # noqa: BLE001 - an error on every input is a detected mutant
        return Outcome(mutant, "killed", f"error: {type(exc).__name__}: {str(exc)[:120]}")
    if failures:
        case, problems = failures[0]
        return Outcome(mutant, "killed", f"{case.name}: {problems[0]}")
    return Outcome(mutant, "survived")


def unpinned_rules(report: MutationReport | None = None) -> list[dict[str, str]]:
    """Rules no test pins, for the authoring review: each unexplained surviving mutant, as
    ``{"mutant", "kind", "file", "where", "change"}``. Runs the mutation tool when no report is given."""
    report = report or run()
    out = []
    for o in report.unexplained:
        kind, file, where, change = (o.mutant.key.split("|") + ["", "", "", ""])[:4]
        out.append({"mutant": o.mutant.key, "kind": kind, "file": file, "where": where, "change": change})
    return out


__all__ = ["Corpus", "MutationReport", "Outcome", "build_corpus", "evaluate", "load_equivalents", "run", "unpinned_rules"]
