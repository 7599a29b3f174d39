"""What the guideline says about a class, an alert or a recommendation, via its .rq queries.

Answers are resolved once per class or item and cached, so a population run looks up each
recommendation's text and evidence once, not once per patient. Parameters are bound with
``initBindings``; no query text is ever built by string pasting.
"""

from __future__ import annotations

from functools import cache, cached_property, lru_cache
from typing import Any

from rdflib import Graph, URIRef
from rdflib.plugins.sparql import prepareQuery

from . import resources
from .logic import Axioms, read_axioms
from .namespaces import GK, curie


@cache
def prepared(name: str):
    """A parsed, reusable SPARQL query from ``queries/`` by name."""
    return prepareQuery(resources.query_text(name))


def _statement_order(statement: str) -> tuple[int, str]:
    """S2 before S10: statements sort by their number in the source."""
    digits = "".join(ch for ch in statement.rsplit(":S", 1)[-1] if ch.isdigit())
    return (int(digits) if digits else 0, statement)


def _py(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, URIRef):
        return curie(str(value))
    python = value.toPython()
    return python if isinstance(python, (int, bool)) else str(python)


class Knowledge:
    """The guideline knowledge graph (all ontology modules) with cached lookups."""

    def __init__(self, graph: Graph | None = None) -> None:
        self._graph = graph

    @cached_property
    def graph(self) -> Graph:
        return self._graph if self._graph is not None else resources.shared_graph("ontology", *resources.ONTOLOGY_MODULES)

    @cached_property
    def axioms(self) -> Axioms:
        return read_axioms(resources.shared_graph("ontology", *resources.LOGIC_MODULES))

    @cached_property
    def treatment_classes(self) -> frozenset[str]:
        groups = {str(GK.TreatmentClass), str(GK.FirstLineSystemicClass)}
        return frozenset(self.axioms.descendants(str(GK.TreatmentClass)) - groups)

    @cached_property
    def alert_classes(self) -> frozenset[str]:
        return frozenset(self.axioms.descendants(str(GK.AlertClass)) - {str(GK.AlertClass)})

    @cached_property
    def plan_tables(self):
        """What the plan verdicts and the headline look up (decision.tables), read once."""
        from .decision.tables import build_tables

        return build_tables(self)

    @cached_property
    def version(self) -> str:
        from rdflib import OWL

        for version in self.graph.objects(None, OWL.versionIRI):
            return str(version)
        return "unversioned"

    def _rows(self, query: str, **bindings: str) -> list[dict[str, Any]]:
        result = self.graph.query(prepared(query), initBindings={k: URIRef(v) for k, v in bindings.items()})
        return [{str(k): row[k] for k in result.vars} for row in result]

    @cache
    def evidence(self, item: str) -> tuple[dict[str, Any], ...]:
        out = []
        for row in self._rows("item_evidence", item=item):
            out.append({"id": _py(row["source"]), "citation": _py(row["citation"]), "year": _py(row["year"]),
                        "doi": " ".join(str(row["doi"] or "").split()) or None,
                        "pmid": " ".join(str(row["pmid"] or "").split()) or None,
                        "listed_in_source": _py(row["listed"])})
        return tuple(out)

    @cache
    def action(self, item: str) -> dict[str, Any]:
        labels: list[str] = []
        codes: list[dict[str, str]] = []
        intent = "perform"
        for row in self._rows("item_actions", item=item):
            intent = _py(row["intent"]) or intent
            label = _py(row["label"]) or _py(row["action"])
            if label not in labels:
                labels.append(label)
            if row["code"] is not None:
                code = {"system": str(row["system"]), "code": str(row["code"])}
                if code not in codes:
                    codes.append(code)
        label = "; ".join(labels)
        return {"label": f"avoid: {label}" if intent == "avoid" else label, "intent": intent, "codes": codes}

    @cache
    def recommendations(self, cls: str) -> tuple[dict[str, Any], ...]:
        out = []
        for row in self._rows("class_recommendations", **{"class": cls}):
            rec = str(row["rec"])
            statements = sorted((curie(s) for s in str(row["statements"] or "").split()), key=_statement_order)
            amends = [curie(a) for a in str(row["amends"] or "").split()]
            out.append({
                "id": curie(rec), "category": _py(row["category"]), "label": _py(row["text"]) or _py(row["label"]),
                "title": _py(row["label"]), "action": self.action(rec), "strength": _py(row["strength"]),
                "source_statement": statements[0] if statements else None, "source_statements": statements,
                "amends": amends[0] if amends else None,
                "evidence": list(self.evidence(rec)),
            })
        return tuple(out)

    @cache
    def class_alerts(self, cls: str) -> tuple[str, ...]:
        return tuple(str(row["alert"]) for row in self._rows("class_alerts", **{"class": cls}))

    @cache
    def alert(self, alert: str) -> dict[str, Any]:
        rows = self._rows("alert_details", alert=alert)
        row = rows[0] if rows else {}
        return {"id": curie(alert), "severity": _py(row.get("severity")) or "warning",
                "label": _py(row.get("label")), "message": _py(row.get("message")) or curie(alert),
                "source_statement": _py(row.get("statement")), "evidence": list(self.evidence(alert))}

    def label(self, iri: str) -> str:
        return self.axioms.label(iri)


@lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    """The shared, read-only guideline knowledge."""
    return Knowledge()
