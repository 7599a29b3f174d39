"""What the guideline says about a class, an alert or a recommendation, via its .rq queries.

Answers are resolved once per class or item and cached, so a population run looks up each
recommendation's text and evidence once, not once per patient. Parameters are bound with
``initBindings``; no query text is ever built by string pasting.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, cached_property, lru_cache, wraps
from typing import TYPE_CHECKING, Any, TypeVar

from rdflib import Graph, URIRef

from . import resources
from .namespaces import GK, curie

if TYPE_CHECKING:
    from .logic import Axioms

T = TypeVar("T")


@cache
def prepared(name: str):
    """A parsed, reusable SPARQL query from ``queries/`` by name."""
    from rdflib.plugins.sparql import prepareQuery  # the SPARQL parser costs ~0.1 s to import

    return prepareQuery(resources.query_text(name))


def _memo(method: Callable[..., T]) -> Callable[..., T]:
    """Per-instance memo (not functools.cache): it travels with the instance into the
    compiled knowledge cache (:mod:`guidekg.kcache`), so a cached lookup costs nothing."""

    @wraps(method)
    def lookup(self: Knowledge, *args: str) -> T:
        key = (method.__name__, *args)
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = method(self, *args)
            return value

    return lookup


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
        self._memo: dict[tuple[str, ...], Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the graph (rebuilt on demand from the content on a miss)."""
        if self._graph is not None:
            raise TypeError("only the packaged knowledge is cached, not a Knowledge over a caller's graph")
        return {k: v for k, v in self.__dict__.items() if k not in ("graph", "_graph")} | {"_graph": None}

    def warm(self) -> None:
        """Resolve every table a run looks up, so the cached instance never needs its graph:
        each treatment and alert class's recommendations and alerts, every alert's details,
        the plan tables, the labels."""
        tables = self.plan_tables
        _ = self.version, self.treatment_classes, self.alert_classes
        for cls in sorted(self.treatment_classes):
            self.recommendations(cls)
            self.class_alerts(cls)
        alerts = set(self.alert_classes)
        for cls in sorted(self.alert_classes | self.treatment_classes):
            alerts.update(self.class_alerts(cls))
        alerts.update(tables.shapes_by_alert)
        alerts.update(item.iri for item in tables.items.values() if item.kind == "alert")
        for verdict in tables.verdicts.values():
            if verdict.alert:
                alerts.add(verdict.alert)
        for alert in sorted(alerts):
            self.alert(alert)
        for item in sorted(set(tables.items) | {shape.iri for shape in tables.shapes_by_alert.values()}):
            self.evidence(item)  # plan entries cite the safety shape that judged them too

    @cached_property
    def graph(self) -> Graph:
        return self._graph if self._graph is not None else resources.shared_graph("ontology", *resources.ONTOLOGY_MODULES)

    @cached_property
    def axioms(self) -> Axioms:
        from .logic import read_axioms

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

    @_memo
    def evidence(self, item: str) -> tuple[dict[str, Any], ...]:
        out = []
        for row in self._rows("item_evidence", item=item):
            out.append({"id": _py(row["source"]), "citation": _py(row["citation"]), "year": _py(row["year"]),
                        # GROUP_CONCAT's order is undefined in SPARQL: sort, so every run says the same
                        "doi": " ".join(sorted(str(row["doi"] or "").split())) or None,
                        "pmid": " ".join(sorted(str(row["pmid"] or "").split())) or None,
                        "listed_in_source": _py(row["listed"])})
        return tuple(out)

    @_memo
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

    @_memo
    def recommendations(self, cls: str) -> tuple[dict[str, Any], ...]:
        out = []
        for row in self._rows("class_recommendations", **{"class": cls}):
            rec = str(row["rec"])
            statements = sorted((curie(s) for s in str(row["statements"] or "").split()), key=_statement_order)
            amends = sorted(curie(a) for a in str(row["amends"] or "").split())
            out.append({
                "id": curie(rec), "category": _py(row["category"]), "label": _py(row["text"]) or _py(row["label"]),
                "title": _py(row["label"]), "action": self.action(rec), "strength": _py(row["strength"]),
                "source_statement": statements[0] if statements else None, "source_statements": statements,
                "amends": amends[0] if amends else None,
                "evidence": list(self.evidence(rec)),
            })
        return tuple(out)

    @_memo
    def class_alerts(self, cls: str) -> tuple[str, ...]:
        return tuple(str(row["alert"]) for row in self._rows("class_alerts", **{"class": cls}))

    @_memo
    def alert(self, alert: str) -> dict[str, Any]:
        rows = self._rows("alert_details", alert=alert)
        row = rows[0] if rows else {}
        # An alert may encode several statements: name the first in source order, the same every run.
        statements = sorted({_py(r["statement"]) for r in rows if r.get("statement") is not None}, key=_statement_order)
        return {"id": curie(alert), "severity": _py(row.get("severity")) or "warning",
                "label": _py(row.get("label")), "message": _py(row.get("message")) or curie(alert),
                "source_statement": statements[0] if statements else None, "evidence": list(self.evidence(alert))}

    def label(self, iri: str) -> str:
        return self.axioms.label(iri)


@lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    """The shared, read-only guideline knowledge (from the compiled knowledge cache when on)."""
    from .kcache import snapshot

    snap = snapshot()
    return snap.knowledge if snap is not None else Knowledge()
