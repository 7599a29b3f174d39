"""Triage: what an author fixes first, what was accepted on purpose, what changed since last time.

* Every finding is tied to the guideline statement(s) it concerns (through the recommendation,
  alert, fact or decision class named in it), and findings are grouped by that subject and
  ordered by severity, so an author reads the guideline's problems statement by statement.
* ``review-waivers.csv`` kept beside the guideline's modules (columns id, reason, who, date)
  accepts by-design findings: they are listed apart with the reason and stop counting.
* :func:`compare` sorts findings into new, resolved and unchanged against an older review.
* :func:`export` writes ROBOT's report columns (Level, Rule Name, Subject, Property, Value;
  ``ontodev/robot`` ``checks/Report.java``), followed by the finding id, status and fix.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rdflib import RDF, URIRef

from .. import resources
from ..namespaces import GK, curie, expand
from .model import LEVELS, Finding, OntologySet, python_rules

WAIVERS = "review-waivers.csv"
ROBOT_COLUMNS = ("Level", "Rule Name", "Subject", "Property", "Value")
_CURIE = re.compile(r"\bgk:[A-Za-z_][\w.-]*")


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    who: str
    date: str
    line: int


def waivers_path(onto: OntologySet) -> Path:
    folder = Path(onto.origin)
    return (folder if folder.is_dir() else folder.parent) / WAIVERS


def load_waivers(path: Path) -> dict[str, Waiver]:
    """The waivers file (missing file = no waivers); a row without id or reason is an error naming its line."""
    if not path.exists():
        return {}
    out: dict[str, Waiver] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.reader(handle)]
    if not rows or [c.strip() for c in rows[0][:4]] != ["id", "reason", "who", "date"]:
        raise ValueError(f"{path}:1: the header must be 'id,reason,who,date'")
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        cells = [c.strip() for c in row] + [""] * 4
        if not cells[0] or not cells[1]:
            raise ValueError(f"{path}:{number}: a waiver needs a finding id and a reason")
        out[cells[0]] = Waiver(cells[0], cells[1], cells[2], cells[3], number)
    return out


def fix_text(f: Finding) -> str:
    """The rule's solution (queries/review/rules.csv, or the query header / shape for the others)."""
    from .checks import query_rules

    rule = python_rules().get(f.rule)
    if rule is not None:
        return rule.solution
    for meta, _ in query_rules():
        if meta.name == f.rule:
            return meta.solution
    return shape_solutions().get(f.rule, "")


@lru_cache(maxsize=1)
def shape_solutions() -> dict[str, str]:
    """Shape name -> the '# Solution:' comment written above it in shapes/authoring.ttl."""
    out: dict[str, str] = {}
    solution = ""
    for line in resources.path("shapes", "authoring").read_text(encoding="utf-8").splitlines():
        if line.startswith("# Solution:"):
            solution = line.removeprefix("# Solution:").strip()
        match = re.match(r"^\w+:(\w+) a sh:NodeShape", line)
        if match and solution:
            out[match.group(1)] = solution
            solution = ""
    return out


def concerns(onto: OntologySet, f: Finding) -> list[str]:
    """The source statements a finding concerns (curies, source order), through what it names."""
    g = onto.graph
    found: set[URIRef] = set()
    for name in _CURIE.findall(" ".join((f.subject, f.value))):
        node = URIRef(expand(name))
        found |= statements_of(onto, node)
    order = {s: int(g.value(s, GK.sourceOrder) or 10**6) for s in found}
    return [curie(str(s)) for s in sorted(found, key=lambda s: (order[s], str(s)))]


def statements_of(onto: OntologySet, node: URIRef) -> set[URIRef]:
    g = onto.graph
    if (node, RDF.type, GK.SourceStatement) in g:
        return {node}
    items = {node} | set(g.objects(node, GK.amends))
    items |= set(g.objects(node, GK.triggersRecommendation)) | set(g.objects(node, GK.raisesAlert))
    items |= {o for i in list(items) for o in g.objects(i, GK.amends)}
    return {s for i in items for s in g.objects(i, GK.encodesStatement)}


def own_statements(onto: OntologySet, node: URIRef) -> list[URIRef]:
    """The statements a node is most directly about: its own, else its source recommendations', alerts', amendments'."""
    g = onto.graph
    if (node, RDF.type, GK.SourceStatement) in g:
        return [node]
    tiers = [[node], [r for r in g.objects(node, GK.triggersRecommendation) if (r, RDF.type, GK.Recommendation) in g],
             list(g.objects(node, GK.raisesAlert)) + list(g.objects(node, GK.amends)), list(g.objects(node, GK.triggersRecommendation))]
    for tier in tiers:
        found = {s for item in tier for s in g.objects(item, GK.encodesStatement)}
        if found:
            return sorted(found, key=lambda s: (int(g.value(s, GK.sourceOrder) or 10**6), str(s)))
    return []


def group_key(onto: OntologySet, f: Finding) -> str:
    """The subject a finding is listed under: the statement its subject is most directly about, else the subject."""
    names = _CURIE.findall(f.subject)
    for name in names[:1]:
        found = own_statements(onto, URIRef(expand(name)))
        if found:
            return curie(str(found[0]))
    statements = concerns(onto, f)
    if statements:
        return statements[0]
    return names[0] if names else f.subject or f.rule


def grouped(onto: OntologySet, findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Groups ordered by their worst finding, then by source order; findings inside by severity."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(group_key(onto, f), []).append(f)
    order = {curie(str(s)): int(o) for s, o in onto.graph.subject_objects(GK.sourceOrder)}
    for items in groups.values():
        items.sort(key=lambda f: (rank.get(f.level, 9), f.rule, f.id))
    return sorted(groups.items(), key=lambda kv: (min(rank.get(f.level, 9) for f in kv[1]), order.get(kv[0], 10**6), kv[0]))


def compare(old: list[Finding], new: list[Finding]) -> dict[str, list[Finding]]:
    """Findings new, resolved and unchanged (by stable id) between an older review and this one."""
    before = {f.id: f for f in old}
    after = {f.id: f for f in new}
    return {"new": [after[i] for i in sorted(set(after) - set(before))],
            "resolved": [before[i] for i in sorted(set(before) - set(after))],
            "unchanged": [after[i] for i in sorted(set(after) & set(before))]}


def export(findings: list[Finding], waived: dict[str, Waiver], sep: str = "\t") -> str:
    """ROBOT report columns first (Level, Rule Name, Subject, Property, Value), then id, status and fix."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(ROBOT_COLUMNS + ("Finding ID", "Status", "Message", "Fix"))
    rank = {level: i for i, level in enumerate(LEVELS)}
    for f in sorted(findings, key=lambda f: (rank.get(f.level, 9), f.rule, f.id)):
        cells = [f.level, f.rule, f.subject, f.property, f.value, f.id,
                 "accepted: " + waived[f.id].reason if f.id in waived else "open", f.message, fix_text(f)]
        writer.writerow([c.replace("\t", " ").replace("\n", " ") for c in cells])
    return buffer.getvalue()


def packaged_waivers() -> Path:
    return resources.data_dir("ontology") / WAIVERS


__all__ = ["ROBOT_COLUMNS", "Waiver", "compare", "concerns", "export", "fix_text", "group_key", "grouped", "load_waivers"]
