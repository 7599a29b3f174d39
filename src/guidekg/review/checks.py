"""Encoding checks on the guideline graph: SHACL shapes and SPARQL queries, both kept as data.

``shapes/authoring.ttl`` holds the shapes, ``queries/review/*.rq`` the queries. Each query has
a ``# Problem:`` / ``# Solution:`` / ``# Severity:`` header and returns the same columns
(subject, property, value, message); the rule name is the file name. Adding a check is
adding a file.
"""

from __future__ import annotations

import re
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, URIRef
from rdflib.term import Node

from .. import resources
from ..namespaces import SH, curie
from .model import Finding, Rule

_LEVEL = {str(SH.Violation): "ERROR", str(SH.Warning): "WARN", str(SH.Info): "INFO"}
_HEADER = re.compile(r"^#\s*(Problem|Solution|Severity):\s*(.*)$", re.MULTILINE)


def _text(node: Node | None) -> str:
    if node is None:
        return ""
    return curie(str(node)) if isinstance(node, URIRef) else str(node)


def query_rules(folder: Path | None = None) -> list[tuple[Rule, str]]:
    """Every review query with its header-declared rule metadata, by file name."""
    folder = folder or resources.data_dir("queries") / "review"
    out = []
    for path in sorted(folder.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = {k: v.strip() for k, v in _HEADER.findall(text)}
        out.append((Rule(path.stem, header.get("Severity", "WARN"), header.get("Problem", ""), header.get("Solution", "")), text))
    return out


def query_findings(graph: Graph, folder: Path | None = None) -> list[Finding]:
    out = []
    for rule, text in query_rules(folder):
        for row in graph.query(text):
            out.append(Finding(rule.level, rule.name, _text(row.subject), _text(row.property), _text(row.value),
                               _text(row.message) or rule.problem))
    return out


def shacl_findings(graph: Graph, shapes: Graph | None = None) -> list[Finding]:
    shapes = shapes if shapes is not None else resources.shared_graph("shapes", "authoring")
    _, report, _ = shacl_validate(graph, shacl_graph=shapes, inference="none", advanced=True,
                                  allow_warnings=True, abort_on_first=False)
    out = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        source = report.value(result, SH.sourceShape)
        rule = str(source)
        for shape in shapes.subjects(SH.property, source):  # name the finding after its node shape
            rule = str(shape)
        out.append(Finding(_LEVEL.get(str(report.value(result, SH.resultSeverity)), "ERROR"), re.split(r"[#/]", rule)[-1],
                           _text(report.value(result, SH.focusNode)), _text(report.value(result, SH.resultPath)),
                           _text(report.value(result, SH.value)), _text(report.value(result, SH.resultMessage))))
    return out
