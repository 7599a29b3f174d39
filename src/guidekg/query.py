"""SPARQL over the knowledge graph: the guideline plus assessed patients with their inferences.

Queries are files (``queries/NAME.rq`` or any path); parameters are bound with
``initBindings``, never pasted into the text. Results come in the four standard SPARQL
result formats (JSON, XML, CSV, TSV) or as a terminal table.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.query import Result
from rdflib.term import Node

from . import resources
from .namespaces import curie, expand

FORMATS = ("table", "json", "csv", "tsv", "xml")


def load_query(name_or_path: str) -> str:
    """Text of a query given a name from ``queries/`` or a path to an .rq file."""
    path = Path(name_or_path)
    if path.suffix == ".rq" and path.is_file():
        return path.read_text(encoding="utf-8")
    return resources.query_text(name_or_path)


def knowledge_graph(results: Iterable = (), reasoner: str = "fast") -> Graph:
    """The guideline modules plus the given assessment results (patients, classes, links)."""
    from .export.rdf import add_results

    graph = Graph()
    for triple in resources.shared_graph("ontology", *resources.ONTOLOGY_MODULES):
        graph.add(triple)
    results = list(results)
    if results:
        add_results(graph, results, reasoner)
    return graph


def parse_binding(value: str) -> Node:
    """A parameter value: <iri>, a CURIE with a known prefix, or a plain literal."""
    if value.startswith("<") and value.endswith(">"):
        return URIRef(value[1:-1])
    expanded = expand(value)
    if expanded != value or value.startswith(("http://", "https://", "urn:")):
        return URIRef(expanded)
    return Literal(value)


def run_query(graph: Graph, text: str, bindings: Mapping[str, Node] | None = None) -> Result:
    return graph.query(text, initBindings=dict(bindings or {}))


def render(result: Result, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown result format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        return result.graph.serialize(format="turtle")
    if result.type == "ASK":
        return "true" if result.askAnswer else "false"
    if fmt == "table":
        names = [str(v) for v in result.vars]
        rows = [["" if row[v] is None else (curie(str(row[v])) if isinstance(row[v], URIRef) else str(row[v])) for v in result.vars] for row in result]
        widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
        lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)), "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.append(f"({len(rows)} rows)")
        return "\n".join(lines)
    if fmt == "tsv":
        out = ["\t".join(f"?{v}" for v in result.vars)]
        for row in result:
            out.append("\t".join("" if row[v] is None else row[v].n3() for v in result.vars))
        return "\n".join(out) + "\n"
    buffer = io.BytesIO()
    result.serialize(buffer, format=fmt)
    return buffer.getvalue().decode("utf-8")
