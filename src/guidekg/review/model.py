"""Findings, rule metadata and the ontology a review reads.

Every check, whatever runs it (SHACL, SPARQL, a reasoner, networkx), reports
:class:`Finding` rows with the same six columns, after ROBOT's report: level, rule,
subject, property, value, message. Severities are data: a ``# Severity:`` header in each
``queries/review/*.rq``, ``sh:severity`` in ``shapes/authoring.ttl``, and
``queries/review/rules.csv`` for the checks computed in Python, so an author can demote or
promote a rule without touching code.
"""

from __future__ import annotations

import builtins
import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import Graph

from .. import resources

LEVELS = ("ERROR", "WARN", "INFO")


@dataclass(frozen=True)
class Finding:
    """One row of the review report (the same columns for every check)."""

    level: str
    rule: str
    subject: str
    property: str = ""
    value: str = ""
    message: str = ""
    details: tuple[tuple[str, Any], ...] = ()
    witness: tuple[tuple[str, str], ...] = ()
    """The smallest patient showing the problem: (fact, value) rows, only the facts that matter."""
    axioms: tuple[tuple[str, str, str], ...] = ()
    """The justification: (axiom in Manchester-like syntax, file, line) of every axiom involved."""

    def finding_id(self) -> str:
        """Stable id: rule and the local names of subject, property and value (never the witness).

        The same problem gets the same id in every run and every version of the guideline, so a
        waiver (ontology/review-waivers.csv) and ``--against`` can refer to it.
        """
        parts = [self.rule] + [_local(x) for x in (self.subject, self.property, self.value) if x]
        return "/".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.finding_id(), "level": self.level, "rule": self.rule, "subject": self.subject,
                               "property": self.property, "value": self.value, "message": self.message}
        if self.details:
            out["details"] = dict(self.details)
        if self.witness:
            out["witness"] = dict(self.witness)
        if self.axioms:
            out["axioms"] = [{"axiom": a, "file": f, "line": n} for a, f, n in self.axioms]
        return out


Finding.id = builtins.property(Finding.finding_id)  # type: ignore[attr-defined]  # a field is called 'property'


def _local(text: str) -> str:
    """'gk:A and gk:B' -> 'A+B': local names only, no spaces, so ids stay short and stable."""
    import re

    names = re.findall(r"(?:[A-Za-z][\w.-]*:)?([A-Za-z_][\w.-]*)", text)
    return "+".join(n for n in names if n not in ("and", "vs", "or", "gk")) if len(text) < 160 else ""


@dataclass(frozen=True)
class Rule:
    name: str
    level: str
    problem: str
    solution: str


@lru_cache(maxsize=1)
def python_rules() -> dict[str, Rule]:
    """Severity, problem and solution of every check computed in Python (queries/review/rules.csv)."""
    path = resources.path("queries", "review/rules.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["rule"]: Rule(row["rule"], row["level"], row["problem"], row["solution"]) for row in csv.DictReader(handle)}


def finding(rule: str, subject: str, prop: str = "", value: str = "", message: str = "",
            witness: dict[str, str] | None = None, axioms: list[tuple[str, str, str]] | None = None, **details: Any) -> Finding:
    """A finding of a Python-computed rule, its level read from the rules table."""
    meta = python_rules()[rule]
    return Finding(meta.level, rule, subject, prop, value, message or meta.problem, tuple(sorted(details.items())),
                   tuple((witness or {}).items()), tuple(axioms or ()))


@dataclass
class OntologySet:
    """A guideline version: all its modules, and the logical part a reasoner reads.

    The logic is core + guideline + literal reading; the bibliographic and statement modules
    only carry annotations, and leaving them out keeps HermiT's input small.
    """

    graph: Graph
    logic: Graph
    origin: str
    files: list[str] = field(default_factory=list)


LOGIC_STEMS = ("core", "guideline", "literal-reading")


def load_ontology(source: str | Path | None = None) -> OntologySet:
    """Read a guideline version from a folder of .ttl modules or one file (default: the packaged one)."""
    folder = Path(source) if source is not None else resources.data_dir("ontology")
    if not folder.exists():
        raise FileNotFoundError(f"no ontology at {folder}")
    files = sorted(folder.glob("*.ttl")) if folder.is_dir() else [folder]
    if not files:
        raise FileNotFoundError(f"no .ttl files in {folder}")
    graph, logic = Graph(), Graph()
    logic_files = [f for f in files if f.stem in LOGIC_STEMS] or files
    for file in files:
        part = Graph().parse(file, format="turtle")
        graph += part
        if file in logic_files:
            logic += part
    return OntologySet(graph, logic, str(folder), [f.name for f in files])
